"""Roster import (花名册): `.xlsx` (python-calamine) or `.csv`, every row validated.

Good rows are upserted in one transaction (re-importing updates persons and
their usage snapshot and never touches local settlements); bad rows go to an
error report `.xlsx` beside the input with the row number and the reason.
The format is documented in `docs/roster.md`.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select, update

from desktop_app.core.model import BENEFITS
from desktop_app.core.money import CommaInNumber, decimals, parse_decimal
from desktop_app.core.safezip import (
    NotAZip,
    ZipLimits,
    ZipRefused,
    open_zip_checked,
    read_zip_entry,
)
from desktop_app.errors import Refused
from desktop_app.privacy import mask_id
from desktop_app.store import models as m
from desktop_app.store.db import Database

PERSON_COLUMNS = ("人员编号", "身份证号", "姓名", "性别", "出生日期", "险种类型", "人员类别", "参保地区划",
                  "缴费日期", "缴费期", "免等待期", "家庭医生签约机构", "登记病种", "个人账户余额", "截至日期")
PERSON_REQUIRED = ("人员编号", "身份证号", "姓名", "性别", "出生日期", "险种类型", "人员类别", "参保地区划", "截至日期")
USAGE_COLUMNS = ("人员编号", "年度", "待遇类型", "病种", "季度", "统筹已支付", "项目编码", "次数")
USAGE_REQUIRED = ("人员编号", "年度", "待遇类型")
USAGE_SHEET = "待遇累计"
PERSON_SHEET = "花名册"

CATEGORY_CODES = {"在职": "employee_active", "退休": "employee_retired", "城乡居民": "resident", "大学生": "student"}
BENEFIT_CODES = {**{v: k for k, v in BENEFITS.items()}, **{k: k for k in BENEFITS},
                 "普通门诊": "general_outpatient", "两病": "two_diseases", "生育": "maternity_delivery",
                 "辅助生殖": "assisted_reproduction"}
# Full-width letters and digits → ASCII; the other spaces (no-break, thin, ideographic…) → a plain
# space; invisible characters (zero-width space/joiners, word joiner, BOM, soft hyphen) are removed —
# a name that looks like 张三 is stored as 张三 (docs/roster.md).
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f"
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＹＺ，、．－／　" + _SPACES,
                           "0123456789XxABCDEFGHIJKLMNOPQRSTUVWYZ,,.-/ " + " " * len(_SPACES), INVISIBLE)
_PSN = re.compile(r"^[0-9A-Za-z]{1,32}$")
_ADMDVS = re.compile(r"^\d{6}$")
MAX_ROWS = 2_000_000
MONEY_LIMIT = Decimal("1000000000")  # yuan; far inside what integer fen hold


class RosterError(Refused):
    """The file as a whole cannot be read (not the rows): nothing was imported."""

    def __init__(self, message: str, field: str = "file", code: str = "invalid_input"):
        super().__init__(message, field=field, code=code)


@dataclass
class RowError:
    sheet: str
    row: int
    psn_no: str
    field: str
    reason: str


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


def _check_file(path: Path, what: str) -> None:
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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise RosterError(f"{path.name} 第 {line} 行含控制字符（0x{ord(bad.group()):02X}），不像文本文件，已拒绝")
    return [row for row in csv.reader(io.StringIO(text, newline=""))], note


def _table(rows: list[list], required: tuple[str, ...], known: tuple[str, ...], label: str):
    if not rows:
        raise RosterError(f"{label}为空，缺少表头")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise RosterError(f"{label}缺少列：{'、'.join(missing)}（表头应为：{'、'.join(known)}）")
    idx = {h: i for i, h in enumerate(header) if h in known}
    return idx, rows[1:]


# ---------------------------------------------------------------------------
# Cell normalisation and checks
# ---------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return (v if v.isascii() else v.translate(_FULLWIDTH)).strip()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).translate(_FULLWIDTH).strip()


def _plain(v, field: str) -> str:
    """A free-text cell: refused when it looks like a spreadsheet formula (= + - @ first) or holds
    control characters — no name or code starts that way, and the text would be live in any
    spreadsheet it is later exported to. Never evaluated either way."""
    s = _text(v)
    if s[:1] in ("=", "+", "-", "@"):
        raise _Bad(field, f"{field}“{s[:20]}”以 = + - @ 开头，像电子表格公式，已拒绝")
    if _CONTROL.search(s) or "\t" in s or "\n" in s or "\r" in s:
        raise _Bad(field, f"{field}含控制字符（换行、制表符等），已拒绝")
    return s


def _id_number(v) -> str:
    if isinstance(v, float | int) and not isinstance(v, bool):
        raise _Bad("身份证号", "身份证号被 Excel 存成了数字，后几位已丢失精度；请把该列设为“文本”后重新导出")
    s = re.sub(r"\s+", "", _text(v)).upper()
    if re.match(r"^\d(\.\d+)?E\+?\d+$", s):
        raise _Bad("身份证号", "身份证号是科学计数法（如 1.4E+17），精度已丢失；请把该列设为“文本”后重新导出")
    if not s:
        raise _Bad("身份证号", "身份证号为空")
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

    try:
        return validate_ric(s)
    except InvalidChecksum:
        raise _Bad("身份证号", f"身份证号 {mask_id(s)} 校验位错误") from None
    except InvalidComponent as exc:
        if str(exc) == "place":
            raise _Bad("身份证号", f"身份证号 {mask_id(s)} 的前6位不是出生当年有效的行政区划代码") from None
        raise _Bad("身份证号", f"身份证号 {mask_id(s)} 中的出生日期不存在") from None
    except (InvalidLength, InvalidFormat):
        raise _Bad("身份证号", f"身份证号须为18位（末位可为X），收到 {len(s)} 位") from None


_PLACE_CACHE: dict[tuple[str, int], bool] = {}


def _place_valid(place: str, year: int, sample: str) -> bool:
    """Whether region code `place` existed in `year` (stdnum's number database), cached."""
    key = (place, year)
    hit = _PLACE_CACHE.get(key)
    if hit is None:
        from stdnum.cn import ric
        from stdnum.exceptions import InvalidComponent

        try:
            ric.get_birth_place(sample)
            hit = True
        except InvalidComponent:
            hit = False
        if len(_PLACE_CACHE) < 200_000:
            _PLACE_CACHE[key] = hit
    return hit


def validate_ric(number: str) -> str:
    """python-stdnum `cn.ric` validation (length, format, check digit, birth date, birth place),
    with the birth-place lookup (~0.4 ms in stdnum's number database) cached per region and year."""
    from stdnum.cn import ric
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

    number = number.replace(" ", "").replace("-", "").strip().upper()  # callers pass normalised text
    if len(number) != 18:
        raise InvalidLength()
    if not number[:-1].isdigit() or not number[:-1].isascii():
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidComponent() from None  # a birth date that does not exist
    if not _place_valid(number[:6], birth.year, number):
        raise InvalidComponent("place")
    return number


def _date(v, field: str, *, required: bool) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = _text(v)
    if not s:
        if required:
            raise _Bad(field, f"{field}为空")
        return None
    if len(s) == 10 and s[4] == "-" and s[7] == "-":
        try:
            return date.fromisoformat(s)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise _Bad(field, f"{field}“{s}”不是有效日期（应如 2024-01-31）")


def _money(v, field: str) -> Decimal:
    if isinstance(v, float):
        v = repr(v)  # calamine gives numbers as float; repr is the shortest exact text
    s = _text(v)
    if not s:
        return Decimal("0.00")
    try:
        d = parse_decimal(s)
    except CommaInNumber:
        raise _Bad(field, f"{field}“{s[:20]}”含逗号：小数点请用“.”，也不要用千位分隔符（如 1250.00）") from None
    except ValueError:
        raise _Bad(field, f"{field}“{s[:20]}”不是数字") from None
    if d < 0:
        raise _Bad(field, f"{field}不能为负数")
    if decimals(d) > 2:
        raise _Bad(field, f"{field}最多两位小数")
    if d >= MONEY_LIMIT:
        raise _Bad(field, f"{field}数值过大（须小于 {MONEY_LIMIT:f} 元）")
    return d


def _yes_no(v, field: str) -> bool:
    s = _text(v)
    if s in ("", "否", "N", "n", "0", "False", "false"):
        return False
    if s in ("是", "Y", "y", "1", "True", "true"):
        return True
    raise _Bad(field, f"{field}须为“是”或“否”")


@dataclass
class _PersonRow:
    row: int
    psn_no: str
    id_no: str
    name: str
    gender: str
    birth_date: date
    insutype: str
    category: str
    admdvs: str
    paid_on: date | None
    pay_period: str
    waiting_exempt: bool
    family_doctor_at: str
    diseases: list[str]
    acct_balance: Decimal
    as_of: date


def _name_gender_birth(cells: dict, id_no: str) -> tuple[str, str, date]:
    """姓名, 性别 and 出生日期, the last two checked against the ID number."""
    name = _plain(cells.get("姓名"), "姓名")
    if not name:
        raise _Bad("姓名", "姓名为空")
    if len(name) > 30:
        raise _Bad("姓名", "姓名过长（最多 30 个字）")
    gender = _text(cells.get("性别"))
    if gender not in ("男", "女"):
        raise _Bad("性别", f"性别须为“男”或“女”，收到“{gender}”")
    id_gender = "男" if int(id_no[16]) % 2 == 1 else "女"
    if gender != id_gender:
        raise _Bad("性别", f"性别“{gender}”与身份证号（第17位表示{id_gender}）不一致")
    birth = _date(cells.get("出生日期"), "出生日期", required=True)
    id_birth = date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
    if birth != id_birth:
        raise _Bad("出生日期", f"出生日期 {birth} 与身份证号中的 {id_birth} 不一致")
    return name, gender, birth


def _person(cells: dict, row: int, known_diseases: set[str], today: date) -> _PersonRow:
    psn_no = _text(cells.get("人员编号"))
    if not _PSN.match(psn_no):
        raise _Bad("人员编号", "人员编号为空或含非法字符（只允许字母和数字，最多32位）")
    id_no = _id_number(cells.get("身份证号"))
    name, gender, birth = _name_gender_birth(cells, id_no)
    insutype = _text(cells.get("险种类型"))
    if insutype not in ("310", "390"):
        raise _Bad("险种类型", f"险种类型须为 310（职工）或 390（城乡居民），收到“{insutype}”")
    cat_label = _text(cells.get("人员类别"))
    category = CATEGORY_CODES.get(cat_label)
    if category is None:
        raise _Bad("人员类别", f"人员类别须为 {'/'.join(CATEGORY_CODES)}，收到“{cat_label}”")
    if (insutype == "310") != category.startswith("employee"):
        raise _Bad("人员类别", f"人员类别“{cat_label}”与险种类型 {insutype} 不一致")
    admdvs = _text(cells.get("参保地区划"))
    if not _ADMDVS.match(admdvs):
        raise _Bad("参保地区划", f"参保地区划须为6位数字，收到“{admdvs}”")
    paid_on = _date(cells.get("缴费日期"), "缴费日期", required=False)
    period = _text(cells.get("缴费期"))
    if period not in ("", "集中", "延长"):
        raise _Bad("缴费期", f"缴费期须为“集中”或“延长”，收到“{period}”")
    if period == "延长" and paid_on is None:
        raise _Bad("缴费日期", "缴费期为“延长”时须填缴费日期（用于计算待遇等待期）")
    exempt = _yes_no(cells.get("免等待期"), "免等待期")
    fd = _plain(cells.get("家庭医生签约机构"), "家庭医生签约机构")
    if len(fd) > 32:
        raise _Bad("家庭医生签约机构", "机构编码过长")
    diseases = [d.strip() for d in _text(cells.get("登记病种")).split(",") if d.strip()]
    for d in diseases:
        if d not in known_diseases:
            raise _Bad("登记病种", f"病种编码 {d} 不在已同步的政策包病种目录中")
    balance = _money(cells.get("个人账户余额"), "个人账户余额")
    as_of = _date(cells.get("截至日期"), "截至日期", required=True)
    if as_of > today:
        raise _Bad("截至日期", f"截至日期 {as_of} 晚于今天（{today}）：中心的数据不能截至未来的日期（否则本机构此后的结算"
                           "不计入年度限额），请核对后重新导出")
    return _PersonRow(row, psn_no, id_no, name, gender, birth, insutype, category, admdvs, paid_on, period,
                      exempt, fd, diseases, balance, as_of)


@dataclass
class _UsageRow:
    row: int
    psn_no: str
    year: int
    benefit: str
    disease: str
    quarter: int | None
    fund_paid: Decimal
    item_code: str
    count: int


def _usage(cells: dict, row: int) -> _UsageRow:
    psn_no = _text(cells.get("人员编号"))
    if not _PSN.match(psn_no):
        raise _Bad("人员编号", "人员编号为空或含非法字符")
    ys = _text(cells.get("年度"))
    if not re.match(r"^\d{4}$", ys):
        raise _Bad("年度", f"年度须为4位年份，收到“{ys}”")
    bl = _text(cells.get("待遇类型"))
    benefit = BENEFIT_CODES.get(bl)
    if benefit is None:
        raise _Bad("待遇类型", f"未知的待遇类型“{bl}”")
    qs = _text(cells.get("季度"))
    quarter = None
    if qs:
        if qs not in ("1", "2", "3", "4"):
            raise _Bad("季度", f"季度须为 1-4 或留空，收到“{qs}”")
        quarter = int(qs)
    cs = _text(cells.get("次数"))
    if cs and not cs.isdigit():
        raise _Bad("次数", f"次数须为非负整数，收到“{cs}”")
    if len(cs) > 9:
        raise _Bad("次数", f"次数过大：{cs[:20]}")
    return _UsageRow(row, psn_no, int(ys), benefit, _code(cells.get("病种"), "病种"), quarter,
                     _money(cells.get("统筹已支付"), "统筹已支付"), _code(cells.get("项目编码"), "项目编码"),
                     int(cs or 0))


def _code(v, field: str) -> str:
    """A code cell (病种, 项目编码): free text, at most 32 characters (what the database stores)."""
    s = _plain(v, field)
    if len(s) > 32:
        raise _Bad(field, f"{field}过长（{len(s)} 个字符，最多 32 个）")
    return s


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


def _read_sheets(path: Path, usage_path: Path | None) -> tuple[list[list], list[list] | None, str]:
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
    if usage_rows is not None and not any(r and any(_text(c) for c in r) for r in usage_rows):
        usage_rows = None  # an empty sheet (Excel's Sheet2) is no 待遇累计
    return person_rows, usage_rows, note


def _blank(raw) -> bool:
    return raw is None or all(c is None or _text(c) == "" for c in raw)


def _check_persons(person_rows: list[list], known_diseases: set[str], today: date, errors: list[RowError],
                   progress) -> tuple[list[_PersonRow], int]:
    pidx, pdata = _table(person_rows, PERSON_REQUIRED, PERSON_COLUMNS, "花名册")
    good: list[_PersonRow] = []
    seen_psn: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    total = len(pdata)
    for i, raw in enumerate(pdata):
        rownum = i + 2
        if _blank(raw):
            continue
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in pidx.items()}
        try:
            p = _person(cells, rownum, known_diseases, today)
            if p.psn_no in seen_psn:
                raise _Bad("人员编号", f"人员编号 {p.psn_no} 与第 {seen_psn[p.psn_no]} 行重复")
            if p.id_no in seen_id:
                raise _Bad("身份证号", f"身份证号与第 {seen_id[p.id_no]} 行重复")
        except _Bad as b:
            errors.append(RowError(PERSON_SHEET, rownum, _text(cells.get("人员编号")), b.field, b.reason))
            continue
        seen_psn[p.psn_no] = rownum
        seen_id[p.id_no] = rownum
        good.append(p)
        if progress and i % 5000 == 0:
            progress(i, total)
    return good, total


def _check_usage(usage_rows: list[list], errors: list[RowError]) -> tuple[list[_UsageRow], int, int]:
    uidx, udata = _table(usage_rows, USAGE_REQUIRED, USAGE_COLUMNS, "待遇累计")
    usage: list[_UsageRow] = []
    total = rejected = 0
    for i, raw in enumerate(udata):
        if _blank(raw):
            continue
        total += 1
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in uidx.items()}
        try:
            usage.append(_usage(cells, i + 2))
        except _Bad as b:
            rejected += 1
            errors.append(RowError(USAGE_SHEET, i + 2, _text(cells.get("人员编号")), b.field, b.reason))
    return usage, total, rejected


def import_roster(db: Database, path: str | Path, *, usage_path: str | Path | None = None,
                  progress: Callable[[int, int], None] | None = None, dry_run: bool = False,
                  actor: str, today: date | None = None) -> ImportResult:
    """Import a roster. `dry_run`: check every row (against the database too) and report the
    counts and the error report, changing nothing. `today`: the import day (a 截至日期 after it is
    a row error)."""
    path = Path(path)
    today = today or date.today()
    _check_file(path, "花名册")
    if usage_path is not None:
        usage_path = Path(usage_path)
        _check_file(usage_path, "待遇累计")
    person_rows, usage_rows, note = _read_sheets(path, usage_path)
    with db.read() as s:
        known_diseases = set(s.execute(select(m.PackDisease.code)).scalars())
    errors: list[RowError] = []
    good, total = _check_persons(person_rows, known_diseases, today, errors, progress)
    usage: list[_UsageRow] | None = None
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

    good: list[_PersonRow]
    usage: list[_UsageRow] | None
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


def _not_taken(s, b: _Batch) -> tuple[list[_PersonRow], set[str]]:
    """The valid rows whose ID number does not belong to another person in the database, and the
    人员编号 of those already in it."""
    existing: set[str] = set()
    by_id: dict[str, str] = {}
    for chunk in _chunks([p.psn_no for p in b.good], 500):
        existing.update(s.execute(select(m.Person.psn_no).where(m.Person.psn_no.in_(chunk))).scalars())
    for chunk in _chunks([p.id_no for p in b.good], 500):
        for psn, idn in s.execute(select(m.Person.psn_no, m.Person.id_no).where(m.Person.id_no.in_(chunk))):
            by_id[idn] = psn
    ok: list[_PersonRow] = []
    for p in b.good:
        other = by_id.get(p.id_no)
        if other is not None and other != p.psn_no:
            b.errors.append(RowError(PERSON_SHEET, p.row, p.psn_no, "身份证号", f"身份证号已属于数据库中的人员 {other}"))
            continue
        ok.append(p)
    return ok, existing


def _upsert_persons(s, ok: list[_PersonRow], existing: set[str], b: _Batch) -> tuple[int, int]:
    """Insert new persons, update known ones. Without a 待遇累计 the known persons keep their snapshot
    date (截至日期) and its import time: their 待遇累计 is not replaced (docs/roster.md)."""
    new_rows, upd_rows, keys, dis = [], [], [], []
    for p in ok:
        rec = dict(psn_no=p.psn_no, id_no=p.id_no, name=p.name, gender=p.gender, birth_date=p.birth_date,
                   insutype=p.insutype, category=p.category, admdvs=p.admdvs, paid_on=p.paid_on,
                   pay_period=p.pay_period, waiting_exempt=p.waiting_exempt, family_doctor_at=p.family_doctor_at,
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
    if new_rows:
        s.execute(m.Person.__table__.insert(), new_rows)
    if upd_rows:
        s.execute(update(m.Person), upd_rows)
    if keys:
        s.execute(m.PersonKey.__table__.insert(), keys)
    if dis:
        s.execute(m.PersonDisease.__table__.insert(), dis)
    return len(new_rows), len(upd_rows)


def _replace_usage(s, ok: list[_PersonRow], b: _Batch) -> None:
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
    if urows:
        s.execute(m.UsageSnapshot.__table__.insert(), urows)


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


def write_error_report(out: Path, errors: list[RowError]) -> Path:
    """The error rows as an .xlsx at `out` (written beside it first, then moved into place)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "错误行"
    ws.append(["工作表", "行号", "人员编号", "字段", "原因"])
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
