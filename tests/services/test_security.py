"""Audit trail (hash chain) and accounts: tampering with raw SQL is caught; lockout; roles; privacy."""

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.services import accounts, audit, days, ledger, ledger_types
from desktop_app.store import models as m
from tests.cli_run import cs, env_for

TODAY = date(2026, 11, 23)
ROOT = Path(__file__).resolve().parents[2]


def busy(db):
    with db.read() as s:
        psn = s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                        .order_by(m.Person.psn_no)).scalars().first()
    v = ledger_types.VisitInput(psn, TODAY, "general_outpatient", [ledger_types.ItemInput("110200005", "1"),
                                                             ledger_types.ItemInput("XJ01CAA040A001", "2")])
    a = ledger.settle(db, v, operator="clerk", today=TODAY)
    b = ledger.settle(db, v, operator="clerk", today=TODAY)
    ledger.reverse(db, b.setl_no, reason="退费", operator="clerk", today=TODAY)
    days.day_close(db, operator="admin", day=TODAY)
    return a


pytestmark = pytest.mark.both_backends


def raw(db, sql, *args):
    """Tampering behind the program's back: raw sqlite3 on the file, or raw psycopg on the server."""
    if db.is_sqlite:
        con = sqlite3.connect(db.path)
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(db.url)
        con = psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database)
        sql = sql.replace("?", "%s")
    con.execute(sql, args)
    con.commit()
    con.close()


def test_chain_is_complete_after_normal_work(db):
    busy(db)
    r = audit.verify(db, actor="admin")
    assert r.ok, r.problems
    assert r.settlements == 3
    actions = [e.action for e in audit.recent(db, actor="admin")]
    assert {"settle", "reverse", "day_close", "pack_sync", "roster_import", "account_add"} <= set(actions)


def test_update_of_an_entry_is_caught(db):
    busy(db)
    target = [e for e in audit.recent(db, actor="admin") if e.action == "settle"][0]
    raw(db, "UPDATE audit_entry SET detail = ? WHERE id = ?", json.dumps({"hifp_pay": "0.01"}), target.id)
    r = audit.verify(db, actor="admin")
    assert not r.ok and r.problems[0].kind == "edited" and r.problems[0].entry_id == target.id


def test_delete_of_an_entry_is_caught(db):
    busy(db)
    victim = [e for e in audit.recent(db, actor="admin") if e.action == "reverse"][0]
    raw(db, "DELETE FROM audit_entry WHERE id = ?", victim.id)
    r = audit.verify(db, actor="admin")
    assert not r.ok and r.problems[0].kind == "deleted" and r.problems[0].entry_id == victim.id + 1
    assert any(p.kind == "settlement_unrecorded" for p in r.problems)


def test_reordered_rows_are_caught(db):
    busy(db)
    ids = sorted(e.id for e in audit.recent(db, actor="admin"))
    a, b = ids[-3], ids[-2]
    raw(db, "UPDATE audit_entry SET id = -1 WHERE id = ?", a)
    raw(db, "UPDATE audit_entry SET id = ? WHERE id = ?", a, b)
    raw(db, "UPDATE audit_entry SET id = ? WHERE id = -1", b)
    r = audit.verify(db, actor="admin")
    assert not r.ok and r.problems[0].entry_id == a and r.problems[0].kind in ("edited", "out_of_order")


def test_settlement_figures_changed_behind_the_programs_back(db):
    rec = busy(db)
    raw(db, "UPDATE settlement SET hifp_pay = hifp_pay + 100 WHERE setl_no = ?", rec.setl_no)
    r = audit.verify(db, actor="admin")
    assert [p.kind for p in r.problems] == ["settlement_changed"] and rec.setl_no in r.problems[0].message
    raw(db, "UPDATE settlement SET hifp_pay = hifp_pay - 100 WHERE setl_no = ?", rec.setl_no)
    raw(db, "UPDATE settlement_item SET qty = '9' WHERE settlement_id = (SELECT id FROM settlement WHERE setl_no = ?)",
        rec.setl_no)
    assert [p.kind for p in audit.verify(db, actor="admin").problems] == ["settlement_changed"]


def test_wrong_password_lockout_and_unlock(db):
    with pytest.raises(accounts.AuthError, match="不正确"):
        accounts.login(db, "clerk", "nope")
    now = datetime(2026, 11, 23, 9, 0)
    for _ in range(accounts.MAX_FAILURES - 2):
        with pytest.raises(accounts.AuthError):
            accounts.login(db, "clerk", "nope", now=now)
    with pytest.raises(accounts.AuthError, match="锁定"):
        accounts.login(db, "clerk", "nope", now=now)
    with pytest.raises(accounts.AuthError, match="锁定"):  # even the right password, while locked
        accounts.login(db, "clerk", "clerk123", now=now + timedelta(minutes=1))
    op = accounts.login(db, "clerk", "clerk123", now=now + timedelta(minutes=accounts.LOCK_MINUTES + 1))
    assert op.login == "clerk"
    kinds = [e.action for e in audit.recent(db, 20, actor="admin")]
    assert kinds.count("login_failed") == accounts.MAX_FAILURES and "login_refused" in kinds and kinds[0] == "login"
    assert all("nope" not in json.dumps(e.detail) and "clerk123" not in json.dumps(e.detail)
               for e in audit.recent(db, 50, actor="admin"))


def test_password_rules_and_last_supervisor(db):
    with pytest.raises(accounts.AuthError, match="至少8位"):
        accounts.change_password(db, "clerk", "short", actor="clerk")
    with pytest.raises(accounts.AuthError, match="相同"):
        accounts.change_password(db, "clerk", "clerk123", actor="clerk")
    accounts.change_password(db, "clerk", "a-new-password", actor="admin")
    assert accounts.get_operator(db, "clerk").must_change_password  # reset by a supervisor
    accounts.change_password(db, "clerk", "my-own-password", actor="clerk")
    assert not accounts.get_operator(db, "clerk").must_change_password
    with pytest.raises(accounts.AuthError, match="最后一个管理员"):
        accounts.set_active(db, "admin", False, actor="admin")
    accounts.set_active(db, "clerk", False, actor="admin")
    with pytest.raises(accounts.AuthError):
        accounts.login(db, "clerk", "my-own-password")


def test_no_full_id_number_in_the_trail(db):
    busy(db)
    with db.read() as s:
        ids = set(s.execute(select(m.Person.id_no)).scalars())
    text = json.dumps([e.detail for e in audit.recent(db, 1000, actor="admin")], ensure_ascii=False)
    assert not any(i in text for i in ids)


def test_cli_user_roles_and_audit_verify(db):
    p = str(db.path or db.url)
    code, out, err = cs("user", "add", "wang", "--operator", "clerk", "--db", p,
                        env=env_for("clerk", CLINIC_SETTLE_NEW_PASSWORD="password-1"))
    assert code == 1 and "只有管理员" in err
    code, out, err = cs("user", "add", "wang", "--name", "王五", "--db", p,
                        env=env_for("admin", "wrong", CLINIC_SETTLE_NEW_PASSWORD="password-1"))
    assert code == 1 and "不正确" in err
    code, out, _ = cs("user", "add", "wang", "--name", "王五", "--db", p,
                      env=env_for("admin", CLINIC_SETTLE_NEW_PASSWORD="password-1"))
    assert code == 0 and "首次登录须修改密码" in out
    code, out, _ = cs("user", "list", "--db", p, "--json", user="admin")
    assert {"wang", "admin", "clerk"} <= {o["login"] for o in json.loads(out)["operators"]}
    code, out, _ = cs("audit", "verify", "--db", p, "--json", user="admin")
    assert code == 0 and json.loads(out)["ok"] is True
    raw(db, "UPDATE audit_entry SET actor = 'nobody' WHERE action = 'account_add' AND subject = 'wang'")
    code, out, _ = cs("audit", "verify", "--db", p, user="admin")
    assert code == 1 and "被改动" in out
