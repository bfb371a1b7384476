"""Step 3 of the engine: each claim line — 全自费 when the benefit does not cover it, else the count
limit → 超限价 → 乙类先行自付 → 政策范围内.

A line is not covered (全自费) when it is 丙类; when the benefit pays only its catalogue and the line is
not in it (辅助生殖: it belongs to the ordinary benefit, 晋医保发〔2024〕16号 二(三)); when its kind is not
covered; when the benefit pays services of some fee groups only (肝豆状核变性: 检查费/化验费) and the line
is of another group or names none; when its catalogue row gives a 限定支付范围 the clerk has not
confirmed. Every such line but 丙类 gets a notice naming the line (`Notice.item`) and the reason.
"""

from __future__ import annotations

from decimal import Decimal

from desktop_app.core.engine_state import State, Z
from desktop_app.core.model import BENEFITS, CLASSES, KINDS, Item, ItemResult, Notice, TraceStep
from desktop_app.core.money import fmt2, fmt4, q2
from desktop_app.core.policy import CatalogueItem, Param

_C_CLASS = ("丙类项目全自费", "项目支付类别 03 丙类")


class _Scope:
    """The benefit's coverage rules, looked up once per claim."""

    __slots__ = ("active", "catalogue_only", "fees", "kinds")

    def __init__(self, st: State):
        self.kinds = st.get("covered_kinds")
        co = st.get("catalogue_only")
        self.catalogue_only = co if co is not None and co.value is True else None
        self.fees = st.get("service_fee_categories")
        # any rule that can refuse a line of class 甲/乙 (else only 丙类 and a 限 text can)
        self.active = self.kinds is not None or self.catalogue_only is not None or self.fees is not None


def items(st: State) -> None:
    """Every line of the claim, in order; the sums go to `st`."""
    scope = _Scope(st)
    chain = st.chain
    benefit = st.claim.benefit
    day = st.day
    has_cat = chain.has_catalogue(benefit)
    share_cache: dict[str, Param | None] = {}
    out = st.items
    sum_amt = sum_ful = sum_over = sum_pre = sum_in = fd_inscp = Z
    for it in st.claim.items:
        amount = q2(it.qty * it.price)
        sum_amt += amount
        cat = chain.catalogue_item(benefit, it.code, day) if has_cat else None
        lv = it.chrgitm_lv
        if cat is not None and cat.chrgitm_lv != lv:
            lv = _catalogue_class(st, it, cat)
        if (lv == "03" or scope.active or (cat is not None and cat.indication and not it.indication_confirmed)) \
                and _not_covered(st, it, lv, cat, scope, amount):
            out.append(ItemResult(it.code, amount, amount, Z, Z, Z))
            sum_ful += amount
            continue
        qty, ful = it.qty, Z
        # a free line is no fund payment: it neither uses up nor is refused a count
        if cat is not None and cat.max_count is not None and it.price > 0:
            qty, ful = _count_limit(st, it, cat, amount)
        pay_std = it.pay_std if it.pay_std is not None else (cat.pay_std if cat is not None else None)
        over = _over_limit(st, it, cat, qty, pay_std) if pay_std is not None and it.price > pay_std and qty > 0 else Z
        base = amount - ful - over
        pre = _preselfpay(st, it, base, share_cache) if lv == "02" and base > 0 else Z
        inscp = base - pre
        out.append(ItemResult(it.code, amount, ful, over, pre, inscp))
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


def _catalogue_class(st: State, it: Item, cat: CatalogueItem) -> str:
    """甲/乙/丙 as the catalogue in force says it, over what the line was entered as."""
    st.trace.append(TraceStep("catalogue_class", cat.chrgitm_lv, cat.cite,
                              f"{it.code} 按目录为{CLASSES[cat.chrgitm_lv]}（明细填报为{CLASSES[it.chrgitm_lv]}）"))
    return cat.chrgitm_lv


def _not_covered(st: State, it: Item, lv: str, cat: CatalogueItem | None, scope: _Scope, amount: Decimal) -> bool:
    """True (with its trace step, and a notice unless 丙类) when the whole line is 全自费."""
    if lv == "03":
        why, basis, reason = *_C_CLASS, ""
    elif scope.catalogue_only is not None and cat is None:
        basis = scope.catalogue_only.cite
        why = (f"不在{BENEFITS[st.claim.benefit]}支付项目目录内，本待遇不支付；"
               f"属于普通医疗费用，按基本医疗保险有关规定另行结算（如普通门诊）")
        reason = "ordinary_benefit"
    elif scope.kinds is not None and it.kind not in scope.kinds.value:
        why, basis, reason = f"{KINDS[it.kind]}不在{st.blabel}支付范围内", scope.kinds.cite, "kind_not_covered"
    elif scope.fees is not None and it.kind == "service" and it.fee_category not in scope.fees.value:
        allowed = "、".join(scope.fees.value)
        basis = scope.fees.cite
        if it.fee_category is None:
            why = f"未注明收费类别，{st.blabel}的诊疗项目只支付{allowed}，无法认定"
            reason = "fee_category_missing"
        else:
            why = f"收费类别{it.fee_category}不在{st.blabel}支付范围内（诊疗项目只支付{allowed}）"
            reason = "fee_category_not_covered"
    elif cat is not None and cat.indication and not it.indication_confirmed:
        why = f"限定支付范围未确认（{cat.indication}）；确认符合后基金方可支付"
        basis, reason = cat.cite, "indication_not_confirmed"
    else:
        return False
    if not amount > 0:  # a free line: nothing is moved, nothing to say
        return True
    st.trace.append(TraceStep("fulamt_ownpay", fmt2(amount), basis, f"{it.code}：{why}，全自费"))
    if reason:
        st.notices.append(Notice("item_limit_reached", f"项目 {it.code}{it.name}：{why}，{fmt2(amount)} 元由个人负担"
                                                       f"（{basis}）。", it.code, reason))
    return True


def _used_counts(st: State, scope: str) -> dict[str, Decimal]:
    """Item code → quantity the fund already paid for under this benefit: every history entry given
    (`person`: 每人累计, lifetime) or those of the visit's year (`year`). A history line counts only when
    the fund paid for it (`fund_paid`; by default, when the entry's hifp_pay > 0)."""
    used = st.used_counts.get(scope)
    if used is None:
        used = st.used_counts[scope] = {}
        benefit = st.claim.benefit
        year = st.day.year
        for h in st.history:
            if h.benefit != benefit or (scope == "year" and h.date.year != year):
                continue
            entry_paid = h.hifp_pay > 0
            for hi in h.items:
                if hi.fund_paid if hi.fund_paid is not None else entry_paid:
                    used[hi.code] = used.get(hi.code, Z) + hi.qty
    return used


def _count_limit(st: State, it: Item, cat: CatalogueItem, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(quantity the fund may still pay for, 全自费 part past the count limit) of a limited, priced line."""
    qty = it.qty
    counts = _used_counts(st, cat.count_scope or "person")
    used = counts.get(it.code, Z)
    left = max(Decimal(cat.max_count) - used, Z)
    # earlier lines of the same code in this claim use up the count too
    counts[it.code] = used + min(qty, left)
    if qty <= left:
        return qty, Z
    ful = amount - q2(left * it.price)
    if ful <= 0:  # a fraction of a unit too small to change a cent
        return left, Z
    per = "人（累计）" if cat.count_scope != "year" else "人·年"
    st.notices.append(Notice("item_limit_reached",
                             f"项目 {it.code}{cat.name} 医保基金已支付 {used} 次，上限 {cat.max_count} 次/{per}，"
                             f"超出部分 {fmt2(ful)} 元由个人负担（{cat.cite}）。", it.code, "count_limit"))
    st.trace.append(TraceStep("item_limit", fmt2(ful), cat.cite,
                              f"{it.code}：超过 {cat.max_count} 次/{per}的部分全自费"))
    return left, ful


def _over_limit(st: State, it: Item, cat: CatalogueItem | None, qty: Decimal, pay_std: Decimal) -> Decimal:
    """超限价: the part of a line's price above the payment standard."""
    over = q2(qty * (it.price - pay_std))
    if over > 0:
        st.trace.append(TraceStep("overlmt", fmt2(over), cat.cite if cat is not None else "医保支付标准（明细 pay_std）",
                                  f"{it.code}：单价 {it.price} 高于支付标准 {pay_std}，超出部分自费"))
    return over


def _preselfpay(st: State, it: Item, base: Decimal, cache: dict[str, Param | None]) -> Decimal:
    """乙类先行自付 of a 乙类 line's amount left after the count limit and 超限价, at the share for its
    kind (looked up once per claim and kind)."""
    if it.kind in cache:
        sp = cache[it.kind]
    else:
        st.ctx["kind"] = it.kind
        sp = cache[it.kind] = st.get("class_b_selfpay_share")
        st.ctx.pop("kind", None)
    if sp is None or not sp.value > 0:
        return Z
    pre = q2(base * sp.value)
    if pre > 0:
        st.trace.append(TraceStep("preselfpay", fmt2(pre), sp.cite, f"{it.code}：乙类先行自付 {fmt4(sp.value)}"))
    return pre
