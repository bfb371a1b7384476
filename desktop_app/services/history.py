"""The person's history for the engine (the contract's `history`): what the fund paid before this visit.

- **This year** (caps, per-day deductible, per-year counts): the centre's snapshot (待遇累计 as of the end
  of the person's 截至日期) + local settlements of the visit's year that the snapshot does not hold and
  that have not been reversed: those of a business day after 截至日期, and every one made after the
  snapshot was imported (`Person.updated_at`) — so a 截至日期 of today or (in an old database) in the
  future neither skips nor double-counts anything (docs/roster.md). Reversed settlements give their caps
  back. Every line of these entries is given, with `fund_paid`.
- **Earlier years** (lifetime limits only, e.g. 晋医保发〔2024〕16号 辅助生殖 「每人每项目医保基金支付次数累计不超过
  3次」): the snapshot's rows of earlier 年度 with 项目编码 + 次数, and local settlements of earlier years
  under the same "not in the centre's figures" rule — but only their lines whose item has a lifetime count
  limit (`count_scope = person` in the person's pack chain), and only entries that keep such a line. Caps
  and deductibles use only the visit's year (calc contract), so the rest of an earlier year would only
  make the stored claim (`settlement.claim_json`) bigger; money figures of the entries kept are the true
  ones.
- A line counts towards a 「医保基金支付次数」 only when the fund paid for it: `fund_paid` is true for a
  local line with a 政策范围内 amount in a settlement whose funds paid something, and for the centre's
  次数 (they are the fund-paid count by definition, docs/roster.md).
- Visits after the visit's year are not given (a supervisor settling an earlier-year visit: the contract
  refuses history after the visit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select

from desktop_app.core import caps
from desktop_app.core.model import SELF_PAY, HistoryEntry, HistoryItem
from desktop_app.store import models as m

CENTRE = "医保中心"
_Z = Decimal("0.00")


@dataclass(frozen=True)
class Line:
    code: str
    qty: Decimal
    fund_paid: bool


@dataclass(frozen=True)
class Entry:
    """One earlier settlement (local or the centre's row), as the contract's history entry."""

    date: date
    institution: str
    benefit: str
    disease: str | None
    hifp_pay: Decimal
    act_pay_dedc: Decimal
    lines: tuple[Line, ...] = ()


def lifetime_codes(policy, admdvs: str) -> frozenset[str]:
    """Item codes with a per-person lifetime count limit (`max_count` with `count_scope = person`) in the
    pack chain of 参保地 `admdvs`."""
    chain = policy.chain_for(admdvs) if policy is not None else None
    if chain is None:
        return frozenset()
    return frozenset(it.code for pack in chain.packs for it in pack.items
                     if it.max_count is not None and it.count_scope == "person")


def entries_for(s, person: m.Person, visit_date: date, lifetime: frozenset[str] = frozenset()) -> list[Entry]:
    """The person's history before this visit: the visit's year in full, earlier years' lifetime-limited lines."""
    year = visit_date.year
    out: list[Entry] = []
    snap = s.execute(select(m.UsageSnapshot).where(m.UsageSnapshot.psn_no == person.psn_no,
                                                   m.UsageSnapshot.year <= year)).scalars().all()
    for u in snap:
        lines = (Line(u.item_code, Decimal(u.count), True),) if u.item_code and u.count else ()
        d = caps.quarter_start(u.year, u.quarter) if u.quarter else date(u.year, 1, 1)
        if u.year == year:
            out.append(Entry(min(d, visit_date), CENTRE, u.benefit, u.disease or None, u.fund_paid, _Z, lines))
        else:
            kept = tuple(ln for ln in lines if ln.code in lifetime)
            if kept:
                out.append(Entry(d, CENTRE, u.benefit, u.disease or None, u.fund_paid, _Z, kept))
    reversed_ids = select(m.Settlement.original_id).where(m.Settlement.original_id.is_not(None))
    local = s.execute(
        select(m.Settlement).where(
            m.Settlement.psn_no == person.psn_no,
            m.Settlement.kind == "settle",
            m.Settlement.benefit != SELF_PAY,  # 全自费 used no fund: no cap, no count (services/selfpay.py)
            # not in the centre's figures: after their day, or made after they were imported
            or_(m.Settlement.business_date > person.as_of, m.Settlement.created_at >= person.updated_at),
            m.Settlement.visit_date <= date(year, 12, 31),
            m.Settlement.id.not_in(reversed_ids),
        ).order_by(m.Settlement.visit_date, m.Settlement.id)
    ).scalars().all()
    for st in local:
        paid = (st.hifp_pay + st.hifmi_pay + st.hifob_pay) > 0
        lines = tuple(Line(i.code, Decimal(i.qty), paid and i.inscp_scp_amt > 0) for i in st.items)
        if st.visit_date.year < year:
            lines = tuple(ln for ln in lines if ln.code in lifetime)
            if not lines:
                continue
        out.append(Entry(st.visit_date, st.institution, st.benefit, st.disease or None, st.hifp_pay,
                         st.act_pay_dedc, lines))
    return out


def to_core(entries: list[Entry], on: date) -> list[HistoryEntry]:
    """The entries as the engine's `HistoryEntry` objects (visit date `on`)."""
    out = []
    for e in entries:
        items = tuple(HistoryItem(ln.code, ln.qty, fund_paid=ln.fund_paid) for ln in e.lines)
        out.append(HistoryEntry(e.date, e.institution, e.benefit, e.disease, e.hifp_pay, e.act_pay_dedc, items))
    return out


def to_json(entries: list[Entry], on: date) -> list[dict]:
    """The entries in contract form (stored with the settlement as its claim's `history`)."""
    return [{"date": e.date.isoformat(), "institution": e.institution, "benefit": e.benefit, "disease": e.disease,
             "hifp_pay": str(e.hifp_pay), "act_pay_dedc": str(e.act_pay_dedc),
             "items": [{"code": ln.code, "qty": str(ln.qty), "fund_paid": ln.fund_paid}
                       for ln in e.lines]}
            for e in entries]


def this_year(history, on: date) -> list:
    """The entries of `on`'s calendar year (what caps and the year's usage are computed from)."""
    return [h for h in history if h.date.year == on.year]


def history_for(s, person: m.Person, visit_date: date) -> list[HistoryEntry]:
    """The visit's year only, as the engine's objects (the person pane's cap bars)."""
    return to_core(entries_for(s, person, visit_date), visit_date)
