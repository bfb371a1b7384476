"""Importing the insurance catalogue (医保目录) from .xlsx or .csv: every row checked first (a dry run
shows the counts and the errors and changes nothing), bad rows go to an error report with their row
numbers, the good rows are written in one transaction with an audit entry (supervisor only).

History is kept: rows are never edited or deleted. A newer import that names a code and region from
date F on supersedes the older rows of that code and region from F (`superseded_from`), so a visit
before F still finds the older row, and a settled visit keeps the class it was settled with anyway
(settlement lines store their own class). The format is in docs/catalogue.md."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, select

from desktop_app.services.catalogue_files import check_rows, read_table, save_error_report
from desktop_app.services.catalogue_rows import (
    CATALOGUE_COLUMNS,
    CATALOGUE_REQUIRED,
    CatalogueRow,
    catalogue_row,
    fast_initials,
)
from desktop_app.services.roster_files import RosterError
from desktop_app.services.roster_rows import RowError
from desktop_app.store import models as m
from desktop_app.store.db import Database

LABEL = "医保目录"


@dataclass
class CatalogueImportResult:
    path: str
    rows: int  # data rows in the file (blank rows not counted)
    inserted: int  # rows added (or that would be, in a dry run)
    superseded: int  # older rows of the same code and region this import supersedes from its start date
    rejected: int
    report_path: str | None
    encoding_note: str = ""
    errors: list[RowError] = field(default_factory=list)
    report_note: str = ""
    dry_run: bool = False
    written: bool = False  # False: a dry run, or a file with any bad row (nothing is imported then)


class _DryRun(Exception):
    """Raised inside the write transaction of a dry run so nothing is committed."""


def _end(d: date | None) -> date:
    return d or date.max


def _drop_overlaps(rows: list[CatalogueRow], errors: list[RowError]) -> list[CatalogueRow]:
    """Rows of one code and region in the file must not overlap in time: a later row that does is an error."""
    first: dict[tuple[str, str], CatalogueRow] = {}
    more: dict[tuple[str, str], list[CatalogueRow]] = {}
    ok = []
    for r in rows:
        key = (r.code, r.admdvs)
        seen = first.get(key)
        if seen is None:
            first[key] = r
            ok.append(r)
            continue
        others = more.setdefault(key, [seen])
        clash = next((o for o in others if r.valid_from < _end(o.valid_until) and o.valid_from < _end(r.valid_until)),
                     None)
        if clash is not None:
            where = f"区划 {r.admdvs}" if r.admdvs else "全省"
            errors.append(RowError(LABEL, r.row, r.code, "开始日期",
                                   f"与第 {clash.row} 行（同一编码、{where}）的有效期重叠：同一编码的各行日期不能重叠"))
            continue
        others.append(r)
        ok.append(r)
    return ok


def import_catalogue(db: Database, path: str | Path, *, actor: str, dry_run: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> CatalogueImportResult:
    """Check every row of the catalogue file; unless `dry_run` or a row is bad, write them all in one
    transaction. A file with any bad row imports nothing (a catalogue with holes would settle the missing
    codes as 全自费): the result gives the counts it would have and the error report."""
    path = Path(path)
    table = read_table(path, LABEL)
    errors: list[RowError] = []
    good, total = check_rows(table, CATALOGUE_REQUIRED, CATALOGUE_COLUMNS, LABEL, "医保目录编码", catalogue_row, errors,
                             progress)
    good = _drop_overlaps(good, errors)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    written = not dry_run and not errors  # a file with a bad row changes nothing: fix it and import it again
    try:
        inserted, superseded = _write(db, good, actor=actor, dry_run=not written, name=path.name, digest=digest,
                                      rejected=len(errors))
    except _DryRun as dr:
        inserted, superseded = dr.args
    if progress:
        progress(total, total)
    report, note = (None, "")
    if errors:
        errors.sort(key=lambda e: e.row)
        report, note = save_error_report(db, path, errors, "医保目录编码")
    return CatalogueImportResult(str(path), total, inserted, superseded, len(errors), report, table.note, errors,
                                 note, dry_run, written)


def _write(db: Database, good: list[CatalogueRow], *, actor: str, dry_run: bool, name: str, digest: str,
           rejected: int) -> tuple[int, int]:
    from desktop_app.services import audit
    from desktop_app.services.accounts import AuthError, require_supervisor

    with db.write() as s:
        if not dry_run:  # (a dry run writes nothing: anyone signed in may check a file, as with the roster)
            try:
                require_supervisor(s, actor, "导入医保目录")
            except AuthError as exc:
                raise RosterError(str(exc), field="operator", code="supervisor_required") from None
        again = s.execute(select(m.InsCatalogueImport).where(m.InsCatalogueImport.file_sha256 == digest)
                          .order_by(m.InsCatalogueImport.id.desc()).limit(1)).scalar_one_or_none()
        if again is not None and not dry_run:
            raise RosterError(f"这份医保目录（内容与 {again.imported_at:%Y-%m-%d %H:%M} 导入的“{again.file_name}”相同）"
                              "已经导入过，未重复导入", code="already_imported")
        starts: dict[tuple[str, str], date] = {}
        for r in good:
            key = (r.code, r.admdvs)
            starts[key] = min(r.valid_from, starts.get(key, date.max))
        superseded = _supersede(s, starts)
        imp = m.InsCatalogueImport(imported_at=datetime.now(), actor=actor, file_name=name[:128],
                                   file_sha256=digest, rows=len(good))
        s.add(imp)
        s.flush()
        if good:
            s.execute(m.InsCatalogueRow.__table__.insert(), [
                {"import_id": imp.id, "code": r.code, "name": r.name, "pinyin": fast_initials(r.name),
                 "category": r.category, "chrgitm_lv": r.chrgitm_lv, "pay_std": r.pay_std,
                 "limit_text": r.limit_text, "admdvs": r.admdvs, "valid_from": r.valid_from,
                 "valid_until": r.valid_until, "superseded_from": None} for r in good])
        if dry_run:
            raise _DryRun(len(good), superseded)  # rolls the transaction back
        audit.append(s, actor, "catalogue_import", name[:64],
                     {"rows": len(good), "superseded": superseded, "rejected_rows": rejected, "sha256": digest,
                      "import_id": imp.id})
    return len(good), superseded


def _supersede(s, starts: dict[tuple[str, str], date]) -> int:
    """Stamp older rows of the codes and regions in the file as superseded from the file's first date."""
    if not starts or s.execute(select(m.InsCatalogueRow.id).limit(1)).first() is None:
        return 0
    T = m.InsCatalogueRow
    changes = []
    for rid, code, admdvs, _vf, vu, sup in s.execute(select(T.id, T.code, T.admdvs, T.valid_from, T.valid_until,
                                                           T.superseded_from)):
        f = starts.get((code, admdvs))
        if f is None:
            continue
        end = min(_end(vu), _end(sup))
        if end > f:  # still in force at or after the new start: superseded from there
            changes.append({"rid": rid, "sup": f})
    if changes:
        t = T.__table__
        s.connection().execute(t.update().where(t.c.id == bindparam("rid")).values(superseded_from=bindparam("sup")),
                               changes)
    return len(changes)
