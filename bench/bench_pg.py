"""Several counters on PostgreSQL, and the county centre (issue #17) — prints figures for docs/benchmarks.md.

    python bench/bench_pg.py [--counters 8] [--per-counter 100] [--county 300000] [--clinics 30]

Starts a throwaway PostgreSQL cluster (tests/pgcluster.py) with fsync and synchronous_commit ON (a settlement
is durable when it returns, as SQLite's synchronous=FULL), then measures, in the same run:

1. `--counters` processes settling at once on one PostgreSQL database (distinct persons mostly, 500 in the
   roster): total settlements/s over the wall time and p50/p95 latency of each settlement;
2. one counter on a SQLite file (the same demo clinic): settlements/s and p50/p95;
3. the county: `--county` settlements of `--clinics` clinics written as export files (JSON Lines + manifest),
   then `county ingest` (rows/s), `county report` for one month and `county overruns` for the year (seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.services import accounts, county, county_reports, demo
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.pgcluster import Cluster, find_bin

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 23)
WORKER = str(ROOT / "tests" / "pg" / "settle_worker.py")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def residents(db, n: int) -> list[str]:
    from sqlalchemy import select

    with db.read() as s:
        return list(s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                              .order_by(m.Person.psn_no).limit(n)).scalars())


def counters(url: str, persons: list[str], n: int, per: int) -> dict:
    """`n` processes, each settling `per` visits over its own slice of the persons (a few shared)."""
    start_at = time.time() + 4
    chunk = max(1, len(persons) // n)
    procs = []
    for i in range(n):
        mine = persons[i * chunk:(i + 1) * chunk] or persons
        rounds = max(1, -(-per // len(mine)))
        procs.append(subprocess.Popen([sys.executable, WORKER, url, ",".join(mine), str(rounds), str(100 + i),
                                       str(start_at), TODAY.isoformat()], stdout=subprocess.PIPE, text=True, cwd=ROOT))
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.time() - start_at
    lat = [x for r in results for x in r["latency_ms"]]
    done = sum(r["settled"] for r in results)
    return {"counters": n, "settled": done, "busy": sum(r["busy"] for r in results),
            "refused": sum(len(r["refused"]) for r in results), "wall_s": round(wall, 2),
            "per_s": round(done / wall, 1), "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(pct(lat, 95), 1)}


def write_exports(folder: Path, persons: list[str], total: int, clinics: int, year: int) -> list[Path]:
    """Synthetic clinic exports (the format `clinic-settle export` writes; the manifest names the JSONL only)."""
    rng = random.Random(7)
    out = []
    per = total // clinics
    for c in range(clinics):
        code = f"H1411020{c:04d}"
        d = folder / code
        d.mkdir(parents=True)
        lines, sums, seq = [], dict.fromkeys(MONEY_FIELDS, Decimal("0.00")), {}
        for i in range(per):
            day = date(year, 1, 1) + timedelta(days=(i * 331) // per)
            seq[day] = seq.get(day, 0) + 1
            fee = (Decimal(rng.randrange(1000, 20000)) / 100).quantize(Decimal("0.01"))
            fund = (fee * Decimal("0.6")).quantize(Decimal("0.01"))
            amounts = dict.fromkeys(MONEY_FIELDS, Decimal("0.00")) | {
                "medfee_sumamt": fee, "inscp_scp_amt": fee, "hifp_pay": fund, "fund_pay_sumamt": fund,
                "psn_part_amt": fee - fund, "psn_cash_pay": fee - fund}
            for f in MONEY_FIELDS:
                sums[f] += amounts[f]
            obj = {"format": 1, "setl_no": f"{code}-{day:%Y%m%d}-{seq[day]:04d}", "kind": "settle",
                   "original_setl_no": None, "created_at": f"{day.isoformat()}T10:00:00",
                   "business_date": day.isoformat(), "visit_date": day.isoformat(), "fixmedins_code": code,
                   "psn_no": persons[rng.randrange(len(persons))], "psn_name": "某某", "insutype": "390",
                   "benefit": "general_outpatient", "disease": None, "operator": "clerk", "reason": None,
                   "pool_prop_selfpay": "0.6000", **{f: str(v) for f, v in amounts.items()}, "packs": []}
            lines.append(json.dumps(obj, ensure_ascii=False, sort_keys=True))
        jl = d / f"settlements_{year}0101_{year}1231.jsonl"
        jl.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        data = jl.read_bytes()
        man = {"format": 1, "fixmedins_code": code, "fixmedins_name": f"卫生室{c}",
               "period": {"from": f"{year}-01-01", "to": f"{year}-12-31"},
               "count": {"settle": per, "reverse": 0, "rows": per}, "sums": {f: str(v) for f, v in sums.items()},
               "files": [{"name": jl.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": per}]}
        (d / f"manifest_{year}0101_{year}1231.json").write_text(json.dumps(man, ensure_ascii=False), encoding="utf-8")
        out.append(d)
    return out


def county_bench(cluster: Cluster, total: int, clinics: int, tmp: Path) -> dict:
    url = cluster.create_db("county")
    db = open_db(url)
    demo.create_demo(db, persons=2000, today=TODAY)
    persons = residents(db, 2000)
    t = time.perf_counter()
    folders = write_exports(tmp / "exports", persons, total, clinics, TODAY.year)
    gen = time.perf_counter() - t
    t = time.perf_counter()
    res = county.ingest(db, folders, actor=accounts.authenticate(db, "admin", "admin123").login)
    ingest = time.perf_counter() - t
    rows = sum(r.added for r in res)
    assert all(r.status == "ingested" for r in res), [r.problems for r in res if r.problems][:1]
    t = time.perf_counter()
    month = county_reports.month_report(db, TODAY.year, 6)
    report = time.perf_counter() - t
    t = time.perf_counter()
    ov = county_reports.overruns(db, TODAY.year)
    overruns = time.perf_counter() - t
    t = time.perf_counter()
    again = county.ingest(db, folders[:1], actor="admin")
    dup = time.perf_counter() - t
    db.dispose()
    return {"settlements": rows, "clinics": clinics, "generate_s": round(gen, 1), "ingest_s": round(ingest, 1),
            "ingest_per_s": round(rows / ingest), "report_month_s": round(report, 2), "report_rows": len(month),
            "overruns_year_s": round(overruns, 2), "overruns": len(ov.overruns),
            "duplicate_export_s": round(dup, 2), "duplicate_status": again[0].status}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counters", type=int, default=8)
    ap.add_argument("--per-counter", type=int, default=100)
    ap.add_argument("--county", type=int, default=300_000)
    ap.add_argument("--clinics", type=int, default=30)
    ap.add_argument("--only", choices=("counters", "county"), help="run one part only")
    args = ap.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} (other engineers' work shares the cores)", flush=True)
    bindir = find_bin()
    if bindir is None:
        sys.exit("PostgreSQL 未安装（apt-get install postgresql）")
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: the cluster still stops (finally)
    cluster = Cluster(bindir, fsync=True).start()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        if args.only != "county":
            run_counters(cluster, args, tmp)
        if args.only != "counters":
            print("county", json.dumps(county_bench(cluster, args.county, args.clinics, tmp)), flush=True)
        print(f"done {datetime.now():%Y-%m-%d %H:%M}, load average {os.getloadavg()[0]:.1f}")
    finally:
        cluster.stop()


def run_counters(cluster: Cluster, args, tmp: Path) -> None:
    url = cluster.create_db("template_demo")
    db = open_db(url)
    demo.create_demo(db, persons=500, today=TODAY)
    persons = residents(db, 500)
    db.dispose()
    pg = counters(cluster.create_db("counters", template="template_demo"), persons, args.counters,
                  args.per_counter)
    print("postgresql", json.dumps(pg), flush=True)
    lite_path = tmp / "clinic.sqlite3"
    lite = open_db(lite_path)
    demo.create_demo(lite, persons=500, today=TODAY)
    lite.dispose()
    sq = counters(str(lite_path), persons, 1, args.per_counter * 2)
    print("sqlite 1 counter", json.dumps(sq), flush=True)


if __name__ == "__main__":
    main()
