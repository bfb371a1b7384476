"""Database benchmarks (issue: local database) — prints figures for docs/benchmarks.md.

    python bench/bench_store.py [--persons 1000000] [--settlements 1000000] [--roster 100000] [--keep]

Builds (once; reused with --keep) a database with N insured persons and M earlier
settlements, then measures on it:

- lookup by ID number and by 人员编号 (p50/p95),
- lookup by name prefix and by pinyin prefix, first 50 hits (p50/p95),
- pre-settle with history (p50/p95), settle with a durable commit (p50/p95),

and, on a fresh database, importing a 100,000-row .xlsx roster, with the
database sizes. The bulk fill writes rows directly (the roster import path is
measured separately on its own 100,000 rows).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

from desktop_app.services import demo, ledger, ledger_types, lookup
from desktop_app.services import packs as packs_service
from desktop_app.services.roster import import_roster, pinyin_keys
from desktop_app.store.db import open_db

TODAY = date(2026, 11, 23)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs) * 1000:.2f} ms, p95 {pct(xs, 95) * 1000:.2f} ms (n={len(xs)})"


def build(path: Path, persons: int, settlements: int) -> None:
    t0 = time.perf_counter()
    db = open_db(path)
    demo.create_demo(db, persons=10, today=TODAY)  # clinic, operators, packs, price list
    db.dispose()
    rows, _usage = demo.roster_rows(persons, seed=99, today=TODAY)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # bulk fill only; the measured operations use the program's settings
    con.execute("DELETE FROM person_key")
    con.execute("DELETE FROM person_disease")
    con.execute("DELETE FROM usage_snapshot")
    con.execute("DELETE FROM person")
    now = datetime.now().isoformat(sep=" ")
    early = "2026-01-01"  # 截至日期: the centre snapshot is old, so the local ledger is the history
    cat = {"城乡居民": "resident", "大学生": "student", "在职": "employee_active", "退休": "employee_retired"}
    batch, keys = [], []
    for r in rows[1:]:
        psn, idn, name, gender, birth, insutype, category, admdvs, paid, period, exempt, fd, dis, bal, as_of = r
        batch.append((psn, idn, name, gender, birth, insutype, cat[category], admdvs, paid, period, 0, fd,
                      int(Decimal(bal) * 100), early, now))
        keys.extend((psn, k) for k in pinyin_keys(name))
        if len(batch) >= 50000:
            _flush(con, batch, keys)
            batch, keys = [], []
    _flush(con, batch, keys)
    print(f"  persons: {persons} in {time.perf_counter() - t0:.1f} s", flush=True)
    psns = [r[0] for r in rows[1:]]
    rng = random.Random(5)
    t1 = time.perf_counter()
    claim = json.dumps({"date": "2026-06-01", "benefit": "general_outpatient", "items": [
        {"code": "110200005", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "10.00"}]})
    result = json.dumps({"medfee_sumamt": "10.00", "hifp_pay": "6.00", "psn_cash_pay": "4.00", "items": [],
                         "notices": [], "trace": [], "packs": []})
    sbatch, ibatch = [], []
    start_id = con.execute("SELECT COALESCE(MAX(id), 0) FROM settlement").fetchone()[0]
    for i in range(settlements):
        sid = start_id + i + 1
        day = date(2026, 1, 2) + timedelta(days=rng.randrange(0, 320))
        psn = psns[rng.randrange(len(psns))]
        sbatch.append((sid, f"H14110200031-{day:%Y%m%d}-B{i:07d}", f"bench-{i}", "settle", None, psn, day.isoformat(),
                       day.isoformat(), "general_outpatient", "", "H14110200031", "390", "141102",
                       1000, 0, 0, 0, 1000, 0, "0.6000", 600, 0, 0, 600, 400, 0, 0, 400, claim, result, "[]", "clerk",
                       "", now, None))
        ibatch.append((sid, 1, "110200005", "一般诊疗费", "service", "01", "一般诊疗费", "1", "10.00", None,
                       1000, 0, 0, 0, 1000))
        if len(sbatch) >= 50000:
            _flush_settlements(con, sbatch, ibatch)
            sbatch, ibatch = [], []
    _flush_settlements(con, sbatch, ibatch)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"  settlements: {settlements} in {time.perf_counter() - t1:.1f} s", flush=True)


def _flush(con, batch, keys) -> None:
    con.executemany(
        "INSERT INTO person (psn_no, id_no, name, gender, birth_date, insutype, category, admdvs, paid_on, pay_period, "
        "waiting_exempt, family_doctor_at, acct_balance, as_of, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        batch)
    con.executemany("INSERT OR IGNORE INTO person_key (psn_no, key) VALUES (?, ?)", keys)
    con.commit()


def _flush_settlements(con, sbatch, ibatch) -> None:
    con.executemany(
        "INSERT INTO settlement (id, setl_no, request_token, kind, original_id, psn_no, business_date, visit_date, "
        "benefit, disease, institution, insutype, admdvs, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, "
        "preselfpay_amt, inscp_scp_amt, act_pay_dedc, pool_prop_selfpay, hifp_pay, hifmi_pay, hifob_pay, "
        "fund_pay_sumamt, psn_part_amt, acct_pay, acct_mulaid_pay, psn_cash_pay, claim_json, result_json, packs, "
        "operator, reason, created_at, day_close_id) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", sbatch)
    con.executemany(
        "INSERT INTO settlement_item (settlement_id, seq, code, name, kind, chrgitm_lv, fee_category, qty, price, "
        "pay_std, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt) VALUES "
        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ibatch)
    con.commit()


def measure(path: Path, n_queries: int) -> None:
    db = open_db(path)
    con = sqlite3.connect(path)
    people = con.execute("SELECT psn_no, id_no, name FROM person ORDER BY random() LIMIT ?", (n_queries,)).fetchall()
    heavy = [r[0] for r in con.execute(
        "SELECT psn_no FROM settlement GROUP BY psn_no ORDER BY COUNT(*) DESC LIMIT ?", (n_queries,)).fetchall()]
    con.close()
    for _ in range(20):  # warm the page cache a little, as a clinic PC would be after start-up
        lookup.search(db, people[0][1])

    def timed(fn, args):
        out = []
        for a in args:
            t = time.perf_counter()
            fn(a)
            out.append(time.perf_counter() - t)
        return out

    print("lookup by ID number:     " + ms(timed(lambda q: lookup.search(db, q), [p[1] for p in people])))
    print("lookup by 人员编号:       " + ms(timed(lambda q: lookup.search(db, q), [p[0] for p in people])))
    print("lookup by name prefix:   " + ms(timed(lambda q: lookup.search(db, q), [p[2][:2] for p in people])))
    print("lookup by pinyin prefix: " + ms(timed(lambda q: lookup.search(db, q),
                                                 [pinyin_keys(p[2])[1][:2] for p in people])))
    print("summary (usage and caps):" + ms(timed(lambda q: lookup.summary(db, q, on=TODAY), [p[0] for p in people[:300]])))
    # residents of 141102 with the most history
    with db.read() as s:
        from sqlalchemy import select

        from desktop_app.store import models as m

        res = set(s.execute(select(m.Person.psn_no).where(m.Person.psn_no.in_(heavy), m.Person.insutype == "390",
                                                          m.Person.admdvs == "141102")).scalars())
    targets = [p for p in heavy if p in res][:300]
    hist = [len(ledger.presettle(db, _visit(targets[0]), operator="clerk").claim["history"])]
    visits = [_visit(p) for p in targets]
    print(f"pre-settle with history: {ms(timed(lambda v: ledger.presettle(db, v, operator='clerk'), visits))}"
          f" (history entries of the first: {hist[0]})")
    print("settle (durable commit): " + ms(timed(lambda v: ledger.settle(db, v, operator='clerk', today=TODAY), visits)))
    db.dispose()


def _visit(psn: str) -> ledger_types.VisitInput:
    return ledger_types.VisitInput(psn, TODAY, "general_outpatient",
                             [ledger_types.ItemInput("XJ01CAA040A001", "2"), ledger_types.ItemInput("110200005", "1"),
                              ledger_types.ItemInput("XJ01DCA030A001", "1")])


def roster_import(n: int, folder: Path) -> None:
    from openpyxl import Workbook

    rows, usage = demo.roster_rows(n, seed=321, today=TODAY)
    x = folder / f"roster_{n}.xlsx"
    t = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    for r in rows:
        ws.append(r)
    wu = wb.create_sheet("待遇累计")
    for r in usage:
        wu.append(r)
    wb.save(x)
    print(f"  wrote {x.name} ({x.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    path = folder / "roster_import.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_db(path)
    from desktop_app.services.accounts import create_first_supervisor

    create_first_supervisor(db, "admin")
    packs_service.sync_shipped(db, actor="admin")
    t = time.perf_counter()
    res = import_roster(db, x, actor="admin")
    dt = time.perf_counter() - t
    db.dispose()
    print(f"roster import of {n} rows (.xlsx, with {res.usage_rows} 待遇累计 rows): {dt:.1f} s "
          f"(inserted {res.inserted}, rejected {res.rejected}); database {path.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--settlements", type=int, default=1_000_000)
    ap.add_argument("--roster", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "clinic-bench"))
    ap.add_argument("--keep", action="store_true", help="reuse the big database if it exists")
    a = ap.parse_args()
    folder = Path(a.dir)
    folder.mkdir(parents=True, exist_ok=True)
    cpu = cpu_model()
    print(f"machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; SQLite "
          f"{sqlite3.sqlite_version}; {date.today()}")
    big = folder / f"big_{a.persons}_{a.settlements}.sqlite3"
    if not (a.keep and big.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(big) + suffix).unlink(missing_ok=True)
        print(f"building {big} …", flush=True)
        build(big, a.persons, a.settlements)
    print(f"database: {a.persons} persons, {a.settlements} settlements, {big.stat().st_size / 1e6:.0f} MB")
    measure(big, a.queries)
    if a.roster:
        roster_import(a.roster, folder)


if __name__ == "__main__":
    main()
