"""The settlement ledger: pre-settle, settle, reverse, get (the visit checks are in `visit_rules`,
history and claims in `claims`, day close in `days`, the shared types in `ledger_types`).

- `settle` runs in one `BEGIN IMMEDIATE` transaction that re-reads the history,
  so two settlements for one person at the same moment cannot both use a cap (on PostgreSQL: under a
  row lock on the person, `_serialise`; the number comes from `numbering`).
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
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from desktop_app.core.model import (
    MONEY_FIELDS,
)
from desktop_app.core.money import q2
from desktop_app.services import audit, numbering
from desktop_app.services.claims import compute_full, limits, receipt_snapshot
from desktop_app.services.days import active_operator, is_closed
from desktop_app.services.ledger_types import LedgerError, Preview, SettlementRecord, VisitInput
from desktop_app.services.settings import clinic_settings
from desktop_app.services.visit_rules import (
    check_diagnosis,
    check_reversal_reason,
    check_token,
    check_visit,
    check_visit_date,
)
from desktop_app.store import models as m
from desktop_app.store.db import Database, lock


def presettle(db: Database, visit: VisitInput, *, operator: str, today: date | None = None) -> Preview:
    """预结算: the full split with reasons; writes nothing. A visit after today is refused, and whatever would
    stop this operator's settlement is said now, not after the confirmation: an earlier-year visit without a
    supervisor (who gives the reason at F9), a day already closed."""
    today = today or date.today()
    visit = check_visit(visit)
    check_visit_date(visit.date, today=today)
    check_diagnosis(visit.diagnosis)  # a bad 诊断 is said at F5, not only at F9
    with db.read() as s:
        role = active_operator(s, operator).role
        if role != "supervisor":  # (a supervisor gives the reason of an earlier-year visit at F9)
            check_visit_date(visit.date, today=today, role=role)
        if is_closed(s, today):
            raise LedgerError(f"{today} 已日结，今天不能再结算（请勿收费）：请在下一个营业日结算；"
                              "日结误点且今天还没有结算时，管理员可以撤销日结。", code="day_closed")
        person, claim, result, _history, policy = compute_full(s, db, visit)
        return Preview(result, claim, limits(policy, person, visit))


def _next_setl_no(s, clinic: str, day: date) -> str:
    return numbering.next_setl_no(s, clinic, day)


def _serialise(s, token: str, today: date, psn_no: str | None) -> None:
    """PostgreSQL, where counters write at once (SQLite's one writer lock covers all of it): the request token
    (a retry waits for its first try and finds its record), the business day shared (a 日结 waits for the
    settlements in flight), and the person's row, so their history and account balance are read and
    changed by one settlement at a time — two counters never both spend the last of a cap."""
    lock(s, f"token:{token}")
    lock(s, f"day:{today.isoformat()}", shared=True)
    if psn_no is not None:
        s.execute(select(m.Person.psn_no).where(m.Person.psn_no == psn_no).with_for_update())


def _prior(s, token: str, kind: str, request) -> SettlementRecord | None:
    """The record a token already made (a retry), or None. A token made for another request is refused:
    `request` is (person, visit date, benefit, disease, lines) for a settlement, the reversed number for a
    reversal."""
    prior = s.execute(select(m.Settlement).where(m.Settlement.request_token == token)).scalar_one_or_none()
    if prior is None:
        return None
    if prior.kind == "reverse":
        made_for = s.execute(select(m.Settlement.setl_no).where(m.Settlement.id == prior.original_id)).scalar()
    else:
        made_for = (prior.psn_no, prior.visit_date, prior.benefit, prior.disease or "")
    if kind == "settle":  # the visit and its lines
        same = prior.kind == kind and made_for == request[:4] and _same_lines(s, prior, request[4])
    else:
        same = prior.kind == kind and made_for == request
    if not same:
        what = "冲正" if prior.kind == "reverse" else "结算"
        raise LedgerError(f"请求令牌 {token} 已用于另一笔请求（{what}单号 {prior.setl_no}），不能用于本次"
                          f"{'冲正' if kind == 'reverse' else '结算'}；本次未做任何处理，请换一个令牌。",
                          field="token", code="token_reused")
    return _record(s, prior, replayed=True)


def _same_lines(s, prior: m.Settlement, items) -> bool:
    """The retried visit has the lines the token settled: the same codes and quantities in the same order,
    and the same unit price wherever the request gives one (else the price list's, as settled)."""
    rows = s.execute(select(m.SettlementItem.code, m.SettlementItem.qty, m.SettlementItem.price)
                     .where(m.SettlementItem.settlement_id == prior.id).order_by(m.SettlementItem.seq)).all()
    if len(rows) != len(items):
        return False
    for (code, qty, price), it in zip(rows, items, strict=True):
        if code != it.code or Decimal(qty) != Decimal(it.qty):
            return False
        if it.price is not None and Decimal(price) != Decimal(it.price):
            return False
    return True


def settle(db: Database, visit: VisitInput, *, token: str | None = None, operator: str,
           today: date | None = None) -> SettlementRecord:
    """结算: durable, once per request token."""
    visit = check_visit(visit)
    token = check_token(token)
    today = today or date.today()
    with db.write() as s:
        _serialise(s, token, today, visit.psn_no)
        prior = _prior(s, token, "settle", (visit.psn_no, visit.date, visit.benefit, visit.disease or "", visit.items))
        if prior is not None:
            return prior
        op = active_operator(s, operator)
        reason = check_visit_date(visit.date, today=today, role=op.role, reason=visit.reason)
        if is_closed(s, today):
            raise LedgerError(f"{today} 已日结，不能再结算；请在下一个营业日结算。", code="day_closed")
        settings = clinic_settings(s)
        if settings.unset():  # a 结算单 under H00000000000 未设置机构名称 would go to the centre like that
            raise LedgerError("本机构的机构编码和机构名称尚未设置，不能结算：请管理员在“设置”中填写"
                              "（或 clinic-settle settings set clinic_code …）", field=settings.unset()[0],
                              code="clinic_not_set")
        person, claim, result, history, policy = compute_full(s, db, visit)
        clinic = settings.clinic_code
        snapshot = receipt_snapshot(s, person, visit, claim, result, history, policy, settings, op)
        st = m.Settlement(
            setl_no="", request_token=token, kind="settle", original_id=None,
            psn_no=person.psn_no, business_date=today, visit_date=visit.date, benefit=visit.benefit,
            disease=visit.disease or "", institution=claim["institution"]["code"], insutype=person.insutype,
            admdvs=person.admdvs, pool_prop_selfpay=result["pool_prop_selfpay"],
            claim_json=json.dumps(claim, ensure_ascii=False, sort_keys=True),
            result_json=json.dumps(result, ensure_ascii=False, sort_keys=True),
            packs=json.dumps(result["packs"], ensure_ascii=False), operator=operator, reason=reason,
            created_at=datetime.now(), receipt_json=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
            **{f: Decimal(result[f]) for f in MONEY_FIELDS},
        )
        for i, (ci, ri) in enumerate(zip(claim["items"], result["items"], strict=True)):
            item = s.get(m.ClinicItem, ci["code"])
            st.items.append(m.SettlementItem(
                seq=i + 1, code=ci["code"], name=ci.get("name") or "", kind=ci["kind"], chrgitm_lv=ci["chrgitm_lv"],
                fee_category=(item.fee_category or "") if item else "", qty=str(ci["qty"]), price=str(ci["price"]),
                pay_std=None if ci.get("pay_std") is None else str(ci["pay_std"]),
                det_item_fee_sumamt=Decimal(ri["det_item_fee_sumamt"]),
                fulamt_ownpay_amt=Decimal(ri["fulamt_ownpay_amt"]), overlmt_amt=Decimal(ri["overlmt_amt"]),
                preselfpay_amt=Decimal(ri["preselfpay_amt"]), inscp_scp_amt=Decimal(ri["inscp_scp_amt"]),
            ))
        if result["acct_pay"] != "0.00":
            person.acct_balance = q2(person.acct_balance - Decimal(result["acct_pay"]))
        # the number last: on PostgreSQL it holds the clinic's counter row (and the chain's lock) to the commit
        st.setl_no = _next_setl_no(s, clinic, today)
        s.add(st)
        s.flush()
        audit.append(s, operator, "settle", st.setl_no,
                     {"psn_no": st.psn_no, "benefit": st.benefit, "medfee_sumamt": result["medfee_sumamt"],
                      "hifp_pay": result["hifp_pay"], "psn_cash_pay": result["psn_cash_pay"],
                      "dv": audit.DIGEST_VERSION,
                      **({"visit_date": visit.date.isoformat(), "reason": reason} if reason else {})},
                     after=audit.settlement_digest(st))
        return _record(s, st)


def reverse(db: Database, setl_no: str, *, reason: str, operator: str, token: str | None = None,
            today: date | None = None) -> SettlementRecord:
    """冲正: a new record with every amount negated, pointing at the original; caps come back."""
    token = check_token(token)
    today = today or date.today()
    reason = check_reversal_reason(reason)
    with db.write() as s:
        _serialise(s, token, today, s.execute(select(m.Settlement.psn_no).where(m.Settlement.setl_no == setl_no)).scalar())
        prior = _prior(s, token, "reverse", setl_no)
        if prior is not None:
            return prior
        op = active_operator(s, operator)
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
        if is_closed(s, today):
            raise LedgerError(f"{today} 已日结，不能再冲正；请在下一个营业日办理。", code="day_closed")
        clinic = clinic_settings(s).clinic_code
        result = json.loads(orig.result_json)
        neg = _negate_result(result)
        rv = m.Settlement(
            setl_no=_next_setl_no(s, clinic, today), request_token=token, kind="reverse", original_id=orig.id,
            psn_no=orig.psn_no, walkin_name=orig.walkin_name, walkin_id=orig.walkin_id,
            walkin_gender=orig.walkin_gender, business_date=today, visit_date=orig.visit_date, benefit=orig.benefit,
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
    person = s.get(m.Person, st.psn_no) if st.psn_no else None  # (a 全自费 walk-in has none: walkin_name)
    orig_no = None
    if st.original_id is not None:
        orig_no = s.execute(select(m.Settlement.setl_no).where(m.Settlement.id == st.original_id)).scalar()
    rev_no = s.execute(select(m.Settlement.setl_no).where(m.Settlement.original_id == st.id)).scalar() \
        if st.kind == "settle" else None
    return SettlementRecord(
        setl_no=st.setl_no, kind=st.kind, psn_no=st.psn_no or "", person_name=person.name if person else st.walkin_name,
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
