"""Roster import against its limit (issue #16): importing N rows from .xlsx, beside reading the same file
with python-calamine (the reader the import uses), in the same run, interleaved.

    python bench/bench_roster.py [--rows 100000] [--runs 3]

The roster (and its 待遇累计 sheet) is the demo generator's, written once under /tmp and deleted afterwards.
Each import goes into a fresh database that already has its supervisor and the shipped packs. Wall and CPU
time are printed: on a shared machine under load the wall time mostly measures waiting for a core.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

from desktop_app.services import demo, packs
from desktop_app.services.accounts import create_first_supervisor
from desktop_app.services.roster import import_roster
from desktop_app.store.db import open_db

TODAY = date(2026, 11, 23)


def write_roster(path: Path, n: int) -> None:
    from openpyxl import Workbook

    rows, usage = demo.roster_rows(n, seed=321, today=TODAY)
    wb = Workbook(write_only=True)
    for name, data in (("花名册", rows), ("待遇累计", usage)):
        ws = wb.create_sheet(name)
        for r in data:
            ws.append(r)
    wb.save(path)


def calamine_read(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return sum(len(wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names)


def fresh_db(folder: Path, i: int):
    path = folder / f"import{i}.sqlite3"
    db = open_db(path)
    create_first_supervisor(db, "admin")
    packs.sync_shipped(db, actor="admin")
    return db


def timed(fn, *args):
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {cpu_model()}; Python {platform.python_version()}; {datetime.now():%Y-%m-%d %H:%M}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-roster-", dir="/tmp"))
    try:
        x = folder / f"roster_{a.rows}.xlsx"
        write_roster(x, a.rows)
        print(f"  wrote {x.name} ({x.stat().st_size / 1e6:.1f} MB)", flush=True)
        imp_w, imp_c, read_w, read_c = [], [], [], []
        for i in range(a.runs):
            _n, w, c = timed(calamine_read, x)
            read_w.append(w)
            read_c.append(c)
            db = fresh_db(folder, i)
            res, w, c = timed(lambda d: import_roster(d, x, actor="admin", today=TODAY), db)
            imp_w.append(w)
            imp_c.append(c)
            db.dispose()
            assert res.inserted == a.rows and not res.errors, res.errors[:3]
            for suffix in ("", "-wal", "-shm"):
                Path(str(folder / f"import{i}.sqlite3") + suffix).unlink(missing_ok=True)
        for what, p, lim in (("cpu", imp_c, read_c), ("wall", imp_w, read_w)):
            pm, lm = statistics.median(p), statistics.median(lim)
            print(f"roster import of {a.rows} rows (.xlsx, with 待遇累计), {what}: project {pm:.2f} s; limit "
                  f"(python-calamine read of the same file) {lm:.2f} s; ratio {pm / lm:.1f}x (median of {a.runs}); "
                  f"goal <= 3x: {'MET' if pm <= 3 * lm else 'NOT MET'}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
