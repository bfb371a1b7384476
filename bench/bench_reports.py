"""Receipt and report benchmarks — prints figures for docs/benchmarks.md.

    python bench/bench_reports.py [--settlements 30000]

- one receipt PDF (A5 and 80 mm), after the first (fonts registered once, subset embedded);
- the monthly summary xlsx and the reconciliation export of a month with N settlements.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="clinic-bench-reports-"))
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
    for fmt in ("A5", "80mm"):
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
    # a month of settlements, copied from the real one with other numbers, persons and days
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    cols = [r[1] for r in con.execute("PRAGMA table_info(settlement)")]
    row = dict(zip(cols, con.execute("SELECT * FROM settlement WHERE setl_no=?", (rec.setl_no,)).fetchone(),
                   strict=True))
    icols = [r[1] for r in con.execute("PRAGMA table_info(settlement_item)")]
    items = [dict(zip(icols, r, strict=True)) for r in
             con.execute("SELECT * FROM settlement_item WHERE settlement_id=?", (row["id"],))]
    start_id = row["id"] + 1
    srows, irows = [], []
    for i in range(a.settlements):
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
    n = con.execute("SELECT COUNT(*) FROM settlement WHERE business_date BETWEEN '2026-11-01' AND '2026-11-30'").fetchone()[0]
    con.close()
    t = time.perf_counter()
    reporting.month_report_xlsx(db, 2026, 11, folder / "month.xlsx")
    t1 = time.perf_counter()
    res = reporting.export(db, date(2026, 11, 1), date(2026, 11, 30), folder / "export")
    t2 = time.perf_counter()
    size = sum(Path(f).stat().st_size for f in res.files)
    print(f"month of {n} settlements: monthly summary xlsx {t1 - t:.1f} s; reconciliation export "
          f"(jsonl + xlsx + manifest) {t2 - t1:.1f} s; together {t2 - t:.1f} s; export size {size / 1e6:.1f} MB")
    print(json.dumps({"verify": export.verify(res.manifest)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
