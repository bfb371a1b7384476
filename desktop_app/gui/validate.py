"""Checking what the clerk types, with a message in Chinese that names the field."""

from __future__ import annotations

from decimal import Decimal

from desktop_app.core.money import decimals, parse_decimal


def amount(text: str, label: str, *, max_dp: int = 2, positive: bool = False) -> tuple[Decimal | None, str]:
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
    if v >= Decimal("1000000"):
        return None, f"{label}数值过大"
    return v, ""
