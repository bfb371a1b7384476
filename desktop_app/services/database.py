"""The database as the window (and the CLI) find it: where it is, the start-up check, opening it,
the folders beside it, backups, and restoring a backup with its audit entry.

Screens reach the database only through services; this is the service for the file itself.
SQLite-only parts (check, backups, restore) use store/backup.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop_app.services import audit
from desktop_app.store import backup as bk
from desktop_app.store.backup import BackupError, BackupInfo
from desktop_app.store.db import DB_ENV, Database, open_db, to_url

# Part of this service's interface: `restore` and the backups raise BackupError and return BackupInfo.
__all__ = [
    "DB_ENV",
    "BackupError",
    "BackupInfo",
    "Restored",
    "backup",
    "check",
    "daily_backup",
    "data_dir",
    "latest_backup",
    "locate",
    "open_database",
    "refuse_live_source",
    "reports_dir",
    "require_schema",
    "restore",
    "server_parts",
    "server_url",
    "shown_url",
    "test_connection",
]


def locate(db_arg: str | Path | None) -> Path | None:
    """The SQLite file that `--db` (or the default) names; None for a server URL."""
    url = to_url(db_arg)
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def require_schema(db_arg: str) -> None:
    """A server database without the program's tables (created by the administrator, `init` not run yet) is
    refused — only `init` and `demo` create tables, as only they create a SQLite file."""
    from desktop_app.errors import Refused

    d = Database(db_arg)
    try:
        if d.schema_version() is None:
            raise Refused(f"数据库 {d.where} 中还没有本程序的数据表：请先运行 clinic-settle init --db …"
                          "（见 docs/deployment.md）。", field="db", code="invalid_input")
    finally:
        d.dispose()


def test_connection(db_arg: str) -> str:
    """测试连接: connect and say what is there (the server's version, the schema version); a refusal when
    the server cannot be reached or refuses the sign-in (the message says which)."""
    from sqlalchemy import text

    d = Database(db_arg)
    try:
        with d.refusing_storage(), d.engine.connect() as conn:
            server = conn.execute(text("SHOW server_version")).scalar() if not d.is_sqlite else "SQLite"
        version = d.schema_version()
    finally:
        d.dispose()
    state = f"数据结构版本 {version}" if version else "还没有数据表（请运行 clinic-settle init）"
    return f"连接成功：{shown_url(d.where)}（{'PostgreSQL ' if not d.is_sqlite else ''}{server}），{state}"


SERVER_SCHEME = "postgresql+psycopg"


def server_url(host: str, port: str, dbname: str, user: str, password: str) -> str:
    """The URL of a PostgreSQL database from its parts (user and password quoted: any character may be in them)."""
    from urllib.parse import quote

    host, port, dbname, user = host.strip(), port.strip() or "5432", dbname.strip(), user.strip()
    missing = [label for label, v in (("服务器地址", host), ("数据库名", dbname), ("用户名", user)) if not v]
    if missing:
        raise ValueError("请填写" + "、".join(missing))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"端口须为 1-65535 的数字，收到“{port}”")
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return f"{SERVER_SCHEME}://{auth}@{host}:{int(port)}/{quote(dbname, safe='')}"


def server_parts(url: str | None) -> dict[str, str]:
    """host, port, dbname, user, password of a server URL (empty for a file or nothing)."""
    from sqlalchemy.engine import make_url

    if not url or "://" not in url or url.startswith("sqlite"):
        return {"host": "", "port": "5432", "dbname": "", "user": "", "password": ""}
    u = make_url(url)
    return {"host": u.host or "", "port": str(u.port or 5432), "dbname": u.database or "", "user": u.username or "",
            "password": u.password or ""}


def shown_url(where: str | Path) -> str:
    """Where the database is, as it may be printed: a file's path, or a server URL without its password."""
    from desktop_app.privacy import mask_url_password

    return mask_url_password(str(where))


def check(path: Path, *, quick: bool = False) -> str:
    """'ok', or what is wrong with the file (`quick`: the start-up check; else a full integrity check)."""
    return bk.check_file(Path(path), quick=quick)


def open_database(db_arg: str | Path | None) -> Database:
    """Open (and migrate to the current schema) the database `--db` names."""
    return open_db(db_arg)


def data_dir(db: Database) -> Path:
    """The folder beside the database (receipts, reports, logs); the home folder for a server database."""
    return Path(db.path).parent if getattr(db, "path", None) else Path.home()


def reports_dir(db: Database) -> Path:
    """Where 日结单 and reports go by default: `reports/` beside the database."""
    return data_dir(db) / "reports"


def latest_backup(path: Path) -> BackupInfo | None:
    """The newest backup beside the database file, if any."""
    return next(iter(bk.list_backups(Path(path))), None)


def backup(db: Database, dest: Path | None = None, *, actor: str) -> BackupInfo:
    """A verified backup on demand (`clinic-settle backup`): a supervisor's (`actor`), in the audit trail.
    (The program's own backups — daily at start-up, after 日结 — are made by `store.backup` directly.)"""
    from desktop_app.services.accounts import require_supervisor

    with db.read() as s:
        require_supervisor(s, actor, "备份数据库")
    if db.is_sqlite:
        info = bk.backup(db, Path(dest) if dest else None)
    else:
        from desktop_app.store import pgbackup

        info = pgbackup.backup(db, Path(dest) if dest else None)
    audit.record(db, actor, "backup", Path(info.path).name[:64], {"bytes": info.size})
    return info


def daily_backup(db: Database) -> BackupInfo | None:
    """Today's backup, made if there is none yet (start-up)."""
    return bk.daily(db)


@dataclass(frozen=True)
class Restored:
    target: Path  # the database file, now the backup's copy
    backup: Path  # the backup restored
    kept: Path  # where the replaced file was kept


def refuse_live_source(target: Path, backup_file: Path) -> None:
    """Raise BackupError when `backup_file` is the database `target` itself (same path, symlink, hard link)."""
    bk.refuse_live_source(Path(target), Path(backup_file))


def restore(target: Path, backup_file: Path, *, actor: str, via: str, reason: str | None = None,
            verified: bool = False) -> Restored:
    """Replace `target` by `backup_file` (checked first unless `verified`), keep the replaced file, and
    write who restored what into the restored database's audit trail. The program must not have the
    database open. Raises BackupError when the backup does not pass its check."""
    target, backup_file = Path(target), Path(backup_file)
    kept = bk.restore(target, backup_file, verified=verified)
    detail = {"via": via, **({"reason": reason[:200]} if reason is not None else {}), "kept": kept.name}
    restored = Database(target)
    try:
        audit.record(restored, actor, "restore", backup_file.name[:64], detail)
    finally:
        restored.dispose()
    return Restored(target, backup_file, kept)
