"""The CSV catalogues of a pack: items.csv, institutions.csv, diseases.csv, row by row.

Each row is checked (known codes, dates, a citation, no formula-like cells);
every problem is reported with its file and line, and a bad row is never used.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from desktop_app.core.model import BENEFITS, CLASSES, KINDS, LEVELS
from desktop_app.core.money import parse_decimal
from desktop_app.core.policy import (
    ADMDVS,
    CITE,
    FAR_FUTURE,
    CatalogueItem,
    Disease,
    InstitutionRow,
    Pack,
    Problem,
)

ITEM_COLUMNS = ("code", "name", "benefit", "kind", "chrgitm_lv", "pay_std", "max_count",
                "count_scope", "category", "from", "until", "cite", "note", "indication")
OPTIONAL_COLUMNS = ("from", "until", "note", "indication")
INSTITUTION_COLUMNS = ("code", "name", "admdvs", "level", "price_class", "art_approved",
                       "designated_diseases", "from", "until", "cite", "note")
DISEASE_COLUMNS = ("code", "name", "benefit", "criteria", "cite", "note")
ITEM_CATEGORIES = ("", "family_doctor_fee")
COUNT_SCOPES = ("", "person", "year")


def as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def load_csv(pack: Pack, fname: str, text: str, columns: tuple[str, ...], loader, problems) -> None:
    """Check the header of one catalogue and hand each row to `loader` (one of the `load_*_row`)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(fname, 1, "CSV 文件为空（至少需要表头）"))
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in columns]
    missing = [c for c in columns if c not in header and c not in OPTIONAL_COLUMNS]
    if unknown:
        problems.append(Problem(fname, 1, f"未知的列：{', '.join(unknown)}"))
    if missing:
        problems.append(Problem(fname, 1, f"缺少列：{', '.join(missing)}"))
    if unknown or missing:
        return
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(fname, line, f"列数为 {len(row)}，表头为 {len(header)} 列"))
            continue
        rec = {h: v.strip() for h, v in zip(header, row, strict=True)}
        for v in rec.values():
            if v[:1] in ("=", "+", "@") or (v[:1] == "-" and not re.match(r"^-?\d", v)):
                problems.append(Problem(fname, line, f"单元格“{v}”像公式，已拒绝"))
                break
        else:
            loader(pack, rec, fname, line, problems)


def _row_dates(rec: dict, fname: str, line: int, problems: list[Problem]) -> tuple[date, date] | None:
    start, end = date.min, FAR_FUTURE
    if rec.get("from"):
        start = as_date(rec["from"])
    if rec.get("until"):
        end = as_date(rec["until"])
    if start is None or end is None:
        problems.append(Problem(fname, line, "from/until 不是有效日期（YYYY-MM-DD）"))
        return None
    return start, end


def _row_cite(rec: dict, fname: str, line: int, problems: list[Problem]) -> bool:
    if not rec.get("cite"):
        problems.append(Problem(fname, line, "缺少出处 cite（文件号 + 条款）"))
        return False
    if not CITE.match(rec["cite"]):
        problems.append(Problem(fname, line, f"出处“{rec['cite']}”须为“文件号 条款”"))
        return False
    return True


def _row_checked(bad: list[str], rec: dict, fname: str, line: int, problems: list[Problem]):
    """Report the row's problems (`bad`, then its dates and its citation, in that order); the row's
    (start, end) when it has none, else None."""
    for b in bad:
        problems.append(Problem(fname, line, b))
    dates = _row_dates(rec, fname, line, problems)
    if bad or dates is None or not _row_cite(rec, fname, line, problems):
        return None
    return dates


def load_item_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    bad = []
    if not rec["code"]:
        bad.append("项目编码 code 为空")
    if rec["benefit"] not in BENEFITS:
        bad.append(f"未知的待遇类别 benefit“{rec['benefit']}”")
    if rec["kind"] not in KINDS:
        bad.append(f"未知的费用类型 kind“{rec['kind']}”")
    if rec["chrgitm_lv"] not in CLASSES:
        bad.append(f"未知的支付类别 chrgitm_lv“{rec['chrgitm_lv']}”（01甲/02乙/03丙）")
    if rec["category"] not in ITEM_CATEGORIES:
        bad.append(f"未知的项目分类 category“{rec['category']}”")
    if rec["count_scope"] not in COUNT_SCOPES:
        bad.append(f"未知的次数口径 count_scope“{rec['count_scope']}”")
    pay_std = max_count = None
    if rec["pay_std"]:
        try:
            pay_std = parse_decimal(rec["pay_std"])
            if pay_std < 0:
                raise ValueError
        except ValueError:
            bad.append(f"支付标准 pay_std“{rec['pay_std']}”不是非负数")
    if rec["max_count"]:
        if rec["max_count"].isdigit() and int(rec["max_count"]) > 0:
            max_count = int(rec["max_count"])
        else:
            bad.append(f"次数限制 max_count“{rec['max_count']}”不是正整数")
    if max_count is not None and not rec["count_scope"]:
        bad.append("有 max_count 时须写 count_scope（person/year）")
    dates = _row_checked(bad, rec, fname, line, problems)
    if dates is None:
        return
    pack.items.append(CatalogueItem(
        code=rec["code"], name=rec["name"], benefit=rec["benefit"], kind=rec["kind"],
        chrgitm_lv=rec["chrgitm_lv"], pay_std=pay_std, max_count=max_count,
        count_scope=rec["count_scope"], category=rec["category"], start=dates[0], end=dates[1],
        cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id, indication=rec.get("indication", ""),
    ))


def load_institution_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    bad = []
    if not rec["name"]:
        bad.append("机构名称 name 为空")
    if rec["admdvs"] and not ADMDVS.match(rec["admdvs"]):
        bad.append("admdvs 须为6位数字")
    if rec["level"] and rec["level"] not in LEVELS:
        bad.append(f"未知的机构级别 level“{rec['level']}”")
    pc = None
    if rec["price_class"]:
        if rec["price_class"] in ("1", "2", "3"):
            pc = int(rec["price_class"])
        else:
            bad.append(f"收费价格类别 price_class“{rec['price_class']}”须为 1/2/3")
    if rec["art_approved"] not in ("", "true", "false"):
        bad.append("art_approved 须为 true/false")
    dates = _row_checked(bad, rec, fname, line, problems)
    if dates is None:
        return
    pack.institutions.append(InstitutionRow(
        code=rec["code"], name=rec["name"], admdvs=rec["admdvs"], level=rec["level"], price_class=pc,
        art_approved=rec["art_approved"] == "true",
        designated_diseases=tuple(x.strip() for x in rec["designated_diseases"].split(";") if x.strip()),
        start=dates[0], end=dates[1], cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id,
    ))


def load_disease_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    if not rec["code"]:
        problems.append(Problem(fname, line, "病种编码 code 为空"))
        return
    if rec["benefit"] not in BENEFITS:
        problems.append(Problem(fname, line, f"未知的待遇类别 benefit“{rec['benefit']}”"))
        return
    if not _row_cite(rec, fname, line, problems):
        return
    pack.diseases.append(Disease(
        code=rec["code"], name=rec["name"], benefit=rec["benefit"], criteria=rec["criteria"],
        cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id,
    ))


