"""A streaming writer for one large, plainly formatted sheet (the per-settlement detail).

Why not openpyxl here: a month of 30,000 settlements is 840,000 cells, and
openpyxl (or XlsxWriter) spends 6–15 µs per cell on a clinic-class CPU — over
the 10 s budget for the monthly export (measured, docs/benchmarks.md). This
writer emits SpreadsheetML directly at well under 1 µs per cell. It writes just
what the detail sheets need: a title row, a styled header row, text and
two-decimal number cells, a `=SUM()` totals row, frozen panes, column widths,
A4 landscape print setup with repeated header rows. openpyxl still writes the
formatted summary workbooks and reads everything back in the tests.
The output is deterministic (fixed document and zip timestamps). Every value that is not a number is
written as an inline string, never as a formula — text a user typed (`=cmd|…`) stays text; the only
formulas are the totals row's `SUM()`s (tests/attacks/test_edges_xlsx.py).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

_COL = [""]


def col_letter(i: int) -> str:
    """1 → A, 27 → AA."""
    while len(_COL) <= i:
        n, s = len(_COL), ""
        while n:
            n, r = divmod(n - 1, 26)
            s = chr(65 + r) + s
        _COL.append(s)
    return _COL[i]


_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="#,##0.00"/></numFmts>
<fonts count="3"><font><sz val="11"/><name val="等线"/></font><font><b/><sz val="11"/><name val="等线"/></font>\
<font><b/><sz val="14"/><name val="等线"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill></fills>
<borders count="2"><border/><border><left style="thin"><color rgb="FF999999"/></left><right style="thin">\
<color rgb="FF999999"/></right><top style="thin"><color rgb="FF999999"/></top><bottom style="thin">\
<color rgb="FF999999"/></bottom></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="6">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" \
applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
MONEY, HEADER, TITLE, BOLD_MONEY, BOLD = 1, 2, 3, 4, 5


def _cell(ref: str, v, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if v is None or v == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(v, Decimal | int) and not isinstance(v, bool):
        return f'<c r="{ref}"{s}><v>{v}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


def write_detail(path: str | Path, *, sheet: str, title: str, headers: Sequence[str], widths: Sequence[float],
                 rows: Iterable[Sequence], money_from: int, totals_label: str = "合计",
                 freeze: tuple[int, int] = (3, 2)) -> Path:
    """One sheet: row 1 title, row 2 headers, data from row 3, a totals row of SUM formulas.

    `money_from` is the 1-based first column holding money (formatted #,##0.00 and summed).
    `freeze` is the (row, column) of the first unfrozen cell.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data, last_row = _sheet_data(title, headers, rows, money_from, totals_label)
    sheet_xml = _sheet_xml(data, f"A1:{col_letter(len(headers))}{last_row}", widths, freeze)
    _write_package(path, _package_files(sheet, title, sheet_xml))
    return path


def _sheet_data(title: str, headers: Sequence[str], rows: Iterable[Sequence], money_from: int,
                totals_label: str) -> tuple[str, int]:
    """The <sheetData> rows (title, headers, data, totals) and the number of the last row."""
    ncol = len(headers)
    parts: list[str] = []
    parts.append(f'<row r="1">{_cell("A1", title, TITLE)}</row>')
    parts.append('<row r="2">' + "".join(_cell(f"{col_letter(i + 1)}2", h, HEADER) for i, h in enumerate(headers))
                 + "</row>")
    r = 2
    letters = [col_letter(i + 1) for i in range(ncol)]
    for row in rows:
        r += 1
        cells = []
        for i, v in enumerate(row):
            cells.append(_cell(f"{letters[i]}{r}", v, MONEY if i + 1 >= money_from else 0))
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    t = r + 1
    tot = [_cell(f"A{t}", totals_label, BOLD)]
    for i in range(money_from, ncol + 1):
        c = col_letter(i)
        tot.append(f'<c r="{c}{t}" s="{BOLD_MONEY}"><f>SUM({c}3:{c}{max(r, 3)})</f></c>')
    parts.append(f'<row r="{t}">{"".join(tot)}</row>')
    return "".join(parts), t


def _sheet_xml(data: str, dimension: str, widths: Sequence[float], freeze: tuple[int, int]) -> str:
    fr, fc = freeze
    top_left = f"{col_letter(fc)}{fr}"
    pane = (f'<pane xSplit="{fc - 1}" ySplit="{fr - 1}" topLeftCell="{top_left}" activePane="bottomRight" '
            f'state="frozen"/><selection pane="bottomRight" activeCell="{top_left}" sqref="{top_left}"/>')
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="{dimension}"/>'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols><sheetData>{data}</sheetData>"
        '<printOptions horizontalCentered="1"/>'
        '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        '<headerFooter><oddFooter>&amp;C第 &amp;P 页 / 共 &amp;N 页</oddFooter></headerFooter>'
        "</worksheet>"
    )


def _package_files(sheet: str, title: str, sheet_xml: str) -> dict[str, str]:
    """Every part of the one-sheet package (fixed document times: the same rows give the same bytes)."""
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets>'
        f'<definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">\'{escape(sheet)}\'!$2:$2'
        "</definedName></definedNames></workbook>"
    )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'extended-properties" Target="docProps/app.xml"/></Relationships>'),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>ClinicSettle</dc:creator>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
            '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
            "</cp:coreProperties>"),
        "docProps/app.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>ClinicSettle</Application></Properties>"),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
        "xl/worksheets/sheet1.xml": sheet_xml,
    }


def _write_package(path: Path, files: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, text in files.items():
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zf.writestr(zi, text.encode("utf-8"))
    tmp.replace(path)
