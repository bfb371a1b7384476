"""Keeping ID numbers out of logs, error messages and tracebacks (no Qt, no SQL).

`redact(text)` masks every resident ID number it finds (18-digit, and the old 15-digit form) to
`1401**********123X` (full-width digits too). The log file and the error dialog pass everything through it;
passwords are never put into a message in the first place (tests scan the log and the database file for them).
`private_dir` / `private_file` create folders and files only this account can read (0700 / 0600 on POSIX):
the database, backups and logs (the command line also sets its umask to 077, which covers the rest).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

_DATE8 = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID = re.compile(rf"(?<![0-9A-Za-z])(?:[1-9]\d{{5}}{_DATE8}\d{{3}}[0-9Xx]|[1-9]\d{{5}}{_DATE6}\d{{3}})(?![0-9A-Za-z])")


def mask_id(id_no: str) -> str:
    """1401**********123X — first four and last four shown."""
    if len(id_no) < 8:
        return "*" * len(id_no)
    return id_no[:4] + "*" * (len(id_no) - 8) + id_no[-4:]


# full-width digits and Ｘ (a Chinese input method types them) are read as digits: one code point each, so
# positions in the translated text are positions in the original
_HALF = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)")


def mask_url_password(text: str) -> str:
    """`postgresql://clinic:s3cret@host/db` → `postgresql://clinic:***@host/db`."""
    return _URL_PASSWORD.sub(r"\1***\3", text)


def redact(text: str) -> str:
    """Every resident ID number masked, and the password of any database URL."""
    text = mask_url_password(text)
    plain = text.translate(_HALF)
    if plain == text:
        return _ID.sub(lambda mo: mask_id(mo.group(0)), text)
    out, at = [], 0
    for mo in _ID.finditer(plain):
        out += [text[at:mo.start()], mask_id(text[mo.start():mo.end()])]
        at = mo.end()
    return "".join(out) + text[at:]


class RedactingFormatter(logging.Formatter):
    """Formats as usual (message, traceback), then masks ID numbers in the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def private_dir(folder: Path) -> None:
    """Create `folder` (and its parents) readable by this account only (0700) where the OS has such modes."""
    folder = Path(folder)
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _chmod(folder, 0o700)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (SQLite takes an empty file as an empty
    database, and gives its `-wal`/`-shm` files the database file's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    _chmod(path, 0o600)


def _chmod(path: Path, mode: int) -> None:
    if os.name == "posix":
        try:
            os.chmod(path, mode)
        except OSError:
            pass


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A new log file after a rotation is created readable by this account only, like the first."""

    def _open(self):
        private_file(Path(self.baseFilename))
        return super()._open()


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_NAME = "clinic-settle.log"


def setup_logging(log_dir: Path | None, *, stderr: bool = True) -> Path | None:
    """Log to `log_dir/clinic-settle.log` (1 MB × 5, UTF-8) and stderr, both through the redactor.
    Returns the log file (None if it cannot be written: the program still runs)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for h in list(root.handlers):
        if getattr(h, "_clinic_settle", False):
            root.removeHandler(h)
            h.close()
    fmt = RedactingFormatter(LOG_FORMAT)
    handlers: list[logging.Handler] = []
    path = None
    if log_dir is not None:
        try:
            private_dir(log_dir)
            path = log_dir / LOG_NAME
            private_file(path)  # 0600; the rotated files are renamed from it and keep its mode
            handlers.append(_PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"))
        except OSError:
            path = None
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        h._clinic_settle = True
        root.addHandler(h)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return path


def format_exception(exc: BaseException) -> str:
    """A traceback with ID numbers masked, for a dialog's details or the terminal."""
    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
