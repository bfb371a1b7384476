"""#18.1: the packs the engine uses come from the database; their files are checked against the content
hashes the audit trail recorded at sync every time they are loaded."""

import json
import sqlite3

import pytest

from desktop_app.services import audit, ledger, ledger_types
from desktop_app.services import packs as packs_service
from tests.cli_run import ROOT, cs
from tests.integrity.helpers import DAY1, kinds, raw, residents, visit

PROVINCE = "cn-140000-shanxi"
FROM = b'price_class = 3\nvalue = "0.60"'
TO = b'price_class = 3\nvalue = "0.95"'


def raise_ratio(db):
    """The attack: the province's 60 % outpatient ratio becomes 95 % inside the stored pack file."""
    con = sqlite3.connect(db.path)
    (content,) = con.execute("SELECT content FROM pack_file WHERE pack_id = ? AND name = 'params.toml'",
                             (PROVINCE,)).fetchone()
    assert content.count(FROM) == 1
    con.execute("UPDATE pack_file SET content = ? WHERE pack_id = ? AND name = 'params.toml'",
                (content.replace(FROM, TO), PROVINCE))
    con.commit()
    con.close()


def _visit_file(tmp_path, psn):
    f = tmp_path / "visit.json"
    f.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "date": DAY1.isoformat(),
                             "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    return str(f)


def test_cli_refuses_to_settle_with_a_tampered_pack_and_verify_reports_it(db, tmp_path):
    psn = residents(db, 1)[0]
    code, out, _ = cs("settle", _visit_file(tmp_path, psn), "--dry-run", "--db", str(db.path), "--json")
    assert code == 0 and json.loads(out)["hifp_pay"] == "6.00"  # 60 % of 10.00
    raise_ratio(db)
    code, out, _ = cs("settle", _visit_file(tmp_path, psn), "--db", str(db.path), "--json")
    err = json.loads(out)["error"]
    assert code == 3 and err["code"] == "pack_tampered"
    assert PROVINCE in err["message"] and "params.toml" in err["message"] and "同步" in err["message"]
    code, _, err = cs("settle", _visit_file(tmp_path, psn), "--db", str(db.path))
    assert code == 3 and "政策包" in err
    code, out, _ = cs("audit", "verify", "--db", str(db.path), user="admin")
    assert code == 1 and PROVINCE in out and "审计链完整" not in out
    with db.read() as s:
        assert s.execute(sqlite_count("settlement")).scalar_one() == 0


def sqlite_count(table):
    from sqlalchemy import text

    return text(f"SELECT COUNT(*) FROM {table}")


def test_the_running_program_notices_too(db):
    psn = residents(db, 1)[0]
    ledger.presettle(db, visit(psn), operator="clerk")  # the policy is now cached in this process
    raise_ratio(db)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(psn), operator="clerk", today=DAY1)
    assert exc.value.code == "pack_tampered"
    with pytest.raises(ledger_types.LedgerError):
        ledger.presettle(db, visit(psn), operator="clerk")
    assert "pack_changed" in kinds(audit.verify(db, actor="admin"))


def test_a_deleted_pack_is_refused_and_reported(db):
    psn = residents(db, 1)[0]
    for t in ("pack_param", "catalogue_item", "pack_institution", "pack_disease", "pack_file"):
        raw(db, f"DELETE FROM {t} WHERE pack_id = 'cn-141100-lvliang'")
    raw(db, "DELETE FROM policy_pack WHERE id = 'cn-141100-lvliang'")
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(psn), operator="clerk", today=DAY1)
    assert exc.value.code == "pack_tampered" and "cn-141100-lvliang" in exc.value.message
    assert "pack_missing" in kinds(audit.verify(db, actor="admin"))


def test_a_pack_inserted_behind_the_programs_back_is_refused(db):
    psn = residents(db, 1)[0]
    raw(db, "INSERT INTO pack_file (pack_id, name, content) VALUES ('cn-141100-lvliang', 'extra.csv', x'00')")
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(psn), operator="clerk", today=DAY1)
    assert exc.value.code == "pack_tampered"


def test_resync_repairs_a_tampered_pack(db):
    raise_ratio(db)
    res = packs_service.sync(db, ROOT / "resources" / "policy_packs" / PROVINCE, actor="admin")
    assert [r.status for r in res] == ["replaced"]
    psn = residents(db, 1)[0]
    rec = ledger.settle(db, ledger_types.VisitInput(psn, DAY1, "general_outpatient", [ledger_types.ItemInput("110200005", "1")]),
                        operator="clerk", today=DAY1)
    assert rec.result["hifp_pay"] == "6.00"
    assert audit.verify(db, actor="admin").ok
