"""Quarter and year windows, fund usage and what is left of a cap — in one place.

The engine applies the caps (`engine.settle`, step 6), the ledger freezes the
year's usage on the receipt (its 剩余 figure) and the person pane shows the cap
bars (`services.lookup`). All three compute from these functions, so the figure
a clerk sees cannot drift from the one the engine applied.

`history` is the person's earlier settlements (`services.claims.history_for` builds it; the
contract's `history` is the same). It may hold earlier years (lifetime item counts need them):
`scope(..., year=)` keeps the visit's year, and `quarter_paid` counts only the quarter of `on`'s year.
Quarters and years are calendar ones (DESIGN.md, "Money and dates").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from desktop_app.core.model import HistoryEntry

_Z = Decimal("0.00")


def quarter_index(d: date) -> int:
    """0 for January–March … 3 for October–December."""
    return (d.month - 1) // 3


def quarter_number(d: date) -> int:
    """1 … 4, as a clerk reads it (第1季度)."""
    return quarter_index(d) + 1


def quarter_start(year: int, quarter: int) -> date:
    """First day of quarter 1 … 4 of `year`."""
    return date(year, 3 * (quarter - 1) + 1, 1)


def scope(history: Iterable[HistoryEntry], benefit: str, disease: str | None, *,
          year: int | None = None) -> list[HistoryEntry]:
    """The earlier settlements a cap counts: the same benefit, the same disease when one is named, and
    the calendar year `year` when given (a yearly or quarterly cap never counts another year)."""
    return [h for h in history if h.benefit == benefit and (disease is None or h.disease == disease)
            and (year is None or h.date.year == year)]


def year_paid(entries: Iterable[HistoryEntry]) -> Decimal:
    """Fund (统筹基金) paid by `entries` — the year's usage when they are one year's scope."""
    return sum((h.hifp_pay for h in entries), _Z)


def quarter_paid(entries: Sequence[HistoryEntry], on: date) -> Decimal:
    """Fund paid by those of `entries` in the calendar quarter of `on` (of `on`'s year)."""
    q = quarter_index(on)
    y = on.year
    return sum((h.hifp_pay for h in entries if h.date.year == y and quarter_index(h.date) == q), _Z)


def cap_left(cap: Decimal, used: Decimal) -> Decimal:
    """What the fund may still pay under `cap` after `used`: never below zero."""
    return max(cap - used, _Z)


__all__ = ["cap_left", "quarter_index", "quarter_number", "quarter_paid", "quarter_start", "scope", "year_paid"]
