"""Column types: money as integer fen (exact in SQLite and PostgreSQL, exact SUM)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from desktop_app.core.money import q2

_HUNDRED = Decimal(100)


class Money(TypeDecorator):
    """A `Decimal` yuan amount stored as an integer number of fen (分)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(value)
        fen = q2(value) * _HUNDRED
        return int(fen)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-2)  # exact: fen → yuan with two decimals (0 → 0.00)


def fen_to_yuan(value) -> Decimal:
    """For SUM() results, which bypass the type."""
    return Decimal(int(value or 0)).scaleb(-2)
