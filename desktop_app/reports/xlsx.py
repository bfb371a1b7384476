"""Excel reports a finance clerk expects: 日结单, monthly summary, settlement detail.

Chinese headers, a frozen header row, two-decimal number formats, column widths,
a totals row, landscape A4 print setup fitted to the page width. Sums are taken
from the database in integer fen, so the sheet equals the ledger to the fen.
Workbooks are written with fixed timestamps so the same data gives the same file.

This module only renders the rows it is given; services/reporting.py reads them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from desktop_app.core.model import MONEY_FIELDS, MONEY_SHORT, benefit_label, insutype_label

NUM = "#,##0.00"
FIXED_TIME = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Row:
    setl_no: str
    kind: str
    original: str
    created_at: datetime
    business_date: date
    visit_date: date
    psn_no: str
    name: str
    insutype: str
    benefit: str
    disease: str
    institution: str
    operator: str
    reason: str
    amounts: dict[str, Decimal]
    packs: str
    pack_refs: tuple = ()  # the packs as stored ({id, version, content_hash}), for the export
    ratio: str = ""  # pool_prop_selfpay, for the export


@dataclass(frozen=True)
class CloseStamp:
    """A day's close as the 日结单 heads it (None where the day is still open)."""

    closed_at: datetime
    operator: str


def append_text(ws, values: Sequence) -> None:
    """`ws.append(values)`, with every string written as text: openpyxl turns a string that starts with `=`
    into a formula, so a reversal reason or a clinic name typed as `=cmd|' /C calc'!A0` would be a live
    formula in the file. Only our own totals (`_totals_row`) are formulas."""
    ws.append(list(values))
    for cell, v in zip(ws[ws.max_row], values, strict=False):
        if isinstance(v, str) and cell.data_type == "f":
            cell.data_type = "s"


def _style_header(ws, row: int, ncols: int) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    for c in range(1, ncols + 1):
        cell = ws.cell(row=row, column=c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)


def _print_setup(ws, title_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"


def _widths(ws, widths: Sequence[float]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _totals_row(ws, row: int, first_money_col: int, ncols: int, label_col: int = 1, label: str = "合计") -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws.cell(row=row, column=label_col, value=label).font = Font(bold=True)
    for c in range(first_money_col, ncols + 1):
        col = get_column_letter(c)
        cell = ws.cell(row=row, column=c, value=f"=SUM({col}{ws._first_data_row}:{col}{row - 1})")
        cell.number_format = NUM
        cell.font = Font(bold=True)


def save_workbook(wb, path: Path) -> Path:
    """Save with fixed document and zip timestamps, so equal data gives an identical file."""
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "ClinicSettle"
    wb.properties.lastModifiedBy = "ClinicSettle"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    fixed = path.with_name(path.name + ".fix")
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                data = re.sub(rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*(</dcterms:(?:modified|created)>)",
                              rb"\g<1>2000-01-01T00:00:00Z\2", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, data)
    tmp.unlink()
    fixed.replace(path)
    return path


DETAIL_HEADERS = ["结算单号", "类型", "原结算单号", "结算时间", "营业日", "就诊日期", "人员编号", "姓名", "险种",
                  "待遇类别", "病种", "机构", "操作员", "冲正原因", *[MONEY_SHORT[f] for f in MONEY_FIELDS]]
DETAIL_WIDTHS = [26, 6, 26, 19, 11, 11, 16, 10, 20, 14, 8, 14, 8, 14, *[12] * len(MONEY_FIELDS)]
DETAIL_FIRST_MONEY = 15


def detail_values(r: Row) -> list:
    return [r.setl_no, "冲正" if r.kind == "reverse" else "结算", r.original,
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.business_date.isoformat(), r.visit_date.isoformat(),
            r.psn_no, r.name, insutype_label(r.insutype), benefit_label(r.benefit),
            r.disease, r.institution, r.operator, r.reason, *[r.amounts[f] for f in MONEY_FIELDS]]


def write_detail_file(path: Path, sheet: str, title: str, rows: list[Row]) -> Path:
    """A one-sheet detail workbook through the streaming writer (fast for a month of rows)."""
    from desktop_app.reports.fastxlsx import write_detail

    return write_detail(path, sheet=sheet, title=title, headers=DETAIL_HEADERS, widths=DETAIL_WIDTHS,
                        rows=(detail_values(r) for r in rows), money_from=DETAIL_FIRST_MONEY, freeze=(3, 2))


def _detail_sheet(ws, rows: list[Row], title: str) -> None:
    """The same detail as a sheet of an openpyxl workbook (small: a day's rows)."""
    from openpyxl.styles import Font

    append_text(ws, [title])
    ws["A1"].font = Font(bold=True, size=14)
    append_text(ws, DETAIL_HEADERS)
    _style_header(ws, 2, len(DETAIL_HEADERS))
    ws._first_data_row = 3
    for r in rows:
        append_text(ws, detail_values(r))
    for row in ws.iter_rows(min_row=3, min_col=DETAIL_FIRST_MONEY, max_col=len(DETAIL_HEADERS)):
        for c in row:
            c.number_format = NUM
    _totals_row(ws, ws.max_row + 1, DETAIL_FIRST_MONEY, len(DETAIL_HEADERS))
    ws.freeze_panes = "B3"
    _widths(ws, DETAIL_WIDTHS)
    _print_setup(ws, "2:2")


def detail_xlsx(path: Path, rows: list[Row], clinic_name: str, start: date, end: date) -> Path:
    """结算明细: one row per settlement and reversal in the date range."""
    return write_detail_file(Path(path), "结算明细", f"{clinic_name} 结算明细 {start} 至 {end}", rows)


def _group_sheet(ws, title: str, key_labels: list[str], groups: dict[tuple, dict], counts: dict[tuple, int]) -> None:
    from openpyxl.styles import Font

    headers = [*key_labels, "笔数", *[MONEY_SHORT[f] for f in MONEY_FIELDS]]
    append_text(ws, [title])
    ws["A1"].font = Font(bold=True, size=14)
    append_text(ws, headers)
    _style_header(ws, 2, len(headers))
    ws._first_data_row = 3
    for k in sorted(groups):
        append_text(ws, [*k, counts[k], *[groups[k][f] for f in MONEY_FIELDS]])
    first_money = len(key_labels) + 1
    for row in ws.iter_rows(min_row=3, min_col=first_money + 1, max_col=len(headers)):
        for c in row:
            c.number_format = NUM
    _totals_row(ws, ws.max_row + 1, first_money, len(headers))
    ws.freeze_panes = ws.cell(row=3, column=len(key_labels) + 1).coordinate
    _widths(ws, [20] * len(key_labels) + [8] + [12] * len(MONEY_FIELDS))
    _print_setup(ws, "2:2")


def _group(rows: list[Row], key) -> tuple[dict, dict]:
    groups: dict[tuple, dict] = {}
    counts: dict[tuple, int] = {}
    for r in rows:
        k = key(r)
        g = groups.get(k)
        if g is None:  # (not setdefault: its default would be built for every row)
            g = groups[k] = {f: Decimal("0.00") for f in MONEY_FIELDS}
        counts[k] = counts.get(k, 0) + 1
        for f in MONEY_FIELDS:
            g[f] += r.amounts[f]
    return groups, counts


def _sources_sheet(ws, rows: list[Row], title: str) -> None:
    """By payment source: who paid how much."""
    from openpyxl.styles import Font

    append_text(ws, [title])
    ws["A1"].font = Font(bold=True, size=14)
    append_text(ws, ["支付来源", "金额"])
    _style_header(ws, 2, 2)
    ws._first_data_row = 3
    for f in ("hifp_pay", "hifmi_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        append_text(ws, [MONEY_SHORT[f], sum((r.amounts[f] for r in rows), Decimal("0.00"))])
    for c in ws["B"][2:]:
        c.number_format = NUM
    _totals_row(ws, ws.max_row + 1, 2, 2)
    _widths(ws, [18, 16])
    ws.freeze_panes = "A3"
    _print_setup(ws, "2:2")


def day_report_xlsx(path: Path, rows: list[Row], clinic_name: str, day: date, closed: CloseStamp | None,
                    anchor: str = "") -> Path:
    """日结单: counts and sums by 险种 × benefit, by payment source, reversals listed; `anchor` is the audit
    trail's head when it was made (printed in the title, docs/security.md)."""
    from openpyxl import Workbook

    state = f"已日结（{closed.closed_at:%Y-%m-%d %H:%M}，{closed.operator}）" if closed else "未日结"
    wb = Workbook()
    ws = wb.active
    ws.title = "日结单"
    groups, counts = _group(rows, lambda r: (insutype_label(r.insutype), benefit_label(r.benefit)))
    title = f"{clinic_name} 日结单 {day} {state}" + (f"　审计锚点 {anchor}" if anchor else "")
    _group_sheet(ws, title, ["险种", "待遇类别"], groups, counts)
    _sources_sheet(wb.create_sheet("支付来源"), rows, f"{day} 按支付来源")
    rev = wb.create_sheet("冲正")
    _detail_sheet(rev, [r for r in rows if r.kind == "reverse"], f"{day} 冲正记录")
    det = wb.create_sheet("明细")
    _detail_sheet(det, rows, f"{day} 结算明细")
    return save_workbook(wb, Path(path))


def month_report_xlsx(path: Path, rows: list[Row], clinic_name: str, year: int, month: int) -> Path:
    """月度汇总: by 险种 × benefit, by day, by payment source."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "按险种待遇"
    groups, counts = _group(rows, lambda r: (insutype_label(r.insutype), benefit_label(r.benefit)))
    _group_sheet(ws, f"{clinic_name} {year}年{month}月 汇总", ["险种", "待遇类别"], groups, counts)
    byday, dcounts = _group(rows, lambda r: (r.business_date.isoformat(),))
    _group_sheet(wb.create_sheet("按日"), f"{year}年{month}月 按营业日", ["营业日"], byday, dcounts)
    _sources_sheet(wb.create_sheet("按基金"), rows, f"{year}年{month}月 按支付来源")
    return save_workbook(wb, Path(path))


def read_totals(path: str | Path, sheet: str, label: str = "合计") -> dict[str, Decimal]:
    """Read a report's totals row back (the SUM formulas evaluated from the data rows)."""
    from openpyxl import load_workbook

    ws = load_workbook(path)[sheet]
    headers = [c.value for c in ws[2]]
    data = list(ws.iter_rows(min_row=3, values_only=True))
    body = [r for r in data if r and r[0] != label]
    out = {}
    for f, lbl in MONEY_SHORT.items():
        if lbl in headers:
            i = headers.index(lbl)
            out[f] = sum((Decimal(str(r[i])) for r in body if r[i] is not None), Decimal("0.00"))
    return out
