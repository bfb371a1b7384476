"""Migration 0009 (county_export.covered_to): a county database made by the schema before it, with an ingested
export, upgrades in place; the old export keeps its row and has no covered day (the centre then asks for --force
or a new export made after the day's 日结)."""

import sqlite3
from datetime import date

from sqlalchemy import select

from desktop_app.store import models as m
from desktop_app.store.db import SCHEMA_HEAD, open_db
from tests.store.test_search import at_revision


def test_upgrade_from_0008_keeps_the_ingested_exports(tmp_path):
    path = tmp_path / "county.sqlite3"
    at_revision(path, "0008").dispose()
    with sqlite3.connect(path) as c:
        c.execute("INSERT INTO county_export (fixmedins_code, fixmedins_name, period_from, period_to, manifest_name,"
                  " manifest_sha256, rows, added, audit_anchor, ingested_at, ingested_by) VALUES ('H1', '甲',"
                  " '2026-11-01', '2026-11-30', 'manifest_x.json', 'ab', 3, 3, '', '2026-12-01 10:00:00', 'admin')")
    d = open_db(path)  # the program's start-up: upgrade in place
    assert d.schema_version() == SCHEMA_HEAD
    with d.read() as s:
        e = s.execute(select(m.CountyExport)).scalar_one()
        assert (e.period_to, e.covered_to, e.rows) == (date(2026, 11, 30), None, 3)
    d.dispose()
