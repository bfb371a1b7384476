"""Money and ratios as `Decimal`, never float.

Every money figure is rounded half-up to 0.01 yuan once, where it is produced
(per item, then totals as sums of rounded figures); ratios are shown with four
decimals.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
RATIO_Q = Decimal("0.0001")
ONE = Decimal(1)

_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")


class CommaInNumber(ValueError):
    """A comma in a number: "1,5" may mean 1.5 (a decimal comma) or 15 (a thousands separator); neither
    is guessed."""


def q2(value: Decimal) -> Decimal:
    """Round half-up to 0.01 (yuan)."""
    return value.quantize(CENT, ROUND_HALF_UP)


def q4(value: Decimal) -> Decimal:
    return value.quantize(RATIO_Q, ROUND_HALF_UP)


def fmt2(value: Decimal) -> str:
    """`q2` as text (one call: the engine formats ~10 figures a claim)."""
    return str(value.quantize(CENT, ROUND_HALF_UP))


def fmt4(value: Decimal) -> str:
    """`q4` as text."""
    return str(value.quantize(RATIO_Q, ROUND_HALF_UP))


def parse_decimal(raw: object) -> Decimal:
    """Parse a plain decimal from a string or an exact JSON number.

    Accepts "12.5", " 12.50 ", full-width digits and point "１２．５", ints and Decimals.
    Rejects floats (binary floating point never touches money), exponents,
    NaN/Infinity, booleans and anything else with `ValueError`; a comma (ASCII or
    full-width) with `CommaInNumber` — it is never read as a thousands separator.
    """
    if isinstance(raw, bool):
        raise ValueError("not a number")
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError("not a finite number")
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        raise ValueError("binary floating point is not accepted for money")
    if not isinstance(raw, str):
        raise ValueError("not a number")
    text = raw.strip().translate(_FULLWIDTH)
    if "," in text:
        raise CommaInNumber("a comma in a number")
    if not _PLAIN.match(text):
        raise ValueError("not a plain decimal")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex already guards this
        raise ValueError("not a number") from exc


def decimals(value: Decimal) -> int:
    exp = value.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0
