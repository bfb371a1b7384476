"""#12.6: `audit verify` checks settlements against the trail AND the trail against settlements, and the
digest covers every stored field a receipt, a report or a cap depends on."""

import json

import pytest

from desktop_app.services import audit, days, ledger
from desktop_app.store.db import open_db
from tests.cli_run import cs
from tests.integrity.helpers import DAY2, kinds, raw, raw_one, residents, two_days, visit


def test_normal_work_verifies_clean(db):
    two_days(db)
    r = audit.verify(db, actor="admin")
    assert r.ok, r.problems
    assert r.settlements == 4


def _delete_settlement(db, setl_no):
    raw(db, "DELETE FROM settlement_item WHERE settlement_id = (SELECT id FROM settlement WHERE setl_no = ?)", setl_no)
    raw(db, "DELETE FROM settlement WHERE setl_no = ?", setl_no)


def test_deleting_a_middle_settlement_keeping_its_audit_entry_is_caught(db):
    a, _b, _r, _c = two_days(db)
    _delete_settlement(db, a.setl_no)
    r = audit.verify(db, actor="admin")
    assert "settlement_missing" in kinds(r) and any(a.setl_no in p.message for p in r.problems)


def test_deleting_a_reversal_is_caught(db):
    _a, b, rv, _c = two_days(db)
    _delete_settlement(db, rv.setl_no)
    r = audit.verify(db, actor="admin")
    assert "settlement_missing" in kinds(r) and any(rv.setl_no in p.message for p in r.problems)


def test_repointing_a_reversal_to_another_settlement_is_caught(db):
    a, _b, rv, _c = two_days(db)
    raw(db, "UPDATE settlement SET original_id = (SELECT id FROM settlement WHERE setl_no = ?) WHERE setl_no = ?",
        a.setl_no, rv.setl_no)
    r = audit.verify(db, actor="admin")
    assert not r.ok and any(rv.setl_no in p.message for p in r.problems)


@pytest.mark.parametrize("column, value", [
    ("result_json", None),  # receipts are reprinted from it
    ("receipt_json", None),
    ("claim_json", None),
    ("business_date", "2026-11-22"),
    ("operator", "admin"),
    ("reason", "顾客要求"),
    ("packs", "[]"),
    ("disease", "X99"),
    ("request_token", "forged"),
])
def test_editing_any_stored_field_is_caught(db, column, value):
    _a, _b, rv, _c = two_days(db)
    if value is None:  # a JSON column: change one figure in it
        old = raw_one(db, f"SELECT {column} FROM settlement WHERE setl_no = ?", rv.setl_no)[0]
        doc = json.loads(old)
        doc["forged"] = "1"
        value = json.dumps(doc, ensure_ascii=False, sort_keys=True)
    raw(db, f"UPDATE settlement SET {column} = ? WHERE setl_no = ?", value, rv.setl_no)
    r = audit.verify(db, actor="admin")
    assert "settlement_changed" in kinds(r), (column, r.problems)
    assert any(rv.setl_no in p.message for p in r.problems)


def test_editing_a_stored_line_name_or_class_is_caught(db):
    a, *_ = two_days(db)
    raw(db, "UPDATE settlement_item SET chrgitm_lv = '03', name = '假药' WHERE settlement_id = "
            "(SELECT id FROM settlement WHERE setl_no = ?) AND seq = 1", a.setl_no)
    assert kinds(audit.verify(db, actor="admin")) == ["settlement_changed"]


def test_reopening_a_closed_day_is_caught(db):
    a, *_ = two_days(db)
    # un-stamp one settlement: a clerk could then reverse it without a supervisor
    raw(db, "UPDATE settlement SET day_close_id = NULL WHERE setl_no = ?", a.setl_no)
    r = audit.verify(db, actor="admin")
    assert "day_close_stamp" in kinds(r) and any(a.setl_no in p.message for p in r.problems)


def test_deleting_a_day_close_is_caught(db):
    two_days(db)
    raw(db, "UPDATE settlement SET day_close_id = NULL")
    raw(db, "DELETE FROM day_close")
    r = audit.verify(db, actor="admin")
    assert "day_close_missing" in kinds(r)


def test_editing_a_day_close_is_caught(db):
    two_days(db)
    raw(db, "UPDATE day_close SET totals_json = replace(totals_json, '\"hifp_pay\"', '\"hifp_pay_\"')")
    raw(db, "UPDATE day_close SET operator = 'clerk'")
    assert "day_close_changed" in kinds(audit.verify(db, actor="admin"))


def test_cli_verify_reports_a_deleted_reversal(db):
    _a, _b, rv, _c = two_days(db)
    _delete_settlement(db, rv.setl_no)
    code, out, _ = cs("audit", "verify", "--db", str(db.path), user="admin")
    assert code == 1 and rv.setl_no in out


# --------------------------------------------------------------------------
# a database written before digest version 2
# --------------------------------------------------------------------------
def test_a_database_with_old_digests_still_verifies_clean(v1_db_path):
    d = open_db(v1_db_path)  # migrates it to the current schema
    try:
        r = audit.verify(d, actor="admin")
        assert r.ok, r.problems
        assert r.settlements == 5
        # new work on the old database: new entries carry the new digest, the old ones keep theirs
        p = residents(d, 1)
        rec = ledger.settle(d, visit(p[0], DAY2), operator="clerk", today=DAY2)
        ledger.reverse(d, rec.setl_no, reason="退费", operator="clerk", today=DAY2)
        days.day_close(d, operator="admin", day=DAY2)
        r = audit.verify(d, actor="admin")
        assert r.ok, r.problems
        assert r.settlements == 7
        last = audit.recent(d, 3, actor="admin")
        assert [e.detail.get("dv") for e in last] == [2, 2, 2]
        assert all("dv" not in e.detail for e in audit.recent(d, 50, actor="admin") if e.id <= 19)
    finally:
        d.dispose()


def test_old_entries_still_catch_a_deleted_settlement(v1_db_path):
    raw_db = type("D", (), {"path": v1_db_path})()
    raw(raw_db, "DELETE FROM settlement_item WHERE settlement_id = 1")
    raw(raw_db, "DELETE FROM settlement WHERE id = 1")
    d = open_db(v1_db_path)
    try:
        assert "settlement_missing" in kinds(audit.verify(d, actor="admin"))
    finally:
        d.dispose()
