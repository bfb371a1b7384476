"""Keeping ID numbers out of logs, error messages and tracebacks (no Qt, no SQL).

`redact(text)` masks every resident ID number it finds (18-digit, and the old 15-digit form) to
`1401**********123X`. The log file and the error dialog pass everything through it; passwords are
never put into a message in the first place (tests scan the log and the database file for them).
"""

from __future__ import annotations

import logging
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


def redact(text: str) -> str:
    return _ID.sub(lambda mo: mask_id(mo.group(0)), text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual (message, traceback), then masks ID numbers in the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
            log_dir.mkdir(parents=True, exist_ok=True)
            path = log_dir / LOG_NAME
            handlers.append(RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"))
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
