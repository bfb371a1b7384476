"""A database held by another program (another window's long import, a command-line settle): after the
busy timeout the clerk gets a clear wait-and-retry message, nothing is written, and a retry with the same
request token settles exactly once."""

import json
import sqlite3

from sqlalchemy import func, select

from desktop_app.services import ledger
from desktop_app.store import models as m
from desktop_app.store.db import Database, DatabaseBusy
from tests.cli_run import cs, env_for
from tests.services.test_ledger import TODAY, resident, visit


def hold_write_lock(path):
    """Another program in the middle of a write transaction."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def count(db):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.Settlement)).scalar()


def test_settle_waits_then_says_busy_and_the_retry_settles_once(db):
    psn = resident(db).psn_no
    quick = Database(db.path, busy_timeout_ms=200)
    other = hold_write_lock(db.path)
    try:
        try:
            ledger.settle(quick, visit(psn), token="busy-1", operator="clerk", today=TODAY)
            raise AssertionError("settled through another program's write lock")
        except DatabaseBusy as exc:
            assert "数据库正被另一个程序占用" in exc.message and "没有写入任何数据" in exc.message
            assert "稍后重试" in exc.message and exc.field == "db"
        assert count(quick) == 0
    finally:
        other.rollback()
        other.close()
    rec = ledger.settle(quick, visit(psn), token="busy-1", operator="clerk", today=TODAY)
    again = ledger.settle(quick, visit(psn), token="busy-1", operator="clerk", today=TODAY)
    assert again.setl_no == rec.setl_no and count(quick) == 1
    quick.dispose()


def test_command_line_says_busy_with_its_own_exit_code(db, tmp_path):
    psn = resident(db).psn_no
    v = tmp_path / "v.json"
    v.write_text(json.dumps({"psn_no": psn, "date": TODAY.isoformat(), "benefit": "general_outpatient",
                             "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    other = hold_write_lock(db.path)
    try:
        env = env_for("clerk", CLINIC_SETTLE_BUSY_TIMEOUT_MS="300")
        code, out, err = cs("settle", str(v), "--token", "cli-busy", "--db", str(db.path), "--json", env=env)
        data = json.loads(out)["error"]
        assert code == 4 and data["code"] == "database_busy" and "稍后重试" in data["message"]
        code, out, err = cs("settle", str(v), "--token", "cli-busy", "--db", str(db.path), env=env)
        assert code == 4 and "数据库正被另一个程序占用" in err and "Traceback" not in err
    finally:
        other.rollback()
        other.close()
    assert count(db) == 0
