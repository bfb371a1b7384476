"""The county centre: ingest the reconciliation exports (对账导出, docs/export.md) that clinics produce with
`clinic-settle export`, into one database (PostgreSQL) that holds every clinic's settlements.

For each export (a folder's `manifest_*.json` and the files it names):

1. the manifest is checked first — every file's SHA-256 and size, the row count and the sums
   (`reports.export.verify`); an export that fails is refused whole;
2. every line is read and checked (format, number, kind, dates, amounts, the clinic of the manifest);
   a bad line refuses the export whole;
3. the same manifest twice (its SHA-256) is recognised and changes nothing;
4. a settlement number already ingested (an overlapping export) is skipped when its line is the
   same, and refuses the export when it differs (`conflict`: the same number with other content);
5. the new rows go in one transaction with the export's record and an audit entry; reversals are
   linked to their originals — in this export or any other, whichever came first.

A refused export changes nothing. Exports are ingested one at a time (lock "county_ingest").
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select, update

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.errors import Refused
from desktop_app.reports.export import covered_to
from desktop_app.services import audit
from desktop_app.services.accounts import require_supervisor
from desktop_app.store import models as m
from desktop_app.store.db import Database, lock

_SETL_NO = re.compile(r"^[A-Za-z0-9]{1,32}-\d{8}-\d{4,8}$")
_CHUNK = 2000


class CountyError(Refused):
    def __init__(self, message: str, field: str = "export"):
        super().__init__(message, field=field, code="invalid_input")


@dataclass
class Ingested:
    """What became of one export: `ingested`, `duplicate` (this manifest was ingested before) or `refused`."""

    manifest: str
    clinic: str
    status: str
    rows: int = 0
    added: int = 0
    already: int = 0  # rows an overlapping export brought already (same content)
    linked: int = 0  # reversals linked to their originals by this ingest
    problems: list[str] = field(default_factory=list)


def manifests(paths: list[str | Path]) -> list[Path]:
    """The manifests named: a manifest file itself, or every `manifest_*.json` of a folder."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("manifest_*.json"))
            if not found:
                raise CountyError(f"文件夹 {p} 中没有对账导出清单（manifest_*.json）", "EXPORT_DIR")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise CountyError(f"找不到 {p}", "EXPORT_DIR")
    return out


def ingest(db: Database, paths: list[str | Path], *, actor: str) -> list[Ingested]:
    """Ingest every export named (see the module docstring); one result per manifest, in order."""
    with db.read() as s:
        require_supervisor(s, actor, "导入各机构的对账导出")
    return [_ingest_one(db, mpath, actor) for mpath in manifests(paths)]


def _ingest_one(db: Database, mpath: Path, actor: str) -> Ingested:
    raw = mpath.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        man = json.loads(raw.decode("utf-8"))
        clinic = str(man["fixmedins_code"])
        jsonl = next(mpath.parent / f["name"] for f in man["files"] if f["name"].endswith(".jsonl"))
    except (ValueError, KeyError, TypeError, StopIteration):
        return Ingested(mpath.name, "", "refused", problems=["清单不是对账导出的清单（格式不符）"])
    res = Ingested(mpath.name, clinic, "refused")
    try:
        problems = _check_files(mpath, man)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems = [f"清单或文件无法读取：{exc}"]
    if problems:
        res.problems = [f"{p}（SHA-256 校验未通过：文件被改动或不完整，整批未导入）" for p in problems]
        return res
    rows, bad = _read_lines(jsonl, clinic)
    bad = bad or _check_totals(man, rows)
    if bad:
        res.problems = bad[:50]
        return res
    res.rows = len(rows)
    with db.write() as s:
        lock(s, "county_ingest")
        if s.execute(select(m.CountyExport.id).where(m.CountyExport.manifest_sha256 == digest)).first():
            res.status = "duplicate"
            res.already = len(rows)
            return res
        new, conflicts = _split_known(s, rows)
        if conflicts:
            res.problems = conflicts[:50]
            return res
        _write(s, man, mpath, digest, new, res, actor)
    return res


def _write(s, man: dict, mpath: Path, digest: str, new: list[dict], res: Ingested, actor: str) -> None:
    exp = m.CountyExport(fixmedins_code=res.clinic, fixmedins_name=str(man.get("fixmedins_name", ""))[:128],
                         period_from=date.fromisoformat(man["period"]["from"]),
                         period_to=date.fromisoformat(man["period"]["to"]),
                         covered_to=covered_to(man, date.fromtimestamp(mpath.stat().st_mtime)),
                         manifest_name=mpath.name[:128],
                         manifest_sha256=digest, rows=res.rows, added=len(new),
                         audit_anchor=str(man.get("audit_anchor", ""))[:128], ingested_at=datetime.now(),
                         ingested_by=actor)
    s.add(exp)
    s.flush()
    for r in new:
        r["export_id"] = exp.id
    _insert(s, new)
    res.linked = _link_reversals(s)
    res.added, res.already, res.status = len(new), res.rows - len(new), "ingested"
    audit.append(s, actor, "county_ingest", mpath.name[:64],
                 {"clinic": res.clinic, "manifest_sha256": digest, "rows": res.rows, "added": res.added,
                  "period": [man["period"]["from"], man["period"]["to"]],
                  "covered_to": exp.covered_to.isoformat() if exp.covered_to else None})


_COLUMNS = [c.name for c in m.CountySettlement.__table__.columns if c.name != "id"]
_MONEY = set(MONEY_FIELDS)


def _insert(s, rows: list[dict]) -> None:
    """The new rows: PostgreSQL's COPY (money as integer fen, as the Money type stores it), else executemany."""
    if s.get_bind().dialect.name == "postgresql":
        raw = s.connection().connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY county_settlement ({', '.join(_COLUMNS)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row([int(r[c] * 100) if c in _MONEY else r[c] for c in _COLUMNS])
        return
    for i in range(0, len(rows), _CHUNK):
        s.execute(m.CountySettlement.__table__.insert(), rows[i:i + _CHUNK])


def _link_reversals(s) -> int:
    """Every reversal whose original is now in the database points at it (either may have come first)."""
    orig = m.CountySettlement.__table__.alias("o")
    c = m.CountySettlement.__table__
    found = select(orig.c.id).where(orig.c.setl_no == c.c.original_setl_no).scalar_subquery()
    r = s.execute(update(c).where(c.c.original_id.is_(None), c.c.original_setl_no.is_not(None),
                                  c.c.original_setl_no.in_(select(orig.c.setl_no))).values(original_id=found))
    return r.rowcount or 0


def _split_known(s, rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The rows not yet in the database, and the conflicts (a number there with other content)."""
    known: dict[str, str] = {}
    nos = [r["setl_no"] for r in rows]
    for i in range(0, len(nos), _CHUNK):
        known.update(s.execute(select(m.CountySettlement.setl_no, m.CountySettlement.line_sha256)
                               .where(m.CountySettlement.setl_no.in_(nos[i:i + _CHUNK]))).all())
    new, conflicts = [], []
    for r in rows:
        had = known.get(r["setl_no"])
        if had is None:
            new.append(r)
        elif had != r["line_sha256"]:
            conflicts.append(f"结算单号 {r['setl_no']} 已导入过，但内容不同（同号异内容）：整批未导入，请与该机构核对")
    return new, conflicts


def _check_files(mpath: Path, man: dict) -> list[str]:
    """Every file the manifest names is there with its size and SHA-256 (as `reports.export.verify`)."""
    problems = []
    for f in man["files"]:
        p = mpath.parent / f["name"]
        if not p.is_file():
            problems.append(f"缺少文件 {f['name']}")
            continue
        data = p.read_bytes()
        if len(data) != int(f["bytes"]) or hashlib.sha256(data).hexdigest() != f["sha256"]:
            problems.append(f"{f['name']} 的 SHA-256 与清单不符")
    return problems


def _check_totals(man: dict, rows: list[dict]) -> list[str]:
    """The lines add up to the manifest's row count and sums (read once, with the lines)."""
    problems = []
    if len(rows) != int(man["count"]["rows"]):
        problems.append(f"行数 {len(rows)} 与清单（{man['count']['rows']}）不符（整批未导入）")
    for f, v in man["sums"].items():
        if f in _MONEY and sum((r[f] for r in rows), Decimal("0.00")) != Decimal(v):
            problems.append(f"{f} 合计与清单不符（整批未导入）")
    return problems


_AMOUNT = re.compile(r"^-?\d{1,12}\.\d{2}$")


def _read_lines(jsonl: Path, clinic: str) -> tuple[list[dict], list[str]]:
    rows, bad, seen = [], [], set()
    for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _row(json.loads(line), clinic)
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            bad.append(f"{jsonl.name} 第 {n} 行：{exc}")
            continue
        if row["setl_no"] in seen:
            bad.append(f"{jsonl.name} 第 {n} 行：结算单号 {row['setl_no']} 在本文件中重复")
        seen.add(row["setl_no"])
        rows.append(row)
    return rows, bad


def _row(obj: dict, clinic: str) -> dict:
    """One export line as a county_settlement row (checked)."""
    if obj.get("format") != 1:
        raise ValueError(f"不认识的格式版本 {obj.get('format')!r}")
    no = str(obj["setl_no"])
    if not _SETL_NO.match(no) or not no.startswith(clinic + "-"):
        raise ValueError(f"结算单号 {no} 不是本机构（{clinic}）的单号")
    if obj["kind"] not in ("settle", "reverse") or (obj["kind"] == "reverse") != bool(obj.get("original_setl_no")):
        raise ValueError(f"结算单号 {no}：kind / original_setl_no 不符")
    if obj["fixmedins_code"] != clinic:
        raise ValueError(f"结算单号 {no} 的机构编码 {obj['fixmedins_code']} 与清单（{clinic}）不符")
    if not all(isinstance(obj[f], str) and _AMOUNT.match(obj[f]) for f in MONEY_FIELDS):
        raise ValueError(f"结算单号 {no}：金额须为两位小数的文本")
    money = {f: Decimal(obj[f]) for f in MONEY_FIELDS}
    canon = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return {
        "setl_no": no, "kind": obj["kind"], "original_setl_no": obj.get("original_setl_no") or None,
        "original_id": None, "fixmedins_code": clinic, "psn_no": str(obj["psn_no"] or "")[:32],  # a 全自费 walk-in: null → ""
        "psn_name": str(obj.get("psn_name") or "")[:64], "insutype": str(obj["insutype"])[:3],
        "benefit": str(obj["benefit"])[:32], "disease": str(obj.get("disease") or "")[:32],
        "business_date": date.fromisoformat(obj["business_date"]), "visit_date": date.fromisoformat(obj["visit_date"]),
        "created_at": datetime.fromisoformat(obj["created_at"]), "operator": str(obj.get("operator") or "")[:32],
        "reason": str(obj.get("reason") or ""), "pool_prop_selfpay": str(obj.get("pool_prop_selfpay") or "")[:8],
        **money, "line_sha256": hashlib.sha256(canon.encode()).hexdigest(),
    }
