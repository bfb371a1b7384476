"""clinic-settle sync: one transaction, idempotent, refuses older versions and invalid packs."""

import shutil

import pytest
from sqlalchemy import func, select

from desktop_app.core.pack_files import shipped_packs_dir
from desktop_app.services import packs
from desktop_app.store import models as m


def counts(db):
    with db.read() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (m.PolicyPack, m.PackParam, m.CatalogueItem, m.PackInstitution, m.PackDisease, m.PackFile))


def copy_pack(tmp_path, name="cn-141100-lvliang"):
    dst = tmp_path / name
    shutil.copytree(shipped_packs_dir() / name, dst)
    return dst


def sign(folder, db, name="county"):
    """Sign with a key this clinic trusts (a supervisor added its public half with `packs trust`)."""
    from desktop_app.core.signing import keygen

    keys = db.path.parent / "keys"
    priv = keys / f"{name}-private.pem"
    if not priv.exists():
        priv, pub = keygen(keys, name)
        packs.trust_key(db, pub, actor="admin")
    packs.sign_pack_dir(folder, priv.read_bytes())
    return folder


def test_first_sync_loads_everything(empty_db):
    res = packs.sync_shipped(empty_db, actor="admin")
    assert {r.status for r in res} == {"loaded"} and len(res) == 7
    n_packs, n_params, n_items, n_inst, n_dis, n_files = counts(empty_db)
    assert (n_packs, n_items, n_inst, n_dis) == (7, 13, 8, 1)
    assert n_params > 60 and n_files >= 14
    policy = packs.policy(empty_db)
    assert set(policy.packs) == {r.pack_id for r in res}


def test_same_pack_twice_changes_nothing(empty_db):
    packs.sync_shipped(empty_db, actor="admin")
    before = counts(empty_db)
    res = packs.sync_shipped(empty_db, actor="admin")
    assert {r.status for r in res} == {"unchanged"}
    assert counts(empty_db) == before


def test_newer_version_upgrades_older_is_refused_unless_forced(empty_db, tmp_path):
    packs.sync_shipped(empty_db, actor="admin")
    p = copy_pack(tmp_path)
    toml = p / "pack.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('version = "1.0.0"', 'version = "1.1.0"'), encoding="utf-8")
    res = packs.sync(empty_db, sign(p, empty_db), actor="admin")
    assert [(r.status, r.previous_version) for r in res] == [("upgraded", "1.0.0")]
    # the shipped 1.0.0 is now older
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, shipped_packs_dir() / "cn-141100-lvliang", actor="admin")
    assert "较旧" in exc.value.message
    res = packs.sync(empty_db, shipped_packs_dir() / "cn-141100-lvliang", force=True, actor="admin")
    assert res[0].status == "replaced"
    assert [x.version for x in packs.installed(empty_db) if x.pack_id == "cn-141100-lvliang"] == ["1.0.0"]


def test_same_version_other_content_is_refused(empty_db, tmp_path):
    packs.sync_shipped(empty_db, actor="admin")
    p = copy_pack(tmp_path)
    params = p / "params.toml"
    params.write_text(params.read_text(encoding="utf-8").replace('"3000.00"', '"3100.00"'), encoding="utf-8")
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, sign(p, empty_db), actor="admin")
    assert "相同但内容不同" in exc.value.message


def test_invalid_pack_changes_nothing_and_lists_every_error(empty_db, tmp_path):
    packs.sync_shipped(empty_db, actor="admin")
    before = counts(empty_db)
    p = copy_pack(tmp_path)
    params = p / "params.toml"
    text = params.read_text(encoding="utf-8")
    text = text.replace('key = "quarterly_cap"', 'key = "quartely_cap"', 1)
    text = text.replace('cite = "吕医保发〔2024〕13号 一"', 'cite = ""', 2)
    params.write_text(text, encoding="utf-8")
    (p / "pack.toml").write_text((p / "pack.toml").read_text(encoding="utf-8").replace('"1.0.0"', '"2.0.0"'),
                                 encoding="utf-8")
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, p, actor="admin")
    probs = exc.value.problems
    assert any("quartely_cap" in x for x in probs)
    assert any("缺少出处" in x for x in probs)
    assert counts(empty_db) == before


def test_child_without_parent_in_database_is_refused(empty_db):
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, shipped_packs_dir() / "cn-140830-ruicheng", actor="admin")
    assert any("未加载" in x for x in exc.value.problems)
    assert counts(empty_db)[0] == 0


def test_zip_pack_syncs(empty_db, tmp_path):
    import zipfile

    packs.sync_shipped(empty_db, actor="admin")
    p = copy_pack(tmp_path)
    (p / "pack.toml").write_text((p / "pack.toml").read_text(encoding="utf-8").replace('"1.0.0"', '"1.0.1"'),
                                 encoding="utf-8")
    sign(p, empty_db)
    z = tmp_path / "lvliang.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in p.iterdir():
            zf.write(f, f"cn-141100-lvliang/{f.name}")
    res = packs.sync(empty_db, z, actor="admin")
    assert res[0].status == "upgraded"


def test_engine_uses_the_packs_recorded_in_the_database(empty_db, tmp_path):
    from datetime import date

    packs.sync_shipped(empty_db, actor="admin")
    p = copy_pack(tmp_path, "cn-140000-shanxi")
    params = p / "params.toml"
    params.write_text(params.read_text(encoding="utf-8").replace('value = "300.00"', 'value = "350.00"'), encoding="utf-8")
    (p / "pack.toml").write_text((p / "pack.toml").read_text(encoding="utf-8").replace('"1.1.0"', '"1.1.1"'),
                                 encoding="utf-8")
    packs.sync(empty_db, sign(p, empty_db), actor="admin")
    chain = packs.policy(empty_db).chain_for("141102")
    cap = chain.resolve("annual_cap", {"benefit": "general_outpatient", "insutype": "390"}, date(2024, 6, 1))
    assert cap.value == 350


def test_schema_head_constant_matches_alembic(empty_db):
    from desktop_app.store.db import SCHEMA_HEAD

    assert empty_db.head_revision() == SCHEMA_HEAD == empty_db.schema_version() == empty_db.current_revision()



def _bumped(tmp_path, version="1.0.2"):
    p = copy_pack(tmp_path)
    (p / "pack.toml").write_text((p / "pack.toml").read_text(encoding="utf-8").replace('"1.0.0"', f'"{version}"'),
                                 encoding="utf-8")
    return p


def test_unsigned_tampered_and_untrusted_packs_are_refused(empty_db, tmp_path):
    from desktop_app.core.signing import SIGNATURE_FILE, keygen

    packs.sync_shipped(empty_db, actor="admin")
    before = counts(empty_db)
    p = _bumped(tmp_path)
    (p / SIGNATURE_FILE).unlink()
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, p, actor="admin")
    assert any("没有签名" in x for x in exc.value.problems)
    sign(p, empty_db)  # signed, then edited
    (p / "params.toml").write_text((p / "params.toml").read_text(encoding="utf-8").replace('"3000.00"', '"9000.00"'),
                                   encoding="utf-8")
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, p, actor="admin")
    assert any("签名后被改动" in x and "params.toml" in x for x in exc.value.problems)
    q = _bumped(tmp_path / "other")  # signed by a key nobody trusts
    priv, _pub = keygen(tmp_path / "rogue", "rogue")
    packs.sign_pack_dir(q, priv.read_bytes())
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, q, actor="admin")
    assert any("不在受信任的公钥中" in x for x in exc.value.problems)
    assert counts(empty_db) == before


def test_allow_unsigned_needs_a_supervisor_and_is_audited(empty_db, tmp_path):
    from desktop_app.core.signing import SIGNATURE_FILE
    from desktop_app.services import accounts, audit

    packs.sync_shipped(empty_db, actor="admin")
    accounts.create_operator(empty_db, "boss", "站长", "supervisor", "boss-pass-1", must_change=False, actor="admin")
    accounts.create_operator(empty_db, "clerk1", "收费员", "clerk", "clerk-pass-1", must_change=False, actor="admin")
    p = _bumped(tmp_path)
    (p / SIGNATURE_FILE).unlink()
    with pytest.raises(packs.SyncRefused, match="只有管理员"):
        packs.sync(empty_db, p, allow_unsigned=True, actor="clerk1")
    res = packs.sync(empty_db, p, allow_unsigned=True, actor="boss")
    assert res[0].status == "upgraded"
    entry = next(e for e in audit.recent(empty_db, actor="admin") if e.action == "pack_sync" and e.subject == "cn-141100-lvliang")
    assert entry.actor == "boss" and entry.detail["allow_unsigned"] is True and entry.detail["signed_by"] is None


def test_shipped_packs_verify_with_the_shipped_key(empty_db):
    from desktop_app.services import audit

    packs.sync_shipped(empty_db, actor="admin")
    signed = {e.subject: e.detail["signed_by"] for e in audit.recent(empty_db, actor="admin") if e.action == "pack_sync"}
    assert len(signed) == 7 and all(signed.values())


def test_a_key_file_copied_in_is_not_trusted_until_a_supervisor_adds_it(empty_db, tmp_path):
    """A .pem dropped into trusted_keys/ (a USB stick, a script) adds no signer; `packs trust` by a
    supervisor does, and is in the audit trail; removing it takes the trust away again."""
    from desktop_app.core.signing import key_id, keygen
    from desktop_app.services import accounts, audit

    packs.sync_shipped(empty_db, actor="admin")
    accounts.create_operator(empty_db, "boss", "站长", "supervisor", "boss-pass-1", must_change=False, actor="admin")
    accounts.create_operator(empty_db, "clerk1", "收费员", "clerk", "clerk-pass-1", must_change=False, actor="admin")
    priv, pub = keygen(tmp_path / "bureau", "bureau")
    kid = key_id(pub.read_bytes())
    p = _bumped(tmp_path)
    packs.sign_pack_dir(p, priv.read_bytes())
    folder = empty_db.path.parent / "trusted_keys"
    folder.mkdir()
    shutil.copy(pub, folder / "bureau-public.pem")
    before = counts(empty_db)
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(empty_db, p, actor="boss")
    assert any("不在受信任的公钥中" in x for x in exc.value.problems) and counts(empty_db) == before
    listed = {k.key_id: k for k in packs.list_keys(empty_db)}
    assert listed[kid].trusted is False and "未经 packs trust" in listed[kid].note
    # the wrong things to trust are refused with the reason
    with pytest.raises(packs.SyncRefused, match="只有管理员"):
        packs.trust_key(empty_db, pub, actor="clerk1")
    with pytest.raises(packs.SyncRefused, match="是私钥"):
        packs.trust_key(empty_db, priv, actor="boss")
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(packs.SyncRefused, match="不是有效的 PEM 公钥"):
        packs.trust_key(empty_db, junk, actor="boss")
    info = packs.trust_key(empty_db, pub, actor="boss")
    assert info.key_id == kid and info.trusted
    assert packs.sync(empty_db, p, actor="boss")[0].status == "upgraded"
    entry = next(e for e in audit.recent(empty_db, actor="admin") if e.action == "key_trust")
    assert entry.actor == "boss" and entry.subject == kid
    packs.untrust_key(empty_db, kid, actor="boss")
    q = _bumped(tmp_path / "again", version="1.0.3")
    packs.sign_pack_dir(q, priv.read_bytes())
    with pytest.raises(packs.SyncRefused):
        packs.sync(empty_db, q, actor="boss")
    assert audit.verify(empty_db, actor="admin").ok
