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
def db(template_db, tmp_path, backend, request):
    """The demo database (a fresh copy per test): a SQLite file, or — for tests marked `both_backends`, in their
    `postgresql` run — a database on the test cluster copied from a demo template built there once."""
    from desktop_app.store.db import open_db

    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_db(_pg_name(request), template=request.getfixturevalue("pg_template"))
    else:
        url = tmp_path / "clinic.sqlite3"
        shutil.copy(template_db, url)
    d = open_db(url)
    yield d
    d.dispose()
    if backend == "postgresql":
        request.getfixturevalue("pg_cluster").drop_db(url.rsplit("/", 1)[1])


@pytest.fixture
def empty_db(tmp_path, backend, request):
    """A migrated database with no packs, persons or settlements — only its supervisor `admin` (the services
    check roles; nothing acts without one). On PostgreSQL for `both_backends` tests, as `db`."""
    from desktop_app.services import accounts
    from desktop_app.store.db import open_db

    where = tmp_path / "empty.sqlite3"
    if backend == "postgresql":
        where = request.getfixturevalue("pg_cluster").create_db(_pg_name(request))
    d = open_db(where)
    accounts.create_first_supervisor(d, "admin")
    yield d
    d.dispose()
    if backend == "postgresql":
        request.getfixturevalue("pg_cluster").drop_db(str(where).rsplit("/", 1)[1])


# ---------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster (tests/pgcluster.py) for the whole run, when the binaries are there.
# Tests marked `both_backends` run once per backend through the one `backend` parameter; SQLite always,
# PostgreSQL when the server could be started (skipped with the reason otherwise — never under CI).
# ---------------------------------------------------------------------------
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    marked = metafunc.definition.get_closest_marker("both_backends")
    if "backend" in metafunc.fixturenames and marked and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request):
    """`sqlite` (every test), or `postgresql` in the second run of a `both_backends` test. A developer may set
    CLINIC_TEST_BACKEND=postgresql to try any test file on PostgreSQL (tests of the SQLite file itself fail)."""
    return getattr(request, "param", os.environ.get("CLINIC_TEST_BACKEND", "sqlite"))


_PG_SEQ = iter(range(1, 10**9))


def _pg_name(request) -> str:
    return f"t{next(_PG_SEQ)}_{abs(hash(request.node.nodeid)) % 10**8}"


@pytest.fixture(scope="session")
def pg_cluster():
    """A running throwaway PostgreSQL cluster (initdb in a temporary folder, an unprivileged server user when we
    are root), stopped and removed at the end of the run, also when tests fail. Without the binaries the tests
    that need it are skipped with the reason — except under CI (CI set), where that is a failure."""
    from tests.pgcluster import Cluster, find_bin

    bindir = find_bin()
    if bindir is None:
        why = ("PostgreSQL 未安装（找不到 initdb/pg_ctl：Debian 上 apt-get install postgresql），"
               "PostgreSQL 上的测试跳过")
        if os.environ.get("CI"):
            pytest.fail("CI 必须有 PostgreSQL：" + why, pytrace=False)
        pytest.skip(why)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        why = "psycopg 未安装（pip install -e '.[dev]' 或 '.[server]'）"
        if os.environ.get("CI"):
            pytest.fail("CI 必须能连 PostgreSQL：" + why, pytrace=False)
        pytest.skip(why)
    cluster = Cluster(bindir)
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.fail(f"PostgreSQL 测试集群启动失败：{detail}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster):
    """The name of a demo database on the cluster (as `template_db`), copied per test with CREATE DATABASE …
    TEMPLATE (the template has no open connection left)."""
    from desktop_app.services import demo
    from desktop_app.store.db import open_db

    name = "demo_template"
    d = open_db(pg_cluster.create_db(name))
    demo.create_demo(d, persons=120, today=TODAY)
    d.dispose()
    return name


@pytest.fixture
def pg_url(pg_cluster, request):
    """The URL of a new, empty database on the cluster (dropped after the test)."""
    name = _pg_name(request)
    url = pg_cluster.create_db(name)
    yield url
    pg_cluster.drop_db(name)
