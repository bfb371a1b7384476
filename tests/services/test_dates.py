"""The date and day-close rules of the ledger (issue #12 items 5 and 9), enforced in services/visit_rules.py and services/days.py
whatever the caller: no visit in the future; a visit of an earlier calendar year only by a supervisor
with a reason (stored and audited); day close of today or an earlier unclosed day with settlements,
never a future day; a supervisor reopens a day closed by mistake when it holds no settlements."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from desktop_app.errors import Refused
from desktop_app.services import audit, days, ledger, ledger_types, visit_rules
from desktop_app.store import models as m
from tests.services.test_ledger import TODAY, I, V, resident

pytestmark = pytest.mark.both_backends  # the same tests on SQLite and on PostgreSQL (tests/conftest.py)


def visit(psn, day=TODAY, price="100.00", qty="1", reason=""):
    return V(psn, day, "general_outpatient", [I("X1", qty, price=price, kind="service", chrgitm_lv="01")],
             reason=reason)


def count(db, model=m.Settlement):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# ------------------------------------------------------------------ visit date
def test_a_visit_after_today_is_refused_by_presettle_and_settle(db):
    p = resident(db)
    tomorrow = TODAY + timedelta(days=1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.presettle(db, visit(p.psn_no, tomorrow), operator="clerk", today=TODAY)
    assert exc.value.field == "visit_date" and "就诊日期" in exc.value.message and "晚于今天" in exc.value.message
    for login in ("clerk", "admin"):
        with pytest.raises(ledger_types.LedgerError) as exc:
            ledger.settle(db, visit(p.psn_no, tomorrow), operator=login, today=TODAY)
        assert exc.value.field == "visit_date" and exc.value.code == "invalid_input"
    assert count(db) == 0
    # today itself and an earlier day of the same year are fine
    assert ledger.settle(db, visit(p.psn_no, TODAY), operator="clerk", today=TODAY).visit_date == TODAY
    assert ledger.settle(db, visit(p.psn_no, date(2026, 1, 2)), operator="clerk", today=TODAY).visit_date \
        == date(2026, 1, 2)


def test_a_visit_of_an_earlier_year_needs_a_supervisor_and_a_reason(db):
    p = resident(db)
    last_year = date(2025, 12, 30)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p.psn_no, last_year, reason="补录"), operator="clerk", today=TODAY)
    assert exc.value.code == "supervisor_required" and exc.value.field == "visit_date"
    assert "往年" in exc.value.message and "管理员" in exc.value.message
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p.psn_no, last_year, reason="  "), operator="admin", today=TODAY)
    assert exc.value.field == "reason" and "原因" in exc.value.message
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p.psn_no, last_year, reason="长" * 201), operator="admin", today=TODAY)
    assert exc.value.field == "reason" and "200" in exc.value.message
    assert count(db) == 0
    rec = ledger.settle(db, visit(p.psn_no, last_year, reason="断网补录 2025 年 12 月 30 日就诊"), operator="admin",
                        today=TODAY)
    assert rec.visit_date == last_year and rec.reason == "断网补录 2025 年 12 月 30 日就诊"
    with db.read() as s:
        assert s.execute(select(m.Settlement.reason).where(m.Settlement.setl_no == rec.setl_no)).scalar_one() == \
            "断网补录 2025 年 12 月 30 日就诊"
    entry = next(e for e in audit.recent(db, 10, actor="admin") if e.action == "settle" and e.subject == rec.setl_no)
    assert entry.detail["visit_date"] == "2025-12-30" and entry.detail["reason"] == "断网补录 2025 年 12 月 30 日就诊"
    assert audit.verify(db, actor="admin").ok


def test_check_visit_date_is_the_one_rule_the_window_asks_too():
    visit_rules.check_visit_date(TODAY, today=TODAY, role="clerk")
    with pytest.raises(ledger_types.LedgerError, match="晚于今天"):
        visit_rules.check_visit_date(TODAY + timedelta(days=1), today=TODAY)
    with pytest.raises(ledger_types.LedgerError, match="管理员"):
        visit_rules.check_visit_date(date(2025, 6, 1), today=TODAY, role="clerk", reason="x")
    visit_rules.check_visit_date(date(2025, 6, 1), today=TODAY, role="supervisor", reason="补录")
    # the year is what counts: 1 January is not "an earlier year" than 31 December of the same year
    visit_rules.check_visit_date(date(2026, 1, 1), today=date(2026, 12, 31), role="clerk")


# ------------------------------------------------------------------ day close
def test_day_close_of_a_future_day_is_refused(db):
    with pytest.raises(ledger_types.LedgerError) as exc:
        days.day_close(db, operator="admin", day=TODAY + timedelta(days=1), today=TODAY)
    assert exc.value.field == "date" and "未来" in exc.value.message
    assert count(db, m.DayClose) == 0


def test_an_earlier_day_is_closed_only_when_it_has_settlements(db):
    p = resident(db)
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        days.day_close(db, operator="clerk", day=yesterday - timedelta(days=1), today=TODAY)
    assert exc.value.field == "date" and "没有结算" in exc.value.message
    ledger.settle(db, visit(p.psn_no, yesterday), operator="clerk", today=yesterday)
    dc = days.day_close(db, operator="clerk", day=yesterday, today=TODAY)
    assert dc.business_date == yesterday and dc.count == 1
    with pytest.raises(ledger_types.LedgerError, match="已经日结"):
        days.day_close(db, operator="clerk", day=yesterday, today=TODAY)
    # today may be closed empty (the clinic saw nobody)
    assert days.day_close(db, operator="clerk", day=TODAY, today=TODAY).count == 0


def test_a_supervisor_reopens_a_day_closed_by_mistake_when_it_has_no_settlements(db):
    p = resident(db)
    days.day_close(db, operator="clerk", day=TODAY, today=TODAY)  # closed at opening time, by mistake
    with pytest.raises(ledger_types.LedgerError, match="已日结"):
        ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    with pytest.raises(ledger_types.LedgerError) as exc:
        days.reopen_day(db, operator="clerk", day=TODAY, reason="误点日结")
    assert exc.value.code == "supervisor_required" and exc.value.field == "operator"
    with pytest.raises(ledger_types.LedgerError) as exc:
        days.reopen_day(db, operator="admin", day=TODAY - timedelta(days=3), reason="误点日结")
    assert exc.value.code == "not_closed"
    days.reopen_day(db, operator="admin", day=TODAY, reason="误点日结")
    assert count(db, m.DayClose) == 0
    entry = audit.recent(db, 1, actor="admin")[0]
    assert (entry.actor, entry.action, entry.subject) == ("admin", "day_reopen", TODAY.isoformat())
    assert entry.detail["reason"] == "误点日结" and entry.detail["closed_by"] == "clerk"
    assert audit.verify(db, actor="admin").ok
    # the day is open again: settle, then close it for real — and now it cannot be reopened
    ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    days.day_close(db, operator="clerk", day=TODAY, today=TODAY)
    with pytest.raises(ledger_types.LedgerError) as exc:
        days.reopen_day(db, operator="admin", day=TODAY, reason="想再结一笔")
    assert exc.value.code == "day_has_settlements" and "1 笔" in exc.value.message
    assert count(db, m.DayClose) == 1


def test_a_reversal_of_a_settlement_whose_day_is_closed_is_refused(db):
    """#19: the same day after the close nobody reverses (clerk: supervisor needed; supervisor: day closed);
    the next day only a supervisor does. Nothing is written by a refusal."""
    p = resident(db)
    a = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    days.day_close(db, operator="clerk", day=TODAY, today=TODAY)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, a.setl_no, reason="退费", operator="clerk", today=TODAY)
    assert exc.value.code == "supervisor_required"
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, a.setl_no, reason="退费", operator="admin", today=TODAY)
    assert exc.value.code == "day_closed"
    nxt = TODAY + timedelta(days=1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, a.setl_no, reason="次日退费", operator="clerk", today=nxt)
    assert exc.value.code == "supervisor_required"
    assert count(db) == 1
    with db.read() as s:
        assert s.get(m.Person, p.psn_no).acct_balance == p.acct_balance
    assert ledger.reverse(db, a.setl_no, reason="次日退费", operator="admin", today=nxt).kind == "reverse"


def test_reversal_reason_is_at_most_200_characters(db):
    p = resident(db)
    a = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, a.setl_no, reason="退" * 201, operator="clerk", today=TODAY)
    assert exc.value.field == "reason" and "200" in exc.value.message
    assert ledger.reverse(db, a.setl_no, reason="退" * 200, operator="clerk", today=TODAY).reason == "退" * 200


def test_day_summary_for_the_close_confirmation(db):
    p = resident(db)
    ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    b = ledger.settle(db, visit(p.psn_no, price="50.00"), operator="clerk", today=TODAY)
    ledger.reverse(db, b.setl_no, reason="录入错误", operator="clerk", today=TODAY)
    sm = days.day_summary(db, TODAY)
    assert (sm.settlements, sm.reversals, sm.closed) == (2, 1, None)
    assert sm.totals["medfee_sumamt"] == "100.00" and Decimal(sm.totals["psn_cash_pay"]) > 0
    days.day_close(db, operator="clerk", day=TODAY, today=TODAY)
    closed = days.day_summary(db, TODAY).closed
    assert closed is not None and closed.operator == "clerk" and closed.count == 3


# ------------------------------------------------------------------ bounds (#13.8)
def test_quantity_and_line_amount_have_maxima_from_the_settings(db):
    from desktop_app.services import settings

    p = resident(db)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.presettle(db, visit(p.psn_no, qty="1000", price="1.00"), operator="clerk", today=TODAY)
    assert exc.value.field == "items[0].qty" and "数量" in exc.value.message and "999" in exc.value.message
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p.psn_no, qty="2", price="50000.00"), operator="clerk", today=TODAY)
    assert exc.value.field == "items[0].price" and "金额" in exc.value.message and "99999.99" in exc.value.message
    assert count(db) == 0
    ledger.settle(db, visit(p.psn_no, qty="999", price="100.00"), operator="clerk", today=TODAY)
    settings.save(db, {"max_qty": "2000", "max_line_amount": "200000.00"}, actor="admin")
    ledger.presettle(db, visit(p.psn_no, qty="1500", price="100.00"), operator="clerk", today=TODAY)
    with pytest.raises(Refused, match="数量上限"):
        settings.save(db, {"max_qty": "abc"}, actor="admin")
    with pytest.raises(Refused, match="单行金额上限"):
        settings.save(db, {"max_line_amount": "-1"}, actor="admin")
