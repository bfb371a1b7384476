"""Hand-worked cases: 晋医保发〔2024〕3号 (居民) / 4号 (职工) + 吕医保发〔2024〕13号 — 肝豆状核变性 M01904.

Document text (quoted from the document; its reading is in docs/policy-notes.md):
  3号/4号 一 "……在定点救治医疗机构门诊治疗发生的直接相关的治疗药品和检查费用纳入……门诊慢特病保障
             范围，病种编码 M01904。……由居民医保统筹基金按照 65%的比例支付，统筹基金年度最高支付限额
             12000 元" / "由职工医保统筹基金按照 75% 的比例支付，统筹基金年度最高支付限额 18000 元。
             各统筹地区可……进一步细化季度限额或月度限额。"
  3号/4号 三 "参保患者在定点救治医疗机构确诊认定后，到参保地经办机构办理登记备案"
  3号/4号 末 "本通知自2024年5月1日起施行，有效期2年。" → [2024-05-01, 2026-05-01).
  3号/4号 二 "确定山西白求恩医院、……临汾市人民医院为肝豆状核变性第一批定点救治医疗机构。各市符合条件且愿意
             承担相关诊治服务工作的二级及以上医疗机构,可由市级卫生健康和医保部门联合确定。"
  吕医保发〔2024〕13号 一 "从2024年5月1日起……参保居民和职工门诊患者的季支付限额分别为3000元、4500元。"
Readings from docs/policy-notes.md: no deductible (none is set), no 乙类先行自付;
drugs, and services of the fee groups 检查费/化验费 only (「治疗药品和检查费用」: a service without
fee_category, or of another group — 诊查费, 治疗费… — is 全自费 with notice item_limit_reached),
materials and 丙类 全自费; must be registered (registered_diseases) and at an institution that lists
M01904 (designated_diseases, or a signed pack's institution list by code) of a level 二级及以上
(`primary` never counts: institution_not_designated);
吕梁 quarterly caps per calendar quarter on top of the annual cap; history counts
chronic_special payments for the same disease.
Default claim: 太原 (140100) resident, registered M01904, at a designated 太原 hospital
(city level, 一类收费 — the 80 deductible of 居民门诊统筹 must NOT apply), 2024-06-10.
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

W3 = "晋医保发〔2024〕3号 一"
W4 = "晋医保发〔2024〕4号 一"
LV = "吕医保发〔2024〕13号 一"
INSURED = dict(DEFAULT_INSURED, registered_diseases=["M01904"])
INST = dict(DEFAULT_INSTITUTION, code="H14010000100", admdvs="140100", level="city", price_class=1,
            designated_diseases=["M01904"])
EMP = {"insutype": "310", "category": "employee_active"}
LV_RES = {"admdvs": "141102"}
LV_EMP = {"admdvs": "141100", **EMP}
LV_INST = {"code": "H14110200050", "admdvs": "141102"}


def claim(items, **kw):
    kw.setdefault("date", "2024-06-10")
    return base_claim(items, benefit="chronic_special", disease="M01904", base_insured=INSURED,
                      base_institution=INST, **kw)


def drug(price, lv="01", code="XA01"):
    return item(code, "drug", lv, "1", price)


def wh(date, hifp, disease="M01904", benefit="chronic_special"):
    return hist(date, benefit=benefit, disease=disease, hifp=hifp, institution="H14010000100")


def svc(price, fee, code="XE01"):
    it = item(code, "service", "01", "1", price, name="项目")
    if fee is not None:
        it["fee_category"] = fee
    return it


D1000 = drug("1000.00")

CASES = [
    # ---------------- ratios ----------------
    case("resident-65", W3, claim([D1000]),
         # 1000×65%=650.00, no deductible (even at a 一类 institution); cash 350.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("employee-active-75", W4, claim([D1000], insured=EMP),
         # 1000×75%=750.00; cash 250.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00")),
    case("employee-retired-75", W4, claim([D1000], insured={"insutype": "310", "category": "employee_retired"}),
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00")),
    case("b-drug-no-preselfpay", W3, claim([drug("1000.00", lv="02")]),
         # no 乙类先行自付 in 3号: 1000×65%=650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("drug-plus-examination", W3, claim([drug("800.00"), svc("200.00", "检查费")]),
         # 治疗药品和检查费用: (800+200)×65%=650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("drug-plus-laboratory", W4, claim([drug("800.00"), svc("200.00", "化验费")], insured=EMP),
         # 化验 (检查费用) is covered: (800+200)×75%=750.00; cash 250.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00")),
    case("service-without-fee-category", W3, claim([drug("800.00"), svc("200.00", None)]),
         # a service that does not say it is 检查/化验 cannot be paid under 「治疗药品和检查费用」:
         # 全自费 200; 800×65%=520.00; cash 1000−520=480.00
         ok(medfee="1000.00", ful="200.00", inscp="800.00", ratio="0.6500", hifp="520.00", cash="480.00",
            notices=["item_limit_reached"])),
    case("treatment-service-not-covered", W3, claim([drug("800.00"), svc("200.00", "治疗费")]),
         # 治疗费 is neither a drug nor 检查费用 → 全自费 200; 520.00; cash 480.00
         ok(medfee="1000.00", ful="200.00", inscp="800.00", ratio="0.6500", hifp="520.00", cash="480.00",
            notices=["item_limit_reached"])),
    case("consultation-not-covered", W4, claim([drug("950.00"), svc("50.00", "诊查费")], insured=EMP),
         # 诊查费 not covered → 全自费 50; 950×75%=712.50; cash 1000−712.50=287.50
         ok(medfee="1000.00", ful="50.00", inscp="950.00", ratio="0.7500", hifp="712.50", cash="287.50",
            notices=["item_limit_reached"])),
    case("material-fulamt", W3,
         claim([item("XM01", "material", "01", "1", "100.00"), drug("900.00")]),
         # material not a 药品/检查 → 全自费 100 (notice); 900×65%=585.00; cash 1000−585=415.00
         ok(medfee="1000.00", ful="100.00", inscp="900.00", ratio="0.6500", hifp="585.00", cash="415.00",
            notices=["item_limit_reached"])),
    case("c-drug-fulamt", W3, claim([drug("100.00", lv="03", code="XC01"), drug("900.00")]),
         # 丙类 100 全自费; 900×65%=585.00
         ok(medfee="1000.00", ful="100.00", inscp="900.00", ratio="0.6500", hifp="585.00", cash="415.00")),

    # ---------------- annual caps ----------------
    case("resident-annual-cap-12000", W3,
         claim([D1000], history=[wh("2024-05-10", "6000.00"), wh("2024-06-01", "5800.00")]),
         # used 11800 → 200 left; 650 → 200.00; cash 800.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="200.00", cash="800.00",
            notices=["annual_cap_reached"])),
    case("resident-annual-cap-exhausted", W3, claim([D1000], history=[wh("2024-05-10", "12000.00")]),
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="0.00", cash="1000.00",
            notices=["annual_cap_reached"])),
    case("employee-annual-cap-18000", W4, claim([D1000], insured=EMP, history=[wh("2024-05-10", "17500.00")]),
         # 18000−17500=500 left; 750 → 500.00; cash 500.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="500.00", cash="500.00",
            notices=["annual_cap_reached"])),
    case("employee-history-below-cap", W4, claim([D1000], insured=EMP, history=[wh("2024-05-10", "12000.00")]),
         # 12000 used is over the 居民 cap but not the 职工 18000 → 750.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00")),
    case("cap-counts-same-disease-only", W3,
         claim([D1000], history=[wh("2024-05-10", "280.00", disease=None, benefit="general_outpatient"),
                                 wh("2024-05-20", "11000.00")]),
         # 门诊统筹 280 does not count; 12000−11000=1000 left ≥ 650 → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("taiyuan-single-visit-no-quarterly", W3, claim([drug("7000.00")]),
         # 太原: no city document → no quarterly cap; 7000×65%=4550.00; cash 2450.00
         ok(medfee="7000.00", inscp="7000.00", ratio="0.6500", hifp="4550.00", cash="2450.00")),
    case("taiyuan-same-quarter-history", W3, claim([D1000], history=[wh("2024-05-20", "2600.00")]),
         # a 吕梁 resident would hit 3000 in the quarter; 太原 does not → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),

    # ---------------- 吕梁 quarterly caps ----------------
    case("lvliang-resident-quarter-3000", LV,
         claim([D1000], insured=LV_RES, institution=LV_INST, history=[wh("2024-05-20", "2600.00")]),
         # Q2 used 2600 → 400 left; 650 → 400.00; annual 12000−2600 not binding; cash 600.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="400.00", cash="600.00",
            notices=["quarterly_cap_reached"])),
    case("lvliang-resident-previous-quarter", W3,
         claim([D1000], date="2024-07-10", insured=LV_RES, institution=LV_INST,
               history=[wh("2024-06-20", "2600.00")]),
         # Q2 payment, visit in Q3 → Q3 used 0 → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("lvliang-quarter-boundary-07-01", W3,
         claim([D1000], date="2024-07-01", insured=LV_RES, institution=LV_INST,
               history=[wh("2024-06-30", "3000.00")]),
         # 06-30 is Q2, 07-01 is Q3 → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("lvliang-resident-quarter-exhausted", LV,
         claim([D1000], date="2024-09-30", insured=LV_RES, institution=LV_INST,
               history=[wh("2024-07-01", "1500.00"), wh("2024-08-15", "1500.00")]),
         # Q3 used 3000 → 0
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="0.00", cash="1000.00",
            notices=["quarterly_cap_reached"])),
    case("lvliang-employee-quarter-4500", LV,
         claim([D1000], insured=LV_EMP, institution=LV_INST, history=[wh("2024-05-20", "4000.00")]),
         # 职工 4500−4000=500 left; 750 → 500.00; cash 500.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="500.00", cash="500.00",
            notices=["quarterly_cap_reached"])),
    case("lvliang-employee-single-visit-over-quarter", LV,
         claim([drug("7000.00")], insured=LV_EMP, institution=LV_INST),
         # 7000×75%=5250 > 4500 → 4500.00; cash 2500.00
         ok(medfee="7000.00", inscp="7000.00", ratio="0.7500", hifp="4500.00", cash="2500.00",
            notices=["quarterly_cap_reached"])),
    case("lvliang-resident-at-taiyuan-hospital", LV,
         claim([D1000], insured=LV_RES, history=[wh("2024-05-20", "2600.00")]),
         # 参保地 吕梁 decides: quarterly cap still applies at a 太原 hospital → 400.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="400.00", cash="600.00",
            notices=["quarterly_cap_reached"])),
    case("lvliang-quarter-binds-annual-does-not", LV,
         claim([D1000], date="2025-12-10", insured=LV_RES, institution=LV_INST,
               history=[wh("2025-02-10", "3000.00"), wh("2025-05-10", "3000.00"), wh("2025-08-10", "2500.00"),
                        wh("2025-10-10", "2900.00")]),
         # year used 11,400, Q4 used 2,900: quarterly left 100 → 650 lowered to 100.00; the annual cap leaves
         # 12,000−11,400=600 ≥ 100: it changes nothing → no annual_cap_reached, no annual_cap step
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="100.00", cash="900.00",
            notices=["quarterly_cap_reached"], trace_has=[("quarterly_cap", "100.00")])),
    case("lvliang-earlier-year-quarter-not-counted", W3,
         claim([D1000], date="2025-10-05", insured=LV_RES, institution=LV_INST,
               history=[wh("2024-10-05", "3000.00"), wh("2024-11-05", "9000.00")]),
         # 2024's Q4 and 2024's 12,000 do not count in 2025 (yearly/quarterly caps use the visit's
         # year): 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("annual-cap-earlier-year-not-counted", W3,
         claim([D1000], date="2025-01-02", history=[wh("2024-12-31", "12000.00")]),
         # 2024-12-31 is last year: 2025 used 0 → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("lvliang-other-disease-not-counted", W3,
         claim([D1000], insured=LV_RES, institution=LV_INST,
               history=[wh("2024-05-20", "2900.00", disease="M03900")]),
         # another 慢特病 does not use the M01904 quarter → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),

    # ---------------- registration / designation ----------------
    case("not-registered", "晋医保发〔2024〕3号 三", claim([D1000], insured={"registered_diseases": []}),
         # no 登记备案 → fund 0; cash 1000.00
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
            notices=["disease_not_registered"])),
    case("not-designated", "晋医保发〔2024〕3号 二", claim([D1000], institution={"designated_diseases": []}),
         # not a 定点救治医疗机构 for M01904 → fund 0
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
            notices=["institution_not_designated"])),
    case("primary-designation-does-not-count", "晋医保发〔2024〕3号 二",
         claim([D1000], institution={"level": "primary", "code": "H14010000777"}),
         # 「二级及以上医疗机构」: a 基层 clinic is not 二级及以上 — its M01904 designation does not count
         # → fund 0; cash 1000.00
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
            notices=["institution_not_designated"])),
    case("employee-primary-designation-does-not-count", "晋医保发〔2024〕4号 二",
         claim([D1000], insured=EMP, institution={"level": "primary", "code": "H14010000777"}),
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
            notices=["institution_not_designated"])),
    case("county-level-designated", W3, claim([D1000], institution={"level": "county", "price_class": 2}),
         # 县级 designated by the city (二级 county hospital) → 650.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("not-registered-not-designated", "晋医保发〔2024〕4号 二",
         claim([D1000], insured={**EMP, "registered_diseases": []}, institution={"designated_diseases": []}),
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
            notices=["disease_not_registered", "institution_not_designated"])),

    # ---------------- dates ----------------
    case("before-2024-04-30", "晋医保发〔2024〕3号 施行日期", claim([D1000], date="2024-04-30"),
         err(3, "no_policy_in_force")),
    case("start-2024-05-01", W3, claim([D1000], date="2024-05-01"),
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("last-day-2026-04-30", W3, claim([D1000], date="2026-04-30"),
         # 有效期2年 → last day 2026-04-30
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    case("expired-2026-05-01", "晋医保发〔2024〕3号 有效期2年", claim([D1000], date="2026-05-01"),
         err(3, "no_policy_in_force")),
    case("employee-expired-2026-05-01", "晋医保发〔2024〕4号 有效期2年",
         claim([D1000], date="2026-05-01", insured=EMP),
         err(3, "no_policy_in_force")),
    case("lvliang-before-2024-04-30", "吕医保发〔2024〕13号 一 (从2024年5月1日起)",
         claim([D1000], date="2024-04-30", insured=LV_RES, institution=LV_INST),
         err(3, "no_policy_in_force")),
    case("lvliang-expired-2026-05-01", "吕医保发〔2024〕13号; 晋医保发〔2024〕3号 有效期2年",
         claim([D1000], date="2026-05-01", insured=LV_RES, institution=LV_INST),
         err(3, "no_policy_in_force")),
    case("lvliang-last-day-2026-04-30", LV,
         claim([D1000], date="2026-04-30", insured=LV_RES, institution=LV_INST,
               history=[wh("2026-04-01", "2900.00")]),
         # Q2 2026: 100 left → 100.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="100.00", cash="900.00",
            notices=["quarterly_cap_reached"])),
    case("other-disease-code", "晋医保发〔2024〕3号 一 (only M01904)",
         dict(claim([D1000]), disease="M99999", insured=dict(INSURED, registered_diseases=["M99999"])),
         # no document in the set covers another 慢特病 → exit 3
         err(3, "no_policy_in_force")),

    # ---------------- rounding ----------------
    case("round-7.995", W3, claim([drug("12.30")]),
         # 12.30×65%=7.995 → 8.00 (half-up); cash 4.30
         ok(medfee="12.30", inscp="12.30", ratio="0.6500", hifp="8.00", cash="4.30")),
    case("round-0.065", W3, claim([drug("0.10")]),
         # 0.10×65%=0.065 → 0.07 (half-even would give 0.06); cash 0.03
         ok(medfee="0.10", inscp="0.10", ratio="0.6500", hifp="0.07", cash="0.03")),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)


def test_quarterly_cap_alone_writes_no_annual_step():
    """A notice or trace step only where its rule changed the figure (吕梁: 11,400 used + 100 paid = 11,500
    < 12,000 — the annual cap changed nothing)."""
    c = claim([D1000], date="2025-12-10", insured=LV_RES, institution=LV_INST,
              history=[wh("2025-02-10", "3000.00"), wh("2025-05-10", "3000.00"), wh("2025-08-10", "2500.00"),
                       wh("2025-10-10", "2900.00")])
    res = run_case(c, dict(ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="100.00", cash="900.00",
                              notices=["quarterly_cap_reached"]), clause=LV))
    assert "annual_cap" not in {t["step"] for t in res["trace"]}


# ---------------- designation from the signed packs' lists (a county pack gives the codes) ----------------
CODES_PACK = Path(__file__).parent / "data" / "test-141102-wilson-codes"
BETHUNE = {"code": "H14010000300", "admdvs": "140100", "level": "city", "designated_diseases": []}


@pytest.mark.parametrize(("inst", "expected"), [
    # 山西白求恩医院 is named by 3号 二; the county pack gives its code → designated without the claim saying
    # so: 1000×65%=650.00 (吕梁 Q2, nothing used)
    (BETHUNE, ok(medfee="1000.00", inscp="1000.00", ratio="0.6500", hifp="650.00", cash="350.00")),
    # a 基层 clinic the county pack (wrongly) lists: not 二级及以上 → refused
    ({"code": "H14110200009", "admdvs": "141102", "level": "primary", "designated_diseases": []},
     ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
        notices=["institution_not_designated"])),
    # a hospital no list names, and the claim does not designate → refused
    ({"code": "H14010000301", "admdvs": "140100", "level": "city", "designated_diseases": []},
     ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
        notices=["institution_not_designated"])),
])
def test_designation_by_pack_list(inst, expected):
    from desktop_app.core.pack_files import load_policy

    c = claim([D1000], insured=LV_RES, institution=inst)
    run_case(c, dict(expected, clause="晋医保发〔2024〕3号 二"), load_policy([CODES_PACK]))


def test_the_shipped_list_gives_no_codes_so_the_named_hospital_needs_the_claims_designation():
    c = claim([D1000], insured=LV_RES, institution=BETHUNE)
    run_case(c, dict(ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", cash="1000.00",
                        notices=["institution_not_designated"]), clause="晋医保发〔2024〕3号 二"))


def test_designated_diseases_for_reads_the_signed_lists_in_force():
    from datetime import date

    from desktop_app.core.pack_files import load_policy
    from desktop_app.core.policy import designated_diseases_for

    pol = load_policy([CODES_PACK])
    assert designated_diseases_for(pol, "H14010000300", "141102", date(2024, 6, 10)) == ("M01904",)
    # the row cites 晋医保发〔2024〕3号: in force 2024-05-01 … 2026-04-30 (有效期2年)
    assert designated_diseases_for(pol, "H14010000300", "141102", date(2024, 5, 1)) == ("M01904",)
    assert designated_diseases_for(pol, "H14010000300", "141102", date(2024, 4, 30)) == ()
    assert designated_diseases_for(pol, "H14010000300", "141102", date(2026, 4, 30)) == ("M01904",)
    assert designated_diseases_for(pol, "H14010000300", "141102", date(2026, 5, 1)) == ()
    assert designated_diseases_for(pol, "H14010000301", "141102", date(2024, 6, 10)) == ()
    # another region's chain does not hold the county pack
    assert designated_diseases_for(pol, "H14010000300", "140100", date(2024, 6, 10)) == ()
    assert designated_diseases_for(pol, "H14010000300", "999999", date(2024, 6, 10)) == ()
