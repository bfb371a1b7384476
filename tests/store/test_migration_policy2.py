"""Revision 0005_policy2 (and 0004_selfpay before it) on a database made by the code before it (tests/store/data/v0003.sqlite3.gz, built by
build_v0003.py.txt at commit e60b301): new columns, the price list's fee categories, the retired setting, and
the audit trail still verifying."""

import gzip
import shutil
import sqlite3
from datetime import date
from pathlib import Path

from desktop_app.services import audit, ledger
from desktop_app.services.ledger_types import ItemInput, VisitInput
from desktop_app.store.db import SCHEMA_HEAD, open_db

DATA = Path(__file__).parent / "data"


def old_db(tmp_path) -> Path:
    path = tmp_path / "v0003.sqlite3"
    with gzip.open(DATA / "v0003.sqlite3.gz", "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_a_0003_database_upgrades_and_keeps_working(tmp_path):
    path = old_db(tmp_path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    before = {r[0]: r[1] for r in con.execute("SELECT code, fee_category FROM clinic_item")}
    settled = con.execute("SELECT setl_no, claim_json, result_json FROM settlement ORDER BY id").fetchall()
    items_before = con.execute("SELECT * FROM settlement_item ORDER BY settlement_id, seq").fetchall()
    con.close()
    assert before["YP0001"] == "中药饮片" and before["110200005"] == "一般诊疗费"  # names of the old demo list

    db = open_db(path)  # migrates
    assert db.schema_version() == SCHEMA_HEAD
    con = sqlite3.connect(path)
    after = {r[0]: r[1] for r in con.execute("SELECT code, fee_category FROM clinic_item")}
    assert after["YP0001"] == "中药饮片费" and after["110200005"] == "诊查费" and after["250101015"] == "化验费"
    assert {k for k, v in after.items() if v != before[k]} == {"YP0001", "YP0002", "110200005"}
    cols = {r[1]: r for r in con.execute("PRAGMA table_info(person)")}
    assert "contrib_year" in cols and {r[0] for r in con.execute("SELECT contrib_year FROM person")} == {None}
    fee = {r[1]: r for r in con.execute("PRAGMA table_info(clinic_item)")}["fee_category"]
    assert fee[3] == 0  # nullable now
    # settled records are never rewritten
    assert con.execute("SELECT setl_no, claim_json, result_json FROM settlement ORDER BY id").fetchall() == settled
    assert con.execute("SELECT * FROM settlement_item ORDER BY settlement_id, seq").fetchall() == items_before
    # the retired setting stays as stored (the audit trail's digest covers it) and is read by nobody
    assert con.execute("SELECT value FROM setting WHERE key='clinic_designated_diseases'").fetchone() == ("M01904",)
    con.close()
    res = audit.verify(db, actor="admin")
    assert res.ok, res
    # and the clinic settles on it
    psn = sqlite3.connect(path).execute("SELECT psn_no FROM person WHERE insutype='390' AND admdvs='141102' "
                                        "ORDER BY psn_no").fetchone()[0]
    day = date(2026, 11, 24)
    pv = ledger.presettle(db, VisitInput(psn, day, "general_outpatient", [ItemInput("YP0001", "10")]),
                          operator="clerk", today=day)
    assert pv.claim["institution"]["designated_diseases"] == []
    db.dispose()
