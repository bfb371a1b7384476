"""Checking what the clerk types, with a message in Chinese that names the field."""

from __future__ import annotations

from decimal import Decimal

from desktop_app.core.money import decimals, parse_decimal

LIMIT_NOTE = "（上限由管理员在设置中调整）"


def amount(text: str, label: str, *, max_dp: int = 2, positive: bool = False,
           maximum: Decimal | None = None) -> tuple[Decimal | None, str]:
    """Parse a quantity or price. Full-width digits (１２.５) are read as digits."""
    t = (text or "").strip()
    if not t:
        return None, f"{label}不能为空"
    try:
        v = parse_decimal(t)
    except ValueError:
        return None, f"{label}只能填数字（如 12.50），不能有字母或符号"
    if v < 0:
        return None, f"{label}不能为负数"
    if positive and v == 0:
        return None, f"{label}须大于 0"
    if decimals(v) > max_dp:
        return None, f"{label}最多 {max_dp} 位小数"
    if maximum is not None and v > maximum:
        return None, f"{label}不能超过 {maximum}{LIMIT_NOTE}"
    if v >= Decimal("1000000"):
        return None, f"{label}数值过大"
    return v, ""


def line_amount_error(qty: Decimal, price: Decimal, label: str, maximum: Decimal | None) -> str:
    """The line amount (数量 × 单价) above the maximum of the settings, said with the figures."""
    from desktop_app.core.money import q2

    amt = q2(qty * price)
    if maximum is not None and amt > maximum:
        return f"{label}金额 {amt}（数量 × 单价）超过上限 {maximum} 元{LIMIT_NOTE}"
    return ""
