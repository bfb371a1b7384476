"""Killing the settling process at random moments never leaves a half-written or doubled settlement;
two processes settling for one person at once never exceed the cap."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from desktop_app.services import ledger
from desktop_app.store import models as m

WORKER = str(Path(__file__).with_name("fault_worker.py"))
ROOT = Path(__file__).resolve().parents[2]
ITERATIONS = int(os.environ.get("CLINIC_FAULT_ITERATIONS", "25"))
TODAY = date(2026, 11, 23)


def resident(db):
    with db.read() as s:
        return s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                       m.Person.category == "resident").limit(1)).scalar_one()


def spawn(db, psn, prefix, count, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, WORKER, str(db.path), psn, prefix, str(count), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def check_ledger(db) -> None:
    con = sqlite3.connect(db.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()
    with db.read() as s:
        rows = s.execute(select(m.Settlement)).scalars().all()
        tokens = [r.request_token for r in rows]
        assert len(tokens) == len(set(tokens))
        for r in rows:
            assert r.items, f"{r.setl_no} has no items"
            assert sum(i.det_item_fee_sumamt for i in r.items) == r.medfee_sumamt
            assert r.fund_pay_sumamt == r.hifp_pay + r.hifmi_pay + r.hifob_pay
            assert r.psn_part_amt == r.medfee_sumamt - r.fund_pay_sumamt
            assert r.psn_part_amt == r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay
        # every reversal mirrors its original exactly
        by_id = {r.id: r for r in rows}
        for r in rows:
            if r.kind == "reverse":
                o = by_id[r.original_id]
                assert r.medfee_sumamt == -o.medfee_sumamt and r.hifp_pay == -o.hifp_pay
        # ledger sums agree with item sums
        total = s.execute(select(func.sum(m.Settlement.medfee_sumamt))).scalar() or Decimal(0)
        items = s.execute(select(func.sum(m.SettlementItem.det_item_fee_sumamt))).scalar() or Decimal(0)
        assert total == items
    # the audit trail is whole and every settlement's figures match the entry written with it
    from desktop_app.services import audit

    r = audit.verify(db)
    assert r.ok, r.problems


def test_sigkill_at_random_moments(db):
    psn = resident(db)
    rng = random.Random(1234)
    for it in range(ITERATIONS):
        proc = spawn(db, psn, f"k{it}", 50, "--reverse-every", "3")
        time.sleep(rng.uniform(0.3, 1.2))
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate()
        tokens = [t for t in out.split() if t and t != "done"]
        check_ledger(db)
        # retrying the last request after the crash never settles twice
        if tokens and "-r" not in tokens[-1]:
            with db.read() as s:
                before = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
                existed = s.execute(select(m.Settlement.id).where(m.Settlement.request_token == tokens[-1])).first()
            v = ledger.VisitInput(psn, TODAY, "general_outpatient",
                                  [ledger.ItemInput("X1", "1", price="100.00", kind="service", chrgitm_lv="01"),
                                   ledger.ItemInput("110200005", "1")])
            rec = ledger.settle(db, v, token=tokens[-1], operator="clerk", today=TODAY)
            with db.read() as s:
                after = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
            assert rec.replayed == bool(existed)
            assert after == before + (0 if existed else 1)
    check_ledger(db)


def test_two_processes_never_exceed_the_cap(db):
    psn = resident(db)
    with db.write() as s:
        s.execute(m.UsageSnapshot.__table__.delete().where(m.UsageSnapshot.psn_no == psn))
    a = spawn(db, psn, "A", 12)
    b = spawn(db, psn, "B", 12)
    for p in (a, b):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip().endswith("done")
    with db.read() as s:
        paid = s.execute(select(func.sum(m.Settlement.hifp_pay)).where(m.Settlement.psn_no == psn)).scalar()
        n = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
    # 24 visits of 110 yuan at 60% would be 1584; the 300 cap (晋医保发〔2023〕16号 一) holds exactly
    assert n == 24 and paid == Decimal("300.00")
    check_ledger(db)
