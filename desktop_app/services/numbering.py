"""Settlement numbers: `CLINIC-YYYYMMDD-NNNN`, unique per clinic and day, taken without scanning.

The last number of each clinic and day is one row of `setl_counter`; the next is taken with a single
upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same SQL on SQLite and PostgreSQL) that holds
the row to the end of the settlement's transaction. Two counters settling at once on one PostgreSQL
server therefore take consecutive numbers; a settlement that rolls back gives its number back (no gap).
A day's first number also looks once at the settlements already there (a database whose settlements
were written without the counter — demo data, an old copy), so a number is never given twice.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text

from desktop_app.store import models as m

_TAKE = text("INSERT INTO setl_counter (prefix, last) VALUES (:prefix, 1) "
             "ON CONFLICT (prefix) DO UPDATE SET last = setl_counter.last + 1 RETURNING last")


def next_number(s, prefix: str) -> int:
    """The next sequence number under `prefix`, in the caller's write transaction."""
    seq = s.execute(_TAKE, {"prefix": prefix}).scalar_one()
    if seq == 1:  # the day's first: numbers written before the counter existed?
        # the day's numbers are the range [prefix, prefix with '.' for its last '-') of the unique index: a seek,
        # at any size (a LIKE reads the whole index on SQLite and takes a code's `_` or `%` as a wildcard)
        last = s.execute(select(func.max(m.Settlement.setl_no))
                         .where(m.Settlement.setl_no >= prefix, m.Settlement.setl_no < prefix[:-1] + ".")).scalar()
        if last:
            seq = int(last.rsplit("-", 1)[1]) + 1
            s.execute(text("UPDATE setl_counter SET last = :seq WHERE prefix = :prefix"), {"seq": seq, "prefix": prefix})
    return seq


def next_setl_no(s, clinic: str, day: date) -> str:
    prefix = f"{clinic}-{day:%Y%m%d}-"
    return f"{prefix}{next_number(s, prefix):04d}"
