"""One counter of the concurrency test (tests/pg/test_concurrency.py) and of bench/bench_pg.py: settle
visits for the given persons, in its own order, on the database URL; print one JSON line with what happened
(settled, refused by a rule, busy) and the latency of each settlement."""

import json
import random
import sys
import time
from datetime import date

from desktop_app.errors import Refused
from desktop_app.services import ledger, ledger_types
from desktop_app.store.db import Database, DatabaseBusy


def main(url: str, persons: list[str], rounds: int, seed: int, start_at: float, today: date) -> dict:
    db = Database(url)
    rng = random.Random(seed)
    order = [p for _ in range(rounds) for p in persons]
    rng.shuffle(order)
    out = {"settled": 0, "refused": [], "busy": 0, "latency_ms": [], "numbers": []}
    while time.time() < start_at:
        time.sleep(0.005)
    for i, psn in enumerate(order):
        visit = ledger_types.VisitInput(psn, today, "general_outpatient", [
            ledger_types.ItemInput("X1", "1", price="110.00", kind="service", chrgitm_lv="01")])
        t = time.perf_counter()
        try:
            rec = ledger.settle(db, visit, token=f"w{seed}-{i}", operator="clerk", today=today)
        except DatabaseBusy:
            out["busy"] += 1
            continue
        except Refused as exc:
            out["refused"].append(exc.code)
            continue
        out["latency_ms"].append((time.perf_counter() - t) * 1000)
        out["settled"] += 1
        out["numbers"].append(rec.setl_no)
    db.dispose()
    return out


if __name__ == "__main__":
    url, persons, rounds, seed, start_at, today = sys.argv[1:7]
    res = main(url, persons.split(","), int(rounds), int(seed), float(start_at), date.fromisoformat(today))
    print(json.dumps(res))
