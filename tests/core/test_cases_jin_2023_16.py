"""Hand-worked cases: 晋医保发〔2023〕16号 — 山西 居民普通门诊统筹 (390).

Document text (the attachment of 忻医保发〔2023〕12号, quoted; its reading is in docs/policy-notes.md):
  一  "2024年起居民门诊统筹年度支付限额提高至300元，不再执行50元/次/天的单次限额。
       参保居民在统筹区内二类、三类收费价格及以下收费类别门诊统筹定点医疗机构发生的符合规定的
       门诊医疗费用，不设起付标准，统筹基金支付比例分别为55%、60%；在统筹区内一类收费价格定点
       医疗机构发生的符合规定的门诊医疗费用，起付标准为80元/次，统筹基金支付比例为45%。
       参保人员在门诊使用乙类药品时需先行自付5%，再按规定比例报销。"
  二  "在省内其他统筹区临时就医的，按照参保地待遇执行；跨省临时外出就医人员……统筹基金支付比例
       在参保地相同级别医疗机构支付比例的基础上降低10个百分点。"
  末  "本通知自2024年1月1日起执行，有效期5年。" → in force [2024-01-01, 2029-01-01).
Readings from docs/policy-notes.md: 5% on 乙类 *drugs* only, per item, after 超限价;
"每次" = each claim; cross-province keeps the 80 deductible; Shanxi residents have
no personal account. Default claim: 太原 (140100, province pack only) resident at a
三类 primary clinic in 140100, 2024-03-01.
"""

import pytest

from tests.core.case_helpers import case, claim, err, hist, item, ok, run_case

C1 = {"price_class": 1, "code": "H14010000011"}
C2 = {"price_class": 2, "code": "H14010000012"}
J16 = "晋医保发〔2023〕16号 一"
J16_2 = "晋医保发〔2023〕16号 二"
JA = item("XA01", "drug", "01", "1", "50.00", name="甲类药")
JB = item("XB01", "drug", "02", "1", "40.00", name="乙类药")
JS = item("XS01", "service", "01", "1", "10.00", name="甲类诊疗")


def a(price, qty="1", code="XA01", pay_std=None):  # 甲类药
    return item(code, "drug", "01", qty, price, pay_std)


def b(price, qty="1", code="XB01", pay_std=None):  # 乙类药
    return item(code, "drug", "02", qty, price, pay_std)


CASES = [
    # ---------------- the four public contract examples ----------------
    case("ex1-class3-mixed", J16, claim([JA, JB, JS]),
         # 乙类药 40×5%=2.00; 政策范围内 100−2=98.00; 三类 no deductible; 98×60%=58.80; cash 100−58.80=41.20
         ok(medfee="100.00", pre="2.00", inscp="98.00", ratio="0.6000", hifp="58.80", cash="41.20",
            items={"XB01": {"preselfpay_amt": "2.00", "inscp_scp_amt": "38.00"},
                   "XA01": {"inscp_scp_amt": "50.00"}})),
    case("ex2-class1-deductible", J16, claim([a("300.00")], institution=C1),
         # 一类: 起付 80/次; (300−80)×45%=99.00; cash 300−99=201.00
         ok(medfee="300.00", inscp="300.00", dedc="80.00", ratio="0.4500", hifp="99.00", cash="201.00")),
    case("ex3-annual-cap-300", J16,
         claim([a("100.00")], history=[hist("2024-02-01", hifp="280.00")]),
         # 100×60%=60.00 but cap 300−280=20 left → 20.00; cash 80.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="20.00", cash="80.00",
            notices=["annual_cap_reached"])),
    case("ex4-before-start-2023-12-31", "晋医保发〔2023〕16号 执行日期",
         claim([JA, JB, JS], date="2023-12-31"),
         # 本通知自2024年1月1日起执行 → 2023-12-31 not covered by any document in the set
         err(3, "no_policy_in_force")),

    # ---------------- price classes 1/2/3 ----------------
    case("class2-55pct", J16, claim([a("100.00")], institution=C2),
         # 二类: no deductible; 100×55%=55.00; cash 45.00
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("class2-b-drug", J16, claim([b("100.00")], institution=C2),
         # 乙类药 100×5%=5.00; 95×55%=52.25; cash 100−52.25=47.75
         ok(medfee="100.00", pre="5.00", inscp="95.00", ratio="0.5500", hifp="52.25", cash="47.75")),
    case("class3-b-drug", J16, claim([b("100.00")]),
         # 5.00 先行自付; 95×60%=57.00; cash 43.00
         ok(medfee="100.00", pre="5.00", inscp="95.00", ratio="0.6000", hifp="57.00", cash="43.00")),
    case("class1-below-deductible", J16, claim([a("50.00")], institution=C1),
         # 起付 80 but only 50 政策范围内 → deductible charged 50.00; fund 0; cash 50
         ok(medfee="50.00", inscp="50.00", dedc="50.00", ratio="0.4500", hifp="0.00", cash="50.00")),
    case("class1-b-drug-and-a-drug", J16, claim([b("200.00"), a("100.00")], institution=C1),
         # 乙类药 200×5%=10.00; 政策范围内 190+100=290; (290−80)×45%=94.50; cash 300−94.50=205.50
         ok(medfee="300.00", pre="10.00", inscp="290.00", dedc="80.00", ratio="0.4500", hifp="94.50",
            cash="205.50")),
    case("class1-c-item-not-in-deductible", J16,
         claim([item("XC01", "drug", "03", "1", "50.00"), a("100.00")], institution=C1),
         # 丙类 50 全自费; 政策范围内 100; (100−80)×45%=9.00; cash 150−9=141.00
         ok(medfee="150.00", ful="50.00", inscp="100.00", dedc="80.00", ratio="0.4500", hifp="9.00",
            cash="141.00")),

    # ---------------- 乙类药 vs 乙类 service / material ----------------
    case("b-service-no-preselfpay", J16, claim([item("XBS1", "service", "02", "1", "100.00")]),
         # "使用乙类药品时需先行自付5%": a 乙类 service has none; 100×60%=60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("b-drug-service-material", J16,
         claim([b("100.00"), item("XBS1", "service", "02", "1", "100.00"),
                item("XBM1", "material", "02", "1", "20.00")]),
         # only the drug: 100×5%=5.00; 政策范围内 95+100+20=215; 215×60%=129.00; cash 220−129=91.00
         ok(medfee="220.00", pre="5.00", inscp="215.00", ratio="0.6000", hifp="129.00", cash="91.00",
            items={"XBS1": {"preselfpay_amt": "0.00"}, "XBM1": {"preselfpay_amt": "0.00"}})),

    # ---------------- annual cap 300 across history ----------------
    case("cap-two-history-entries", J16,
         claim([a("100.00")], history=[hist("2024-01-15", hifp="150.00"), hist("2024-02-20", hifp="100.00")]),
         # used 150+100=250 → 50 left; 100×60%=60 → 50.00; cash 50.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="50.00", cash="50.00",
            notices=["annual_cap_reached"])),
    case("cap-exhausted", J16,
         claim([a("100.00")], history=[hist("2024-01-15", hifp="300.00")]),
         # 300 already paid → 0 left; fund 0.00; cash 100.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="0.00", cash="100.00",
            notices=["annual_cap_reached"])),
    case("cap-not-binding", J16,
         claim([a("100.00")], history=[hist("2024-01-15", hifp="230.00")]),
         # 70 left ≥ 60 → 60.00, no notice
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("cap-with-b-drug", J16,
         claim([b("100.00")], history=[hist("2024-02-01", hifp="290.00")]),
         # 5.00 先行自付; 95×60%=57 → 10 left → 10.00; cash 90.00
         ok(medfee="100.00", pre="5.00", inscp="95.00", ratio="0.6000", hifp="10.00", cash="90.00",
            notices=["annual_cap_reached"])),
    case("cap-ignores-other-benefit", J16,
         claim([a("100.00")], date="2024-06-10",
               history=[hist("2024-05-20", benefit="chronic_special", disease="M01904", hifp="280.00",
                             institution="H14010000100")]),
         # the 300 cap is the 门诊统筹 cap: a 慢特病 payment does not use it → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),

    # ---------------- "80元/次": two visits the same day ----------------
    case("class1-second-visit-same-day-bears-80", J16,
         claim([a("100.00")], institution=C1,
               history=[hist("2024-03-01", hifp="9.00", dedc="80.00", institution="H14010000011")]),
         # each visit bears 80: (100−80)×45%=9.00; cash 91.00 (cap: 300−9 left)
         ok(medfee="100.00", inscp="100.00", dedc="80.00", ratio="0.4500", hifp="9.00", cash="91.00")),

    # ---------------- 二: cross-province / other city ----------------
    case("cross-province-class3-50pct", J16_2,
         claim([a("100.00")], institution={"admdvs": "110105", "code": "H11010500001"}),
         # 北京 110105: 60%−10 points=50%; 100×50%=50.00
         ok(medfee="100.00", inscp="100.00", ratio="0.5000", hifp="50.00", cash="50.00")),
    case("cross-province-class2-45pct", J16_2,
         claim([a("100.00")], institution={"admdvs": "110105", "code": "H11010500002", "price_class": 2}),
         # 55%−10=45%; 45.00
         ok(medfee="100.00", inscp="100.00", ratio="0.4500", hifp="45.00", cash="55.00")),
    case("cross-province-class1-keeps-80", J16_2,
         claim([a("300.00")], institution={"admdvs": "110105", "code": "H11010500003", "price_class": 1}),
         # 80 deductible still; 45%−10=35%; (300−80)×35%=77.00; cash 223.00
         ok(medfee="300.00", inscp="300.00", dedc="80.00", ratio="0.3500", hifp="77.00", cash="223.00")),
    case("cross-province-b-drug", J16_2,
         claim([b("100.00")], institution={"admdvs": "110105", "code": "H11010500001"}),
         # 5.00 先行自付; 95×50%=47.50; cash 52.50
         ok(medfee="100.00", pre="5.00", inscp="95.00", ratio="0.5000", hifp="47.50", cash="52.50")),
    case("in-province-other-city-class3", J16,
         claim([a("100.00")], institution={"admdvs": "140802", "code": "H14080200001"}),
         # 运城 140802: 省内其他统筹区 → 参保地待遇, 60% unchanged
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("in-province-other-city-class1", J16,
         claim([a("300.00")], institution={"admdvs": "140902", "code": "H14090200011", "price_class": 1}),
         # 忻州 institution, 太原 insured: 80 + 45% unchanged → (300−80)×45%=99.00
         ok(medfee="300.00", inscp="300.00", dedc="80.00", ratio="0.4500", hifp="99.00", cash="201.00")),

    # ---------------- 丙类, pay_std ----------------
    case("c-item-plus-a-item", J16, claim([item("XC01", "drug", "03", "1", "30.00"), a("70.00")]),
         # 丙类 30 全自费; 70×60%=42.00; cash 100−42=58.00
         ok(medfee="100.00", ful="30.00", inscp="70.00", ratio="0.6000", hifp="42.00", cash="58.00")),
    case("c-item-only", J16, claim([item("XC01", "drug", "03", "1", "50.00")]),
         # all 全自费: fund 0; cash 50
         ok(medfee="50.00", ful="50.00", inscp="0.00", ratio="0.6000", hifp="0.00", cash="50.00")),
    case("pay-std-below-price", J16, claim([a("30.00", qty="2", pay_std="25.00")]),
         # 超限价 2×(30−25)=10.00; 政策范围内 50; 50×60%=30.00; cash 60−30=30.00
         ok(medfee="60.00", over="10.00", inscp="50.00", ratio="0.6000", hifp="30.00", cash="30.00")),
    case("pay-std-above-price", J16, claim([a("30.00", qty="2", pay_std="35.00")]),
         # price under the standard → actual price; 60×60%=36.00
         ok(medfee="60.00", inscp="60.00", ratio="0.6000", hifp="36.00", cash="24.00")),
    case("pay-std-b-drug-5pct-after-overlimit", J16, claim([b("120.00", pay_std="100.00")]),
         # 超限价 20; 5% of 100 = 5.00; 95×60%=57.00; cash 120−57=63.00
         ok(medfee="120.00", over="20.00", pre="5.00", inscp="95.00", ratio="0.6000", hifp="57.00",
            cash="63.00")),

    # ---------------- no personal account for Shanxi residents ----------------
    case("resident-balance-not-used", J16,
         claim([a("100.00")], insured={"acct_balance": "50.00"}),
         # 居民 has no personal account in these documents → acct 0; cash 40
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),

    # ---------------- family doctor (province text leaves the uplift to cities) ----------------
    case("taiyuan-family-doctor-class2-stays-55", J16,
         claim([a("100.00")], institution=C2, insured={"family_doctor_at": "H14010000012"}),
         # "各市……可适当提高": 太原 has no city document in the set → 55% unchanged
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("student-category-same-as-resident", J16,
         claim([a("100.00")], insured={"category": "student"}),
         # the Shanxi text has no 大学生 rule → 60%
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),

    # ---------------- dates ----------------
    case("start-2024-01-01", J16, claim([a("100.00")], date="2024-01-01"),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("last-day-2028-12-31", J16, claim([a("100.00")], date="2028-12-31"),
         # 有效期5年 → last day 2028-12-31
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("expired-2029-01-01", "晋医保发〔2023〕16号 有效期5年", claim([a("100.00")], date="2029-01-01"),
         err(3, "no_policy_in_force")),
    case("before-start-class1", "晋医保发〔2023〕16号 执行日期",
         claim([a("300.00")], date="2023-12-31", institution=C1),
         err(3, "no_policy_in_force")),

    # ---------------- rounding half-up, once where produced ----------------
    case("round-preselfpay-2.005", J16, claim([b("40.10")]),
         # 40.10×5%=2.005 → 2.01 (half-up); 38.09×60%=22.854 → 22.85; cash 40.10−22.85=17.25
         ok(medfee="40.10", pre="2.01", inscp="38.09", ratio="0.6000", hifp="22.85", cash="17.25")),
    case("round-fund-0.165", J16, claim([a("0.30")], institution=C2),
         # 0.30×55%=0.165 → 0.17 (half-even would give 0.16); cash 0.13
         ok(medfee="0.30", inscp="0.30", ratio="0.5500", hifp="0.17", cash="0.13")),
    case("round-class1-0.045", J16, claim([a("80.10")], institution=C1),
         # (80.10−80)×45%=0.045 → 0.05; cash 80.05
         ok(medfee="80.10", inscp="80.10", dedc="80.00", ratio="0.4500", hifp="0.05", cash="80.05")),
    case("round-preselfpay-per-item", J16, claim([b("0.10", code="XB01"), b("0.10", code="XB02")]),
         # per item 0.10×5%=0.005 → 0.01 each → 0.02 (a rounded sum would give 0.01);
         # 政策范围内 0.09+0.09=0.18; ×60%=0.108 → 0.11; cash 0.20−0.11=0.09
         ok(medfee="0.20", pre="0.02", inscp="0.18", ratio="0.6000", hifp="0.11", cash="0.09")),
    case("round-line-amount-1.005", J16, claim([a("0.335", qty="3")]),
         # 3×0.335=1.005 → 1.01; 1.01×60%=0.606 → 0.61; cash 0.40
         ok(medfee="1.01", inscp="1.01", ratio="0.6000", hifp="0.61", cash="0.40")),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)
