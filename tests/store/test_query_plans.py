"""Access paths: the statements the program really sends for a lookup, a settlement's number and the day's
list are caught on their way to SQLite and explained (`EXPLAIN QUERY PLAN`) on the same file. None may read
all of `person` or `settlement` (a SCAN of the table or of a whole index), and the pinyin search reads its
index in order (no temporary B-tree to sort)."""

import re
import sqlite3
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event, select

from desktop_app.services import days, ledger, ledger_types, lookup
from desktop_app.services.roster import pinyin_keys
from desktop_app.store import models as m

TODAY = date(2026, 11, 23)
FULL_SCAN = re.compile(r"\bSCAN (person|settlement)(\s|$)")


@contextmanager
def caught(db):
    """Every statement (with its parameters) the database's engines execute inside the block."""
    seen: list[tuple[str, tuple]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, tuple(parameters) if isinstance(parameters, (list, tuple)) else parameters))

    for eng in (db.engine, db.write_engine):
        event.listen(eng, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        for eng in (db.engine, db.write_engine):
            event.remove(eng, "before_cursor_execute", grab)


def plans(db, statements):
    con = sqlite3.connect(db.path)
    try:
        out = []
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            rows = con.execute("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()
            out.append((sql, [r[-1] for r in rows]))
        return out
    finally:
        con.close()


def touching(plan_list, table):
    return [(sql, p) for sql, p in plan_list if re.search(rf"\b{table}\b", sql)]


def a_person(db):
    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.name.like("___")).order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def test_every_kind_of_lookup_uses_an_index(db):
    p = a_person(db)
    full, initials = pinyin_keys(p.name)[:2]
    kinds = {
        "ID number": p.id_no, "人员编号": p.psn_no, "scan": f"CHSQR|v1|idno={p.id_no}|ts=1",
        "last 4 of ID": p.id_no[-4:], "last 6 of ID": p.id_no[-6:], "人员编号 prefix": p.psn_no[:8],
        "name": p.name, "name prefix": p.name[:2], "name contains (3+ characters)": "阳" + p.name[1:] + "明",
        "pinyin initials": initials, "full pinyin": full,
    }
    for kind, q in kinds.items():
        with caught(db) as seen:
            lookup.search(db, q)
        explained = touching(plans(db, seen), "person")
        assert explained, kind
        for sql, plan in explained:
            if [line for line in plan if FULL_SCAN.search(line)]:
                # the one scan left: "name contains" for a query shorter than a trigram (1–2 characters),
                # which the trigram index cannot answer; it stops at the 50th hit (docs/benchmarks.md)
                assert len(q) < 3 and "LIKE '%' ||" in sql and "LIMIT" in sql, (kind, sql, plan)
        if kind == "name contains (3+ characters)":
            assert any("person_fts VIRTUAL TABLE" in line for _sql, plan in explained for line in plan), explained
    with caught(db) as seen:
        lookup.search(db, initials)
    key_plans = touching(plans(db, seen), "person_key")
    assert key_plans and all("ix_person_key_key_psn" in " ".join(plan) for _sql, plan in key_plans), key_plans
    assert not [plan for _sql, plan in key_plans if any("TEMP B-TREE" in line for line in plan)], key_plans


def test_settlement_number_and_day_list_use_their_index(db):
    p = a_person(db)
    visit = ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", [ledger_types.ItemInput("110200005", "1")])
    with caught(db) as seen:
        rec = ledger.settle(db, visit, operator="clerk", today=TODAY)
    number = [(sql, params) for sql, params in seen if "setl_no >=" in sql]
    assert len(number) == 1, [sql for sql, _ in seen if "setl_no" in sql]
    assert not [sql for sql, _ in seen if "LIKE" in sql.upper() and "setl_no" in sql]
    (sql, plan), = plans(db, number)
    assert any(re.search(r"SEARCH settlement USING COVERING INDEX \S+ \(setl_no>\? AND setl_no<\?\)", line)
               for line in plan), plan
    assert not [line for line in plan if FULL_SCAN.search(line) or "TEMP B-TREE" in line], plan
    with caught(db) as seen:
        listed = days.list_day(db, TODAY)
    assert rec.setl_no in [r.setl_no for r in listed]
    explained = touching(plans(db, seen), "settlement")
    assert explained
    for sql, plan in explained:
        assert not [line for line in plan if FULL_SCAN.search(line)], (sql, plan)
