"""store.db.insert_many (the roster import's bulk path on SQLite) stores exactly what SQLAlchemy's own
executemany stores: dates, date-times, booleans, money as fen, NULLs — compared as raw rows of the file."""

import sqlite3
from datetime import date, datetime
from decimal import Decimal

from desktop_app.store import models as m
from desktop_app.store.db import insert_many, open_db


def person(i: int) -> dict:
    return dict(psn_no=f"P{i:05d}", id_no=f"14{i:016d}", name=["张三", "O'Brien", "维生素C"][i % 3],
                gender="男" if i % 2 else "女", birth_date=date(1950 + i % 60, 1 + i % 12, 1 + i % 28),
                insutype="390", category="resident", admdvs="141102",
                paid_on=None if i % 4 == 0 else date(2025, 12, 1), pay_period="集中", waiting_exempt=bool(i % 2),
                family_doctor_at="", acct_balance=Decimal(f"{i * 7 % 100000}.{i % 100:02d}") if i % 5 else Decimal("0"),
                as_of=date(2026, 11, 20), updated_at=datetime(2026, 11, 23, 9, 30, i % 60, 123456))


def dump(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_rows_are_stored_as_sqlalchemy_stores_them(tmp_path):
    rows = [person(i) for i in range(60)]
    usage = [dict(psn_no=r["psn_no"], year=2026, benefit="general_outpatient", disease="", quarter=None if i % 2 else 3,
                  fund_paid=Decimal("12.30") * i, item_code="", count=i) for i, r in enumerate(rows)]
    paths = []
    for way in ("bulk", "sqlalchemy"):
        db = open_db(tmp_path / f"{way}.sqlite3")
        with db.write() as s:
            if way == "bulk":
                insert_many(s, m.Person.__table__, rows)
                insert_many(s, m.UsageSnapshot.__table__, usage)
            else:
                s.execute(m.Person.__table__.insert(), rows)
                s.execute(m.UsageSnapshot.__table__.insert(), usage)
        with db.read() as s:
            assert s.get(m.Person, "P00007").acct_balance == rows[7]["acct_balance"]
        db.dispose()
        paths.append(db.path)
    for sql in ("SELECT rowid, * FROM person ORDER BY rowid", "SELECT * FROM usage_snapshot ORDER BY id",
                "SELECT rowid, name FROM person_fts WHERE person_fts MATCH '\"bri\"'"):
        a, b = (dump(p, sql) for p in paths)
        assert a == b and a, sql
