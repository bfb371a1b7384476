"""SQLAlchemy 2.0 typed models.

Nothing here is SQLite-only: the county centre runs the same schema on
PostgreSQL. Money is integer fen (`Money`); quantities and unit prices that may
carry more than two decimals are exact decimal text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from desktop_app.store.types import Money

# 收费类别 of a price-list line: the ten receipt groups of the calc contract (items[].fee_category)
try:
    from desktop_app.core.model import FEE_CATEGORIES
except ImportError:  # pragma: no cover - until calc round 2 (h-peng) is merged
    FEE_CATEGORIES = ("西药费", "中成药费", "中药饮片费", "诊查费", "检查费", "化验费", "治疗费", "手术费", "卫生材料费",
                      "其他费")


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Clinic settings (clinic code and name, default institution attributes, printer…)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class Operator(Base):
    __tablename__ = "operator"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PolicyPack(Base):
    """A synced policy pack: its identity, version, content hash and exact files."""

    __tablename__ = "policy_pack"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    admdvs: Mapped[str] = mapped_column(String(6), unique=True)
    parent: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[datetime] = mapped_column(DateTime)
    files: Mapped[list[PackFile]] = relationship(back_populates="pack", cascade="all, delete-orphan")


class PackFile(Base):
    __tablename__ = "pack_file"
    pack_id: Mapped[str] = mapped_column(ForeignKey("policy_pack.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    pack: Mapped[PolicyPack] = relationship(back_populates="files")


class PackParam(Base):
    """Parameters of synced packs, for display and reports (the engine reads the pack files)."""

    __tablename__ = "pack_param"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(ForeignKey("policy_pack.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    selectors: Mapped[str] = mapped_column(Text)  # JSON
    value: Mapped[str | None] = mapped_column(Text)  # JSON; NULL when open (另行制定)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    cite: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")


class CatalogueItem(Base):
    """Payable items from the packs (e.g. the 13 assisted-reproduction items)."""

    __tablename__ = "catalogue_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(ForeignKey("policy_pack.id", ondelete="CASCADE"), index=True)
    benefit: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    pay_std: Mapped[str | None] = mapped_column(String(32))
    max_count: Mapped[int | None] = mapped_column(Integer)
    count_scope: Mapped[str] = mapped_column(String(16), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    cite: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")


class PackInstitution(Base):
    __tablename__ = "pack_institution"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(ForeignKey("policy_pack.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(128))
    admdvs: Mapped[str] = mapped_column(String(6), default="")
    level: Mapped[str] = mapped_column(String(16), default="")
    price_class: Mapped[int | None] = mapped_column(Integer)
    art_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    designated_diseases: Mapped[str] = mapped_column(String(256), default="")
    cite: Mapped[str] = mapped_column(String(128))


class PackDisease(Base):
    __tablename__ = "pack_disease"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(ForeignKey("policy_pack.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    benefit: Mapped[str] = mapped_column(String(32))
    criteria: Mapped[str] = mapped_column(Text, default="")
    cite: Mapped[str] = mapped_column(String(128))


class InsCatalogueImport(Base):
    """One import of the insurance catalogue (医保目录): who, when, which file (its SHA-256), how many rows."""

    __tablename__ = "ins_catalogue_import"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(128))
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)


class InsCatalogueRow(Base):
    """A row of the insurance catalogue: one code, its class and payment standard for a date interval
    (half-open) and a region ("" = the whole province). Never edited: a later import that names the same
    code and region from date F on stamps `superseded_from` = F on the older rows (their effective end is
    the earlier of `valid_until` and `superseded_from`), so visits before F keep the older row."""

    __tablename__ = "ins_catalogue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("ins_catalogue_import.id"))
    code: Mapped[str] = mapped_column(String(50))  # 医保目录编码
    name: Mapped[str] = mapped_column(String(200))
    pinyin: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(3))  # 目录类别 101/102/103/201/301
    chrgitm_lv: Mapped[str] = mapped_column(String(2))  # 01 甲 / 02 乙 / 03 丙
    pay_std: Mapped[str | None] = mapped_column(String(32))  # 支付标准 per unit, yuan (exact decimal text)
    limit_text: Mapped[str] = mapped_column(Text, default="")  # 限定支付范围
    admdvs: Mapped[str] = mapped_column(String(6), default="")  # 医保区划; "" = whole province
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    superseded_from: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        Index("ix_ins_catalogue_code", "code", "admdvs", "valid_from"),
        Index("ix_ins_catalogue_pinyin", "pinyin"),
    )


class ClinicItem(Base):
    """The clinic's own price list (本机构收费目录) the clerk picks items from. Kind, class and payment
    standard come from the insurance catalogue row `ins_code` maps to; the price from `ClinicItemPrice`.
    An item is stopped (停用), never deleted."""

    __tablename__ = "clinic_item"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)  # 机构项目编码
    name: Mapped[str] = mapped_column(String(128))
    pinyin: Mapped[str] = mapped_column(String(64), index=True)  # initials, e.g. amxlja
    # 收费类别 (the receipt group), one of FEE_CATEGORIES (calc contract items[].fee_category); NULL when unknown
    fee_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    unit: Mapped[str] = mapped_column(String(16), default="")
    spec: Mapped[str] = mapped_column(String(64), default="")  # 规格
    ins_code: Mapped[str] = mapped_column(String(50), default="", index=True)  # 医保目录编码; "" = not covered
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ClinicItemPrice(Base):
    """单价 of an item from a date on (in force until the next row of the item)."""

    __tablename__ = "clinic_item_price"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("clinic_item.code"))
    price: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(32), default="")
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_clinic_item_price"),)


class Person(Base):
    """An insured person from the roster (花名册), with the centre's snapshot date."""

    __tablename__ = "person"
    psn_no: Mapped[str] = mapped_column(String(32), primary_key=True)  # 人员编号
    id_no: Mapped[str] = mapped_column(String(18), unique=True)  # 身份证号
    name: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str] = mapped_column(String(1))  # 男 / 女
    birth_date: Mapped[date] = mapped_column(Date)
    insutype: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(20))
    admdvs: Mapped[str] = mapped_column(String(6))
    paid_on: Mapped[date | None] = mapped_column(Date)
    pay_period: Mapped[str] = mapped_column(String(8), default="")  # 集中 / 延长
    contrib_year: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 缴费年度: the year paid for
    waiting_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    family_doctor_at: Mapped[str] = mapped_column(String(32), default="")
    acct_balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    as_of: Mapped[date] = mapped_column(Date)  # 截至日期 of the centre's snapshot
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    diseases: Mapped[list[PersonDisease]] = relationship(cascade="all, delete-orphan", lazy="selectin")


# The last 4, 5 and 6 characters of the ID number (read off the card by the clerk): `substr(id_no, 19 - n)`
# equals the typed digits — an index seek instead of `LIKE '%1234'` over every person (migration 0006).
ID_TAILS = (4, 5, 6)
for _n in ID_TAILS:
    Index(f"ix_person_id_tail{_n}", func.substr(Person.id_no, literal_column(str(19 - _n))))


class PersonDisease(Base):
    __tablename__ = "person_disease"
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no", ondelete="CASCADE"), primary_key=True)
    disease: Mapped[str] = mapped_column(String(32), primary_key=True)


class PersonKey(Base):
    """Precomputed search keys: pinyin initials and full pinyin (every reading of polyphones)."""

    __tablename__ = "person_key"
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    __table_args__ = (Index("ix_person_key_key_psn", "key", "psn_no"),)  # pinyin search: ORDER BY key, psn_no


class UsageSnapshot(Base):
    """待遇累计: the centre's year-to-date usage as of the person's 截至日期."""

    __tablename__ = "usage_snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(ForeignKey("person.psn_no", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    benefit: Mapped[str] = mapped_column(String(32))
    disease: Mapped[str] = mapped_column(String(32), default="")
    quarter: Mapped[int | None] = mapped_column(Integer)  # 1..4, or NULL for the whole year
    fund_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    item_code: Mapped[str] = mapped_column(String(32), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)


class Settlement(Base):
    """One settlement or reversal. Never updated except `day_close_id`; never deleted."""

    __tablename__ = "settlement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    setl_no: Mapped[str] = mapped_column(String(48), unique=True)
    request_token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # settle | reverse
    original_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), unique=True)
    # the roster person; NULL for a 全自费 walk-in not in the roster (then walkin_name says who) — 0004
    psn_no: Mapped[str | None] = mapped_column(ForeignKey("person.psn_no"), nullable=True)
    walkin_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    walkin_id: Mapped[str] = mapped_column(String(18), default="", server_default="")  # masked: 1423**********9365
    walkin_gender: Mapped[str] = mapped_column(String(1), default="", server_default="")
    business_date: Mapped[date] = mapped_column(Date)  # the clinic day it belongs to
    visit_date: Mapped[date] = mapped_column(Date)
    benefit: Mapped[str] = mapped_column(String(32))
    disease: Mapped[str] = mapped_column(String(32), default="")
    institution: Mapped[str] = mapped_column(String(32))
    insutype: Mapped[str] = mapped_column(String(3))
    admdvs: Mapped[str] = mapped_column(String(6))
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_selfpay: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    act_pay_dedc: Mapped[Decimal] = mapped_column(Money)
    pool_prop_selfpay: Mapped[str] = mapped_column(String(8))
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    hifmi_pay: Mapped[Decimal] = mapped_column(Money)
    hifob_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    psn_part_amt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    claim_json: Mapped[str] = mapped_column(Text)  # the claim as settled (contract form, history included)
    result_json: Mapped[str] = mapped_column(Text)  # the full result: items, notices, trace, packs
    packs: Mapped[str] = mapped_column(Text)  # JSON [{id, version, content_hash}]
    # what the receipt prints, frozen at settlement: clinic, person identity (ID masked),
    # labels, operator name, year-to-date figures — a reprint never reads today's roster
    receipt_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    operator: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    day_close_id: Mapped[int | None] = mapped_column(ForeignKey("day_close.id"))
    items: Mapped[list[SettlementItem]] = relationship(cascade="all", order_by="SettlementItem.seq")
    __table_args__ = (
        Index("ix_settlement_psn_visit", "psn_no", "visit_date"),
        Index("ix_settlement_business_date", "business_date"),
        CheckConstraint("psn_no IS NOT NULL OR walkin_name <> ''", name="ck_settlement_person_or_walkin"),
    )


class SetlCounter(Base):
    """The last settlement number given for one clinic and day (`prefix` = "CLINIC-YYYYMMDD-"): the next one
    is taken with one upsert that locks this row to the end of the transaction (services/numbering.py)."""

    __tablename__ = "setl_counter"
    prefix: Mapped[str] = mapped_column(String(48), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CountyExport(Base):
    """County centre: one clinic export (对账导出) ingested, known by its manifest's SHA-256."""

    __tablename__ = "county_export"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(32))
    fixmedins_name: Mapped[str] = mapped_column(String(128))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    # the last day the export covers (closed at the clinic when exported); None: none of its days
    covered_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    manifest_name: Mapped[str] = mapped_column(String(128))
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)  # rows not already there from an overlapping export
    audit_anchor: Mapped[str] = mapped_column(String(128))
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    ingested_by: Mapped[str] = mapped_column(String(32))


class CountySettlement(Base):
    """County centre: one settlement or reversal of a clinic, as its export line says (docs/export.md)."""

    __tablename__ = "county_settlement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    setl_no: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    original_setl_no: Mapped[str | None] = mapped_column(String(48), index=True)
    original_id: Mapped[int | None] = mapped_column(ForeignKey("county_settlement.id"))
    fixmedins_code: Mapped[str] = mapped_column(String(32))
    psn_no: Mapped[str] = mapped_column(String(32))
    psn_name: Mapped[str] = mapped_column(String(64))
    insutype: Mapped[str] = mapped_column(String(3))
    benefit: Mapped[str] = mapped_column(String(32))
    disease: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    operator: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    pool_prop_selfpay: Mapped[str] = mapped_column(String(8))
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_selfpay: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    act_pay_dedc: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    hifmi_pay: Mapped[Decimal] = mapped_column(Money)
    hifob_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    psn_part_amt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    line_sha256: Mapped[str] = mapped_column(String(64))  # the line's content: the same number twice must match
    export_id: Mapped[int] = mapped_column(ForeignKey("county_export.id"))
    __table_args__ = (
        Index("ix_county_settlement_clinic_day", "fixmedins_code", "business_date"),
        Index("ix_county_settlement_psn_visit", "psn_no", "visit_date"),
    )


class SettlementItem(Base):
    __tablename__ = "settlement_item"
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    fee_category: Mapped[str] = mapped_column(String(16), default="")
    qty: Mapped[str] = mapped_column(String(32))
    price: Mapped[str] = mapped_column(String(32))
    pay_std: Mapped[str | None] = mapped_column(String(32))
    det_item_fee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_amt: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)


class AuditEntry(Base):
    """Append-only, hash-chained: each entry holds the hash of the one before it."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON, never a full ID number or a password
    before_digest: Mapped[str] = mapped_column(String(64), default="")
    after_digest: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DayClose(Base):
    __tablename__ = "day_close"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, unique=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime)
    operator: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    totals_json: Mapped[str] = mapped_column(Text)


__all__ = [
    "Base", "CatalogueItem", "ClinicItem", "ClinicItemPrice", "CountyExport", "CountySettlement", "DayClose",
    "InsCatalogueImport", "InsCatalogueRow", "Operator", "PackDisease", "PackFile", "PackInstitution", "PackParam",
    "Person", "PersonDisease", "PersonKey", "PolicyPack", "SetlCounter", "Setting", "Settlement", "SettlementItem",
    "UsageSnapshot",
]
