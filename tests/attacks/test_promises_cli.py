"""Issue #18: what the docs promise about the command line — exit codes (item 8), secrets and leftovers
(item 9). Run as the user would: a subprocess, no terminal."""

import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.cli_run import cs, env_for


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("promises") / "clinic.sqlite3"
    assert cs("demo", "--db", str(path), "--persons", "20", user=None)[0] == 0
    return str(path)


# -- item 8: "not found" is exit 1 ------------------------------------------------------------------------
def test_reversing_an_unknown_settlement_is_exit_1(db):
    code, out, _ = cs("reverse", "NOPE-1", "--reason", "退费", "--db", db, "--json")
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "not_found" and err["field"] == "setl_no"


def test_settling_for_an_unknown_person_is_exit_1(db, tmp_path):
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps({"psn_no": "99999999999999", "benefit": "general_outpatient",
                                 "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    for extra in ((), ("--dry-run",)):
        code, out, _ = cs("settle", str(visit), *extra, "--db", db, "--json")
        err = json.loads(out)["error"]
        assert code == 1 and err["code"] == "not_found" and err["field"] == "psn_no", extra


def test_a_missing_receipt_and_an_unknown_lookup_are_exit_1(db):
    code, out, _ = cs("receipt", "NOPE-1", "--db", db, "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_found"
    code, out, _ = cs("lookup", "没有这个人", "--db", db, "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_found"


# -- item 9: secrets and leftovers ------------------------------------------------------------------------
def test_a_database_url_is_shown_without_its_password():
    from desktop_app.services.database import shown_url

    assert shown_url("postgresql+psycopg://clinic:s3cret-pw@10.0.0.5:5432/settle") == \
        "postgresql+psycopg://clinic:***@10.0.0.5:5432/settle"
    assert shown_url("/home/clinic/clinic.sqlite3") == "/home/clinic/clinic.sqlite3"


@pytest.mark.parametrize("cmd", ["init", "status"])
def test_init_and_status_never_print_the_password(cmd):
    # no PostgreSQL server here: whatever the command says (an error included), the password is not in it
    code, out, err = _run_raw(cmd, "--db", "postgresql+psycopg://clinic:s3cret-pw@127.0.0.1:9/settle")
    assert "s3cret-pw" not in out + err


def _run_raw(*args):
    import subprocess
    import sys

    from tests.cli_run import ROOT

    r = subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True,
                       encoding="utf-8", cwd=ROOT, env=env_for(None), stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def _temp_leftovers(prefix: str) -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(prefix + "*")}


def test_demo_leaves_nothing_in_the_temp_folder(tmp_path):
    own = tmp_path / "tmp"
    own.mkdir()
    env = env_for(None, TMPDIR=str(own), TEMP=str(own), TMP=str(own))
    assert cs("demo", "--db", str(tmp_path / "d.sqlite3"), "--persons", "5", env=env)[0] == 0
    assert list(own.iterdir()) == []


def test_self_test_leaves_nothing_in_the_temp_folder(tmp_path):
    own = tmp_path / "tmp"
    own.mkdir()
    env = env_for(None, TMPDIR=str(own), TEMP=str(own), TMP=str(own), QT_QPA_PLATFORM="offscreen")
    code, out, err = cs("--self-test", env=env)
    assert code == 0, err
    assert list(own.iterdir()) == []


def test_a_new_password_is_never_read_from_a_pipe(db):
    # sign-in refuses a password from a pipe; so does choosing a new one
    code, _, err = cs("user", "add", "zhou", "--name", "周", "--db", db, user="admin", stdin="piped-pass-1\n")
    assert code == 1 and "CLINIC_SETTLE_NEW_PASSWORD" in err, err
    code, _, err = cs("user", "passwd", "--db", db, user="clerk", stdin="piped-pass-1\n")
    assert code == 1 and "CLINIC_SETTLE_NEW_PASSWORD" in err, err
    # scripts give it in the environment, as they give the sign-in password
    code, out, err = cs("user", "add", "zhou", "--name", "周", "--db", db,
                        env=env_for("admin", CLINIC_SETTLE_NEW_PASSWORD="zhou-first-1"))
    assert code == 0, err
    code, _, err = cs("lookup", "1411", "--db", db, env=env_for("zhou", "zhou-first-1"))
    assert code == 1 and "须先修改密码" in err  # the account exists, with that password


def test_password_stdin_is_gone(db):
    code, _, err = _run_raw("user", "passwd", "--password-stdin", "--db", db)
    assert code == 2 and "--password-stdin" in err
    assert os.environ.get("CLINIC_SETTLE_NEW_PASSWORD") is None
