"""The settlement engine: one pure function, `settle(claim, history, policy)`.

Steps, in order (the numbers come from the packs, the order from here):

1. pick the 参保地 pack chain; the benefit must be in force on the visit date;
2. eligibility (`eligibility.py`) — 待遇保障期, waiting period, where the person may
   settle, registered disease, designated institution (and its level), ART approval;
3. per line (`lines.py`) — 丙类/not covered/indication not confirmed → 全自费; count
   limits; part above the payment standard → 超限价; 乙类先行自付 share; the rest is
   政策范围内;
4. deductible (per visit, or once per day per institution);
5. ratio (with the cross-province reduction) or the delivery limit;
6. caps — quarterly, then annual, from this year's history (a cap that does not
   lower the figure left by the one before it writes no notice and no trace step);
7. split past the basic annual cap to 大额/大病 where a pack says so;
8. the person's part: personal account, then 家庭共济, then cash.

Every money figure is rounded half-up to 0.01 where it is produced; totals are
sums of rounded figures, so the contract's identities hold exactly. A trace step
is written only where its rule changed a figure (docs/calc.md: "every step that
changed an amount").
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from desktop_app.core import caps, eligibility, lines
from desktop_app.core.engine_state import PolicyError, State
from desktop_app.core.model import (
    BENEFITS,
    INSUTYPES,
    RELATIONS,
    Claim,
    HistoryEntry,
    Notice,
    Settlement,
    TraceStep,
)
from desktop_app.core.money import ZERO, fmt2, fmt4, q2
from desktop_app.core.policy import Param, PolicySet

_Z = Decimal("0.00")


def settle(claim: Claim, history: Sequence[HistoryEntry], policy: PolicySet) -> Settlement:
    """Compute the full breakdown of one claim. Raises `PolicyError` (exit 3 cases)."""
    st = _in_force(claim, history, policy)
    eligibility.check(st)
    lines.items(st)
    if st.blocked:
        _blocked_ratio(st)
    else:
        _deductible(st)
        fund = _pool_fund(st)
        st.hifp = _caps(st, fund)
        _prenatal_lump_sum(st)
        _fund_split(st)
        _family_doctor_fee(st)
    return _person_part(st)


# ---- 1. the pack chain, the benefit in force ----------------------------------
def _in_force(claim: Claim, history: Sequence[HistoryEntry], policy: PolicySet) -> State:
    ins = claim.insured
    inst = claim.institution
    day = claim.date
    benefit = claim.benefit
    chain = policy.chain_for(ins.admdvs)
    blabel = BENEFITS[benefit] + (f"（病种 {claim.disease}）" if claim.disease else "")
    if chain is None:
        raise PolicyError("no_policy_in_force",
                          f"{day}：参保地 {ins.admdvs} 没有已加载的政策包，无法结算{blabel}。",
                          date=day.isoformat(), benefit=benefit, admdvs=ins.admdvs)
    cross = inst.admdvs[:2] != ins.admdvs[:2]
    ctx = {
        "benefit": benefit,
        "insutype": ins.insutype,
        "category": ins.category,
        "level": inst.level,
        "price_class": inst.price_class,
        "disease": claim.disease,
        "delivery": claim.delivery,
        "cross_province": cross,
        # 「在签约定点基层医疗机构门诊就医的」: at the institution the person signed with, a 基层 one
        "family_doctor": ins.family_doctor_at == inst.code and inst.level == "primary" and not cross,
    }
    st = State(claim, history, chain, ctx, blabel, policy)
    in_force = st.get("in_force", soft=True)
    if in_force is None or in_force.is_open or in_force.value is not True:
        raise PolicyError(
            "no_policy_in_force",
            f"{day}：{INSUTYPES[ins.insutype]}参保人（参保地 {ins.admdvs}）的{blabel}没有在该日生效的政策（已加载的政策包不覆盖该日期、险种或病种）。",
            date=day.isoformat(), benefit=benefit, admdvs=ins.admdvs,
        )
    return st


# ---- 4. deductible --------------------------------------------------------------
def _deductible(st: State) -> None:
    """起付线, per visit or once per day per institution, never more than the 政策范围内 amount."""
    dp = st.get("deductible")
    if dp is None:
        return
    per = st.get("deductible_per")
    ded = dp.value
    already = _Z
    per_day = per is not None and per.value == "day_institution"
    if per_day:
        claim = st.claim
        for h in st.history:
            if h.date == claim.date and h.institution == claim.institution.code and h.benefit == claim.benefit:
                already += h.act_pay_dedc
    st.dedc = min(max(ded - already, _Z), st.sum_in)
    if not st.dedc > 0:
        return
    label = f"起付标准 {fmt2(ded)} 元"
    if per_day:
        label += f"（同日同机构只负担一次，今日已负担 {fmt2(already)} 元）"
    st.trace.append(TraceStep("deductible", fmt2(st.dedc), dp.cite, label))


# ---- 5. ratio or delivery limit ----------------------------------------------------
def _pool_fund(st: State) -> Decimal:
    """统筹基金 before the caps: the delivery limit, or (政策范围内 − 起付线) × ratio."""
    base = st.sum_in - st.dedc
    lim = st.get("delivery_limit")
    if lim is not None:
        st.ratio = Decimal(1)
        fund = min(base, lim.value)
        st.trace.append(TraceStep("delivery_limit", fmt2(fund), lim.cite,
                                  f"限额支付：政策范围内费用 {fmt2(base)} 元，限额 {fmt2(lim.value)} 元"))
        return fund
    rp = st.get("ratio")
    if rp is None:
        inst = st.claim.institution
        raise PolicyError(
            "policy_parameter_missing",
            f"{st.claim.date} 的{st.blabel}在政策包中生效，但没有适用于该机构（级别 {inst.level}、收费类别 "
            f"{inst.price_class}）的统筹基金支付比例。",
            parameter="ratio",
        )
    ratio = rp.value
    r4, pct = _ratio_texts(ratio)
    st.trace.append(TraceStep("ratio", r4, rp.cite, f"统筹基金支付比例 {pct}"))
    if st.ctx["cross_province"]:
        red = st.get("cross_province_ratio_reduction")
        if red is not None:
            ratio = max(ratio - red.value, _Z)
            r4 = _ratio_texts(ratio)[0]
            st.trace.append(TraceStep("cross_province", r4, red.cite,
                                      f"跨省就医，支付比例降低 {red.value * 100:.0f} 个百分点"))
    st.ratio = ratio
    fund = q2(base * ratio)
    st.trace.append(TraceStep("pool_fund", fmt2(fund), rp.cite,
                              f"（{fmt2(st.sum_in)} − 起付 {fmt2(st.dedc)}）× {r4}"))
    return fund


def _blocked_ratio(st: State) -> None:
    """A refused claim pays nothing from the fund; the ratio is still shown where the pack gives one."""
    rp = st.get("ratio", soft=True)
    if rp is not None and not rp.is_open:
        st.ratio = rp.value


_RATIO_TEXTS: dict[Decimal, tuple[str, str]] = {}


def _ratio_texts(ratio: Decimal) -> tuple[str, str]:
    """("0.6000", "60%") of a ratio — a handful of ratios exist, so each is formatted once per process."""
    t = _RATIO_TEXTS.get(ratio)
    if t is None:
        t = _RATIO_TEXTS[ratio] = (fmt4(ratio), f"{ratio * 100:.0f}%")
    return t


# ---- 6. caps --------------------------------------------------------------------
def _caps(st: State, fund: Decimal) -> Decimal:
    """Quarterly and annual caps of the benefit (and disease), from this year's history."""
    claim = st.claim
    scope = caps.scope(st.history, claim.benefit, claim.disease, year=claim.date.year)
    capped = fund
    qp = st.get("quarterly_cap")
    if qp is not None:
        used = caps.quarter_paid(scope, claim.date)
        left = caps.cap_left(qp.value, used)
        if left < capped:
            _cap_reached(st, "quarterly_cap", "本季度", "季度", qp, used, left)
            capped = left
    cp = st.get("annual_cap")
    if cp is not None:
        used = caps.year_paid(scope)
        left = caps.cap_left(cp.value, used)
        # compared with what the quarterly cap left: a cap that lowers nothing says nothing
        if left < capped:
            _cap_reached(st, "annual_cap", "本年度", "年度", cp, used, left)
            capped = left
    return capped


def _cap_reached(st: State, step: str, period: str, kind: str, cap: Param, used: Decimal, left: Decimal) -> None:
    st.notices.append(Notice(f"{step}_reached",
                             f"{period}{st.blabel}已由统筹基金支付 {fmt2(used)} 元，{kind}限额 {fmt2(cap.value)} 元，"
                             f"本次最多支付 {fmt2(left)} 元（{cap.cite}）。"))
    st.trace.append(TraceStep(step, fmt2(left), cap.cite, f"{kind}限额 {fmt2(cap.value)} 元，已用 {fmt2(used)} 元"))


# ---- 7. fund split ----------------------------------------------------------------
def _prenatal_lump_sum(st: State) -> None:
    """围产保健定额, paid with the delivery's bill — never more than the part of the bill the fund has not
    paid yet: the fund pays at most the bill, the person's part is never negative."""
    pl = st.get("prenatal_lump_sum")
    if pl is None:
        return
    left = max(st.sum_amt - st.hifp - st.hifmi - st.hifob, _Z)
    paid = min(pl.value, left)
    st.hifp += paid
    why = "围产保健定额，随住院费用一并支付"
    if paid < pl.value:
        why += f"；定额 {fmt2(pl.value)} 元超过本次医疗费用中基金尚未支付的 {fmt2(left)} 元，按 {fmt2(paid)} 元支付（基金支付不超过医疗费总额）"
    st.trace.append(TraceStep("prenatal_lump_sum", fmt2(paid), pl.cite, why))


def _fund_split(st: State) -> None:
    """The part past the basic annual cap goes to 大病保险 (residents) or 大额补助 (employees)."""
    oc = st.get("over_cap_to_critical_fund")
    if oc is None or oc.value is not True:
        return
    bc = st.get("basic_annual_cap", soft=True)
    if bc is None or bc.is_open:
        basis = bc.cite if bc is not None else oc.cite
        st.trace.append(TraceStep("fund_split", "undetermined", basis,
                                  "基金支付计入年度基本医保最高支付限额，超限部分由大额/大病保险按同比例支付；"
                                  "已加载的政策包未给出该限额，基本医保与大额/大病的分担无法确定，全部记入统筹基金"))
        return
    used = caps.year_paid(caps.scope(st.history, st.claim.benefit, None, year=st.day.year))
    left = caps.cap_left(bc.value, used)
    if st.hifp <= left:
        return
    excess = st.hifp - left
    st.hifp = left
    resident = st.claim.insured.insutype == "390"
    if resident:
        st.hifmi = excess
    else:
        st.hifob = excess
    st.trace.append(TraceStep("fund_split", fmt2(excess), oc.cite,
                              f"超过基本医保年度限额 {fmt2(bc.value)} 元的部分由"
                              f"{'居民大病保险' if resident else '职工大额医疗费用补助'}支付"))


def _family_doctor_fee(st: State) -> None:
    """家庭医生签约服务费: paid by the fund at its own share, outside the caps."""
    if not (st.fd_items and st.fd_inscp > 0):
        return
    sp = st.get("family_doctor_fee_share")
    if sp is not None:
        fd_fund = q2(st.fd_inscp * sp.value)
        st.hifp += fd_fund
        st.trace.append(TraceStep("family_doctor_fee", fmt2(fd_fund), sp.cite,
                                  "家庭医生签约服务费由统筹基金另行支付，不占年度限额"))


# ---- 8. the person's part -----------------------------------------------------------
def _person_part(st: State) -> Settlement:
    """Personal account, then 家庭共济, then cash; returns the settlement."""
    claim = st.claim
    ins = claim.insured
    fund_total = st.hifp + st.hifmi + st.hifob
    psn_part = st.sum_amt - fund_total
    if claim.use_account and ins.acct_balance > 0 and psn_part > 0 and not st.acct_blocked:
        au = st.get("account_usable")
        if au is not None and au.value is True:
            st.acct = min(ins.acct_balance, psn_part)
            st.trace.append(TraceStep("acct_pay", fmt2(st.acct), au.cite,
                                      f"个人账户支付（余额 {fmt2(ins.acct_balance)} 元）"))
    if claim.family_account is not None:
        _family_account(st, psn_part)
    return Settlement(
        medfee_sumamt=st.sum_amt,
        fulamt_ownpay_amt=st.sum_ful,
        overlmt_selfpay=st.sum_over,
        preselfpay_amt=st.sum_pre,
        inscp_scp_amt=st.sum_in + st.fd_inscp,
        act_pay_dedc=st.dedc,
        pool_prop_selfpay=st.ratio,
        hifp_pay=st.hifp,
        hifmi_pay=st.hifmi,
        hifob_pay=st.hifob,
        fund_pay_sumamt=fund_total,
        psn_part_amt=psn_part,
        acct_pay=st.acct,
        acct_mulaid_pay=st.mulaid,
        psn_cash_pay=psn_part - st.acct - st.mulaid,
        items=st.items,
        notices=st.notices,
        trace=st.trace,
        packs=st.chain.pack_versions,
    )


def _family_account(st: State, psn_part: Decimal) -> None:
    """家庭共济: a relative's personal account pays what the person's own account did not."""
    fa = st.claim.family_account
    rel = st.get("family_account_relations")
    if rel is not None and fa.relation in rel.value:
        st.mulaid = min(fa.balance, psn_part - st.acct)
        if st.mulaid > 0:
            st.trace.append(TraceStep("acct_mulaid_pay", fmt2(st.mulaid), rel.cite,
                                      f"家庭共济：{RELATIONS.get(fa.relation, fa.relation)}的个人账户支付"))
        return
    allowed = "、".join(RELATIONS[r] for r in rel.value) if rel is not None else ""
    why = f"只允许{allowed}（{rel.cite}）" if rel is not None else "参保地政策包未规定家庭共济"
    st.notices.append(Notice("family_account_relation_not_allowed",
                             f"家庭共济：{RELATIONS.get(fa.relation, fa.relation)}的个人账户不能支付本次费用，{why}。"))


__all__ = ["ZERO", "PolicyError", "settle"]
