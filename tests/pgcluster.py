"""A throwaway PostgreSQL cluster for the tests and benchmarks: `initdb` in a temporary folder, `pg_ctl start`
on 127.0.0.1 and a free port (password authentication, a Unix socket in the same folder), stopped at the end.

Run as root (CI, this machine), the server runs as an unprivileged user (`postgres`, else `nobody`) through
`runuser`: PostgreSQL refuses to run as root. `find_bin()` says where the binaries are (Debian:
/usr/lib/postgresql/NN/bin; else `pg_ctl` on PATH) or None.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "cs_admin"
PASSWORD = "pg-test-pw"  # also what the masking tests look for: it must never be printed


BINDIR_ENV = "PG_BINDIR"  # a folder with initdb/pg_ctl to use instead of looking for them


def find_bin() -> Path | None:
    """The folder with initdb/pg_ctl (`PG_BINDIR`, else the newest Debian version, else PATH), or None."""
    if os.environ.get(BINDIR_ENV):
        d = Path(os.environ[BINDIR_ENV])
        return d if (d / "initdb").exists() and (d / "pg_ctl").exists() else None
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """Who runs the server: ourselves when not root, else `postgres` (Debian's package makes it) or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("以 root 运行测试时需要一个非特权用户（postgres 或 nobody）来运行 PostgreSQL")


class Cluster:
    """One running server. `url(db)` is a SQLAlchemy URL with the password; `create_db` / `drop_db` manage
    databases (optionally from a template)."""

    def __init__(self, bindir: Path, *, fsync: bool = False):
        self.bindir = bindir
        self.user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.fsync = fsync
        self._started = False

    # -- running commands as the server's user ---------------------------
    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL,
                              cwd=self.root)

    def start(self) -> Cluster:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            ent = pwd.getpwnam(self.user)
            for p in (self.root, pwfile):
                os.chown(p, ent.pw_uid, ent.pw_gid)
        os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile), "-A", "scram-sha-256",
                  "-E", "UTF8", "--locale", "C.UTF-8")
        pwfile.unlink()
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=60 "
                f"-c shared_buffers=64MB -c fsync={'on' if self.fsync else 'off'} "
                f"-c synchronous_commit={'on' if self.fsync else 'off'} -c full_page_writes={'on' if self.fsync else 'off'}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", opts, "start")
        self._started = True
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        if self._started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # -- databases -------------------------------------------------------
    def url(self, db: str = "postgres", *, user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{db}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=PASSWORD,
                               dbname="postgres", autocommit=True)

    def sql(self, statement: str) -> None:
        with self._admin() as con:
            con.execute(statement)

    def create_db(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template` when given); returns its URL."""
        for attempt in range(50):  # a template still in use by a closing connection: wait a moment
            try:
                self.sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
                break
            except Exception as exc:
                if "being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
        return self.url(name)

    def drop_db(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
