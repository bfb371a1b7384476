"""Syncing policy packs into the database, and the policy the engine uses from it.

The engine's packs are the files stored in the database. Every time they are loaded
(`policy`), each pack's files are hashed and checked against the content hash that the
audit trail recorded when the pack was synced (a pack synced before the trail existed
must carry a valid signature by a trusted key instead); a pack that does not match, a
synced pack that is gone and a pack that was never synced are refused (`PackTampered`)
and `audit verify` reports them. The parsed policy is cached by the files' content
hashes, so a settlement re-reads and re-hashes the few pack files (~130 KB) but never
re-parses them unless they changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select

from desktop_app.core.pack_files import pack_dirs, pack_files, policy_from_files, shipped_packs_dir
from desktop_app.core.policy import FAR_FUTURE, OPEN, Pack, PackInvalid, PolicySet, Problem
from desktop_app.errors import EXIT_FOR_CODE, Refused
from desktop_app.store import models as m
from desktop_app.store.db import Database


class SyncRefused(Refused):
    """Nothing was changed; `problems` says why (validation errors, an older version…)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or []
        super().__init__(message, code="invalid_pack" if self.problems else "refused")
        self.extra = {"problems": self.problems}


class PackTampered(SyncRefused):
    """A stored pack no longer matches what the audit trail recorded at its sync: nothing may be settled with it."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message, problems)
        self.code, self.exit = "pack_tampered", EXIT_FOR_CODE["pack_tampered"]


# What a sync does to a pack (SyncResult.status), as the window and the CLI say it.
SYNC_STATUS_LABELS: dict[str, str] = {"loaded": "已加载", "unchanged": "未变化", "upgraded": "已升级", "replaced": "已替换"}


@dataclass(frozen=True)
class SyncResult:
    pack_id: str
    name: str
    version: str
    content_hash: str
    status: str  # loaded | unchanged | upgraded | replaced
    previous_version: str | None = None


@dataclass(frozen=True)
class PackInfo:
    pack_id: str
    name: str
    admdvs: str
    parent: str
    version: str
    content_hash: str
    synced_at: datetime
    documents: list[str] = field(default_factory=list)


def _version_key(v: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-+]", v))


def _policy_of(db_packs: dict[str, tuple[str, dict[str, bytes]]]) -> PolicySet:
    return policy_from_files(list(db_packs.values()))


def files_hash(files: dict[str, bytes]) -> str:
    """A pack's content hash from its files (the same as the loaded pack's `content_hash`)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def _db_pack_files(s) -> dict[str, tuple[str, dict[str, bytes]]]:
    out: dict[str, tuple[str, dict[str, bytes]]] = {}
    for pf in s.execute(select(m.PackFile)).scalars():
        _label, files = out.setdefault(pf.pack_id, (f"db:{pf.pack_id}", {}))
        files[pf.name] = pf.content
    return out


def sync(db: Database, path: str | Path, *, force: bool = False, dry_run: bool = False,
         actor: str, allow_unsigned: bool = False) -> list[SyncResult]:
    """Load a pack (folder, .zip, or folder of packs) into the database in one transaction.

    The same pack twice changes nothing; an older version than the loaded one, or
    the same version with other content, is refused unless `force`; an invalid
    pack changes nothing and lists every error.
    """
    from desktop_app.services.accounts import AuthError, require_supervisor

    if not dry_run:
        with db.read() as s:
            try:
                require_supervisor(s, actor, "导入政策包")
            except AuthError as exc:
                raise SyncRefused(str(exc)) from None
    incoming = _read_incoming(Path(path))
    signed_by = _check_signatures(db, incoming, allow_unsigned, actor)

    results: list[SyncResult] = []
    with db.write() as s:
        current = {p.id: p for p in s.execute(select(m.PolicyPack)).scalars()}
        files = _db_pack_files(s)
        todo: list[tuple[Pack, dict[str, bytes], str, str | None]] = []
        for pack, pfiles in incoming:
            old = current.get(pack.id)
            stored = files_hash(files[pack.id][1]) if pack.id in files else None
            status = _sync_status(pack, old, stored, force)
            if status == "unchanged":
                results.append(SyncResult(pack.id, pack.name, pack.version, pack.content_hash, "unchanged", old.version))
                continue
            todo.append((pack, pfiles, status, old.version if old is not None else None))
        if not todo:
            return results
        # validate the whole resulting set before writing anything
        proposed = dict(files)
        for pack, pfiles, _st, _pv in todo:
            proposed[pack.id] = (f"sync:{pack.id}", pfiles)
        try:
            _policy_of(proposed)
        except PackInvalid as exc:
            raise SyncRefused("政策包与数据库中已有的政策包不一致，数据库未做任何修改。",
                              [str(p) for p in exc.problems]) from None
        if dry_run:
            return results + [SyncResult(p.id, p.name, p.version, p.content_hash, st, pv) for p, _f, st, pv in todo]
        from desktop_app.services import audit

        now = datetime.now()
        for pack, pfiles, status, prev in todo:
            if pack.id in current:
                _remove_pack(s, current[pack.id])
            _insert_pack(s, pack, pfiles, str(path), now)
            results.append(SyncResult(pack.id, pack.name, pack.version, pack.content_hash, status, prev))
            audit.append(s, actor, "pack_sync", pack.id,
                         {"version": pack.version, "status": status, "previous": prev, "forced": force,
                          "signed_by": signed_by.get(pack.id), "allow_unsigned": allow_unsigned},
                         before=current[pack.id].content_hash if pack.id in current else "",
                         after=pack.content_hash)
    return results


def _read_incoming(path: Path) -> list[tuple[Pack, dict[str, bytes]]]:
    """Every pack under `path`, validated, with its exact files; SyncRefused lists every problem."""
    problems: list[Problem] = []
    incoming: list[tuple[Pack, dict[str, bytes]]] = []
    try:
        for p in pack_dirs(path):
            try:
                incoming.append(pack_files(p))
            except PackInvalid as exc:
                problems.extend(exc.problems)
    except PackInvalid as exc:
        problems.extend(exc.problems)
    if problems:
        raise SyncRefused("政策包校验未通过，数据库未做任何修改。", [str(p) for p in problems])
    return incoming


def _remove_pack(s, old: m.PolicyPack) -> None:
    """The stored rows of a pack about to be replaced (same transaction as the new rows)."""
    for table in (m.PackParam, m.CatalogueItem, m.PackInstitution, m.PackDisease, m.PackFile):
        s.execute(delete(table).where(table.pack_id == old.id))
    s.delete(old)
    s.flush()


def _sync_status(pack: Pack, old: m.PolicyPack | None, stored: str | None, force: bool) -> str:
    """loaded | unchanged | upgraded | replaced, or SyncRefused. The same content again is `unchanged` only
    when the stored files still match it; stored files changed behind the program's back are replaced."""
    if old is None:
        return "loaded"
    if old.content_hash == pack.content_hash:
        return "unchanged" if stored == pack.content_hash else "replaced"
    newer = _version_key(pack.version) > _version_key(old.version)
    if not newer and not force:
        what = "较旧" if _version_key(pack.version) < _version_key(old.version) else "相同但内容不同"
        raise SyncRefused(
            f"政策包 {pack.id} 的版本 {pack.version} 与已加载的版本 {old.version} 相比{what}，已拒绝；"
            "如确需回退或替换，请使用 --force。")
    return "upgraded" if newer else "replaced"


def trusted_key_dirs(db: Database) -> list[Path]:
    """Keys a supervisor added for this clinic: `trusted_keys/` beside the database."""
    return [db.path.parent / "trusted_keys"] if db.path is not None else []


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    file: str
    source: str  # shipped | clinic
    trusted: bool  # a clinic key counts only once `packs trust` registered it in the audit trail
    note: str = ""


def _registered_keys(s) -> set[str]:
    """Key ids added with `packs trust` and not removed since (the audit trail is the register)."""
    out: set[str] = set()
    for action, subject in s.execute(select(m.AuditEntry.action, m.AuditEntry.subject)
                                     .where(m.AuditEntry.action.in_(("key_trust", "key_untrust")))
                                     .order_by(m.AuditEntry.id)):
        (out.add if action == "key_trust" else out.discard)(subject)
    return out


def list_keys(db: Database) -> list[KeyInfo]:
    from desktop_app.core.signing import trusted_keys

    shipped = trusted_keys([])
    with db.read() as s:
        registered = _registered_keys(s)
    out = [KeyInfo(k, f, "shipped", True, "随程序发布") for k, (_pem, f) in shipped.items()]
    for k, (_pem, f) in trusted_keys(trusted_key_dirs(db)).items():
        if k in shipped:
            continue
        out.append(KeyInfo(k, f, "clinic", k in registered,
                           "管理员已添加" if k in registered else "未经 packs trust 添加，不被信任"))
    return out


def _trusted(db: Database) -> dict[str, tuple[bytes, str]]:
    """Shipped keys, plus clinic keys that a supervisor registered; a .pem merely copied into the
    folder is not trusted (a USB stick must not be able to add a signer unseen)."""
    from desktop_app.core.signing import trusted_keys

    shipped = trusted_keys([])
    with db.read() as s:
        registered = _registered_keys(s)
    local = {k: v for k, v in trusted_keys(trusted_key_dirs(db)).items() if k in registered}
    return {**local, **shipped}


def trust_key(db: Database, pem_file: str | Path, *, actor: str) -> KeyInfo:
    """A supervisor adds a bureau public key: copied into `trusted_keys/` and registered in the audit trail."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from desktop_app.core.signing import key_id
    from desktop_app.services import audit
    from desktop_app.services.accounts import AuthError, require_supervisor

    src = Path(pem_file)
    try:
        if src.is_symlink() or not src.is_file() or src.stat().st_size > 16 * 1024:
            raise SyncRefused(f"{src.name}：不是公钥文件（须为不超过 16 KB 的 .pem 文件）")
        pem = src.read_bytes()
    except OSError as exc:
        raise SyncRefused(f"无法读取 {src}：{exc.strerror or exc}") from None
    if b"PRIVATE KEY" in pem:
        raise SyncRefused(f"{src.name} 是私钥。私钥只应留在医保局的签名电脑上；请改用对应的公钥（*-public.pem）。")
    try:
        pub = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise SyncRefused(f"{src.name}：不是有效的 PEM 公钥") from None
    if not isinstance(pub, Ed25519PublicKey):
        raise SyncRefused(f"{src.name}：不是 Ed25519 公钥（政策包签名使用 Ed25519）")
    kid = key_id(pem)
    if db.path is None:
        raise SyncRefused("只有本地数据库可以添加信任的公钥")
    folder = trusted_key_dirs(db)[0]
    with db.write() as s:
        try:
            require_supervisor(s, actor, "添加信任的公钥")
        except AuthError as exc:
            raise SyncRefused(str(exc)) from None
        if kid in _registered_keys(s):
            return KeyInfo(kid, str(folder / f"{kid}.pem"), "clinic", True, "已在信任列表中")
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{kid}.pem"
        dest.write_bytes(pem)  # before the commit: a crash leaves an unregistered (ignored) file at worst
        audit.append(s, actor, "key_trust", kid, {"file": src.name[:80]})
    return KeyInfo(kid, str(dest), "clinic", True, "管理员已添加")


def untrust_key(db: Database, kid: str, *, actor: str) -> None:
    from desktop_app.services import audit
    from desktop_app.services.accounts import AuthError, require_supervisor

    with db.write() as s:
        try:
            require_supervisor(s, actor, "移除信任的公钥")
        except AuthError as exc:
            raise SyncRefused(str(exc)) from None
        if kid not in _registered_keys(s):
            raise SyncRefused(f"公钥 {kid} 不是本机构添加的信任公钥（随程序发布的公钥只能随新版本更换）")
        audit.append(s, actor, "key_untrust", kid, {})
    for d in trusted_key_dirs(db):
        (d / f"{kid}.pem").unlink(missing_ok=True)


def _check_signatures(db: Database, incoming, allow_unsigned: bool, actor: str) -> dict[str, str | None]:
    """pack id → key id of a valid signature; refuses unsigned, tampered or untrusted packs."""
    from desktop_app.core.signing import SignatureError, verify_files
    from desktop_app.services.accounts import AuthError, require_supervisor

    keys = _trusted(db)
    out: dict[str, str | None] = {}
    problems = []
    for pack, pfiles in incoming:
        try:
            out[pack.id] = verify_files(pack.id, pack.version, pfiles, keys).key_id
        except SignatureError as exc:
            if not allow_unsigned:
                problems.append(str(exc))
            out[pack.id] = None
    if problems:
        raise SyncRefused("政策包签名校验未通过，数据库未做任何修改（测试用的包可加 --allow-unsigned，需管理员）。",
                          problems)
    if allow_unsigned and any(v is None for v in out.values()):
        with db.read() as s:
            try:
                require_supervisor(s, actor, "导入未签名的政策包")
            except AuthError as exc:
                raise SyncRefused(str(exc)) from None
    return out


def sign_pack_dir(folder: str | Path, private_pem: bytes) -> Path:
    """Write SIGNATURE.json into a pack folder (the bureau's side: `clinic-settle packs sign`)."""
    from desktop_app.core.signing import SIGNATURE_FILE, sign_files

    pack, files = pack_files(folder)
    files.pop(SIGNATURE_FILE, None)
    out = Path(folder) / SIGNATURE_FILE
    out.write_bytes(sign_files(pack.id, pack.version, files, private_pem))
    return out


def _jsonable(v):
    if v is OPEN:
        return None
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, bool | int | str):
        return v
    return str(v)


def _insert_pack(s, pack: Pack, pfiles: dict[str, bytes], source: str, now: datetime) -> None:
    s.add(m.PolicyPack(id=pack.id, name=pack.name, admdvs=pack.admdvs, parent=pack.parent, level=pack.level,
                       version=pack.version, content_hash=pack.content_hash, source=source, synced_at=now))
    s.flush()
    for name, content in pfiles.items():
        s.add(m.PackFile(pack_id=pack.id, name=name, content=content))
    for p in pack.params:
        s.add(m.PackParam(
            pack_id=pack.id, key=p.key, selectors=json.dumps(dict(p.selectors), ensure_ascii=False),
            value=None if p.is_open else json.dumps(_jsonable(p.value), ensure_ascii=False),
            valid_from=p.start if p.start.year > 1 else pack_start(pack, p), valid_until=p.end if p.end != FAR_FUTURE else FAR_FUTURE,
            cite=p.cite, note=p.note))
    for it in pack.items:
        s.add(m.CatalogueItem(pack_id=pack.id, benefit=it.benefit, code=it.code, name=it.name, kind=it.kind,
                              chrgitm_lv=it.chrgitm_lv, pay_std=None if it.pay_std is None else str(it.pay_std),
                              max_count=it.max_count, count_scope=it.count_scope, category=it.category,
                              cite=it.cite, note=it.note))
    for i in pack.institutions:
        s.add(m.PackInstitution(pack_id=pack.id, code=i.code, name=i.name, admdvs=i.admdvs, level=i.level,
                                price_class=i.price_class, art_approved=i.art_approved,
                                designated_diseases=";".join(i.designated_diseases), cite=i.cite))
    for d in pack.diseases:
        s.add(m.PackDisease(pack_id=pack.id, code=d.code, name=d.name, benefit=d.benefit, criteria=d.criteria,
                            cite=d.cite))


def pack_start(pack: Pack, p) -> object:
    doc = pack.documents.get(p.doc_number)
    return doc.effective if doc is not None else p.start


@dataclass(frozen=True)
class StoredPackProblem:
    pack_id: str
    kind: str  # pack_changed | pack_missing | pack_unrecorded
    message: str
    entry_id: int | None = None


def _changed_files(files: dict[str, bytes]) -> list[str]:
    """Which files differ from the pack's signed manifest (empty when it cannot tell)."""
    from desktop_app.core.signing import SIGNATURE_FILE

    try:
        listed = json.loads(files[SIGNATURE_FILE].decode("utf-8"))["files"]
    except (KeyError, ValueError, TypeError):
        return []
    actual = {n: hashlib.sha256(b).hexdigest() for n, b in files.items() if n != SIGNATURE_FILE}
    return sorted(n for n in set(actual) | set(listed) if actual.get(n) != listed.get(n))


def _signed_by_trusted(db: Database, pack_id: str, files: dict[str, bytes]) -> bool:
    from desktop_app.core.signing import SIGNATURE_FILE, SignatureError, verify_files

    try:
        version = json.loads(files[SIGNATURE_FILE].decode("utf-8"))["version"]
        verify_files(pack_id, version, files, _trusted(db))
    except (KeyError, ValueError, TypeError, SignatureError):
        return False
    return True


def stored_pack_problems(db: Database, s, files: dict[str, tuple[str, dict[str, bytes]]] | None = None
                         ) -> list[StoredPackProblem]:
    """Each stored pack against the content hash recorded by its latest `pack_sync` audit entry."""
    from desktop_app.services import audit

    files = _db_pack_files(s) if files is None else files
    recorded: dict[str, m.AuditEntry] = {}
    for e in s.execute(select(m.AuditEntry).where(m.AuditEntry.action == "pack_sync").order_by(m.AuditEntry.id)).scalars():
        recorded[e.subject] = e
    columns = dict(s.execute(select(m.PolicyPack.id, m.PolicyPack.content_hash)).all())
    out: list[StoredPackProblem] = []
    for pid, (_label, pfiles) in sorted(files.items()):
        e = recorded.pop(pid, None)
        if e is None:
            if not _signed_by_trusted(db, pid, pfiles):
                out.append(StoredPackProblem(pid, "pack_unrecorded", f"政策包 {pid} 没有同步的审计记录，也没有可信的签名"))
            continue
        intact = audit.entry_hash(e.id, e.at, e.actor, e.action, e.subject, e.detail, e.before_digest,
                                  e.after_digest, e.prev_hash) == e.hash
        if files_hash(pfiles) != e.after_digest or not intact or columns.get(pid) != e.after_digest:
            names = _changed_files(pfiles)
            which = f"（{'、'.join(names)} 被改动）" if names else ""
            out.append(StoredPackProblem(pid, "pack_changed", f"政策包 {pid} 在数据库中的文件与同步时审计记录的"
                                                              f"（第 {e.id} 号）不一致{which}", e.id))
    for pid, e in recorded.items():
        out.append(StoredPackProblem(pid, "pack_missing", f"政策包 {pid} 已同步（第 {e.id} 号审计记录），"
                                                          "但已不在数据库中（被删除）", e.id))
    return out


_POLICY_CACHE: dict[tuple, PolicySet] = {}


def policy(db: Database, s=None) -> PolicySet:
    """The policy the engine uses for settlements: the packs stored in the database.

    The stored files are read and hashed every time (a few pack files); the parsed policy is
    cached by those content hashes, and a set of hashes not seen before is first checked against
    the audit trail (`stored_pack_problems`): a pack that does not match raises PackTampered.
    """
    if s is None:
        with db.read() as s2:
            return policy(db, s2)
    files = _db_pack_files(s)
    if not files and s.execute(select(m.AuditEntry.id).where(m.AuditEntry.action == "pack_sync").limit(1)).first() is None:
        raise SyncRefused("数据库中没有政策包，请先同步政策包（clinic-settle sync）。")
    stamp = tuple((pid, files_hash(f)) for pid, (_label, f) in sorted(files.items()))
    hit = _POLICY_CACHE.get(stamp)
    if hit is None:
        problems = stored_pack_problems(db, s, files)
        if problems:
            raise PackTampered("；".join(p.message for p in problems) + "。已拒绝使用这些政策包结算；请管理员运行 "
                               "clinic-settle audit verify 查看，并重新同步政策包（clinic-settle sync）。",
                               [p.message for p in problems])
        hit = _policy_of(files)
        _POLICY_CACHE.clear()
        _POLICY_CACHE[stamp] = hit
    return hit


def installed(db: Database) -> list[PackInfo]:
    with db.read() as s:
        out = []
        for p in s.execute(select(m.PolicyPack).order_by(m.PolicyPack.admdvs)).scalars():
            out.append(PackInfo(p.id, p.name, p.admdvs, p.parent, p.version, p.content_hash, p.synced_at))
        return out


def sync_shipped(db: Database, *, actor: str) -> list[SyncResult]:
    return sync(db, shipped_packs_dir(), actor=actor)
