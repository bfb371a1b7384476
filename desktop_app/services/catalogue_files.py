"""Reading a catalogue or price-list file (.xlsx, or .csv in UTF-8 or GBK) under the roster's hostile-file
guards (`roster_files`: size, symlink, zip bomb, UTF-16, NUL and control characters), and what the
catalogue and the price-list imports share: the header, the formula cells of an .xlsx (refused as row
errors: their cached value is whatever the last program that saved the file computed), the error report.
A file that cannot be read is refused as a whole (`RosterError`); nothing is imported."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.services.roster_files import (
    RosterError,
    _read_csv,
    _read_xlsx,
    check_file,
    header_table,
)
from desktop_app.services.roster_rows import MAX_ROWS, BadCell, RowError, cell_text

# a cell holding a formula: <c r="B7" …><f>…</f> (Excel, openpyxl, LibreOffice all write r= first)
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"[^>]*>(?:<v>[^<]*</v>)?<f[ >/]')
_CHUNK = 8 * 1024 * 1024


@dataclass
class Table:
    """The rows of the file's first sheet (header first), a note on its encoding, and the rows (1-based,
    as the spreadsheet numbers them) whose cells hold a formula → the first such cell (e.g. "C7")."""

    rows: list[list]
    note: str = ""
    formulas: dict[int, str] = field(default_factory=dict)


def _first_sheet_entry(zf: zipfile.ZipFile) -> str | None:
    """The XML entry of the workbook's first sheet (via workbook.xml and its relationships)."""
    names = set(zf.namelist())
    try:
        wb = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rid = re.search(r'<sheet\b[^>]*\br:id="([^"]+)"', wb) or re.search(r'<sheet\b[^>]*\bid="([^"]+)"', wb)
        if rid:
            target = re.search(rf'<Relationship\b[^>]*\bId="{re.escape(rid.group(1))}"[^>]*\bTarget="([^"]+)"', rels) \
                or re.search(rf'<Relationship\b[^>]*\bTarget="([^"]+)"[^>]*\bId="{re.escape(rid.group(1))}"', rels)
            if target:
                t = target.group(1).lstrip("/")
                t = t if t.startswith("xl/") else f"xl/{t}"
                if t in names:
                    return t
    except KeyError:
        pass
    return "xl/worksheets/sheet1.xml" if "xl/worksheets/sheet1.xml" in names else None


def formula_cells(path: Path) -> dict[int, str]:
    """Rows of the first sheet of an .xlsx (already checked against a zip bomb) holding a formula."""
    found: dict[int, str] = {}
    with zipfile.ZipFile(path) as zf:
        entry = _first_sheet_entry(zf)
        if entry is None:
            return found
        with zf.open(entry) as fh:
            tail = b""
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                data = tail + chunk
                if b"<f" in data:
                    for mo in _FORMULA_CELL.finditer(data):
                        found.setdefault(int(mo.group(2)), mo.group(1).decode() + mo.group(2).decode())
                tail = data[-4096:]
    return found


def read_table(path: Path, label: str) -> Table:
    """The first sheet of an .xlsx, or a .csv (UTF-8 or GBK)."""
    check_file(path, label)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        sheets = _read_xlsx(path)  # the zip checks first
        if not sheets:
            raise RosterError(f"{label} Excel 文件中没有工作表")
        table = Table(next(iter(sheets.values())), "", formula_cells(path))
    elif suffix == ".csv":
        rows, note = _read_csv(path)
        table = Table(rows, note)
    else:
        raise RosterError(f"不支持的文件类型“{path.suffix}”：{label}请用 .xlsx 或 .csv（UTF-8 或 GBK）")
    if len(table.rows) > MAX_ROWS:
        raise RosterError(f"{label}行数超过 {MAX_ROWS}")
    return table


def _blank(raw) -> bool:
    if raw is None:
        return True
    for c in raw:  # (a cell with text: not blank, without normalising every cell)
        if c is None or c == "" or (isinstance(c, str) and cell_text(c) == ""):
            continue
        return False
    return True


def check_rows(table: Table, required: tuple[str, ...], known: tuple[str, ...], label: str, key: str,
               parse: Callable, errors: list[RowError], progress: Callable[[int, int], None] | None) -> tuple[list, int]:
    """Every data row parsed by `parse(cells, rownum)`; bad rows (and formula rows) become `errors`."""
    idx, data = header_table(table.rows, required, known, label)
    good = []
    total = 0
    step = max(1, len(data) // 50)
    for i, raw in enumerate(data):
        rownum = i + 2
        if progress and i % step == 0:
            progress(i, len(data))
        if _blank(raw):
            continue
        total += 1
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in idx.items()}
        where = table.formulas.get(rownum)
        try:
            if where is not None:
                raise BadCell("", f"单元格 {where} 是公式，已拒绝（公式的值由上次保存它的程序算出，不可靠）：请复制后“粘贴为数值”")
            good.append(parse(cells, rownum))
        except BadCell as b:
            errors.append(RowError(label, rownum, cell_text(cells.get(key))[:50], b.field, b.reason))
    return good, total


def save_error_report(db, path: Path, errors: list[RowError], key_label: str) -> tuple[str | None, str]:
    """The error report in `reports/` beside the database, or None and why it could not be written."""
    from desktop_app.services.roster import error_report_path, write_error_report

    out = error_report_path(db, path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return str(write_error_report(out, errors, key_label=key_label)), ""
    except OSError as exc:
        return None, f"错误报告未能写入 {out.parent}（{exc.strerror or exc}）；出错的行见下"
