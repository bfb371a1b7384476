"""Step 2 of the engine: may the fund pay for this visit at all? Each rule that says no refuses the
fund for the whole claim with a notice of the contract and a trace step citing its clause.

In order: 待遇保障期 (the year the contribution pays for), 待遇等待期, where a resident may settle
(洛阳 门诊统筹就医结算范围), the registered disease, the designated institution (with the documents'
level rule), the assisted-reproduction approval. Readings: docs/policy-notes.md.
"""

from __future__ import annotations

from datetime import date, timedelta

from desktop_app.core.engine_state import State
from desktop_app.core.model import LEVELS, TraceStep
from desktop_app.core.policy import designated_diseases_for

# 「缴费满30天后享受」: a period counted in days does not count its first day (the day of payment).
CIVIL_CODE_201 = "《中华人民共和国民法典》第二百零一条（按照日计算期间的，开始的当日不计入，自下一日开始计算）"
# 集中缴费期: September to December (洛医保〔2023〕63号 六(一) 「每年的9月至12月份为居民医保集中缴费期」)
CENTRAL_PERIOD_FIRST_MONTH = 9


def check(st: State) -> None:
    """Every eligibility rule in force for the claim; each refusal is a notice and a trace step."""
    if st.claim.insured.contribution is not None:
        _contribution(st)
    _settle_range(st)
    _registration(st)
    _designation(st)
    ap = st.get("requires_art_approval")
    if ap is not None and ap.value is True and not st.claim.institution.art_approved:
        inst = st.claim.institution
        st.refuse("institution_not_designated",
                  f"机构 {inst.code} 未经卫生健康部门批准开展人类辅助生殖技术，统筹基金不予支付（{ap.cite}）。",
                  TraceStep("institution_not_designated", "0.00", ap.cite, "非批准开展辅助生殖技术的定点机构"),
                  "art_not_approved")


def covered_year(paid_on: date, in_extended_period: bool) -> int:
    """The year a resident's contribution pays for: paid in the 集中缴费期 (September–December) → the next
    year; paid in the 延长缴费期 → that year (「缴纳当年居民医保费」); paid January–August outside the
    延长缴费期 (no 集中缴费期 then) → that year, too."""
    if not in_extended_period and paid_on.month >= CENTRAL_PERIOD_FIRST_MONTH:
        return paid_on.year + 1
    return paid_on.year


def first_covered_day(paid_on: date, waiting_days: int) -> date:
    """「缴费满N天后享受」: the N days start the day after payment (民法典 第二百零一条), so the first
    covered day is paid_on + N + 1 (paid 03-01, 30 days → 04-01)."""
    return paid_on + timedelta(days=waiting_days + 1)


def _contribution(st: State) -> None:
    """待遇保障期, then 待遇等待期, from `insured.contribution`."""
    c = st.claim.insured.contribution
    day = st.day
    cy = st.get("coverage_year_by_payment")
    if cy is not None and cy.value is True:
        year = covered_year(c.paid_on, c.in_extended_period)
        if day.year != year:
            when = "延长缴费期" if c.in_extended_period else (
                "集中缴费期" if c.paid_on.month >= CENTRAL_PERIOD_FIRST_MONTH else "非集中缴费期")
            st.refuse("waiting_period",
                      f"待遇保障期：{c.paid_on} 在{when}缴费，享受 {year} 年的居民医保待遇；就诊日 {day} "
                      f"不在该年度内，本次费用统筹基金不予支付（{cy.cite}）。",
                      TraceStep("coverage_period", str(year), cy.cite, f"缴费对应 {year} 年待遇，就诊不在该年度"),
                      "not_covered_year")
            return
    wp = st.get("waiting_days")
    if wp is not None and c.in_extended_period and not c.waiting_exempt:
        first = first_covered_day(c.paid_on, wp.value)
        if day < first:
            basis = f"{wp.cite}；{CIVIL_CODE_201}"
            st.refuse("waiting_period",
                      f"待遇等待期：{c.paid_on} 在延长缴费期缴费，缴费满 {wp.value} 天后享受待遇（缴费当日不计入），"
                      f"{first} 起享受；本次费用统筹基金不予支付（{basis}）。",
                      TraceStep("waiting_period", first.isoformat(), basis, "待遇等待期内，基金不支付"), "waiting")


def _settle_range(st: State) -> None:
    """洛阳 二(一)1: county residents (含偃师区、孟津区) settle in their own county, the other residents in
    the city districts (不含偃师区、孟津区); 二(一)4: the personal (family) account within the same range."""
    rp = st.get("settle_range_counties")
    if rp is None:
        return
    pa = st.claim.insured.admdvs
    inst = st.claim.institution
    ia = inst.admdvs
    counties = rp.value
    if pa in counties:
        inside, where = ia == pa, f"参保地所在县（区划 {pa}）"
    else:
        inside, where = ia[:4] == pa[:4] and ia not in counties, f"城市区（区划 {pa[:4]}xx，不含县及偃师区、孟津区）"
    if inside:
        return
    st.acct_blocked = True
    au = st.get("account_usable", soft=True)
    acct = f"；个人（家庭）账户也不能支付（{au.cite}）" if au is not None and au.value is True else ""
    st.refuse("institution_not_designated",
              f"机构 {inst.code}（区划 {ia}）不在参保人门诊统筹就医结算范围内：参保地 {pa} 的居民在{where}的定点"
              f"医疗机构就医结算，本次费用统筹基金不予支付（{rp.cite}）{acct}。",
              TraceStep("settle_range", "0.00", rp.cite, f"就医机构不在{where}"), "outside_settle_range")


def _registration(st: State) -> None:
    rp = st.get("requires_registration")
    claim = st.claim
    if rp is not None and rp.value is True and claim.disease not in claim.insured.registered_diseases:
        st.refuse("disease_not_registered",
                  f"参保人未在参保地经办机构登记备案病种 {claim.disease}，统筹基金不予支付（{rp.cite}）。",
                  TraceStep("disease_not_registered", "0.00", rp.cite, "病种未登记备案"))


def _designation(st: State) -> None:
    """定点救治医疗机构: designated by the claim (institution.designated_diseases) or by a signed pack's
    institution list (the person's chain, where a county pack may give codes, and the institution's
    region); and of a level the documents allow (二级及以上: not 基层)."""
    dp = st.get("requires_designation")
    if dp is None or dp.value is not True:
        return
    claim = st.claim
    inst = claim.institution
    disease = claim.disease
    designated = disease in inst.designated_diseases or disease in designated_diseases_for(
        st.policy, inst.code, claim.insured.admdvs, st.day) or disease in designated_diseases_for(
        st.policy, inst.code, inst.admdvs, st.day)
    if not designated:
        st.refuse("institution_not_designated",
                  f"机构 {inst.code} 不是病种 {disease} 的定点救治医疗机构，统筹基金不予支付（{dp.cite}）。",
                  TraceStep("institution_not_designated", "0.00", dp.cite, "非定点救治医疗机构"), "not_designated")
        return
    lp = st.get("designation_levels")
    if lp is not None and inst.level not in lp.value:
        allowed = "、".join(LEVELS[x] for x in lp.value)
        st.refuse("institution_not_designated",
                  f"机构 {inst.code} 为{LEVELS[inst.level]}医疗机构：病种 {disease} 的定点救治医疗机构限于"
                  f"{lp.note or allowed}（级别 {allowed}），其定点不予认可，统筹基金不予支付（{lp.cite}）。",
                  TraceStep("institution_not_designated", "0.00", lp.cite,
                            f"{LEVELS[inst.level]}医疗机构不能作为定点救治医疗机构（限 {allowed}）"),
                  "level_not_designated")
