"""Access paths for finding a person by part of a name.

SQLite: `person_fts`, an FTS5 trigram index over `person.name` (external content, `detail=none`), kept in
step with `person` by the triggers migration 0006 creates (insert, update of the name, delete — so every
writer, the roster re-import included, keeps it current without knowing of it). A query of three or more
characters asks the index for the rows holding all its trigrams, then keeps those whose name really
contains it (`LIKE`, the same test as without the index), in rowid order — the order a scan of the table
returns them, so the hits are the same as before the index existed.

Any other database (PostgreSQL at the county centre), and queries of one or two characters (shorter than a
trigram): the plain `LIKE '%q%'` scan, which stops at the limit.

Everything SQLite-specific about name search is in this module.
"""

from __future__ import annotations

from sqlalchemy import column, literal_column, select, table

from desktop_app.store import models as m

FTS_TABLE = "person_fts"
TRIGRAM = 3

_fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))


def uses_fts(s) -> bool:
    """True when this connection's (or session's) database answers substring searches from the trigram index."""
    dialect = s.dialect if hasattr(s, "dialect") else s.get_bind().dialect
    return dialect.name == "sqlite"


def fts_query(q: str) -> str:
    """The FTS5 query matching rows that hold every trigram of q (a superset of the rows containing q)."""
    grams = dict.fromkeys(q[i:i + TRIGRAM] for i in range(len(q) - TRIGRAM + 1))
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def name_contains(s, cols, q: str, limit: int):
    """Rows (`cols` of person) whose name contains q, at most `limit`, in table order. `s`: a Connection or
    a Session."""
    contains = m.Person.name.contains(q, autoescape=True)
    if len(q) < TRIGRAM or not uses_fts(s):
        return s.execute(select(*cols).where(contains).limit(limit)).all()
    rowid = literal_column("person.rowid")
    stmt = (select(*cols).select_from(_fts.join(m.Person.__table__, rowid == _fts.c.rowid))
            .where(_fts.c[FTS_TABLE].op("MATCH")(fts_query(q)), contains)
            .order_by(_fts.c.rowid).limit(limit))
    return s.execute(stmt).all()
