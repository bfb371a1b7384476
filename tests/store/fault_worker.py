"""Worker process for the fault and race tests: settles (and reverses) in a loop.

usage: python fault_worker.py DB PSN_NO TOKEN_PREFIX COUNT [--reverse-every N]
Prints each token on stdout *before* the call that uses it, so the parent knows
which requests may have been cut off by a SIGKILL.
"""

import sys
from datetime import date

from desktop_app.services import ledger
from desktop_app.store.db import open_db

TODAY = date(2026, 11, 23)


def main() -> None:
    db_path, psn, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rev_every = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--reverse-every" else 0
    db = open_db(db_path, migrate=False)
    v = ledger.VisitInput(psn, TODAY, "general_outpatient",
                          [ledger.ItemInput("X1", "1", price="100.00", kind="service", chrgitm_lv="01"),
                           ledger.ItemInput("110200005", "1")])
    last = None
    for i in range(count):
        token = f"{prefix}-{i}"
        print(token, flush=True)
        rec = ledger.settle(db, v, token=token, operator="clerk", today=TODAY)
        if rev_every and i % rev_every == rev_every - 1 and last is not None:
            rtoken = f"{prefix}-r{i}"
            print(rtoken, flush=True)
            ledger.reverse(db, last, reason="测试冲正", operator="clerk", token=rtoken, today=TODAY)
        last = rec.setl_no
    print("done", flush=True)


if __name__ == "__main__":
    main()
