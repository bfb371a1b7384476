"""Several counters on one PostgreSQL database at once, as a township centre runs them: 8 processes settle for
the same 20 persons — no cap is overrun, no settlement number is given twice, every settlement is in the audit
chain in one order and `audit verify` passes."""

import json
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from desktop_app.services import audit, ledger, ledger_types
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.conftest import TODAY

WORKER = str(Path(__file__).with_name("settle_worker.py"))
ROOT = Path(__file__).resolve().parents[2]
CAP = Decimal("300.00")  # the resident general-outpatient annual cap of the demo packs (晋医保发〔2023〕16号 一)


def residents(db, n):
    """Residents of 141102 with nothing used this year by the centre's figures (no 待遇累计 rows)."""
    used = select(m.UsageSnapshot.psn_no)
    with db.read() as s:
        return list(s.execute(select(m.Person.psn_no).where(
            m.Person.insutype == "390", m.Person.admdvs == "141102", m.Person.category == "resident",
            m.Person.psn_no.not_in(used)).order_by(m.Person.psn_no).limit(n)).scalars())


def start_counters(url, persons, n=8, rounds=3):
    start_at = time.time() + 3  # every process connected and waiting, then all at once
    procs = [subprocess.Popen([sys.executable, WORKER, url, ",".join(persons), str(rounds), str(seed), str(start_at),
                               TODAY.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for seed in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def visit(psn):
    return ledger_types.VisitInput(psn, TODAY, "general_outpatient", [
        ledger_types.ItemInput("X1", "1", price="110.00", kind="service", chrgitm_lv="01")])


def test_eight_counters_settling_the_same_twenty_persons_never_overrun_a_cap(pg_cluster, pg_template):
    url = pg_cluster.create_db("conc8", template=pg_template)
    db = open_db(url)
    persons = residents(db, 20)
    assert len(persons) == 20
    results = start_counters(url, persons, n=8, rounds=2)
    assert sum(r["busy"] for r in results) == 0 and not any(r["refused"] for r in results)
    numbers = [n for r in results for n in r["numbers"]]
    assert len(numbers) == sum(r["settled"] for r in results) == 8 * 2 * 20
    with db.read() as s:
        paid = dict(s.execute(select(m.Settlement.psn_no, func.sum(m.Settlement.hifp_pay))
                              .group_by(m.Settlement.psn_no)).all())
        stored = list(s.execute(select(m.Settlement.setl_no)).scalars())
        balances = list(s.execute(select(m.Person.acct_balance).where(m.Person.psn_no.in_(persons))).scalars())
        settles = s.execute(select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "settle")).scalar()
    # 16 visits of 110 yuan each at 60% would be 1056 a person: the 300 cap holds exactly, for every one of them
    assert {p: paid[p] for p in persons} == dict.fromkeys(persons, CAP)
    assert len(stored) == len(set(stored)) == len(numbers) and sorted(stored) == sorted(numbers)
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in stored)
    assert seqs == list(range(1, len(stored) + 1))  # consecutive: none skipped, none twice
    assert all(b >= 0 for b in balances)
    assert settles == len(stored)
    res = audit.verify(db, actor="admin")
    assert res.ok, res.problems[:3]
    db.dispose()
    pg_cluster.drop_db("conc8")


def test_two_counters_spending_the_last_of_the_cap_pay_exactly_that_between_them(pg_cluster, pg_template):
    url = pg_cluster.create_db("last102", template=pg_template)
    db = open_db(url)
    psn = residents(db, 1)[0]
    for _ in range(3):  # 3 × 66 = 198 of the 300: 102 left
        ledger.settle(db, visit(psn), operator="clerk", today=TODAY)
    results = start_counters(url, [psn], n=2, rounds=1)
    assert [r["settled"] for r in results] == [1, 1]
    with db.read() as s:
        pays = list(s.execute(select(m.Settlement.hifp_pay).where(m.Settlement.psn_no == psn)
                              .order_by(m.Settlement.id)).scalars())
    assert pays[3:] == [Decimal("66.00"), Decimal("36.00")] and sum(pays) == CAP
    assert audit.verify(db, actor="admin").ok
    db.dispose()
    pg_cluster.drop_db("last102")


def test_a_token_retried_at_once_on_another_counter_settles_once(pg_url):
    """The same request token sent by two processes at the same moment (a retry after a timeout) gives one
    settlement; the second gets the first's record back."""
    from desktop_app.services import demo

    db = open_db(pg_url)
    demo.create_demo(db, persons=20, today=TODAY)
    psn = residents(db, 1)[0]
    code = (f"import sys, json; from datetime import date; sys.path.insert(0, {str(ROOT)!r});"
            "from desktop_app.services import ledger, ledger_types as t; from desktop_app.store.db import Database;"
            f"v = t.VisitInput({psn!r}, date.fromisoformat({TODAY.isoformat()!r}), 'general_outpatient',"
            "[t.ItemInput('X1', '1', price='50.00', kind='service', chrgitm_lv='01')]);"
            f"r = ledger.settle(Database({pg_url!r}), v, token='same-token', operator='clerk', today=v.date);"
            "print(json.dumps([r.setl_no, r.replayed]))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert len({no for no, _ in outs}) == 1 and Counter(rep for _, rep in outs) == Counter({True: 3, False: 1})
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.Settlement)).scalar() == 1
    assert audit.verify(db, actor="admin").ok
    assert ledger.get(db, outs[0][0]).kind == "settle" and ledger_types  # the record is whole
    db.dispose()
