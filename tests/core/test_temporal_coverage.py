"""Generated boundary test: for every shipped pack chain and every benefit it covers,
the day before each start and the end day are refused (exit 3 no_policy_in_force),
the start day and the last day are settled (or stop on a parameter the documents
leave open). Every parameter boundary inside a covered range computes without error.
"""

from datetime import date, timedelta

import pytest

from desktop_app.core.calc import calc_one
from desktop_app.core.coverage import coverage
from desktop_app.core.pack_files import load_policy
from desktop_app.core.policy import FAR_FUTURE

POLICY = load_policy()


def eligible_claim(region: str, benefit: str, insutype: str, disease: str, day: date) -> dict:
    category = "employee_active" if insutype == "310" else "resident"
    claim = {
        "date": day.isoformat(),
        "benefit": benefit,
        "insured": {"insutype": insutype, "category": category, "admdvs": region,
                    "registered_diseases": [disease] if disease else []},
        "institution": {"code": "H0001", "admdvs": region, "level": "primary", "price_class": 3,
                        "art_approved": True, "designated_diseases": [disease] if disease else []},
        "items": [{"code": "311201045" if benefit == "assisted_reproduction" else "X1",
                   "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "100.00"}],
    }
    if disease:
        claim["disease"] = disease
    if benefit == "maternity_delivery":
        claim["delivery"] = "natural"
    return claim


def cases():
    out = []
    for pack in POLICY.packs.values():
        rows = coverage(POLICY, pack)
        for r in rows:
            out.append(pytest.param(pack.admdvs, r, id=f"{pack.id}-{r.benefit}-{r.insutype}-{r.disease}-{r.start}"))
    return out


def covered(rows, r, day: date) -> bool:
    return any(x.benefit == r.benefit and x.insutype == r.insutype and x.disease == r.disease
               and x.start <= day < x.end for x in rows)


@pytest.mark.parametrize(("region", "row"), cases())
def test_boundaries(region, row):
    pack = POLICY.by_admdvs[region]
    rows = coverage(POLICY, pack)
    # a county code with no pack of its own must fall back to this pack
    if region.endswith("0000"):
        regions = [region, region[:2] + "0199"]  # e.g. 140199: no 太原 pack → 山西
    elif region.endswith("00"):
        regions = [region, region[:4] + "99"]
    else:
        regions = [region]
    for reg in regions:
        inside = [row.start]
        if row.end != FAR_FUTURE:
            inside.append(row.end - timedelta(days=1))
        for d in inside:
            code, res = calc_one(eligible_claim(reg, row.benefit, row.insutype, row.disease, d), POLICY)
            if code == 3:
                assert res["error"]["code"] == "policy_parameter_missing", (d, res)
                assert row.open_params, "exit 3 inside coverage only where a parameter is open"
            else:
                assert code == 0, (d, res)
                assert res["trace"], "an in-force settlement explains itself"
        outside = [row.start - timedelta(days=1)]
        if row.end != FAR_FUTURE:
            outside.append(row.end)
        for d in outside:
            if covered(rows, row, d):
                continue
            code, res = calc_one(eligible_claim(reg, row.benefit, row.insutype, row.disease, d), POLICY)
            assert code == 3 and res["error"]["code"] == "no_policy_in_force", (d, res)
            assert d.isoformat() in res["error"]["message"]


def test_every_parameter_boundary_computes():
    """Each from/until of every parameter, ±1 day, inside a covered range: no crash, valid result."""
    checked = 0
    for pack in POLICY.packs.values():
        rows = coverage(POLICY, pack)
        chain = POLICY.chain_for(pack.admdvs)
        days = {d for p in (q for pk in chain.packs for q in pk.params) for d in (p.start, p.end)
                if d not in (date.min, FAR_FUTURE)}
        for r in rows:
            for d0 in days:
                for d in (d0 - timedelta(days=1), d0, d0 + timedelta(days=1)):
                    if not (r.start <= d < r.end):
                        continue
                    code, res = calc_one(eligible_claim(pack.admdvs, r.benefit, r.insutype, r.disease, d), POLICY)
                    assert code in (0, 3), res
                    if code == 3:
                        assert res["error"]["code"] == "policy_parameter_missing"
                    checked += 1
    assert checked > 50


def test_expired_wilson_disease_policy_today():
    """晋医保发〔2024〕3号 有效期2年: from 2026-05-01 an M01904 claim has no policy in force."""
    code, res = calc_one(eligible_claim("141102", "chronic_special", "390", "M01904", date(2026, 11, 23)), POLICY)
    assert code == 3 and res["error"]["code"] == "no_policy_in_force"
