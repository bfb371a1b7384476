"""全自费 (self-pay): a visit settled without insurance — no fund, no account, the whole amount paid by
the person in cash — so the patient still leaves with a numbered, audited, reversible receipt.

Three grounds (`SelfPayInput.why`, stored with the settlement and printed on the receipt):

- ``walk_in`` — a person not in the roster (the clerk types the name, and optionally the ID number and
  gender, checked like the roster's: check digit, birth date, gender against the 17th digit);
- ``policy_open`` — the benefit cannot be settled under the policy (`policy_parameter_missing`: a parameter
  the documents leave to 另行制定 that no loaded pack supplies, e.g. the employee general outpatient);
- ``chosen`` — the clerk chose it for an insured person (the patient does not use the insurance).

The settlement is an ordinary ledger record with benefit ``self_pay`` and insutype "" (every report counts it
apart from the insurance settlements, docs/ledger.md); a walk-in has no `psn_no` and keeps the name, the
masked ID number and the gender in `walkin_*`. Its full ID number is checked and never stored. The engine is
not asked: nothing of the policy applies, and it is never used for a cap or a count limit (claims.history_for).
Reversal is the ledger's own (`ledger.reverse`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from desktop_app.core.claim_io import MAX_ITEMS, NAME_MAX, InvalidInput, check_text
from desktop_app.core.model import MONEY_FIELDS, SELF_PAY, SELF_PAY_LABEL
from desktop_app.core.money import q2
from desktop_app.privacy import mask_id
from desktop_app.services import audit
from desktop_app.services import ledger as _ledger
from desktop_app.services.days import active_operator, is_closed
from desktop_app.services.ledger_types import ItemInput, LedgerError, Preview, SettlementRecord
from desktop_app.services.settings import clinic_settings
from desktop_app.services.visit_lines import claim_lines
from desktop_app.services.visit_rules import (
    PSN_MAX,
    _check_item,
    check_bounds,
    check_diagnosis,
    check_token,
    check_visit_date,
)
from desktop_app.store import models as m
from desktop_app.store.db import Database

WHY: dict[str, str] = {
    "walk_in": "未在花名册（非参保人或无法核实参保身份）",
    "policy_open": "医保政策参数未定（另行制定），无法按医保结算",
    "chosen": "患者选择不使用医保",
}
WALKIN_NAME_MAX = 30  # as the roster's 姓名
_ZERO = "0.00"


@dataclass
class WalkIn:
    """A person not in the roster, as the clerk typed them."""

    name: str
    id_no: str = ""  # optional; checked, then only its masked form is kept
    gender: str = ""  # "" | 男 | 女; from the ID number when one is given


@dataclass
class SelfPayInput:
    date: date
    items: list[ItemInput]
    psn_no: str | None = None  # an insured person from the roster …
    walk_in: WalkIn | None = None  # … or a walk-in (exactly one of the two)
    why: str = "chosen"  # walk_in | policy_open | chosen ("walk_in" whenever walk_in is given)
    reason: str = ""  # an earlier-year visit: the supervisor's reason (as VisitInput.reason)
    diagnosis: str | None = None


@dataclass(frozen=True)
class Payer:
    """Who pays, checked: the roster person (`psn_no`) or the walk-in's name, masked ID and gender."""

    psn_no: str | None
    name: str
    gender: str
    id_masked: str
    meta: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
def check_walk_in(w: WalkIn) -> WalkIn:
    """The walk-in's name (required), ID number (optional: 18 characters, check digit, birth date) and gender
    (optional; must agree with the ID number's 17th digit). Returns the normalised values."""
    from desktop_app.services.roster_rows import BadCell, _id_number

    try:
        name = check_text(w.name, "walk_in.name", "自费患者姓名", max_len=WALKIN_NAME_MAX)
    except InvalidInput as exc:
        if isinstance(w.name, str) and not w.name.strip():
            raise LedgerError("请填写自费患者的姓名", field="walk_in.name", code="invalid_input") from None
        raise LedgerError(exc.message, field=exc.field, code="invalid_input") from None
    if name[:1] in ("=", "+", "-", "@"):
        raise LedgerError(f"姓名“{name[:20]}”以 = + - @ 开头，像电子表格公式，已拒绝", field="walk_in.name",
                          code="invalid_input")
    gender = (w.gender or "").strip() if isinstance(w.gender, str) else w.gender
    if gender not in ("", "男", "女"):
        raise LedgerError(f"性别须为“男”或“女”（或不填），收到“{str(gender)[:10]}”", field="walk_in.gender",
                          code="invalid_input")
    id_no = w.id_no if isinstance(w.id_no, str) else None
    if id_no is None:
        raise LedgerError("身份证号须为文本", field="walk_in.id_no", code="invalid_input")
    id_no = "".join(id_no.split()).upper().translate(str.maketrans("０１２３４５６７８９Ｘ", "0123456789X"))
    if id_no:
        try:
            id_no = _id_number(id_no)
        except BadCell as exc:
            raise LedgerError(exc.reason + "（身份证号可不填）", field="walk_in.id_no", code="invalid_input") from None
        by_id = "男" if int(id_no[16]) % 2 == 1 else "女"
        if gender and gender != by_id:
            raise LedgerError(f"性别“{gender}”与身份证号（第17位表示{by_id}）不一致", field="walk_in.gender",
                              code="invalid_input")
        gender = by_id
    return WalkIn(name=name, id_no=id_no, gender=gender)


def check(v: SelfPayInput) -> SelfPayInput:
    """The self-pay visit with every value checked and normalised, or a refusal naming the field."""
    if (v.psn_no is None) == (v.walk_in is None):
        raise LedgerError("全自费结算须指明一人：花名册中的参保人（psn_no）或未在花名册的自费患者（walk_in），"
                          "二者只能有一个", field="psn_no" if v.psn_no is None else "walk_in", code="invalid_input")
    walk = check_walk_in(v.walk_in) if v.walk_in is not None else None
    why = "walk_in" if walk is not None else v.why
    if why not in WHY or (why == "walk_in" and walk is None):
        raise LedgerError(f"全自费原因“{str(why)[:20]}”无效，允许：policy_open（医保参数未定）、chosen（患者选择）",
                          field="self_pay_reason", code="invalid_input")
    try:
        psn_no = None if v.psn_no is None else check_text(v.psn_no, "psn_no", "人员编号", max_len=PSN_MAX)
        if not isinstance(v.date, date):
            raise InvalidInput("date", "就诊日期须为日期（YYYY-MM-DD）")
        if not isinstance(v.items, list | tuple) or not v.items:
            raise InvalidInput("items", "费用明细 items 须为非空列表")
        if len(v.items) > MAX_ITEMS:
            raise InvalidInput("items", f"费用明细最多 {MAX_ITEMS} 条")
        items = [_check_item(i, it) for i, it in enumerate(v.items)]
    except InvalidInput as exc:
        raise LedgerError(exc.message, field=exc.field, code="invalid_input") from None
    return SelfPayInput(date=v.date, items=items, psn_no=psn_no, walk_in=walk, why=why, reason=v.reason,
                        diagnosis=v.diagnosis)


# ---------------------------------------------------------------------------
# The figures: everything is 全自费 and paid in cash
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Line:
    qty: Decimal
    price: Decimal


def _payer(s, v: SelfPayInput) -> Payer:
    if v.walk_in is not None:
        w = v.walk_in
        return Payer(None, w.name, w.gender, mask_id(w.id_no) if w.id_no else "", {"walk_in": True})
    person = s.get(m.Person, v.psn_no)
    if person is None:
        raise LedgerError(f"找不到人员编号 {v.psn_no}（不在花名册中的人请按“自费患者”登记姓名）", field="psn_no",
                          code="not_found")
    return Payer(person.psn_no, person.name, person.gender, mask_id(person.id_no), {"admdvs": person.admdvs})


def _claim_and_result(s, v: SelfPayInput, payer: Payer) -> tuple[dict, dict]:
    settings = clinic_settings(s)
    lines, out_items, res_items = [], [], []
    # the lines as the price list and the catalogue give them on the visit date (a stopped item or one without a
    # price in force is refused as for any visit); the class is shown, the fund pays none of it
    admdvs = payer.meta.get("admdvs") or settings.institution()["admdvs"]
    listed, _notices = claim_lines(s, v.items, v.date, admdvs)
    for it, ln in zip(v.items, listed, strict=True):
        ci = s.get(m.ClinicItem, it.code)
        price = ln["price"]
        name = (ln.get("name") or "")[:NAME_MAX]
        lines.append(_Line(Decimal(it.qty), Decimal(price)))
        fee = str(q2(Decimal(it.qty) * Decimal(price)))
        out_items.append({"code": it.code, "name": name, "kind": ln["kind"], "chrgitm_lv": ln["chrgitm_lv"],
                          "qty": it.qty, "price": price, "pay_std": None,
                          "fee_category": (ci.fee_category or "") if ci else (it.fee_category or "")})
        res_items.append({"code": it.code, "det_item_fee_sumamt": fee, "fulamt_ownpay_amt": fee,
                          "overlmt_amt": _ZERO, "preselfpay_amt": _ZERO, "inscp_scp_amt": _ZERO})
    check_bounds(lines, settings)
    total = str(sum((Decimal(r["det_item_fee_sumamt"]) for r in res_items), Decimal("0.00")))
    why = WHY[v.why]
    result = {f: _ZERO for f in MONEY_FIELDS}
    result.update(medfee_sumamt=total, fulamt_ownpay_amt=total, psn_part_amt=total, psn_cash_pay=total,
                  pool_prop_selfpay="0.0000", items=res_items, packs=[],
                  notices=[{"code": "self_pay", "message": f"全自费结算，未使用医保：医保基金和个人账户均不支付，"
                                                            f"全部 {total} 元由个人现金支付。原因：{why}"}],
                  trace=[{"step": "self_pay", "value": total, "label": SELF_PAY_LABEL, "basis": why}])
    claim = {"date": v.date.isoformat(), "benefit": SELF_PAY, "self_pay": {"why": v.why, "why_label": why},
             "payer": {"psn_no": payer.psn_no, "name": payer.name, "gender": payer.gender,
                       "id_masked": payer.id_masked},
             "institution": settings.institution(), "items": out_items, "history": []}
    return claim, result


def _snapshot(s, v: SelfPayInput, payer: Payer, claim: dict, op: m.Operator) -> dict:
    """The receipt's header, frozen: the clinic, who paid (masked ID), the self-pay ground — no 险种, no
    参保地, no year-to-date fund figures (nothing of the insurance was used)."""
    settings = clinic_settings(s)
    units = {}
    for it in claim["items"]:
        ci = s.get(m.ClinicItem, it["code"])
        units[it["code"]] = {"spec": ci.spec if ci else "", "unit": ci.unit if ci else ""}
    return {"clinic_name": settings.clinic_name, "clinic_code": settings.clinic_code, "name": payer.name,
            "gender": payer.gender, "id_masked": payer.id_masked, "psn_no": payer.psn_no or "",
            "benefit_label": SELF_PAY_LABEL, "disease": "", "disease_name": "", "operator_name": op.name,
            "ytd": None, "diagnosis": check_diagnosis(v.diagnosis), "item_units": units,
            "self_pay": {"why": v.why, "why_label": WHY[v.why], "walk_in": payer.psn_no is None}}


# ---------------------------------------------------------------------------
# Use cases
# ---------------------------------------------------------------------------
def _day_open(s, today: date) -> None:
    if is_closed(s, today):
        raise LedgerError(f"{today} 已日结，今天不能再结算（请勿收费）：请在下一个营业日结算；"
                          "日结误点且今天还没有结算时，管理员可以撤销日结。", code="day_closed")


def presettle(db: Database, v: SelfPayInput, *, operator: str, today: date | None = None) -> Preview:
    """The self-pay split (everything cash); writes nothing. The same date and day rules as `ledger.presettle`."""
    today = today or date.today()
    v = check(v)
    check_visit_date(v.date, today=today)
    check_diagnosis(v.diagnosis)
    with db.read() as s:
        role = active_operator(s, operator).role
        if role != "supervisor":
            check_visit_date(v.date, today=today, role=role)
        _day_open(s, today)
        claim, result = _claim_and_result(s, v, _payer(s, v))
    return Preview(result, claim)


def _prior(s, token: str, v: SelfPayInput, payer: Payer) -> SettlementRecord | None:
    """A retry with the token of an earlier request returns its record; a token made for anything else is
    refused (`token_reused`), as in the ledger."""
    prior = s.execute(select(m.Settlement).where(m.Settlement.request_token == token)).scalar_one_or_none()
    if prior is None:
        return None
    same = (prior.kind == "settle" and prior.benefit == SELF_PAY and prior.psn_no == payer.psn_no
            and prior.walkin_name == ("" if payer.psn_no else payer.name) and prior.visit_date == v.date
            and _ledger._same_lines(s, prior, v.items))
    if not same:
        raise LedgerError(f"请求令牌 {token} 已用于另一笔请求（单号 {prior.setl_no}），不能用于本次全自费结算；"
                          "本次未做任何处理，请换一个令牌。", field="token", code="token_reused")
    return _ledger._record(s, prior, replayed=True)


def settle(db: Database, v: SelfPayInput, *, token: str | None = None, operator: str,
           today: date | None = None) -> SettlementRecord:
    """全自费结算: durable, once per request token, numbered and audited like any settlement."""
    v = check(v)
    token = check_token(token)
    today = today or date.today()
    with db.write() as s:
        payer = _payer(s, v)
        prior = _prior(s, token, v, payer)
        if prior is not None:
            return prior
        op = active_operator(s, operator)
        reason = check_visit_date(v.date, today=today, role=op.role, reason=v.reason)
        _day_open(s, today)
        settings = clinic_settings(s)
        if settings.unset():
            raise LedgerError("本机构的机构编码和机构名称尚未设置，不能结算：请管理员在“设置”中填写"
                              "（或 clinic-settle settings set clinic_code …）", field=settings.unset()[0],
                              code="clinic_not_set")
        claim, result = _claim_and_result(s, v, payer)
        st = _settlement(s, v, payer, claim, result, token=token, operator=operator, reason=reason, today=today,
                         receipt=_snapshot(s, v, payer, claim, op), clinic=settings.clinic_code)
        s.add(st)
        s.flush()
        audit.append(s, operator, "settle", st.setl_no,
                     {"psn_no": st.psn_no, "benefit": SELF_PAY, "self_pay": v.why,
                      **({"walkin_name": payer.name, "walkin_id": payer.id_masked} if payer.psn_no is None else {}),
                      "medfee_sumamt": result["medfee_sumamt"], "hifp_pay": _ZERO,
                      "psn_cash_pay": result["psn_cash_pay"], "dv": audit.DIGEST_VERSION,
                      **({"visit_date": v.date.isoformat(), "reason": reason} if reason else {})},
                     after=audit.settlement_digest(st))
        return _ledger._record(s, st)


def _settlement(s, v: SelfPayInput, payer: Payer, claim: dict, result: dict, *, token: str, operator: str,
                reason: str, today: date, receipt: dict, clinic: str) -> m.Settlement:
    walk = payer.psn_no is None
    st = m.Settlement(
        setl_no=_ledger._next_setl_no(s, clinic, today), request_token=token, kind="settle", original_id=None,
        psn_no=payer.psn_no, walkin_name=payer.name if walk else "", walkin_id=payer.id_masked if walk else "",
        walkin_gender=payer.gender if walk else "", business_date=today, visit_date=v.date, benefit=SELF_PAY,
        disease="", institution=claim["institution"]["code"], insutype="", admdvs=payer.meta.get("admdvs", ""),
        pool_prop_selfpay=result["pool_prop_selfpay"],
        claim_json=json.dumps(claim, ensure_ascii=False, sort_keys=True),
        result_json=json.dumps(result, ensure_ascii=False, sort_keys=True), packs="[]", operator=operator,
        reason=reason, created_at=datetime.now(), receipt_json=json.dumps(receipt, ensure_ascii=False, sort_keys=True),
        **{f: Decimal(result[f]) for f in MONEY_FIELDS},
    )
    for i, (ci, ri) in enumerate(zip(claim["items"], result["items"], strict=True)):
        fee = Decimal(ri["det_item_fee_sumamt"])
        st.items.append(m.SettlementItem(
            seq=i + 1, code=ci["code"], name=ci["name"], kind=ci["kind"], chrgitm_lv=ci["chrgitm_lv"],
            fee_category=ci["fee_category"], qty=str(ci["qty"]), price=str(ci["price"]), pay_std=None,
            det_item_fee_sumamt=fee, fulamt_ownpay_amt=fee, overlmt_amt=Decimal(_ZERO),
            preselfpay_amt=Decimal(_ZERO), inscp_scp_amt=Decimal(_ZERO)))
    return st


def offer_text(exc) -> str:
    """A refusal as the clerk reads it, with the way out when the policy leaves a parameter open: the message
    names the parameter and says the county's pack must supply it (the engine's text), then offers 全自费."""
    msg = getattr(exc, "message", None) or str(exc)
    if getattr(exc, "code", "") == "policy_parameter_missing":
        msg += "\n在此之前可以按全自费结算（不使用医保，全部由个人现金支付）。"
    return msg
