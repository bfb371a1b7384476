"""Settlement numbers come from `setl_counter` (one upsert, no scan): consecutive per clinic and day, and right
after upgrading a database made by the previous version (the migration seeds the counter from the numbers given)."""

from datetime import date

import pytest
from sqlalchemy import select, text

from desktop_app.services import ledger, ledger_types
from desktop_app.store import models as m

pytestmark = pytest.mark.both_backends
TODAY = date(2026, 11, 23)


def _visit(db):
    with db.read() as s:
        psn = s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390").order_by(m.Person.psn_no)
                        .limit(1)).scalar_one()
    return ledger_types.VisitInput(psn, TODAY, "general_outpatient", [
        ledger_types.ItemInput("X1", "1", price="10.00", kind="service", chrgitm_lv="01")])


def _counter(db):
    with db.read() as s:
        return dict(s.execute(select(m.SetlCounter.prefix, m.SetlCounter.last)).all())


def test_numbers_are_consecutive_and_the_counter_holds_the_last(db):
    nos = [ledger.settle(db, _visit(db), operator="clerk", today=TODAY).setl_no for _ in range(3)]
    assert nos == [f"H14110200031-20261123-{i:04d}" for i in (1, 2, 3)]
    rv = ledger.reverse(db, nos[0], reason="录入错误", operator="clerk", today=TODAY)
    assert rv.setl_no == "H14110200031-20261123-0004"
    assert _counter(db) == {"H14110200031-20261123-": 4}


def test_after_the_upgrade_the_next_number_follows_those_already_given(db):
    from alembic import command

    for _ in range(2):
        ledger.settle(db, _visit(db), operator="clerk", today=TODAY)
    cfg = db._alembic_config()
    with db.write_engine.connect() as conn:  # back to the previous version's schema (no counter table) …
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")  # the revision before 0008 (setl_counter)
        conn.commit()
    db.upgrade()  # … and up again, as `init` or the start-up does
    assert _counter(db) == {"H14110200031-20261123-": 2}
    assert ledger.settle(db, _visit(db), operator="clerk", today=TODAY).setl_no == "H14110200031-20261123-0003"


def test_a_day_whose_numbers_were_written_without_the_counter_still_continues_them(db):
    for _ in range(2):
        ledger.settle(db, _visit(db), operator="clerk", today=TODAY)
    with db.write() as s:
        s.execute(text("DELETE FROM setl_counter"))
    assert ledger.settle(db, _visit(db), operator="clerk", today=TODAY).setl_no == "H14110200031-20261123-0003"
