"""Claim JSON (contract input) → domain objects, and Settlement → result JSON.

Every problem raises `InvalidInput` naming the field (e.g. ``items[1].price``)
with a message in Simplified Chinese. Amounts are never parsed through binary
floating point: JSON numbers are read as `Decimal` by the caller
(``json.loads(..., parse_float=Decimal, parse_int=Decimal)``) and strings are
parsed as plain decimals.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

from desktop_app.core.model import (
    BENEFITS,
    CATEGORIES,
    CLASSES,
    DELIVERIES,
    FEE_CATEGORIES,
    INSUTYPES,
    ITEM_MONEY_FIELDS,
    KINDS,
    LEVELS,
    MONEY_FIELDS,
    RELATIONS,
    Claim,
    Contribution,
    FamilyAccount,
    HistoryEntry,
    HistoryItem,
    Institution,
    Insured,
    Item,
    Settlement,
)
from desktop_app.core.money import CommaInNumber, decimals, fmt2, fmt4, parse_decimal
from desktop_app.errors import Refused


class InvalidInput(Refused):
    """Contract exit 2: the input is invalid."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field, code="invalid_input")

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_json(self) -> dict:
        return {"error": {"code": "invalid_input", "field": self.field, "message": self.message}}


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ADMDVS = re.compile(r"^\d{6}$")
_MISSING = object()

CLAIM_FIELDS = {"date", "benefit", "disease", "delivery", "insured", "institution", "use_account",
                "family_account", "items", "history"}
INSURED_REQUIRED = ("insutype", "category", "admdvs")
INSURED_FIELDS = {*INSURED_REQUIRED, "family_doctor_at", "registered_diseases", "contribution", "acct_balance"}
INSTITUTION_REQUIRED = ("code", "admdvs", "level", "price_class")
INSTITUTION_FIELDS = {*INSTITUTION_REQUIRED, "art_approved", "designated_diseases"}
ITEM_REQUIRED = ("code", "kind", "chrgitm_lv", "qty", "price")
ITEM_FIELDS = {*ITEM_REQUIRED, "name", "pay_std", "fee_category", "indication_confirmed"}
HISTORY_REQUIRED = ("date", "institution", "benefit", "hifp_pay", "act_pay_dedc")
HISTORY_FIELDS = {*HISTORY_REQUIRED, "disease", "items"}
HISTORY_ITEM_FIELDS = {"code", "qty", "fund_paid"}
CONTRIBUTION_FIELDS = ("paid_on", "in_extended_period", "waiting_exempt")

MAX_ITEMS = 1000
MAX_HISTORY = 5000
CODE_MAX = 64  # codes in a claim (the ledger stores at most 32: services/visit_rules.py)
NAME_MAX = 128  # an item's name: the longest the database stores (settlement_item.name)
AMOUNT_LIMIT = Decimal("1e9")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(raw: object, limit: int = 40) -> str:
    """An input value as a message quotes it: never more than `limit` characters."""
    text = raw if isinstance(raw, str) else (format(raw, "f") if isinstance(raw, Decimal) and raw.is_finite()
                                             else repr(raw))
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise InvalidInput(shown(k, 64), f"字段“{shown(k)}”重复出现")
        out[k] = v
    return out


def _reject_constant(name: str):
    raise InvalidInput("json", f"不支持的数值 {name}")


def load_json(text: str, field: str = "json") -> object:
    """JSON text → Python objects, exactly: numbers as `Decimal` (never float, no 4,300-digit limit),
    duplicate keys and NaN/Infinity refused, too deep nesting refused — every problem an `InvalidInput`
    naming `field` (or the duplicated key)."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal,
                          object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(field, f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）") from None
    except RecursionError:
        raise InvalidInput(field, "JSON 嵌套层数过多，不是有效的结算数据") from None


def _obj(raw: object, field: str, allowed: set[str], label: str) -> dict:
    if not isinstance(raw, dict):
        raise InvalidInput(field or "(根)", f"{label}须为 JSON 对象")
    for k in raw:
        if k not in allowed:
            key = shown(k, 64)
            raise InvalidInput(f"{field}.{key}" if field else key, f"未知字段“{shown(k)}”（{label}中不允许出现）")
    return raw


def _need(obj: dict, key: str, field: str, label: str) -> object:
    if key not in obj or obj[key] is None:
        raise InvalidInput(field, f"缺少必填字段：{label}")
    return obj[key]


def _date(raw: object, field: str, label: str) -> date:
    if not isinstance(raw, str) or not _DATE.match(raw.strip()):
        raise InvalidInput(field, f"{label}须为 YYYY-MM-DD 格式的日期，收到：{shown(raw)}")
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(field, f"{label}“{shown(raw)}”不是存在的日期") from None


def _enum(raw: object, field: str, allowed, label: str):
    if isinstance(raw, bool) or not isinstance(raw, str | int) or raw not in allowed:
        choices = "、".join(str(a) for a in allowed)
        raise InvalidInput(field, f"{label}的值“{shown(raw)}”无效，允许：{choices}")
    return raw


def _bool(raw: object, field: str, label: str) -> bool:
    if not isinstance(raw, bool):
        raise InvalidInput(field, f"{label}须为 true 或 false")
    return raw


def _flag(raw: object, field: str, label: str) -> bool:
    """A boolean written as JSON true/false or as the text "true"/"false" (the contract shows `"true"`)."""
    if isinstance(raw, str) and raw.strip() in ("true", "false"):
        return raw.strip() == "true"
    return _bool(raw, field, label)


def check_text(raw: object, field: str, label: str, *, max_len: int = CODE_MAX, empty: bool = False) -> str:
    """A text field: a string (trimmed), not empty unless `empty`, at most `max_len` characters, without
    control characters (line breaks, tabs, NUL)."""
    if not isinstance(raw, str) or not (empty or raw.strip()):
        raise InvalidInput(field, f"{label}须为{'' if empty else '非空'}文本")
    if len(raw) > max_len:
        raise InvalidInput(field, f"{label}过长（{len(raw)} 个字符，最多 {max_len} 个）")
    if _CONTROL.search(raw):
        raise InvalidInput(field, f"{label}含控制字符（换行、制表符等）")
    return raw.strip()


_text = check_text


def check_amount(raw: object, field: str, label: str, *, max_dp: int, positive: bool = False,
                 limit: Decimal = AMOUNT_LIMIT) -> Decimal:
    """A money amount or quantity: a plain decimal (string or exact JSON number; full-width digits and
    point read as ASCII), not negative, at most `max_dp` decimals, below `limit`. A comma is refused:
    it is never taken as a thousands separator (1,5 is neither 15 nor, silently, 1.5)."""
    try:
        v = parse_decimal(raw)
    except CommaInNumber:
        raise InvalidInput(field, f"{label}“{shown(raw)}”含逗号：小数点请用“.”（如 1.5），"
                                  "也不要用千位分隔符（如 1000.00）") from None
    except ValueError:
        raise InvalidInput(field, f"{label}须为数字（如 \"12.50\"），收到：{shown(raw)}") from None
    if v < 0:
        raise InvalidInput(field, f"{label}不能为负数，收到：{shown(raw)}")
    if positive and v == 0:
        raise InvalidInput(field, f"{label}须大于 0")
    if decimals(v) > max_dp:
        raise InvalidInput(field, f"{label}最多 {max_dp} 位小数，收到：{shown(raw)}")
    if v >= limit:
        raise InvalidInput(field, f"{label}数值过大（须小于 {limit:f}）：{shown(raw)}")
    return v


_amount = check_amount


def _codes(raw: object, field: str, label: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(field, f"{label}须为列表")
    return tuple(_text(x, f"{field}[{i}]", label) for i, x in enumerate(raw))


def _opt(obj: dict, key: str, default=None):
    v = obj.get(key, _MISSING)
    return default if v is _MISSING or v is None else v


def parse_claim(raw: object) -> tuple[Claim, tuple[HistoryEntry, ...]]:
    """Parse and check one claim object of the contract. Raises `InvalidInput` (for the first problem,
    in the order of the fields below)."""
    c = _obj(raw, "", CLAIM_FIELDS, "结算请求")
    day = _date(_need(c, "date", "date", "就诊日期 date"), "date", "就诊日期")
    benefit = _enum(_need(c, "benefit", "benefit", "待遇类别 benefit"), "benefit", tuple(BENEFITS), "待遇类别")
    disease, delivery = _disease_delivery(c, benefit)
    insured = _insured(_obj(_need(c, "insured", "insured", "参保人信息 insured"), "insured", INSURED_FIELDS,
                            "参保人信息"))
    institution = _institution(_obj(_need(c, "institution", "institution", "机构信息 institution"), "institution",
                                    INSTITUTION_FIELDS, "机构信息"))
    use_account = _bool(_opt(c, "use_account", True), "use_account", "是否使用个人账户")
    family = _family(_opt(c, "family_account"))
    items = _items(_need(c, "items", "items", "费用明细 items"))
    history = _history(_opt(c, "history", []), day)
    claim = Claim(
        date=day, benefit=benefit, insured=insured, institution=institution, items=tuple(items),
        disease=disease, delivery=delivery, use_account=use_account, family_account=family,
    )
    return claim, tuple(history)


def _disease_delivery(c: dict, benefit: str) -> tuple[str | None, str | None]:
    disease = _opt(c, "disease")
    if disease is not None:
        disease = _text(disease, "disease", "病种编码")
    if benefit == "chronic_special" and disease is None:
        raise InvalidInput("disease", "门诊慢特病须填写病种编码 disease（如 M01904）")
    if benefit != "chronic_special" and disease is not None:
        raise InvalidInput("disease", "只有门诊慢特病（chronic_special）填写病种编码")
    delivery = _opt(c, "delivery")
    if delivery is not None:
        delivery = _enum(delivery, "delivery", tuple(DELIVERIES), "分娩方式")
    if benefit == "maternity_delivery" and delivery is None:
        raise InvalidInput("delivery", "生育住院分娩须填写分娩方式 delivery（natural 自然分娩 / cesarean 剖宫产）")
    if benefit != "maternity_delivery" and delivery is not None:
        raise InvalidInput("delivery", "只有生育住院分娩（maternity_delivery）填写分娩方式")
    return disease, delivery


def _insured(ri: dict) -> Insured:
    insutype = _enum(_need(ri, "insutype", "insured.insutype", "险种类型"), "insured.insutype", tuple(INSUTYPES), "险种类型")
    category = _enum(_need(ri, "category", "insured.category", "人员类别"), "insured.category", tuple(CATEGORIES), "人员类别")
    if (insutype == "310") != category.startswith("employee"):
        raise InvalidInput("insured.category",
                           f"人员类别“{category}”与险种类型“{insutype}”不一致（职工310对应在职/退休，居民390对应城乡居民/大学生）")
    admdvs = _need(ri, "admdvs", "insured.admdvs", "参保地医保区划")
    if not isinstance(admdvs, str) or not _ADMDVS.match(admdvs):
        raise InvalidInput("insured.admdvs", f"参保地医保区划须为6位数字，收到：{shown(admdvs)}")
    fd = _opt(ri, "family_doctor_at")
    if fd is not None:
        fd = _text(fd, "insured.family_doctor_at", "家庭医生签约机构编码")
    contribution = None
    rc = _opt(ri, "contribution")
    if rc is not None:
        rc = _obj(rc, "insured.contribution", set(CONTRIBUTION_FIELDS), "缴费信息")
        for k in CONTRIBUTION_FIELDS:
            _need(rc, k, f"insured.contribution.{k}", k)
        contribution = Contribution(
            paid_on=_date(rc["paid_on"], "insured.contribution.paid_on", "缴费日期"),
            in_extended_period=_bool(rc["in_extended_period"], "insured.contribution.in_extended_period", "是否延长缴费期"),
            waiting_exempt=_bool(rc["waiting_exempt"], "insured.contribution.waiting_exempt", "是否免等待期"),
        )
    return Insured(
        insutype=insutype, category=category, admdvs=admdvs, family_doctor_at=fd,
        registered_diseases=_codes(_opt(ri, "registered_diseases"), "insured.registered_diseases", "登记病种"),
        contribution=contribution,
        acct_balance=_amount(_opt(ri, "acct_balance", "0.00"), "insured.acct_balance", "个人账户余额", max_dp=2),
    )


def _institution(rn: dict) -> Institution:
    code = _text(_need(rn, "code", "institution.code", "机构编码"), "institution.code", "机构编码")
    iadm = _need(rn, "admdvs", "institution.admdvs", "机构医保区划")
    if not isinstance(iadm, str) or not _ADMDVS.match(iadm):
        raise InvalidInput("institution.admdvs", f"机构医保区划须为6位数字，收到：{shown(iadm)}")
    level = _enum(_need(rn, "level", "institution.level", "机构级别"), "institution.level", tuple(LEVELS), "机构级别")
    pc = _need(rn, "price_class", "institution.price_class", "收费价格类别")
    if isinstance(pc, Decimal) and pc == pc.to_integral_value():
        pc = int(pc)
    pc = _enum(pc, "institution.price_class", (1, 2, 3), "收费价格类别")
    return Institution(
        code=code, admdvs=iadm, level=level, price_class=pc,
        art_approved=_bool(_opt(rn, "art_approved", False), "institution.art_approved", "是否批准开展辅助生殖"),
        designated_diseases=_codes(_opt(rn, "designated_diseases"), "institution.designated_diseases", "定点救治病种"),
    )


def _family(rf: object) -> FamilyAccount | None:
    if rf is None:
        return None
    rf = _obj(rf, "family_account", {"relation", "balance"}, "家庭共济账户")
    return FamilyAccount(
        relation=_enum(_need(rf, "relation", "family_account.relation", "亲属关系"),
                       "family_account.relation", tuple(RELATIONS), "亲属关系"),
        balance=_amount(_need(rf, "balance", "family_account.balance", "共济账户余额"),
                        "family_account.balance", "共济账户余额", max_dp=2),
    )


def _items(raw_items: object) -> list[Item]:
    if not isinstance(raw_items, list):
        raise InvalidInput("items", "费用明细须为列表")
    if not raw_items:
        raise InvalidInput("items", "费用明细不能为空")
    if len(raw_items) > MAX_ITEMS:
        raise InvalidInput("items", f"费用明细最多 {MAX_ITEMS} 条")
    items = []
    for i, r in enumerate(raw_items):
        f = f"items[{i}]"
        r = _obj(r, f, ITEM_FIELDS, "费用明细")
        pay_std = _opt(r, "pay_std")
        fee = _opt(r, "fee_category")
        items.append(Item(
            code=_text(_need(r, "code", f"{f}.code", "项目编码"), f"{f}.code", "项目编码"),
            kind=_enum(_need(r, "kind", f"{f}.kind", "费用类型"), f"{f}.kind", tuple(KINDS), "费用类型"),
            chrgitm_lv=_enum(_need(r, "chrgitm_lv", f"{f}.chrgitm_lv", "支付类别"), f"{f}.chrgitm_lv",
                             tuple(CLASSES), "支付类别"),
            qty=_amount(_need(r, "qty", f"{f}.qty", "数量"), f"{f}.qty", "数量", max_dp=4, positive=True),
            price=_amount(_need(r, "price", f"{f}.price", "单价"), f"{f}.price", "单价", max_dp=4),
            name=_text(_opt(r, "name", ""), f"{f}.name", "项目名称", max_len=NAME_MAX, empty=True),
            pay_std=None if pay_std is None else _amount(pay_std, f"{f}.pay_std", "支付标准", max_dp=4),
            fee_category=None if fee is None else _enum(fee, f"{f}.fee_category", FEE_CATEGORIES, "收费类别"),
            indication_confirmed=_bool(_opt(r, "indication_confirmed", False), f"{f}.indication_confirmed",
                                       "是否已确认限定支付范围（适应症）"),
        ))
    return items


def _history(raw_hist: object, day: date) -> list[HistoryEntry]:
    if not isinstance(raw_hist, list):
        raise InvalidInput("history", "历史结算须为列表")
    if len(raw_hist) > MAX_HISTORY:
        raise InvalidInput("history", f"历史结算最多 {MAX_HISTORY} 条")
    return [_history_entry(r, f"history[{i}]", day) for i, r in enumerate(raw_hist)]


def _history_entry(r: object, f: str, day: date) -> HistoryEntry:
    r = _obj(r, f, HISTORY_FIELDS, "历史结算")
    hday = _date(_need(r, "date", f"{f}.date", "日期"), f"{f}.date", "历史结算日期")
    if hday > day:
        raise InvalidInput(f"{f}.date", f"历史结算日期 {hday} 晚于本次就诊日期 {day}")
    hitems = _opt(r, "items", [])
    if not isinstance(hitems, list):
        raise InvalidInput(f"{f}.items", "历史结算明细须为列表")
    hi = []
    for j, x in enumerate(hitems):
        g = f"{f}.items[{j}]"
        x = _obj(x, g, HISTORY_ITEM_FIELDS, "历史结算明细")
        paid = _opt(x, "fund_paid")
        hi.append(HistoryItem(
            code=_text(_need(x, "code", f"{g}.code", "项目编码"), f"{g}.code", "项目编码"),
            qty=_amount(_need(x, "qty", f"{g}.qty", "数量"), f"{g}.qty", "数量", max_dp=4),
            fund_paid=None if paid is None else _flag(paid, f"{g}.fund_paid", "基金是否支付该项目"),
        ))
    hdis = _opt(r, "disease")
    return HistoryEntry(
        date=hday,
        institution=_text(_need(r, "institution", f"{f}.institution", "机构编码"), f"{f}.institution", "机构编码"),
        benefit=_enum(_need(r, "benefit", f"{f}.benefit", "待遇类别"), f"{f}.benefit", tuple(BENEFITS), "待遇类别"),
        disease=None if hdis is None else _text(hdis, f"{f}.disease", "病种编码"),
        hifp_pay=_amount(_need(r, "hifp_pay", f"{f}.hifp_pay", "统筹基金支付"), f"{f}.hifp_pay", "统筹基金支付", max_dp=2),
        act_pay_dedc=_amount(_need(r, "act_pay_dedc", f"{f}.act_pay_dedc", "起付线"), f"{f}.act_pay_dedc",
                             "实际起付线", max_dp=2),
        items=tuple(hi),
    )


def settlement_to_json(s: Settlement) -> dict:
    out: dict = {f: fmt2(getattr(s, f)) for f in MONEY_FIELDS}
    # keep the contract's field order: pool_prop_selfpay sits after act_pay_dedc
    ordered: dict = {}
    for f in MONEY_FIELDS:
        ordered[f] = out[f]
        if f == "act_pay_dedc":
            ordered["pool_prop_selfpay"] = fmt4(s.pool_prop_selfpay)
    ordered["items"] = [
        {"code": it.code, **{f: fmt2(getattr(it, f)) for f in ITEM_MONEY_FIELDS}} for it in s.items
    ]
    ordered["notices"] = [_notice_json(n) for n in s.notices]
    ordered["trace"] = [
        {"step": t.step, "value": t.value, "basis": t.basis, **({"label": t.label} if t.label else {})}
        for t in s.trace
    ]
    ordered["packs"] = [{"id": i, "version": v} for i, v in s.packs]
    return ordered


def _notice_json(n) -> dict:
    out = {"code": n.code, "message": n.message}
    if n.item:
        out["item"] = n.item
    if n.reason:
        out["reason"] = n.reason
    return out
