"""The settlement engine: one pure function, `settle(claim, history, policy)`.

Steps, in order (the numbers come from the packs, the order from here):

1. pick the 参保地 pack chain; the benefit must be in force on the visit date;
2. eligibility — waiting period, registered disease, designated institution;
3. per item — 丙类/not covered → 全自费; count limits; part above the payment
   standard → 超限价; 乙类先行自付 share; the rest is 政策范围内;
4. deductible (per visit, or once per day per institution);
5. ratio (with the cross-province reduction) or the delivery limit;
6. caps — quarterly and annual, from this year's history;
7. split past the basic annual cap to 大额/大病 where a pack says so;
8. the person's part: personal account, then 家庭共济, then cash.

Every money figure is rounded half-up to 0.01 where it is produced; totals are
sums of rounded figures, so the contract's identities hold exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from desktop_app.core import caps
from desktop_app.core.model import (
    BENEFITS,
    CLASSES,
    INSUTYPES,
    KINDS,
    RELATIONS,
    Claim,
    HistoryEntry,
    Item,
    ItemResult,
    Notice,
    Settlement,
    TraceStep,
)
from desktop_app.core.money import ZERO, fmt2, fmt4, q2
from desktop_app.core.policy import KEY_LABELS, OPEN, CatalogueItem, Chain, Param, PolicySet
from desktop_app.errors import Refused

_Z = Decimal("0.00")


class PolicyError(Refused):
    """The claim cannot be settled under the loaded policy (contract exit 3)."""

    def __init__(self, code: str, message: str, **extra: str):
        super().__init__(message, code=code)
        self.extra = extra

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class _State:
    """One settlement in progress: the claim, the policy lookup in its context, the figures so far."""

    __slots__ = ("acct", "blabel", "blocked", "chain", "claim", "ctx", "day", "dedc", "fd_inscp", "fd_items",
                 "hifmi", "hifob", "hifp", "history", "items", "mulaid", "notices", "ratio", "sum_amt", "sum_ful",
                 "sum_in", "sum_over", "sum_pre", "trace", "used_counts")

    def __init__(self, claim: Claim, history: Sequence[HistoryEntry], chain: Chain, ctx: dict, blabel: str):
        self.claim = claim
        self.history = history
        self.chain = chain
        self.ctx = ctx  # selectors of the claim, for `get`
        self.day = claim.date
        self.blabel = blabel
        self.notices: list[Notice] = []
        self.trace: list[TraceStep] = []
        self.items: list[ItemResult] = []
        self.blocked = False  # an eligibility step refused the fund
        self.used_counts: dict[str, Decimal] | None = None  # item code → quantity the fund already paid for
        self.sum_amt = self.sum_ful = self.sum_over = self.sum_pre = _Z
        self.sum_in = _Z  # 政策范围内 under the deductible, ratio and caps
        self.fd_inscp = _Z  # 家庭医生签约服务费: paid outside the cap
        self.fd_items = False
        self.dedc = self.ratio = self.hifp = self.hifmi = self.hifob = self.acct = self.mulaid = _Z

    def get(self, key: str, *, soft: bool = False) -> Param | None:
        """The parameter in force for this claim; an open one (另行制定) refuses the claim unless `soft`."""
        p = self.chain.resolve(key, self.ctx, self.day)
        if p is not None and p.value is OPEN and not soft:
            note = f"（{p.note}）" if p.note else ""
            raise PolicyError(
                "policy_parameter_missing",
                f"{self.day} 的{self.blabel}：{KEY_LABELS[key]}由 {p.cite} 留待另行制定{note}，"
                f"已加载的政策包均未给出该数值，无法按医保结算：须由参保地县级医保部门的政策包补充该参数"
                f"（{KEY_LABELS[key]}），同步后即可结算。",
                parameter=key,
                basis=p.cite,
            )
        return p


def settle(claim: Claim, history: Sequence[HistoryEntry], policy: PolicySet) -> Settlement:
    """Compute the full breakdown of one claim. Raises `PolicyError` (exit 3 cases)."""
    st = _in_force(claim, history, policy)
    _eligibility(st)
    _items(st)
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
def _in_force(claim: Claim, history: Sequence[HistoryEntry], policy: PolicySet) -> _State:
    ins = claim.insured
    inst = claim.institution
    day = claim.date
    benefit = claim.benefit
    chain = policy.chain_for(ins.admdvs)
    blabel = BENEFITS[benefit] + (f"（病种 {claim.disease}）" if claim.disease else "")
    who = f"{INSUTYPES[ins.insutype]}参保人（参保地 {ins.admdvs}）"
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
        "family_doctor": ins.family_doctor_at is not None and inst.level == "primary" and not cross,
    }
    st = _State(claim, history, chain, ctx, blabel)
    in_force = st.get("in_force", soft=True)
    if in_force is None or in_force.is_open or in_force.value is not True:
        raise PolicyError(
            "no_policy_in_force",
            f"{day}：{who}的{blabel}没有在该日生效的政策（已加载的政策包不覆盖该日期、险种或病种）。",
            date=day.isoformat(), benefit=benefit, admdvs=ins.admdvs,
        )
    return st


# ---- 2. eligibility -------------------------------------------------------------
def _eligibility(st: _State) -> None:
    """Waiting period, registered disease, designated institution: each one refuses the fund."""
    claim = st.claim
    ins = claim.insured
    inst = claim.institution
    wp = st.get("waiting_days")
    c = ins.contribution
    if wp is not None and c is not None and c.in_extended_period and not c.waiting_exempt:
        first = c.paid_on + timedelta(days=wp.value)
        if claim.date < first:
            _refuse(st, "waiting_period", f"待遇等待期：{c.paid_on} 在延长缴费期缴费，等待期 {wp.value} 天，"
                                          f"{first} 起享受待遇；本次费用统筹基金不予支付（{wp.cite}）。",
                    TraceStep("waiting_period", first.isoformat(), wp.cite, "待遇等待期内，基金不支付"))
    rp = st.get("requires_registration")
    if rp is not None and rp.value is True and claim.disease not in ins.registered_diseases:
        _refuse(st, "disease_not_registered",
                f"参保人未在参保地经办机构登记备案病种 {claim.disease}，统筹基金不予支付（{rp.cite}）。",
                TraceStep("disease_not_registered", "0.00", rp.cite, "病种未登记备案"))
    dp = st.get("requires_designation")
    if dp is not None and dp.value is True and claim.disease not in inst.designated_diseases:
        _refuse(st, "institution_not_designated",
                f"机构 {inst.code} 不是病种 {claim.disease} 的定点救治医疗机构，统筹基金不予支付（{dp.cite}）。",
                TraceStep("institution_not_designated", "0.00", dp.cite, "非定点救治医疗机构"))
    ap = st.get("requires_art_approval")
    if ap is not None and ap.value is True and not inst.art_approved:
        _refuse(st, "institution_not_designated",
                f"机构 {inst.code} 未经卫生健康部门批准开展人类辅助生殖技术，统筹基金不予支付（{ap.cite}）。",
                TraceStep("institution_not_designated", "0.00", ap.cite, "非批准开展辅助生殖技术的定点机构"))


def _refuse(st: _State, code: str, message: str, step: TraceStep) -> None:
    st.blocked = True
    st.notices.append(Notice(code, message))
    st.trace.append(step)


# ---- 3. items -------------------------------------------------------------------
def _items(st: _State) -> None:
    """Each line: 全自费 when not covered, else count limit → 超限价 → 乙类先行自付 → 政策范围内."""
    kinds_p = st.get("covered_kinds")
    kinds = kinds_p.value if kinds_p is not None else None
    catalogue_only = st.get("catalogue_only")
    catalogue_only = catalogue_only is not None and catalogue_only.value is True
    chain = st.chain
    benefit = st.claim.benefit
    day = st.claim.date
    has_cat = chain.has_catalogue(benefit)
    share_cache: dict[str, Param | None] = {}
    trace = st.trace
    items = st.items
    sum_amt = sum_ful = sum_over = sum_pre = sum_in = fd_inscp = _Z
    for it in st.claim.items:
        amount = q2(it.qty * it.price)
        cat = chain.catalogue_item(benefit, it.code, day) if has_cat else None
        lv = it.chrgitm_lv
        if cat is not None and cat.chrgitm_lv != lv:
            lv = _catalogue_class(st, it, cat)
        if lv == "03" or (catalogue_only and cat is None) or (kinds is not None and it.kind not in kinds):
            why, basis = _not_covered(st, it, lv, cat, catalogue_only, kinds_p)
            trace.append(TraceStep("fulamt_ownpay", fmt2(amount), basis, f"{it.code}：{why}"))
            items.append(ItemResult(it.code, amount, amount, _Z, _Z, _Z))
            sum_amt += amount
            sum_ful += amount
            continue
        qty, ful = it.qty, _Z
        # a free line is no fund payment: it neither uses up nor is refused a count
        if cat is not None and cat.max_count is not None and it.price > 0:
            qty, ful = _count_limit(st, it, cat, amount)
        pay_std = it.pay_std if it.pay_std is not None else (cat.pay_std if cat is not None else None)
        over = _over_limit(st, it, cat, qty, pay_std) if pay_std is not None and it.price > pay_std and qty > 0 else _Z
        base = amount - ful - over
        pre = _preselfpay(st, it, base, share_cache) if lv == "02" and base > 0 else _Z
        inscp = base - pre
        items.append(ItemResult(it.code, amount, ful, over, pre, inscp))
        sum_amt += amount
        sum_ful += ful
        sum_over += over
        sum_pre += pre
        if cat is not None and cat.category == "family_doctor_fee":
            fd_inscp += inscp
            st.fd_items = True
        else:
            sum_in += inscp
    st.sum_amt, st.sum_ful, st.sum_over, st.sum_pre, st.sum_in, st.fd_inscp = (
        sum_amt, sum_ful, sum_over, sum_pre, sum_in, fd_inscp)


def _catalogue_class(st: _State, it: Item, cat: CatalogueItem) -> str:
    """甲/乙/丙 as the catalogue in force says it, over what the line was entered as."""
    st.trace.append(TraceStep("catalogue_class", cat.chrgitm_lv, cat.cite,
                              f"{it.code} 按目录为{CLASSES[cat.chrgitm_lv]}（明细填报为{CLASSES[it.chrgitm_lv]}）"))
    return cat.chrgitm_lv


def _not_covered(st: _State, it: Item, lv: str, cat: CatalogueItem | None, catalogue_only: bool,
                 kinds_p: Param | None) -> tuple[str, str]:
    """(why, basis) of a line that is 全自费 as a whole: 丙类, not in the catalogue, or a kind not covered."""
    if lv == "03":
        return ("丙类项目全自费", "项目支付类别 03 丙类")
    if catalogue_only and cat is None:
        return (f"不在{BENEFITS[st.claim.benefit]}支付项目目录内，全自费", catalogue_only_basis(st))
    return (f"{KINDS[it.kind]}不在{st.blabel}支付范围内，全自费", kinds_p.cite)


def _count_limit(st: _State, it: Item, cat: CatalogueItem, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(quantity the fund may still pay for, 全自费 part past the count limit) of a limited, priced line."""
    qty = it.qty
    used_counts = st.used_counts
    if used_counts is None:
        used_counts = st.used_counts = {}
        benefit = st.claim.benefit
        for h in st.history:
            if h.benefit == benefit:
                for hi in h.items:
                    used_counts[hi.code] = used_counts.get(hi.code, _Z) + hi.qty
    used = used_counts.get(it.code, _Z)
    left = max(Decimal(cat.max_count) - used, _Z)
    # earlier lines of the same code in this claim use up the count too
    used_counts[it.code] = used + min(qty, left)
    if qty <= left:
        return qty, _Z
    ful = amount - q2(left * it.price)
    st.notices.append(Notice("item_limit_reached",
                             f"项目 {it.code}{cat.name} 基金支付次数已用 {used}，上限 {cat.max_count} 次，"
                             f"超出部分 {fmt2(ful)} 元由个人负担（{cat.cite}）。"))
    st.trace.append(TraceStep("item_limit", fmt2(ful), cat.cite, f"{it.code}：超过 {cat.max_count} 次/人的部分全自费"))
    return left, ful


def _over_limit(st: _State, it: Item, cat: CatalogueItem | None, qty: Decimal, pay_std: Decimal) -> Decimal:
    """超限价: the part of a line's price above the payment standard."""
    over = q2(qty * (it.price - pay_std))
    st.trace.append(TraceStep("overlmt", fmt2(over), _pay_std_basis(cat),
                              f"{it.code}：单价 {it.price} 高于支付标准 {pay_std}，超出部分自费"))
    return over


def _preselfpay(st: _State, it: Item, base: Decimal, cache: dict[str, Param | None]) -> Decimal:
    """乙类先行自付 of a 乙类 line's amount left after the count limit and 超限价, at the share for its
    kind (looked up once per claim and kind)."""
    if it.kind in cache:
        sp = cache[it.kind]
    else:
        st.ctx["kind"] = it.kind
        sp = cache[it.kind] = st.get("class_b_selfpay_share")
        st.ctx.pop("kind", None)
    if sp is None or not sp.value > 0:
        return _Z
    pre = q2(base * sp.value)
    st.trace.append(TraceStep("preselfpay", fmt2(pre), sp.cite, f"{it.code}：乙类先行自付 {fmt4(sp.value)}"))
    return pre


# ---- 4. deductible --------------------------------------------------------------
def _deductible(st: _State) -> None:
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
    label = f"起付标准 {fmt2(ded)} 元"
    if per_day:
        label += f"（同日同机构只负担一次，今日已负担 {fmt2(already)} 元）"
    st.trace.append(TraceStep("deductible", fmt2(st.dedc), dp.cite, label))


# ---- 5. ratio or delivery limit ----------------------------------------------------
def _pool_fund(st: _State) -> Decimal:
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
    st.trace.append(TraceStep("ratio", fmt4(ratio), rp.cite, f"统筹基金支付比例 {ratio * 100:.0f}%"))
    if st.ctx["cross_province"]:
        red = st.get("cross_province_ratio_reduction")
        if red is not None:
            ratio = max(ratio - red.value, _Z)
            st.trace.append(TraceStep("cross_province", fmt4(ratio), red.cite,
                                      f"跨省就医，支付比例降低 {red.value * 100:.0f} 个百分点"))
    st.ratio = ratio
    fund = q2(base * ratio)
    st.trace.append(TraceStep("pool_fund", fmt2(fund), rp.cite,
                              f"（{fmt2(st.sum_in)} − 起付 {fmt2(st.dedc)}）× {fmt4(ratio)}"))
    return fund


def _blocked_ratio(st: _State) -> None:
    """A refused claim pays nothing from the fund; the ratio is still shown where the pack gives one."""
    rp = st.get("ratio", soft=True)
    if rp is not None and not rp.is_open:
        st.ratio = rp.value


# ---- 6. caps --------------------------------------------------------------------
def _caps(st: _State, fund: Decimal) -> Decimal:
    """Quarterly and annual caps of the benefit (and disease), from this year's history."""
    claim = st.claim
    scope = caps.scope(st.history, claim.benefit, claim.disease)
    capped = fund
    qp = st.get("quarterly_cap")
    if qp is not None:
        used = caps.quarter_paid(scope, claim.date)
        left = caps.cap_left(qp.value, used)
        if left < fund:
            _cap_reached(st, "quarterly_cap", "本季度", "季度", qp, used, left)
        capped = min(capped, left)
    cp = st.get("annual_cap")
    if cp is not None:
        used = caps.year_paid(scope)
        left = caps.cap_left(cp.value, used)
        if left < fund:
            _cap_reached(st, "annual_cap", "本年度", "年度", cp, used, left)
        capped = min(capped, left)
    return capped


def _cap_reached(st: _State, step: str, period: str, kind: str, cap: Param, used: Decimal, left: Decimal) -> None:
    st.notices.append(Notice(f"{step}_reached",
                             f"{period}{st.blabel}已由统筹基金支付 {fmt2(used)} 元，{kind}限额 {fmt2(cap.value)} 元，"
                             f"本次最多支付 {fmt2(left)} 元（{cap.cite}）。"))
    st.trace.append(TraceStep(step, fmt2(left), cap.cite, f"{kind}限额 {fmt2(cap.value)} 元，已用 {fmt2(used)} 元"))


# ---- 7. fund split ----------------------------------------------------------------
def _prenatal_lump_sum(st: _State) -> None:
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


def _fund_split(st: _State) -> None:
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
    used = caps.year_paid(caps.scope(st.history, st.claim.benefit, None))
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


def _family_doctor_fee(st: _State) -> None:
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
def _person_part(st: _State) -> Settlement:
    """Personal account, then 家庭共济, then cash; returns the settlement."""
    claim = st.claim
    ins = claim.insured
    fund_total = st.hifp + st.hifmi + st.hifob
    psn_part = st.sum_amt - fund_total
    if claim.use_account and ins.acct_balance > 0 and psn_part > 0:
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


def _family_account(st: _State, psn_part: Decimal) -> None:
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


def catalogue_only_basis(st: _State) -> str:
    p = st.get("catalogue_only")
    return p.cite if p is not None else ""


def _pay_std_basis(cat) -> str:
    return cat.cite if cat is not None else "医保支付标准（明细 pay_std）"


__all__ = ["ZERO", "PolicyError", "settle"]
