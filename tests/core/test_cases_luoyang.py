"""Hand-worked cases: 洛医保〔2023〕63号 — 洛阳 居民门诊统筹, 大学生, 两病, 生育, 等待期.

Document text (quoted from the document; its reading is in docs/policy-notes.md):
  二(一)1 "各县（含偃师区、孟津区）参保居民在县域内基层定点医疗机构……门诊就医实行自主择医、直接结算……；
           其他城市区参保居民门诊就医实行城市区内（不含偃师区、孟津区）基层定点医疗机构（范围同上）自主择医、
           直接结算。"
  二(一)2 "居民医保普通门诊统筹在基层定点医疗机构不设起付标准，扩展至县级及以上定点医疗机构起付标准按次
           设定，每次50元，一天（自然日）内在同一门诊统筹定点医疗机构多次就诊的负担一次起付标准。……
           基层定点医疗机构支付比例为60%，县级（含一级）定点医疗机构支付比例为50%，在市级及以上定点医疗
           机构的支付比例为40%。居民医保基金年度支付限额提高至280元。"
  二(一)3 "大学生门诊统筹在基层医疗机构就医不设起付线，支付比例为80%；扩展至其他级别定点医疗机构起付标准
           和报销比例参照城乡居民门诊统筹标准和比例执行，年度支付限额为600元。"
  二(一)4 "参保居民个人（家庭）账户就医结算范围参照上述定点医疗机构范围执行。"
  二(二)  "居民医保高血压、糖尿病门诊用药保障政策按原办法执行，年度支付限额240元。"
  四(三)1 职工住院生育: "与我市职工基本医疗保险住院医疗费用起付标准、报销比例、年度支付限额保持一致"
  四(四)  "居民医保生育医疗费限额支付标准调整为自然分娩1000元，剖宫产2000元。"
  六(一)  "我省每年的9月至12月份为居民医保集中缴费期"
  六(二)  "在集中缴费期按规定缴纳居民医保费的城乡居民，享受次年1月1日至12月31日的居民医保待遇。在延长
           缴费期内缴费的城乡居民，享受待遇等待期后至12月31日的相应医保待遇。"
  六(三)  "在延长缴费期间缴纳当年居民医保费的城乡居民，待遇等待期为30天，缴费满30天后享受居民医保待遇，
           医保基金不追溯支付待遇等待期期间及之前发生的医疗费用。" (新生儿、困难群众、转移接续 除外)
  末      "本通知自2024年1月1日起执行" (no stated expiry).
Readings from docs/policy-notes.md: 50 元 once per day per institution (deductible
already charged that day at the same institution is subtracted); 两病 ratio/deductible
open → exit 3; 生育 fund = min(政策范围内, limit), ratio 1.0000; 职工生育 open → exit 3;
「缴费满30天」 counted from the day after payment (民法典 第二百零一条): first covered day paid_on + 31;
a 集中缴费期 payment covers the next calendar year, a 延长缴费期 payment its own year; a visit outside
the settle range (county residents: their county; others: the city districts) gets no fund and no
account (notice institution_not_designated); no 乙类先行自付 and no cross-province reduction in this
text; resident account usable. 县域 codes (resources/regions/admdvs.csv, 统计用区划代码 2023): 偃师区
410307, 孟津区 410308, 新安县 410323 … 伊川县 410329; 城市区 老城 410302, 西工 410303, 瀍河 410304,
涧西 410305, 洛龙 410311 (and 410300 itself).
Default claim: 洛阳 (410300) resident at a 基层 clinic in 410300, 2024-03-01.
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

LY2 = "洛医保〔2023〕63号 二(一)2"
LY3 = "洛医保〔2023〕63号 二(一)3"
LY4 = "洛医保〔2023〕63号 二(一)4"
LYM = "洛医保〔2023〕63号 四(四)"
LYW = "洛医保〔2023〕63号 六(三)"
LYC = "洛医保〔2023〕63号 六(二)"
LY1 = "洛医保〔2023〕63号 二(一)1"
INSURED = dict(DEFAULT_INSURED, admdvs="410300")
INST = dict(DEFAULT_INSTITUTION, code="H41030000001", admdvs="410300", level="primary", price_class=3)
COUNTY_INS = {"admdvs": "410323"}  # 新安县
COUNTY = {"code": "H41032300001", "admdvs": "410323", "level": "county"}
CITY = {"code": "H41030000100", "level": "city"}
STUDENT = {"category": "student"}


def claim(items, **kw):
    return base_claim(items, base_insured=INSURED, base_institution=INST, **kw)


def a(price, qty="1", pay_std=None):
    return item("XA01", "drug", "01", qty, price, pay_std)


def svc(price, lv="01", code="XS01"):
    return item(code, "service", lv, "1", price)


def go_hist(date, hifp, dedc="0.00", institution="H41032300001"):
    return hist(date, hifp=hifp, dedc=dedc, institution=institution)


def contrib(paid_on, extended=True, exempt=False):
    return {"contribution": {"paid_on": paid_on, "in_extended_period": extended, "waiting_exempt": exempt}}


def mat(items, delivery, **kw):
    return claim(items, benefit="maternity_delivery", delivery=delivery,
                 institution={"code": "H41030000200", "level": "county"}, **kw)


A100 = a("100.00")
A200 = a("200.00")

CASES = [
    # ---------------- levels ----------------
    case("primary-60-no-deductible", LY2, claim([A100]),
         # 基层: no deductible, 60%: 60.00; cash 40.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("county-50-plus-50pct", LY2, claim([A200], insured=COUNTY_INS, institution=COUNTY),
         # 县级: 50 + 50%: (200−50)×50%=75.00; cash 125.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.5000", hifp="75.00", cash="125.00")),
    case("city-50-plus-40pct", LY2, claim([A200], institution=CITY),
         # 市级: 50 + 40%: 150×40%=60.00; cash 140.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.4000", hifp="60.00", cash="140.00")),
    case("county-insured-primary", LY2,
         claim([A100], insured=COUNTY_INS, institution={"code": "H41032300009", "admdvs": "410323"}),
         # 410323 resident at a 基层 clinic → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("county-below-deductible", LY2, claim([a("30.00")], insured=COUNTY_INS, institution=COUNTY),
         # 30 < 50 → deductible charged 30.00; fund 0
         ok(medfee="30.00", inscp="30.00", dedc="30.00", ratio="0.5000", hifp="0.00", cash="30.00")),

    # ---------------- 一天内同一机构只负担一次起付标准 ----------------
    case("same-day-same-institution-no-second-deductible", LY2,
         claim([A200], insured=COUNTY_INS, institution=COUNTY,
               history=[go_hist("2024-03-01", "75.00", dedc="50.00")]),
         # 50 already borne today here → 0; 200×50%=100.00 (cap 280−75=205 left); cash 100.00
         ok(medfee="200.00", inscp="200.00", dedc="0.00", ratio="0.5000", hifp="100.00", cash="100.00")),
    case("same-day-other-institution-deductible-again", LY2,
         claim([A200], insured=COUNTY_INS, institution=COUNTY,
               history=[go_hist("2024-03-01", "75.00", dedc="50.00", institution="H41032300002")]),
         # another institution → 50 again: 75.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.5000", hifp="75.00", cash="125.00")),
    case("previous-day-same-institution-deductible-again", LY2,
         claim([A200], insured=COUNTY_INS, institution=COUNTY,
               history=[go_hist("2024-02-29", "75.00", dedc="50.00")]),
         # another calendar day → 50 again: 75.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.5000", hifp="75.00", cash="125.00")),
    case("same-day-partial-deductible-rest", LY2,
         claim([A200], insured=COUNTY_INS, institution=COUNTY,
               history=[go_hist("2024-03-01", "0.00", dedc="30.00")]),
         # first visit bore 30 of the 50 → 20 left: (200−20)×50%=90.00; cash 110.00
         ok(medfee="200.00", inscp="200.00", dedc="20.00", ratio="0.5000", hifp="90.00", cash="110.00")),

    case("same-date-last-year-deductible-again", LY2,
         claim([A200], date="2025-03-01", insured=COUNTY_INS, institution=COUNTY,
               history=[go_hist("2024-03-01", "75.00", dedc="50.00")]),
         # per-day deductible uses only the visit's day: 2024-03-01 is another day → 50 again: 75.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.5000", hifp="75.00", cash="125.00")),

    # ---------------- cap 280 ----------------
    case("cap-280-last-year-not-counted", LY2,
         claim([A100], date="2025-01-02", history=[go_hist("2024-12-31", "280.00", institution="H41030000001")]),
         # 2024's 280 does not count in 2025: 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("cap-280", LY2, claim([A100], history=[go_hist("2024-02-01", "250.00", institution="H41030000001")]),
         # 60 but 280−250=30 left → 30.00; cash 70.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="30.00", cash="70.00",
            notices=["annual_cap_reached"])),
    case("cap-280-exhausted", LY2, claim([A100], history=[go_hist("2024-02-01", "280.00")]),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="0.00", cash="100.00",
            notices=["annual_cap_reached"])),

    # ---------------- 大学生 ----------------
    case("student-primary-80", LY3, claim([A100], insured=STUDENT),
         # 大学生 基层 80%: 80.00; cash 20.00
         ok(medfee="100.00", inscp="100.00", ratio="0.8000", hifp="80.00", cash="20.00")),
    case("student-cap-600", LY3, claim([A100], insured=STUDENT, history=[go_hist("2024-02-01", "550.00")]),
         # 600−550=50 left; 80 → 50.00; cash 50.00
         ok(medfee="100.00", inscp="100.00", ratio="0.8000", hifp="50.00", cash="50.00",
            notices=["annual_cap_reached"])),
    case("student-over-280-below-600", LY3, claim([A100], insured=STUDENT, history=[go_hist("2024-02-01", "300.00")]),
         # the resident cap 280 does not apply to a student: 300 used, 300 left → 80.00
         ok(medfee="100.00", inscp="100.00", ratio="0.8000", hifp="80.00", cash="20.00")),
    case("student-county-50-plus-50pct", LY2,
         claim([A200], insured={**STUDENT, **COUNTY_INS}, institution=COUNTY),
         # other levels "参照城乡居民": 50 + 50%: 75.00
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.5000", hifp="75.00", cash="125.00")),
    case("student-city-50-plus-40pct", LY2, claim([A200], insured=STUDENT, institution=CITY),
         ok(medfee="200.00", inscp="200.00", dedc="50.00", ratio="0.4000", hifp="60.00", cash="140.00")),

    # ---------------- 两病 ----------------
    case("two-diseases-parameter-missing", "洛医保〔2023〕63号 二(二)", claim([A100], benefit="two_diseases"),
         # "按原办法执行": 原办法 not in the set → ratio / deductible unknown
         err(3, "policy_parameter_missing", parameter={"deductible", "ratio"})),

    # ---------------- 生育 ----------------
    case("maternity-natural-limit-1000", LYM, mat([svc("1500.00")], "natural"),
         # 自然分娩 限额 1000: min(1500, 1000)=1000.00; cash 500.00
         ok(medfee="1500.00", inscp="1500.00", ratio="1.0000", hifp="1000.00", cash="500.00")),
    case("maternity-natural-under-limit", LYM, mat([svc("800.00")], "natural"),
         # min(800, 1000)=800.00; cash 0
         ok(medfee="800.00", inscp="800.00", ratio="1.0000", hifp="800.00", cash="0.00")),
    case("maternity-cesarean-limit-2000", LYM, mat([svc("3000.00")], "cesarean"),
         ok(medfee="3000.00", inscp="3000.00", ratio="1.0000", hifp="2000.00", cash="1000.00")),
    case("maternity-cesarean-under-limit", LYM, mat([svc("1500.00")], "cesarean"),
         ok(medfee="1500.00", inscp="1500.00", ratio="1.0000", hifp="1500.00", cash="0.00")),
    case("maternity-c-item-outside-limit", LYM, mat([svc("900.00"), svc("300.00", lv="03", code="XC01")], "natural"),
         # 丙类 300 全自费; 政策范围内 900 < 1000 → 900.00; cash 300.00
         ok(medfee="1200.00", ful="300.00", inscp="900.00", ratio="1.0000", hifp="900.00", cash="300.00")),
    case("maternity-employee-parameter-missing", "洛医保〔2023〕63号 四(三)1",
         mat([svc("3000.00")], "natural", insured={"insutype": "310", "category": "employee_active"}),
         # "与我市职工基本医疗保险住院……保持一致": those numbers are not in the set
         err(3, "policy_parameter_missing", parameter={"deductible", "ratio", "annual_cap"})),

    # ---------------- 待遇等待期 ----------------
    case("waiting-day-29", LYW, claim([A100], date="2024-03-30", insured=contrib("2024-03-01")),
         # paid 03-01 in the extended period; the 30 days run 03-02 … 03-31 → fund 0; cash 100
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"])),
    case("waiting-day-30-still-waiting", LYW, claim([A100], date="2024-03-31", insured=contrib("2024-03-01")),
         # 民法典 第二百零一条: the day of payment is not counted → 03-31 is day 30, 满30天 only at its end
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("waiting_period", "2024-04-01")])),
    case("waiting-first-covered-day-04-01", LY2, claim([A100], date="2024-04-01", insured=contrib("2024-03-01")),
         # paid_on + 31 = 04-01 → benefit applies: 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("waiting-over-february-03-01-refused", LYW,
         claim([A100], date="2024-03-01", insured=contrib("2024-01-31")),
         # paid 01-31: 30 days = 02-01 … 03-01 (2024 has 02-29) → 03-01 still waiting
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("waiting_period", "2024-03-02")])),
    case("waiting-over-february-03-02-paid", LY2, claim([A100], date="2024-03-02", insured=contrib("2024-01-31")),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("waiting-exempt", LY2, claim([A100], date="2024-03-10", insured=contrib("2024-03-01", exempt=True)),
         # 新生儿、困难群众等 除外 → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("paid-in-normal-period", LY2,
         claim([A100], date="2024-01-05", insured=contrib("2023-11-15", extended=False)),
         # 集中缴费期 payment → no waiting period → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    # ---------------- 待遇保障期 六(二) ----------------
    case("central-period-covers-next-jan-01", LYC,
         claim([A100], date="2024-01-01", insured=contrib("2023-12-31", extended=False)),
         # paid in the 集中缴费期 (9–12月) of 2023 → 2024-01-01 … 2024-12-31: 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("central-period-covers-to-dec-31", LYC,
         claim([A100], date="2024-12-31", insured=contrib("2023-09-01", extended=False)),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("central-period-not-the-payment-year", LYC,
         claim([A100], date="2024-11-01", insured=contrib("2024-10-10", extended=False)),
         # a 2024-10-10 payment is for 2025: a 2024 visit is in a year not paid for → fund 0
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("coverage_period", "2025")])),
    case("central-period-ends-dec-31", LYC,
         claim([A100], date="2025-01-01", insured=contrib("2023-10-10", extended=False)),
         # paid for 2024 only: 2025-01-01 not covered
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("coverage_period", "2024")])),
    case("extended-period-to-dec-31", LYC, claim([A100], date="2024-12-31", insured=contrib("2024-03-01")),
         # 延长缴费期: after the wait to 12-31 of that year: 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("extended-period-not-next-year", LYC, claim([A100], date="2025-01-01", insured=contrib("2024-03-01")),
         # 2025 not paid for → fund 0
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("coverage_period", "2024")])),
    case("central-period-first-day-09-01", LYC,
         claim([A100], date="2024-09-15", insured=contrib("2024-09-01", extended=False)),
         # 09-01 is in the 集中缴费期 → pays for 2025; a 2024 visit → fund 0
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["waiting_period"], trace_has=[("coverage_period", "2025")])),
    case("paid-08-31-not-central-own-year", LYC,
         claim([A100], date="2024-09-15", insured=contrib("2024-08-31", extended=False)),
         # 08-31 is before the 集中缴费期: a payment for 2024 (reading: policy-notes) → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),

    # ---------------- 就医结算范围 二(一)1 ----------------
    case("county-resident-other-county", LY1,
         claim([A100], insured={**COUNTY_INS, "acct_balance": "100.00"},
               institution={"code": "H41032400001", "admdvs": "410324"}),
         # 新安县 resident at a 栾川县 基层 clinic: outside 县域 → no pooling; 二(一)4: no account either
         # → cash 100.00
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["institution_not_designated"], trace_has=[("settle_range", "0.00")])),
    case("county-resident-in-city-district", LY1,
         claim([A100], insured=COUNTY_INS, institution={"code": "H41030200001", "admdvs": "410302"}),
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["institution_not_designated"])),
    case("city-district-resident-in-yanshi", LY1,
         claim([A100], insured={"admdvs": "410302"}, institution={"code": "H41030700001", "admdvs": "410307"}),
         # 老城区 resident at a 偃师区 clinic: 城市区内（不含偃师区、孟津区） → no pooling
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["institution_not_designated"])),
    case("city-district-resident-other-district", LY1,
         claim([A100], insured={"admdvs": "410302", "acct_balance": "10.00"},
               institution={"code": "H41031100001", "admdvs": "410311"}),
         # 老城区 resident at a 洛龙区 clinic: both city districts → 60.00; account 10.00; cash 30.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", acct="10.00", cash="30.00")),
    case("yanshi-resident-in-yanshi", LY1,
         claim([A100], insured={"admdvs": "410307"}, institution={"code": "H41030700001", "admdvs": "410307"}),
         # 偃师区 counts as a county: in its own 县域 → 60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("mengjin-resident-in-city-district", LY1,
         claim([A100], insured={"admdvs": "410308"}, institution={"code": "H41030300001", "admdvs": "410303"}),
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["institution_not_designated"])),
    case("waiting-county-no-deductible-charged", LYW,
         claim([A200], date="2024-03-30", insured={**COUNTY_INS, **contrib("2024-03-01")}, institution=COUNTY),
         # no benefit during the wait → no fund; cash 200.00
         ok(medfee="200.00", inscp="200.00", ratio=None, hifp="0.00", cash="200.00",
            notices=["waiting_period"])),

    case("waiting-maternity", LYW, mat([svc("1500.00")], "natural", date="2024-03-30",
                                       insured=contrib("2024-03-01")),
         # the waiting period holds for every 居民医保 benefit: fund 0; cash 1500.00
         ok(medfee="1500.00", inscp="1500.00", ratio=None, hifp="0.00", cash="1500.00",
            notices=["waiting_period"])),

    # ---------------- no 乙类先行自付, no cross-province reduction ----------------
    case("b-drug-no-preselfpay", LY2, claim([item("XB01", "drug", "02", "1", "100.00")]),
         # the Luoyang text sets no 先行自付 share: 100×60%=60.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("other-province-outside-settle-range", LY1,
         claim([A100], institution={"admdvs": "140100", "code": "H14010000001"}),
         # a 太原 clinic is outside the 洛阳 settle range (二(一)1) → no pooling; cash 100.00
         ok(medfee="100.00", inscp="100.00", ratio=None, hifp="0.00", cash="100.00",
            notices=["institution_not_designated"])),
    case("c-item-fulamt", LY2, claim([svc("20.00", lv="03", code="XC01"), a("80.00")]),
         # 丙类 20 全自费; 80×60%=48.00; cash 52.00
         ok(medfee="100.00", ful="20.00", inscp="80.00", ratio="0.6000", hifp="48.00", cash="52.00")),
    case("pay-std-overlimit", LY2, claim([a("12.00", qty="5", pay_std="10.00")]),
         # 超限价 5×2=10.00; 50×60%=30.00; cash 60−30=30.00
         ok(medfee="60.00", over="10.00", inscp="50.00", ratio="0.6000", hifp="30.00", cash="30.00")),

    # ---------------- 个人（家庭）账户 ----------------
    case("resident-account-10", LY4, claim([A100], insured={"acct_balance": "10.00"}),
         # fund 60.00; person 40.00: account 10.00, cash 30.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", acct="10.00", cash="30.00")),
    case("resident-account-covers", LY4, claim([A100], insured={"acct_balance": "100.00"}),
         # account pays the whole person's part 40.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", acct="40.00", cash="0.00")),
    case("resident-account-not-used", LY2, claim([A100], insured={"acct_balance": "100.00"}, use_account=False),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),

    # ---------------- dates / regions ----------------
    case("before-2023-12-31", "洛医保〔2023〕63号 执行日期", claim([A100], date="2023-12-31"),
         # 本通知自2024年1月1日起执行
         err(3, "no_policy_in_force")),
    case("start-2024-01-01", LY2, claim([A100], date="2024-01-01"),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("no-expiry-2030", LY2, claim([A100], date="2030-06-01"),
         # no stated validity → still in force
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00")),
    case("henan-other-city-no-document", "洛医保〔2023〕63号 (洛阳 only)",
         claim([A100], insured={"admdvs": "410100"}, institution={"admdvs": "410100", "code": "H41010000001"}),
         # 郑州 410100: no document for it in the set (豫医保办〔2023〕71号 text is not in the set)
         err(3, "no_policy_in_force")),

    case("employee-general-outpatient-not-covered", "洛医保〔2023〕63号 (居民门诊统筹 only)",
         claim([A100], insured={"insutype": "310", "category": "employee_active"}),
         # the Luoyang text sets 门诊统筹 for 居民 only; nothing for 职工 普通门诊 in the set
         err(3, "no_policy_in_force")),

    # ---------------- rounding ----------------
    case("round-county-0.005", LY2, claim([a("50.01")], insured=COUNTY_INS, institution=COUNTY),
         # (50.01−50)×50%=0.005 → 0.01 (half-up); cash 50.00
         ok(medfee="50.01", inscp="50.01", dedc="50.00", ratio="0.5000", hifp="0.01", cash="50.00")),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)


# ---------------- #18.3: the 围产 lump sum and a pack that supplies the employee numbers ----------------
# 洛医保〔2023〕63号 四(三)1③: 「围产保健……由基本医保基金定额结算，350元/例，随住院医疗费用一并支付」.
# The employee 起付/比例/限额 are "与我市职工基本医疗保险……保持一致" (not in the document set): a
# test-only county pack (tests/core/data, made-up 0.00 / 80% / 100,000) supplies them. The fund never pays
# more than the bill, so the lump sum is paid up to what the fund has not yet paid.
EMPLOYEE_MATERNITY_PACK = Path(__file__).parent / "data" / "test-410322-employee-maternity"
EMP_MAT = {"admdvs": "410322", "insutype": "310", "category": "employee_active"}  # the test pack's region


def test_prenatal_lump_sum_is_paid_in_full_when_the_bill_leaves_room():
    from desktop_app.core.pack_files import load_policy

    pol = load_policy([EMPLOYEE_MATERNITY_PACK])
    # 5000.00 × 80% = 4000.00; + 350.00 lump sum = 4350.00 ≤ 5000.00; person 650.00
    c = claim([item("XS01", "service", "01", "1", "5000.00")], benefit="maternity_delivery", delivery="natural",
              insured=EMP_MAT, institution=COUNTY)
    exp = ok(medfee="5000.00", inscp="5000.00", ratio="0.8000", hifp="4350.00", cash="650.00",
             trace_has=(("prenatal_lump_sum", "350.00"),))
    run_case(c, dict(exp, clause="洛医保〔2023〕63号 四(三)1③"), pol)


def test_prenatal_lump_sum_never_makes_the_persons_part_negative():
    from desktop_app.core.pack_files import load_policy

    pol = load_policy([EMPLOYEE_MATERNITY_PACK])
    # 1000.00 × 80% = 800.00; 200.00 of the bill is left → lump sum 200.00 (not 350.00): fund 1000.00, person 0.00
    c = claim([item("XS01", "service", "01", "1", "1000.00")], benefit="maternity_delivery", delivery="natural",
              insured=EMP_MAT, institution=COUNTY)
    exp = ok(medfee="1000.00", inscp="1000.00", ratio="0.8000", hifp="1000.00", cash="0.00",
             trace_has=(("prenatal_lump_sum", "200.00"),))
    run_case(c, dict(exp, clause="洛医保〔2023〕63号 四(三)1③"), pol)
