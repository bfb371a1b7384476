"""Issue #12 items 10 and 11: `restore` onto the live file itself, and guessing the supervisor's password
through `restore` — done as the user (or the attacker) would, with the command line as a subprocess."""

import json
import os
import sqlite3

import pytest

from tests.cli_run import cs, env_for


@pytest.fixture()
def live(tmp_path):
    db = tmp_path / "clinic.sqlite3"
    assert cs("demo", "--db", str(db), "--persons", "20", user=None)[0] == 0
    return db


def persons(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM person").fetchone()[0]
    finally:
        con.close()


def trail(path) -> list[tuple[str, str, dict]]:
    con = sqlite3.connect(path)
    try:
        return [(a, b, json.loads(c)) for a, b, c in
                con.execute("SELECT actor, action, detail FROM audit_entry ORDER BY id")]
    finally:
        con.close()


def _restore_from(live, source):
    return cs("restore", str(source), "--yes", "--db", str(live), user="admin")


def test_restore_of_the_live_file_by_its_own_path_is_refused(live):
    n = persons(live)
    code, _, err = _restore_from(live, live)
    assert code == 1 and "正在使用的数据库" in err, err
    assert persons(live) == n  # not moved aside: the next start finds the same data
    assert not list(live.parent.glob("*.before-restore-*"))


@pytest.mark.parametrize("how", ["symlink", "hardlink", "dotted path"])
def test_restore_of_the_live_file_by_another_name_is_refused(live, tmp_path, how):
    n = persons(live)
    other = tmp_path / "elsewhere" / "copy.sqlite3"
    other.parent.mkdir()
    if how == "symlink":
        other.symlink_to(live)
    elif how == "hardlink":
        os.link(live, other)
    else:
        other = tmp_path / "elsewhere" / ".." / live.name
    code, _, err = _restore_from(live, other)
    assert code == 1 and "正在使用的数据库" in err, (how, err)
    assert persons(live) == n
    assert not list(live.parent.glob("*.before-restore-*"))


@pytest.fixture()
def backup_file(live):
    code, out, err = cs("backup", "--db", str(live), "--json", user="admin")
    assert code == 0, err
    return json.loads(out)["path"]


def test_a_wrong_restore_password_is_audited_in_the_live_trail(live, backup_file):
    code, _, err = cs("restore", backup_file, "--yes", "--db", str(live), env=env_for("admin", "guess-0001"))
    assert code == 1 and "操作员或密码不正确" in err
    failed = [d for a, act, d in trail(live) if (a, act) == ("admin", "login_failed")]
    assert failed and failed[-1]["via"] == "restore" and failed[-1]["failures"] == 1
    assert not list(live.parent.glob("*.before-restore-*"))  # nothing was restored


def test_guessing_through_restore_locks_the_account_out(live, backup_file):
    for i in range(5):
        code, _, err = cs("restore", backup_file, "--yes", "--db", str(live), env=env_for("admin", f"guess-{i:04d}"))
        assert code == 1, err
    # now even the right password is refused (locked), by restore and by every other command
    code, _, err = cs("restore", backup_file, "--yes", "--db", str(live), user="admin")
    assert code == 1 and "已锁定" in err, err
    code, _, err = cs("audit", "verify", "--db", str(live), user="admin")
    assert code == 1 and "已锁定" in err, err
    refused = [d for a, act, d in trail(live) if act == "login_refused"]
    assert any(d.get("via") == "restore" for d in refused)
    assert not list(live.parent.glob("*.before-restore-*"))


def test_the_backup_checked_is_not_written(live, backup_file):
    before = open(backup_file, "rb").read()
    cs("restore", backup_file, "--yes", "--db", str(live), env=env_for("admin", "guess-0001"))
    assert open(backup_file, "rb").read() == before
    assert not os.path.exists(backup_file + "-wal")


def test_a_right_password_still_restores_and_the_trail_says_so(live, backup_file):
    code, out, err = _restore_from(live, backup_file)
    assert code == 0, err
    actions = trail(live)
    assert actions[-1][:2] == ("admin", "restore")


def _backup_of(live) -> str:
    code, out, _ = cs("backup", "--db", str(live), "--json", user="admin")
    assert code == 0, out
    return json.loads(out)["path"]


@pytest.mark.parametrize("damage", ["truncated", "junk", "missing"])
def test_restore_onto_a_damaged_or_missing_database_works_with_the_backups_password(live, damage):
    """The case restore is for: the live database is damaged (or gone). The password is checked against the
    backup without writing to it (it used to fail with a false 只读 message); a wrong one is refused."""
    backup = _backup_of(live)
    if damage == "truncated":
        live.write_bytes(live.read_bytes()[:50_000])
    elif damage == "junk":
        live.write_bytes(b"not a database at all")
    else:
        live.unlink()
    code, _, err = cs("restore", backup, "--yes", "--db", str(live),
                      env=env_for("admin", "wrong-password"))
    assert code == 1 and "密码" in err
    code, out, err = _restore_from(live, backup)
    assert code == 0, err
    assert persons(live) == 20


@pytest.mark.parametrize("content", [b"not a database at all", b"root:x:0:0:root:/root:/bin/bash\n" * 200])
def test_a_command_on_a_damaged_or_foreign_file_says_so_without_a_traceback(live, content):
    live.write_bytes(content)
    for args in (("lookup", "wjg"), ("status",), ("audit", "verify")):
        code, _, err = cs(*args, "--db", str(live), user="admin")  # cs fails on any traceback
        assert code == 1 and "已损坏" in err and "restore" in err, (args, code, err)


def test_a_mistyped_db_path_is_refused_not_created(live):
    """Found by the cold CLI try: `lookup --db clinc.sqlite3` made a new empty database beside the real one
    and then said the password was wrong. Only init and demo make a database."""
    typo = live.with_name("clinc.sqlite3")
    for args in (("lookup", "wjg"), ("status",), ("sync", "resources/policy_packs")):
        code, out, err = cs(*args, "--db", str(typo), user="admin")
        assert code == 2 and "不存在" in err and "init" in err, (args, code, err)
        assert not typo.exists()
