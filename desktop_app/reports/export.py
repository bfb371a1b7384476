"""Reconciliation export (对账导出) for the medical-insurance centre.

`services.reporting.export(db, start, end, out)` reads the rows and `write_export` writes
them into `out/`:

- `settlements_<from>_<to>.jsonl` — UTF-8, one JSON object per settlement and per
  reversal, in settlement-number order (format: docs/export.md);
- `对账明细_<from>_<to>.xlsx` — the same rows for people, with totals;
- `manifest_<from>_<to>.json` — counts, sums of every amount field, the
  SHA-256 and size of each file, and the audit trail's anchor (docs/security.md).

Exporting the same period twice gives identical files (no timestamps inside).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from desktop_app import __version__
from desktop_app.core.model import MONEY_FIELDS, SELF_PAY
from desktop_app.reports.xlsx import Row, write_detail_file

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExportResult:
    folder: str
    files: list[str]
    manifest: str
    settlements: int
    reversals: int


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonl_line(r: Row, packs: list[dict], ratio: str) -> str:
    obj = {
        "format": FORMAT_VERSION,
        "setl_no": r.setl_no, "kind": r.kind, "original_setl_no": r.original or None,
        "created_at": r.created_at.isoformat(timespec="seconds"), "business_date": r.business_date.isoformat(),
        "visit_date": r.visit_date.isoformat(), "fixmedins_code": r.institution, "psn_no": r.psn_no or None,
        "psn_name": r.name, "insutype": r.insutype, "benefit": r.benefit, "disease": r.disease or None,
        "operator": r.operator, "reason": r.reason or None,
        "pool_prop_selfpay": ratio,
        **{f: str(r.amounts[f]) for f in MONEY_FIELDS},
        "packs": [{"id": p["id"], "version": p["version"], "content_hash": p.get("content_hash", "")} for p in packs],
    }
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def write_export(out: Path, start: date, end: date, rows: list[Row], *, clinic_code: str, clinic_name: str,
                 packs: dict[str, list[dict]], ratios: dict[str, str], anchor: str = "",
                 closed: list[date] | None = None) -> ExportResult:
    """The export of `rows` (with each settlement's `packs` and `ratios` by 结算单号) into `out/`;
    `closed`: the period's days closed (日结) when the export is made (the manifest's `day_close`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{start:%Y%m%d}_{end:%Y%m%d}"
    jsonl = out / f"settlements_{tag}.jsonl"
    lines = [_jsonl_line(r, packs.get(r.setl_no, []), ratios[r.setl_no]) for r in rows]
    tmp = jsonl.with_name(jsonl.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="\n")
    tmp.replace(jsonl)

    xlsx = write_detail_file(out / f"对账明细_{tag}.xlsx", "对账明细",
                             f"{clinic_name}（{clinic_code}）对账明细 {start} 至 {end}", rows)

    sums = {f: str(sum((r.amounts[f] for r in rows), Decimal("0.00"))) for f in MONEY_FIELDS}
    own = [r for r in rows if r.benefit == SELF_PAY]
    manifest = {
        "format": FORMAT_VERSION,
        "generator": f"ClinicSettle {__version__}",
        "fixmedins_code": clinic_code,
        "fixmedins_name": clinic_name,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "count": {"settle": sum(1 for r in rows if r.kind == "settle"),
                  "reverse": sum(1 for r in rows if r.kind == "reverse"), "rows": len(rows)},
        "sums": sums,
        # 全自费 rows (benefit self_pay, insutype ""): no fund, no account — the centre reconciles the rest
        "self_pay": {"rows": len(own), "medfee_sumamt": str(sum((r.amounts["medfee_sumamt"] for r in own),
                                                                Decimal("0.00")))},
        **({"audit_anchor": anchor} if anchor else {}),
        # which days of the period were closed (日结) when the export was made; `covered_to`: the last day
        # of the period's closed run from its start (null: its first day was open) — the days the centre
        # may count as complete (docs/export.md)
        "day_close": _day_close(start, end, closed or []),  # the trail's head: `audit verify --anchor MANIFEST`
        "files": [
            {"name": jsonl.name, "bytes": jsonl.stat().st_size, "sha256": _sha256(jsonl), "rows": len(rows)},
            {"name": xlsx.name, "bytes": xlsx.stat().st_size, "sha256": _sha256(xlsx), "rows": len(rows)},
        ],
    }
    mpath = out / f"manifest_{tag}.json"
    tmp = mpath.with_name(mpath.name + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8",
                   newline="\n")
    tmp.replace(mpath)
    return ExportResult(str(out), [str(jsonl), str(xlsx)], str(mpath), manifest["count"]["settle"],
                        manifest["count"]["reverse"])


def _day_close(start: date, end: date, closed: list[date]) -> dict:
    shut = set(closed)
    covered, day = None, start
    while day <= end and day in shut:
        covered, day = day, day + timedelta(days=1)
    return {"closed": [d.isoformat() for d in sorted(shut)], "covered_to": covered.isoformat() if covered else None}


def covered_to(man: dict, made_on: date) -> date | None:
    """The last day an export covers: its `day_close.covered_to`; a manifest without that field (made by an
    older version) covers up to the day before it was made (`made_on`), within its period."""
    dc = man.get("day_close")
    if isinstance(dc, dict):
        return date.fromisoformat(dc["covered_to"]) if dc.get("covered_to") else None
    start, end = (date.fromisoformat(man["period"][k]) for k in ("from", "to"))
    last = min(end, made_on - timedelta(days=1))
    return last if last >= start else None


def verify(manifest_path: str | Path) -> list[str]:
    """Problems found when checking a manifest against its files (empty list: all good)."""
    mpath = Path(manifest_path)
    man = json.loads(mpath.read_text(encoding="utf-8"))
    problems = []
    for f in man["files"]:
        p = mpath.parent / f["name"]
        if not p.exists():
            problems.append(f"缺少文件 {f['name']}")
        elif _sha256(p) != f["sha256"]:
            problems.append(f"{f['name']} 的 SHA-256 与清单不符")
    jl = next((mpath.parent / f["name"] for f in man["files"] if f["name"].endswith(".jsonl")), None)
    if jl is not None and jl.exists():
        rows = [json.loads(x) for x in jl.read_text(encoding="utf-8").splitlines() if x]
        if len(rows) != man["count"]["rows"]:
            problems.append("行数与清单不符")
        for f, v in man["sums"].items():
            if str(sum((Decimal(r[f]) for r in rows), Decimal("0.00"))) != v:
                problems.append(f"{f} 合计与清单不符")
    return problems
