"""Receipt and report benchmarks — prints figures for docs/benchmarks.md.

    python bench/bench_reports.py [--settlements 30000]

- one receipt PDF (A5 and 80 mm), after the first (fonts registered once, subset embedded);
- the monthly summary xlsx and the reconciliation export of a month with N settlements, beside the limit:
  the same cells and lines written from memory by the fastest writer measured (runs interleaved).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

from desktop_app.reports import export
from desktop_app.reports.receipt import receipt_pdf
from desktop_app.services import demo, ledger, ledger_types, reporting
from desktop_app.store.db import open_db

DAY = date(2026, 11, 23)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--settlements", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-receipts", action="store_true")
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="clinic-bench-reports-", dir="/tmp"))
    path = folder / "reports.sqlite3"
    cpu = cpu_model()
    print(f"machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; {date.today()}")
    db = open_db(path)
    demo.create_demo(db, persons=2000, today=DAY)
    con = sqlite3.connect(path)
    psn = [r[0] for r in con.execute("SELECT psn_no FROM person WHERE insutype='390' AND admdvs='141102'")]
    con.close()
    v = ledger_types.VisitInput(psn[0], DAY, "general_outpatient",
                          [ledger_types.ItemInput(c, "1") for c in ("XJ01CAA040A001", "XJ01DCA030A001", "ZA01AAA020A001",
                                                                "250101015", "110200005", "HC0001")])
    rec = ledger.settle(db, v, operator="clerk", today=DAY)
    for fmt in () if a.skip_receipts else ("A5", "80mm"):
        t = time.perf_counter()
        receipt_pdf(rec, fmt)
        first = time.perf_counter() - t
        ts = []
        for _ in range(50):
            t = time.perf_counter()
            receipt_pdf(ledger.get(db, rec.setl_no), fmt)
            ts.append(time.perf_counter() - t)
        ts.sort()
        print(f"receipt {fmt}: first {first * 1000:.0f} ms; then p50 {statistics.median(ts) * 1000:.1f} ms, "
              f"p95 {ts[int(0.95 * len(ts))] * 1000:.1f} ms (reading the settlement from the database included)")
    n = fill_month(path, rec.setl_no, psn, a.settlements)
    month(db, folder, n, a.runs)
    db.dispose()
    if not a.keep:
        shutil.rmtree(folder, ignore_errors=True)


def fill_month(path: Path, setl_no: str, psn: list[str], count: int) -> int:
    """A month of settlements, copied from a real one with other numbers, persons and days."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    cols = [r[1] for r in con.execute("PRAGMA table_info(settlement)")]
    row = dict(zip(cols, con.execute("SELECT * FROM settlement WHERE setl_no=?", (setl_no,)).fetchone(),
                   strict=True))
    icols = [r[1] for r in con.execute("PRAGMA table_info(settlement_item)")]
    items = [dict(zip(icols, r, strict=True)) for r in
             con.execute("SELECT * FROM settlement_item WHERE settlement_id=?", (row["id"],))]
    start_id = row["id"] + 1
    srows, irows = [], []
    for i in range(count):
        d = date(2026, 11, 1) + timedelta(days=i % 30)
        r = dict(row, id=start_id + i, setl_no=f"H14110200031-{d:%Y%m%d}-{i:06d}", request_token=f"b{i}",
                 psn_no=psn[i % len(psn)], business_date=d.isoformat(), visit_date=d.isoformat(),
                 created_at=datetime(d.year, d.month, d.day, 9).isoformat(sep=" "))
        srows.append(tuple(r[c] for c in cols))
        for it in items:
            irows.append(tuple(dict(it, settlement_id=start_id + i)[c] for c in icols))
    con.executemany(f"INSERT INTO settlement ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", srows)
    con.executemany(f"INSERT INTO settlement_item ({','.join(icols)}) VALUES ({','.join('?' * len(icols))})", irows)
    con.commit()
    n = con.execute("SELECT COUNT(*) FROM settlement WHERE business_date BETWEEN '2026-11-01' AND '2026-11-30'"
                    ).fetchone()[0]
    con.close()
    return n


def month(db, folder: Path, n: int, runs: int) -> None:
    """Project: the monthly summary and the reconciliation export from the database (one read of the rows).
    Limit: the same cells and lines written from memory by the fastest writer measured (reports/fastxlsx.py
    for the sheets, json.dumps for the JSON Lines), runs interleaved with the project's."""
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    project, limit, project_cpu, limit_cpu = [], [], [], []
    for i in range(runs):
        out = folder / f"run{i}"
        t, c = time.perf_counter(), time.process_time()
        res = reporting.month_summary_and_export(db, 2026, 11, out / "month.xlsx", out / "export")
        project.append(time.perf_counter() - t)
        project_cpu.append(time.process_time() - c)
        cells = limit_cells(db, start, end)  # the cells and lines, computed outside the timing
        t, c = time.perf_counter(), time.process_time()
        write_limit(cells, out / "limit")
        limit.append(time.perf_counter() - t)
        limit_cpu.append(time.process_time() - c)
    size = sum(Path(f).stat().st_size for f in res.export.files)
    for what, pp, ll in (("cpu", project_cpu, limit_cpu), ("wall", project, limit)):
        p, lim = statistics.median(pp), statistics.median(ll)
        print(f"month of {n} settlements, monthly summary xlsx + reconciliation export (jsonl + xlsx + manifest), "
              f"{what}: project {p:.2f} s; limit (same cells and lines, fastest writer) {lim:.2f} s; ratio "
              f"{p / lim:.1f}x (median of {runs}); goal <= 2x: {'MET' if p <= 2 * lim else 'NOT MET'}")
    print(f"export size {size / 1e6:.1f} MB")
    print(json.dumps({"verify": export.verify(res.export.manifest)}, ensure_ascii=False))


def limit_cells(db, start: date, end: date):
    """What the project writes, as plain values: the detail rows (twice: the export's sheet and the jsonl
    lines) and the summary's grouped cells."""
    from desktop_app.reports.xlsx import detail_values

    rows = reporting.rows_between(db, start, end)
    details = [detail_values(r) for r in rows]
    lines = [{  # the export's JSON object of each row (reports/export.py), built here outside the timing
        "format": export.FORMAT_VERSION, "setl_no": r.setl_no, "kind": r.kind, "original_setl_no": r.original or None,
        "created_at": r.created_at.isoformat(timespec="seconds"), "business_date": r.business_date.isoformat(),
        "visit_date": r.visit_date.isoformat(), "fixmedins_code": r.institution, "psn_no": r.psn_no,
        "psn_name": r.name, "insutype": r.insutype, "benefit": r.benefit, "disease": r.disease or None,
        "operator": r.operator, "reason": r.reason or None, "pool_prop_selfpay": r.ratio,
        **{f: str(v) for f, v in r.amounts.items()},
        "packs": [{"id": p["id"], "version": p["version"], "content_hash": p.get("content_hash", "")}
                  for p in r.pack_refs]} for r in rows]
    return details, lines


def write_limit(cells, out: Path) -> None:
    from desktop_app.reports.fastxlsx import write_detail
    from desktop_app.reports.xlsx import DETAIL_FIRST_MONEY, DETAIL_HEADERS, DETAIL_WIDTHS

    details, lines = cells
    out.mkdir(parents=True, exist_ok=True)
    write_detail(out / "detail.xlsx", sheet="明细", title="明细", headers=DETAIL_HEADERS, widths=DETAIL_WIDTHS,
                 rows=details, money_from=DETAIL_FIRST_MONEY, freeze=(3, 2))
    (out / "lines.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n"
                                             for x in lines), encoding="utf-8")


if __name__ == "__main__":
    main()
