"""The clinic's price list (本机构收费目录): import and export (.xlsx / .csv), and the edits of the 收费目录
tab — add an item, change its price from a date, stop it (停用: never deleted, a settled visit keeps its
lines), map it onto the insurance catalogue. Supervisor only, each in one transaction with an audit entry.

Prices are dated: a change adds a price row from its 开始日期, so a visit keeps the price of its own date,
and a change dated tomorrow does not touch today. A price row that has already started is never edited:
a correction is a new row from today (or later). The format is in docs/catalogue.md."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from desktop_app.errors import Refused
from desktop_app.services.catalogue import prices_on
from desktop_app.services.catalogue_files import check_rows, read_table, save_error_report
from desktop_app.services.catalogue_rows import (
    PRICE_COLUMNS,
    PRICE_REQUIRED,
    PriceRow,
    price_cell,
    price_row,
)
from desktop_app.services.roster import pinyin_initials
from desktop_app.services.roster_files import RosterError
from desktop_app.services.roster_rows import BadCell, RowError
from desktop_app.store import models as m
from desktop_app.store.db import Database

LABEL = "收费目录"


class PriceListError(Refused):
    """An edit of the price list refused (the message names the field)."""


@dataclass
class PriceImportResult:
    path: str
    rows: int
    inserted: int
    updated: int
    price_changes: int
    rejected: int
    report_path: str | None
    encoding_note: str = ""
    errors: list[RowError] = field(default_factory=list)
    report_note: str = ""
    dry_run: bool = False
    written: bool = False  # False: a dry run, or a file with any bad row (nothing is imported then)


class _DryRun(Exception):
    pass


def _supervisor(s, actor: str, what: str) -> None:
    from desktop_app.services.accounts import AuthError, require_supervisor

    try:
        require_supervisor(s, actor, what)
    except AuthError as exc:
        raise PriceListError(str(exc), field="operator", code="supervisor_required") from None


def import_prices(db: Database, path: str | Path, *, actor: str, dry_run: bool = False, today: date | None = None,
                  progress: Callable[[int, int], None] | None = None) -> PriceImportResult:
    """Check every row; unless `dry_run` or a row is bad, add new items and update known ones in one
    transaction. A file with any bad row changes nothing (the result gives the counts and the report)."""
    path = Path(path)
    today = today or date.today()
    table = read_table(path, LABEL)
    errors: list[RowError] = []
    good, total = check_rows(table, PRICE_REQUIRED, PRICE_COLUMNS, LABEL, "机构项目编码", price_row, errors, progress)
    seen: dict[str, int] = {}
    unique = []
    for r in good:
        if r.code in seen:
            errors.append(RowError(LABEL, r.row, r.code, "机构项目编码", f"机构项目编码与第 {seen[r.code]} 行重复"))
            continue
        seen[r.code] = r.row
        unique.append(r)
    try:
        counts = _write(db, unique, errors, actor=actor, dry_run=dry_run, today=today, name=path.name)
        written = True
    except _DryRun as dr:
        counts, written = dr.args, False
    if progress:
        progress(total, total)
    report, note = (None, "")
    if errors:
        errors.sort(key=lambda e: e.row)
        report, note = save_error_report(db, path, errors, "机构项目编码")
    return PriceImportResult(str(path), total, *counts, len(errors), report, table.note, errors, note, dry_run,
                             written)


def _write(db, rows: list[PriceRow], errors: list[RowError], *, actor, dry_run, today, name) -> tuple[int, int, int]:
    from desktop_app.services import audit

    with db.write() as s:
        if not dry_run:
            _supervisor(s, actor, "导入收费目录")
        known_codes = set(s.execute(select(m.InsCatalogueRow.code).distinct()).scalars())
        existing = {i.code: i for i in s.execute(select(m.ClinicItem)).scalars()}
        current = prices_on(s, existing, date.max)
        inserted = updated = changes = 0
        now = datetime.now()
        for r in rows:
            try:
                if r.ins_code and r.ins_code not in known_codes:
                    raise BadCell("医保目录编码", f"医保目录编码 {r.ins_code} 不在已导入的医保目录中（先导入医保目录，或核对编码）")
                item = existing.get(r.code)
                start = r.valid_from or today
                if item is None:
                    s.add(m.ClinicItem(code=r.code, name=r.name, pinyin=pinyin_initials(r.name), spec=r.spec,
                                       unit=r.unit, fee_category=r.fee_category, ins_code=r.ins_code, active=True))
                    s.flush()
                    _add_price(s, r.code, r.price, start, now, actor)
                    inserted += 1
                    continue
                changed = _update_item(item, r)
                if not _same_price(s, r.code, r.price, start, current.get(r.code)):
                    _new_price(s, r.code, r.price, start, today, now, actor)
                    changes += 1
                    changed = True
                updated += changed
            except BadCell as b:
                errors.append(RowError(LABEL, r.row, r.code, b.field, b.reason))
        if dry_run or errors:  # a file with any bad row changes nothing
            raise _DryRun(inserted, updated, changes)
        audit.append(s, actor, "price_import", name[:64], {"inserted": inserted, "updated": updated,
                                                           "price_changes": changes, "rejected_rows": len(errors)})
    return inserted, updated, changes


def _update_item(item: m.ClinicItem, r: PriceRow) -> bool:
    new = {"name": r.name, "spec": r.spec, "unit": r.unit, "fee_category": r.fee_category, "ins_code": r.ins_code}
    changed = any(getattr(item, k) != v for k, v in new.items())
    for k, v in new.items():
        setattr(item, k, v)
    if changed:
        item.pinyin = pinyin_initials(r.name)
    return changed


def _same_price(s, code: str, price: str, start: date, latest: str | None) -> bool:
    """The file's price is already the one in force from `start` (an export read back changes nothing)."""
    on_start = prices_on(s, [code], start).get(code)
    from decimal import Decimal

    return on_start is not None and Decimal(on_start) == Decimal(price) and latest is not None \
        and Decimal(latest) == Decimal(price)


def _add_price(s, code: str, price: str, start: date, now: datetime, actor: str) -> None:
    s.add(m.ClinicItemPrice(code=code, price=price, valid_from=start, created_at=now, actor=actor))


def _new_price(s, code: str, price: str, start: date, today: date, now: datetime, actor: str) -> None:
    """A price change of a known item from `start`: never in the past (visits already settled or waiting
    would change); a row of the same start not yet begun is replaced."""
    if start < today:
        raise BadCell("开始日期", f"调价的开始日期 {start} 早于今天：已发生的就诊按原单价结算，调价请从今天或以后开始")
    P = m.ClinicItemPrice
    row = s.execute(select(P).where(P.code == code, P.valid_from == start)).scalar_one_or_none()
    if row is not None:
        if start <= today and row.created_at.date() < today:
            raise BadCell("开始日期", f"{start} 起的单价已生效，不能改动：请用新的开始日期")
        row.price, row.created_at, row.actor = price, now, actor
        return
    _add_price(s, code, price, start, now, actor)


# ---------------------------------------------------------------------------
# Edits of the 收费目录 tab
# ---------------------------------------------------------------------------
def _checked(fn):
    try:
        return fn()
    except BadCell as b:
        raise PriceListError(b.reason, field=b.field, code="invalid_input") from None


def add_item(db: Database, fields: dict[str, str], *, actor: str, today: date | None = None) -> str:
    """Add one item; `fields` keyed by the file's column names (机构项目编码, 机构项目名称, 规格, 单位, 单价, 收费类别,
    医保目录编码, 开始日期). Returns its code."""
    from desktop_app.services import audit

    today = today or date.today()
    unknown = set(fields) - set(PRICE_COLUMNS)
    if unknown:
        raise PriceListError(f"未知字段：{'、'.join(sorted(unknown))}", code="invalid_input")
    r = _checked(lambda: price_row(fields, 0))
    with db.write() as s:
        _supervisor(s, actor, "修改收费目录")
        if s.get(m.ClinicItem, r.code) is not None:
            raise PriceListError(f"机构项目编码 {r.code} 已在收费目录中", field="机构项目编码", code="invalid_input")
        _check_ins_code(s, r.ins_code)
        s.add(m.ClinicItem(code=r.code, name=r.name, pinyin=pinyin_initials(r.name), spec=r.spec, unit=r.unit,
                           fee_category=r.fee_category, ins_code=r.ins_code, active=True))
        s.flush()
        _add_price(s, r.code, r.price, r.valid_from or today, datetime.now(), actor)
        audit.append(s, actor, "price_item_add", r.code, {"name": r.name, "price": r.price, "ins_code": r.ins_code})
    return r.code


def _check_ins_code(s, ins_code: str) -> None:
    if ins_code and s.execute(select(m.InsCatalogueRow.id).where(m.InsCatalogueRow.code == ins_code).limit(1)).first() \
            is None:
        raise PriceListError(f"医保目录编码 {ins_code} 不在已导入的医保目录中", field="医保目录编码", code="invalid_input")


def _item(s, code: str) -> m.ClinicItem:
    item = s.get(m.ClinicItem, code)
    if item is None:
        raise PriceListError(f"收费目录中没有机构项目编码 {code}", field="机构项目编码", code="not_found")
    return item


def change_price(db: Database, code: str, price: str, valid_from: date, *, actor: str,
                 today: date | None = None) -> None:
    """The item's price from `valid_from` on (today or later); earlier visits keep their price."""
    from desktop_app.services import audit

    today = today or date.today()
    price = _checked(lambda: price_cell(price, "单价", required=True))
    with db.write() as s:
        _supervisor(s, actor, "修改收费目录")
        _item(s, code)
        before = prices_on(s, [code], valid_from).get(code)
        _checked(lambda: _new_price(s, code, price, valid_from, today, datetime.now(), actor))
        audit.append(s, actor, "price_change", code, {"price": price, "from": valid_from.isoformat(),
                                                      "before": before})


def set_active(db: Database, code: str, active: bool, *, actor: str) -> None:
    """停用 (False) or 启用 (True) an item. Never deleted: settled visits keep their lines either way."""
    from desktop_app.services import audit

    with db.write() as s:
        _supervisor(s, actor, "修改收费目录")
        item = _item(s, code)
        if item.active != active:
            item.active = active
            audit.append(s, actor, "price_item_start" if active else "price_item_stop", code, {"name": item.name})


def map_item(db: Database, code: str, ins_code: str, *, actor: str) -> None:
    """对照: map the item onto a catalogue code ("" = not covered, 全自费)."""
    from desktop_app.services import audit

    ins_code = (ins_code or "").strip()
    with db.write() as s:
        _supervisor(s, actor, "修改收费目录")
        item = _item(s, code)
        _check_ins_code(s, ins_code)
        if item.ins_code != ins_code:
            audit.append(s, actor, "price_item_map", code, {"before": item.ins_code, "after": ins_code})
            item.ins_code = ins_code


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
def export_prices(db: Database, path: str | Path, *, on: date | None = None) -> int:
    """The active items with the price in force on `on` (default today), in the import format (.xlsx or
    .csv UTF-8 with BOM): importing the file back changes nothing. Returns the number of items."""
    path = Path(path)
    on = on or date.today()
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise RosterError(f"导出文件须为 .xlsx 或 .csv，收到“{path.suffix}”", field="file")
    P = m.ClinicItemPrice
    with db.read() as s:
        items = list(s.execute(select(m.ClinicItem).where(m.ClinicItem.active.is_(True))
                               .order_by(m.ClinicItem.code)).scalars())
        starts: dict[str, tuple[date, str]] = {}
        for code, price, vf in s.execute(select(P.code, P.price, P.valid_from).where(P.valid_from <= on)):
            if code not in starts or vf > starts[code][0]:
                starts[code] = (vf, price)
        rows = [[i.code, i.name, i.spec, i.unit, starts[i.code][1] if i.code in starts else "", i.fee_category,
                 i.ins_code, starts[i.code][0].isoformat() if i.code in starts else ""] for i in items]
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([list(PRICE_COLUMNS), *rows])
    else:
        _write_xlsx(tmp, rows)
    tmp.replace(path)
    return len(rows)


def _write_xlsx(out: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = LABEL
    ws.append(list(PRICE_COLUMNS))
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append(r)  # every cell text (codes keep their zeros; nothing a user typed becomes a formula)
        for c in ws[ws.max_row]:
            c.data_type = "s"
            c.number_format = "@"
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGH", (18, 28, 14, 6, 10, 12, 26, 12), strict=True):
        ws.column_dimensions[col].width = width
    with out.open("wb") as fh:
        wb.save(fh)
