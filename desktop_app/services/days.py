"""Day close (日结) and the day's records: close, reopen (supervisor), totals and summary, the day's
list; and the operator and closed-day checks that settle and reverse share. Day close only stamps
the day's records with its id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update

from desktop_app.core.model import (
    MONEY_FIELDS,
    benefit_label,
    insutype_label,
)
from desktop_app.services import audit
from desktop_app.services.ledger_types import DayCloseRecord, LedgerError, SettlementRecord
from desktop_app.services.visit_rules import check_reason
from desktop_app.store import models as m
from desktop_app.store.db import Database, lock


def is_closed(s, day: date) -> bool:
    return s.execute(select(m.DayClose.id).where(m.DayClose.business_date == day)).first() is not None


def active_operator(s, login: str) -> m.Operator:
    op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
    if op is None or not op.active:
        raise LedgerError(f"操作员 {login} 不存在或已停用", field="operator")
    return op


def list_day(db: Database, day: date) -> list[SettlementRecord]:
    """The day's settlements and reversals, loaded in a handful of queries (not a few per record)."""
    from sqlalchemy.orm import selectinload

    with db.read() as s:
        rows = s.execute(select(m.Settlement).where(m.Settlement.business_date == day)
                         .options(selectinload(m.Settlement.items)).order_by(m.Settlement.id)).scalars().all()
        ids = [r.id for r in rows]
        names = dict(s.execute(select(m.Person.psn_no, m.Person.name).where(
            m.Person.psn_no.in_({r.psn_no for r in rows}))).all()) if rows else {}
        originals = dict(s.execute(select(m.Settlement.id, m.Settlement.setl_no).where(
            m.Settlement.id.in_({r.original_id for r in rows if r.original_id}))).all()) if rows else {}
        reversed_by = dict(s.execute(select(m.Settlement.original_id, m.Settlement.setl_no).where(
            m.Settlement.original_id.in_(ids))).all()) if rows else {}
        out = []
        for st in rows:
            out.append(SettlementRecord(
                setl_no=st.setl_no, kind=st.kind, psn_no=st.psn_no or "",
                person_name=names.get(st.psn_no, "") if st.psn_no else st.walkin_name,
                business_date=st.business_date, visit_date=st.visit_date, benefit=st.benefit,
                operator=st.operator, created_at=st.created_at,
                original_setl_no=originals.get(st.original_id) if st.original_id else None,
                reversed_by=reversed_by.get(st.id) if st.kind == "settle" else None,
                result=json.loads(st.result_json), claim_json=st.claim_json, reason=st.reason,
                day_closed=st.day_close_id is not None, receipt=json.loads(st.receipt_json or "{}"),
                items=[{"seq": i.seq, "code": i.code, "name": i.name, "kind": i.kind, "chrgitm_lv": i.chrgitm_lv,
                        "fee_category": i.fee_category, "qty": i.qty, "price": i.price, "pay_std": i.pay_std,
                        "det_item_fee_sumamt": str(i.det_item_fee_sumamt)} for i in st.items],
            ))
        return out


# ---------------------------------------------------------------------------
# Day close
# ---------------------------------------------------------------------------
def day_totals(s, day: date) -> dict:
    rows = s.execute(select(m.Settlement).where(m.Settlement.business_date == day)).scalars().all()
    zero = {f: Decimal("0.00") for f in MONEY_FIELDS}
    total = dict(zero)
    groups: dict[str, dict] = {}
    counts = {"settle": 0, "reverse": 0}
    reversals = []
    for r in rows:
        counts[r.kind] += 1
        key = f"{insutype_label(r.insutype)}/{benefit_label(r.benefit)}"  # 全自费: 自费/全自费（未使用医保）
        g = groups.setdefault(key, {"count": 0, **zero})
        g["count"] += 1
        for f in MONEY_FIELDS:
            v = getattr(r, f)
            total[f] += v
            g[f] += v
        if r.kind == "reverse":
            reversals.append({"setl_no": r.setl_no, "reason": r.reason})
    as_text = lambda d: {k: (str(v) if isinstance(v, Decimal) else v) for k, v in d.items()}  # noqa: E731
    return {"date": day.isoformat(), "settlements": counts["settle"], "reversals": counts["reverse"],
            "totals": as_text(total), "by_insutype_benefit": {k: as_text(v) for k, v in sorted(groups.items())},
            "reversal_list": reversals}


def _day_count(s, day: date) -> int:
    return s.execute(select(func.count()).select_from(m.Settlement).where(m.Settlement.business_date == day)).scalar()


def day_close(db: Database, *, operator: str, day: date | None = None, today: date | None = None) -> DayCloseRecord:
    """日结: freeze the day's settlements and record totals by 险种 and benefit.

    Today may be closed (even without settlements); an earlier day only while unclosed and when it has
    settlements (a day the clinic saw nobody needs no close); a future day never."""
    today = today or date.today()
    day = day or today
    with db.write() as s:
        lock(s, f"day:{day.isoformat()}")  # PostgreSQL: waits for the day's settlements in flight (they hold it shared)
        active_operator(s, operator)
        if day > today:
            raise LedgerError(f"营业日 {day} 晚于今天（{today}）：不能日结未来的营业日", field="date",
                              code="invalid_input")
        if is_closed(s, day):
            raise LedgerError(f"{day} 已经日结过了", field="date", code="already_closed")
        if day < today and not _day_count(s, day):
            raise LedgerError(f"{day} 没有结算记录，无需日结", field="date", code="nothing_to_close")
        totals = day_totals(s, day)
        count = totals["settlements"] + totals["reversals"]
        dc = m.DayClose(business_date=day, closed_at=datetime.now(), operator=operator, count=count,
                        totals_json=json.dumps(totals, ensure_ascii=False, sort_keys=True))
        s.add(dc)
        s.flush()
        s.execute(update(m.Settlement).where(m.Settlement.business_date == day).values(day_close_id=dc.id))
        audit.append(s, operator, "day_close", day.isoformat(),
                     {"count": count, "medfee_sumamt": totals["totals"]["medfee_sumamt"],
                      "hifp_pay": totals["totals"]["hifp_pay"], "dv": audit.DIGEST_VERSION},
                     after=audit.day_close_digest(dc))
        return DayCloseRecord(day, dc.closed_at, operator, count, totals)


def reopen_day(db: Database, *, operator: str, day: date, reason: str = "") -> None:
    """撤销日结 (supervisor): a day closed by mistake — before anyone was settled — opens again.
    A day with settlements or reversals stays closed (its totals went to the 日结单 and the backup)."""
    with db.write() as s:
        lock(s, f"day:{day.isoformat()}")
        op = active_operator(s, operator)
        if op.role != "supervisor":
            raise LedgerError("只有管理员可以撤销日结", field="operator", code="supervisor_required")
        dc = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        if dc is None:
            raise LedgerError(f"{day} 没有日结，无需撤销", field="date", code="not_closed")
        n = _day_count(s, day)
        if n:
            raise LedgerError(f"{day} 已有 {n} 笔结算或冲正记录，日结不能撤销（次日的结算照常进行；"
                              "冲正已日结的结算须管理员办理）", field="date", code="day_has_settlements")
        reason = check_reason(reason, "撤销日结的原因")
        detail = {"closed_by": dc.operator, "closed_at": dc.closed_at.isoformat(timespec="seconds"),
                  "reason": reason}
        s.delete(dc)
        s.flush()
        audit.append(s, operator, "day_reopen", day.isoformat(), detail)


@dataclass(frozen=True)
class DaySummary:
    """What the 日结 confirmation shows: the day's counts and totals (reversals deducted), and its close."""

    day: date
    settlements: int
    reversals: int
    totals: dict  # MONEY_FIELDS → "0.00"
    closed: DayCloseRecord | None


def day_summary(db: Database, day: date) -> DaySummary:
    with db.read() as s:
        t = day_totals(s, day)
        dc = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        closed = DayCloseRecord(dc.business_date, dc.closed_at, dc.operator, dc.count) if dc else None
        return DaySummary(day, t["settlements"], t["reversals"], t["totals"], closed)
