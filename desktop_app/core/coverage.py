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

from desktop_app.core.policy import FAR_FUTURE, KEY_LABELS, Pack, PolicySet

# What an open (另行制定) parameter does at settlement time, for `packs check`.
OPEN_EFFECT: dict[str, str] = {
    "basic_annual_cap": "不阻止结算：基本医保与大额/大病的分担记为无法确定",
    "family_doctor_fee_share": "明细含家庭医生签约服务费项目时报 policy_parameter_missing",
}
OPEN_EFFECT_DEFAULT = "结算时报 policy_parameter_missing"


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
            rows.append(CoverageRow(pack.admdvs, pack.id, benefit, insutype, disease, a, b, cite,
                                    tuple(dict.fromkeys(opens))))
    return rows
