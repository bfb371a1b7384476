"""Reports and the reconciliation export: the database reads behind them.

`reports/` renders rows it is given (xlsx, PDF, the export files); this module reads
those rows — settlements and reversals as plain `Row`s, the clinic's name and code,
the day's close — and hands them over. The functions keep the names and arguments the
callers know (`day_report_xlsx(db, day, path)`, `export(db, start, end, out)`…).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import BigInteger, select, type_coerce

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.reports import daypdf, xlsx
from desktop_app.reports import export as export_files
from desktop_app.reports.xlsx import CloseStamp, Row
from desktop_app.services import audit
from desktop_app.services.settings import ClinicSettings, clinic_settings
from desktop_app.store import models as m
from desktop_app.store.db import Database, json_member
from desktop_app.store.types import fen_to_yuan


def rows_between(db: Database, start: date, end: date) -> list[Row]:
    """Settlements and reversals whose business day is in [start, end], in number order.

    Columns only (no ORM objects): a month of 30,000 rows loads in about a second.
    """
    S = m.Settlement
    receipt_name = json_member(db, S.receipt_json, "name")  # the one member of the receipt used here
    receipt = S.receipt_json if receipt_name is None else receipt_name.label("receipt_name")
    cols = [S.id, S.setl_no, S.kind, S.original_id, S.created_at, S.business_date, S.visit_date, S.psn_no,
            S.insutype, S.benefit, S.disease, S.institution, S.operator, S.reason, receipt, S.packs,
            S.pool_prop_selfpay]
    first_money = len(cols)
    cols += [type_coerce(getattr(S, f), BigInteger).label(f) for f in MONEY_FIELDS]  # fen, converted below
    with db.read() as s:
        # an outer join: a 全自费 walk-in has no person (its name is in the receipt snapshot and walkin_name)
        q = (select(*cols, S.walkin_name, m.Person.name).outerjoin(m.Person, m.Person.psn_no == S.psn_no)
             .where(S.business_date >= start, S.business_date <= end).order_by(S.setl_no))
        raw = s.connection().execute(q).all()  # Core rows: no ORM loading step per row
        ids = {r.id: r.setl_no for r in raw}
        missing = {r.original_id for r in raw if r.original_id and r.original_id not in ids}
        if missing:
            ids.update(dict(s.execute(select(S.id, S.setl_no).where(S.id.in_(missing))).all()))
    out = []
    parsed_packs: dict[str, tuple] = {}  # the same few pack lists over and over: parsed once each
    yuan: dict[int, Decimal] = {}  # fen → Decimal yuan, each amount converted once (Decimals are immutable)
    for r in raw:
        amounts = {}
        for f, fen in zip(MONEY_FIELDS, r[first_money:first_money + len(MONEY_FIELDS)], strict=True):
            v = yuan.get(fen)
            if v is None:
                v = yuan[fen] = fen_to_yuan(fen)
            amounts[f] = v
        refs = parsed_packs.get(r.packs)
        if refs is None:
            refs = parsed_packs[r.packs] = tuple(json.loads(r.packs or "[]"))
        out.append(Row(
            setl_no=r.setl_no, kind=r.kind, original=ids.get(r.original_id, "") if r.original_id else "",
            created_at=r.created_at, business_date=r.business_date, visit_date=r.visit_date, psn_no=r.psn_no or "",
            name=(_receipt_name(r.receipt_json) if receipt_name is None else r.receipt_name) or r.name
            or r.walkin_name,
            insutype=r.insutype, benefit=r.benefit,
            disease=r.disease, institution=r.institution, operator=r.operator, reason=r.reason,
            amounts=amounts,
            packs=";".join(f"{p['id']}@{p['version']}" for p in refs), pack_refs=refs, ratio=r.pool_prop_selfpay,
        ))
    return out


def _receipt_name(receipt_json: str | None) -> str:
    """The name the receipt printed (frozen at settlement)."""
    return json.loads(receipt_json or "{}").get("name") or ""


def _clinic(db: Database) -> ClinicSettings:
    with db.read() as s:
        return clinic_settings(s)


def _day_head(db: Database, day: date) -> tuple[ClinicSettings, CloseStamp | None]:
    """The clinic and the day's close (None: not closed), read together."""
    with db.read() as s:
        clinic = clinic_settings(s)
        close = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        closed = CloseStamp(close.closed_at, close.operator) if close else None
    return clinic, closed


def detail_xlsx(db: Database, start: date, end: date, path: str | Path) -> Path:
    """结算明细: one row per settlement and reversal in the date range."""
    clinic = _clinic(db)
    return xlsx.detail_xlsx(Path(path), rows_between(db, start, end), clinic.clinic_name, start, end)


def day_report_xlsx(db: Database, day: date, path: str | Path) -> Path:
    """日结单 (xlsx): counts and sums by 险种 × benefit, by payment source, reversals listed."""
    clinic, closed = _day_head(db, day)
    return xlsx.day_report_xlsx(Path(path), rows_between(db, day, day), clinic.clinic_name, day, closed,
                                str(audit.anchor(db)))


def day_report_pdf(db: Database, day: date, path: str | Path) -> Path:
    """日结单 (PDF, A4 landscape), from the same rows as the xlsx."""
    clinic, closed = _day_head(db, day)
    return daypdf.day_report_pdf(Path(path), rows_between(db, day, day), clinic.clinic_name, clinic.clinic_code,
                                 day, closed, str(audit.anchor(db)))


def month_report_xlsx(db: Database, year: int, month: int, path: str | Path) -> Path:
    """月度汇总: by 险种 × benefit, by day, by payment source."""
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    clinic = _clinic(db)
    return xlsx.month_report_xlsx(Path(path), rows_between(db, start, end), clinic.clinic_name, year, month)


def export(db: Database, start: date, end: date, out: str | Path, *, today: date | None = None
           ) -> export_files.ExportResult:
    """对账导出 of [start, end] into `out/` (files and format: reports/export.py, docs/export.md).
    A period ending after today is refused: a day not yet come cannot be exported."""
    if end < start:
        raise ValueError(f"结束日期 {end} 早于开始日期 {start}")
    today = today or date.today()
    if end > today:
        raise ValueError(f"--to {end} 晚于今天（{today}）：不能导出尚未到来的日期")
    return _export_rows(db, start, end, out, rows_between(db, start, end), _clinic(db))


def closed_days(db: Database, start: date, end: date) -> list[date]:
    """The days of [start, end] closed (日结) now."""
    with db.read() as s:
        return sorted(s.execute(select(m.DayClose.business_date).where(
            m.DayClose.business_date >= start, m.DayClose.business_date <= end)).scalars())


def _export_rows(db: Database, start: date, end: date, out: str | Path, rows: list[Row],
                 clinic: ClinicSettings) -> export_files.ExportResult:
    return export_files.write_export(Path(out), start, end, rows, clinic_code=clinic.clinic_code,
                                     clinic_name=clinic.clinic_name,
                                     packs={r.setl_no: list(r.pack_refs) for r in rows},
                                     ratios={r.setl_no: r.ratio for r in rows}, anchor=str(audit.anchor(db)),
                                     closed=closed_days(db, start, end))


@dataclass(frozen=True)
class MonthFiles:
    summary: Path
    export: export_files.ExportResult


def month_summary_and_export(db: Database, year: int, month: int, summary_path: str | Path,
                             out: str | Path) -> MonthFiles:
    """月度汇总 and the month's 对账导出 from one read of the month's rows (the same files as
    `month_report_xlsx` and `export` of the month)."""
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    clinic = _clinic(db)
    rows = rows_between(db, start, end)
    summary = xlsx.month_report_xlsx(Path(summary_path), rows, clinic.clinic_name, year, month)
    return MonthFiles(summary, _export_rows(db, start, end, out, rows, clinic))
