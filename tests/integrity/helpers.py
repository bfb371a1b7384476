"""What the attacker does: raw sqlite3 on the database file (never the ORM), and a day of normal work."""

import sqlite3
from datetime import date

from sqlalchemy import select

from desktop_app.services import days, ledger, ledger_types
from desktop_app.store import models as m

DAY1, DAY2 = date(2026, 11, 23), date(2026, 11, 24)


def raw(db, sql, *args):
    con = sqlite3.connect(db.path)
    con.execute(sql, args)
    con.commit()
    con.close()


def raw_one(db, sql, *args):
    con = sqlite3.connect(db.path)
    row = con.execute(sql, args).fetchone()
    con.close()
    return row


def residents(db, n=3):
    with db.read() as s:
        return s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                         .order_by(m.Person.psn_no).limit(n)).scalars().all()


def visit(psn, day=DAY1):
    return ledger_types.VisitInput(psn, day, "general_outpatient", [ledger_types.ItemInput("110200005", "1"),
                                                              ledger_types.ItemInput("XJ01CAA040A001", "2")])


def two_days(db):
    """Day 1: settle a, settle b, reverse b (r), close the day. Day 2: settle c. Returns (a, b, r, c)."""
    p = residents(db)
    a = ledger.settle(db, visit(p[0]), operator="clerk", today=DAY1)
    b = ledger.settle(db, visit(p[1]), operator="clerk", today=DAY1)
    r = ledger.reverse(db, b.setl_no, reason="退费", operator="clerk", today=DAY1)
    days.day_close(db, operator="admin", day=DAY1)
    c = ledger.settle(db, visit(p[2], DAY2), operator="clerk", today=DAY2)
    return a, b, r, c


def kinds(result):
    return [p.kind for p in result.problems]
