"""Backups of the SQLite database: the SQLite online backup API (consistent while the
program runs), each copy checked (`PRAGMA integrity_check`) before it counts, rotated.

- `backup(db)` → `backups/clinic-settle-<数据库文件名>-YYYYMMDD-HHMMSS.sqlite3` beside the database (the
  database file's stem in the name: two databases in one folder keep, list and rotate their own backups;
  older copies named `clinic-settle-YYYYMMDD-HHMMSS.sqlite3` are still listed for every database there);
- `daily(db)` makes one when none exists for today (called at start-up and after 日结);
- `restore(target, backup_file)` verifies the backup first, keeps the current file
  aside as `*.before-restore-<time>`, then copies the backup into place;
- `quick_check(path)` is the start-up check (`PRAGMA quick_check`).

SQLite-specific by nature; the county centre's PostgreSQL uses its own tools.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from desktop_app.errors import Refused
from desktop_app.privacy import private_dir, private_file

KEEP = 30  # newest backups kept
PREFIX = "clinic-settle-"


class BackupError(Refused):
    """A backup or restore that was not done (or did not check out), with the reason."""


@dataclass(frozen=True)
class BackupInfo:
    path: str
    size: int
    created: datetime


def backups_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def check_file(path: Path, quick: bool = False) -> str:
    """'ok', or what SQLite reports. A file that is not a ClinicSettle database is not ok either."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            res = con.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchone()[0]
            if res != "ok":
                return res
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"settlement", "person", "alembic_version"} <= tables:
                return "不是结算台数据库（缺少必要的表）"
            return "ok"
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"无法读取：{exc}"


def quick_check(path: Path) -> str:
    return check_file(path, quick=True)


def backup(db, dest: Path | None = None, *, keep: int = KEEP, now: datetime | None = None) -> BackupInfo:
    """A verified copy in one self-contained file (rollback-journal mode, so reading it later — a check, a
    restore — never creates `-wal`/`-shm` files beside it), readable by this account only."""
    if not db.is_sqlite or db.path is None:
        raise BackupError("只有 SQLite 数据库可以用本功能备份")
    now = now or datetime.now()
    folder = Path(dest) if dest else backups_dir(db.path)
    private_dir(folder)
    final = folder / f"{PREFIX}{db.path.stem}-{now:%Y%m%d-%H%M%S}.sqlite3"
    tmp = final.with_suffix(".partial")
    private_file(tmp)
    src = sqlite3.connect(db.path, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy carries the source's WAL flag: one file instead
    finally:
        dst.close()
        src.close()
    res = check_file(tmp)
    if res != "ok":
        _remove_with_side_files(tmp)
        raise BackupError(f"备份文件校验未通过：{res}")
    tmp.replace(final)
    _remove_with_side_files(tmp)
    _rotate(folder, keep, db.path.stem)
    return BackupInfo(str(final), final.stat().st_size, now)


SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def _remove_with_side_files(path: Path) -> None:
    for f in (path, *(Path(str(path) + s) for s in SIDE_SUFFIXES)):
        f.unlink(missing_ok=True)


_NAME = re.compile(rf"{PREFIX}(?:(?P<stem>.+)-)?(?P<at>\d{{8}}-\d{{6}})\.sqlite3")


def _own(folder: Path, stem: str | None) -> list[tuple[Path, datetime]]:
    """The backups in `folder` of the database whose file stem is `stem` (and the old, unnamed ones when
    `stem` is None), oldest first."""
    out = []
    for f in folder.glob(f"{PREFIX}*.sqlite3"):
        mt = _NAME.fullmatch(f.name)
        if mt is None or mt["stem"] != stem:
            continue
        try:
            out.append((f, datetime.strptime(mt["at"], "%Y%m%d-%H%M%S")))
        except ValueError:
            continue
    return sorted(out, key=lambda x: (x[1], x[0].name))


def _rotate(folder: Path, keep: int, stem: str | None = None) -> None:
    """Keep this database's newest `keep` backups; remove the side files (`-wal`, `-shm`, `-journal`) of any file that is
    no longer there, and unfinished `.partial` copies more than an hour old (left by a crash)."""
    files = [f for f, _ in _own(folder, stem)]
    for old in files[:-keep] if keep > 0 else []:
        _remove_with_side_files(old)
    for side in folder.glob(f"{PREFIX}*"):
        main = next((Path(str(side)[: -len(s)]) for s in SIDE_SUFFIXES if side.name.endswith(s)), None)
        if main is not None and not main.exists():
            side.unlink(missing_ok=True)
    for part in folder.glob(f"{PREFIX}*.partial"):
        try:
            if datetime.now().timestamp() - part.stat().st_mtime > 3600:
                _remove_with_side_files(part)
        except OSError:
            pass


def list_backups(db_path: Path) -> list[BackupInfo]:
    """This database's backups (and the old ones named without a database), newest first."""
    folder = backups_dir(db_path)
    both = _own(folder, Path(db_path).stem) + _own(folder, None)
    return [BackupInfo(str(f), f.stat().st_size, at) for f, at in sorted(both, key=lambda x: x[1], reverse=True)]


def daily(db, now: datetime | None = None) -> BackupInfo | None:
    """One backup per calendar day; None when today's already exists (or not SQLite)."""
    if not db.is_sqlite or db.path is None:
        return None
    now = now or datetime.now()
    if any(b.created.date() == now.date() for b in list_backups(db.path)):
        return None
    return backup(db, now=now)


def is_same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` are one file: the same path once resolved (`..`, symlinks), or the same
    inode (a hard link)."""
    a, b = Path(a), Path(b)
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_live_source(target: Path, backup_file: Path) -> None:
    """A restore whose source is the database in use would move the data aside and leave an empty file."""
    if is_same_file(target, backup_file):
        raise BackupError(f"{Path(backup_file).name} 就是正在使用的数据库本身（同一文件或其链接），不能用它恢复：请选择 backups/ 中的备份文件")


def restore(target: Path, backup_file: Path, *, now: datetime | None = None, verified: bool = False) -> Path:
    """Replace `target` by a verified backup (`verified`: the caller has just run `check_file` on it).
    The program must not have the database open. Returns where the replaced file was kept.
    Refused when the backup is the target itself (by any name)."""
    target, backup_file = Path(target), Path(backup_file)
    refuse_live_source(target, backup_file)
    res = "ok" if verified else check_file(backup_file)
    if res != "ok":
        raise BackupError(f"备份文件 {backup_file.name} 校验未通过，未恢复：{res}")
    now = now or datetime.now()
    kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}")
    if target.exists():
        target.replace(kept)
    for suffix in ("-wal", "-shm"):
        side = Path(str(target) + suffix)
        if side.exists():
            side.replace(Path(str(kept) + suffix))
    private_file(target)
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    if check_file(target) != "ok":
        raise BackupError("恢复后的数据库校验未通过")
    return kept
