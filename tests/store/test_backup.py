"""Backups: consistent, verified, rotated; restore checks the backup first and keeps the old file."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.store import backup as bk
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.cli_run import cs, env_for

ROOT = Path(__file__).resolve().parents[2]


def persons(db):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.Person)).scalar_one()


def test_backup_is_a_verified_copy_and_rotates(db):
    t0 = datetime(2026, 11, 1, 8)
    made = [bk.backup(db, keep=3, now=t0 + timedelta(days=i)) for i in range(5)]
    files = bk.list_backups(db.path)
    assert [f.path for f in files] == [m_.path for m_ in made[-3:]][::-1]
    assert bk.check_file(Path(files[0].path)) == "ok"
    assert persons(open_db(files[0].path, migrate=False)) == persons(db)


def test_daily_makes_one_per_day(db):
    now = datetime(2026, 11, 23, 9)
    assert bk.daily(db, now=now) is not None
    assert bk.daily(db, now=now + timedelta(hours=3)) is None
    assert bk.daily(db, now=now + timedelta(days=1)) is not None


def test_restore_checks_first_and_keeps_the_replaced_file(db, tmp_path):
    good = bk.backup(db)
    n = persons(db)
    path = db.path
    db.dispose()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(bk.BackupError, match="校验未通过"):
        bk.restore(path, bad)
    assert bk.check_file(path) == "ok"  # untouched
    # damage the live file, then restore the good backup
    data = bytearray(path.read_bytes())
    for i in range(4096, min(len(data), 4096 * 40)):
        data[i] = 0xAB
    path.write_bytes(bytes(data))
    assert bk.quick_check(path) != "ok"
    kept = bk.restore(path, Path(good.path))
    assert kept.exists() and bk.check_file(path) == "ok"
    assert persons(open_db(path)) == n


def test_cli_backup_and_restore(db, tmp_path):
    from desktop_app.services import audit

    p = str(db.path)
    code, out, err = cs("backup", "--db", p, "--json", user="admin")
    info = json.loads(out)
    assert code == 0 and Path(info["path"]).exists()
    assert cs("backup", "--db", p)[0] == 1  # a clerk may not
    db.dispose()
    code, out, err = cs("restore", info["path"], "--db", p, user="admin")
    assert code == 1 and "--yes" in err
    # a supervisor of the backup being restored, checked without writing to it
    before = Path(info["path"]).read_bytes()
    code, out, err = cs("restore", info["path"], "--db", p, "--yes", user="clerk")
    assert code == 1 and "只有管理员" in err
    code, out, err = cs("restore", info["path"], "--db", p, "--yes", env=env_for("admin", "wrong-password"))
    assert code == 1 and "不正确" in err and Path(info["path"]).read_bytes() == before
    code, out, err = cs("restore", info["path"], "--db", p, "--yes", user="admin")
    assert code == 0 and "已从" in out, err
    restored = open_db(p)
    last = audit.recent(restored, 1, actor="admin")[0]
    assert (last.actor, last.action, last.subject) == ("admin", "restore", Path(info["path"]).name)
    assert audit.verify(restored, actor="admin").ok
