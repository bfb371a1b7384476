"""Hand-worked cases: 晋医保发〔2024〕16号 (+ 运医保发〔2024〕23号, 芮医保发〔2024〕10号) — 治疗性辅助生殖.

Document text (quoted from the document; its reading is in docs/policy-notes.md):
  一    "将“取卵术”等 13 项治疗性辅助生殖类医疗服务项目纳入……（晋医保函〔2024〕46 号）确定的项目价格为
         医保支付标准，超出支付标准部分不纳入医保支付范围，低于支付标准的以实际价格进行医保结算。
         按乙类项目管理的辅助生殖项目个人先行自付比例统一为 10%。"
  二(一) "在省内经卫生健康部门批准开展人类辅助生殖技术的医保定点医疗机构……医保基金实行单行支付，
         不设起付标准，由职工医保、居民医保基金分别支付 70%、60%，医保基金支付额度计入参保人员年度
         基本医保基金最高支付限额……“取卵术”等项目每人每项目医保基金支付次数累计不超过 3 次。"
  二(二) "在省外……由职工医保、居民医保基金分别支付 60%、50%。"
  末    "本通知自 2024 年 10 月 1 日起执行,有效期 5 年。" → [2024-10-01, 2029-10-01).
  附件   13 items, e.g. 311201045 人工授精 甲, 311201037 取卵术 乙, 311201040 胚胎培养 乙.
  二(三) "参保人员治疗期间发生的其他符合基本医疗保险规定的医药费用,按基本医疗保险有关规定执行。"
  附件 13 "311201063 组织、细胞活检 (辅助生殖) 乙 基金支付不超过3次/人。 限：1. 夫妻一方为单基因病患者……；
         2. 夫妻一方或双方携带染色体结构异常……"
Readings from docs/policy-notes.md: only the 13 items are paid under this benefit
(others 全自费 for this claim, notice item_limit_reached reason ordinary_benefit: they belong to
the ordinary benefit); catalogue class wins over the claim line; 10% on 乙类 after 超限价;
count ("每人每项目医保基金支付次数累计") = Σ qty of that code in assisted_reproduction history lines
the fund paid for (`fund_paid`, default: the entry's hifp_pay > 0), every year given (lifetime);
units beyond 3 全自费 with item_limit_reached; 311201063 is paid only with
`indication_confirmed` (its 限 text); not art_approved →
institution_not_designated and no fund; basic annual cap amount not in the set →
trace step fund_split = "undetermined", everything in hifp_pay.
Default claim: 芮城 (140830) resident at an approved 运城 (140800) hospital, 2024-10-15.
"""

from pathlib import Path

import pytest

from tests.core.case_helpers import (
    DEFAULT_INSTITUTION,
    DEFAULT_INSURED,
    case,
    err,
    hist,
    item,
    ok,
    run_case,
)
from tests.core.case_helpers import claim as base_claim

A16_1 = "晋医保发〔2024〕16号 一"
A16_21 = "晋医保发〔2024〕16号 二(一)"
A16_22 = "晋医保发〔2024〕16号 二(二)"
INSURED = dict(DEFAULT_INSURED, admdvs="140830")
INST = dict(DEFAULT_INSTITUTION, code="H14080000010", admdvs="140800", level="city", price_class=3,
            art_approved=True)
EMP = {"insutype": "310", "category": "employee_active"}
OUT = {"admdvs": "410300", "code": "H41030000090"}  # 洛阳: 省外
SPLIT = [("fund_split", "undetermined")]


def claim(items, **kw):
    kw.setdefault("date", "2024-10-15")
    return base_claim(items, benefit="assisted_reproduction", base_insured=INSURED, base_institution=INST, **kw)


def ai(price="500.00", qty="1", lv="01"):  # 人工授精 甲
    return item("311201045", "service", lv, qty, price, name="人工授精")


def egg(price="2000.00", qty="1", lv="02", pay_std=None):  # 取卵术 乙
    return item("311201037", "service", lv, qty, price, pay_std, name="取卵术")


def art_hist(date, *lines, benefit="assisted_reproduction", hifp="0.00"):
    """A history entry; a line is (code, qty) or (code, qty, fund_paid)."""
    h = hist(date, benefit=benefit, hifp=hifp, institution="H14080000010", items=[])
    h["items"] = [{"code": ln[0], "qty": ln[1], **({"fund_paid": ln[2]} if len(ln) > 2 else {})} for ln in lines]
    return h


def biopsy(confirmed=None):  # 组织、细胞活检 乙, with its 限定支付范围
    it = item("311201063", "service", "02", "1", "1000.00", name="组织、细胞活检")
    if confirmed is not None:
        it["indication_confirmed"] = confirmed
    return it


PAID_EGG = "1080.00"  # what one 取卵术 at 2000.00 is paid (居民): a history entry the fund paid


CASES = [
    # ---------------- 甲 / 乙, 职工 / 居民 ----------------
    case("resident-a-item-60", A16_21, claim([ai()]),
         # 甲类, no deductible; 居民 60%: 500×60%=300.00; cash 200.00; cap split undetermined
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00", trace_has=SPLIT)),
    case("resident-b-item-10pct", A16_21, claim([egg()]),
         # 乙类: 先行自付 2000×10%=200.00; 1800×60%=1080.00; cash 2000−1080=920.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00",
            trace_has=SPLIT)),
    case("employee-b-item-70", A16_21, claim([egg()], insured=EMP),
         # 职工 70%: 1800×70%=1260.00; cash 740.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.7000", hifp="1260.00", cash="740.00",
            trace_has=SPLIT)),
    case("employee-a-plus-b", A16_21, claim([ai(), egg()], insured=EMP),
         # pre 200; 政策范围内 500+1800=2300; ×70%=1610.00; cash 2500−1610=890.00
         ok(medfee="2500.00", pre="200.00", inscp="2300.00", ratio="0.7000", hifp="1610.00", cash="890.00")),
    case("employee-biopsy-indication-confirmed", "晋医保发〔2024〕16号 附件 13 (限…)",
         claim([biopsy(confirmed=True)], insured=EMP),
         # indication confirmed → 组织、细胞活检 乙: pre 100; 900×70%=630.00; cash 370.00
         ok(medfee="1000.00", pre="100.00", inscp="900.00", ratio="0.7000", hifp="630.00", cash="370.00")),
    case("employee-biopsy-indication-not-confirmed", "晋医保发〔2024〕16号 附件 13 (限…)",
         claim([biopsy()], insured=EMP),
         # 「限：1. …单基因病…；2. …染色体结构异常…」 not confirmed → the fund does not pay the line:
         # 全自费 1000.00; fund 0; cash 1000.00 (ratio 70% still the benefit's)
         ok(medfee="1000.00", ful="1000.00", inscp="0.00", ratio="0.7000", hifp="0.00", cash="1000.00",
            notices=["item_limit_reached"], trace_has=[("fulamt_ownpay", "1000.00")])),
    case("resident-biopsy-indication-false", "晋医保发〔2024〕16号 附件 13 (限…)",
         claim([biopsy(confirmed=False), ai()]),
         # 活检 全自费 1000; 人工授精 500×60%=300.00; cash 1500−300=1200.00
         ok(medfee="1500.00", ful="1000.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="1200.00",
            notices=["item_limit_reached"])),
    case("employee-sperm-a-plus-microscope-b", A16_21,
         claim([item("311100006", "service", "01", "1", "800.00"),
                item("311100006-1", "service", "02", "1", "300.00")], insured=EMP),
         # 取精术 甲 800; 显微镜下操作 乙 300 → pre 30; 政策范围内 800+270=1070; ×70%=749.00; cash 351.00
         ok(medfee="1100.00", pre="30.00", inscp="1070.00", ratio="0.7000", hifp="749.00", cash="351.00")),

    # ---------------- 省外 60/50 ----------------
    case("out-of-province-resident-50", A16_22, claim([egg()], institution=OUT),
         # 居民 省外 50%: 1800×50%=900.00; cash 1100.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.5000", hifp="900.00", cash="1100.00")),
    case("out-of-province-employee-60", A16_22, claim([egg()], institution=OUT, insured=EMP),
         # 职工 省外 60%: 1800×60%=1080.00; cash 920.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("out-of-province-resident-a-item", A16_22, claim([ai()], institution=OUT),
         # 500×50%=250.00
         ok(medfee="500.00", inscp="500.00", ratio="0.5000", hifp="250.00", cash="250.00")),
    case("other-city-in-province-is-in-province", A16_21,
         claim([ai()], institution={"admdvs": "140100", "code": "H14010000200"}),
         # 太原 hospital: 省内 → 60%
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00")),

    # ---------------- approval ----------------
    case("not-art-approved", A16_21, claim([egg()], institution={"art_approved": False}),
         # not approved → fund 0; person pays 2000.00 (items still classed: pre 200, 政策范围内 1800)
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio=None, hifp="0.00", cash="2000.00",
            notices=["institution_not_designated"])),

    # ---------------- 每人每项目不超过3次 ----------------
    case("count-2-used-2-more", A16_21,
         claim([egg(qty="2")], history=[art_hist("2024-10-05", ("311201037", "2"), hifp="2160.00")]),
         # used 2 → 1 unit left: 1 unit 2000 全自费; other: pre 200, 1800×60%=1080.00;
         # medfee 4000; cash 4000−1080=2920.00
         ok(medfee="4000.00", ful="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00",
            cash="2920.00", notices=["item_limit_reached"])),
    case("count-3-used-none-left", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "1"), hifp=PAID_EGG),
                                 art_hist("2024-10-08", ("311201037", "2"), hifp="2160.00")]),
         # the fund paid 1+2=3 → 全自费 2000.00; fund 0
         ok(medfee="2000.00", ful="2000.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="2000.00",
            notices=["item_limit_reached"])),
    case("count-unpaid-settlements-not-counted", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "1")),
                                 art_hist("2024-10-08", ("311201037", "2"))]),
         # 「医保基金支付次数」: three earlier 取卵术 the fund paid nothing for (hifp_pay 0.00, e.g. at a
         # non-approved institution) are no fund payments → count 0 → paid: pre 200, 1800×60%=1080.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("count-fund-paid-false-not-counted", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "3", "false"), ("311201045", "1"),
                                          hifp="300.00")]),
         # the entry paid 300 (人工授精) but says the fund did not pay its 取卵术 lines → count 0 → 1080.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("count-centre-row-fund-paid-true", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "3", True))]),
         # the centre's count row (hifp 0.00, fund_paid true): 3 paid → 全自费 2000.00
         ok(medfee="2000.00", ful="2000.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="2000.00",
            notices=["item_limit_reached"])),
    case("count-lifetime-across-years", A16_21,
         claim([egg()], date="2025-03-01",
               history=[art_hist("2024-10-05", ("311201037", "2"), hifp="2160.00"),
                        art_hist("2024-12-01", ("311201037", "1"), hifp=PAID_EGG)]),
         # 「每人每项目……累计不超过3次」: lifetime, 2024's 3 paid count in 2025 → 全自费 2000.00
         ok(medfee="2000.00", ful="2000.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="2000.00",
            notices=["item_limit_reached"])),
    case("count-lifetime-2-earlier-year-1-left", A16_21,
         claim([egg(qty="2")], date="2026-01-02",
               history=[art_hist("2024-11-05", ("311201037", "2"), hifp="2160.00")]),
         # 2 paid in 2024 → 1 left in 2026: 1 unit 全自费 2000; other: pre 200, 1800×60%=1080.00;
         # medfee 4000; cash 2920.00
         ok(medfee="4000.00", ful="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00",
            cash="2920.00", notices=["item_limit_reached"])),
    case("count-2-used-1-ok", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "1"), hifp=PAID_EGG),
                                 art_hist("2024-10-08", ("311201037", "1"), hifp=PAID_EGG)]),
         # used 2 → third time paid: 1080.00
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("count-other-code-not-counted", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201040", "3"))]),
         # 胚胎培养 ×3 does not count for 取卵术 ("每项目")
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("count-other-benefit-not-counted", A16_21,
         claim([egg()], history=[art_hist("2024-10-02", ("311201037", "3"), benefit="general_outpatient",
                                          hifp="50.00")]),
         # only assisted_reproduction settlements count (policy notes)
         ok(medfee="2000.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00", cash="920.00")),
    case("count-qty-4-in-one-line", A16_21,
         claim([item("311201040", "service", "02", "4", "500.00", name="胚胎培养")]),
         # 4 units, 3 paid: 1 unit 500 全自费; 1500: pre 150, 1350×60%=810.00; cash 2000−810=1190.00
         ok(medfee="2000.00", ful="500.00", pre="150.00", inscp="1350.00", ratio="0.6000", hifp="810.00",
            cash="1190.00", notices=["item_limit_reached"])),
    case("count-two-lines-same-code", A16_21, claim([egg(qty="2"), egg(qty="2")]),
         # the same item on two lines, 2+2=4 units, no history: only 3 may be paid
         # ("每人每项目医保基金支付次数累计不超过3次"): line 1 both units paid; line 2 one unit paid,
         # one unit 2000 全自费. Paid 3×2000=6000: pre 600, 5400×60%=3240.00; cash 8000−3240=4760.00
         ok(medfee="8000.00", ful="2000.00", pre="600.00", inscp="5400.00", ratio="0.6000", hifp="3240.00",
            cash="4760.00", notices=["item_limit_reached"])),

    case("count-limit-with-pay-std", A16_21,
         claim([egg(qty="2", price="2500.00", pay_std="2000.00")],
               history=[art_hist("2024-10-05", ("311201037", "2"), hifp="2160.00")]),
         # 1 unit left: the other unit 2500 全自费; paid unit: 超限价 500, 10% of 2000=200,
         # 1800×60%=1080.00; medfee 5000; cash 5000−1080=3920.00
         ok(medfee="5000.00", ful="2500.00", over="500.00", pre="200.00", inscp="1800.00", ratio="0.6000",
            hifp="1080.00", cash="3920.00", notices=["item_limit_reached"])),

    # ---------------- catalogue only ----------------
    case("non-catalogue-item-fulamt", A16_1,
         claim([item("XA01", "drug", "01", "1", "100.00"), ai()]),
         # XA01 is not one of the 13 items → 全自费 100 under this benefit (notice: ordinary benefit);
         # 人工授精 500×60%=300.00; cash 600−300=300.00
         ok(medfee="600.00", ful="100.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="300.00",
            notices=["item_limit_reached"])),
    case("non-catalogue-only", "晋医保发〔2024〕16号 一; 二(三)", claim([item("XS01", "service", "01", "1", "200.00")]),
         ok(medfee="200.00", ful="200.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="200.00",
            notices=["item_limit_reached"])),
    case("catalogue-class-wins", A16_1, claim([ai(lv="02"), egg(lv="01")]),
         # 人工授精 is 甲 by the table (line says 乙): no 10%; 取卵术 is 乙 (line says 甲): 10% = 200;
         # 政策范围内 500+1800=2300; ×60%=1380.00; cash 2500−1380=1120.00
         ok(medfee="2500.00", pre="200.00", inscp="2300.00", ratio="0.6000", hifp="1380.00", cash="1120.00",
            trace_has=[("catalogue_class", "01"), ("catalogue_class", "02")])),

    # ---------------- 支付标准 ----------------
    case("pay-std-below-price", A16_1, claim([egg(price="2500.00", pay_std="2000.00")]),
         # 超出支付标准 500 自费; 10% of 2000 = 200; 1800×60%=1080.00; cash 2500−1080=1420.00
         ok(medfee="2500.00", over="500.00", pre="200.00", inscp="1800.00", ratio="0.6000", hifp="1080.00",
            cash="1420.00")),
    case("pay-std-above-price", A16_1, claim([egg(price="1800.00", pay_std="2000.00")]),
         # 低于支付标准的以实际价格: 10% of 1800=180; 1620×60%=972.00; cash 828.00
         ok(medfee="1800.00", pre="180.00", inscp="1620.00", ratio="0.6000", hifp="972.00", cash="828.00")),

    # ---------------- dates and regions ----------------
    case("before-2024-09-30", "晋医保发〔2024〕16号 执行日期", claim([ai()], date="2024-09-30"),
         err(3, "no_policy_in_force")),
    case("start-2024-10-01", A16_21, claim([ai()], date="2024-10-01"),
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00", trace_has=SPLIT)),
    case("last-day-2029-09-30", A16_21, claim([ai()], date="2029-09-30"),
         # 有效期 5 年 from 2024-10-01 → last day 2029-09-30
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00")),
    case("expired-2029-10-01", "晋医保发〔2024〕16号 有效期5年", claim([ai()], date="2029-10-01"),
         err(3, "no_policy_in_force")),
    case("yuncheng-140800-insured", "晋医保发〔2024〕16号 二(一); 运医保发〔2024〕23号",
         claim([ai()], insured={"admdvs": "140800"}),
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00")),
    case("taiyuan-140100-insured", A16_21, claim([ai()], insured={"admdvs": "140100"}),
         ok(medfee="500.00", inscp="500.00", ratio="0.6000", hifp="300.00", cash="200.00")),
    case("ruicheng-employee-before-start", "芮医保发〔2024〕10号; 晋医保发〔2024〕16号 执行日期",
         claim([egg()], insured=EMP, date="2024-09-30"),
         err(3, "no_policy_in_force")),

    # ---------------- rounding ----------------
    case("round-b-item", A16_1, claim([egg(price="1234.55")]),
         # 10%: 123.455 → 123.46; 政策范围内 1111.09; ×60%=666.654 → 666.65; cash 1234.55−666.65=567.90
         ok(medfee="1234.55", pre="123.46", inscp="1111.09", ratio="0.6000", hifp="666.65", cash="567.90")),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)


def test_a_line_outside_the_13_items_names_itself_and_the_ordinary_benefit():
    """二(三): 「其他……医药费用,按基本医疗保险有关规定执行」 — not 全自费 by ART policy: the notice names the
    line (machine-readable `item`, reason `ordinary_benefit`) so the window can offer an ordinary visit."""
    res = run_case(claim([item("XA01", "drug", "01", "1", "100.00", name="黄体酮"), ai()]),
                   dict(ok(medfee="600.00", ful="100.00", inscp="500.00", ratio="0.6000", hifp="300.00",
                           cash="300.00", notices=["item_limit_reached"]), clause=A16_1))
    (n,) = res["notices"]
    assert (n["item"], n["reason"]) == ("XA01", "ordinary_benefit")
    assert "普通" in n["message"] and "XA01" in n["message"] and "晋医保发〔2024〕16号" in n["message"]


def test_indication_notice_quotes_the_limit_and_names_the_line():
    res = run_case(claim([biopsy()], insured=EMP),
                   dict(ok(medfee="1000.00", ful="1000.00", inscp="0.00", ratio="0.7000", hifp="0.00",
                           cash="1000.00", notices=["item_limit_reached"]), clause="晋医保发〔2024〕16号 附件"))
    (n,) = res["notices"]
    assert (n["item"], n["reason"]) == ("311201063", "indication_not_confirmed")
    assert "单基因病" in n["message"] and "确认" in n["message"]


# ---------------- count_scope read from items.csv (a test-only pack: one item counted per YEAR) ----------------
YEAR_PACK = Path(__file__).parent / "data" / "test-140802-art-year-count"


@pytest.mark.parametrize(("day", "expected"), [
    # count_scope "year", 1 per year: a 2024 payment uses 2024's count only
    ("2024-12-31", ok(medfee="100.00", ful="100.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="100.00",
                      notices=["item_limit_reached"])),
    # 2025-01-01: a new year, the count is free again: 100×60%=60.00
    ("2025-01-01", ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
])
def test_count_scope_year_counts_only_the_visits_year(day, expected):
    from desktop_app.core.pack_files import load_policy

    c = claim([item("T-YEAR-1", "service", "01", "1", "100.00")], date=day, insured={"admdvs": "140802"},
              history=[art_hist("2024-11-01", ("T-YEAR-1", "1"), hifp="60.00")])
    run_case(c, dict(expected, clause="晋医保发〔2024〕16号 二(一)"), load_policy([YEAR_PACK]))
