"""日结 as one use case: close the day, make a verified backup of the closed day, write the 日结单
(xlsx and PDF). The window's 日结 and `clinic-settle day-close` both call `close_day`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from desktop_app.services import days, reporting
from desktop_app.store import backup as bk
from desktop_app.store.db import Database


@dataclass(frozen=True)
class ClosedDay:
    record: days.DayCloseRecord
    backup: str | None  # the verified copy of the closed day (None: not a SQLite database)
    xlsx: Path  # 日结单_YYYYMMDD.xlsx
    pdf: Path  # 日结单_YYYYMMDD.pdf

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
    rec = days.day_close(db, operator=operator, day=day)
    backup = bk.backup(db).path if db.is_sqlite else None  # a verified copy of the closed day
    stem = f"日结单_{rec.business_date:%Y%m%d}"
    x = reporting.day_report_xlsx(db, rec.business_date, Path(folder) / f"{stem}.xlsx")
    p = reporting.day_report_pdf(db, rec.business_date, Path(folder) / f"{stem}.pdf")
    return ClosedDay(rec, backup, x, p)
