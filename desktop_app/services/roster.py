"""Roster import (花名册): `.xlsx` (python-calamine) or `.csv`, every row validated (files are read
in `roster_files`, rows checked in `roster_rows`).

Good rows are upserted in one transaction (re-importing updates persons and
their usage snapshot and never touches local settlements); bad rows go to an
error report `.xlsx` beside the input with the row number and the reason.
The format is documented in `docs/roster.md`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, select, update

from desktop_app.services.roster_files import RosterError, check_file, header_table, read_sheets
from desktop_app.services.roster_rows import (
    PERSON_COLUMNS,
    PERSON_REQUIRED,
    PERSON_SHEET,
    USAGE_COLUMNS,
    USAGE_REQUIRED,
    USAGE_SHEET,
    BadCell,
    PersonRow,
    RowError,
    UsageRow,
    cell_text,
    person_row,
    usage_row,
)
from desktop_app.store import models as m
from desktop_app.store.db import Database, insert_many


@dataclass
class ImportResult:
    path: str
    rows: int
    inserted: int
    updated: int
    rejected: int
    usage_rows: int
    usage_rejected: int
    report_path: str | None
    encoding_note: str = ""
    errors: list[RowError] = field(default_factory=list)
    usage_note: str = ""  # said when the file had no 待遇累计 (usage kept as it was)
    report_note: str = ""  # said when the error report could not be written (the errors are in `errors`)


# ---------------------------------------------------------------------------
# Pinyin search keys
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _surname_readings(ch: str) -> tuple[str, ...]:
    from pypinyin import Style, pinyin

    first = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(first[0]) if first else ()


_CJK_RUN = re.compile(r"([\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+)")


@functools.lru_cache(maxsize=65536)
def _segments(text: str) -> tuple[tuple[str, bool], ...]:
    """(syllable or kept token, is_pinyin) in order: Chinese runs become pinyin syllables; Latin letters
    and digits between them are kept as they are (维生素C → wei sheng su c), anything else is dropped."""
    from pypinyin import lazy_pinyin

    out: list[tuple[str, bool]] = []
    for i, run in enumerate(_CJK_RUN.split(text)):
        if i % 2:  # a Chinese run
            out.extend((p.lower(), True) for p in lazy_pinyin(run, errors="ignore") if p)
        else:
            out.extend((t.lower(), False) for t in re.findall(r"[0-9A-Za-z]+", run))
    return tuple(out)


def _initials(segs) -> str:
    """First letter of each syllable; a kept Latin/digit token whole (维生素C → wssc, 张3丰 → z3f)."""
    return "".join(t[0] if is_py else t for t, is_py in segs if t)


def pinyin_initials(text: str) -> str:
    """Search initials of any name (persons, price-list items): 维生素C咀嚼片 → wssczjp."""
    return _initials(_segments(text.strip()))


def pinyin_keys(name: str, limit: int = 8) -> list[str]:
    """Full pinyin and initials of a name; every reading of the surname (单 dan/shan/chan); Latin letters
    and digits of the name are kept (维生素C → weishengsuc, wssc)."""
    name = name.strip()
    if not name:
        return []
    readings = _surname_readings(name[0]) if _CJK_RUN.match(name[0]) else ()
    if readings:
        rest = list(_segments(name[1:]))
        variants = [[(r, True), *rest] for r in itertools.islice(readings, limit)]
    else:
        variants = [list(_segments(name))]
    keys: list[str] = []
    for segs in variants:
        for k in ("".join(t for t, _p in segs), _initials(segs)):
            if k and k not in keys:
                keys.append(k)
    return keys


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
class _DryRun(Exception):
    """Raised inside the write transaction of a dry run so nothing is committed."""


def _blank(raw) -> bool:
    return raw is None or all(c is None or cell_text(c) == "" for c in raw)


def _check_persons(person_rows: list[list], known_diseases: set[str], today: date, errors: list[RowError],
                   progress) -> tuple[list[PersonRow], int]:
    pidx, pdata = header_table(person_rows, PERSON_REQUIRED, PERSON_COLUMNS, "花名册")
    good: list[PersonRow] = []
    seen_psn: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    total = len(pdata)
    for i, raw in enumerate(pdata):
        rownum = i + 2
        if _blank(raw):
            continue
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in pidx.items()}
        try:
            p = person_row(cells, rownum, known_diseases, today)
            if p.psn_no in seen_psn:
                raise BadCell("人员编号", f"人员编号 {p.psn_no} 与第 {seen_psn[p.psn_no]} 行重复")
            if p.id_no in seen_id:
                raise BadCell("身份证号", f"身份证号与第 {seen_id[p.id_no]} 行重复")
        except BadCell as b:
            errors.append(RowError(PERSON_SHEET, rownum, cell_text(cells.get("人员编号")), b.field, b.reason))
            continue
        seen_psn[p.psn_no] = rownum
        seen_id[p.id_no] = rownum
        good.append(p)
        if progress and i % 5000 == 0:
            progress(i, total)
    return good, total


def _check_usage(usage_rows: list[list], errors: list[RowError]) -> tuple[list[UsageRow], int, int]:
    uidx, udata = header_table(usage_rows, USAGE_REQUIRED, USAGE_COLUMNS, "待遇累计")
    usage: list[UsageRow] = []
    total = rejected = 0
    for i, raw in enumerate(udata):
        if _blank(raw):
            continue
        total += 1
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in uidx.items()}
        try:
            usage.append(usage_row(cells, i + 2))
        except BadCell as b:
            rejected += 1
            errors.append(RowError(USAGE_SHEET, i + 2, cell_text(cells.get("人员编号")), b.field, b.reason))
    return usage, total, rejected


def import_roster(db: Database, path: str | Path, *, usage_path: str | Path | None = None,
                  progress: Callable[[int, int], None] | None = None, dry_run: bool = False,
                  actor: str, today: date | None = None) -> ImportResult:
    """Import a roster. `dry_run`: check every row (against the database too) and report the
    counts and the error report, changing nothing. `today`: the import day (a 截至日期 after it is
    a row error)."""
    path = Path(path)
    today = today or date.today()
    check_file(path, "花名册")
    if usage_path is not None:
        usage_path = Path(usage_path)
        check_file(usage_path, "待遇累计")
    person_rows, usage_rows, note = read_sheets(path, usage_path)
    with db.read() as s:
        known_diseases = set(s.execute(select(m.PackDisease.code)).scalars())
    errors: list[RowError] = []
    good, total = _check_persons(person_rows, known_diseases, today, errors, progress)
    usage: list[UsageRow] | None = None
    usage_total = usage_rejected = 0
    if usage_rows is not None:
        usage, usage_total, usage_rejected = _check_usage(usage_rows, errors)
    try:
        inserted, updated, usage_rejected = _write(db, _Batch(good, usage, errors, usage_rejected, datetime.now(),
                                                              dry_run, actor, path))
    except _DryRun as dr:
        inserted, updated, usage_rejected = dr.args
    if progress:
        progress(total, total)
    report, report_note = None, ""
    if errors:
        report, report_note = _save_report(db, path, errors)
    usage_note = "" if usage is not None else (
        "文件中没有待遇累计表：已在数据库中的人员，其待遇累计（本年统筹已支付等）和截至日期未改动")
    person_errors = sum(1 for e in errors if e.sheet == PERSON_SHEET)
    return ImportResult(str(path), total, inserted, updated, person_errors, usage_total, usage_rejected,
                        str(report) if report else None, note, errors, usage_note, report_note)


@dataclass
class _Batch:
    """What one import writes: the valid rows, the 待遇累计 rows (None: no 待遇累计 in the file)."""

    good: list[PersonRow]
    usage: list[UsageRow] | None
    errors: list[RowError]
    usage_rejected: int
    now: datetime
    dry_run: bool
    actor: str
    path: Path


def _write(db, b: _Batch) -> tuple[int, int, int]:
    """Upsert in one transaction; a dry run computes the same counts and rolls back."""
    from desktop_app.services import audit
    from desktop_app.services.accounts import AuthError, require_supervisor

    with db.write() as s:
        if not b.dry_run:
            try:
                require_supervisor(s, b.actor, "导入花名册")
            except AuthError as exc:
                raise RosterError(str(exc)) from None
        before = "" if b.dry_run else audit.roster_digest(s)  # recorded: `audit verify` compares the roster
        ok, existing = _not_taken(s, b)
        inserted, updated = _upsert_persons(s, ok, existing, b)
        if b.usage is not None:
            _replace_usage(s, ok, b)
        if b.dry_run:
            raise _DryRun(inserted, updated, b.usage_rejected)  # rolls the transaction back
        s.flush()
        audit.append(s, b.actor, "roster_import", Path(b.path).name[:64],
                     {"inserted": inserted, "updated": updated, "rejected_rows": len(b.errors)},
                     before=before, after=audit.roster_digest(s))
    return inserted, updated, b.usage_rejected


def _not_taken(s, b: _Batch) -> tuple[list[PersonRow], set[str]]:
    """The valid rows whose ID number does not belong to another person in the database, and the
    人员编号 of those already in it."""
    existing: set[str] = set()
    by_id: dict[str, str] = {}
    for chunk in _chunks([p.psn_no for p in b.good], 500):
        existing.update(s.execute(select(m.Person.psn_no).where(m.Person.psn_no.in_(chunk))).scalars())
    for chunk in _chunks([p.id_no for p in b.good], 500):
        for psn, idn in s.execute(select(m.Person.psn_no, m.Person.id_no).where(m.Person.id_no.in_(chunk))):
            by_id[idn] = psn
    ok: list[PersonRow] = []
    for p in b.good:
        other = by_id.get(p.id_no)
        if other is not None and other != p.psn_no:
            b.errors.append(RowError(PERSON_SHEET, p.row, p.psn_no, "身份证号", f"身份证号已属于数据库中的人员 {other}"))
            continue
        ok.append(p)
    return ok, existing


def _upsert_persons(s, ok: list[PersonRow], existing: set[str], b: _Batch) -> tuple[int, int]:
    """Insert new persons, update known ones. Without a 待遇累计 the known persons keep their snapshot
    date (截至日期) and its import time: their 待遇累计 is not replaced (docs/roster.md)."""
    new_rows, upd_rows, keys, dis = [], [], [], []
    for p in ok:
        rec = dict(psn_no=p.psn_no, id_no=p.id_no, name=p.name, gender=p.gender, birth_date=p.birth_date,
                   insutype=p.insutype, category=p.category, admdvs=p.admdvs, paid_on=p.paid_on,
                   pay_period=p.pay_period, contrib_year=p.contrib_year, waiting_exempt=p.waiting_exempt,
                   family_doctor_at=p.family_doctor_at,
                   acct_balance=p.acct_balance, as_of=p.as_of, updated_at=b.now)
        if p.psn_no in existing:
            if b.usage is None:
                del rec["as_of"], rec["updated_at"]
            upd_rows.append(rec)
        else:
            new_rows.append(rec)
        keys.extend({"psn_no": p.psn_no, "key": k} for k in pinyin_keys(p.name))
        dis.extend({"psn_no": p.psn_no, "disease": d} for d in dict.fromkeys(p.diseases))
    for chunk in _chunks([r["psn_no"] for r in upd_rows], 500):
        s.execute(delete(m.PersonKey).where(m.PersonKey.psn_no.in_(chunk)))
        s.execute(delete(m.PersonDisease).where(m.PersonDisease.psn_no.in_(chunk)))
    # Core executemany (not ORM bulk): an order of magnitude less Python per row
    insert_many(s, m.Person.__table__, new_rows)
    if upd_rows:
        s.execute(update(m.Person), upd_rows)
    insert_many(s, m.PersonKey.__table__, keys)
    insert_many(s, m.PersonDisease.__table__, dis)
    return len(new_rows), len(upd_rows)


def _replace_usage(s, ok: list[PersonRow], b: _Batch) -> None:
    """A 待遇累计 replaces the snapshot of every person of this file and of every person it names that
    is already in the database (whose 截至日期 becomes this file's). A row for anyone else, or for a
    person whose 花名册 row was refused, is a row error."""
    in_file = {p.psn_no for p in ok}
    refused = {e.psn_no for e in b.errors if e.sheet == PERSON_SHEET}
    others = sorted({u.psn_no for u in b.usage} - in_file - refused)
    in_db: set[str] = set()
    for chunk in _chunks(others, 500):
        in_db.update(s.execute(select(m.Person.psn_no).where(m.Person.psn_no.in_(chunk))).scalars())
    dates = {p.as_of for p in ok}
    file_date = next(iter(dates)) if len(dates) == 1 else None
    urows = []
    for u in b.usage:
        reason = _usage_refusal(u.psn_no, in_file, refused, in_db, file_date, len(dates))
        if reason:
            b.usage_rejected += 1
            b.errors.append(RowError(USAGE_SHEET, u.row, u.psn_no, "人员编号", reason))
            continue
        urows.append(dict(psn_no=u.psn_no, year=u.year, benefit=u.benefit, disease=u.disease, quarter=u.quarter,
                          fund_paid=u.fund_paid, item_code=u.item_code, count=u.count))
    moved = sorted({r["psn_no"] for r in urows} - in_file)
    for chunk in _chunks(sorted(in_file | set(moved)), 500):
        s.execute(delete(m.UsageSnapshot).where(m.UsageSnapshot.psn_no.in_(chunk)))
    if moved:
        s.execute(update(m.Person), [{"psn_no": p, "as_of": file_date, "updated_at": b.now} for p in moved])
    insert_many(s, m.UsageSnapshot.__table__, urows)


def _usage_refusal(psn: str, in_file: set, refused: set, in_db: set, file_date: date | None, n_dates: int) -> str:
    if psn in in_file:
        return ""
    if psn in refused:
        return "该人员在花名册中的行未通过校验，其待遇累计未导入（改正花名册行后重新导入）"
    if psn not in in_db:
        return "人员编号不在花名册（本文件的有效行或数据库）中"
    if file_date is None:
        why = "没有有效行" if n_dates == 0 else "中的截至日期不止一个"
        return f"该人员不在本文件的花名册中，而本文件花名册{why}，无法确定其待遇累计的截至日期：请把该人员的行一并放入花名册"
    return ""


def _chunks(seq: list, n: int) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def error_report_path(db: Database, path: Path) -> Path:
    """Where the error report of roster `path` goes: `reports/` beside the database (never beside the
    roster, which may be on a write-protected USB stick)."""
    from desktop_app.services.database import reports_dir

    return reports_dir(db) / f"{Path(path).stem}_错误报告.xlsx"


def _save_report(db: Database, path: Path, errors: list[RowError]) -> tuple[Path | None, str]:
    """The error report, or None and why it could not be written (the counts are reported either way)."""
    out = error_report_path(db, path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return write_error_report(out, errors), ""
    except OSError as exc:
        return None, f"错误报告未能写入 {out.parent}（{exc.strerror or exc}）；出错的行见下"


def write_error_report(out: Path, errors: list[RowError], *, key_label: str = "人员编号") -> Path:
    """The error rows as an .xlsx at `out` (written beside it first, then moved into place)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "错误行"
    ws.append(["工作表", "行号", key_label, "字段", "原因"])
    for c in ws[1]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="FDE9D9")
    for e in errors:
        # cells are written as text; a leading = would otherwise become a formula
        ws.append([e.sheet, e.row, _safe_cell(e.psn_no), e.field, _safe_cell(e.reason)])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDE", (10, 8, 20, 16, 80), strict=True):
        ws.column_dimensions[col].width = width
    tmp = out.with_suffix(".tmp.xlsx")
    if tmp.is_symlink():  # never write through a link planted beside the roster
        tmp.unlink()
    wb.save(tmp)
    tmp.replace(out)  # replaces a link at `out` itself rather than following it
    return out


def _safe_cell(v: str) -> str:
    return "'" + v if v[:1] in ("=", "+", "-", "@") else v


def read_error_report(path: str | Path) -> list[RowError]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb.active
    out = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row and row[0]:
            out.append(RowError(row[0], int(row[1]), row[2] or "", row[3] or "", row[4] or ""))
    wb.close()
    return out
