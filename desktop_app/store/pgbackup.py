"""Backups of a server (PostgreSQL) database: `pg_dump -Fc` into one file, checked with `pg_restore --list`.

The password goes to pg_dump in its environment (PGPASSWORD), never on a command line another user could
read. Without pg_dump on this computer the refusal says so: the server's own backup applies (docs/deployment.md).
Restoring a server database is the administrator's `pg_restore` on the server, not this program's.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from desktop_app.privacy import private_dir, private_file
from desktop_app.store.backup import BackupError, BackupInfo

PREFIX = "clinic-settle-"
NO_TOOL = ("本机找不到 PostgreSQL 的备份工具 pg_dump：服务器数据库请用服务器自己的备份（在数据库服务器上由管理员"
           "定时运行 pg_dump，或备份软件），见 docs/deployment.md。本次没有备份。")


def tool(name: str) -> str | None:
    """pg_dump / pg_restore: on PATH, else the newest Debian one."""
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[-3]))
    return cands[-1] if cands else None


def _conn_env(url: str) -> tuple[list[str], dict]:
    u = make_url(url)
    args = ["-h", u.host or "localhost", "-p", str(u.port or 5432), "-U", u.username or "", "-d", u.database or ""]
    env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {}), "PGCONNECT_TIMEOUT": "10"}
    return args, env


def backup(db, dest: Path | None = None, *, now: datetime | None = None) -> BackupInfo:
    """`pg_dump -Fc` of the database into `dest` (default: `~/ClinicSettle-backups`), checked by listing it."""
    dump, lister = tool("pg_dump"), tool("pg_restore")
    if dump is None or lister is None:
        raise BackupError(NO_TOOL)
    now = now or datetime.now()
    folder = Path(dest) if dest else Path.home() / "ClinicSettle-backups"
    private_dir(folder)
    final = folder / f"{PREFIX}{make_url(db.url).database or 'server'}-{now:%Y%m%d-%H%M%S}.pgdump"
    tmp = final.with_suffix(".partial")
    private_file(tmp)
    args, env = _conn_env(db.url)
    r = subprocess.run([dump, "-Fc", "--no-owner", "-f", str(tmp), *args], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump 失败，没有备份：{r.stderr.strip()[:300]}")
    check = subprocess.run([lister, "--list", str(tmp)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check.returncode != 0 or "TABLE DATA public settlement" not in check.stdout:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"备份文件校验未通过（pg_restore --list）：{check.stderr.strip()[:300]}")
    tmp.replace(final)
    return BackupInfo(str(final), final.stat().st_size, now)
