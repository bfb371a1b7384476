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
from datetime import date, timedelta
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
    ItemResult,
    Notice,
    Settlement,
    TraceStep,
)
from desktop_app.core.money import ZERO, fmt2, fmt4, q2
from desktop_app.core.policy import KEY_LABELS, Chain, Param, PolicySet

_Z = Decimal("0.00")


class PolicyError(Exception):
    """The claim cannot be settled under the loaded policy (contract exit 3)."""

    def __init__(self, code: str, message: str, **extra: str):
        self.code = code
        self.message = message
        self.extra = extra
        super().__init__(message)

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class _Ctx:
    __slots__ = ("benefit_label", "chain", "ctx", "day")

    def __init__(self, chain: Chain, ctx: dict, day: date, benefit_label: str):
        self.chain = chain
        self.ctx = ctx
        self.day = day
        self.benefit_label = benefit_label

    def get(self, key: str, *, soft: bool = False) -> Param | None:
        p = self.chain.resolve(key, self.ctx, self.day)
        if p is not None and p.is_open and not soft:
            note = f"（{p.note}）" if p.note else ""
            raise PolicyError(
                "policy_parameter_missing",
                f"{self.day} 的{self.benefit_label}：{KEY_LABELS[key]}由 {p.cite} 留待另行制定{note}，"
                f"已加载的政策包均未给出该数值，无法结算。",
                parameter=key,
                basis=p.cite,
            )
        return p


def settle(claim: Claim, history: Sequence[HistoryEntry], policy: PolicySet) -> Settlement:
    """Compute the full breakdown of one claim. Raises `PolicyError` (exit 3 cases)."""
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
    P = _Ctx(chain, ctx, day, blabel)
    in_force = P.get("in_force", soft=True)
    if in_force is None or in_force.is_open or in_force.value is not True:
        raise PolicyError(
            "no_policy_in_force",
            f"{day}：{who}的{blabel}没有在该日生效的政策（已加载的政策包不覆盖该日期、险种或病种）。",
            date=day.isoformat(), benefit=benefit, admdvs=ins.admdvs,
        )

    notices: list[Notice] = []
    trace: list[TraceStep] = []
    blocked = False

    # ---- 2. eligibility -------------------------------------------------
    wp = P.get("waiting_days")
    c = ins.contribution
    if wp is not None and c is not None and c.in_extended_period and not c.waiting_exempt:
        first = c.paid_on + timedelta(days=wp.value)
        if day < first:
            blocked = True
            notices.append(Notice("waiting_period",
                                  f"待遇等待期：{c.paid_on} 在延长缴费期缴费，等待期 {wp.value} 天，"
                                  f"{first} 起享受待遇；本次费用统筹基金不予支付（{wp.cite}）。"))
            trace.append(TraceStep("waiting_period", first.isoformat(), wp.cite, "待遇等待期内，基金不支付"))
    rp = P.get("requires_registration")
    if rp is not None and rp.value is True and claim.disease not in ins.registered_diseases:
        blocked = True
        notices.append(Notice("disease_not_registered",
                              f"参保人未在参保地经办机构登记备案病种 {claim.disease}，统筹基金不予支付（{rp.cite}）。"))
        trace.append(TraceStep("disease_not_registered", "0.00", rp.cite, "病种未登记备案"))
    dp = P.get("requires_designation")
    if dp is not None and dp.value is True and claim.disease not in inst.designated_diseases:
        blocked = True
        notices.append(Notice("institution_not_designated",
                              f"机构 {inst.code} 不是病种 {claim.disease} 的定点救治医疗机构，统筹基金不予支付（{dp.cite}）。"))
        trace.append(TraceStep("institution_not_designated", "0.00", dp.cite, "非定点救治医疗机构"))
    ap = P.get("requires_art_approval")
    if ap is not None and ap.value is True and not inst.art_approved:
        blocked = True
        notices.append(Notice("institution_not_designated",
                              f"机构 {inst.code} 未经卫生健康部门批准开展人类辅助生殖技术，统筹基金不予支付（{ap.cite}）。"))
        trace.append(TraceStep("institution_not_designated", "0.00", ap.cite, "非批准开展辅助生殖技术的定点机构"))

    # ---- 3. items ------------------------------------------------------
    kinds_p = P.get("covered_kinds")
    catalogue_only = P.get("catalogue_only")
    catalogue_only = catalogue_only is not None and catalogue_only.value is True
    has_cat = chain.has_catalogue(benefit)
    share_cache: dict[str, Param | None] = {}
    used_counts: dict[str, Decimal] | None = None

    items: list[ItemResult] = []
    sum_amt = sum_ful = sum_over = sum_pre = sum_in = _Z
    fd_inscp = _Z  # 家庭医生签约服务费: paid outside the cap
    fd_items = False
    for it in claim.items:
        amount = q2(it.qty * it.price)
        ful = over = pre = _Z
        lv = it.chrgitm_lv
        cat = chain.catalogue_item(benefit, it.code, day) if has_cat else None
        if cat is not None and cat.chrgitm_lv != lv:
            trace.append(TraceStep("catalogue_class", cat.chrgitm_lv, cat.cite,
                                   f"{it.code} 按目录为{CLASSES[cat.chrgitm_lv]}（明细填报为{CLASSES[lv]}）"))
            lv = cat.chrgitm_lv
        pay_std = it.pay_std if it.pay_std is not None else (cat.pay_std if cat is not None else None)
        reason = None
        if lv == "03":
            reason = ("丙类项目全自费", "项目支付类别 03 丙类")
        elif catalogue_only and cat is None:
            reason = (f"不在{BENEFITS[benefit]}支付项目目录内，全自费", catalogue_only_basis(P))
        elif kinds_p is not None and it.kind not in kinds_p.value:
            reason = (f"{KINDS[it.kind]}不在{blabel}支付范围内，全自费", kinds_p.cite)
        if reason is not None:
            ful = amount
            trace.append(TraceStep("fulamt_ownpay", fmt2(ful), reason[1], f"{it.code}：{reason[0]}"))
            items.append(ItemResult(it.code, amount, ful, _Z, _Z, _Z))
            sum_amt += amount
            sum_ful += ful
            continue
        qty = it.qty
        # a free line is no fund payment: it neither uses up nor is refused a count
        if cat is not None and cat.max_count is not None and it.price > 0:
            if used_counts is None:
                used_counts = {}
                for h in history:
                    if h.benefit == benefit:
                        for hi in h.items:
                            used_counts[hi.code] = used_counts.get(hi.code, _Z) + hi.qty
            used = used_counts.get(it.code, _Z)
            left = max(Decimal(cat.max_count) - used, _Z)
            # earlier lines of the same code in this claim use up the count too
            used_counts[it.code] = used + min(qty, left)
            if qty > left:
                qty = left
                ful = amount - q2(qty * it.price)
                notices.append(Notice("item_limit_reached",
                                      f"项目 {it.code}{cat.name} 基金支付次数已用 {used}，上限 {cat.max_count} 次，"
                                      f"超出部分 {fmt2(ful)} 元由个人负担（{cat.cite}）。"))
                trace.append(TraceStep("item_limit", fmt2(ful), cat.cite,
                                       f"{it.code}：超过 {cat.max_count} 次/人的部分全自费"))
        if pay_std is not None and it.price > pay_std and qty > 0:
            over = q2(qty * (it.price - pay_std))
            trace.append(TraceStep("overlmt", fmt2(over), _pay_std_basis(cat),
                                   f"{it.code}：单价 {it.price} 高于支付标准 {pay_std}，超出部分自费"))
        base = amount - ful - over
        if lv == "02" and base > 0:
            if it.kind not in share_cache:
                P.ctx["kind"] = it.kind
                share_cache[it.kind] = P.get("class_b_selfpay_share")
                P.ctx.pop("kind", None)
            sp = share_cache[it.kind]
            if sp is not None and sp.value > 0:
                pre = q2(base * sp.value)
                trace.append(TraceStep("preselfpay", fmt2(pre), sp.cite,
                                       f"{it.code}：乙类先行自付 {fmt4(sp.value)}"))
        inscp = base - pre
        items.append(ItemResult(it.code, amount, ful, over, pre, inscp))
        sum_amt += amount
        sum_ful += ful
        sum_over += over
        sum_pre += pre
        if cat is not None and cat.category == "family_doctor_fee":
            fd_inscp += inscp
            fd_items = True
        else:
            sum_in += inscp
    sum_inscp = sum_in + fd_inscp

    # ---- 4-7. fund ------------------------------------------------------
    dedc = _Z
    ratio = _Z
    hifp = hifmi = hifob = fd_fund = _Z
    if blocked:
        rp_soft = P.get("ratio", soft=True)
        if rp_soft is not None and not rp_soft.is_open:
            ratio = rp_soft.value
    else:
        dp = P.get("deductible")
        if dp is not None:
            per = P.get("deductible_per")
            ded = dp.value
            already = _Z
            if per is not None and per.value == "day_institution":
                for h in history:
                    if h.date == day and h.institution == inst.code and h.benefit == benefit:
                        already += h.act_pay_dedc
            remaining = max(ded - already, _Z)
            dedc = min(remaining, sum_in)
            label = f"起付标准 {fmt2(ded)} 元"
            if per is not None and per.value == "day_institution":
                label += f"（同日同机构只负担一次，今日已负担 {fmt2(already)} 元）"
            trace.append(TraceStep("deductible", fmt2(dedc), dp.cite, label))
        base = sum_in - dedc
        lim = P.get("delivery_limit")
        if lim is not None:
            ratio = Decimal(1)
            fund = min(base, lim.value)
            trace.append(TraceStep("delivery_limit", fmt2(fund), lim.cite,
                                   f"限额支付：政策范围内费用 {fmt2(base)} 元，限额 {fmt2(lim.value)} 元"))
        else:
            rp = P.get("ratio")
            if rp is None:
                raise PolicyError(
                    "policy_parameter_missing",
                    f"{day} 的{blabel}在政策包中生效，但没有适用于该机构（级别 {inst.level}、收费类别 "
                    f"{inst.price_class}）的统筹基金支付比例。",
                    parameter="ratio",
                )
            ratio = rp.value
            trace.append(TraceStep("ratio", fmt4(ratio), rp.cite, f"统筹基金支付比例 {ratio * 100:.0f}%"))
            if cross:
                red = P.get("cross_province_ratio_reduction")
                if red is not None:
                    ratio = max(ratio - red.value, _Z)
                    trace.append(TraceStep("cross_province", fmt4(ratio), red.cite,
                                           f"跨省就医，支付比例降低 {red.value * 100:.0f} 个百分点"))
            fund = q2(base * ratio)
            trace.append(TraceStep("pool_fund", fmt2(fund), rp.cite,
                                   f"（{fmt2(sum_in)} − 起付 {fmt2(dedc)}）× {fmt4(ratio)}"))
        # caps, from this year's history
        scope = caps.scope(history, benefit, claim.disease)
        capped = fund
        qp = P.get("quarterly_cap")
        if qp is not None:
            used = caps.quarter_paid(scope, day)
            left = caps.cap_left(qp.value, used)
            if left < fund:
                notices.append(Notice("quarterly_cap_reached",
                                      f"本季度{blabel}已由统筹基金支付 {fmt2(used)} 元，季度限额 {fmt2(qp.value)} 元，"
                                      f"本次最多支付 {fmt2(left)} 元（{qp.cite}）。"))
                trace.append(TraceStep("quarterly_cap", fmt2(left), qp.cite,
                                       f"季度限额 {fmt2(qp.value)} 元，已用 {fmt2(used)} 元"))
            capped = min(capped, left)
        cp = P.get("annual_cap")
        if cp is not None:
            used = caps.year_paid(scope)
            left = caps.cap_left(cp.value, used)
            if left < fund:
                notices.append(Notice("annual_cap_reached",
                                      f"本年度{blabel}已由统筹基金支付 {fmt2(used)} 元，年度限额 {fmt2(cp.value)} 元，"
                                      f"本次最多支付 {fmt2(left)} 元（{cp.cite}）。"))
                trace.append(TraceStep("annual_cap", fmt2(left), cp.cite,
                                       f"年度限额 {fmt2(cp.value)} 元，已用 {fmt2(used)} 元"))
            capped = min(capped, left)
        hifp = capped
        pl = P.get("prenatal_lump_sum")
        if pl is not None:
            hifp += pl.value
            trace.append(TraceStep("prenatal_lump_sum", fmt2(pl.value), pl.cite, "围产保健定额，随住院费用一并支付"))
        oc = P.get("over_cap_to_critical_fund")
        if oc is not None and oc.value is True:
            bc = P.get("basic_annual_cap", soft=True)
            if bc is None or bc.is_open:
                basis = bc.cite if bc is not None else oc.cite
                trace.append(TraceStep("fund_split", "undetermined", basis,
                                       "基金支付计入年度基本医保最高支付限额，超限部分由大额/大病保险按同比例支付；"
                                       "已加载的政策包未给出该限额，基本医保与大额/大病的分担无法确定，全部记入统筹基金"))
            else:
                used = caps.year_paid(caps.scope(history, benefit, None))
                left = caps.cap_left(bc.value, used)
                if hifp > left:
                    excess = hifp - left
                    hifp = left
                    if ins.insutype == "390":
                        hifmi = excess
                    else:
                        hifob = excess
                    trace.append(TraceStep("fund_split", fmt2(excess), oc.cite,
                                           f"超过基本医保年度限额 {fmt2(bc.value)} 元的部分由"
                                           f"{'居民大病保险' if ins.insutype == '390' else '职工大额医疗费用补助'}支付"))
        if fd_items and fd_inscp > 0:
            sp = P.get("family_doctor_fee_share")
            if sp is not None:
                fd_fund = q2(fd_inscp * sp.value)
                hifp += fd_fund
                trace.append(TraceStep("family_doctor_fee", fmt2(fd_fund), sp.cite,
                                       "家庭医生签约服务费由统筹基金另行支付，不占年度限额"))

    fund_total = hifp + hifmi + hifob
    psn_part = sum_amt - fund_total

    # ---- 8. the person's part ------------------------------------------
    acct = mulaid = _Z
    if claim.use_account and ins.acct_balance > 0 and psn_part > 0:
        au = P.get("account_usable")
        if au is not None and au.value is True:
            acct = min(ins.acct_balance, psn_part)
            trace.append(TraceStep("acct_pay", fmt2(acct), au.cite, f"个人账户支付（余额 {fmt2(ins.acct_balance)} 元）"))
    fa = claim.family_account
    if fa is not None:
        rel = P.get("family_account_relations")
        if rel is not None and fa.relation in rel.value:
            mulaid = min(fa.balance, psn_part - acct)
            if mulaid > 0:
                trace.append(TraceStep("acct_mulaid_pay", fmt2(mulaid), rel.cite,
                                       f"家庭共济：{RELATIONS.get(fa.relation, fa.relation)}的个人账户支付"))
        else:
            allowed = "、".join(RELATIONS[r] for r in rel.value) if rel is not None else ""
            why = (f"只允许{allowed}（{rel.cite}）" if rel is not None
                   else "参保地政策包未规定家庭共济")
            notices.append(Notice("family_account_relation_not_allowed",
                                  f"家庭共济：{RELATIONS.get(fa.relation, fa.relation)}的个人账户不能支付本次费用，{why}。"))
    cash = psn_part - acct - mulaid

    return Settlement(
        medfee_sumamt=sum_amt,
        fulamt_ownpay_amt=sum_ful,
        overlmt_selfpay=sum_over,
        preselfpay_amt=sum_pre,
        inscp_scp_amt=sum_inscp,
        act_pay_dedc=dedc,
        pool_prop_selfpay=ratio,
        hifp_pay=hifp,
        hifmi_pay=hifmi,
        hifob_pay=hifob,
        fund_pay_sumamt=fund_total,
        psn_part_amt=psn_part,
        acct_pay=acct,
        acct_mulaid_pay=mulaid,
        psn_cash_pay=cash,
        items=items,
        notices=notices,
        trace=trace,
        packs=chain.pack_versions,
    )


def catalogue_only_basis(P: _Ctx) -> str:
    p = P.get("catalogue_only")
    return p.cite if p is not None else ""


def _pay_std_basis(cat) -> str:
    return cat.cite if cat is not None else "医保支付标准（明细 pay_std）"


__all__ = ["ZERO", "PolicyError", "settle"]
