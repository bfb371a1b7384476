"""Claims: what the engine is given for a visit, and the receipt data frozen with it.

- The history (`services/history.py`): the visit's year in full, earlier years' lines of items with a
  lifetime count limit.
- The institution: this clinic's settings, its 定点救治病种 from the signed packs' institution lists
  (`designated_diseases`).
- The insured: the roster (family-doctor contract, contribution and the year it pays for).
- The items: the price list (fee category) and what the clerk confirmed (indication).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from desktop_app.core import caps
from desktop_app.core.claim_io import (
    InvalidInput,
    parse_claim,
    settlement_to_json,
)
from desktop_app.core.engine import PolicyError
from desktop_app.core.engine import settle as engine_settle
from desktop_app.core.model import (
    BENEFITS,
    INSUTYPES,
    admdvs_levels,
    region_name,
)
from desktop_app.core.policy import designated_diseases_for as _core_designated
from desktop_app.services import history
from desktop_app.services import packs as packs_service
from desktop_app.services.ledger_types import LedgerError, VisitInput
from desktop_app.services.settings import clinic_settings
from desktop_app.services.visit_lines import claim_lines
from desktop_app.services.visit_rules import check_bounds, check_diagnosis
from desktop_app.store import models as m
from desktop_app.store.db import Database

# ---------------------------------------------------------------------------
# History (services/history.py) and claims
# ---------------------------------------------------------------------------
history_for = history.history_for  # the visit's year (the person pane); the engine gets `history.entries_for`


def designated_diseases(policy, code: str, admdvs: str, on: date) -> list[str]:
    """病种 for which institution `code` (in region `admdvs`) is a 定点救治医疗机构 on `on`: the rows of the signed
    packs' institution lists (institutions.csv in the pack chain of the institution's region) that carry
    this 机构编码 — never a value the clinic sets for itself. The engine decides whether the designation
    counts at the clinic's level (晋医保发〔2024〕3号: M01904 only at 二级及以上)."""
    return sorted(_core_designated(policy, code, admdvs, on))


def _same_clinic(named: object, inst: dict) -> None:
    """A visit settles at this clinic, as its settings say: a visit that names an institution may only
    name this one, exactly as stored (level, price class, designations decide what the fund pays)."""
    if not isinstance(named, dict):
        raise LedgerError("institution 须为 JSON 对象，且只能是本机构（可省略：结算总按本机构设置）",
                          field="institution", code="invalid_input")
    for key, value in named.items():
        mine = inst.get(key, _MISSING)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)  # a JSON number read exactly
        if key == "designated_diseases" and isinstance(value, list):
            value = sorted(value)
            mine = sorted(mine)
        if mine is _MISSING or value != mine or type(value) is not type(mine):
            shown = "未知字段" if mine is _MISSING else f"本机构为 {json.dumps(mine, ensure_ascii=False)}"
            raise LedgerError(f"就诊信息中的机构 institution.{key} 与本机构设置不符（{shown}）：结算总按本机构"
                              "（设置中的机构编码、级别、收费价格类别，已签名政策包机构名单中的定点病种）计算，"
                              "不能在就诊信息中改动；"
                              "请删去 institution", field="institution", code="invalid_input")


_MISSING = object()


def contribution(person: m.Person, visit_date: date) -> dict | None:
    """The contract's `insured.contribution` from the roster: the (latest) payment, its period and the year it
    pays for (缴费年度). A visit in a year after the year paid for is given that payment, so the pack's
    待遇保障期 (洛医保〔2023〕63号 六(二)) decides that it is not covered; for a visit in a year before it the
    roster says nothing about that year's payment, and none is given."""
    if person.paid_on is None:
        return None
    if person.contrib_year is not None and visit_date.year < person.contrib_year:
        return None
    return {"paid_on": person.paid_on.isoformat(), "in_extended_period": person.pay_period == "延长",
            "waiting_exempt": bool(person.waiting_exempt)}


def _claim_dict(s, visit: VisitInput, person: m.Person, policy) -> tuple[dict, list[dict]]:
    """The contract claim (without history) from a visit and the person's record, and the notices about its
    lines (visit_lines). The institution is always this clinic's stored settings, designated as the signed
    packs say."""
    inst = clinic_settings(s).institution()
    inst["designated_diseases"] = designated_diseases(policy, inst["code"], inst["admdvs"], visit.date)
    if visit.institution is not None:
        _same_clinic(visit.institution, inst)
    items, notices = claim_lines(s, visit.items, visit.date, person.admdvs)
    return {
        "date": visit.date.isoformat(),
        "benefit": visit.benefit,
        "disease": visit.disease,
        "delivery": visit.delivery,
        "insured": {
            "insutype": person.insutype, "category": person.category, "admdvs": person.admdvs,
            "family_doctor_at": person.family_doctor_at or None,
            "registered_diseases": [d.disease for d in person.diseases],
            "contribution": contribution(person, visit.date),
            "acct_balance": str(person.acct_balance),
        },
        "institution": inst,
        "use_account": visit.use_account,
        "family_account": visit.family_account,
        "items": items,
    }, notices


def indication_text(cat) -> str:
    """The 限定支付范围 of a pack catalogue item: its `indication` column (calc round 2), or — for a pack that
    still keeps it in the note — the note from 「限：」 on; "" when the item has none."""
    text = getattr(cat, "indication", "") or ""
    if text:
        return text
    note = cat.note or ""
    at = note.find("限：")
    return note[at:] if at >= 0 else ""


def limits(policy, person: m.Person, visit: VisitInput) -> dict[str, str]:
    """code → 限定支付范围 text, for the visit's lines whose item in the person's pack chain gives one."""
    chain = policy.chain_for(person.admdvs)
    out: dict[str, str] = {}
    for it in visit.items if chain is not None else ():
        cat = chain.catalogue_item(visit.benefit, it.code, visit.date)
        text = indication_text(cat) if cat is not None else ""
        if text:
            out[it.code] = text
    return out


def unconfirmed(visit: VisitInput, lims: dict[str, str], claim: dict) -> list[dict]:
    """The lines with a 限定支付范围 the clerk did not confirm (frozen on the receipt)."""
    names = {it["code"]: it.get("name") or "" for it in claim["items"]}
    return [{"code": it.code, "name": names.get(it.code, ""), "limit": lims[it.code]}
            for it in visit.items if it.code in lims and not it.indication_confirmed]


def compute(s, db: Database, visit: VisitInput) -> tuple[m.Person, dict, dict]:
    person, claim, result, _h, _p = compute_full(s, db, visit)
    return person, claim, result


def _policy(db: Database, s):
    try:
        return packs_service.policy(db, s)
    except packs_service.PackTampered as exc:
        raise LedgerError(exc.message, code="pack_tampered") from None
    except packs_service.SyncRefused as exc:
        raise LedgerError(exc.message, code="no_packs") from None


def compute_full(s, db: Database, visit: VisitInput):
    person = s.get(m.Person, visit.psn_no)
    if person is None:
        raise LedgerError(f"找不到人员编号 {visit.psn_no}", field="psn_no", code="not_found")
    policy = _policy(db, s)
    claim, line_notices = _claim_dict(s, visit, person, policy)
    entries = history.entries_for(s, person, visit.date, history.lifetime_codes(policy, person.admdvs))
    try:
        parsed, _ = parse_claim(claim)
    except InvalidInput as exc:
        raise LedgerError(exc.message, field=exc.field, code="invalid_input") from None
    check_bounds(parsed.items, clinic_settings(s))
    hist = history.to_core(entries, visit.date)
    try:
        result = engine_settle(parsed, hist, policy)
    except PolicyError as exc:
        raise LedgerError(exc.message, code=exc.code) from None
    out = settlement_to_json(result)
    out["notices"] = out["notices"] + line_notices  # 全自费 (not mapped, expired), 限定支付范围
    hashes = {pid: pk.content_hash for pid, pk in policy.packs.items()}
    out["packs"] = [{**p, "content_hash": hashes.get(p["id"], "")} for p in out["packs"]]
    claim["history"] = history.to_json(entries, visit.date)
    return person, claim, out, hist, policy


def receipt_snapshot(s, person, visit, claim, result, hist, policy, settings, op) -> dict:
    """The receipt's header data and year-to-date figures, frozen at settlement."""
    from desktop_app.core.model import CATEGORIES
    from desktop_app.privacy import mask_id
    from desktop_app.services import regions

    region = regions.name(person.admdvs) or region_name(dict(s.execute(
        select(m.PolicyPack.admdvs, m.PolicyPack.name).where(m.PolicyPack.admdvs.in_(admdvs_levels(person.admdvs))))
        .all()), person.admdvs)
    units = {}
    for it in claim["items"]:
        ci = s.get(m.ClinicItem, it["code"])
        units[it["code"]] = {"spec": ci.spec if ci else "", "unit": ci.unit if ci else ""}
    disease_name = ""
    if visit.disease:
        disease_name = s.execute(select(m.PackDisease.name).where(m.PackDisease.code == visit.disease)).scalar() or ""
    ytd = None
    chain = policy.chain_for(person.admdvs)
    ctx = {"benefit": visit.benefit, "insutype": person.insutype, "category": person.category,
           "disease": visit.disease}
    cap = chain.resolve("annual_cap", ctx, visit.date) if chain else None
    year = history.this_year(hist, visit.date)
    paid = caps.year_paid(caps.scope(year, visit.benefit, visit.disease)) + Decimal(result["hifp_pay"])
    ytd = {"year": visit.date.year, "fund_paid": str(paid)}
    if cap is not None and not cap.is_open:
        ytd.update(annual_cap=str(cap.value), remaining=str(caps.cap_left(cap.value, paid)), basis=cap.cite)
    return {
        "clinic_name": settings.clinic_name, "clinic_code": settings.clinic_code,
        "name": person.name, "gender": person.gender, "id_masked": mask_id(person.id_no), "psn_no": person.psn_no,
        "insutype_label": INSUTYPES.get(person.insutype, person.insutype),
        "category_label": CATEGORIES.get(person.category, person.category),
        "admdvs": person.admdvs, "region": region,
        "benefit_label": BENEFITS.get(visit.benefit, visit.benefit), "disease": visit.disease or "",
        "disease_name": disease_name, "operator_name": op.name, "ytd": ytd,
        "diagnosis": check_diagnosis(visit.diagnosis), "item_units": units,
        **({"unconfirmed": gaps} if (gaps := unconfirmed(visit, limits(policy, person, visit), claim)) else {}),
    }
