"""The long kill harness (issue: reliability) — prints the figures in docs/reliability.md.

    python bench/fault_run.py [--iterations 300] [--ops settle,sync,roster,close] [--roster-rows 2000]
                              [--seed 20261123] [--dir DIR] [--json FILE]

Runs the same harness as tests/store/test_faults.py (the same worker, kills and checks), with
hundreds of SIGKILLs per operation instead of CI's 25: settle + reverse, policy-pack sync,
roster import and the day close (日结: transaction, backup, 日结单), each killed at random moments and the database checked after every kill. A
failed check does not stop the run: it is counted, printed, and the run goes on from a fresh
database. Per operation it prints the iterations, the kills that landed mid-operation (and of
those, inside the write transaction), the runs that finished before the kill, the failures
and the wall time; and the machine. Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model  # noqa: E402

from tests.store import test_faults as tf  # noqa: E402

OPS = {"settle": tf.run_settle, "sync": tf.run_sync, "roster": tf.run_roster, "close": tf.run_close}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=300, help="kills per operation")
    ap.add_argument("--ops", default="settle,sync,roster,close")
    ap.add_argument("--roster-rows", type=int, default=tf.ROSTER_ROWS)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--dir", default=None, help="working folder (default: a new temporary folder)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    ops = [o.strip() for o in a.ops.split(",") if o.strip()]
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        ap.error(f"unknown operation(s) {unknown}; choose from {list(OPS)}")
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="clinic-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    machine = (f"{cpu_model()}, {cores} usable cores ({os.cpu_count()} logical); Python "
               f"{platform.python_version()}; SQLite {sqlite3.sqlite_version}; {platform.system()} {platform.release()}")
    print(f"machine: {machine}; {date.today()}")
    print(f"{a.iterations} kills per operation ({', '.join(ops)}); roster {a.roster_rows} rows; seed {a.seed}; "
          f"working folder {work}", flush=True)
    t0 = time.perf_counter()
    base = tf.build_base(work / "base.sqlite3")
    zyg = tf.Zygote(work)
    results: list[tf.Stats] = []
    try:
        for i, op in enumerate(ops):
            kw = {"rows": a.roster_rows} if op == "roster" else {}
            st = OPS[op](zyg, base, work / op, a.iterations, seed=a.seed + i, **kw)
            results.append(st)
            print(st.line(), flush=True)
            for k, v in sorted(st.notes.items()):
                print(f"  {k}: {v}", flush=True)
            for f in st.failures:
                print("  FAILURE:", f, flush=True)
    finally:
        zyg.close()
    total = time.perf_counter() - t0
    print()
    print("| operation | iterations | kills mid-operation | of those inside the write transaction "
          "| state found after a mid-operation kill | finished before the kill | failures | clean run | wall time |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for st in results:
        print(f"| {st.op} | {st.iterations} | {st.mid_op} | {st.in_tx} | {st.outcomes()} | {st.finished_first} | "
              f"{len(st.failures)} | {st.op_s * 1000:.0f} ms | {st.wall_s:.0f} s |")
    n_fail = sum(len(st.failures) for st in results)
    print(f"\ntotal: {sum(st.iterations for st in results)} kills, {sum(st.mid_op for st in results)} mid-operation, "
          f"{n_fail} failures, {total / 60:.1f} min")
    if a.json:
        Path(a.json).write_text(json.dumps({"machine": machine, "date": str(date.today()), "seed": a.seed,
                                            "iterations": a.iterations, "roster_rows": a.roster_rows,
                                            "wall_s": total, "ops": [asdict(st) for st in results]},
                                           ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
