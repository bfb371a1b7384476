"""Roster rows (花名册, 待遇累计): the columns, and every cell normalised and checked — a bad cell is a
row error (`RowError`) naming the field, never a refusal of the whole file. The format is
documented in `docs/roster.md`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from desktop_app.core.model import BENEFITS
from desktop_app.core.money import CommaInNumber, decimals, parse_decimal
from desktop_app.privacy import mask_id

PERSON_COLUMNS = ("人员编号", "身份证号", "姓名", "性别", "出生日期", "险种类型", "人员类别", "参保地区划",
                  "缴费日期", "缴费期", "免等待期", "家庭医生签约机构", "登记病种", "个人账户余额", "截至日期", "缴费年度")
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
_INSTITUTION = re.compile(r"H\d{11}")  # 定点医药机构编码: H + 11 digits (as the clinic's own, services/settings)
MAX_ROWS = 2_000_000
MONEY_LIMIT = Decimal("1000000000")  # yuan; far inside what integer fen hold


@dataclass
class RowError:
    sheet: str
    row: int
    psn_no: str
    field: str
    reason: str


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------------------
# Cell normalisation and checks
# ---------------------------------------------------------------------------
class BadCell(Exception):
    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason


def cell_text(v) -> str:
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
    s = cell_text(v)
    if s[:1] in ("=", "+", "-", "@"):
        raise BadCell(field, f"{field}“{s[:20]}”以 = + - @ 开头，像电子表格公式，已拒绝")
    if CONTROL.search(s) or "\t" in s or "\n" in s or "\r" in s:
        raise BadCell(field, f"{field}含控制字符（换行、制表符等），已拒绝")
    return s


def psn_number(v, pattern: re.Pattern, message: str) -> str:
    """人员编号: an Excel number cell (a long number keeps ~15 digits: 1.4110200000000002e19) or text in
    scientific notation is refused — the value is already wrong — with the same advice as 身份证号."""
    if isinstance(v, float | int) and not isinstance(v, bool):
        raise BadCell("人员编号", "人员编号被 Excel 存成了数字，长编号的后几位会丢失精度；请把该列设为“文本”后重新导出")
    s = cell_text(v)
    if re.match(r"^\d(\.\d+)?[eE][+-]?\d+$", s.strip()):
        raise BadCell("人员编号", "人员编号是科学计数法（如 1.41102E+19），精度已丢失；请把该列设为“文本”后重新导出")
    if not pattern.match(s):
        raise BadCell("人员编号", message)
    return s


def _id_number(v) -> str:
    if isinstance(v, float | int) and not isinstance(v, bool):
        raise BadCell("身份证号", "身份证号被 Excel 存成了数字，后几位已丢失精度；请把该列设为“文本”后重新导出")
    s = re.sub(r"\s+", "", cell_text(v)).upper()
    if re.match(r"^\d(\.\d+)?E\+?\d+$", s):
        raise BadCell("身份证号", "身份证号是科学计数法（如 1.4E+17），精度已丢失；请把该列设为“文本”后重新导出")
    if not s:
        raise BadCell("身份证号", "身份证号为空")
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

    try:
        return validate_ric(s)
    except InvalidChecksum:
        raise BadCell("身份证号", f"身份证号 {mask_id(s)} 校验位错误") from None
    except InvalidComponent as exc:
        if str(exc) == "place":
            raise BadCell("身份证号", f"身份证号 {mask_id(s)} 的前6位不是出生当年有效的行政区划代码") from None
        raise BadCell("身份证号", f"身份证号 {mask_id(s)} 中的出生日期不存在") from None
    except (InvalidLength, InvalidFormat):
        raise BadCell("身份证号", f"身份证号须为18位（末位可为X），收到 {len(s)} 位") from None


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
    s = cell_text(v)
    if not s:
        if required:
            raise BadCell(field, f"{field}为空")
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
    raise BadCell(field, f"{field}“{s}”不是有效日期（应如 2024-01-31）")


def _money(v, field: str) -> Decimal:
    if isinstance(v, float):
        v = repr(v)  # calamine gives numbers as float; repr is the shortest exact text
    s = cell_text(v)
    if not s:
        return Decimal("0.00")
    try:
        d = parse_decimal(s)
    except CommaInNumber:
        raise BadCell(field, f"{field}“{s[:20]}”含逗号：小数点请用“.”，也不要用千位分隔符（如 1250.00）") from None
    except ValueError:
        raise BadCell(field, f"{field}“{s[:20]}”不是数字") from None
    if d < 0:
        raise BadCell(field, f"{field}不能为负数")
    if decimals(d) > 2:
        raise BadCell(field, f"{field}最多两位小数")
    if d >= MONEY_LIMIT:
        raise BadCell(field, f"{field}数值过大（须小于 {MONEY_LIMIT:f} 元）")
    return d


def _yes_no(v, field: str) -> bool:
    s = cell_text(v)
    if s in ("", "否", "N", "n", "0", "False", "false"):
        return False
    if s in ("是", "Y", "y", "1", "True", "true"):
        return True
    raise BadCell(field, f"{field}须为“是”或“否”")


@dataclass
class PersonRow:
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
    contrib_year: int | None = None


def _name_gender_birth(cells: dict, id_no: str) -> tuple[str, str, date]:
    """姓名, 性别 and 出生日期, the last two checked against the ID number."""
    name = _plain(cells.get("姓名"), "姓名")
    if not name:
        raise BadCell("姓名", "姓名为空")
    if len(name) > 30:
        raise BadCell("姓名", "姓名过长（最多 30 个字）")
    gender = cell_text(cells.get("性别"))
    if gender not in ("男", "女"):
        raise BadCell("性别", f"性别须为“男”或“女”，收到“{gender}”")
    id_gender = "男" if int(id_no[16]) % 2 == 1 else "女"
    if gender != id_gender:
        raise BadCell("性别", f"性别“{gender}”与身份证号（第17位表示{id_gender}）不一致")
    birth = _date(cells.get("出生日期"), "出生日期", required=True)
    id_birth = date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
    if birth != id_birth:
        raise BadCell("出生日期", f"出生日期 {birth} 与身份证号中的 {id_birth} 不一致")
    return name, gender, birth


def person_row(cells: dict, row: int, known_diseases: set[str], today: date) -> PersonRow:
    psn_no = psn_number(cells.get("人员编号"), _PSN, "人员编号为空或含非法字符（只允许字母和数字，最多32位）")
    id_no = _id_number(cells.get("身份证号"))
    name, gender, birth = _name_gender_birth(cells, id_no)
    insutype = cell_text(cells.get("险种类型"))
    if insutype not in ("310", "390"):
        raise BadCell("险种类型", f"险种类型须为 310（职工）或 390（城乡居民），收到“{insutype}”")
    cat_label = cell_text(cells.get("人员类别"))
    category = CATEGORY_CODES.get(cat_label)
    if category is None:
        raise BadCell("人员类别", f"人员类别须为 {'/'.join(CATEGORY_CODES)}，收到“{cat_label}”")
    if (insutype == "310") != category.startswith("employee"):
        raise BadCell("人员类别", f"人员类别“{cat_label}”与险种类型 {insutype} 不一致")
    admdvs = cell_text(cells.get("参保地区划"))
    if not _ADMDVS.match(admdvs):
        raise BadCell("参保地区划", f"参保地区划须为6位数字，收到“{admdvs}”")
    paid_on, period, year = _contribution(cells)
    exempt = _yes_no(cells.get("免等待期"), "免等待期")
    fd = _family_doctor(cells.get("家庭医生签约机构"))
    diseases = [d.strip() for d in cell_text(cells.get("登记病种")).split(",") if d.strip()]
    for d in diseases:
        if d not in known_diseases:
            raise BadCell("登记病种", f"病种编码 {d} 不在已同步的政策包病种目录中")
    balance = _money(cells.get("个人账户余额"), "个人账户余额")
    as_of = _date(cells.get("截至日期"), "截至日期", required=True)
    if as_of > today:
        raise BadCell("截至日期", f"截至日期 {as_of} 晚于今天（{today}）：中心的数据不能截至未来的日期（否则本机构此后的结算"
                           "不计入年度限额），请核对后重新导出")
    return PersonRow(row, psn_no, id_no, name, gender, birth, insutype, category, admdvs, paid_on, period,
                      exempt, fd, diseases, balance, as_of, year)


def _family_doctor(v) -> str:
    """家庭医生签约机构: empty, or the 定点医药机构编码 (H + 11 digits) of the institution the person signed with."""
    fd = _plain(v, "家庭医生签约机构").upper()
    if fd and not _INSTITUTION.fullmatch(fd):
        raise BadCell("家庭医生签约机构", f"家庭医生签约机构须为定点医药机构编码：H 加 11 位数字（如 H14110200031），"
                                  f"收到“{fd[:20]}”")
    return fd


def _contribution(cells: dict) -> tuple[date | None, str, int | None]:
    """缴费日期, 缴费期 and 缴费年度 (the year paid for), checked together (洛医保〔2023〕63号 四.(二)(三): paying in
    the 集中缴费期 covers 「次年」, so it is paid before the year; the 延长缴费期 pays 「当年」). Which months the
    集中缴费期 has is the pack's business (the engine), not the roster's."""
    paid_on = _date(cells.get("缴费日期"), "缴费日期", required=False)
    period = cell_text(cells.get("缴费期"))
    if period not in ("", "集中", "延长"):
        raise BadCell("缴费期", f"缴费期须为“集中”或“延长”，收到“{period}”")
    if period == "延长" and paid_on is None:
        raise BadCell("缴费日期", "缴费期为“延长”时须填缴费日期（用于计算待遇等待期）")
    ys = cell_text(cells.get("缴费年度"))
    if not ys:
        return paid_on, period, None
    if not re.fullmatch(r"\d{4}", ys) or not 1990 <= int(ys) <= 2200:
        raise BadCell("缴费年度", f"缴费年度须为4位年份（所缴的是哪一年的居民医保费），收到“{ys[:20]}”")
    year = int(ys)
    if paid_on is None or not period:
        raise BadCell("缴费年度", "填写缴费年度时须同时填写缴费日期和缴费期（集中/延长），待遇保障期由它们确定")
    if period == "集中" and paid_on >= date(year, 1, 1):
        raise BadCell("缴费年度", f"集中缴费期缴费享受次年待遇（洛医保〔2023〕63号 四.(二)）：缴费日期 {paid_on} 不在缴费年度 "
                              f"{year} 之前")
    if period == "延长" and paid_on.year != year:
        raise BadCell("缴费年度", f"延长缴费期缴纳的是当年的居民医保费（洛医保〔2023〕63号 四.(三)）：缴费日期 {paid_on} "
                              f"与缴费年度 {year} 不符")
    return paid_on, period, year


@dataclass
class UsageRow:
    row: int
    psn_no: str
    year: int
    benefit: str
    disease: str
    quarter: int | None
    fund_paid: Decimal
    item_code: str
    count: int


def usage_row(cells: dict, row: int) -> UsageRow:
    psn_no = psn_number(cells.get("人员编号"), _PSN, "人员编号为空或含非法字符")
    ys = cell_text(cells.get("年度"))
    if not re.match(r"^\d{4}$", ys):
        raise BadCell("年度", f"年度须为4位年份，收到“{ys}”")
    bl = cell_text(cells.get("待遇类型"))
    benefit = BENEFIT_CODES.get(bl)
    if benefit is None:
        raise BadCell("待遇类型", f"未知的待遇类型“{bl}”")
    qs = cell_text(cells.get("季度"))
    quarter = None
    if qs:
        if qs not in ("1", "2", "3", "4"):
            raise BadCell("季度", f"季度须为 1-4 或留空，收到“{qs}”")
        quarter = int(qs)
    cs = cell_text(cells.get("次数"))
    if cs and not cs.isdigit():
        raise BadCell("次数", f"次数须为非负整数，收到“{cs}”")
    if len(cs) > 9:
        raise BadCell("次数", f"次数过大：{cs[:20]}")
    return UsageRow(row, psn_no, int(ys), benefit, _code(cells.get("病种"), "病种"), quarter,
                     _money(cells.get("统筹已支付"), "统筹已支付"), _code(cells.get("项目编码"), "项目编码"),
                     int(cs or 0))


def _code(v, field: str) -> str:
    """A code cell (病种, 项目编码): free text, at most 32 characters (what the database stores)."""
    s = _plain(v, field)
    if len(s) > 32:
        raise BadCell(field, f"{field}过长（{len(s)} 个字符，最多 32 个）")
    return s
