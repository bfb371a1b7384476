"""Reading roster files: `.xlsx`/`.xlsm`/`.ods` (a zip, checked against a zip bomb before
python-calamine opens it), old `.xls`, and `.csv` (UTF-8 or GBK); size, symlink and header checks.
A file that cannot be read is refused as a whole (`RosterError`): nothing is imported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from desktop_app.core.safezip import (
    NotAZip,
    ZipLimits,
    ZipRefused,
    open_zip_checked,
    read_zip_entry,
)
from desktop_app.errors import Refused
from desktop_app.services.roster_rows import CONTROL, MAX_ROWS, USAGE_SHEET, cell_text


class RosterError(Refused):
    """The file as a whole cannot be read (not the rows): nothing was imported."""

    def __init__(self, message: str, field: str = "file", code: str = "invalid_input"):
        super().__init__(message, field=field, code=code)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
# Roster .xlsx zip-bomb guard. Measured (2026-11, python-calamine 0.9 era): a 100 000-row
# roster written by openpyxl (inline strings, the most verbose writer) is a 9.8 MB file
# with 104 MB of XML in 10 entries — 870 bytes of XML per person row; sheets compress
# 10.2:1 (花名册) and 12.9:1 (待遇累计), 10.6:1 overall. The same rows the way Excel
# writes them (shared strings, dates as numbers) compress 8.8:1; the worst genuine case
# found, a sheet with a million empty formatted rows, 28:1. A deflate bomb reaches
# ~1000:1. So: ratio 200:1 per entry (7× the worst genuine case); 4 GiB of XML in all,
# 2.3× what a MAX_ROWS (2 million) roster of the verbose kind needs; 10 000 entries
# (real workbooks hold 10–50); 2 GiB for one entry. The files are inflated here, in
# chunks, before calamine sees them, so a lying directory cannot get past.
XLSX_LIMITS = ZipLimits(max_entries=10_000, max_total=4 * 1024 ** 3, max_ratio=200, max_entry=2 * 1024 ** 3)
# A 100 000-row roster is ~10 MB as .xlsx or .csv; a 2-million-row one ~200 MB.
MAX_FILE_BYTES = 512 * 1024 * 1024
_ZIP_FORMATS = (".xlsx", ".xlsm", ".ods")  # zip containers; .xls is the old binary format


def check_file(path: Path, what: str) -> None:
    """Refuse a missing, symlinked or oversized roster file before anything reads it."""
    if path.is_symlink():
        raise RosterError(f"{what}文件 {path.name} 是符号链接，已拒绝：请直接选择文件本身")
    if not path.is_file():
        raise RosterError(f"找不到{what}文件：{path}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RosterError(f"{what}文件 {path.name} 过大（{size // (1024 * 1024)} MB，"
                          f"上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）")


def _check_xlsx_archive(path: Path) -> None:
    """An .xlsx is a zip: check its directory and inflate every entry (counting the bytes
    actually produced) within XLSX_LIMITS before calamine opens it."""
    with path.open("rb") as head:
        magic = head.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterError(f"{path.name} 是旧版 Excel（.xls）或加密的工作簿，不是 {path.suffix} 文件："
                          "请在 Excel 中另存为 .xlsx（不加密码）")
    try:
        with open_zip_checked(path, XLSX_LIMITS) as zf, path.open("rb") as fh:
            done = 0
            for info in zf.infolist():
                read_zip_entry(fh, info, XLSX_LIMITS, done, keep=False)
                done += info.file_size  # equal to the bytes inflated, or it was refused
    except NotAZip:
        raise RosterError(f"{path.name} 不是有效的 Excel 文件（可能是改了扩展名的其他文件，或文件不完整）") from None
    except ZipRefused as exc:
        where = f"{path.name} 中的 {exc.entry}" if exc.entry else path.name
        raise RosterError(f"{where}：{exc.message}") from None
    except OSError as exc:
        raise RosterError(f"无法读取 {path.name}：{exc.strerror or exc}") from None


def _read_xlsx(path: Path) -> dict[str, list[list]]:
    """The sheets of an .xlsx/.xlsm/.ods (a zip: checked first) or an old .xls (BIFF in an OLE container). The
    content decides, not the name: a zip named .xls goes through the zip checks too."""
    with path.open("rb") as head:
        magic = head.read(8)
    is_zip = magic.startswith(b"PK\x03\x04")
    if path.suffix.lower() in _ZIP_FORMATS or is_zip:
        _check_xlsx_archive(path)
    elif not magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterError(f"{path.name} 不是有效的 Excel 文件（可能是改了扩展名的其他文件，或文件不完整）")
    try:
        from python_calamine import CalamineWorkbook

        if (path.suffix.lower() in _ZIP_FORMATS) == is_zip:
            wb = CalamineWorkbook.from_path(str(path))
        else:  # calamine picks the reader by the name; by the content, then
            with path.open("rb") as fh:
                wb = CalamineWorkbook.from_filelike(fh)
        out = {}
        for name in wb.sheet_names:
            out[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return out
    except Exception as exc:  # calamine raises its own error types for broken files
        raise RosterError(f"无法读取 Excel 文件 {path.name}：{exc}") from None


def _read_csv(path: Path) -> tuple[list[list], str]:
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise RosterError(f"{path.name} 是 UTF-16 编码（Excel 的“Unicode 文本”）：请另存为“CSV UTF-8”")
    if b"\x00" in data:
        raise RosterError(f"{path.name} 含二进制内容（NUL 字节），不是文本文件：请导出为 .csv 或 .xlsx")
    note = ""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
            note = "文件为 GBK/GB18030 编码，已按该编码读取"
        except UnicodeDecodeError:
            raise RosterError(f"{path.name} 既不是 UTF-8 也不是 GBK 编码，无法读取") from None
    text = text.rstrip("\x1a")  # an old DOS end-of-file mark
    bad = CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise RosterError(f"{path.name} 第 {line} 行含控制字符（0x{ord(bad.group()):02X}），不像文本文件，已拒绝")
    return [row for row in csv.reader(io.StringIO(text, newline=""))], note


def header_table(rows: list[list], required: tuple[str, ...], known: tuple[str, ...], label: str):
    if not rows:
        raise RosterError(f"{label}为空，缺少表头")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise RosterError(f"{label}缺少列：{'、'.join(missing)}（表头应为：{'、'.join(known)}）")
    idx = {h: i for i, h in enumerate(header) if h in known}
    return idx, rows[1:]


def read_sheets(path: Path, usage_path: Path | None) -> tuple[list[list], list[list] | None, str]:
    """The 花名册 rows, the 待遇累计 rows (None: the file has no such sheet and no --usage was given),
    and a note about the encoding."""
    note = ""
    usage_rows: list[list] | None = None
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        sheets = _read_xlsx(path)
        names = list(sheets)
        if not names:
            raise RosterError("Excel 文件中没有工作表")
        person_rows = sheets[names[0]]
        if USAGE_SHEET in sheets and names[0] != USAGE_SHEET:
            usage_rows = sheets[USAGE_SHEET]
        elif len(names) > 1:
            usage_rows = sheets[names[1]]
    elif suffix in (".csv", ".txt"):
        person_rows, note = _read_csv(path)
    else:
        raise RosterError(f"不支持的文件类型 {path.suffix}：请用 .xlsx、.xls 或 .csv")
    if usage_path is not None:
        if usage_path.suffix.lower() == ".csv":
            usage_rows, _n = _read_csv(usage_path)
        else:
            us = _read_xlsx(usage_path)
            usage_rows = us.get(USAGE_SHEET) or next(iter(us.values()))
    if len(person_rows) > MAX_ROWS:
        raise RosterError(f"花名册行数超过 {MAX_ROWS}")
    if usage_rows is not None and not any(r and any(cell_text(c) for c in r) for r in usage_rows):
        usage_rows = None  # an empty sheet (Excel's Sheet2) is no 待遇累计
    return person_rows, usage_rows, note
