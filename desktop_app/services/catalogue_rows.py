"""Rows of the insurance catalogue (医保目录) and of the clinic's price list (本机构收费目录): the columns,
and every cell normalised and checked — a bad cell is a row error naming the field (`BadCell`), never a
refusal of the whole file. The formats are documented in `docs/catalogue.md`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop_app.core.money import CommaInNumber, decimals, parse_decimal
from desktop_app.services.roster_rows import BadCell, _date, _plain, cell_text

CATALOGUE_COLUMNS = ("医保目录编码", "医保目录名称", "目录类别", "收费项目等级", "支付标准", "限定支付范围", "医保区划",
                     "开始日期", "结束日期")
CATALOGUE_REQUIRED = ("医保目录编码", "医保目录名称", "目录类别", "收费项目等级", "开始日期")
PRICE_COLUMNS = ("机构项目编码", "机构项目名称", "规格", "单位", "单价", "收费类别", "医保目录编码", "开始日期")
PRICE_REQUIRED = ("机构项目编码", "机构项目名称", "单价", "收费类别")

# 目录类别 → (label, kind of the calc contract)
CATEGORIES = {"101": ("西药中成药", "drug"), "102": ("中药饮片", "drug"), "103": ("医疗机构制剂", "drug"),
              "201": ("医疗服务项目", "service"), "301": ("医用耗材", "material")}
_CATEGORY_BY_LABEL = {label: code for code, (label, _k) in CATEGORIES.items()}
LEVELS = {"01": "01", "02": "02", "03": "03", "1": "01", "2": "02", "3": "03", "甲": "01", "乙": "02", "丙": "03",
          "甲类": "01", "乙类": "02", "丙类": "03"}
# 收费类别: the receipt groups
FEE_CATEGORIES = ("西药费", "中成药费", "中药饮片费", "诊查费", "检查费", "化验费", "治疗费", "手术费", "卫生材料费",
                  "其他费")
_DRUG_FEES = {"西药费", "中成药费", "中药饮片费"}
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,49}$")
_ITEM_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
_SCI = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
PRICE_LIMIT = Decimal("1000000")  # yuan per unit, as a visit line's price (visit_rules.AMOUNT_MAX)


def kind_of_fee_category(fee_category: str) -> str:
    """The calc `kind` of an item that is not (or no longer) in the catalogue: from its 收费类别."""
    if fee_category in _DRUG_FEES:
        return "drug"
    return "material" if fee_category == "卫生材料费" else "service"


_INITIALS: dict[str, str] = {}


def _char_initial(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    got = lazy_pinyin(ch, style=Style.FIRST_LETTER, errors="ignore")
    out = got[0][:1].lower() if got and got[0] else ""
    if len(_INITIALS) < 100_000:
        _INITIALS[ch] = out
    return out


def fast_initials(text: str) -> str:
    """Pinyin initials char by char (a table per character: fast enough for 300,000 catalogue names);
    Latin letters and digits kept (维生素C片 → wsscp), anything else dropped."""
    out = []
    get = _INITIALS.get
    for ch in text:
        v = get(ch)
        if v is None:
            if ch.isascii():
                v = ch.lower() if ch.isalnum() else ""
                _INITIALS[ch] = v
            elif "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff":
                v = _char_initial(ch)
            else:
                v = ""
                _INITIALS[ch] = v
        out.append(v)
    return "".join(out)[:64]


def code_cell(v, field: str, pattern: re.Pattern = _CODE) -> str:
    """A code (医保目录编码, 机构项目编码): text. A number cell is the Excel-number trap — Excel drops leading
    zeros and shows long codes as 1.2E+17 — so it is refused with how to fix it."""
    if isinstance(v, float | int) and not isinstance(v, bool):
        raise BadCell(field, f"{field}被 Excel 存成了数字（前导 0 和长编码的后几位会丢失）：请把该列设为“文本”后重新导出")
    s = _plain(v, field)
    if _SCI.match(s):
        raise BadCell(field, f"{field}是科学计数法（“{s}”），编码已丢失：请把该列设为“文本”后重新导出")
    if not s:
        raise BadCell(field, f"{field}为空")
    if not pattern.match(s):
        most = 50 if pattern is _CODE else 32
        raise BadCell(field, f"{field}“{s[:40]}”含非法字符或过长（字母、数字、. _ -，最多 {most} 位）")
    return s


def price_cell(v, field: str, *, required: bool, positive: bool = False) -> str | None:
    """A unit price or payment standard: exact decimal text, at most 4 decimals, never negative."""
    if isinstance(v, float):
        v = repr(v)  # calamine gives numbers as float; repr is the shortest exact text
    s = cell_text(v)
    if not s:
        if required:
            raise BadCell(field, f"{field}为空")
        return None
    try:
        d = parse_decimal(s)
    except CommaInNumber:
        raise BadCell(field, f"{field}“{s[:20]}”含逗号：小数点请用“.”，也不要用千位分隔符") from None
    except ValueError:
        raise BadCell(field, f"{field}“{s[:20]}”不是数字") from None
    if d < 0 or (positive and d == 0):
        raise BadCell(field, f"{field}须{'大于' if positive else '不小于'} 0")
    if decimals(d) > 4:
        raise BadCell(field, f"{field}最多四位小数")
    if d >= PRICE_LIMIT:
        raise BadCell(field, f"{field}数值过大（须小于 {PRICE_LIMIT} 元）")
    return format(d, "f")


def _text(v, field: str, most: int, *, required: bool = False) -> str:
    s = _plain(v, field)
    if required and not s:
        raise BadCell(field, f"{field}为空")
    if len(s) > most:
        raise BadCell(field, f"{field}过长（{len(s)} 个字，最多 {most} 个）")
    return s


@dataclass(frozen=True)
class CatalogueRow:
    row: int
    code: str
    name: str
    category: str
    chrgitm_lv: str
    pay_std: str | None
    limit_text: str
    admdvs: str
    valid_from: date
    valid_until: date | None


# The columns that repeat from row to row (类别, 等级, 区划, dates, often the 支付标准 and the limits) are
# parsed once per distinct value: a 300,000-row catalogue holds a few hundred of them. (A bad value raises
# each time: lru_cache keeps results only.)
@functools.lru_cache(maxsize=4096)
def _category(raw) -> str:
    cat = cell_text(raw)
    cat = _CATEGORY_BY_LABEL.get(cat, cat)
    if cat not in CATEGORIES:
        raise BadCell("目录类别", f"目录类别须为 {'、'.join(f'{c} {lab}' for c, (lab, _k) in CATEGORIES.items())}，"
                              f"收到“{cat[:20]}”")
    return cat


@functools.lru_cache(maxsize=4096)
def _level(raw) -> str:
    lv_text = cell_text(raw)
    lv = LEVELS.get(lv_text)
    if lv is None:
        raise BadCell("收费项目等级", f"收费项目等级须为 01 甲类、02 乙类、03 丙类（或 甲/乙/丙），收到“{lv_text[:20]}”")
    return lv


@functools.lru_cache(maxsize=65536)
def _pay_std(raw) -> str | None:
    return price_cell(raw, "支付标准", required=False, positive=True)


@functools.lru_cache(maxsize=4096)
def _limit(raw) -> str:
    return _text(raw, "限定支付范围", 500)


@functools.lru_cache(maxsize=4096)
def _admdvs(raw) -> str:
    admdvs = cell_text(raw)
    if admdvs and not re.fullmatch(r"\d{6}", admdvs):
        raise BadCell("医保区划", f"医保区划须为6位数字或留空（全省），收到“{admdvs[:20]}”")
    return admdvs


@functools.lru_cache(maxsize=4096)
def _start(raw) -> date:
    return _date(raw, "开始日期", required=True)


@functools.lru_cache(maxsize=4096)
def _end(raw) -> date | None:
    return _date(raw, "结束日期", required=False)


def catalogue_row(cells: dict, row: int) -> CatalogueRow:
    g = cells.get
    code = code_cell(g("医保目录编码"), "医保目录编码")
    name = _text(g("医保目录名称"), "医保目录名称", 200, required=True)
    cat = _category(g("目录类别"))
    lv = _level(g("收费项目等级"))
    pay_std = _pay_std(g("支付标准"))
    limit_text = _limit(g("限定支付范围"))
    admdvs = _admdvs(g("医保区划"))
    start = _start(g("开始日期"))
    end = _end(g("结束日期"))
    if end is not None and end <= start:
        raise BadCell("结束日期", f"结束日期 {end} 须晚于开始日期 {start}（有效期为 [开始日期, 结束日期)）")
    return CatalogueRow(row, code, name, cat, lv, pay_std, limit_text, admdvs, start, end)


@dataclass(frozen=True)
class PriceRow:
    row: int
    code: str
    name: str
    spec: str
    unit: str
    price: str
    fee_category: str
    ins_code: str
    valid_from: date | None


def fee_category_cell(v) -> str:
    fee = cell_text(v)
    if fee not in FEE_CATEGORIES:
        raise BadCell("收费类别", f"收费类别须为 {'、'.join(FEE_CATEGORIES)} 之一，收到“{fee[:20]}”")
    return fee


def price_row(cells: dict, row: int) -> PriceRow:
    code = code_cell(cells.get("机构项目编码"), "机构项目编码", _ITEM_CODE)
    name = _text(cells.get("机构项目名称"), "机构项目名称", 128, required=True)
    spec = _text(cells.get("规格"), "规格", 64)
    unit = _text(cells.get("单位"), "单位", 16)
    price = price_cell(cells.get("单价"), "单价", required=True)
    fee = fee_category_cell(cells.get("收费类别"))
    raw_ins = cells.get("医保目录编码")
    ins_code = "" if cell_text(raw_ins) == "" else code_cell(raw_ins, "医保目录编码")
    start = _date(cells.get("开始日期"), "开始日期", required=False)
    return PriceRow(row, code, name, spec, unit, price, fee, ins_code, start)
