"""A visit line as the engine gets it: the clinic item's code and quantity are all the clerk gives; the
price comes from the price list in force on the visit date, kind, class (甲乙丙) and payment standard from
the insurance-catalogue row the item is mapped to, in force on the visit date for the person's region.

- an item not mapped (no 医保目录编码) or mapped to a code with no row in force then → 丙类 (全自费), with
  a notice on the screen and the receipt;
- a catalogue row with 限定支付范围 → a notice with its text, for the clerk to confirm;
- a stopped item (停用), or one with no price in force on the visit date, is refused;
- a value given with the line (price, kind, class, payment standard) must be the list's: the lists decide.

A line whose code is not in the price list at all is taken as typed only when it gives price, kind and
class (scripts and tests of the earlier, list-less form); the window never sends such a line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from desktop_app.core.model import FEE_CATEGORIES
from desktop_app.services.catalogue import prices_on, rows_in_force
from desktop_app.services.catalogue_rows import CATEGORIES, kind_of_fee_category
from desktop_app.services.ledger_types import ItemInput, LedgerError
from desktop_app.store import models as m

NOTICE_UNMAPPED = "item_not_mapped"
NOTICE_EXPIRED = "item_mapping_expired"
NOTICE_LIMIT = "item_payment_limit"


def _typed(i: int, it: ItemInput) -> dict:
    if it.price is None or it.kind is None or it.chrgitm_lv is None:
        raise LedgerError(f"第 {i + 1} 行：项目编码 {it.code} 不在本机构收费目录中（请先在“收费目录”中添加）",
                          field=f"items[{i}].code", code="invalid_input")
    return _round2(it, {"code": it.code, "name": it.name or "", "kind": it.kind, "chrgitm_lv": it.chrgitm_lv,
                        "qty": it.qty, "price": it.price, "pay_std": it.pay_std}, it.fee_category)


def _round2(it: ItemInput, line: dict, fee: str | None) -> dict:
    """The contract's optional item fields (calc round 2): the 收费类别 (fee_category, one of the ten groups;
    rules such as Wilson's 检查费用 need it) and `indication_confirmed`, written only when the clerk confirmed
    the line's 限定支付范围 (the contract's default is false)."""
    if fee in FEE_CATEGORIES:
        line["fee_category"] = fee
    if it.indication_confirmed:
        line["indication_confirmed"] = True
    return line


def _same(given, mine) -> bool:
    if given is None:
        return True
    if mine is None:
        return False
    try:
        return Decimal(str(given)) == Decimal(str(mine))
    except ArithmeticError:
        return str(given) == str(mine)


def _check_given(i: int, it: ItemInput, line: dict) -> None:
    for key, label in (("price", "单价"), ("pay_std", "支付标准")):
        if getattr(it, key) is not None and not _same(getattr(it, key), line[key]):
            raise LedgerError(f"第 {i + 1} 行 {it.code}：{label}由收费目录和医保目录决定（{line[key] or '无'}），"
                              f"不能在就诊中改动（收到 {getattr(it, key)}）", field=f"items[{i}].{key}",
                              code="invalid_input")
    for key, label in (("kind", "费用类型"), ("chrgitm_lv", "支付类别")):
        if getattr(it, key) is not None and getattr(it, key) != line[key]:
            raise LedgerError(f"第 {i + 1} 行 {it.code}：{label}由医保目录决定（{line[key]}），不能在就诊中改动",
                              field=f"items[{i}].{key}", code="invalid_input")


def claim_lines(s, items: list[ItemInput], visit_date: date, admdvs: str) -> tuple[list[dict], list[dict]]:
    """The claim's items (contract form) and the notices about them."""
    codes = sorted({it.code for it in items})
    listed = {ci.code: ci for ci in s.execute(select(m.ClinicItem).where(m.ClinicItem.code.in_(codes))).scalars()}
    prices = prices_on(s, listed, visit_date)
    rows = rows_in_force(s, [ci.ins_code for ci in listed.values()], visit_date, admdvs)
    lines, notices = [], []
    for i, it in enumerate(items):
        ci = listed.get(it.code)
        if ci is None:
            lines.append(_typed(i, it))
            continue
        if not ci.active:
            raise LedgerError(f"第 {i + 1} 行 {ci.code} {ci.name} 已停用，不能再收费", field=f"items[{i}].code",
                              code="invalid_input")
        price = prices.get(ci.code)
        if price is None:
            raise LedgerError(f"第 {i + 1} 行 {ci.code} {ci.name} 在 {visit_date} 没有有效的单价（单价的开始日期晚于就诊日）",
                              field=f"items[{i}].code", code="invalid_input")
        row = rows.get(ci.ins_code) if ci.ins_code else None
        line = {"code": ci.code, "name": it.name if it.name else ci.name,
                "kind": CATEGORIES[row.category][1] if row else kind_of_fee_category(ci.fee_category),
                "chrgitm_lv": row.chrgitm_lv if row else "03", "qty": it.qty, "price": price,
                "pay_std": row.pay_std if row else None}
        _check_given(i, it, line)
        if it.fee_category is not None and it.fee_category != ci.fee_category:
            raise LedgerError(f"第 {i + 1} 行收费类别“{it.fee_category}”与本机构收费目录（{ci.fee_category or '未填'}）"
                              "不符：收费目录中的项目按目录的收费类别结算", field=f"items[{i}].fee_category",
                              code="invalid_input")
        lines.append(_round2(it, line, ci.fee_category))
        notices.extend(_notices(i, ci, row, visit_date))
    return lines, notices


def _notices(i: int, ci: m.ClinicItem, row, visit_date: date) -> list[dict]:
    what = f"第 {i + 1} 行 {ci.name}（{ci.code}）"
    if not ci.ins_code:
        return [{"code": NOTICE_UNMAPPED, "item": ci.code,
                 "message": f"{what}未对照医保目录，按全自费结算（对照请在“收费目录”中操作）"}]
    if row is None:
        return [{"code": NOTICE_EXPIRED, "item": ci.code,
                 "message": f"{what}对照的医保目录编码 {ci.ins_code} 在 {visit_date} 不在有效期内（或不适用于参保地），"
                            "按全自费结算"}]
    if row.limit_text:
        return [{"code": NOTICE_LIMIT, "item": ci.code,
                 "message": f"{what}限定支付范围：{row.limit_text}（请确认符合后再结算）"}]
    return []
