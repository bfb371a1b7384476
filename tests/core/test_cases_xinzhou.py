"""Hand-worked cases: 忻医保发〔2023〕12号 — 忻州 family-doctor 60%.

Document text (quoted from the document; its reading is in docs/policy-notes.md):
  "我市家庭医生签约的参保居民在定点基层医疗机构门诊就医的,门诊统筹支付比例为60%,待条件成熟后适当提高。"
  It forwards 晋医保发〔2023〕16号 ("一并贯彻执行"), which starts 2024-01-01 and runs 5 years;
  the province text allows the raise only 「家庭医生签约的参保居民在签约定点基层医疗机构门诊就医的」.
Readings from docs/policy-notes.md: applies to a 忻州 (1409xx) resident at the **primary-level**
institution the person signed with (`family_doctor_at` = `institution.code`), whatever the price
class (the 一类 80 deductible still applies), from 2024-01-01 until the province notice ends;
at any other institution the ordinary ratio. Everything else (5% 乙类药, cap 300, cross-province −10) comes from 16号.
Default claim: 忻府区 (140902) resident signed at H14090200001, visiting that
二类 primary institution on 2024-03-01.
"""

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

XZ = "忻医保发〔2023〕12号 正文"
J16 = "晋医保发〔2023〕16号 一"
INSURED = dict(DEFAULT_INSURED, admdvs="140902", family_doctor_at="H14090200001")
INST = dict(DEFAULT_INSTITUTION, code="H14090200001", admdvs="140902", level="primary", price_class=2)


def claim(items, **kw):
    return base_claim(items, base_insured=INSURED, base_institution=INST, **kw)


def a(price, qty="1"):
    return item("XA01", "drug", "01", qty, price)


NO_FD = {"family_doctor_at": None}

CASES = [
    case("fd-140902-primary-class2-60", XZ, claim([a("100.00")]),
         # 签约 + 基层 → 60% instead of the 二类 55%; 100×60%=60.00; cash 40.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("fd-140900-city-code", XZ, claim([a("100.00")], insured={"admdvs": "140900"}),
         # 忻州 city code itself → same 60%
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("fd-140921-other-county", XZ, claim([a("100.00")], insured={"admdvs": "140921"}),
         # another 忻州 county (no county pack) → 忻州 city pack → 60%
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("fd-county-level-stays-55", "晋医保发〔2023〕16号 一; 忻医保发〔2023〕12号 (基层 only)",
         claim([a("100.00")], institution={"level": "county", "code": "H14090200021"}),
         # not 基层 → province 二类 55%; 55.00
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("fd-city-level-stays-55", "晋医保发〔2023〕16号 一; 忻医保发〔2023〕12号 (基层 only)",
         claim([a("100.00")], institution={"level": "city", "code": "H14090200031"}),
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("no-contract-primary-55", "晋医保发〔2023〕16号 一; 忻医保发〔2023〕12号 (签约 only)",
         claim([a("100.00")], insured=NO_FD),
         # no family-doctor contract → 55%
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("no-contract-primary-class3-60", J16,
         claim([a("100.00")], insured=NO_FD, institution={"price_class": 3}),
         # 三类 is 60% anyway
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("no-contract-class1", J16,
         claim([a("200.00")], insured=NO_FD, institution={"price_class": 1}),
         # 一类: 80 + 45%; (200−80)×45%=54.00; cash 146.00
         ok(medfee="200.00", inscp="200.00", dedc="80.00", ratio="0.4500", hifp="54.00", cash="146.00")),
    case("fd-primary-class3-60", XZ, claim([a("100.00")], institution={"price_class": 3}),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("fd-primary-class1-60-keeps-80", XZ, claim([a("200.00")], institution={"price_class": 1}),
         # 60% whatever the price class, 一类 deductible 80 still: (200−80)×60%=72.00; cash 128.00
         ok(medfee="200.00", inscp="200.00", dedc="80.00", ratio="0.6000", hifp="72.00", cash="128.00")),
    case("fd-signed-elsewhere-55", "晋医保发〔2023〕16号 一 (在签约定点基层医疗机构)",
         claim([a("100.00")], insured={"family_doctor_at": "H14090200099"}),
         # signed with another clinic: 「在签约定点基层医疗机构」 only → the ordinary 二类 55%: 55.00
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("fd-unsigned-primary-in-taiyuan-55", "晋医保发〔2023〕16号 一 (在签约定点基层医疗机构)",
         claim([a("100.00")], institution={"admdvs": "140100", "code": "H14010000012"}),
         # a 太原 基层 clinic that is not the signed one → 55.00
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),
    case("fd-signed-primary-in-taiyuan-60", XZ,
         claim([a("100.00")], insured={"family_doctor_at": "H14010000012"},
               institution={"admdvs": "140100", "code": "H14010000012"}),
         # signed with a 太原 基层 clinic and visiting it: 省内 → 参保地待遇 (16号 二): 60%
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("fd-primary-cross-province-45", "晋医保发〔2023〕16号 二",
         claim([a("100.00")], institution={"admdvs": "110105", "code": "H11010500001"}),
         # 60% is for 基层 in the province; cross-province: 二类 55% − 10 points = 45%; 45.00
         ok(medfee="100.00", inscp="100.00", ratio="0.4500", hifp="45.00", cash="55.00")),
    case("fd-b-drug-5pct", XZ, claim([item("XB01", "drug", "02", "1", "100.00")]),
         # 5% 先行自付 (16号 一) = 5.00; 95×60%=57.00; cash 43.00
         ok(medfee="100.00", pre="5.00", inscp="95.00", ratio="0.6000", hifp="57.00", cash="43.00")),
    case("fd-cap-300", XZ,
         claim([a("100.00")], history=[hist("2024-02-01", hifp="280.00", institution="H14090200001")]),
         # 60 but 300−280=20 left → 20.00; cash 80.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="20.00", cash="80.00",
            notices=["annual_cap_reached"])),
    case("taiyuan-resident-at-xinzhou-primary", J16,
         claim([a("100.00")], insured={"admdvs": "140100", "family_doctor_at": "H14010000001"}),
         # 参保地 太原 chooses the pack: no 忻州 uplift → 二类 55%
         ok(medfee="100.00", inscp="100.00", ratio="0.5500", hifp="55.00", cash="45.00")),

    # ---------------- dates ----------------
    case("before-2024-01-01", "忻医保发〔2023〕12号; 晋医保发〔2023〕16号 执行日期",
         claim([a("100.00")], date="2023-12-31"),
         # the city text forwards 16号, which starts 2024-01-01
         err(3, "no_policy_in_force")),
    case("start-2024-01-01", XZ, claim([a("100.00")], date="2024-01-01"),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("last-day-2028-12-31", XZ, claim([a("100.00")], date="2028-12-31"),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("expired-2029-01-01", "忻医保发〔2023〕12号; 晋医保发〔2023〕16号 有效期5年",
         claim([a("100.00")], date="2029-01-01"),
         err(3, "no_policy_in_force")),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)
