"""Reading the price list (本机构收费目录) and the insurance catalogue (医保目录) it is mapped to: item search
for the counter (code, name or pinyin initials), catalogue search for mapping, the line a visit settles
(price, kind, class and payment standard in force on the visit date for the person's region) and the
counts the 收费目录 tab shows. Writes are in `prices` and `catalogue_import`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Boolean, Date, and_, bindparam, func, or_, select, text

from desktop_app.core.model import CLASSES, admdvs_levels
from desktop_app.services.catalogue_rows import CATEGORIES, kind_of_fee_category
from desktop_app.store import models as m
from desktop_app.store.db import Database

# the mapping of a line on a date: in force, not mapped (全自费), mapped to a code not in force (全自费)
MAPPED, UNMAPPED, EXPIRED = "mapped", "unmapped", "expired"
STATUS_LABELS = {MAPPED: "已对照", UNMAPPED: "未对照（全自费）", EXPIRED: "对照的目录编码不在有效期（全自费）"}


@dataclass(frozen=True)
class CatalogueEntry:
    """A catalogue row as the mapping search shows it."""

    code: str
    name: str
    category: str
    category_label: str
    chrgitm_lv: str
    class_label: str
    pay_std: str | None
    limit_text: str
    admdvs: str
    valid_from: date
    valid_until: date | None  # the effective end (the earlier of 结束日期 and a newer import's start)


@dataclass(frozen=True)
class ClinicItemInfo:
    """An item of the price list on a date: its own columns, the price then in force, and its mapping."""

    code: str
    name: str
    pinyin: str
    spec: str
    unit: str
    fee_category: str
    price: str | None  # None: no price in force on that date (a price that starts later)
    ins_code: str
    active: bool
    status: str  # MAPPED / UNMAPPED / EXPIRED
    kind: str  # drug / service / material (from the catalogue; else from the 收费类别)
    chrgitm_lv: str  # 03 when not mapped or expired (全自费)
    pay_std: str | None
    limit_text: str
    ins_name: str


def _effective_end(r: m.InsCatalogueRow) -> date | None:
    ends = [d for d in (r.valid_until, r.superseded_from) if d is not None]
    return min(ends) if ends else None


def _entry(r: m.InsCatalogueRow) -> CatalogueEntry:
    return CatalogueEntry(r.code, r.name, r.category, CATEGORIES.get(r.category, ("", ""))[0], r.chrgitm_lv,
                          CLASSES.get(r.chrgitm_lv, r.chrgitm_lv), r.pay_std, r.limit_text, r.admdvs, r.valid_from,
                          _effective_end(r))


def _in_force(on: date):
    T = m.InsCatalogueRow
    return and_(T.valid_from <= on, or_(T.valid_until.is_(None), T.valid_until > on),
                or_(T.superseded_from.is_(None), T.superseded_from > on))


_IN_FORCE = text(
    "SELECT code, name, category, chrgitm_lv, pay_std, limit_text, admdvs FROM ins_catalogue "
    "WHERE code IN :codes AND admdvs IN :regions AND valid_from <= :on "
    "AND (valid_until IS NULL OR valid_until > :on) AND (superseded_from IS NULL OR superseded_from > :on)"
).bindparams(bindparam("codes", expanding=True), bindparam("regions", expanding=True),
             bindparam("on", type_=Date))


def rows_in_force(s, codes: Iterable[str], on: date, admdvs: str | None) -> dict:
    """The catalogue row (code, name, category, chrgitm_lv, pay_std, limit_text, admdvs) of each code in force
    on `on` for region `admdvs`: county over city over province over the whole-province row ""; None for
    `admdvs` takes the whole-province rows only."""
    codes = sorted(set(c for c in codes if c))
    if not codes:
        return {}
    regions = ("",) + (admdvs_levels(admdvs) if admdvs else ())
    rank = {r: i for i, r in enumerate(reversed(regions))}  # nearest first wins
    best: dict = {}
    for i in range(0, len(codes), 500):
        for r in s.execute(_IN_FORCE, {"codes": codes[i:i + 500], "regions": list(regions), "on": on}):
            cur = best.get(r.code)
            if cur is None or rank[r.admdvs] < rank[cur.admdvs]:
                best[r.code] = r
    return best


def prices_on(s, codes: Iterable[str], on: date) -> dict[str, str]:
    """The unit price of each item in force on `on` (the latest price row starting on or before it)."""
    codes = sorted(set(codes))
    out: dict[str, tuple[date, str]] = {}
    P = m.ClinicItemPrice
    for i in range(0, len(codes), 500):
        for code, price, vf in s.execute(select(P.code, P.price, P.valid_from)
                                         .where(P.code.in_(codes[i:i + 500]), P.valid_from <= on)):
            if code not in out or vf > out[code][0]:
                out[code] = (vf, price)
    return {c: p for c, (_d, p) in out.items()}


def _infos(s, items: list[m.ClinicItem], on: date, admdvs: str | None) -> list[ClinicItemInfo]:
    prices = prices_on(s, [i.code for i in items], on)
    rows = rows_in_force(s, [i.ins_code for i in items], on, admdvs)
    out = []
    for i in items:
        r = rows.get(i.ins_code) if i.ins_code else None
        status = MAPPED if r is not None else (EXPIRED if i.ins_code else UNMAPPED)
        out.append(ClinicItemInfo(
            i.code, i.name, i.pinyin, i.spec, i.unit, i.fee_category, prices.get(i.code), i.ins_code, i.active,
            status, CATEGORIES[r.category][1] if r else kind_of_fee_category(i.fee_category),
            r.chrgitm_lv if r else "03", r.pay_std if r else None, r.limit_text if r else "", r.name if r else ""))
    return out


def clinic_region(s) -> str | None:
    from desktop_app.services.settings import clinic_settings

    return clinic_settings(s).get("clinic_admdvs") or None


def all_items(db: Database, on: date | None = None, *, include_stopped: bool = False) -> list[ClinicItemInfo]:
    on = on or date.today()
    with db.read() as s:
        q = select(m.ClinicItem).order_by(m.ClinicItem.code)
        if not include_stopped:
            q = q.where(m.ClinicItem.active.is_(True))
        return _infos(s, list(s.execute(q).scalars()), on, clinic_region(s))


_SEARCH = text(
    "SELECT i.code, i.name, i.pinyin, i.spec, i.unit, i.fee_category, i.ins_code, i.active, "
    "(SELECT p.price FROM clinic_item_price p WHERE p.code = i.code AND p.valid_from <= :on "
    " ORDER BY p.valid_from DESC LIMIT 1) AS price "
    "FROM clinic_item i WHERE (i.active = :yes OR :stopped = :yes) AND (i.code LIKE :prefix ESCAPE '/' "
    "OR i.pinyin LIKE :py ESCAPE '/' OR i.name LIKE :part ESCAPE '/') ORDER BY i.code LIMIT :limit"
).bindparams(bindparam("on", type_=Date), bindparam("yes", type_=Boolean), bindparam("stopped", type_=Boolean))


def _like(q: str) -> str:
    return q.replace("/", "//").replace("%", "/%").replace("_", "/_")


def search_items(db: Database, query: str, limit: int = 30, *, on: date | None = None,
                 include_stopped: bool = False) -> list[ClinicItemInfo]:
    """Items whose code or pinyin initials start with `query`, or whose name contains it (the counter types
    into this: one statement for the items and their price, one for their catalogue rows)."""
    q = query.strip()
    if not q:
        return []
    on = on or date.today()
    e = _like(q)
    with db.read() as s:
        rows = s.execute(_SEARCH, {"on": on, "yes": True, "stopped": include_stopped, "prefix": e + "%",
                                   "py": _like(q.lower()) + "%", "part": "%" + e + "%", "limit": limit}).all()
        region = s.execute(select(m.Setting.value).where(m.Setting.key == "clinic_admdvs")).scalar() or None
        cat = rows_in_force(s, [r.ins_code for r in rows], on, region)
    out = []
    for r in rows:
        row = cat.get(r.ins_code) if r.ins_code else None
        status = MAPPED if row is not None else (EXPIRED if r.ins_code else UNMAPPED)
        out.append(ClinicItemInfo(
            r.code, r.name, r.pinyin, r.spec, r.unit, r.fee_category, r.price, r.ins_code, bool(r.active), status,
            CATEGORIES[row.category][1] if row else kind_of_fee_category(r.fee_category),
            row.chrgitm_lv if row else "03", row.pay_std if row else None, row.limit_text if row else "",
            row.name if row else ""))
    return out


def search_catalogue(db: Database, query: str, limit: int = 50, *, on: date | None = None) -> list[CatalogueEntry]:
    """Catalogue rows in force on `on` whose code or pinyin initials start with `query` or whose name contains it."""
    q = query.strip()
    if not q:
        return []
    on = on or date.today()
    T = m.InsCatalogueRow
    with db.read() as s:
        rows = s.execute(select(T).where(_in_force(on), or_(
            T.code.startswith(q, autoescape=True), T.pinyin.startswith(q.lower(), autoescape=True),
            T.name.contains(q, autoescape=True))).order_by(T.code, T.admdvs).limit(limit)).scalars()
        return [_entry(r) for r in rows]


def catalogue_history(db: Database, code: str) -> list[CatalogueEntry]:
    """Every row of a catalogue code, oldest first (what each date settles with)."""
    T = m.InsCatalogueRow
    with db.read() as s:
        return [_entry(r) for r in s.execute(select(T).where(T.code == code).order_by(T.admdvs, T.valid_from, T.id))
                .scalars()]


@dataclass(frozen=True)
class PriceListCounts:
    items: int  # active items
    stopped: int
    unmapped: int  # active items without a 医保目录编码 (全自费)
    expired: list[str]  # active items whose mapped code has no catalogue row in force today (clinic's region)
    no_price: list[str]  # active items with no price in force today
    catalogue_rows: int
    catalogue_codes_in_force: int
    unmapped_names: tuple[str, ...] = ()  # the unmapped ones, `名称（编码）`, in price-list order


def counts(db: Database, on: date | None = None) -> PriceListCounts:
    on = on or date.today()
    infos = all_items(db, on, include_stopped=True)
    active = [i for i in infos if i.active]
    T = m.InsCatalogueRow
    with db.read() as s:
        total = s.execute(select(func.count()).select_from(T)).scalar() or 0
        in_force = s.execute(select(func.count(func.distinct(T.code))).where(_in_force(on))).scalar() or 0
    return PriceListCounts(len(active), len(infos) - len(active), sum(1 for i in active if i.status == UNMAPPED),
                           [i.code for i in active if i.status == EXPIRED], [i.code for i in active if i.price is None],
                           total, in_force, tuple(f"{i.name}（{i.code}）" for i in active if i.status == UNMAPPED))
