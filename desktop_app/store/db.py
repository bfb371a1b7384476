"""Connections: SQLite in WAL mode, synchronous=FULL, foreign keys, busy timeout; or PostgreSQL.

Two engines share one database: reads begin a deferred transaction; writes
begin with `BEGIN IMMEDIATE`, so there is one writer at a time and a settlement
re-reads the history under the write lock. Everything SQLite-specific is in this
file.

On PostgreSQL (a township centre's counters, the county centre) several writers run at once
(READ COMMITTED); what must not interleave takes a lock inside the transaction, held to its end:
a row lock (`SELECT … FOR UPDATE`, which SQLite leaves out: its writer lock covers it) or a named
lock, `lock(s, name)` — a PostgreSQL transaction-level advisory lock, nothing on SQLite. A lock that
waits longer than the busy timeout (`lock_timeout`), a deadlock or a serialization failure is
`DatabaseBusy`; a server that cannot be reached or drops the connection is `ServerUnreachable`:
nothing was written either way (the transaction rolls back), and nothing falls back to a local file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from desktop_app.errors import Refused
from desktop_app.privacy import mask_url_password, private_dir, private_file
from desktop_app.resources import runtime_dir

DB_ENV = "CLINIC_SETTLE_DB"
APP_NAME = "ClinicSettle"
MIGRATIONS = runtime_dir("db")
BUSY_TIMEOUT_MS = 15000  # how long a write waits for another program's write; env CLINIC_SETTLE_BUSY_TIMEOUT_MS
BUSY_ENV = "CLINIC_SETTLE_BUSY_TIMEOUT_MS"
CACHE_KIB = 32 * 1024  # page cache per connection (PRAGMA cache_size), grown only as pages are used
# The newest migration in db/versions. Checked against Alembic by a test; lets start-up see
# that the schema is current with one SELECT instead of importing Alembic (~0.2 s).
SCHEMA_HEAD = "0009"


class DatabaseBusy(Refused):
    """Another program held the database longer than the busy timeout. Nothing was written."""

    def __init__(self, waited_ms: int):
        self.waited_ms = waited_ms
        super().__init__(f"数据库正被另一个程序占用（另一个结算台窗口或命令正在写入），已等待 {waited_ms / 1000:g} 秒。"
                         "本次操作没有写入任何数据，请稍后重试；如果一直这样，请关闭其他结算台窗口后再试。",
                         field="db", code="database_busy")


class ServerUnreachable(Refused):
    """The database server cannot be reached, refused the sign-in, or dropped the connection. Nothing was
    written (an unfinished transaction is rolled back by the server); the counter settles nothing until
    the server is back — there is no fallback to a local file."""

    def __init__(self, where: str, why: str):
        super().__init__(f"无法连接数据库服务器 {where}：{why}。本次操作没有写入任何数据，也不会改存到本机文件；"
                         "请检查网络和服务器（或 --db / CLINIC_SETTLE_DB 中的地址、用户名、密码）后重试。",
                         field="db", code="server_unreachable")


class StorageRefused(Refused):
    """The database file cannot be written (or opened) now — a full disk, a read-only file or folder.
    Nothing was written; like a busy database, the command line exits 4 (`desktop_app.errors`)."""

    def __init__(self, message: str, code: str):
        super().__init__(message, field="db", code=code)


_NOTHING = "本次操作没有写入任何数据"


def _disk_nearly_full(path: Path | None) -> bool:
    import shutil

    try:
        return path is not None and shutil.disk_usage(path.parent).free < 1024 * 1024
    except OSError:
        return False


def storage_refusal(exc: BaseException, where: str, busy_ms: int, path: Path | None = None) -> Refused | None:
    """What a SQLite error about the file itself means for the clerk — busy (another program holds it,
    also with `PRAGMA locking_mode=EXCLUSIVE`), disk full, read-only, cannot be opened — or None for
    any other error."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, sqlite3.Error):
        return None
    text = str(orig).lower()
    if "locked" in text or "busy" in text:
        return DatabaseBusy(busy_ms)
    if "disk is full" in text or ("disk i/o error" in text and _disk_nearly_full(path)):
        return StorageRefused(f"磁盘已满，数据库 {where} 无法写入。{_NOTHING}；请清理磁盘空间"
                              "（或把数据库移到有空间的磁盘）后重试。", "disk_full")
    if "readonly" in text or "read-only" in text:
        return StorageRefused(f"数据库文件 {where} 或它所在的文件夹是只读的（写保护的U盘、只读共享、只读属性），"
                              f"无法写入。{_NOTHING}；请把数据库放到可写的位置或去掉只读属性后重试。",
                              "database_read_only")
    if "unable to open database file" in text:
        return StorageRefused(f"无法打开数据库文件 {where}：文件夹不存在、是只读的（写保护的U盘）或没有权限。"
                              f"{_NOTHING}。", "database_unavailable")
    if "file is not a database" in text or "malformed" in text or "not a database" in text:
        return Refused(f"数据库文件 {where} 已损坏，或不是本程序的数据库（{orig}）。{_NOTHING}；请确认 --db 指向"
                       "正确的文件，或由管理员用 clinic-settle restore 从备份恢复（窗口启动时也会提示恢复）。",
                       field="db", code="database_damaged")
    if "disk i/o error" in text:
        return StorageRefused(f"读写数据库 {where} 时磁盘出错（磁盘已满、只读、被拔出或损坏）。{_NOTHING}；"
                              "请检查磁盘后重试。", "disk_io_error")
    return None


_PG_BUSY = {"55P03": "lock_timeout", "40P01": "deadlock", "40001": "serialization", "57014": "statement_timeout"}


def _pg_why(orig: BaseException) -> str:
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    lower = text.lower()
    if "password authentication failed" in lower:
        return "用户名或密码错误"
    if "does not exist" in lower and "database" in lower:
        return "服务器上没有这个数据库（请管理员先建库，见 docs/deployment.md）"
    if "connection refused" in lower or "could not connect" in lower or "timeout expired" in lower:
        return "服务器没有响应（未开机、地址或端口不对、防火墙）"
    return "连接中断（" + mask_url_password(text)[:160] + "）"


def server_refusal(exc: BaseException, where: str, busy_ms: int) -> Refused | None:
    """What a PostgreSQL (psycopg) error means for the clerk: busy (a lock waited past the busy timeout, a
    deadlock, a serialization failure) or the server unreachable — or None for any other error."""
    try:
        import psycopg
    except ImportError:
        return None
    from sqlalchemy.exc import DBAPIError

    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.Error):
        return None
    if getattr(orig, "sqlstate", None) in _PG_BUSY:
        return DatabaseBusy(busy_ms)
    if isinstance(orig, psycopg.OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return ServerUnreachable(where, _pg_why(orig))
    return None


def is_busy_error(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy", however SQLAlchemy wrapped it."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return isinstance(orig, sqlite3.OperationalError) and ("locked" in str(orig) or "busy" in str(orig))


def _busy_timeout_ms() -> int:
    try:
        return max(0, int(os.environ.get(BUSY_ENV, BUSY_TIMEOUT_MS)))
    except ValueError:
        return BUSY_TIMEOUT_MS


def default_db_path() -> Path | str:
    """`CLINIC_SETTLE_DB` (a file, or a server URL: kept as text — a Path would fold its `//`), else the
    user's data folder (platformdirs)."""
    env = os.environ.get(DB_ENV)
    if env:
        return env if "://" in env else Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "clinic-settle.sqlite3"


def to_url(db: str | Path | None) -> str:
    if db is None:
        db = default_db_path()
    s = str(db)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).expanduser().resolve()}"


def _sqlite_setup(engine: Engine, begin: str, busy_ms: int, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        if not read_only:  # setting the journal mode writes the file's header
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        # a page cache of up to 32 MiB (SQLite's default is 2 MiB): a roster of 100,000 persons inserts into
        # half a dozen indexes in random order, and 1,000,000 persons' indexes do not fit in 2 MiB
        cur.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(begin)


CONNECT_TIMEOUT_S = 5  # how long a counter waits for the server before saying it cannot be reached


def _pg_setup(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # a lock waited for longer than the busy timeout: the statement fails (→ DatabaseBusy) instead of
        # the counter hanging; the session's time zone stays the server's (we store naive local times)
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {int(busy_ms)}")
        dbapi_conn.commit()


def lock(s: Session, name: str, *, shared: bool = False) -> None:
    """Hold the lock `name` until the transaction ends (PostgreSQL: a transaction-level advisory lock keyed
    by the name's hash; `shared` ones exclude only the exclusive holder). On SQLite nothing: a write
    transaction already holds the one writer lock."""
    if s.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    s.execute(text(f"SELECT {fn}(hashtextextended(:name, 0))"), {"name": name})


class Database:
    """One database: `read()` and `write()` sessions; `write()` holds the single writer lock.
    `read_only` (SQLite): opened with `mode=ro`, the file is never written (a backup being checked)."""

    def __init__(self, db: str | Path | None = None, *, busy_timeout_ms: int | None = None, read_only: bool = False):
        self.url = to_url(db)
        self.busy_timeout_ms = _busy_timeout_ms() if busy_timeout_ms is None else busy_timeout_ms
        self.is_sqlite = self.url.startswith("sqlite")
        url = self.url
        if self.is_sqlite:
            path = Path(self.url.removeprefix("sqlite:///"))
            if read_only:
                url = f"sqlite:///file:{path}?mode=ro&uri=true"
            else:
                try:
                    private_dir(path.parent)
                    private_file(path)
                except OSError as exc:
                    raise StorageRefused(f"无法建立数据库文件 {path}：{exc.strerror or exc}。{_NOTHING}。",
                                         "database_unavailable") from None
            self.path: Path | None = path
        else:
            self.path = None
        if self.is_sqlite:
            self.engine = create_engine(url)
            self.write_engine = create_engine(url)
            _sqlite_setup(self.engine, "BEGIN", self.busy_timeout_ms, read_only)
            _sqlite_setup(self.write_engine, "BEGIN IMMEDIATE", self.busy_timeout_ms, read_only)
        else:
            self.engine = self.write_engine = self._server_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    def _server_engine(self, url: str) -> Engine:
        if url.startswith("postgresql") and "+" not in url.split("://", 1)[0]:
            url = "postgresql+psycopg" + url[len("postgresql"):]  # psycopg 3 (the `server` extra), not psycopg2
        try:
            engine = create_engine(url, pool_pre_ping=True, connect_args=(
                {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "clinic-settle"}
                if url.startswith("postgresql") else {}))
        except ImportError:
            raise Refused("连接 PostgreSQL 需要 psycopg：pip install 'clinic-settle[server]'。",
                          field="db", code="invalid_input") from None
        except Exception as exc:  # a malformed URL: never echo the password
            raise Refused(f"数据库地址无法识别：{mask_url_password(str(exc))}", field="db",
                          code="invalid_input") from None
        if engine.dialect.name == "postgresql":
            _pg_setup(engine, self.busy_timeout_ms)
        return engine

    @property
    def where(self) -> str:
        """The database as a message names it: the file, or the server URL without its password."""
        return str(self.path) if self.path is not None else mask_url_password(self.url)

    @contextmanager
    def refusing_storage(self) -> Iterator[None]:
        """Errors about the file itself (busy, disk full, read-only…) become their refusal."""
        try:
            yield
        except Exception as exc:
            refusal = (storage_refusal(exc, self.where, self.busy_timeout_ms, self.path) if self.is_sqlite
                       else server_refusal(exc, self.where, self.busy_timeout_ms))
            if refusal is not None:
                raise refusal from exc
            raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.refusing_storage(), self._read() as s:  # closing ends the read transaction
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception. If another program
        holds the write lock longer than the busy timeout: DatabaseBusy; a full disk or a read-only
        file: StorageRefused (nothing written either way)."""
        with self.refusing_storage(), self._write() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()

    # -- migrations ------------------------------------------------------
    def _alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url)
        return cfg

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.refusing_storage(), self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def upgrade(self) -> tuple[str | None, str]:
        """Create or upgrade the schema to the newest migration. Returns (before, after)."""
        from alembic import command

        before = self.current_revision()
        cfg = self._alembic_config()
        with self.refusing_storage(), self.write_engine.connect() as conn:
            if not self.is_sqlite:  # counters started together after an update: one migrates, the others wait
                from sqlalchemy import text

                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('clinic-settle-migrate', 0))"))
            raw = conn.connection.dbapi_connection if self.is_sqlite else None
            if raw is not None:
                # SQLite changes a column by rebuilding its table (Alembic batch mode): dropping the old table
                # with rows that others reference fails while foreign keys are enforced. The pragma only
                # takes effect outside a transaction, so it is set before the migration's BEGIN; the
                # references are checked before the commit instead (a dangling one the migration made rolls
                # it back; one that was there before — a tampered file — is left for `audit verify` to
                # report), and enforcement is back on after it.
                raw.execute("PRAGMA foreign_keys = OFF")
            try:
                cfg.attributes["connection"] = conn
                dangling = self._dangling(conn) if raw is not None else set()
                command.upgrade(cfg, "head")
                if raw is not None:
                    made = self._dangling(conn) - dangling
                    if made:
                        conn.rollback()
                        raise RuntimeError(f"数据库升级会留下无效的外键引用，已回滚，数据库未改动：{sorted(made)[:5]}")
                conn.commit()
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys = ON")
        return before, self.head_revision()

    @staticmethod
    def _dangling(conn) -> set[tuple]:
        """SQLite: the rows whose foreign key points at nothing, as (table, rowid, parent table)."""
        return {(r[0], r[1], r[2]) for r in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()}

    def has_schema(self) -> bool:
        with self.refusing_storage():
            return inspect(self.engine).has_table("settlement")

    def schema_version(self) -> str | None:
        """The recorded migration, read with plain SQL (no Alembic import); None only when there is no
        schema yet. A database that cannot be read now (locked by another program, unreadable) is
        refused — never taken for an empty one, which would start the migrations."""
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError, ProgrammingError

        try:
            with self.refusing_storage(), self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                return None
            raise


def json_member(db: Database, column, key: str):
    """A SQL expression for the text member `key` of a JSON text column, read by SQLite's json_extract (no
    need to fetch and parse the whole document); None on another database (the caller parses it)."""
    if not db.is_sqlite:
        return None
    from sqlalchemy import func

    return func.json_extract(column, f"$.{key}")


def insert_many(s, table, rows: list[dict]) -> None:
    """INSERT many rows (dicts with the same keys). On SQLite: the statement built once, each column type's
    conversion applied in one loop, the driver's executemany — SQLAlchemy's per-row parameter handling costs
    more than SQLite's insert itself (a roster of 100,000 persons). Elsewhere, or when a column left out has
    a Python-side default: SQLAlchemy's executemany, the same rows."""
    if not rows:
        return
    conn = s.connection()
    keys = list(rows[0])
    if conn.dialect.name != "sqlite" or any(c.key not in keys and c.default is not None for c in table.c):
        conn.execute(table.insert(), rows)
        return
    quote = conn.dialect.identifier_preparer.quote
    procs = [table.c[k].type._cached_bind_processor(conn.dialect) for k in keys]
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(table.c[k].name) for k in keys)}) "
           f"VALUES ({', '.join('?' * len(keys))})")
    conv = [(k, p) for k, p in zip(keys, procs, strict=True)]
    conn.exec_driver_sql(sql, [tuple(r[k] if p is None or r[k] is None else p(r[k]) for k, p in conv)
                               for r in rows])


def open_db(db: str | Path | None = None, *, migrate: bool = True) -> Database:
    d = Database(db)
    if migrate and d.schema_version() != SCHEMA_HEAD:
        d.upgrade()
    return d
