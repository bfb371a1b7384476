"""#12 hole 3: which local settlements count on top of the centre's 待遇累计. The centre's figures are
as of 截至日期 (to the end of that day); a settlement of this clinic counts when its business day is
after 截至日期, or when it was made after the 待遇累计 was imported — so a 截至日期 in the future (an
old database, another program) cannot switch the annual cap off, and the boundary day is neither
counted twice nor skipped (docs/roster.md)."""

import json
from datetime import date, timedelta
from decimal import Decimal

from tests.attacks.conftest import roster_xlsx, usage_row


def outpatient(psn, price="200.00"):
    return {"psn_no": psn, "benefit": "general_outpatient",
            "items": [{"code": "X9", "qty": "1", "price": price, "kind": "service", "chrgitm_lv": "01"}]}


def paid(clinic, psn, price="200.00") -> Decimal:
    code, out, err = clinic.settle(outpatient(psn, price))
    assert code == 0, err or out
    return Decimal(json.loads(out)["result"]["hifp_pay"])


def test_a_future_as_of_date_does_not_switch_the_cap_off(clinic):
    psn = clinic.resident()
    clinic.sql("UPDATE usage_snapshot SET fund_paid=0 WHERE psn_no=?", (psn,))
    # an 截至日期 at the end of the year, written by an older version or another program
    clinic.sql("UPDATE person SET as_of=? WHERE psn_no=?", (f"{date.today().year}-12-31", psn))
    total = sum(paid(clinic, psn) for _ in range(5))  # 5 × 200.00 at 60 %
    assert total == Decimal("300.00")  # the annual cap of 吕梁 residents' general outpatient care
    assert clinic.used(psn) == "300.00"


def test_the_boundary_day_is_neither_counted_twice_nor_skipped(clinic):
    psn = clinic.resident()
    today, yesterday = date.today(), date.today() - timedelta(days=1)

    def roster(name, as_of, used=None):
        row = clinic.roster_row(psn, 截至日期=as_of.isoformat())
        usage = None if used is None else [usage_row(psn, used)]
        code, out, err = clinic.cs("import-roster", str(roster_xlsx(clinic.tmp / name, [row], usage)), "--json",
                                   user="admin")
        assert code == 0 and json.loads(out)["rejected"] == 0, err or out

    first = paid(clinic, psn, "100.00")
    # the centre's figures to the end of yesterday: today's settlement is not in them, so it counts
    roster("a.xlsx", yesterday, "0.00")
    assert Decimal(clinic.used(psn)) == first
    # figures to today that hold it: it is not counted again
    roster("b.xlsx", today, str(first))
    assert Decimal(clinic.used(psn)) == first
    # a settlement made after that import, on the same day: it cannot be in them, so it counts
    second = paid(clinic, psn, "100.00")
    assert Decimal(clinic.used(psn)) == first + second
    # a roster without 待遇累计 changes neither the figures nor the day they are as of
    roster("c.xlsx", today)
    assert Decimal(clinic.used(psn)) == first + second
