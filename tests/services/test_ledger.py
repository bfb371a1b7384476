"""Settle, reverse, day close: durable, idempotent, never over a cap, nothing edited or deleted."""

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from desktop_app.services import days, ledger, ledger_types
from desktop_app.store import models as m

pytestmark = pytest.mark.both_backends  # the same tests on SQLite and on PostgreSQL (tests/conftest.py)

TODAY = date(2026, 11, 23)
V = ledger_types.VisitInput
I = ledger_types.ItemInput  # noqa: E741


def resident(db):
    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                m.Person.category == "resident").order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def set_usage(db, psn, paid: str):
    with db.write() as s:
        s.execute(m.UsageSnapshot.__table__.delete().where(m.UsageSnapshot.psn_no == psn))
        s.add(m.UsageSnapshot(psn_no=psn, year=TODAY.year, benefit="general_outpatient", disease="", quarter=None,
                              fund_paid=Decimal(paid), item_code="", count=0))


def be_clinic(db, inst: dict) -> None:
    """The clinic's settings (a visit cannot name another institution: #12 hole 1)."""
    from desktop_app.services import settings

    settings.save(db, {"clinic_code": inst["code"], "clinic_admdvs": inst["admdvs"], "clinic_level": inst["level"],
                       "clinic_price_class": str(inst["price_class"]),
                       "clinic_art_approved": "true" if inst.get("art_approved") else "false"}, actor="admin")


def visit(psn, price="100.00"):
    return V(psn, TODAY, "general_outpatient", [I("X1", "1", price=price, kind="service", chrgitm_lv="01")])


def test_settle_stores_the_full_breakdown(db):
    p = resident(db)
    rec = ledger.settle(db, V(p.psn_no, TODAY, "general_outpatient",
                              [I("XJ01DCA030A001", "2"), I("110200005", "1"), I("HC0003", "1")]),
                        operator="clerk", today=TODAY)
    assert rec.setl_no == f"H14110200031-{TODAY:%Y%m%d}-0001"
    r = rec.result
    assert (r["medfee_sumamt"], r["overlmt_selfpay"], r["preselfpay_amt"], r["fulamt_ownpay_amt"], r["hifp_pay"]) == \
        ("59.10", "3.60", "2.20", "1.50", "31.08")
    assert [p_["id"] for p_ in r["packs"]] == ["cn-140000-shanxi", "cn-141100-lvliang"]
    assert all(len(p_["content_hash"]) == 64 for p_ in r["packs"])
    with db.read() as s:
        st = s.execute(select(m.Settlement).where(m.Settlement.setl_no == rec.setl_no)).scalar_one()
        assert [i.code for i in st.items] == ["XJ01DCA030A001", "110200005", "HC0003"]
        assert [i.fee_category for i in st.items] == ["西药费", "诊查费", "卫生材料费"]  # the ten receipt groups (#15)
        assert sum(i.det_item_fee_sumamt for i in st.items) == st.medfee_sumamt
        claim = json.loads(st.claim_json)
        assert claim["insured"]["admdvs"] == p.admdvs and claim["history"] == []
        assert st.operator == "clerk" and st.kind == "settle"
    # the stored claim, replayed through the pure engine, gives the stored result
    from desktop_app.core.calc import calc_one
    from desktop_app.services.packs import policy

    code, again = calc_one(claim, policy(db))
    assert code == 0 and {k: again[k] for k in ("hifp_pay", "psn_cash_pay")} == \
        {k: r[k] for k in ("hifp_pay", "psn_cash_pay")}


def test_cap_is_used_then_given_back_by_reversal(db):
    p = resident(db)
    set_usage(db, p.psn_no, "280.00")
    first = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    assert first.result["hifp_pay"] == "20.00"
    assert [n["code"] for n in first.result["notices"]] == ["annual_cap_reached"]
    second = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    assert second.result["hifp_pay"] == "0.00"
    rv = ledger.reverse(db, first.setl_no, reason="患者退费", operator="clerk", today=TODAY)
    assert rv.kind == "reverse" and rv.original_setl_no == first.setl_no
    assert rv.result["hifp_pay"] == "-20.00" and rv.result["medfee_sumamt"] == "-100.00"
    third = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    assert third.result["hifp_pay"] == "20.00"
    # nothing was edited: the original still holds its figures, the ledger nets out
    assert ledger.get(db, first.setl_no).result["hifp_pay"] == "20.00"
    assert ledger.get(db, first.setl_no).reversed_by == rv.setl_no
    with db.read() as s:
        net = s.execute(select(func.sum(m.Settlement.hifp_pay)).where(m.Settlement.psn_no == p.psn_no)).scalar()
    assert net == Decimal("20.00")


def test_request_token_settles_once(db):
    p = resident(db)
    a = ledger.settle(db, visit(p.psn_no), operator="clerk", token="click-1", today=TODAY)
    b = ledger.settle(db, visit(p.psn_no), operator="clerk", token="click-1", today=TODAY)  # a retry
    assert b.replayed and b.setl_no == a.setl_no and b.result == a.result
    with pytest.raises(ledger_types.LedgerError) as exc:  # the same token for other lines is another request (#12.8)
        ledger.settle(db, visit(p.psn_no, price="999.00"), operator="clerk", token="click-1", today=TODAY)
    assert exc.value.code == "token_reused"
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.Settlement)).scalar_one() == 1
    r1 = ledger.reverse(db, a.setl_no, reason="重复", operator="clerk", token="rv-1", today=TODAY)
    r2 = ledger.reverse(db, a.setl_no, reason="重复", operator="clerk", token="rv-1", today=TODAY)
    assert r2.replayed and r2.setl_no == r1.setl_no
    with pytest.raises(ledger_types.LedgerError, match="已被冲正"):
        ledger.reverse(db, a.setl_no, reason="再来", operator="clerk", token="rv-2", today=TODAY)
    with pytest.raises(ledger_types.LedgerError, match="本身是冲正记录"):
        ledger.reverse(db, r1.setl_no, reason="x", operator="clerk", today=TODAY)


def test_personal_account_is_debited_and_credited_back(db):
    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "310", m.Person.acct_balance > Decimal("50"))
                      .limit(1)).scalar_one()
    bal = p.acct_balance
    # an employee general-outpatient claim stops on the open parameters (晋政办发〔2021〕103号)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    assert exc.value.code == "policy_parameter_missing"
    # an assisted-reproduction claim at an approved institution computes and uses the account
    be_clinic(db, {"code": "H14000000001", "admdvs": "140100", "level": "city", "price_class": 1,
                   "art_approved": True})
    v = V(p.psn_no, TODAY, "assisted_reproduction",
          [I("311201045", "1", price="800.00", kind="service", chrgitm_lv="01")])
    rec = ledger.settle(db, v, operator="clerk", today=TODAY)
    assert rec.result["hifp_pay"] == "560.00"  # 70%
    used = Decimal(rec.result["acct_pay"])
    assert used == min(bal, Decimal("240.00"))
    with db.read() as s:
        assert s.get(m.Person, p.psn_no).acct_balance == bal - used
    ledger.reverse(db, rec.setl_no, reason="退费", operator="clerk", today=TODAY)
    with db.read() as s:
        assert s.get(m.Person, p.psn_no).acct_balance == bal


def test_day_close_freezes_the_day(db):
    p = resident(db)
    a = ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    b = ledger.settle(db, visit(p.psn_no, "50.00"), operator="clerk", today=TODAY)
    ledger.reverse(db, b.setl_no, reason="录入错误", operator="clerk", today=TODAY)
    dc = days.day_close(db, operator="clerk", day=TODAY)
    assert dc.count == 3 and dc.totals["settlements"] == 2 and dc.totals["reversals"] == 1
    assert dc.totals["totals"]["medfee_sumamt"] == "100.00"
    assert dc.totals["reversal_list"][0]["reason"] == "录入错误"
    with pytest.raises(ledger_types.LedgerError, match="已日结"):
        ledger.settle(db, visit(p.psn_no), operator="clerk", today=TODAY)
    with pytest.raises(ledger_types.LedgerError, match="已经日结"):
        days.day_close(db, operator="clerk", day=TODAY)
    nxt = date(2026, 11, 24)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, a.setl_no, reason="次日退费", operator="clerk", today=nxt)
    assert exc.value.code == "supervisor_required"
    rv = ledger.reverse(db, a.setl_no, reason="次日退费", operator="admin", today=nxt)
    assert rv.business_date == nxt and ledger.get(db, a.setl_no).day_closed


def test_refusals_name_the_problem(db):
    p = resident(db)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, V("NOBODY", TODAY, "general_outpatient", [I("110200005", "1")]), operator="clerk")
    assert exc.value.field == "psn_no"
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, V(p.psn_no, TODAY, "general_outpatient", [I("NOPE", "1")]), operator="clerk")
    assert exc.value.field == "items[0].code"
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, V(p.psn_no, TODAY, "general_outpatient", [I("110200005", "-1")]), operator="clerk")
    assert exc.value.field == "items[0].qty" and exc.value.code == "invalid_input"
    with pytest.raises(ledger_types.LedgerError, match="操作员"):
        ledger.settle(db, visit(p.psn_no), operator="ghost")
    with pytest.raises(ledger_types.LedgerError, match="原因"):
        ledger.reverse(db, "X", reason=" ", operator="clerk")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.Settlement)).scalar_one() == 0


def test_per_day_history_from_database_for_luoyang_deductible(db):
    """洛医保〔2023〕63号: 50 元 once per day per institution — the second visit reads the first from the ledger."""
    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.admdvs == "410300")).scalars().first()
    if p is None:
        pytest.skip("demo roster has no 洛阳 resident")
    with db.write() as s:
        s.get(m.Person, p.psn_no).pay_period = "集中"
    be_clinic(db, {"code": "H41030000009", "admdvs": "410300", "level": "county", "price_class": 2})
    v = V(p.psn_no, TODAY, "general_outpatient", [I("X1", "1", price="80.00", kind="service", chrgitm_lv="01")])
    a = ledger.settle(db, v, operator="clerk", today=TODAY)
    b = ledger.settle(db, v, operator="clerk", today=TODAY)
    assert (a.result["act_pay_dedc"], b.result["act_pay_dedc"]) == ("50.00", "0.00")


def test_diagnosis_units_and_county_go_into_the_receipt_snapshot(db):
    from datetime import date as _date

    from desktop_app.services import ledger as L
    from desktop_app.services import ledger_types
    from desktop_app.store import models as M

    with db.read() as s:
        p = s.execute(select(M.Person).where(M.Person.admdvs == "141102", M.Person.insutype == "390")
                      .order_by(M.Person.psn_no)).scalars().first()
    visit = ledger_types.VisitInput(p.psn_no, _date(2026, 11, 23), "general_outpatient",
                         [ledger_types.ItemInput("XJ01CAA040A001", "1"), ledger_types.ItemInput("110200005", "1")],
                         diagnosis="  j06.900   急性上呼吸道感染 ")
    rec = L.settle(db, visit, operator="clerk", today=_date(2026, 11, 23))
    assert rec.receipt["diagnosis"] == "J06.900 急性上呼吸道感染"
    assert rec.receipt["item_units"]["XJ01CAA040A001"] == {"spec": "0.25g×24粒", "unit": "盒"}  # 规格 from the price list (#15)
    assert rec.receipt["region"] == "离石区"
    visit.diagnosis = "急性上呼吸道感染"  # no code
    with pytest.raises(ledger_types.LedgerError) as e:
        L.presettle(db, visit, operator="clerk")
    assert e.value.field == "diagnosis" and "ICD-10" in e.value.message
    visit.diagnosis = None
    assert L.settle(db, visit, operator="clerk", today=_date(2026, 11, 23)).receipt["diagnosis"] == ""
