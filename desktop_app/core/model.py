"""Domain dataclasses of a claim (what the clerk enters) and of its settlement.

Field names of the result follow the national platform's settlement output
(2206/2207 `setlinfo`), as `docs/calc.md` fixes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

BENEFITS: dict[str, str] = {
    "general_outpatient": "普通门诊统筹",
    "chronic_special": "门诊慢特病",
    "assisted_reproduction": "治疗性辅助生殖",
    "two_diseases": "高血压/糖尿病门诊用药",
    "maternity_delivery": "生育住院分娩",
}
INSUTYPES: dict[str, str] = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}
# 全自费: a settlement that uses no insurance at all (a person not in the roster, a benefit whose parameters are
# open, or the patient's choice). A ledger benefit, not an engine one: the calc contract (docs/calc.md) does not
# know it; the ledger stores it with insutype "" so every report counts it apart (docs/ledger.md).
SELF_PAY = "self_pay"
SELF_PAY_LABEL = "全自费（未使用医保）"
NO_INSUTYPE_LABEL = "自费"


def benefit_label(code: str) -> str:
    """A stored settlement's benefit as reports show it (全自费 included)."""
    return SELF_PAY_LABEL if code == SELF_PAY else BENEFITS.get(code, code)


def insutype_label(code: str) -> str:
    """A stored settlement's 险种 as reports show it ("" for 全自费: no insurance used)."""
    return INSUTYPES.get(code, code) or NO_INSUTYPE_LABEL
CATEGORIES: dict[str, str] = {
    "employee_active": "在职",
    "employee_retired": "退休",
    "resident": "城乡居民",
    "student": "大学生",
}
LEVELS: dict[str, str] = {"primary": "基层", "county": "县级(含一级)", "city": "市级及以上"}
PRICE_CLASSES: dict[int, str] = {1: "一类", 2: "二类", 3: "三类"}
DELIVERIES: dict[str, str] = {"natural": "自然分娩", "cesarean": "剖宫产"}
KINDS: dict[str, str] = {"drug": "药品", "service": "诊疗项目", "material": "医用耗材"}
CLASSES: dict[str, str] = {"01": "甲类", "02": "乙类", "03": "丙类"}
# The receipt groups (收费类别) a claim line may name in `fee_category` (docs/calc.md).
FEE_CATEGORIES: tuple[str, ...] = ("西药费", "中成药费", "中药饮片费", "诊查费", "检查费", "化验费", "治疗费",
                                   "手术费", "卫生材料费", "其他费")
RELATIONS: dict[str, str] = {
    "spouse": "配偶",
    "parent": "父母",
    "child": "子女",
    "sibling": "兄弟姐妹",
    "grandparent": "祖父母/外祖父母",
    "grandchild": "孙子女/外孙子女",
    "other": "其他",
}



def admdvs_levels(admdvs: str) -> tuple[str, str, str]:
    """A 医保区划 code, its city's (xxxx00) and its province's (xx0000): nearest first.

    Where a region's policy pack and its name are looked up."""
    return (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000")


def region_name(names: Mapping[str, str], admdvs: str) -> str:
    """The name of the nearest region of `admdvs` that `names` (code → name) names, or ""."""
    for code in admdvs_levels(admdvs):
        name = names.get(code)
        if name:
            return name
    return ""


NOTICE_CODES = (
    "waiting_period",
    "disease_not_registered",
    "institution_not_designated",
    "item_limit_reached",
    "annual_cap_reached",
    "quarterly_cap_reached",
    "family_account_relation_not_allowed",
)
# The reasons a notice may carry beside its code (the contract's code list is fixed; the reason says
# which rule within it): docs/policy-notes.md, "Notices".
NOTICE_REASONS: dict[str, str] = {
    "count_limit": "医保基金支付次数已满",
    "indication_not_confirmed": "限定支付范围（适应症）未确认",
    "fee_category_missing": "缺少收费类别，无法判断是否属于本待遇的支付范围",
    "fee_category_not_covered": "收费类别不在本待遇的支付范围内",
    "kind_not_covered": "费用类型不在本待遇的支付范围内",
    "ordinary_benefit": "不属于本待遇的项目，按基本医疗保险有关规定（普通门诊）结算",
    "level_not_designated": "机构级别不符合定点救治医疗机构的要求",
    "not_designated": "不是定点救治医疗机构",
    "art_not_approved": "未经批准开展人类辅助生殖技术",
    "outside_settle_range": "不在参保地门诊统筹就医结算范围内",
    "not_covered_year": "不在待遇保障期内",
    "waiting": "待遇等待期内",
}


@dataclass(slots=True, frozen=True)
class Contribution:
    paid_on: date
    in_extended_period: bool
    waiting_exempt: bool


@dataclass(slots=True, frozen=True)
class Insured:
    insutype: str
    category: str
    admdvs: str
    family_doctor_at: str | None = None
    registered_diseases: tuple[str, ...] = ()
    contribution: Contribution | None = None
    acct_balance: Decimal = Decimal("0.00")


@dataclass(slots=True, frozen=True)
class Institution:
    code: str
    admdvs: str
    level: str
    price_class: int
    art_approved: bool = False
    designated_diseases: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Item:
    code: str
    kind: str
    chrgitm_lv: str
    qty: Decimal
    price: Decimal
    name: str = ""
    pay_std: Decimal | None = None
    fee_category: str | None = None  # one of FEE_CATEGORIES, when the clinic's price list gives it
    indication_confirmed: bool = False  # the clerk confirmed the line's 限定支付范围 / indication


@dataclass(slots=True, frozen=True)
class FamilyAccount:
    relation: str
    balance: Decimal


@dataclass(slots=True, frozen=True)
class HistoryItem:
    code: str
    qty: Decimal
    # did the fund pay for this line? None: as the contract's default — yes when the entry's
    # hifp_pay > 0. Only paid lines count towards a 「医保基金支付次数」 limit.
    fund_paid: bool | None = None


@dataclass(slots=True, frozen=True)
class HistoryEntry:
    """One earlier settlement of the same person: of the visit's year for the caps and the per-day
    deductible, of any earlier year for lifetime item counts (ART 「累计不超过3次」)."""

    date: date
    institution: str
    benefit: str
    disease: str | None
    hifp_pay: Decimal
    act_pay_dedc: Decimal
    items: tuple[HistoryItem, ...] = ()


@dataclass(slots=True, frozen=True)
class Claim:
    date: date
    benefit: str
    insured: Insured
    institution: Institution
    items: tuple[Item, ...]
    disease: str | None = None
    delivery: str | None = None
    use_account: bool = True
    family_account: FamilyAccount | None = None


@dataclass(slots=True)
class ItemResult:
    code: str
    det_item_fee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal


@dataclass(slots=True, frozen=True)
class Notice:
    """A notice of the contract (`code` from NOTICE_CODES). `item`: the code of the line it concerns,
    when it concerns one; `reason`: a machine-readable reason within the code (NOTICE_REASONS) — both
    are written to the result only when set."""

    code: str
    message: str
    item: str = ""
    reason: str = ""


@dataclass(slots=True, frozen=True)
class TraceStep:
    """One step that changed an amount, with the document number and clause behind it."""

    step: str
    value: str
    basis: str
    label: str = ""


@dataclass(slots=True)
class Settlement:
    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    pool_prop_selfpay: Decimal
    hifp_pay: Decimal
    hifmi_pay: Decimal
    hifob_pay: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    items: list[ItemResult]
    notices: list[Notice] = field(default_factory=list)
    trace: list[TraceStep] = field(default_factory=list)
    packs: list[tuple[str, str]] = field(default_factory=list)


MONEY_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifmi_pay",
    "hifob_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
)
ITEM_MONEY_FIELDS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)

# How a money field is called. MONEY_LABELS is the receipt's wording (docs/receipts.md), also the
# settle screen's; MONEY_SHORT is for narrow columns (xlsx reports, the day report PDF).
MONEY_LABELS: dict[str, str] = {
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费",
    "overlmt_selfpay": "超限价自费",
    "preselfpay_amt": "乙类先行自付",
    "inscp_scp_amt": "政策范围内",
    "act_pay_dedc": "起付线",
    "hifp_pay": "统筹基金支付",
    "hifmi_pay": "居民大病保险",
    "hifob_pay": "职工大额补助",
    "fund_pay_sumamt": "基金合计",
    "psn_part_amt": "个人负担",
    "acct_pay": "个人账户支付",
    "acct_mulaid_pay": "家庭共济支付",
    "psn_cash_pay": "个人现金支付",
}
MONEY_SHORT: dict[str, str] = {
    **MONEY_LABELS,
    "hifp_pay": "统筹基金",
    "acct_pay": "个人账户",
    "acct_mulaid_pay": "家庭共济",
    "psn_cash_pay": "个人现金",
}
# hifmi_pay + hifob_pay in one figure (the receipt: a person has one or the other)
CRITICAL_FUNDS_LABEL = "大病保险/大额补助"

# The steps the engine writes into the trace (TraceStep.step), in the order they can occur.
TRACE_STEPS = (
    "coverage_period",
    "waiting_period",
    "settle_range",
    "disease_not_registered",
    "institution_not_designated",
    "catalogue_class",
    "fulamt_ownpay",
    "item_limit",
    "overlmt",
    "preselfpay",
    "deductible",
    "delivery_limit",
    "ratio",
    "cross_province",
    "pool_fund",
    "quarterly_cap",
    "annual_cap",
    "prenatal_lump_sum",
    "fund_split",
    "family_doctor_fee",
    "acct_pay",
    "acct_mulaid_pay",
)
# The trace steps that explain a money field (the settle screen's 依据 column).
FIELD_STEPS: dict[str, tuple[str, ...]] = {
    "fulamt_ownpay_amt": ("fulamt_ownpay", "item_limit"),
    "overlmt_selfpay": ("overlmt",),
    "preselfpay_amt": ("preselfpay",),
    "act_pay_dedc": ("deductible",),
    "hifp_pay": ("ratio", "cross_province", "pool_fund", "delivery_limit", "annual_cap", "quarterly_cap",
                 "family_doctor_fee", "prenatal_lump_sum", "fund_split"),
    "hifmi_pay": ("fund_split",),
    "hifob_pay": ("fund_split",),
    "acct_pay": ("acct_pay",),
    "acct_mulaid_pay": ("acct_mulaid_pay",),
}
