"""The command line acts only for a logged-in operator: password, lockout, roles, forced change,
first supervisor — the same rules and audit trail as the window."""

import json
import re

import pytest

from tests.cli_run import cs, env_for


@pytest.fixture()
def db(tmp_path):
    db = tmp_path / "clinic.sqlite3"
    assert cs("demo", "--db", str(db), "--persons", "20", user=None)[0] == 0
    return str(db)


def audit_actions(db):
    code, out, _ = cs("audit", "list", "--limit", "200", "--db", db, "--json", user="admin")
    assert code == 0
    return [(e["actor"], e["action"], e["detail"]) for e in json.loads(out)["entries"]]


def test_every_data_command_needs_an_operator_and_a_password(db, tmp_path):
    visit = tmp_path / "v.json"
    visit.write_text("{}", encoding="utf-8")
    commands = [("lookup", "王"), ("settle", str(visit)), ("reverse", "S1", "--reason", "x"), ("day-close",),
                ("receipt", "S1"), ("report", "day"), ("export", "--from", "2026-11-01", "--to", "2026-11-02"),
                ("sync", "resources/policy_packs"), ("import-roster", "x.csv"), ("audit", "verify"),
                ("user", "list"), ("backup",)]
    for cmd in commands:
        code, out, err = cs(*cmd, "--db", db, user=None)
        assert code == 1 and "--operator" in err, (cmd, err)
        # an operator but no password, and no terminal to ask on: says how to give it
        code, out, err = cs(*cmd, "--db", db, "--operator", "clerk", user=None)
        assert code == 1 and "CLINIC_SETTLE_PASSWORD" in err, (cmd, err)


def test_wrong_password_is_refused_and_audited(db):
    code, out, _ = cs("lookup", "王", "--db", db, "--json", env=env_for("clerk", "wrong-one"))
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "not_authorised" and err["field"] == "password"
    assert "操作员或密码不正确" in err["message"]
    assert ("clerk", "login_failed", {"failures": 1, "via": "cli"}) in audit_actions(db)


def test_lockout_after_five_wrong_passwords_also_on_the_command_line(db):
    for _ in range(5):
        assert cs("lookup", "王", "--db", db, env=env_for("clerk", "nope-nope"))[0] == 1
    code, _, err = cs("lookup", "王", "--db", db)  # the right password, but locked now
    assert code == 1 and "已锁定" in err
    assert any(a == "login_refused" and d.get("via") == "cli" for _, a, d in audit_actions(db))


def test_clerk_is_refused_supervisor_commands(db, tmp_path):
    for cmd in [("sync", "resources/policy_packs"), ("import-roster", str(tmp_path / "r.csv")),
                ("import-catalogue", str(tmp_path / "c.csv")), ("import-prices", str(tmp_path / "p.csv")),
                ("audit", "verify"), ("user", "list"), ("user", "add", "wang"),
                ("user", "disable", "admin"), ("backup",)]:
        code, out, err = cs(*cmd, "--db", db, env=env_for("clerk", CLINIC_SETTLE_NEW_PASSWORD="new-password-1"))
        assert code == 1 and "只有管理员" in err and "收费员" in err, (cmd, err)
    # and what they did is in the audit trail under their name: the logins, nothing else (the rest is the demo's
    # own set-up by its supervisor: operators, settings, packs, catalogue, price list, roster)
    assert all(a in ("login", "account_add", "settings", "pack_sync", "roster_import", "catalogue_import",
                     "price_import") for _, a, _ in audit_actions(db))


def test_clerk_works_and_the_trail_names_them(db, tmp_path):
    code, out, _ = cs("lookup", "1411", "--db", db, "--json")
    assert code == 0
    actions = audit_actions(db)
    assert ("clerk", "login", {"via": "cli"}) in actions


def test_new_operator_must_change_password_before_acting(db):
    code, out, err = cs("user", "add", "wang", "--name", "王五", "--db", db,
                        env=env_for("admin", CLINIC_SETTLE_NEW_PASSWORD="first-pass-1"))
    assert code == 0, err
    wang = env_for("wang", "first-pass-1")
    code, _, err = cs("lookup", "王", "--db", db, env=wang)
    assert code == 1 and "须先修改密码" in err and "user passwd wang" in err
    # changing one's own password needs no supervisor
    code, out, err = cs("user", "passwd", "--db", db, env=wang | {"CLINIC_SETTLE_NEW_PASSWORD": "wang-own-pass"})
    assert code == 0 and "已修改 wang 的密码" in out, err
    assert cs("lookup", "王", "--db", db, env=env_for("wang", "first-pass-1"))[0] == 1
    code, out, err = cs("lookup", "1411", "--db", db, env=env_for("wang", "wang-own-pass"))
    assert code == 0, err
    # a clerk cannot reset someone else's password
    code, _, err = cs("user", "passwd", "admin", "--db", db,
                      env=env_for("wang", "wang-own-pass", CLINIC_SETTLE_NEW_PASSWORD="hijack-pass-1"))
    assert code == 1 and "只有管理员" in err


def test_init_creates_the_first_supervisor_once(tmp_path):
    db = str(tmp_path / "new.sqlite3")
    code, out, _ = cs("init", "--db", db, user=None)
    assert code == 0 and "还没有操作员" in out
    code, out, err = cs("init", "--supervisor", "admin", "--db", db, "--json", user=None)
    assert code == 0, err
    initial = json.loads(out)["supervisor"]["initial_password"]
    assert re.fullmatch(r"[a-z2-9]{10}", initial)
    admin = env_for("admin", initial)
    code, _, err = cs("user", "list", "--db", db, env=admin)
    assert code == 1 and "须先修改密码" in err
    code, out, err = cs("user", "passwd", "--db", db, env=admin | {"CLINIC_SETTLE_NEW_PASSWORD": "my-own-secret"})
    assert code == 0, err
    code, out, err = cs("user", "list", "--db", db, "--json", env=env_for("admin", "my-own-secret"))
    assert code == 0 and [o["login"] for o in json.loads(out)["operators"]] == ["admin"]
    # a second "first supervisor" and the demo accounts (published passwords) are refused now
    code, _, err = cs("init", "--supervisor", "boss", "--db", db, user=None)
    assert code == 1 and "已有操作员" in err
    code, _, err = cs("demo", "--db", db, user=None)
    assert code == 1 and "已有操作员" in err
    code, out, _ = cs("demo", "--if-empty", "--db", db, user=None)
    assert code == 0 and "未生成演示数据" in out
    assert initial not in cs("audit", "list", "--db", db, env=env_for("admin", "my-own-secret"))[1]


def test_packs_trust_is_a_supervisors_audited_command(db, tmp_path):
    code, out, _ = cs("packs", "keygen", "--out", str(tmp_path / "k"), user=None)
    pub = tmp_path / "k" / "bureau-public.pem"
    code, _, err = cs("packs", "trust", str(pub), "--db", db)
    assert code == 1 and "只有管理员" in err
    code, _, err = cs("packs", "trust", str(tmp_path / "k" / "bureau-private.pem"), "--db", db, user="admin")
    assert code == 1 and "是私钥" in err
    code, out, err = cs("packs", "trust", str(pub), "--db", db, "--json", user="admin")
    assert code == 0, err
    kid = json.loads(out)["key_id"]
    code, out, _ = cs("packs", "keys", "--db", db, "--json")
    assert {k["key_id"]: k["trusted"] for k in json.loads(out)["keys"]}[kid] is True
    assert ("admin", "key_trust", {"file": "bureau-public.pem"}) in audit_actions(db)
    code, out, _ = cs("packs", "untrust", kid, "--db", db, user="admin")
    assert code == 0 and kid not in cs("packs", "keys", "--db", db)[1]
