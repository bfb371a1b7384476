"""The visit-input rules of the ledger (whatever the caller: window, command line, script): every
value checked and normalised once, the visit-date rules, the quantity and amount bounds of the
settings, reasons, request tokens and the optional 诊断."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal

from desktop_app.core.claim_io import (
    MAX_ITEMS,
    NAME_MAX,
    InvalidInput,
    check_amount,
    check_text,
    shown,
)
from desktop_app.core.model import (
    BENEFITS,
)
from desktop_app.core.money import q2
from desktop_app.services.ledger_types import ItemInput, LedgerError, VisitInput
from desktop_app.store.models import FEE_CATEGORIES

MAX_REASON = 200  # characters of a reason (reversal, earlier-year visit, reopened day)


# ---------------------------------------------------------------------------
# Date rules and bounds (whatever the caller: window, command line, script)
# ---------------------------------------------------------------------------
def check_reason(reason: str, label: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise LedgerError(f"{label}最多 {MAX_REASON} 个字（现在 {len(reason)} 个）", field="reason",
                          code="invalid_input")
    return reason


def check_visit_date(visit_date: date, *, today: date, role: str | None = None, reason: str = "") -> str:
    """The visit-date rules; returns the reason to store ("" for a visit of this year).

    - a visit after today is refused (a settlement is made for a visit that happened);
    - a visit of an earlier calendar year is settled only by a supervisor with a reason: that year's
      caps are not what the roster snapshot (this year's 待遇累计) says. `role=None` (pre-settle,
      which writes nothing) checks the first rule only.
    """
    if visit_date > today:
        raise LedgerError(f"就诊日期 {visit_date} 晚于今天（{today}）：不能结算未来的就诊，请改正就诊日期",
                          field="visit_date", code="invalid_input")
    if role is None or visit_date.year >= today.year:
        return ""
    if role != "supervisor":
        raise LedgerError(f"就诊日期 {visit_date} 在往年（{visit_date.year} 年）：该年度的限额与花名册的本年累计不符，"
                          "只有管理员可以结算往年的就诊（须填写原因）", field="visit_date", code="supervisor_required")
    reason = check_reason(reason, "往年就诊的原因")
    if not reason:
        raise LedgerError(f"就诊日期 {visit_date} 在往年：须填写原因（记入审计）", field="reason", code="invalid_input")
    return reason


def check_bounds(items, settings) -> None:
    """Quantity and line amount (数量 × 单价) within the maxima of the settings (设置: 数量上限, 单行金额上限)."""
    max_qty = Decimal(settings.get("max_qty"))
    max_amount = Decimal(settings.get("max_line_amount"))
    for i, it in enumerate(items):
        if it.qty > max_qty:
            raise LedgerError(f"第 {i + 1} 行数量 {it.qty} 超过上限 {max_qty}（上限由管理员在设置中调整）",
                              field=f"items[{i}].qty", code="invalid_input")
        amount = q2(it.qty * it.price)
        if amount > max_amount:
            raise LedgerError(f"第 {i + 1} 行金额 {amount}（数量 × 单价）超过上限 {max_amount} 元"
                              "（上限由管理员在设置中调整）", field=f"items[{i}].price", code="invalid_input")


# ---------------------------------------------------------------------------
# Visit input: checked and normalised once, here, for the window and the command line
# ---------------------------------------------------------------------------
PSN_MAX = 32  # person.psn_no
CODE_MAX = 32  # settlement_item.code, settlement.disease
TOKEN_MAX = 64  # settlement.request_token
AMOUNT_MAX = Decimal("1000000")  # a quantity or unit price, as in the window (gui/validate.py)
ENUM_MAX = 32


def _bad(exc: InvalidInput) -> LedgerError:
    return LedgerError(exc.message, field=exc.field, code="invalid_input")


def _decimal_text(raw: object, field: str, label: str, *, positive: bool = False) -> str:
    """A quantity or price as stored: the normalised decimal (１．５ → 1.5); commas refused."""
    v = check_amount(raw, field, label, max_dp=4, positive=positive, limit=AMOUNT_MAX)
    return format(v, "f")


def _optional_text(raw: object, field: str, label: str, max_len: int) -> str | None:
    return None if raw is None else check_text(raw, field, label, max_len=max_len)


def _check_item(i: int, it: ItemInput) -> ItemInput:
    f = f"items[{i}]"
    return ItemInput(
        code=check_text(it.code, f"{f}.code", "项目编码", max_len=CODE_MAX),
        qty=_decimal_text(it.qty, f"{f}.qty", "数量", positive=True),
        price=None if it.price is None else _decimal_text(it.price, f"{f}.price", "单价"),
        name=None if it.name is None else check_text(it.name, f"{f}.name", "项目名称", max_len=NAME_MAX, empty=True),
        kind=_optional_text(it.kind, f"{f}.kind", "费用类型", ENUM_MAX),
        chrgitm_lv=_optional_text(it.chrgitm_lv, f"{f}.chrgitm_lv", "支付类别", ENUM_MAX),
        pay_std=None if it.pay_std is None else _decimal_text(it.pay_std, f"{f}.pay_std", "支付标准"),
        fee_category=_fee_category(it.fee_category, f"{f}.fee_category"),
        indication_confirmed=_flag(it.indication_confirmed, f"{f}.indication_confirmed", "已确认适应症"),
    )


def _fee_category(raw: object, field: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in FEE_CATEGORIES:
        raise InvalidInput(field, f"收费类别“{shown(raw)}”无效，允许：{'、'.join(FEE_CATEGORIES)}")
    return raw


def _flag(raw: object, field: str, label: str) -> bool:
    if not isinstance(raw, bool):
        raise InvalidInput(field, f"{label} {field.rsplit('.', 1)[-1]} 须为 true 或 false")
    return raw


def check_visit(visit: VisitInput) -> VisitInput:
    """The visit with every value checked (type, length, number format) and normalised — quantities and
    prices as plain decimals — or a refusal naming the field (exit 2). Nothing the clerk typed reaches
    the database unchecked."""
    try:
        psn_no = check_text(visit.psn_no, "psn_no", "人员编号", max_len=PSN_MAX)
        if not isinstance(visit.date, date):
            raise InvalidInput("date", "就诊日期须为日期（YYYY-MM-DD）")
        if not isinstance(visit.benefit, str) or visit.benefit not in BENEFITS:
            raise InvalidInput("benefit", f"待遇类别“{shown(visit.benefit)}”无效，允许：{'、'.join(BENEFITS)}")
        disease = _optional_text(visit.disease, "disease", "病种编码", CODE_MAX)
        delivery = _optional_text(visit.delivery, "delivery", "分娩方式", ENUM_MAX)
        if not isinstance(visit.use_account, bool):
            raise InvalidInput("use_account", "是否使用个人账户 use_account 须为 true 或 false")
        if visit.family_account is not None and not isinstance(visit.family_account, dict):
            raise InvalidInput("family_account", "家庭共济账户 family_account 须为 JSON 对象")
        if not isinstance(visit.items, list | tuple) or not visit.items:
            raise InvalidInput("items", "费用明细 items 须为非空列表")
        if len(visit.items) > MAX_ITEMS:
            raise InvalidInput("items", f"费用明细最多 {MAX_ITEMS} 条")
        items = [_check_item(i, it) for i, it in enumerate(visit.items)]
    except InvalidInput as exc:
        raise _bad(exc) from None
    return VisitInput(psn_no=psn_no, date=visit.date, benefit=visit.benefit, items=items, disease=disease,
                      delivery=delivery, use_account=visit.use_account, family_account=visit.family_account,
                      institution=visit.institution, reason=visit.reason, diagnosis=visit.diagnosis)


def check_token(token: str | None) -> str:
    if token is None or token == "":
        return uuid.uuid4().hex
    try:
        return check_text(token, "token", "请求令牌", max_len=TOKEN_MAX)
    except InvalidInput as exc:
        raise _bad(exc) from None


def check_reversal_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise LedgerError("冲正必须填写原因", field="reason", code="invalid_input")
    try:
        return check_text(reason, "reason", "冲正原因", max_len=MAX_REASON)
    except InvalidInput as exc:
        raise _bad(exc) from None


_ICD10 = re.compile(r"([A-Za-z]\d{2}(?:\.[0-9A-Za-z]{1,8})?)(?:\s+(\S.*))?")


def check_diagnosis(text: str | None) -> str:
    """An optional 诊断: an ICD-10 code, then its name ("J06.900 急性上呼吸道感染"); "" when not given."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    m_ = _ICD10.fullmatch(text)
    if m_ is None or len(text) > 120:
        raise LedgerError(f"诊断须为 ICD-10 编码加名称，如“J06.900 急性上呼吸道感染”，收到“{text[:40]}”",
                          field="diagnosis", code="invalid_input")
    code, name = m_.group(1), m_.group(2) or ""
    return f"{code[0].upper()}{code[1:]} {name}".strip()
