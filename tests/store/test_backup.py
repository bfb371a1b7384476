"""Backups: consistent, verified, rotated; restore checks the backup first and keeps the old file."""

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.store import backup as bk
from desktop_app.store import models as m
from desktop_app.store.db import open_db

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
    p = str(db.path)
    r = subprocess.run([sys.executable, "-m", "desktop_app", "backup", "--db", p, "--json"], capture_output=True,
                       text=True, cwd=ROOT)
    info = json.loads(r.stdout)
    assert r.returncode == 0 and Path(info["path"]).exists()
    db.dispose()
    r = subprocess.run([sys.executable, "-m", "desktop_app", "restore", info["path"], "--db", p],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "--yes" in r.stderr
    r = subprocess.run([sys.executable, "-m", "desktop_app", "restore", info["path"], "--db", p, "--yes"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "已从" in r.stdout, r.stderr
