"""日结 as one use case: close the day, make a verified backup of the closed day, write the 日结单
(xlsx and PDF). The window's 日结 and `clinic-settle day-close` both call `close_day`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from desktop_app.services import days, reporting
from desktop_app.services.ledger_types import DayCloseRecord, LedgerError
from desktop_app.store import backup as bk
from desktop_app.store.db import Database


@dataclass(frozen=True)
class ClosedDay:
    record: DayCloseRecord
    backup: str | None  # the verified copy of the closed day (None: not a SQLite database)
    xlsx: Path  # 日结单_<机构编码>_YYYYMMDD.xlsx
    pdf: Path  # 日结单_<机构编码>_YYYYMMDD.pdf

    @property
    def business_date(self) -> date:
        return self.record.business_date

    @property
    def count(self) -> int:
        """Settlements and reversals closed."""
        return self.record.count


def close_day(db: Database, *, operator: str, folder: Path, day: date | None = None) -> ClosedDay:
    """Close `day` (today by default); then back up and write the 日结单 into `folder`.
    Raises LedgerError when the day cannot be closed (nothing done), BackupError when the backup
    fails its check (the day stays closed)."""
    try:
        rec = days.day_close(db, operator=operator, day=day)
    except LedgerError as exc:
        # 日结 again after an interruption (power cut, killed) between the close and its 日结单: finish it
        done = _finish_interrupted(db, day or date.today(), Path(folder)) if exc.code == "already_closed" else None
        if done is None:
            raise
        return done
    return _backup_and_reports(db, rec, Path(folder))


def day_report_stem(db: Database, day: date) -> str:
    """`日结单_<机构编码>_YYYYMMDD`: two databases sharing a folder never write over each other's 日结单."""
    from desktop_app.services.settings import load

    return f"日结单_{load(db).clinic_code}_{day:%Y%m%d}"


def _paths(db: Database, folder: Path, day: date) -> tuple[Path, Path]:
    stem = day_report_stem(db, day)
    return folder / f"{stem}.xlsx", folder / f"{stem}.pdf"


def _backup_and_reports(db: Database, rec: DayCloseRecord, folder: Path) -> ClosedDay:
    backup = bk.backup(db).path if db.is_sqlite else None  # a verified copy of the closed day
    xp, pp = _paths(db, folder, rec.business_date)
    x = reporting.day_report_xlsx(db, rec.business_date, xp)
    p = reporting.day_report_pdf(db, rec.business_date, pp)
    return ClosedDay(rec, backup, x, p)


def _complete_pdf(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]


def _finish_interrupted(db: Database, day: date, folder: Path) -> ClosedDay | None:
    """A closed day whose 日结单 is missing or cut off in `folder`: make the backup and the 日结单 now and
    return them; None when both files are there (a second 日结 is then refused as before)."""
    from sqlalchemy import select

    from desktop_app.store import models as m

    xp, pp = _paths(db, folder, day)
    if xp.is_file() and _complete_pdf(pp):
        return None
    with db.read() as s:
        dc = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        if dc is None:
            return None
        rec = DayCloseRecord(dc.business_date, dc.closed_at, dc.operator, dc.count, json.loads(dc.totals_json))
    return _backup_and_reports(db, rec, folder)
