"""The settlement ledger: pre-settle, settle, reverse, day close.

- History for the engine = the centre's snapshot (待遇累计 as of the person's
  截至日期) + local settlements of the same year made after that date that have
  not been reversed. Reversed settlements give their caps back.
- `settle` runs in one `BEGIN IMMEDIATE` transaction that re-reads the history,
  so two settlements for one person at the same moment cannot both use a cap.
- A request token makes settle and reverse idempotent: the same token twice
  returns the first record. A token is bound to the request it was first used
  for — the same kind of action on the same visit (person, visit date, benefit,
  disease) or the same reversed settlement; used for anything else it is refused
  (`token_reused`) and nothing is written.
- Nothing is edited or deleted: a reversal (冲正) is a new record pointing at
  the original; day close only stamps the day's records with its id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update

from desktop_app.core.claim_io import InvalidInput, parse_claim, settlement_to_json
from desktop_app.core.engine import PolicyError
from desktop_app.core.engine import settle as engine_settle
from desktop_app.core.model import BENEFITS, INSUTYPES, MONEY_FIELDS, HistoryEntry, HistoryItem
from desktop_app.core.money import q2
from desktop_app.errors import Refused
from desktop_app.services import audit
from desktop_app.services import packs as packs_service
from desktop_app.services.settings import clinic_settings
from desktop_app.store import models as m
from desktop_app.store.db import Database

CENTRE = "医保中心"


class LedgerError(Refused):
    """A refusal with a clear Chinese message (`field` names the input when there is one)."""


@dataclass
class ItemInput:
    code: str
    qty: str
    price: str | None = None
    name: str | None = None
    kind: str | None = None
    chrgitm_lv: str | None = None
    pay_std: str | None = None


@dataclass
class VisitInput:
    psn_no: str
    date: date
    benefit: str
    items: list[ItemInput]
    disease: str | None = None
    delivery: str | None = None
    use_account: bool = True
    family_account: dict | None = None
    institution: dict | None = None  # default: this clinic (settings)


@dataclass(frozen=True)
class Preview:
    """A pre-settlement: the engine result as contract JSON, and the claim it was computed on."""

    result: dict
    claim: dict


@dataclass(frozen=True)
class SettlementRecord:
    setl_no: str
    kind: str
    psn_no: str
    person_name: str
    business_date: date
    visit_date: date
    benefit: str
    operator: str
    created_at: datetime
    original_setl_no: str | None
    reversed_by: str | None
    result: dict
    claim_json: str  # parsed on demand (`claim`): day lists do not need it
    reason: str = ""
    day_closed: bool = False
    replayed: bool = False  # True when a repeated request token returned the first record
    receipt: dict = field(default_factory=dict)  # frozen header data for the receipt
    items: list[dict] = field(default_factory=list)  # stored lines: code, name, class, fee category, qty, price…

    @property
    def claim(self) -> dict:
        """The claim as computed (contract form, history included)."""
        return json.loads(self.claim_json)


@dataclass(frozen=True)
class DayCloseRecord:
    business_date: date
    closed_at: datetime
    operator: str
    count: int
    totals: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# History and claims
# ---------------------------------------------------------------------------
def _quarter_start(year: int, q: int) -> date:
    return date(year, 3 * (q - 1) + 1, 1)


def history_for(s, person: m.Person, visit_date: date) -> list[HistoryEntry]:
    """The person's earlier fund use in the visit's year (and earlier years' item counts)."""
    year = visit_date.year
    out: list[HistoryEntry] = []
    snap = s.execute(select(m.UsageSnapshot).where(m.UsageSnapshot.psn_no == person.psn_no)).scalars().all()
    for u in snap:
        items = (HistoryItem(u.item_code, Decimal(u.count)),) if u.item_code and u.count else ()
        if u.year == year:
            d = _quarter_start(year, u.quarter) if u.quarter else date(year, 1, 1)
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
            m.Settlement.business_date > person.as_of,
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


def _claim_dict(s, visit: VisitInput, person: m.Person) -> dict:
    """The contract claim (without history) from a visit and the person's record."""
    inst = visit.institution or clinic_settings(s).institution()
    items = []
    for i, it in enumerate(visit.items):
        ci = s.get(m.ClinicItem, it.code) if (it.price is None or it.kind is None or it.chrgitm_lv is None) else None
        if ci is None and (it.price is None or it.kind is None or it.chrgitm_lv is None):
            raise LedgerError(f"项目编码 {it.code} 不在本机构价格目录中，请填写单价、类别和费用类型",
                              field=f"items[{i}].code", code="invalid_input")
        items.append({
            "code": it.code,
            "name": it.name if it.name is not None else (ci.name if ci else ""),
            "kind": it.kind or ci.kind,
            "chrgitm_lv": it.chrgitm_lv or ci.chrgitm_lv,
            "qty": it.qty,
            "price": it.price if it.price is not None else ci.price,
            "pay_std": it.pay_std if it.pay_std is not None else (ci.pay_std if ci else None),
        })
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
    }


def _history_json(h: list[HistoryEntry]) -> list[dict]:
    return [{"date": e.date.isoformat(), "institution": e.institution, "benefit": e.benefit, "disease": e.disease,
             "hifp_pay": str(e.hifp_pay), "act_pay_dedc": str(e.act_pay_dedc),
             "items": [{"code": i.code, "qty": str(i.qty)} for i in e.items]} for e in h]


def _compute(s, db: Database, visit: VisitInput) -> tuple[m.Person, dict, dict]:
    person, claim, result, _h, _p = _compute_full(s, db, visit)
    return person, claim, result


def _compute_full(s, db: Database, visit: VisitInput):
    person = s.get(m.Person, visit.psn_no)
    if person is None:
        raise LedgerError(f"找不到人员编号 {visit.psn_no}", field="psn_no", code="not_found")
    claim = _claim_dict(s, visit, person)
    history = history_for(s, person, visit.date)
    try:
        parsed, _ = parse_claim(claim)
    except InvalidInput as exc:
        raise LedgerError(exc.message, field=exc.field, code="invalid_input") from None
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
    hashes = {pid: pk.content_hash for pid, pk in policy.packs.items()}
    out["packs"] = [{**p, "content_hash": hashes.get(p["id"], "")} for p in out["packs"]]
    claim["history"] = _history_json(history)
    return person, claim, out, history, policy


def presettle(db: Database, visit: VisitInput) -> Preview:
    """预结算: the full split with reasons; writes nothing."""
    with db.read() as s:
        _person, claim, result = _compute(s, db, visit)
    return Preview(result, claim)


def _next_setl_no(s, clinic: str, day: date) -> str:
    prefix = f"{clinic}-{day:%Y%m%d}-"
    last = s.execute(select(func.max(m.Settlement.setl_no)).where(m.Settlement.setl_no.like(prefix + "%"))).scalar()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _closed(s, day: date) -> bool:
    return s.execute(select(m.DayClose.id).where(m.DayClose.business_date == day)).first() is not None


def _operator(s, login: str) -> m.Operator:
    op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
    if op is None or not op.active:
        raise LedgerError(f"操作员 {login} 不存在或已停用", field="operator")
    return op


def _prior(s, token: str, kind: str, request) -> SettlementRecord | None:
    """The record a token already made (a retry), or None. A token made for another request is refused:
    `request` is (person, visit date, benefit, disease) for a settlement, the reversed number for a reversal."""
    prior = s.execute(select(m.Settlement).where(m.Settlement.request_token == token)).scalar_one_or_none()
    if prior is None:
        return None
    if prior.kind == "reverse":
        made_for = s.execute(select(m.Settlement.setl_no).where(m.Settlement.id == prior.original_id)).scalar()
    else:
        made_for = (prior.psn_no, prior.visit_date, prior.benefit, prior.disease or "")
    if prior.kind != kind or made_for != request:
        what = "冲正" if prior.kind == "reverse" else "结算"
        raise LedgerError(f"请求令牌 {token} 已用于另一笔请求（{what}单号 {prior.setl_no}），不能用于本次"
                          f"{'冲正' if kind == 'reverse' else '结算'}；本次未做任何处理，请换一个令牌。",
                          field="token", code="token_reused")
    return _record(s, prior, replayed=True)


def settle(db: Database, visit: VisitInput, *, token: str | None = None, operator: str,
           today: date | None = None) -> SettlementRecord:
    """结算: durable, once per request token."""
    token = token or uuid.uuid4().hex
    today = today or date.today()
    with db.write() as s:
        prior = _prior(s, token, "settle", (visit.psn_no, visit.date, visit.benefit, visit.disease or ""))
        if prior is not None:
            return prior
        op = _operator(s, operator)
        if _closed(s, today):
            raise LedgerError(f"{today} 已日结，不能再结算；请在下一个营业日结算。", code="day_closed")
        settings = clinic_settings(s)
        if settings.unset():  # a 结算单 under H00000000000 未设置机构名称 would go to the centre like that
            raise LedgerError("本机构的机构编码和机构名称尚未设置，不能结算：请管理员在“设置”中填写"
                              "（或 clinic-settle settings set clinic_code …）", field=settings.unset()[0],
                              code="clinic_not_set")
        person, claim, result, history, policy = _compute_full(s, db, visit)
        clinic = settings.clinic_code
        snapshot = _receipt_snapshot(s, person, visit, claim, result, history, policy, settings, op)
        st = m.Settlement(
            setl_no=_next_setl_no(s, clinic, today), request_token=token, kind="settle", original_id=None,
            psn_no=person.psn_no, business_date=today, visit_date=visit.date, benefit=visit.benefit,
            disease=visit.disease or "", institution=claim["institution"]["code"], insutype=person.insutype,
            admdvs=person.admdvs, pool_prop_selfpay=result["pool_prop_selfpay"],
            claim_json=json.dumps(claim, ensure_ascii=False, sort_keys=True),
            result_json=json.dumps(result, ensure_ascii=False, sort_keys=True),
            packs=json.dumps(result["packs"], ensure_ascii=False), operator=operator, reason="",
            created_at=datetime.now(), receipt_json=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
            **{f: Decimal(result[f]) for f in MONEY_FIELDS},
        )
        for i, (ci, ri) in enumerate(zip(claim["items"], result["items"], strict=True)):
            item = s.get(m.ClinicItem, ci["code"])
            st.items.append(m.SettlementItem(
                seq=i + 1, code=ci["code"], name=ci.get("name") or "", kind=ci["kind"], chrgitm_lv=ci["chrgitm_lv"],
                fee_category=item.fee_category if item else "", qty=str(ci["qty"]), price=str(ci["price"]),
                pay_std=None if ci.get("pay_std") is None else str(ci["pay_std"]),
                det_item_fee_sumamt=Decimal(ri["det_item_fee_sumamt"]),
                fulamt_ownpay_amt=Decimal(ri["fulamt_ownpay_amt"]), overlmt_amt=Decimal(ri["overlmt_amt"]),
                preselfpay_amt=Decimal(ri["preselfpay_amt"]), inscp_scp_amt=Decimal(ri["inscp_scp_amt"]),
            ))
        if result["acct_pay"] != "0.00":
            person.acct_balance = q2(person.acct_balance - Decimal(result["acct_pay"]))
        s.add(st)
        s.flush()
        audit.append(s, operator, "settle", st.setl_no,
                     {"psn_no": st.psn_no, "benefit": st.benefit, "medfee_sumamt": result["medfee_sumamt"],
                      "hifp_pay": result["hifp_pay"], "psn_cash_pay": result["psn_cash_pay"],
                      "dv": audit.DIGEST_VERSION},
                     after=audit.settlement_digest(st))
        return _record(s, st)


def reverse(db: Database, setl_no: str, *, reason: str, operator: str, token: str | None = None,
            today: date | None = None) -> SettlementRecord:
    """冲正: a new record with every amount negated, pointing at the original; caps come back."""
    token = token or uuid.uuid4().hex
    today = today or date.today()
    if not reason or not reason.strip():
        raise LedgerError("冲正必须填写原因", field="reason", code="invalid_input")
    with db.write() as s:
        prior = _prior(s, token, "reverse", setl_no)
        if prior is not None:
            return prior
        op = _operator(s, operator)
        orig = s.execute(select(m.Settlement).where(m.Settlement.setl_no == setl_no)).scalar_one_or_none()
        if orig is None:
            raise LedgerError(f"找不到结算单号 {setl_no}", field="setl_no", code="not_found")
        if orig.kind != "settle":
            raise LedgerError(f"{setl_no} 本身是冲正记录，不能再冲正", field="setl_no")
        done = s.execute(select(m.Settlement.setl_no).where(m.Settlement.original_id == orig.id)).scalar()
        if done is not None:
            raise LedgerError(f"{setl_no} 已被冲正（冲正单号 {done}）", field="setl_no", code="already_reversed")
        if orig.day_close_id is not None and op.role != "supervisor":
            raise LedgerError(f"{setl_no} 所在的 {orig.business_date} 已日结，只有管理员可以冲正", field="operator",
                              code="supervisor_required")
        if _closed(s, today):
            raise LedgerError(f"{today} 已日结，不能再冲正；请在下一个营业日办理。", code="day_closed")
        clinic = clinic_settings(s).clinic_code
        result = json.loads(orig.result_json)
        neg = _negate_result(result)
        rv = m.Settlement(
            setl_no=_next_setl_no(s, clinic, today), request_token=token, kind="reverse", original_id=orig.id,
            psn_no=orig.psn_no, business_date=today, visit_date=orig.visit_date, benefit=orig.benefit,
            disease=orig.disease, institution=orig.institution, insutype=orig.insutype, admdvs=orig.admdvs,
            pool_prop_selfpay=orig.pool_prop_selfpay, claim_json=orig.claim_json,
            result_json=json.dumps(neg, ensure_ascii=False, sort_keys=True), packs=orig.packs,
            receipt_json=json.dumps({**json.loads(orig.receipt_json or "{}"), "ytd": None,
                                     "operator_name": op.name}, ensure_ascii=False, sort_keys=True),
            operator=operator, reason=reason.strip(), created_at=datetime.now(),
            **{f: -getattr(orig, f) for f in MONEY_FIELDS},
        )
        for it in orig.items:
            rv.items.append(m.SettlementItem(
                seq=it.seq, code=it.code, name=it.name, kind=it.kind, chrgitm_lv=it.chrgitm_lv,
                fee_category=it.fee_category, qty=str(-Decimal(it.qty)), price=it.price, pay_std=it.pay_std,
                det_item_fee_sumamt=-it.det_item_fee_sumamt, fulamt_ownpay_amt=-it.fulamt_ownpay_amt,
                overlmt_amt=-it.overlmt_amt, preselfpay_amt=-it.preselfpay_amt, inscp_scp_amt=-it.inscp_scp_amt,
            ))
        if orig.acct_pay:
            person = s.get(m.Person, orig.psn_no)
            person.acct_balance = q2(person.acct_balance + orig.acct_pay)
        s.add(rv)
        s.flush()
        audit.append(s, operator, "reverse", rv.setl_no,
                     {"original": orig.setl_no, "reason": rv.reason, "dv": audit.DIGEST_VERSION},
                     before=audit.settlement_digest(orig), after=audit.settlement_digest(rv, orig.setl_no))
        return _record(s, rv)


def _receipt_snapshot(s, person, visit, claim, result, history, policy, settings, op) -> dict:
    """The receipt's header data and year-to-date figures, frozen at settlement."""
    from desktop_app.core.model import CATEGORIES
    from desktop_app.services.roster import mask_id

    region = s.execute(select(m.PolicyPack.name).where(m.PolicyPack.admdvs.in_(
        [person.admdvs, person.admdvs[:4] + "00", person.admdvs[:2] + "0000"])).order_by(
        m.PolicyPack.admdvs.desc())).scalars().first() or ""
    disease_name = ""
    if visit.disease:
        disease_name = s.execute(select(m.PackDisease.name).where(m.PackDisease.code == visit.disease)).scalar() or ""
    ytd = None
    chain = policy.chain_for(person.admdvs)
    ctx = {"benefit": visit.benefit, "insutype": person.insutype, "category": person.category,
           "disease": visit.disease}
    cap = chain.resolve("annual_cap", ctx, visit.date) if chain else None
    scope = [h for h in history if h.benefit == visit.benefit and (visit.disease is None or h.disease == visit.disease)]
    paid = sum((h.hifp_pay for h in scope), Decimal("0.00")) + Decimal(result["hifp_pay"])
    ytd = {"year": visit.date.year, "fund_paid": str(paid)}
    if cap is not None and not cap.is_open:
        ytd.update(annual_cap=str(cap.value), remaining=str(max(cap.value - paid, Decimal("0.00"))), basis=cap.cite)
    return {
        "clinic_name": settings.clinic_name, "clinic_code": settings.clinic_code,
        "name": person.name, "gender": person.gender, "id_masked": mask_id(person.id_no), "psn_no": person.psn_no,
        "insutype_label": INSUTYPES.get(person.insutype, person.insutype),
        "category_label": CATEGORIES.get(person.category, person.category),
        "admdvs": person.admdvs, "region": region,
        "benefit_label": BENEFITS.get(visit.benefit, visit.benefit), "disease": visit.disease or "",
        "disease_name": disease_name, "operator_name": op.name, "ytd": ytd,
    }


def _neg(v: str) -> str:
    d = Decimal(v)
    return str(-d) if d else "0.00"


def _negate_result(result: dict) -> dict:
    out = dict(result)
    for f in MONEY_FIELDS:
        out[f] = _neg(result[f])
    out["items"] = [{k: (v if k == "code" else _neg(v)) for k, v in it.items()} for it in result["items"]]
    return out


def _record(s, st: m.Settlement, *, replayed: bool = False) -> SettlementRecord:
    person = s.get(m.Person, st.psn_no)
    orig_no = None
    if st.original_id is not None:
        orig_no = s.execute(select(m.Settlement.setl_no).where(m.Settlement.id == st.original_id)).scalar()
    rev_no = s.execute(select(m.Settlement.setl_no).where(m.Settlement.original_id == st.id)).scalar() \
        if st.kind == "settle" else None
    return SettlementRecord(
        setl_no=st.setl_no, kind=st.kind, psn_no=st.psn_no, person_name=person.name if person else "",
        business_date=st.business_date, visit_date=st.visit_date, benefit=st.benefit, operator=st.operator,
        created_at=st.created_at, original_setl_no=orig_no, reversed_by=rev_no,
        result=json.loads(st.result_json), claim_json=st.claim_json, reason=st.reason,
        day_closed=st.day_close_id is not None, replayed=replayed,
        receipt=json.loads(st.receipt_json or "{}"),
        items=[{"seq": i.seq, "code": i.code, "name": i.name, "kind": i.kind, "chrgitm_lv": i.chrgitm_lv,
                "fee_category": i.fee_category, "qty": i.qty, "price": i.price, "pay_std": i.pay_std,
                "det_item_fee_sumamt": str(i.det_item_fee_sumamt)} for i in st.items],
    )


def get(db: Database, setl_no: str) -> SettlementRecord:
    with db.read() as s:
        st = s.execute(select(m.Settlement).where(m.Settlement.setl_no == setl_no)).scalar_one_or_none()
        if st is None:
            raise LedgerError(f"找不到结算单号 {setl_no}", field="setl_no", code="not_found")
        return _record(s, st)


def list_day(db: Database, day: date) -> list[SettlementRecord]:
    """The day's settlements and reversals, loaded in a handful of queries (not a few per record)."""
    from sqlalchemy.orm import selectinload

    with db.read() as s:
        rows = s.execute(select(m.Settlement).where(m.Settlement.business_date == day)
                         .options(selectinload(m.Settlement.items)).order_by(m.Settlement.id)).scalars().all()
        ids = [r.id for r in rows]
        names = dict(s.execute(select(m.Person.psn_no, m.Person.name).where(
            m.Person.psn_no.in_({r.psn_no for r in rows}))).all()) if rows else {}
        originals = dict(s.execute(select(m.Settlement.id, m.Settlement.setl_no).where(
            m.Settlement.id.in_({r.original_id for r in rows if r.original_id}))).all()) if rows else {}
        reversed_by = dict(s.execute(select(m.Settlement.original_id, m.Settlement.setl_no).where(
            m.Settlement.original_id.in_(ids))).all()) if rows else {}
        out = []
        for st in rows:
            out.append(SettlementRecord(
                setl_no=st.setl_no, kind=st.kind, psn_no=st.psn_no, person_name=names.get(st.psn_no, ""),
                business_date=st.business_date, visit_date=st.visit_date, benefit=st.benefit,
                operator=st.operator, created_at=st.created_at,
                original_setl_no=originals.get(st.original_id) if st.original_id else None,
                reversed_by=reversed_by.get(st.id) if st.kind == "settle" else None,
                result=json.loads(st.result_json), claim_json=st.claim_json, reason=st.reason,
                day_closed=st.day_close_id is not None, receipt=json.loads(st.receipt_json or "{}"),
                items=[{"seq": i.seq, "code": i.code, "name": i.name, "kind": i.kind, "chrgitm_lv": i.chrgitm_lv,
                        "fee_category": i.fee_category, "qty": i.qty, "price": i.price, "pay_std": i.pay_std,
                        "det_item_fee_sumamt": str(i.det_item_fee_sumamt)} for i in st.items],
            ))
        return out


# ---------------------------------------------------------------------------
# Day close
# ---------------------------------------------------------------------------
def day_totals(s, day: date) -> dict:
    rows = s.execute(select(m.Settlement).where(m.Settlement.business_date == day)).scalars().all()
    zero = {f: Decimal("0.00") for f in MONEY_FIELDS}
    total = dict(zero)
    groups: dict[str, dict] = {}
    counts = {"settle": 0, "reverse": 0}
    reversals = []
    for r in rows:
        counts[r.kind] += 1
        key = f"{INSUTYPES.get(r.insutype, r.insutype)}/{BENEFITS.get(r.benefit, r.benefit)}"
        g = groups.setdefault(key, {"count": 0, **zero})
        g["count"] += 1
        for f in MONEY_FIELDS:
            v = getattr(r, f)
            total[f] += v
            g[f] += v
        if r.kind == "reverse":
            reversals.append({"setl_no": r.setl_no, "reason": r.reason})
    as_text = lambda d: {k: (str(v) if isinstance(v, Decimal) else v) for k, v in d.items()}  # noqa: E731
    return {"date": day.isoformat(), "settlements": counts["settle"], "reversals": counts["reverse"],
            "totals": as_text(total), "by_insutype_benefit": {k: as_text(v) for k, v in sorted(groups.items())},
            "reversal_list": reversals}


def day_close(db: Database, *, operator: str, day: date | None = None) -> DayCloseRecord:
    """日结: freeze the day's settlements and record totals by 险种 and benefit."""
    day = day or date.today()
    with db.write() as s:
        _operator(s, operator)
        if _closed(s, day):
            raise LedgerError(f"{day} 已经日结过了", code="already_closed")
        totals = day_totals(s, day)
        count = totals["settlements"] + totals["reversals"]
        dc = m.DayClose(business_date=day, closed_at=datetime.now(), operator=operator, count=count,
                        totals_json=json.dumps(totals, ensure_ascii=False, sort_keys=True))
        s.add(dc)
        s.flush()
        s.execute(update(m.Settlement).where(m.Settlement.business_date == day).values(day_close_id=dc.id))
        audit.append(s, operator, "day_close", day.isoformat(),
                     {"count": count, "medfee_sumamt": totals["totals"]["medfee_sumamt"],
                      "hifp_pay": totals["totals"]["hifp_pay"], "dv": audit.DIGEST_VERSION},
                     after=audit.day_close_digest(dc))
        return DayCloseRecord(day, dc.closed_at, operator, count, totals)
