"""#12 hole 14 (the database's side): a full disk, a read-only database file or folder, another program
holding the database with `PRAGMA locking_mode=EXCLUSIVE`. Each used to end in a traceback (exit 70) —
the lock even made start-up take "locked" for "no schema" and run the migrations. Now: exit 4, a
Chinese message saying what is wrong, nothing written."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.attacks.conftest import fill, read_only, small_disk
from tests.cli_run import env_for


def outpatient(psn):
    return {"psn_no": psn, "benefit": "general_outpatient",
            "items": [{"code": "X9", "qty": "1", "price": "100.00", "kind": "service", "chrgitm_lv": "01"}]}


def refused_4(clinic, *args, codes, words, user="clerk", env=None):
    code, out, err = clinic.cs(*args, "--json", user=user, **({"env": env} if env else {}))
    assert code == 4, (out, err)
    e = json.loads(out)["error"]
    assert e["code"] in codes and e["field"] == "db", e
    assert any(w in e["message"] for w in words) and "没有写入" in e["message"], e
    return e


def settled(clinic) -> int:
    return clinic.count("settlement")


def test_disk_full(clinic, tmp_path):
    psn = clinic.resident()
    visit = clinic.file(outpatient(psn))
    disk = tmp_path / "disk"
    with small_disk(disk, "4m"):
        db = disk / "clinic.sqlite3"
        shutil.copy(clinic.path, db)
        clinic.path = db
        fill(disk)
        refused_4(clinic, "settle", str(visit), codes={"disk_full", "disk_io_error"}, words=["磁盘"])
        (disk / "filler").unlink()
        assert settled(clinic) == 0
        code, _, err = clinic.cs("settle", str(visit))  # room again: it settles
        assert code == 0, err


def test_read_only_folder(clinic):
    visit = clinic.file(outpatient(clinic.resident()))
    with read_only(clinic.path.parent):
        refused_4(clinic, "settle", str(visit), codes={"database_read_only", "database_unavailable"},
                  words=["只读", "无法打开"])
    assert settled(clinic) == 0


def test_read_only_file(clinic):
    visit = clinic.file(outpatient(clinic.resident()))
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(clinic.path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i not supported here")
        undo = ["chattr", "-i", str(clinic.path)]
    else:
        clinic.path.chmod(0o444)
        undo = ["chmod", "644", str(clinic.path)]
    try:
        refused_4(clinic, "settle", str(visit), codes={"database_read_only"}, words=["只读"])
    finally:
        subprocess.run(undo, check=True)
    assert settled(clinic) == 0


HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA locking_mode=EXCLUSIVE")
con.execute("BEGIN EXCLUSIVE")
con.execute("COMMIT")  # the exclusive lock stays with this connection
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("command", [("lookup", "张"), ("settle", "VISIT"), ("init",)], ids=lambda c: c[0])
def test_another_program_holding_an_exclusive_lock(clinic, command):
    visit = clinic.file(outpatient(clinic.resident()))
    version = clinic.one("SELECT version_num FROM alembic_version")
    size = clinic.path.stat().st_size
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(clinic.path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = [str(visit) if a == "VISIT" else a for a in command]
        env = env_for("clerk", CLINIC_SETTLE_BUSY_TIMEOUT_MS="300")
        started = time.monotonic()
        refused_4(clinic, *args, codes={"database_busy"}, words=["占用"], env=env)
        assert time.monotonic() - started < 15
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert clinic.one("SELECT version_num FROM alembic_version") == version
    assert clinic.one("PRAGMA integrity_check") == "ok" and settled(clinic) == 0
    assert clinic.path.stat().st_size == size
