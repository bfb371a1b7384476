"""全自费 (issue #13 item 5): a walk-in not in the roster, an employee whose general-outpatient parameters are
open, an insured person who chooses it — settled with no fund and no account, numbered, audited, reversible,
counted apart in the day's totals, the reports and the export; the schema change upgrades an old database."""

import gzip
import json
import shutil
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from desktop_app.services import audit, days, ledger, ledger_types, lookup, reporting, selfpay
from desktop_app.store import models as m

TODAY = date(2026, 11, 23)
I = ledger_types.ItemInput  # noqa: E741
ITEMS = [I("110200005", "1"), I("XJ01CAA040A001", "2")]  # 一般诊疗费 10.00 + 阿莫西林 2 × 12.50
WALK_ID = "11010519491231002X"  # a valid ID number (check digit X), a woman
DATA = Path(__file__).resolve().parents[1] / "store" / "data"


def person(db, insutype="390", category="resident", **where):
    with db.read() as s:
        q = select(m.Person).where(m.Person.insutype == insutype, m.Person.admdvs == "141102",
                                   m.Person.category == category)
        for k, v in where.items():
            q = q.where(getattr(m.Person, k) > v)
        return s.execute(q.order_by(m.Person.psn_no).limit(1)).scalar_one()


def walk_in(name="王小明", id_no=WALK_ID, gender=""):
    return selfpay.SelfPayInput(TODAY, list(ITEMS), walk_in=selfpay.WalkIn(name, id_no, gender))


def rows(db):
    with db.read() as s:
        return s.execute(select(m.Settlement).order_by(m.Settlement.id)).scalars().all()


def test_a_walk_in_is_settled_all_cash_numbered_and_audited(db):
    pv = selfpay.presettle(db, walk_in(), operator="clerk", today=TODAY)
    assert rows(db) == []  # a pre-settlement writes nothing
    rec = selfpay.settle(db, walk_in(), operator="clerk", today=TODAY)
    assert rec.setl_no == f"H14110200031-{TODAY:%Y%m%d}-0001" and rec.benefit == "self_pay"
    r = rec.result
    assert r["medfee_sumamt"] == r["fulamt_ownpay_amt"] == r["psn_part_amt"] == r["psn_cash_pay"] == "35.00"
    for f in ("hifp_pay", "hifmi_pay", "hifob_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
              "act_pay_dedc", "inscp_scp_amt", "preselfpay_amt", "overlmt_selfpay"):
        assert r[f] == "0.00", f
    assert pv.result["psn_cash_pay"] == "35.00"
    assert rec.person_name == "王小明" and rec.psn_no == ""
    assert rec.receipt["id_masked"] == "1101**********002X" and rec.receipt["gender"] == "女"
    [st] = rows(db)
    assert st.psn_no is None and (st.walkin_name, st.walkin_id, st.walkin_gender) == \
        ("王小明", "1101**********002X", "女")
    assert st.insutype == "" and st.packs == "[]"
    assert WALK_ID not in st.claim_json + st.receipt_json + st.result_json  # the full ID number is not kept
    with db.read() as s:
        e = s.execute(select(m.AuditEntry).where(m.AuditEntry.subject == rec.setl_no)).scalar_one()
    assert e.action == "settle" and WALK_ID not in e.detail and json.loads(e.detail)["self_pay"] == "walk_in"
    assert audit.verify(db, actor="admin").problems == []


@pytest.mark.parametrize(("walk", "field", "says"), [
    (selfpay.WalkIn("王小明", "110105194912310021"), "walk_in.id_no", "校验位"),
    (selfpay.WalkIn("王小明", "1101051949"), "walk_in.id_no", "18位"),
    (selfpay.WalkIn("王小明", WALK_ID, "男"), "walk_in.gender", "不一致"),
    (selfpay.WalkIn("王小明", "", "未知"), "walk_in.gender", "男"),
    (selfpay.WalkIn("  ", ""), "walk_in.name", "姓名"),
    (selfpay.WalkIn("=HYPERLINK(1)", ""), "walk_in.name", "公式"),
    (selfpay.WalkIn("王" * 31, ""), "walk_in.name", "过长"),
])
def test_a_walk_in_s_details_are_checked_and_nothing_is_written(db, walk, field, says):
    v = selfpay.SelfPayInput(TODAY, list(ITEMS), walk_in=walk)
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.settle(db, v, operator="clerk", today=TODAY)
    assert exc.value.field == field and says in exc.value.message and exc.value.code == "invalid_input"
    assert "110105194912310021" not in exc.value.message  # (an ID number is masked in the message)
    assert rows(db) == []


def test_a_walk_in_without_id_number_or_gender_is_settled(db):
    rec = selfpay.settle(db, walk_in("李四", "", ""), operator="clerk", today=TODAY)
    [st] = rows(db)
    assert (st.walkin_name, st.walkin_id, st.walkin_gender) == ("李四", "", "")
    assert rec.receipt["id_masked"] == ""


def test_either_a_roster_person_or_a_walk_in(db):
    p = person(db)
    for v in (selfpay.SelfPayInput(TODAY, list(ITEMS)),
              selfpay.SelfPayInput(TODAY, list(ITEMS), psn_no=p.psn_no, walk_in=selfpay.WalkIn("王小明"))):
        with pytest.raises(ledger_types.LedgerError) as exc:
            selfpay.settle(db, v, operator="clerk", today=TODAY)
        assert exc.value.code == "invalid_input"
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.settle(db, selfpay.SelfPayInput(TODAY, list(ITEMS), psn_no="99999999999999"), operator="clerk",
                       today=TODAY)
    assert exc.value.code == "not_found" and "自费患者" in exc.value.message
    assert rows(db) == []


def test_an_insured_person_who_chooses_it_uses_no_fund_no_account_and_no_cap(db):
    p = person(db, "310", "employee_active", acct_balance=Decimal("50"))
    bal = p.acct_balance
    before = lookup.summary(db, p.psn_no)
    rec = selfpay.settle(db, selfpay.SelfPayInput(TODAY, list(ITEMS), psn_no=p.psn_no, why="chosen"),
                         operator="clerk", today=TODAY)
    assert rec.result["acct_pay"] == "0.00" and rec.result["psn_cash_pay"] == "35.00"
    assert rec.person_name == p.name and rec.psn_no == p.psn_no
    with db.read() as s:
        assert s.get(m.Person, p.psn_no).acct_balance == bal
    after = lookup.summary(db, p.psn_no)
    assert [(b.benefit, b.fund_paid) for b in after.benefits] == [(b.benefit, b.fund_paid) for b in before.benefits]
    assert rec.receipt["self_pay"]["why"] == "chosen" and "insutype_label" not in rec.receipt


def test_an_insured_self_pay_is_not_history_for_the_engine(db):
    """A resident's later insured visit computes exactly as if the self-pay visit had not been made."""
    p = person(db)
    v = ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", [I("X1", "1", price="100.00", kind="service",
                                                                         chrgitm_lv="01")])
    alone = ledger.presettle(db, v, operator="clerk", today=TODAY).result
    selfpay.settle(db, selfpay.SelfPayInput(TODAY, [I("X1", "3", price="100.00", kind="service", chrgitm_lv="01")],
                                            psn_no=p.psn_no), operator="clerk", today=TODAY)
    after = ledger.presettle(db, v, operator="clerk", today=TODAY)
    assert after.result["hifp_pay"] == alone["hifp_pay"] and after.claim["history"] == \
        ledger.presettle(db, v, operator="clerk", today=TODAY).claim["history"]
    assert all(h["benefit"] != "self_pay" for h in after.claim["history"])


def test_an_employee_with_open_parameters_is_told_which_and_can_pay_it_all(db):
    p = person(db, "310", "employee_active")
    v = ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", list(ITEMS))
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.presettle(db, v, operator="clerk", today=TODAY)
    e = exc.value
    assert e.code == "policy_parameter_missing"
    assert "起付标准" in e.message and "另行制定" in e.message and "晋政办发〔2021〕103号" in e.message
    assert "县级医保部门的政策包" in e.message  # who must supply it
    offer = selfpay.offer_text(e)
    assert offer.startswith(e.message) and "全自费" in offer
    assert "全自费" not in selfpay.offer_text(ledger_types.LedgerError("别的拒绝", code="day_closed"))
    rec = selfpay.settle(db, selfpay.SelfPayInput(TODAY, list(ITEMS), psn_no=p.psn_no, why="policy_open"),
                         operator="clerk", today=TODAY)
    assert rec.result["psn_cash_pay"] == "35.00" and rec.receipt["self_pay"]["why"] == "policy_open"
    assert "另行制定" in rec.receipt["self_pay"]["why_label"]


def test_it_is_reversed_like_any_other_and_its_day_counts_it_apart(db):
    p = person(db)
    ins = ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", list(ITEMS)),
                        operator="clerk", today=TODAY)
    own = selfpay.settle(db, walk_in(), operator="clerk", today=TODAY)
    own2 = selfpay.settle(db, walk_in("李四", ""), operator="clerk", today=TODAY)
    rv = ledger.reverse(db, own2.setl_no, reason="退费", operator="clerk", today=TODAY)
    assert rv.kind == "reverse" and rv.result["psn_cash_pay"] == "-35.00" and rv.person_name == "李四"
    assert rows(db)[-1].walkin_name == "李四" and rows(db)[-1].psn_no is None
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, own2.setl_no, reason="再退", operator="clerk", today=TODAY)
    assert exc.value.code == "already_reversed"
    with db.read() as s:
        t = days.day_totals(s, TODAY)
    group = t["by_insutype_benefit"]["自费/全自费（未使用医保）"]
    assert group["count"] == 3 and group["psn_cash_pay"] == "35.00" and group["hifp_pay"] == "0.00"
    insured = t["by_insutype_benefit"]["城乡居民基本医疗保险/普通门诊统筹"]
    assert insured["count"] == 1 and insured["hifp_pay"] == ins.result["hifp_pay"]
    assert Decimal(t["totals"]["psn_cash_pay"]) == Decimal(ins.result["psn_cash_pay"]) + Decimal("35.00")
    summary = days.day_summary(db, TODAY)
    assert (summary.settlements, summary.reversals) == (3, 1)
    listed = {r.setl_no: r.person_name for r in days.list_day(db, TODAY)}
    assert listed[own.setl_no] == "王小明" and listed[rv.setl_no] == "李四"
    closed = days.day_close(db, operator="clerk", today=TODAY)
    assert closed.totals["by_insutype_benefit"]["自费/全自费（未使用医保）"]["count"] == 3
    assert audit.verify(db, actor="admin").problems == []


def test_reports_and_the_export_show_self_pay_as_its_own_row(db, tmp_path):
    p = person(db)
    ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", list(ITEMS)),
                  operator="clerk", today=TODAY)
    own = selfpay.settle(db, walk_in(), operator="clerk", today=TODAY)
    out = reporting.export(db, TODAY, TODAY, tmp_path / "export")
    lines = [json.loads(x) for x in Path(out.files[0]).read_text(encoding="utf-8").splitlines()]
    row = next(x for x in lines if x["setl_no"] == own.setl_no)
    assert (row["benefit"], row["insutype"], row["psn_no"], row["psn_name"]) == ("self_pay", "", None, "王小明")
    assert row["hifp_pay"] == "0.00" and row["psn_cash_pay"] == "35.00" and row["packs"] == []
    man = json.loads(Path(out.manifest).read_text(encoding="utf-8"))
    assert man["self_pay"] == {"rows": 1, "medfee_sumamt": "35.00"} and man["count"]["rows"] == 2
    from desktop_app.reports import export as export_files

    assert export_files.verify(out.manifest) == []
    month = reporting.month_report_xlsx(db, TODAY.year, TODAY.month, tmp_path / "m.xlsx")
    cells = [str(c.value) for ws in load_workbook(month).worksheets for r in ws.iter_rows() for c in r if c.value]
    assert "全自费（未使用医保）" in cells and "自费" in cells
    day = reporting.day_report_xlsx(db, TODAY, tmp_path / "d.xlsx")
    cells = [str(c.value) for ws in load_workbook(day).worksheets for r in ws.iter_rows() for c in r if c.value]
    assert "全自费（未使用医保）" in cells
    detail = reporting.detail_xlsx(db, TODAY, TODAY, tmp_path / "x.xlsx")
    cells = [str(c.value) for ws in load_workbook(detail).worksheets for r in ws.iter_rows() for c in r if c.value]
    assert "王小明" in cells and WALK_ID not in "".join(cells)


def test_a_token_settles_once_and_is_bound_to_its_walk_in(db):
    first = selfpay.settle(db, walk_in(), token="t-1", operator="clerk", today=TODAY)
    again = selfpay.settle(db, walk_in(), token="t-1", operator="clerk", today=TODAY)
    assert again.replayed and again.setl_no == first.setl_no and len(rows(db)) == 1
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.settle(db, walk_in("李四", ""), token="t-1", operator="clerk", today=TODAY)
    assert exc.value.code == "token_reused"
    p = person(db)
    with pytest.raises(ledger_types.LedgerError) as exc:  # nor can an insured settlement take it
        ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", list(ITEMS)), token="t-1",
                      operator="clerk", today=TODAY)
    assert exc.value.code == "token_reused" and len(rows(db)) == 1


def test_the_day_and_date_rules_hold_for_self_pay_too(db):
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.presettle(db, selfpay.SelfPayInput(date(2026, 11, 24), list(ITEMS), walk_in=selfpay.WalkIn("王")),
                          operator="clerk", today=TODAY)
    assert exc.value.field == "visit_date"
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.settle(db, selfpay.SelfPayInput(date(2025, 12, 30), list(ITEMS), walk_in=selfpay.WalkIn("王")),
                       operator="clerk", today=TODAY)
    assert exc.value.code == "supervisor_required"
    days.day_close(db, operator="clerk", today=TODAY)
    with pytest.raises(ledger_types.LedgerError) as exc:
        selfpay.settle(db, walk_in(), operator="clerk", today=TODAY)
    assert exc.value.code == "day_closed"
    assert len(rows(db)) == 0


# --------------------------------------------------------------------------- the schema change (0004)
@pytest.fixture
def old_db(tmp_path):
    """A database made by the code before 全自费 (schema 0003: tests/store/data/build_pre_selfpay.sh.txt)."""
    path = tmp_path / "pre_selfpay.sqlite3"
    with gzip.open(DATA / "pre_selfpay.sqlite3.gz", "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_a_database_of_the_previous_version_is_upgraded_and_keeps_everything(old_db):
    from desktop_app.store.db import SCHEMA_HEAD, open_db

    con = sqlite3.connect(old_db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0003"
    before = con.execute("SELECT * FROM settlement ORDER BY id").fetchall()
    items_before = con.execute("SELECT * FROM settlement_item ORDER BY settlement_id, seq").fetchall()
    con.close()
    db = open_db(old_db)
    try:
        assert db.schema_version() == SCHEMA_HEAD
        con = sqlite3.connect(old_db)
        after = con.execute("SELECT * FROM settlement ORDER BY id").fetchall()
        cols = [c[1] for c in con.execute("PRAGMA table_info(settlement)")]
        assert cols[-3:] == ["walkin_name", "walkin_id", "walkin_gender"]
        assert [r[:-3] for r in after] == before  # every old value as it was
        by_name = [dict(zip(cols, r, strict=True)) for r in after]
        assert len(by_name) == len(before) == 3
        assert all(r["walkin_name"] == "" and r["psn_no"] for r in by_name)
        assert con.execute("SELECT * FROM settlement_item ORDER BY settlement_id, seq").fetchall() == items_before
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        notnull = {c[1]: c[3] for c in con.execute("PRAGMA table_info(settlement)")}
        assert notnull["psn_no"] == 0  # nullable now
        assert {i[1] for i in con.execute("PRAGMA index_list(settlement)")} >= {"ix_settlement_psn_visit",
                                                                                "ix_settlement_business_date"}
        con.close()
        assert audit.verify(db, actor="admin").problems == []  # the old entries still verify
        today = date.fromisoformat(str(by_name[0]["business_date"]))
        rec = selfpay.settle(db, selfpay.SelfPayInput(today, list(ITEMS), walk_in=selfpay.WalkIn("王小明", WALK_ID)),
                             operator="clerk", today=today)
        assert rec.setl_no.endswith("-0004")  # numbering goes on after the old records
        ledger.reverse(db, by_name[0]["setl_no"], reason="升级后冲正", operator="clerk", today=today)
        assert audit.verify(db, actor="admin").problems == []
        with db.read() as s:
            assert s.execute(select(m.Settlement).where(m.Settlement.psn_no.is_(None))).scalars().all()[0] \
                .walkin_name == "王小明"
    finally:
        db.dispose()


def test_the_database_refuses_a_settlement_of_nobody(db):
    """Raw SQL (a tamperer, or a bug): a settlement with neither a roster person nor a walk-in's name."""
    selfpay.settle(db, walk_in(), operator="clerk", today=TODAY)
    con = sqlite3.connect(db.path, isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("UPDATE settlement SET walkin_name = '' WHERE psn_no IS NULL")
    with pytest.raises(sqlite3.IntegrityError):  # and psn_no is still a foreign key to the roster
        con.execute("UPDATE settlement SET psn_no = 'nobody' WHERE psn_no IS NULL")
    con.close()
