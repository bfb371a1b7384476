"""Policy packs (政策包): vocabulary, types, the county → city → province chain.

A pack is a folder (or a .zip of one) holding

- ``pack.toml``  — manifest: id, 医保区划 code, parent pack, version, the documents
  it encodes (number, start, expiry);
- ``params.toml`` — dated parameters ``[[param]]``: a known key, selectors that say
  to whom it applies, a value (or ``open = true`` where the document leaves it to
  another one), a half-open validity ``[from, until)`` and a required citation
  (document number + clause);
- ``items.csv``, ``institutions.csv``, ``diseases.csv`` — catalogues.

See ``docs/policy-packs.md`` for the format. Reading and validating the files
is ``pack_files.py`` (manifest, parameters, finding and caching) and
``pack_rows.py`` (the CSV catalogues); every problem found is reported with its
file and line, and a pack with a problem is never used.

This module holds the parameter vocabulary, the pack types, the merged chain
per region and its coverage: data and lookups only; the calculation steps live
in ``engine.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from desktop_app.core.model import (
    BENEFITS,
    CATEGORIES,
    DELIVERIES,
    INSUTYPES,
    KINDS,
    LEVELS,
    admdvs_levels,
)
from desktop_app.errors import Refused

FAR_FUTURE = date(9999, 12, 31)

# --------------------------------------------------------------------------
# The closed list of parameter keys: value type and a Chinese label.
# A key not in this list is a validation error (never a silent zero).
# --------------------------------------------------------------------------
KEY_TYPES: dict[str, str] = {
    "in_force": "bool",
    "annual_cap": "money",
    "quarterly_cap": "money",
    "basic_annual_cap": "money",
    "deductible": "money",
    "deductible_per": "enum:visit,day_institution",
    "ratio": "ratio",
    "ratio_floor": "ratio",
    "cross_province_ratio_reduction": "ratio",
    "class_b_selfpay_share": "ratio",
    "delivery_limit": "money",
    "prenatal_lump_sum": "money",
    "waiting_days": "int",
    "family_doctor_fee_share": "ratio",
    "covered_kinds": "kinds",
    "catalogue_only": "bool",
    "requires_registration": "bool",
    "requires_designation": "bool",
    "requires_art_approval": "bool",
    "over_cap_to_critical_fund": "bool",
    "account_usable": "bool",
    "family_account_relations": "relations",
    "designation_levels": "levels",
    "service_fee_categories": "fee_categories",
    "settle_range_counties": "admdvs_list",
    "coverage_year_by_payment": "bool",
}

KEY_LABELS: dict[str, str] = {
    "in_force": "待遇生效",
    "annual_cap": "年度最高支付限额",
    "quarterly_cap": "季度支付限额",
    "basic_annual_cap": "基本医保年度最高支付限额",
    "deductible": "起付标准",
    "deductible_per": "起付标准计算方式",
    "ratio": "统筹基金支付比例",
    "ratio_floor": "支付比例下限",
    "cross_province_ratio_reduction": "跨省就医支付比例降低",
    "class_b_selfpay_share": "乙类先行自付比例",
    "delivery_limit": "生育医疗费限额支付标准",
    "prenatal_lump_sum": "围产保健定额",
    "waiting_days": "待遇等待期(天)",
    "family_doctor_fee_share": "家庭医生签约服务费基金支付比例",
    "covered_kinds": "支付范围(费用类型)",
    "catalogue_only": "仅支付目录内项目",
    "requires_registration": "须登记备案病种",
    "requires_designation": "须在定点救治医疗机构",
    "requires_art_approval": "须在批准开展辅助生殖技术的定点机构",
    "over_cap_to_critical_fund": "超基本医保限额部分由大额/大病保险支付",
    "account_usable": "个人账户可支付",
    "family_account_relations": "家庭共济允许的亲属关系",
    "designation_levels": "定点救治医疗机构须为的级别",
    "service_fee_categories": "诊疗项目限于的收费类别",
    "settle_range_counties": "门诊统筹就医结算范围（县域参保地）",
    "coverage_year_by_payment": "待遇保障期按缴费期间确定",
}

BOOL = (True, False)
SELECTORS: dict[str, object] = {
    "benefit": tuple(BENEFITS),
    "insutype": tuple(INSUTYPES),
    "category": tuple(CATEGORIES),
    "level": tuple(LEVELS),
    "price_class": tuple(range(1, 4)),
    "disease": None,  # any disease code (checked against diseases.csv of the chain)
    "delivery": tuple(DELIVERIES),
    "cross_province": BOOL,
    "family_doctor": BOOL,
    "kind": tuple(KINDS),
}
# A citation: document number, then the clause (晋医保发〔2023〕16号 一); a 医保区划 code.
CITE = re.compile(r"^(?P<doc>\S+?〔\d{4}〕\d+号)\s+(?P<clause>\S.*)$")
ADMDVS = re.compile(r"^\d{6}$")


class _Open:
    """Marker: the document leaves this value to another document (另行制定)."""

    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "OPEN"

    def __reduce__(self):
        return (_Open, ())


OPEN = _Open()


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class PackInvalid(Refused):
    """A pack (or a set of packs) failed validation; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems), code="invalid_pack")
        self.extra = {"problems": [str(p) for p in self.problems]}


@dataclass(frozen=True, slots=True)
class Document:
    number: str
    title: str
    issuer: str
    issued: date | None
    effective: date
    expires: date | None
    validity: str
    bounded_by: tuple[str, ...]
    pack_id: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    selectors: tuple[tuple[str, object], ...]
    value: object  # Decimal | bool | int | str | tuple | OPEN
    start: date
    end: date  # exclusive; FAR_FUTURE when open-ended
    cite: str
    note: str
    pack_id: str
    file: str
    line: int

    @property
    def doc_number(self) -> str:
        m = CITE.match(self.cite)
        return m.group("doc") if m else self.cite

    @property
    def is_open(self) -> bool:
        return self.value is OPEN


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    name: str
    benefit: str
    kind: str
    chrgitm_lv: str
    pay_std: Decimal | None
    max_count: int | None
    count_scope: str
    category: str
    start: date
    end: date
    cite: str
    note: str
    pack_id: str
    indication: str = ""  # 限定支付范围 text: the fund pays the line only once the clerk confirms it


@dataclass(frozen=True, slots=True)
class InstitutionRow:
    code: str
    name: str
    admdvs: str
    level: str
    price_class: int | None
    art_approved: bool
    designated_diseases: tuple[str, ...]
    start: date
    end: date
    cite: str
    note: str
    pack_id: str


@dataclass(frozen=True, slots=True)
class Disease:
    code: str
    name: str
    benefit: str
    criteria: str
    cite: str
    note: str
    pack_id: str


@dataclass(slots=True)
class Pack:
    id: str
    name: str
    admdvs: str
    parent: str
    version: str
    level: str
    note: str
    path: str
    content_hash: str
    documents: dict[str, Document] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    items: list[CatalogueItem] = field(default_factory=list)
    institutions: list[InstitutionRow] = field(default_factory=list)
    diseases: list[Disease] = field(default_factory=list)


# --------------------------------------------------------------------------
# A set of packs and the resolved chain per region
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Candidate:
    param: Param
    specificity: int
    depth: int


class Chain:
    """The packs that apply to one 参保地 (county → city → province), merged for lookups."""

    def __init__(self, packs: list[Pack], documents: dict[str, Document], doc_end: dict[str, date]):
        self.packs = packs  # most specific first
        self.documents = documents
        self.doc_end = doc_end
        depth = {p.id: len(packs) - 1 - i for i, p in enumerate(packs)}
        index: dict[str, list[_Candidate]] = {}
        for pack in packs:
            for prm in pack.params:
                index.setdefault(prm.key, []).append(_Candidate(prm, len(prm.selectors), depth[pack.id]))
        for cands in index.values():
            cands.sort(key=lambda c: (-c.specificity, -c.depth))
        self._index = index
        self.keys = frozenset(index)  # the parameter keys this chain has
        items: dict[tuple[str, str], list[tuple[int, CatalogueItem]]] = {}
        for pack in packs:
            for it in pack.items:
                items.setdefault((it.benefit, it.code), []).append((depth[pack.id], it))
        for lst in items.values():
            lst.sort(key=lambda t: -t[0])
        self._items = items
        self._catalogue_benefits = {b for (b, _c) in items}
        self._institutions: dict[str, list[InstitutionRow]] | None = None

    @property
    def pack_versions(self) -> list[tuple[str, str]]:
        return [(p.id, p.version) for p in reversed(self.packs)]

    def resolve(self, key: str, ctx: dict, on: date) -> Param | None:
        """The parameter in force on `on` that applies to `ctx`: most specific, then deepest pack."""
        for c in self._index.get(key, ()):
            p = c.param
            if p.start <= on < p.end:
                for s, v in p.selectors:
                    if ctx.get(s) != v:
                        break
                else:
                    return p
        return None

    def params(self, key: str) -> list[Param]:
        return [c.param for c in self._index.get(key, ())]

    def catalogue_item(self, benefit: str, code: str, on: date) -> CatalogueItem | None:
        for _d, it in self._items.get((benefit, code), ()):
            if it.start <= on < it.end:
                return it
        return None

    def has_catalogue(self, benefit: str) -> bool:
        return benefit in self._catalogue_benefits

    def institution_rows(self, code: str) -> list[InstitutionRow]:
        """The rows of the chain's institution lists with this institution code, each with its validity
        clipped to the document it cites (rows without a code — a document naming a hospital without
        giving its code — are never matched)."""
        index = self._institutions
        if index is None:
            index = self._institutions = {}
            for pack in self.packs:
                for row in pack.institutions:
                    if row.code:
                        index.setdefault(row.code, []).append(self._clip_row(row))
        return index.get(code, [])

    def _clip_row(self, row: InstitutionRow) -> InstitutionRow:
        num = CITE.match(row.cite).group("doc")
        doc = self.documents.get(num)
        if doc is None:
            return row
        start = row.start if row.start != date.min else doc.effective
        end = min(row.end, self.doc_end[num])
        return dataclasses.replace(row, start=start, end=end)

    def disease(self, code: str) -> Disease | None:
        for pack in self.packs:
            for d in pack.diseases:
                if d.code == code:
                    return d
        return None


class PolicySet:
    """Every loaded pack, validated together; gives the chain for a 参保地."""

    def __init__(self, packs: Iterable[Pack]):
        self.packs: dict[str, Pack] = {}
        for p in packs:
            self.packs[p.id] = p  # a later pack with the same id replaces the earlier one
        self.by_admdvs: dict[str, Pack] = {}
        problems: list[Problem] = []
        for p in self.packs.values():
            other = self.by_admdvs.get(p.admdvs)
            if other is not None:
                problems.append(Problem(p.path, 0, f"政策包 {p.id} 与 {other.id} 的医保区划同为 {p.admdvs}"))
            self.by_admdvs[p.admdvs] = p
        for p in self.packs.values():
            if p.parent and p.parent not in self.packs:
                problems.append(Problem(f"{p.path}/pack.toml", 0, f"上级政策包 {p.parent} 未加载"))
        if not problems:
            for p in self.packs.values():
                problems.extend(self._check_chain(p))
        if problems:
            raise PackInvalid(problems)
        self._chains: dict[str, Chain | None] = {}
        self.content_hash = hashlib.sha256(
            "".join(sorted(p.content_hash for p in self.packs.values())).encode()).hexdigest()

    def ancestry(self, pack: Pack) -> list[Pack]:
        out, seen = [pack], {pack.id}
        while out[-1].parent:
            nxt = self.packs[out[-1].parent]
            if nxt.id in seen:
                break
            seen.add(nxt.id)
            out.append(nxt)
        return out

    def _documents(self, chain: list[Pack]) -> dict[str, Document]:
        docs: dict[str, Document] = {}
        for pack in reversed(chain):
            docs.update(pack.documents)
        return docs

    @staticmethod
    def _doc_ends(docs: dict[str, Document]) -> dict[str, date]:
        ends: dict[str, date] = {}

        def end(n: str, stack: tuple = ()) -> date:
            if n in ends:
                return ends[n]
            d = docs[n]
            e = d.expires or FAR_FUTURE
            for b in d.bounded_by:
                if b in docs and b not in stack:
                    e = min(e, end(b, (*stack, n)))
            ends[n] = e
            return e

        for n in docs:
            end(n)
        return ends

    def _check_chain(self, pack: Pack) -> list[Problem]:
        problems: list[Problem] = []
        chain = self.ancestry(pack)
        if len(chain) > 1 and len({p.id for p in chain}) != len(chain):  # pragma: no cover
            problems.append(Problem(pack.path, 0, "上级政策包形成循环"))
        docs = self._documents(chain)
        for d in pack.documents.values():
            for b in d.bounded_by:
                if b not in docs:
                    problems.append(Problem(d.file, d.line, f"bounded_by 引用了未列出的文件 {b}"))
        ends = self._doc_ends(docs)
        diseases = {d.code for p in chain for d in p.diseases}
        for prm in pack.params:
            num = prm.doc_number
            doc = docs.get(num)
            if doc is None:
                problems.append(Problem(prm.file, prm.line, f"出处引用的文件 {num} 未在本包或上级包的清单中列出"))
                continue
            dend = ends[num]
            if prm.start != date.min and prm.start < doc.effective:
                problems.append(Problem(prm.file, prm.line,
                                        f"参数 {prm.key} 自 {prm.start} 起，早于所引文件 {num} 的执行日期 {doc.effective}"))
            if prm.end != FAR_FUTURE and prm.end > dend:
                problems.append(Problem(prm.file, prm.line,
                                        f"参数 {prm.key} 至 {prm.end}，晚于所引文件 {num} 的失效日期 {dend}"))
            sel = dict(prm.selectors)
            if "disease" in sel and sel["disease"] not in diseases:
                problems.append(Problem(prm.file, prm.line, f"病种 {sel['disease']} 不在病种目录中"))
        problems.extend(_row_citations(pack, docs))
        problems.extend(_ratios_below_floor(pack, chain))
        return problems

    def chain_for(self, admdvs: str) -> Chain | None:
        """County pack over its city pack over its province pack; None when no pack covers the region."""
        if admdvs in self._chains:
            return self._chains[admdvs]
        pack = None
        for code in admdvs_levels(admdvs):
            pack = self.by_admdvs.get(code)
            if pack is not None:
                break
        chain = None
        if pack is not None:
            packs = self.ancestry(pack)
            docs = self._documents(packs)
            ends = self._doc_ends(docs)
            packs = [_clip_to_documents(p, docs, ends) for p in packs]
            chain = Chain(packs, docs, ends)
        self._chains[admdvs] = chain
        return chain


def _row_citations(pack: Pack, docs: dict[str, Document]) -> list[Problem]:
    """Catalogue, institution and disease rows citing a document the chain does not list."""
    problems = []
    for cat in (pack.items, pack.institutions):
        for row in cat:
            num = CITE.match(row.cite).group("doc")
            if num not in docs:
                problems.append(Problem(f"{pack.path}", 0, f"目录行 {row.code or row.name} 的出处文件 {num} 未列出"))
    for d in pack.diseases:
        num = CITE.match(d.cite).group("doc")
        if num not in docs:
            problems.append(Problem(f"{pack.path}", 0, f"病种 {d.code} 的出处文件 {num} 未列出"))
    return problems


def _ratios_below_floor(pack: Pack, chain: list[Pack]) -> list[Problem]:
    """A ratio below a floor that applies to it (e.g. 职工普通门诊 不低于50%)."""
    problems = []
    full = [q for p in chain for q in p.params]
    for floor in (q for q in full if q.key == "ratio_floor" and not q.is_open):
        fsel = set(floor.selectors)
        for r in pack.params:
            if r.key == "ratio" and not r.is_open and fsel <= set(r.selectors) \
                    and r.start < floor.end and floor.start < r.end and r.value < floor.value:
                problems.append(Problem(r.file, r.line,
                                        f"支付比例 {r.value} 低于 {floor.cite} 规定的下限 {floor.value}"))
    return problems


def _clip_to_documents(pack: Pack, docs: dict[str, Document], ends: dict[str, date]) -> Pack:
    """Fill each value's open start/end from the document it cites (values end with their document)."""
    params = []
    for p in pack.params:
        d = docs.get(p.doc_number)
        if d is None:
            params.append(p)
            continue
        start = p.start if p.start != date.min else d.effective
        end = min(p.end, ends[d.number])
        if start != p.start or end != p.end:
            p = Param(p.key, p.selectors, p.value, start, end, p.cite, p.note, p.pack_id, p.file, p.line)
        params.append(p)
    items = []
    for it in pack.items:
        num = CITE.match(it.cite).group("doc")
        d = docs.get(num)
        if d is not None:
            start = it.start if it.start != date.min else d.effective
            end = min(it.end, ends[num])
            it = dataclasses.replace(it, start=start, end=end)
        items.append(it)
    clipped = Pack(pack.id, pack.name, pack.admdvs, pack.parent, pack.version, pack.level, pack.note,
                   pack.path, pack.content_hash, pack.documents, params, items,
                   pack.institutions, pack.diseases)
    return clipped


def designated_diseases_for(policy: PolicySet, inst_code: str, admdvs: str, on: date) -> tuple[str, ...]:
    """The disease codes (病种编码) for which the signed packs' institution lists name `inst_code` a
    定点救治医疗机构 on `on`, looked up in the pack chain of the region `admdvs` (the institution's own
    医保区划 for a clinic's designation; the engine also asks with the insured person's 参保地, where a
    county pack may give the codes of hospitals a document names without one). Empty when no list names
    the code. The documents' rule on the level (二级及以上) is not applied here: the engine applies it."""
    chain = policy.chain_for(admdvs)
    if chain is None or not inst_code:
        return ()
    out: dict[str, None] = {}
    for row in chain.institution_rows(inst_code):
        if row.start <= on < row.end:
            out.update(dict.fromkeys(row.designated_diseases))
    return tuple(out)
