"""Access paths at county size (issue #16): person search at 1,000,000 persons and the settlement number at
10,000,000 settlements, each printed beside its limit measured in the same run.

    python bench/bench_search.py [--persons 1000000] [--settlements 10000000] [--queries 1000] [--keep DIR]

- full-name / substring search: `lookup.search` (exact name, prefix, then "contains" through the FTS5
  trigram index) against the raw FTS5 trigram query for the same hits; the old LIKE scan for reference;
- pinyin initials: `lookup.search` against the raw indexed query (keys in order, then the persons);
- the settlement number: `ledger._next_setl_no` for the first settlement of a day (no number yet that day)
  and for a later one (1,000 numbers that day), against the LIKE form it replaced.

The database is filled with raw sqlite3 (persons, their pinyin keys; settlements with narrow filler columns:
only the number index matters here), under /tmp, and deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import platform
import random
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

from desktop_app.services import demo, ledger, lookup
from desktop_app.services.roster import pinyin_keys
from desktop_app.store import search as name_search
from desktop_app.store.db import open_db

COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐")
CLINIC = "H14110200031"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def line(label, project, limit, goal_ms=None):
    """project and limit: lists of (wall, cpu) seconds. The goal is checked on CPU time as well as wall time:
    on a shared machine under load the wall time of a call mostly measures how long it waited for a core."""
    def stats(xs, k):
        v = [x[k] for x in xs]
        return statistics.median(v) * 1000, pct(v, 95) * 1000
    out = []
    for k, what in ((1, "cpu"), (0, "wall")):
        p50, p95 = stats(project, k)
        l50, l95 = stats(limit, k)
        goal = f", goal p95 <= {goal_ms} ms {'MET' if p95 <= goal_ms else 'NOT MET'}" if goal_ms else ""
        out.append(f"{what}: project p50 {p50:.3f} / p95 {p95:.3f} ms, limit p50 {l50:.3f} / p95 {l95:.3f} ms, "
                   f"ratio p95 {p95 / l95:.1f}x{goal}")
    print(f"{label} (n={len(project)})\n    " + "\n    ".join(out), flush=True)


def fill_persons(path: Path, n: int) -> None:
    t0 = time.perf_counter()
    open_db(path).dispose()  # the program's schema (migrations, FTS index and its triggers)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # bulk fill only; measurements use the program's settings
    rng = random.Random(99)
    now = datetime(2026, 11, 23).isoformat(sep=" ")
    keys_of: dict[str, list[str]] = {}
    persons, keys = [], []
    for i in range(n):
        name = demo._name(rng)
        if rng.random() < 0.03:
            name = rng.choice(COMPOUND) + name[1:]
        psn = f"141102{i:08d}"
        idn = f"14{i:012d}{rng.randrange(10000):04d}"  # unique, 18 characters (not a valid ID: search only)
        persons.append((psn, idn, name, "男", "1980-01-01", "390", "resident", "141102", "2025-12-01", "集中", 0, "", 0,
                        "2026-01-01", now))
        ks = keys_of.get(name)
        if ks is None:
            ks = keys_of[name] = pinyin_keys(name)
        keys.extend((psn, k) for k in ks)
        if len(persons) >= 50000:
            _flush(con, persons, keys)
            persons, keys = [], []
    _flush(con, persons, keys)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    print(f"  persons: {n} in {time.perf_counter() - t0:.1f} s", flush=True)


def _flush(con, persons, keys):
    con.executemany(
        "INSERT INTO person (psn_no, id_no, name, gender, birth_date, insutype, category, admdvs, paid_on, "
        "pay_period, waiting_exempt, family_doctor_at, acct_balance, as_of, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", persons)
    con.executemany("INSERT OR IGNORE INTO person_key (psn_no, key) VALUES (?, ?)", keys)
    con.commit()


def fill_settlements(path: Path, n: int, busy_day: date) -> None:
    """n settlements over three years of days (numbers `H…-YYYYMMDD-NNNN`), 1,000 of them on busy_day."""
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA foreign_keys=OFF")
    first = date(2024, 1, 1)
    n_days = 1000
    per_day = max(1, (n - 1000) // n_days)
    rows, sid = [], 0

    def add(day, seq):
        nonlocal sid
        sid += 1
        rows.append((sid, f"{CLINIC}-{day:%Y%m%d}-{seq:04d}", f"t{sid}", "14110200000000", day.isoformat()))

    for d in range(n_days):
        day = first + timedelta(days=d)
        if day == busy_day:
            continue
        for seq in range(1, per_day + 1):
            add(day, seq)
        if len(rows) >= 200000:
            _flush_settlements(con, rows)
            rows = []
    for seq in range(1, 1001):
        add(busy_day, seq)
    _flush_settlements(con, rows)
    con.close()
    print(f"  settlements: {sid} in {time.perf_counter() - t0:.1f} s", flush=True)


def _flush_settlements(con, rows):
    con.executemany(
        "INSERT INTO settlement (id, setl_no, request_token, kind, psn_no, business_date, visit_date, benefit, "
        "disease, institution, insutype, admdvs, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, "
        "preselfpay_amt, inscp_scp_amt, act_pay_dedc, pool_prop_selfpay, hifp_pay, hifmi_pay, hifob_pay, "
        "fund_pay_sumamt, psn_part_amt, acct_pay, acct_mulaid_pay, psn_cash_pay, claim_json, result_json, packs, "
        "receipt_json, operator, reason, created_at) VALUES (?,?,?,'settle',?,?,?,'general_outpatient','',"
        "'H14110200031','390','141102',0,0,0,0,0,0,'0',0,0,0,0,0,0,0,0,'','','','{}','clerk','','2026-01-01')",
        [(i, no, tok, psn, day, day) for i, no, tok, psn, day in rows])
    con.commit()


def timed(fn, args):
    out = []
    for a in args:
        t, c = time.perf_counter(), time.process_time()
        fn(a)
        out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def interleaved(project, limit, args):
    """project and limit one after the other on each argument (load changes hit both alike)."""
    a, b = [], []
    for x in args:
        a += timed(project, [x])
        b += timed(limit, [x])
    return a, b


def measure_search(path: Path, n_queries: int) -> None:
    db = open_db(path)
    con = sqlite3.connect(path)
    rng = random.Random(7)
    names = [r[0] for r in con.execute("SELECT name FROM person ORDER BY random() LIMIT ?", (n_queries,))]
    long_names = [r[0] for r in con.execute("SELECT name FROM person WHERE length(name) >= 4 ORDER BY random() "
                                            "LIMIT ?", (n_queries,))]
    subs = [n[i:i + rng.choice((3, 3, 4))] for n in long_names for i in [rng.randrange(0, len(n) - 2)]]
    short = [n[1:] if len(n) == 3 else n[-1] for n in names]  # given names (1–2 characters)
    hit_cols = "p.psn_no, p.name, p.id_no, p.gender, p.birth_date, p.insutype, p.admdvs"

    def raw_fts(q):
        con.execute(f"SELECT {hit_cols} FROM person_fts f JOIN person p ON p.rowid = f.rowid "
                    "WHERE person_fts MATCH ? AND p.name LIKE ? ORDER BY f.rowid LIMIT 50",
                    (name_search.fts_query(q), f"%{q}%")).fetchall()

    def raw_like(q):
        con.execute(f"SELECT {hit_cols} FROM person p WHERE p.name LIKE ? LIMIT 50", (f"%{q}%",)).fetchall()

    def raw_pinyin(q):
        psns = [r[0] for r in con.execute("SELECT psn_no FROM person_key WHERE key >= ? AND key < ? "
                                          "ORDER BY key, psn_no LIMIT 150", (q, q + "\U0010ffff"))]
        psns = list(dict.fromkeys(psns))[:50]
        con.execute(f"SELECT {hit_cols} FROM person p WHERE psn_no IN ({','.join('?' * len(psns))})",
                    psns).fetchall()

    search = lambda q: lookup.search(db, q)  # noqa: E731
    full = [n for n in names if len(n) >= 3]
    for q in full[:20]:
        search(q)
        raw_fts(q)
    line("full-name search (3+ characters)", *interleaved(search, raw_fts, full), goal_ms=3)
    line("substring search (3-4 characters)", *interleaved(search, raw_fts, subs), goal_ms=3)
    line("given name (1-2 characters: LIKE, stops at the 50th)", *interleaved(search, raw_like, short))
    initials = [pinyin_keys(n)[1][:rng.choice((2, 3))] for n in names]
    line("pinyin initials (2-3 letters)", *interleaved(search, raw_pinyin, initials), goal_ms=3)
    old = timed(raw_like, full[:30])
    cpu = [c for _w, c in old]
    print(f"  (before: LIKE '%q%' scan for the same full names, cpu: p50 {statistics.median(cpu) * 1000:.1f} ms, "
          f"p95 {pct(cpu, 95) * 1000:.1f} ms, n={len(old)})", flush=True)
    con.close()
    db.dispose()


def measure_number(path: Path, busy_day: date, n: int = 200) -> None:
    db = open_db(path)
    con = sqlite3.connect(path)
    empty_days = [date(2030, 1, 1) + timedelta(days=i) for i in range(n)]

    def number(day):
        with db.read() as s:
            ledger._next_setl_no(s, CLINIC, day)

    def like(day):
        con.execute("SELECT max(setl_no) FROM settlement WHERE setl_no LIKE ?", (f"{CLINIC}-{day:%Y%m%d}-%",)).fetchone()

    first, later = [], []
    for d in empty_days:
        first += timed(number, [d])
        later += timed(number, [busy_day])
    with db.read() as s:
        assert ledger._next_setl_no(s, CLINIC, busy_day).endswith("-1001")
        assert ledger._next_setl_no(s, CLINIC, empty_days[0]).endswith("-0001")
    line("settlement number, first of the day (limit: a later one)", first, later)
    old = timed(like, empty_days[:5])
    cpu = [c for _w, c in old]
    print(f"  (before: LIKE, first of the day, cpu: p50 {statistics.median(cpu) * 1000:.1f} ms, n={len(old)})",
          flush=True)
    con.close()
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--settlements", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the database in this folder")
    a = ap.parse_args()
    print(f"machine: {cpu_model()}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
          f"{datetime.now():%Y-%m-%d %H:%M}", flush=True)
    folder = a.keep or Path(tempfile.mkdtemp(prefix="bench-search-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"search_{a.persons}_{a.settlements}.sqlite3"
    busy_day = date(2025, 6, 2)
    try:
        if not path.exists():
            fill_persons(path, a.persons)
            fill_settlements(path, a.settlements, busy_day)
        print(f"database: {a.persons} persons, {a.settlements} settlements, "
              f"{path.stat().st_size / 1e6:.0f} MB", flush=True)
        measure_search(path, a.queries)
        measure_number(path, busy_day)
    finally:
        if a.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
