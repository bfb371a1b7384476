"""Coverage of a pack by date: what `clinic-settle packs check` prints.

For each benefit (and insurance type, disease) in force for the pack's region, merged over its
chain: the date ranges it is in force, the parameters left open (另行制定) in each range and what
they do at settlement time, and the scope rules of the packs (where a person may settle, whose
designation counts, which lines need a confirmed indication…).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from desktop_app.core.model import KINDS, LEVELS
from desktop_app.core.policy import FAR_FUTURE, KEY_LABELS, Pack, PolicySet

# What an open (另行制定) parameter does at settlement time, for `packs check`.
OPEN_EFFECT: dict[str, str] = {
    "basic_annual_cap": "不阻止结算：基本医保与大额/大病的分担记为无法确定",
    "family_doctor_fee_share": "明细含家庭医生签约服务费项目时报 policy_parameter_missing",
}
OPEN_EFFECT_DEFAULT = "结算时报 policy_parameter_missing"

# Parameters that decide whether the fund may pay at all, or for which lines: listed per range.
SCOPE_KEYS = ("settle_range_counties", "coverage_year_by_payment", "waiting_days", "requires_registration",
              "requires_designation", "designation_levels", "requires_art_approval", "catalogue_only",
              "covered_kinds", "service_fee_categories")


@dataclass(frozen=True, slots=True)
class CoverageRow:
    region: str
    pack_id: str
    benefit: str
    insutype: str
    disease: str
    start: date
    end: date
    cite: str
    open_params: tuple[str, ...]
    rules: tuple[str, ...] = ()  # the scope rules in force in the range (SCOPE_KEYS, catalogue limits)


def coverage(policy: PolicySet, pack: Pack) -> list[CoverageRow]:
    """Date ranges in which each benefit is in force for the region of `pack` (merged over its chain)."""
    chain = policy.chain_for(pack.admdvs)
    assert chain is not None
    combos = set()
    for prm in chain.params("in_force"):
        sel = dict(prm.selectors)
        combos.add((sel.get("benefit", ""), sel.get("insutype", ""), sel.get("disease", "")))
    rows: list[CoverageRow] = []
    all_params = [q for p in chain.packs for q in p.params]
    for benefit, insutype, disease in sorted(combos):
        ctx = {"benefit": benefit, "insutype": insutype, "disease": disease or None}
        points = sorted({d for q in all_params for d in (q.start, q.end) if d not in (date.min, FAR_FUTURE)})
        bounds = [date.min, *points, FAR_FUTURE]
        segs: list[list] = []
        for a, b in itertools.pairwise(bounds):
            prm = chain.resolve("in_force", ctx, a)
            on = prm is not None and prm.value is True
            if on:
                if segs and segs[-1][1] == a and segs[-1][2] == prm.cite:
                    segs[-1][1] = b
                else:
                    segs.append([a, b, prm.cite])
        for a, b, cite in segs:
            opens = []
            for q in all_params:
                if q.is_open and q.start < b and a < q.end:
                    qs = dict(q.selectors)
                    if qs.get("benefit", benefit) == benefit and qs.get("insutype", insutype) == insutype:
                        effect = OPEN_EFFECT.get(q.key, OPEN_EFFECT_DEFAULT)
                        opens.append(f"{KEY_LABELS[q.key]}（{q.key}，{q.cite}）：{effect}")
            rules = _rules(chain, all_params, benefit, insutype, disease, a, b)
            rows.append(CoverageRow(pack.admdvs, pack.id, benefit, insutype, disease, a, b, cite,
                                    tuple(dict.fromkeys(opens)), rules))
    return rows


def _value_text(v: object) -> str:
    if v is True:
        return "是"
    if isinstance(v, tuple):
        return "、".join(_NAMES.get(x, str(x)) for x in v)
    return str(v)


_NAMES = {**KINDS, **LEVELS}


def _rules(chain, all_params, benefit: str, insutype: str, disease: str, a: date, b: date) -> tuple[str, ...]:
    """The scope rules of [a, b) for this benefit: parameters, catalogue count and indication limits,
    designation lists by institution code."""
    out = []
    for q in all_params:
        if q.key in SCOPE_KEYS and not q.is_open and q.start < b and a < q.end:
            qs = dict(q.selectors)
            if qs.get("benefit", benefit) == benefit and qs.get("insutype", insutype) == insutype \
                    and qs.get("disease", disease or None) == (disease or None):
                out.append(f"{KEY_LABELS[q.key]}：{_value_text(q.value)}（{q.key}，{q.cite}）")
    items = [it for p in chain.packs for it in p.items if it.benefit == benefit and it.start < b and a < it.end]
    counted = [it for it in items if it.max_count is not None]
    if counted:
        scopes = "、".join(sorted({"每人累计" if it.count_scope == "person" else "每人每年" for it in counted}))
        out.append(f"基金支付次数限制：{len(counted)} 个项目（{scopes}，{counted[0].cite}）")
    for it in items:
        if it.indication:
            out.append(f"限定支付范围须经确认后基金方可支付：{it.code} {it.name}（{it.cite}）")
    if disease:
        rows = [r for p in chain.packs for r in p.institutions if disease in r.designated_diseases]
        coded = sum(1 for r in rows if r.code)
        if rows:
            out.append(f"定点救治医疗机构名单：{len(rows)} 家，其中 {coded} 家有机构编码可在结算时认定"
                       f"（无编码的按名称列出，结算时以明细 institution.designated_diseases 为准）")
    return tuple(dict.fromkeys(out))
