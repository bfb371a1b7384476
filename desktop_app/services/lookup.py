"""Finding an insured person, and the summary the clerk sees.

One query box takes: a scanned 医保电子凭证 / card-reader text, an ID number,
a 人员编号, the last 4–6 digits of an ID number, a name (the name exactly, then
names starting with it, then names containing it) or pinyin (initials `zs`, full
`zhangsan`; Latin letters and digits of a name are part of its keys: 维生素C → wssc). Prefix searches are range scans on indexed columns (`>= q AND < q+1`),
which SQLite and PostgreSQL both serve from a b-tree. A name containing the query is found through
`store/search.py` (on SQLite an FTS5 trigram index; elsewhere a plain LIKE), with the same hits either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, literal_column, select

from desktop_app.core import caps
from desktop_app.core.model import BENEFITS, CATEGORIES, INSUTYPES, region_name
from desktop_app.core.money import q2
from desktop_app.privacy import mask_id
from desktop_app.services import packs as packs_service
from desktop_app.services import regions
from desktop_app.store import models as m
from desktop_app.store import search as name_search
from desktop_app.store.db import Database

_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｙｚ　",
                           "0123456789XxABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz ")
_ID_IN_TEXT = re.compile(r"(?<![0-9])(\d{17}[\dXx])(?![0-9Xx])")
LIMIT = 50


@dataclass(frozen=True)
class PersonHit:
    psn_no: str
    name: str
    id_masked: str
    gender: str
    birth_date: date
    insutype: str
    admdvs: str
    matched_by: str


@dataclass(frozen=True)
class BenefitUsage:
    benefit: str
    benefit_label: str
    disease: str
    year: int
    fund_paid: Decimal  # this year: centre snapshot + local settlements after 截至日期
    annual_cap: Decimal | None
    annual_remaining: Decimal | None
    quarter: int
    quarter_paid: Decimal
    quarterly_cap: Decimal | None
    quarterly_remaining: Decimal | None
    basis: str  # citation of the cap(s)
    cap_open: bool = False  # the cap is left open by the documents
    cap_note: str = ""  # how to read the cap when there is no plain figure


@dataclass(frozen=True)
class PersonSummary:
    psn_no: str
    name: str
    id_masked: str
    id_full: str | None
    gender: str
    birth_date: date
    age: int
    insutype: str
    insutype_label: str
    category: str
    category_label: str
    admdvs: str
    region: str
    family_doctor_at: str
    registered_diseases: list[tuple[str, str]]
    acct_balance: Decimal
    as_of: date
    paid_on: date | None
    pay_period: str
    waiting_exempt: bool
    benefits: list[BenefitUsage] = field(default_factory=list)
    contrib_year: int | None = None  # 缴费年度: the year the (latest) contribution pays for


def normalise(q: str) -> str:
    return q.translate(_FULLWIDTH).strip()


def _prefix(col, q: str):
    """col starts with q, as an index range (portable; no LIKE collation surprises)."""
    return and_(col >= q, col < q + "\U0010ffff")


def search(db: Database, query: str, *, limit: int = LIMIT) -> list[PersonHit]:
    q = normalise(query)
    if not q:
        return []
    with db.read() as s:
        return _search(s, q, limit)


_HIT_COLS = (m.Person.psn_no, m.Person.name, m.Person.id_no, m.Person.gender, m.Person.birth_date,
             m.Person.insutype, m.Person.admdvs)


def _hits(rows, how: str) -> list[PersonHit]:
    return [PersonHit(p.psn_no, p.name, mask_id(p.id_no), p.gender, p.birth_date, p.insutype, p.admdvs, how)
            for p in rows]


def _rows(s, *where, order=None, limit: int | None = None):
    """Only the columns a hit shows (no ORM objects, no relationship loads)."""
    q = select(*_HIT_COLS).where(*where)
    if order is not None:
        q = q.order_by(*order)
    if limit is not None:
        q = q.limit(limit)
    return s.execute(q).all()


def _search(s, q: str, limit: int) -> list[PersonHit]:
    compact = re.sub(r"\s+", "", q)
    exact = _exact_keys(s, compact)
    if exact is not None:
        return exact
    # scanned text (医保电子凭证 / card reader): an ID number or 人员编号 inside it
    if len(compact) > 18 or any(c in compact for c in ":|;=&?"):
        return _scanned(s, compact)
    if re.fullmatch(r"\d+|\d{3,5}[Xx]", compact):
        hits = []
        if 4 <= len(compact) <= 6:  # the last 4–6 digits of the ID number (read off the card)
            tail = func.substr(m.Person.id_no, literal_column(str(19 - len(compact))))  # ix_person_id_tail4/5/6
            hits = _hits(_rows(s, tail == compact.upper(),
                               order=(m.Person.name, m.Person.psn_no), limit=limit), f"身份证后{len(compact)}位")
        if compact.isdigit() and len(hits) < limit:
            hits += _hits(_rows(s, _prefix(m.Person.psn_no, compact), order=(m.Person.psn_no,), limit=limit),
                          "人员编号前缀")
        return _unique(hits)[:limit]
    hits = _by_name(s, compact, limit)
    if compact.isascii() and compact.isalnum() and len(hits) < limit:
        hits += _by_pinyin(s, compact.lower(), limit)
    return _unique(hits)[:limit]


def _exact_keys(s, compact: str) -> list[PersonHit] | None:
    """An ID number or a 人员编号, exactly (None: not one of those)."""
    if re.fullmatch(r"\d{17}[\dXx]", compact):
        rows = _rows(s, m.Person.id_no == compact.upper())
        if rows:
            return _hits(rows, "身份证号")
    if re.fullmatch(r"[0-9A-Za-z]{1,32}", compact):
        rows = _rows(s, m.Person.psn_no == compact)
        if rows:
            return _hits(rows, "人员编号")
    return None


def _scanned(s, compact: str) -> list[PersonHit]:
    for idn in _ID_IN_TEXT.findall(compact):
        rows = _rows(s, m.Person.id_no == idn.upper())
        if rows:
            return _hits(rows, "扫码")
    for token in re.split(r"[^0-9A-Za-z]+", compact):
        if 6 <= len(token) <= 32:
            rows = _rows(s, m.Person.psn_no == token)
            if rows:
                return _hits(rows, "扫码")
    return []


def _by_name(s, compact: str, limit: int) -> list[PersonHit]:
    """The name exactly first, then names that start with it, then names that contain it."""
    hits = _hits(_rows(s, m.Person.name == compact, order=(m.Person.psn_no,), limit=limit), "姓名")
    if len(hits) < limit:
        rows = _rows(s, _prefix(m.Person.name, compact), m.Person.name != compact,
                     order=(m.Person.name, m.Person.psn_no), limit=limit)
        hits += _hits(rows, "姓名前缀")
    if len(hits) < limit and not (compact.isascii() and compact.isalnum()):
        seen = {h.psn_no for h in hits}
        more = name_search.name_contains(s, _HIT_COLS, compact, limit)
        hits += _hits([p for p in more if p.psn_no not in seen][: limit - len(hits)], "姓名包含")
    return hits


def _by_pinyin(s, key: str, limit: int) -> list[PersonHit]:
    psns = s.execute(select(m.PersonKey.psn_no).where(_prefix(m.PersonKey.key, key))
                     .order_by(m.PersonKey.key, m.PersonKey.psn_no).limit(limit * 3)).scalars().all()
    psns = list(dict.fromkeys(psns))[:limit]
    if not psns:
        return []
    by = {p.psn_no: p for p in _rows(s, m.Person.psn_no.in_(psns))}
    return _hits([by[x] for x in psns if x in by], "拼音")


def _unique(hits: list[PersonHit]) -> list[PersonHit]:
    seen: set[str] = set()
    return [h for h in hits if not (h.psn_no in seen or seen.add(h.psn_no))]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def summary(db: Database, psn_no: str, *, on: date | None = None) -> PersonSummary:
    """What the clerk sees: identity (ID masked; `reveal_id` is how a supervisor sees it whole), coverage, usage
    and caps."""
    on = on or date.today()
    from desktop_app.services.claims import history_for

    with db.read() as s:
        p = s.get(m.Person, psn_no)
        if p is None:
            raise LookupError(f"找不到人员编号 {psn_no}")
        disease_names = {d.code: d.name for d in s.execute(select(m.PackDisease)).scalars()}
        region_names = dict(s.execute(select(m.PolicyPack.admdvs, m.PolicyPack.name)).all())
        history = history_for(s, p, on)
        try:
            policy = packs_service.policy(db, s)
        except packs_service.SyncRefused:
            policy = None
        benefits = _usage(p, history, policy, on)
        region = regions.name(p.admdvs) or region_name(region_names, p.admdvs)
        return PersonSummary(
            psn_no=p.psn_no, name=p.name, id_masked=mask_id(p.id_no), id_full=None,
            gender=p.gender, birth_date=p.birth_date, age=_age(p.birth_date, on), insutype=p.insutype,
            insutype_label=INSUTYPES.get(p.insutype, p.insutype), category=p.category,
            category_label=CATEGORIES.get(p.category, p.category), admdvs=p.admdvs, region=region,
            family_doctor_at=p.family_doctor_at,
            registered_diseases=[(d.disease, disease_names.get(d.disease, "")) for d in p.diseases],
            acct_balance=p.acct_balance, as_of=p.as_of, paid_on=p.paid_on, pay_period=p.pay_period,
            waiting_exempt=p.waiting_exempt, benefits=benefits, contrib_year=p.contrib_year,
        )


def reveal_id(db: Database, psn_no: str, *, actor: str, via: str) -> str:
    """显示完整证件号: the full ID number, for a supervisor only, as a deliberate act recorded in the audit trail
    (who, whose, from where — the trail keeps the masked number, never the full one)."""
    from desktop_app.errors import Refused
    from desktop_app.services import audit
    from desktop_app.services.accounts import require_supervisor

    with db.write() as s:
        require_supervisor(s, actor, "查看完整证件号")
        p = s.get(m.Person, psn_no)
        if p is None:
            raise Refused(f"找不到人员编号 {psn_no}", field="psn_no", code="not_found")
        audit.append(s, actor, "id_reveal", psn_no, {"id": mask_id(p.id_no), "via": via})
        return p.id_no


def _usage(p: m.Person, history, policy, on: date) -> list[BenefitUsage]:
    if policy is None:
        return []
    chain = policy.chain_for(p.admdvs)
    if chain is None:
        return []
    out = []
    combos = []
    for prm in chain.params("in_force"):
        sel = dict(prm.selectors)
        if sel.get("insutype", p.insutype) != p.insutype:
            continue
        disease = sel.get("disease")
        if disease and disease not in {d.disease for d in p.diseases}:
            continue
        combos.append((sel.get("benefit"), disease))
    for benefit, disease in dict.fromkeys(combos):
        ctx = {"benefit": benefit, "insutype": p.insutype, "category": p.category, "disease": disease}
        f = chain.resolve("in_force", ctx, on)
        if f is None or f.value is not True:
            continue
        scope = caps.scope(history, benefit, disease)
        paid = caps.year_paid(scope)
        qpaid = caps.quarter_paid(scope, on)
        cap = chain.resolve("annual_cap", ctx, on)
        qcap = chain.resolve("quarterly_cap", ctx, on)
        cap_v = None if cap is None or cap.is_open else cap.value
        qcap_v = None if qcap is None or qcap.is_open else qcap.value
        basic = chain.resolve("basic_annual_cap", ctx, on)
        note = ""
        if cap is not None and cap.is_open:
            note = f"年度限额由 {cap.cite} 留待另行制定"
        elif cap is None and basic is not None:
            note = ("计入基本医保年度最高支付限额（文件未给出数额）" if basic.is_open
                    else f"计入基本医保年度最高支付限额 {basic.value} 元")
        elif cap is None:
            note = "无年度限额"
        basis = "；".join(x.cite for x in (cap, qcap, basic) if x is not None)
        out.append(BenefitUsage(
            benefit=benefit, benefit_label=BENEFITS.get(benefit, benefit), disease=disease or "", year=on.year,
            fund_paid=q2(paid), annual_cap=cap_v,
            annual_remaining=None if cap_v is None else caps.cap_left(cap_v, paid),
            quarter=caps.quarter_number(on), quarter_paid=q2(qpaid), quarterly_cap=qcap_v,
            quarterly_remaining=None if qcap_v is None else caps.cap_left(qcap_v, qpaid),
            basis=basis, cap_open=cap is not None and cap.is_open, cap_note=note,
        ))
    return out


def count_persons(db: Database) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.Person)).scalar_one()
