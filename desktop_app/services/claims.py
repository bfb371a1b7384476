"""History and claims: what the engine is given for a visit, and the receipt data frozen with it.

- History for the engine = the centre's snapshot (待遇累计 as of the end of the
  person's 截至日期) + local settlements of the same year that are not in it and
  have not been reversed: those of a business day after 截至日期, and every one
  made after the snapshot was imported (`Person.updated_at`) — so a 截至日期 of
  today or (in an old database) in the future neither skips nor double-counts
  anything (docs/roster.md). Reversed settlements give their caps back.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select

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
    HistoryEntry,
    HistoryItem,
    admdvs_levels,
    region_name,
)
from desktop_app.services import packs as packs_service
from desktop_app.services.ledger_types import LedgerError, VisitInput
from desktop_app.services.settings import clinic_settings
from desktop_app.services.visit_lines import claim_lines
from desktop_app.services.visit_rules import check_bounds, check_diagnosis
from desktop_app.store import models as m
from desktop_app.store.db import Database

CENTRE = "医保中心"


# ---------------------------------------------------------------------------
# History and claims
# ---------------------------------------------------------------------------
def history_for(s, person: m.Person, visit_date: date) -> list[HistoryEntry]:
    """The person's earlier fund use in the visit's year (and earlier years' item counts)."""
    year = visit_date.year
    out: list[HistoryEntry] = []
    snap = s.execute(select(m.UsageSnapshot).where(m.UsageSnapshot.psn_no == person.psn_no)).scalars().all()
    for u in snap:
        items = (HistoryItem(u.item_code, Decimal(u.count)),) if u.item_code and u.count else ()
        if u.year == year:
            d = caps.quarter_start(year, u.quarter) if u.quarter else date(year, 1, 1)
            out.append(HistoryEntry(min(d, visit_date), CENTRE, u.benefit, u.disease or None,
                                    u.fund_paid, Decimal("0.00"), items))
        elif u.year < year and items:
            # 累计 counts (e.g. 辅助生殖 3 次/人) carry across years; no money does.
            out.append(HistoryEntry(date(year, 1, 1), CENTRE, u.benefit, u.disease or None,
                                    Decimal("0.00"), Decimal("0.00"), items))
    reversed_ids = select(m.Settlement.original_id).where(m.Settlement.original_id.is_not(None))
    local = s.execute(
        select(m.Settlement).where(
            m.Settlement.psn_no == person.psn_no,
            m.Settlement.kind == "settle",
            # not in the centre's figures: after their day, or made after they were imported
            or_(m.Settlement.business_date > person.as_of, m.Settlement.created_at >= person.updated_at),
            m.Settlement.visit_date >= date(year, 1, 1),
            m.Settlement.visit_date <= date(year, 12, 31),
            m.Settlement.id.not_in(reversed_ids),
        )
    ).scalars().all()
    for st in local:
        items = tuple(HistoryItem(i.code, Decimal(i.qty)) for i in st.items)
        out.append(HistoryEntry(st.visit_date, st.institution, st.benefit, st.disease or None,
                                st.hifp_pay, st.act_pay_dedc, items))
    return out


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
                              "（设置中的机构编码、级别、收费价格类别、定点病种）计算，不能在就诊信息中改动；"
                              "请删去 institution", field="institution", code="invalid_input")


_MISSING = object()


def _claim_dict(s, visit: VisitInput, person: m.Person) -> tuple[dict, list[dict]]:
    """The contract claim (without history) from a visit and the person's record, and the notices about its
    lines (visit_lines). The institution is always this clinic's stored settings."""
    inst = clinic_settings(s).institution()
    if visit.institution is not None:
        _same_clinic(visit.institution, inst)
    items, notices = claim_lines(s, visit.items, visit.date, person.admdvs)
    contribution = None
    if person.paid_on is not None:
        contribution = {"paid_on": person.paid_on.isoformat(), "in_extended_period": person.pay_period == "延长",
                        "waiting_exempt": bool(person.waiting_exempt)}
    return {
        "date": visit.date.isoformat(),
        "benefit": visit.benefit,
        "disease": visit.disease,
        "delivery": visit.delivery,
        "insured": {
            "insutype": person.insutype, "category": person.category, "admdvs": person.admdvs,
            "family_doctor_at": person.family_doctor_at or None,
            "registered_diseases": [d.disease for d in person.diseases],
            "contribution": contribution,
            "acct_balance": str(person.acct_balance),
        },
        "institution": inst,
        "use_account": visit.use_account,
        "family_account": visit.family_account,
        "items": items,
    }, notices


def _history_json(h: list[HistoryEntry]) -> list[dict]:
    return [{"date": e.date.isoformat(), "institution": e.institution, "benefit": e.benefit, "disease": e.disease,
             "hifp_pay": str(e.hifp_pay), "act_pay_dedc": str(e.act_pay_dedc),
             "items": [{"code": i.code, "qty": str(i.qty)} for i in e.items]} for e in h]


def compute(s, db: Database, visit: VisitInput) -> tuple[m.Person, dict, dict]:
    person, claim, result, _h, _p = compute_full(s, db, visit)
    return person, claim, result


def compute_full(s, db: Database, visit: VisitInput):
    person = s.get(m.Person, visit.psn_no)
    if person is None:
        raise LedgerError(f"找不到人员编号 {visit.psn_no}", field="psn_no", code="not_found")
    claim, line_notices = _claim_dict(s, visit, person)
    history = history_for(s, person, visit.date)
    try:
        parsed, _ = parse_claim(claim)
    except InvalidInput as exc:
        raise LedgerError(exc.message, field=exc.field, code="invalid_input") from None
    check_bounds(parsed.items, clinic_settings(s))
    try:
        policy = packs_service.policy(db, s)
    except packs_service.PackTampered as exc:
        raise LedgerError(exc.message, code="pack_tampered") from None
    except packs_service.SyncRefused as exc:
        raise LedgerError(exc.message, code="no_packs") from None
    try:
        result = engine_settle(parsed, history, policy)
    except PolicyError as exc:
        raise LedgerError(exc.message, code=exc.code) from None
    out = settlement_to_json(result)
    out["notices"] = out["notices"] + line_notices  # 全自费 (not mapped, expired), 限定支付范围
    hashes = {pid: pk.content_hash for pid, pk in policy.packs.items()}
    out["packs"] = [{**p, "content_hash": hashes.get(p["id"], "")} for p in out["packs"]]
    claim["history"] = _history_json(history)
    return person, claim, out, history, policy


def receipt_snapshot(s, person, visit, claim, result, history, policy, settings, op) -> dict:
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
    paid = caps.year_paid(caps.scope(history, visit.benefit, visit.disease)) + Decimal(result["hifp_pay"])
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
    }
