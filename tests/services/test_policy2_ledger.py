"""#14 (policy fidelity, round 2), the ledger's side: what the database-backed settlement puts into the claim.

- ART lifetime counts: local settlements of earlier years (per-line fund_paid) and the centre's 待遇累计
  rows of earlier years with 项目编码 + 次数; caps use the visit's year only; the stored claim carries
  only the earlier-year lines a lifetime limit counts.
- Designation from the signed packs' institution lists, never from a setting (raw sqlite3 attack).
- fee_category from the price list; indication_confirmed from the clerk.
"""

import json
import shutil
import sqlite3
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from desktop_app.core.pack_files import shipped_packs_dir
from desktop_app.services import history, ledger, packs, roster, roster_rows
from desktop_app.services import settings as settings_service
from desktop_app.store import models as m
from tests.services.test_ledger import TODAY, I, V, resident
from tests.services.test_sync import sign

ART = "311201045"  # 人工授精, 晋医保发〔2024〕16号 附件: 基金支付不超过3次/人 (count_scope person)
Y2025 = date(2025, 6, 2)


def art_clinic(db):
    settings_service.save(db, {"clinic_art_approved": "true"}, actor="admin")


def art_visit(psn, day, qty="1"):
    return V(psn, day, "assisted_reproduction", [I(ART, qty, price="500.00", kind="service", chrgitm_lv="01")])


def settle_on(db, v, day, token):
    return ledger.settle(db, v, operator="clerk", token=token, today=day)


def line(result, code=ART):
    return next(it for it in result["items"] if it["code"] == code)


# ---------------------------------------------------------------------------------- 1. lifetime counts
def test_art_count_is_lifetime_local_settlements_of_earlier_years_count(db):
    """Three fund-paid 人工授精 in 2025 at this clinic: the fourth, in 2026, is 全自费 (累计不超过3次)."""
    art_clinic(db)
    psn = resident(db).psn_no
    for n, day in enumerate((date(2025, 3, 3), date(2025, 6, 2), date(2025, 9, 1))):
        r = settle_on(db, art_visit(psn, day), day, f"art-{n}").result
        assert Decimal(r["hifp_pay"]) > 0 and line(r)["fulamt_ownpay_amt"] == "0.00"
    pv = ledger.presettle(db, art_visit(psn, TODAY), operator="clerk", today=TODAY)
    assert line(pv.result)["fulamt_ownpay_amt"] == "500.00"
    assert "item_limit_reached" in {n["code"] for n in pv.result["notices"]}
    assert pv.result["hifp_pay"] == "0.00"


def test_a_settlement_the_fund_paid_nothing_for_does_not_count(db):
    """Three 人工授精 settled while the clinic was not approved (fund 0.00): none of them used a count."""
    psn = resident(db).psn_no
    for n, day in enumerate((date(2025, 3, 3), date(2025, 6, 2), date(2025, 9, 1))):
        r = settle_on(db, art_visit(psn, day), day, f"no-{n}").result
        assert r["hifp_pay"] == "0.00"
    art_clinic(db)
    pv = ledger.presettle(db, art_visit(psn, TODAY), operator="clerk", today=TODAY)
    assert line(pv.result)["fulamt_ownpay_amt"] == "0.00" and Decimal(pv.result["hifp_pay"]) > 0
    assert "item_limit_reached" not in {n["code"] for n in pv.result["notices"]}


def test_a_reversed_earlier_year_settlement_gives_its_count_back(db):
    art_clinic(db)
    psn = resident(db).psn_no
    recs = [settle_on(db, art_visit(psn, day), day, f"rv-{n}")
            for n, day in enumerate((date(2025, 3, 3), date(2025, 6, 2), date(2025, 9, 1)))]
    ledger.reverse(db, recs[1].setl_no, reason="退费", operator="clerk", token="rv-x", today=date(2025, 9, 1))
    pv = ledger.presettle(db, art_visit(psn, TODAY), operator="clerk", today=TODAY)
    assert line(pv.result)["fulamt_ownpay_amt"] == "0.00"


def roster_xlsx(path, persons, usage):
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(list(roster_rows.PERSON_COLUMNS))
    for p in persons:
        ws.append(p)
    wu = wb.create_sheet("待遇累计")
    wu.append(list(roster_rows.USAGE_COLUMNS))
    for u in usage:
        wu.append(u)
    wb.save(path)
    return path


def person_row(p: m.Person, **over):
    cells = {"人员编号": p.psn_no, "身份证号": p.id_no, "姓名": p.name, "性别": p.gender,
             "出生日期": p.birth_date.isoformat(), "险种类型": p.insutype, "人员类别": "城乡居民",
             "参保地区划": p.admdvs, "缴费日期": "2025-10-10", "缴费期": "集中", "免等待期": "否",
             "家庭医生签约机构": "", "登记病种": "", "个人账户余额": "0.00", "截至日期": "2026-11-20", "缴费年度": "2026"}
    cells.update(over)
    return [cells[c] for c in roster_rows.PERSON_COLUMNS]


def test_the_centres_item_counts_of_earlier_years_count_and_a_reimport_replaces_them(db, tmp_path):
    """待遇累计 rows of 2024 and 2025 with 项目编码 + 次数 (2 + 1 = 3): the clinic's first 人工授精 is 全自费.
    A re-import whose 待遇累计 says 1 replaces the snapshot: paid again."""
    art_clinic(db)
    p = resident(db)
    path = roster_xlsx(tmp_path / "花名册.xlsx", [person_row(p)],
                       [[p.psn_no, "2024", "治疗性辅助生殖", "", "", "1000.00", ART, "2"],
                        [p.psn_no, "2025", "治疗性辅助生殖", "", "", "500.00", ART, "1"]])
    res = roster.import_roster(db, path, actor="admin", today=TODAY)
    assert res.rejected == 0 and res.usage_rejected == 0
    pv = ledger.presettle(db, art_visit(p.psn_no, TODAY), operator="clerk", today=TODAY)
    assert line(pv.result)["fulamt_ownpay_amt"] == "500.00"
    path2 = roster_xlsx(tmp_path / "花名册2.xlsx", [person_row(p)],
                        [[p.psn_no, "2025", "治疗性辅助生殖", "", "", "500.00", ART, "1"]])
    roster.import_roster(db, path2, actor="admin", today=TODAY)
    pv = ledger.presettle(db, art_visit(p.psn_no, TODAY), operator="clerk", today=TODAY)
    assert line(pv.result)["fulamt_ownpay_amt"] == "0.00"


def test_caps_use_the_visits_year_only_and_earlier_years_add_only_lifetime_lines(db):
    """A 2025 普通门诊 settlement that used 250.00 of the 300.00 cap does not touch 2026's cap; it is not in
    the stored claim at all (no lifetime limit counts it); a 2025 ART settlement is, with its ART line only."""
    art_clinic(db)
    psn = resident(db).psn_no
    big = V(psn, Y2025, "general_outpatient", [I("X1", "1", price="1000.00", kind="service", chrgitm_lv="01")])
    r25 = settle_on(db, big, Y2025, "go-2025").result
    assert Decimal(r25["hifp_pay"]) > 0
    mixed = V(psn, Y2025, "assisted_reproduction", [I(ART, "1", price="500.00", kind="service", chrgitm_lv="01"),
                                                     I("XJ01CAA040A001", "1")])
    settle_on(db, mixed, Y2025, "art-2025")
    one = V(psn, TODAY, "general_outpatient", [I("X1", "1", price="100.00", kind="service", chrgitm_lv="01")])
    fresh = ledger.presettle(db, one, operator="clerk", today=TODAY)
    assert "annual_cap_reached" not in {n["code"] for n in fresh.result["notices"]}
    assert fresh.result["hifp_pay"] == "60.00"  # 100.00 × 60 % (晋医保发〔2023〕16号), nothing of 2025 used
    rec = settle_on(db, one, TODAY, "go-2026")
    stored = json.loads(rec.claim_json)["history"]
    assert [h for h in stored if h["benefit"] == "general_outpatient"] == []  # 2025's 普通门诊: not given at all
    art = [h for h in stored if h["benefit"] == "assisted_reproduction"]
    assert len(art) == 1 and [i["code"] for i in art[0]["items"]] == [ART]


def test_the_stored_history_says_which_lines_the_fund_paid_and_keeps_their_own_dates(db):
    art_clinic(db)
    psn = resident(db).psn_no
    settle_on(db, art_visit(psn, Y2025), Y2025, "h-1")
    rec = settle_on(db, art_visit(psn, TODAY), TODAY, "h-2")
    (h,) = [h for h in json.loads(rec.claim_json)["history"] if h["benefit"] == "assisted_reproduction"]
    assert h["date"] == Y2025.isoformat() and h["items"] == [{"code": ART, "qty": "1", "fund_paid": True}]


def test_lifetime_codes_come_from_the_pack_chain(db):
    codes = history.lifetime_codes(packs.policy(db), "141102")
    assert ART in codes and "311201063" in codes and "XJ01CAA040A001" not in codes


# ---------------------------------------------------------------------------------- 2. designation
def wilson(db):
    with db.write() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                      .order_by(m.Person.psn_no).limit(1)).scalar_one()
        if "M01904" not in {d.disease for d in p.diseases}:
            p.diseases.append(m.PersonDisease(psn_no=p.psn_no, disease="M01904"))
        return p.psn_no


WILSON_DAY = date(2026, 3, 10)  # 晋医保发〔2024〕3号/4号 (M01904) are in force 2024-05-01 … 2026-04-30


def wilson_visit(psn):
    return V(psn, WILSON_DAY, "chronic_special", [I("XJ01CAA040A001", "80")], disease="M01904")  # 1000.00


def test_a_setting_written_into_the_database_does_not_designate_the_clinic(db):
    """The old setting, written with raw sqlite3 as a clinic could, at a clinic whose (legitimate) level would let
    a designation count: no effect on the claim or the money (before #14 it paid 65 %)."""
    psn = wilson(db)
    settings_service.save(db, {"clinic_level": "county"}, actor="admin")
    db.dispose()
    con = sqlite3.connect(db.path)
    con.execute("INSERT OR REPLACE INTO setting(key, value) VALUES ('clinic_designated_diseases', 'M01904')")
    con.commit()
    con.close()
    pv = ledger.presettle(db, wilson_visit(psn), operator="clerk", today=TODAY)
    assert pv.claim["institution"]["designated_diseases"] == [] and pv.claim["institution"]["level"] == "county"
    assert pv.result["hifp_pay"] == "0.00"
    assert "institution_not_designated" in {n["code"] for n in pv.result["notices"]}


def test_the_setting_cannot_be_saved_any_more(db):
    from desktop_app.errors import Refused

    with pytest.raises(Refused) as e:
        settings_service.save(db, {"clinic_designated_diseases": "M01904"}, actor="admin")
    assert e.value.field == "key" and "clinic_designated_diseases" in e.value.message


def test_a_signed_pack_that_lists_the_clinics_code_designates_it(db, tmp_path):
    """A county bureau's signed 吕梁 pack adds this clinic's 机构编码 to its institution list for M01904: the
    claim carries the designation (the engine then decides what a 基层 designation is worth)."""
    psn = wilson(db)
    folder = tmp_path / "cn-141100-lvliang"
    shutil.copytree(shipped_packs_dir() / "cn-141100-lvliang", folder)
    toml = (folder / "pack.toml").read_text(encoding="utf-8").replace('version = "1.0.0"', 'version = "1.0.1"')
    (folder / "pack.toml").write_text(toml, encoding="utf-8")
    (folder / "institutions.csv").write_text(
        "code,name,admdvs,level,price_class,art_approved,designated_diseases,cite,note\n"
        "H14110200031,信义镇卫生院,141102,primary,3,false,M01904,吕医保发〔2024〕13号 二,测试\n", encoding="utf-8")
    packs.sync(db, sign(folder, db), actor="admin")
    pv = ledger.presettle(db, wilson_visit(psn), operator="clerk", today=TODAY)
    assert pv.claim["institution"]["designated_diseases"] == ["M01904"]


# ---------------------------------------------------------------------------------- 5/6. items
def test_the_claim_carries_the_price_lists_fee_category_and_the_clerks_confirmation(db):
    psn = resident(db).psn_no
    v = V(psn, TODAY, "general_outpatient", [I("250101015", "1"), I("110200005", "1"),
                                             I("X9", "1", price="5.00", kind="service", chrgitm_lv="01",
                                               fee_category="治疗费", indication_confirmed=True)])
    pv = ledger.presettle(db, v, operator="clerk", today=TODAY)
    assert [it.get("fee_category") for it in pv.claim["items"]] == ["化验费", "诊查费", "治疗费"]
    assert [it.get("indication_confirmed") for it in pv.claim["items"]] == [None, None, True]


def test_a_listed_line_cannot_claim_another_fee_category(db):
    psn = resident(db).psn_no
    v = V(psn, TODAY, "general_outpatient", [I("120400001", "1", fee_category="检查费")])
    with pytest.raises(ledger.LedgerError) as e:
        ledger.presettle(db, v, operator="clerk", today=TODAY)
    assert e.value.field == "items[0].fee_category"


def test_a_fee_category_outside_the_ten_groups_is_refused(db):
    psn = resident(db).psn_no
    v = V(psn, TODAY, "general_outpatient", [I("X9", "1", price="5.00", kind="service", chrgitm_lv="01",
                                               fee_category="挂号费")])
    with pytest.raises(ledger.LedgerError) as e:
        ledger.presettle(db, v, operator="clerk", today=TODAY)
    assert e.value.field == "items[0].fee_category" and "西药费" in e.value.message


# ---------------------------------------------------------------------------------- 4. the year paid for
def set_contribution(db, psn, paid_on, period, year):
    with db.write() as s:
        p = s.get(m.Person, psn)
        p.paid_on, p.pay_period, p.contrib_year, p.waiting_exempt = paid_on, period, year, False


def test_the_claim_gives_the_payment_for_the_year_paid_and_after_it_never_before_it(db):
    psn = resident(db).psn_no
    one = V(psn, TODAY, "general_outpatient", [I("X1", "1", price="100.00", kind="service", chrgitm_lv="01")])
    set_contribution(db, psn, date(2025, 10, 10), "集中", 2026)
    c = ledger.presettle(db, one, operator="clerk", today=TODAY).claim["insured"]["contribution"]
    assert c == {"paid_on": "2025-10-10", "in_extended_period": False, "waiting_exempt": False}
    set_contribution(db, psn, date(2024, 10, 10), "集中", 2025)  # paid for 2025 only: the pack decides 2026
    c = ledger.presettle(db, one, operator="clerk", today=TODAY).claim["insured"]["contribution"]
    assert c["paid_on"] == "2024-10-10"
    set_contribution(db, psn, date(2026, 10, 10), "集中", 2027)  # the roster knows only the payment for 2027
    assert ledger.presettle(db, one, operator="clerk", today=TODAY).claim["insured"]["contribution"] is None


COVERAGE_YEAR = pytest.mark.skipif(
    "coverage_year_by_payment" not in __import__("desktop_app.core.policy", fromlist=["KEY_TYPES"]).KEY_TYPES,
    reason="needs the engine of calc round 2 (h-peng): 洛阳 待遇保障期")


@COVERAGE_YEAR
def test_a_luoyang_resident_who_paid_for_last_year_only_gets_no_fund(db):
    """洛医保〔2023〕63号 四.(二): paid in the 集中缴费期 of 2024 → covered 2025-01-01 … 2025-12-31; a 2026 visit
    gets no fund. Paid in 2025's 集中缴费期 → covered in 2026."""
    with db.read() as s:
        psn = s.execute(select(m.Person.psn_no).where(m.Person.admdvs == "410300", m.Person.insutype == "390")
                        .order_by(m.Person.psn_no).limit(1)).scalar_one()
    settings_service.save(db, {"clinic_admdvs": "410302"}, actor="admin")  # a clinic in 洛阳's 老城区 (in range)
    one = V(psn, TODAY, "general_outpatient", [I("X1", "1", price="100.00", kind="service", chrgitm_lv="01")])
    set_contribution(db, psn, date(2024, 10, 10), "集中", 2025)
    r = ledger.presettle(db, one, operator="clerk", today=TODAY).result
    assert r["hifp_pay"] == "0.00" and "not_covered_year" in {n.get("reason") for n in r["notices"]}
    set_contribution(db, psn, date(2025, 10, 10), "集中", 2026)
    r = ledger.presettle(db, one, operator="clerk", today=TODAY).result
    assert Decimal(r["hifp_pay"]) > 0 and not r["notices"]
