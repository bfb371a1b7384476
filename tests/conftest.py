import os
import shutil
import sqlite3
from datetime import date

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Local runs explore new random examples each time (that is how property tests find bugs);
# CI (CI=true) runs a fixed, derandomized set so a landing never depends on luck.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

_EXIT = {"status": None}


def pytest_sessionfinish(session, exitstatus):
    _EXIT["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without the interpreter's teardown once pytest has reported everything.

    After a QPrinter has printed to PDF inside the pytest-qt session (tests/reports/test_qtprint.py),
    PySide6 6.x sometimes aborts while Python finalises its modules ("Fatal Python error: none_dealloc",
    exit 134) — after every test passed and the summary was printed, but the run then counts as failed.
    It does not happen outside pytest-qt (the program's own exit is checked by the real-window test,
    tests/realwin, which closes the window and expects exit code 0). Skipping finalisation keeps the exit
    code pytest decided."""
    import sys

    # Under a mutation run (mutmut calls pytest.main in its own process) the caller must get control back.
    in_process = "mutmut" in sys.modules
    if _EXIT["status"] is not None and not hasattr(config, "workerinput") and not in_process:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT["status"])


# A migrated demo database is built once per session and copied per test (fast, isolated); shared by
# tests/store, tests/services, tests/reports and tests/gui.
TODAY = date(2026, 11, 23)


def build_template(path):
    """A migrated demo database (120 persons) in one file, ready to copy (also bench/fault_run.py's base)."""
    from desktop_app.services import demo
    from desktop_app.store.db import open_db

    d = open_db(path)
    demo.create_demo(d, persons=120, today=TODAY)
    d.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("tmpl") / "demo.sqlite3")


@pytest.fixture
def db(template_db, tmp_path):
    from desktop_app.store.db import open_db

    path = tmp_path / "clinic.sqlite3"
    shutil.copy(template_db, path)
    d = open_db(path)
    yield d
    d.dispose()


@pytest.fixture
def empty_db(tmp_path):
    """A migrated database with no packs, persons or settlements — only its supervisor `admin` (the services
    check roles; nothing acts without one)."""
    from desktop_app.services import accounts
    from desktop_app.store.db import open_db

    d = open_db(tmp_path / "empty.sqlite3")
    accounts.create_first_supervisor(d, "admin")
    yield d
    d.dispose()
