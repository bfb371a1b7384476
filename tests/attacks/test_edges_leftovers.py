"""Issue #12 item 17: what the program leaves behind — side files of backups, a password typed into the
login box kept in the trail, files any other account on the PC can read, full-width ID numbers in the log."""

import logging
import os
import sqlite3
import stat
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.cli_run import cs, env_for

POSIX = sys.platform != "win32"


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)  # the usual default: what the program inherits on a clinic PC
    yield
    os.umask(old)


@pytest.fixture()
def live(tmp_path):
    db = tmp_path / "data" / "clinic.sqlite3"  # the program creates the folder
    assert cs("demo", "--db", str(db), "--persons", "20", user=None)[0] == 0
    return db


def test_backups_leave_no_side_files_and_rotation_clears_old_ones(live):
    folder = live.parent / "backups"
    folder.mkdir(exist_ok=True)
    stale = [folder / "clinic-settle-20200101-000000.partial-wal", folder / "clinic-settle-20200101-000000.partial-shm",
             folder / "clinic-settle-20200101-000000.sqlite3-shm"]  # left by an older version
    for f in stale:
        f.write_bytes(b"")
    code, out, err = cs("backup", "--db", str(live), "--json", user="admin")
    assert code == 0, err
    # a restore checks the backup (reads it): that must not leave side files either
    import json

    made = json.loads(out)["path"]
    code, _, err = cs("restore", made, "--yes", "--db", str(live), user="admin")
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == [Path(made).name]


def test_a_password_typed_as_the_login_name_is_not_kept(live):
    secret = "Zq8-MySecretPass"
    for _ in range(2):
        code, _, err = cs("lookup", "王", "--db", str(live), env=env_for(secret, "whatever-1"))
        assert code == 1
    con = sqlite3.connect(live)
    rows = con.execute("SELECT actor, subject, detail FROM audit_entry WHERE action='login_failed'").fetchall()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    assert len(rows) == 2 and rows[0] == rows[1]  # the same tag twice: repeated attempts still show
    assert rows[0][0].startswith("?") and secret not in repr(rows)
    for f in live.parent.iterdir():
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f.name
    # a real operator's failed login still names them
    cs("lookup", "王", "--db", str(live), env=env_for("clerk", "wrong-pass"))
    code, out, _ = cs("audit", "list", "--db", str(live), user="admin")
    assert "clerk" in out and secret not in out


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
def test_what_the_program_writes_only_its_account_can_read(live, tmp_path, umask_022):
    # (the demo above ran with the test's umask; make everything again under 022)
    import shutil

    shutil.rmtree(live.parent)
    assert cs("demo", "--db", str(live), "--persons", "20", user=None)[0] == 0
    today = date.today().isoformat()
    out = tmp_path / "out"
    out.mkdir()
    roster = out / "roster.csv"
    roster.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n"
                      "Z1,110101199003070000,王五,男,1990-03-07,390,城乡居民,141102,2026-11-20\n", encoding="utf-8")
    for args in [("backup",), ("report", "day", "--out", str(out / "day.xlsx")),
                 ("export", "--from", today, "--to", today, "--out", str(out / "exp")),
                 ("import-roster", str(roster))]:
        code, _, err = cs(*args, "--db", str(live), user="admin")
        assert code == 0, (args, err)
    env = env_for(None, CLINIC_SETTLE_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    code, _, err = cs("gui", "--db", str(live), env=env)  # the window writes its log beside the database
    assert code == 0, err
    assert (live.parent / "logs" / "clinic-settle.log").exists()
    made = [p for p in [*live.parent.rglob("*"), *out.rglob("*")] if p != roster]
    assert any(p.suffix == ".xlsx" and "错误报告" in p.name for p in made)
    for p in [live.parent, *made]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, (str(p), oct(mode))


def test_the_log_masks_full_width_id_numbers(tmp_path):
    from desktop_app.privacy import redact, setup_logging

    full = "１４２３０１１９９００３０７１２３Ｘ"  # 142301199003071 23X, typed with a Chinese input method
    mixed = "1423０1199003071２3x"
    old15 = "１４２３０１９００３０７１２３"
    path = setup_logging(tmp_path / "logs", stderr=False)
    logging.getLogger("clinic").warning("查找 %s / %s / %s", full, mixed, old15)
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    for raw in (full, mixed, old15):
        assert raw not in text and raw not in redact(raw)
    assert "１４２３" in text or "1423" in text  # masked, not dropped: the first four stay
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_clinic_settle", False):
            logging.getLogger().removeHandler(h)
            h.close()
