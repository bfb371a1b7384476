"""Lookup by every key, and the summary's year-to-date usage (snapshot + local settlements after 截至日期)."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from desktop_app.services import ledger, ledger_types, lookup
from desktop_app.store import models as m

pytestmark = pytest.mark.both_backends  # the same tests on SQLite and on PostgreSQL (tests/conftest.py)

TODAY = date(2026, 11, 23)


def a_person(db, **where):
    with db.read() as s:
        q = select(m.Person)
        for k, v in where.items():
            q = q.where(getattr(m.Person, k) == v)
        return s.execute(q.order_by(m.Person.psn_no).limit(1)).scalar_one()


def test_by_id_number_psn_no_and_scan(db):
    p = a_person(db)
    assert [h.psn_no for h in lookup.search(db, p.id_no)] == [p.psn_no]
    assert lookup.search(db, p.id_no)[0].matched_by == "身份证号"
    assert lookup.search(db, p.id_no.lower())[0].psn_no == p.psn_no
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in p.id_no)
    assert lookup.search(db, full_width)[0].psn_no == p.psn_no
    assert [h.psn_no for h in lookup.search(db, p.psn_no)] == [p.psn_no]
    scan = f"CHSQR|v1|idno={p.id_no}|ts=20261123101500"
    assert [(h.psn_no, h.matched_by) for h in lookup.search(db, scan)] == [(p.psn_no, "扫码")]
    scan2 = f"ECQR:{p.psn_no}:9f86d081884c7d659a2feaa0c55ad015"
    assert lookup.search(db, scan2)[0].psn_no == p.psn_no
    assert lookup.search(db, "CHSQR|v1|idno=110101190001011234") == []


def test_id_is_masked_in_hits_and_summary(db):
    p = a_person(db)
    hit = lookup.search(db, p.psn_no)[0]
    assert hit.id_masked == p.id_no[:4] + "*" * 10 + p.id_no[-4:]
    s = lookup.summary(db, p.psn_no, on=TODAY)
    assert s.id_masked == hit.id_masked and s.id_full is None
    assert lookup.reveal_id(db, p.psn_no, actor="admin", via="cli") == p.id_no


def test_by_name_prefix_substring_and_pinyin(db):
    p = a_person(db)
    hits = lookup.search(db, p.name[0])
    assert p.psn_no in [h.psn_no for h in hits] and all(h.name.startswith(p.name[0]) for h in hits)
    sub = lookup.search(db, p.name[1:])
    assert p.psn_no in [h.psn_no for h in sub]
    from desktop_app.services.roster import pinyin_keys

    full, initials = pinyin_keys(p.name)[:2]
    assert p.psn_no in [h.psn_no for h in lookup.search(db, initials)]
    assert p.psn_no in [h.psn_no for h in lookup.search(db, full)]
    assert p.psn_no in [h.psn_no for h in lookup.search(db, full.upper()[:3])]
    assert all(h.matched_by == "拼音" for h in lookup.search(db, initials))
    assert lookup.search(db, "") == [] and lookup.search(db, "zzzzzzzz") == []


def test_results_are_limited_to_50(db):
    """More than 50 persons match "1" (ID digits); the list shows the first 50, in a stable order."""
    everyone = lookup.search(db, "1", limit=10_000)
    assert len(everyone) > 50
    shown = lookup.search(db, "1")
    assert len(shown) == lookup.LIMIT == 50
    assert [h.psn_no for h in shown] == [h.psn_no for h in everyone[:50]]


def test_summary_usage_is_snapshot_plus_local_after_as_of(db):
    p = a_person(db, insutype="390", admdvs="141102", category="resident")
    with db.write() as s:
        s.add(m.UsageSnapshot(psn_no=p.psn_no, year=2026, benefit="general_outpatient", disease="", quarter=2,
                              fund_paid=Decimal("100.00"), item_code="", count=0))
    before = {b.benefit: b for b in lookup.summary(db, p.psn_no, on=TODAY).benefits}
    go = before["general_outpatient"]
    assert go.annual_cap == Decimal("300.00") and go.basis == "晋医保发〔2023〕16号 一"
    base = go.fund_paid
    rec = ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient",
                                              [ledger_types.ItemInput("110200005", "1")]), operator="clerk", today=TODAY)
    after = {b.benefit: b for b in lookup.summary(db, p.psn_no, on=TODAY).benefits}["general_outpatient"]
    assert after.fund_paid == base + Decimal(rec.result["hifp_pay"])
    assert after.annual_remaining == Decimal("300.00") - after.fund_paid
    # a settlement on or before 截至日期 of a snapshot imported after it is already in the centre's
    # figures: not counted twice (docs/roster.md, which local settlements count)
    with db.write() as s:
        person = s.get(m.Person, p.psn_no)
        person.as_of, person.updated_at = TODAY, datetime.now()
    again = {b.benefit: b for b in lookup.summary(db, p.psn_no, on=TODAY).benefits}["general_outpatient"]
    assert again.fund_paid == base
    ar = {b.benefit: b for b in lookup.summary(db, p.psn_no, on=TODAY).benefits}["assisted_reproduction"]
    assert ar.annual_cap is None and "文件未给出数额" in ar.cap_note


def test_registered_disease_shows_with_name_and_quarterly_cap(db):
    p = a_person(db, insutype="390", admdvs="141102")
    with db.write() as s:
        s.add(m.PersonDisease(psn_no=p.psn_no, disease="M01904"))
    sm = lookup.summary(db, p.psn_no, on=date(2025, 8, 1))
    assert sm.registered_diseases == [("M01904", "肝豆状核变性")]
    wil = [b for b in sm.benefits if b.benefit == "chronic_special"][0]
    assert (wil.annual_cap, wil.quarterly_cap, wil.quarter) == (Decimal("12000.00"), Decimal("3000.00"), 3)
    # expired 2026-05-01: no longer listed today
    assert not [b for b in lookup.summary(db, p.psn_no, on=TODAY).benefits if b.benefit == "chronic_special"]


# ----------------------------------------------------------------- cap figures at quarter boundaries
def _chronic(db, snapshots):
    """A person with 肝豆状核变性 registered and the centre's 待遇累计 rows (year, quarter, fund_paid)."""
    p = a_person(db, insutype="390", admdvs="141102")
    with db.write() as s:
        s.add(m.PersonDisease(psn_no=p.psn_no, disease="M01904"))
        for year, quarter, paid in snapshots:
            s.add(m.UsageSnapshot(psn_no=p.psn_no, year=year, benefit="chronic_special", disease="M01904",
                                  quarter=quarter, fund_paid=Decimal(paid), item_code="", count=0))
    return p


def _wilson(db, p, on):
    return [b for b in lookup.summary(db, p.psn_no, on=on).benefits if b.benefit == "chronic_special"][0]


def test_quarter_figures_turn_over_between_march_31_and_april_1(db):
    p = _chronic(db, [(2025, 1, "2900.00"), (2025, 2, "500.00")])
    mar31 = _wilson(db, p, date(2025, 3, 31))
    assert mar31.quarter == 1
    assert mar31.quarterly_cap == Decimal("3000.00")
    apr1 = _wilson(db, p, date(2025, 4, 1))
    assert (apr1.quarter, apr1.quarter_paid, apr1.quarterly_remaining) == (2, Decimal("500.00"), Decimal("2500.00"))
    assert apr1.fund_paid == Decimal("3400.00") and apr1.annual_remaining == Decimal("8600.00")


def test_quarter_figures_on_march_31_count_the_first_quarter_only(db):
    p = _chronic(db, [(2025, 1, "2900.00")])
    mar31 = _wilson(db, p, date(2025, 3, 31))
    assert (mar31.quarter, mar31.quarter_paid, mar31.quarterly_remaining) == (1, Decimal("2900.00"), Decimal("100.00"))
    assert mar31.annual_remaining == Decimal("9100.00")


def test_december_31_is_the_fourth_quarter_and_the_year_still_counts(db):
    p = _chronic(db, [(2025, 3, "1000.00"), (2025, 4, "2000.00"), (2024, 4, "2999.00")])
    dec31 = _wilson(db, p, date(2025, 12, 31))
    assert (dec31.quarter, dec31.year) == (4, 2025)
    assert (dec31.quarter_paid, dec31.quarterly_remaining) == (Decimal("2000.00"), Decimal("1000.00"))
    assert (dec31.fund_paid, dec31.annual_remaining) == (Decimal("3000.00"), Decimal("9000.00"))  # 2024 not counted


def test_a_snapshot_above_the_cap_leaves_zero_never_negative(db):
    p = _chronic(db, [(2025, 1, "9500.00"), (2025, 2, "3100.00")])
    b = _wilson(db, p, date(2025, 4, 1))
    assert b.fund_paid == Decimal("12600.00") and b.annual_cap == Decimal("12000.00")
    assert b.annual_remaining == Decimal("0.00") and str(b.annual_remaining) == "0.00"
    assert b.quarter_paid == Decimal("3100.00") and str(b.quarterly_remaining) == "0.00"
