"""The test cluster itself (tests/pgcluster.py) and the schema on PostgreSQL: every Alembic migration runs there,
one at a time, and the result is the schema the models describe."""

import os
from pathlib import Path

import pytest


def test_the_server_runs_as_an_unprivileged_user_in_a_temporary_folder(pg_cluster):
    pid = int((pg_cluster.data / "postmaster.pid").read_text().split()[0])
    uid = int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("Uid:")).split()[1])
    assert uid != 0
    assert str(pg_cluster.root).startswith("/tmp/") or os.environ.get("TMPDIR")


def test_a_cluster_stopped_is_gone_and_its_port_closed():
    """What the session fixture's finaliser does: stop, and the folder is removed (also after a failure)."""
    import socket

    from tests.pgcluster import Cluster, find_bin

    if find_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI 必须有 PostgreSQL")
        pytest.skip("PostgreSQL 未安装")
    c = Cluster(find_bin()).start()
    c.stop()
    assert not c.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", c.port), timeout=1):
        pass


def test_every_migration_runs_on_postgresql_one_by_one_to_the_models_schema(pg_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from desktop_app.store.db import SCHEMA_HEAD, Database
    from desktop_app.store.models import Base

    d = Database(pg_url)
    cfg = d._alembic_config()
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()][::-1]
    assert revisions[-1] == SCHEMA_HEAD
    for rev in revisions:
        with d.write_engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, rev)
            conn.commit()
        assert d.current_revision() == rev
    with d.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    d.dispose()


PROBE = '''
def test_needs_postgresql(pg_cluster):
    assert pg_cluster.port
'''


@pytest.mark.parametrize("ci", ["", "true"])
def test_without_the_binaries_postgresql_tests_skip_with_the_reason_but_fail_under_ci(tmp_path, ci):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    probe = root / "tests" / "pg" / f"test_probe_{os.getpid()}_{ci or 'local'}.py"
    probe.write_text(PROBE)
    try:
        env = {**os.environ, "PG_BINDIR": str(tmp_path / "no-such-postgresql"), "CI": ci}
        if not ci:
            env.pop("CI")
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(probe)],
                           capture_output=True, text=True, cwd=root, env=env, stdin=subprocess.DEVNULL)
    finally:
        probe.unlink()
    out = r.stdout + r.stderr
    if ci:
        assert r.returncode == 1 and "CI 必须有 PostgreSQL" in out and "1 error" in out, out
    else:
        assert r.returncode == 0 and "1 skipped" in out and "PostgreSQL 未安装" in out, out


def test_counters_started_together_on_an_empty_database_migrate_it_once(pg_url):
    """Five counters opening a new (or just updated) server database at the same moment: one runs the
    migrations, the others wait for it and find the schema current — none fails on a table made twice."""
    import subprocess
    import sys

    code = ("import sys; from desktop_app.store.db import open_db; "
            f"d = open_db({pg_url!r}); print(d.schema_version())")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(5)]
    outs = [p.communicate(timeout=180) for p in procs]
    from desktop_app.store.db import SCHEMA_HEAD

    assert [(p.returncode, o.strip()) for p, (o, _e) in zip(procs, outs, strict=True)] == [(0, SCHEMA_HEAD)] * 5, \
        [e[-300:] for _o, e in outs]
