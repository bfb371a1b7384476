"""The settlement ledger: pre-settle, settle, reverse, day close.

- History for the engine = the centre's snapshot (待遇累计 as of the end of the
  person's 截至日期) + local settlements of the same year that are not in it and
  have not been reversed: those of a business day after 截至日期, and every one
  made after the snapshot was imported (`Person.updated_at`) — so a 截至日期 of
  today or (in an old database) in the future neither skips nor double-counts
  anything (docs/roster.md). Reversed settlements give their caps back.
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
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select, update

from desktop_app.core import caps
from desktop_app.core.claim_io import (
    MAX_ITEMS,
    NAME_MAX,
    InvalidInput,
    check_amount,
    check_text,
    parse_claim,
    settlement_to_json,
    shown,
)
from desktop_app.core.engine import PolicyError
from desktop_app.core.engine import settle as engine_settle
from desktop_app.core.model import (
    BENEFITS,
    INSUTYPES,
    MONEY_FIELDS,
    HistoryEntry,
    HistoryItem,
    admdvs_levels,
    region_name,
)
from desktop_app.core.money import q2
from desktop_app.errors import Refused
from desktop_app.services import audit
from desktop_app.services import packs as packs_service
from desktop_app.services.settings import clinic_settings
from desktop_app.store import models as m
from desktop_app.store.db import Database

CENTRE = "医保中心"
MAX_REASON = 200  # characters of a reason (reversal, earlier-year visit, reopened day)


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
    institution: dict | None = None  # always this clinic (settings); if given, it must be this clinic as stored
    reason: str = ""  # required for a visit of an earlier calendar year (supervisor only; stored and audited)
    diagnosis: str | None = None  # optional, printed on the receipt: ICD-10 code and name ("J06.900 急性上呼吸道感染")


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
# Date rules and bounds (whatever the caller: window, command line, script)
# ---------------------------------------------------------------------------
def _check_reason(reason: str, label: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise LedgerError(f"{label}最多 {MAX_REASON} 个字（现在 {len(reason)} 个）", field="reason",
                          code="invalid_input")
    return reason


def check_visit_date(visit_date: date, *, today: date, role: str | None = None, reason: str = "") -> str:
    """The visit-date rules; returns the reason to store ("" for a visit of this year).

    - a visit after today is refused (a settlement is made for a visit that happened);
    - a visit of an earlier calendar year is settled only by a supervisor with a reason: that year's
      caps are not what the roster snapshot (this year's 待遇累计) says. `role=None` (pre-settle,
      which writes nothing) checks the first rule only.
    """
    if visit_date > today:
        raise LedgerError(f"就诊日期 {visit_date} 晚于今天（{today}）：不能结算未来的就诊，请改正就诊日期",
                          field="visit_date", code="invalid_input")
    if role is None or visit_date.year >= today.year:
        return ""
    if role != "supervisor":
        raise LedgerError(f"就诊日期 {visit_date} 在往年（{visit_date.year} 年）：该年度的限额与花名册的本年累计不符，"
                          "只有管理员可以结算往年的就诊（须填写原因）", field="visit_date", code="supervisor_required")
    reason = _check_reason(reason, "往年就诊的原因")
    if not reason:
        raise LedgerError(f"就诊日期 {visit_date} 在往年：须填写原因（记入审计）", field="reason", code="invalid_input")
    return reason


def check_bounds(items, settings) -> None:
    """Quantity and line amount (数量 × 单价) within the maxima of the settings (设置: 数量上限, 单行金额上限)."""
    max_qty = Decimal(settings.get("max_qty"))
    max_amount = Decimal(settings.get("max_line_amount"))
    for i, it in enumerate(items):
        if it.qty > max_qty:
            raise LedgerError(f"第 {i + 1} 行数量 {it.qty} 超过上限 {max_qty}（上限由管理员在设置中调整）",
                              field=f"items[{i}].qty", code="invalid_input")
        amount = q2(it.qty * it.price)
        if amount > max_amount:
            raise LedgerError(f"第 {i + 1} 行金额 {amount}（数量 × 单价）超过上限 {max_amount} 元"
                              "（上限由管理员在设置中调整）", field=f"items[{i}].price", code="invalid_input")


# ---------------------------------------------------------------------------
# Visit input: checked and normalised once, here, for the window and the command line
# ---------------------------------------------------------------------------
PSN_MAX = 32  # person.psn_no
CODE_MAX = 32  # settlement_item.code, settlement.disease
TOKEN_MAX = 64  # settlement.request_token
AMOUNT_MAX = Decimal("1000000")  # a quantity or unit price, as in the window (gui/validate.py)
ENUM_MAX = 32


def _bad(exc: InvalidInput) -> LedgerError:
    return LedgerError(exc.message, field=exc.field, code="invalid_input")


def _decimal_text(raw: object, field: str, label: str, *, positive: bool = False) -> str:
    """A quantity or price as stored: the normalised decimal (１．５ → 1.5); commas refused."""
    v = check_amount(raw, field, label, max_dp=4, positive=positive, limit=AMOUNT_MAX)
    return format(v, "f")


def _optional_text(raw: object, field: str, label: str, max_len: int) -> str | None:
    return None if raw is None else check_text(raw, field, label, max_len=max_len)


def _check_item(i: int, it: ItemInput) -> ItemInput:
    f = f"items[{i}]"
    return ItemInput(
        code=check_text(it.code, f"{f}.code", "项目编码", max_len=CODE_MAX),
        qty=_decimal_text(it.qty, f"{f}.qty", "数量", positive=True),
        price=None if it.price is None else _decimal_text(it.price, f"{f}.price", "单价"),
        name=None if it.name is None else check_text(it.name, f"{f}.name", "项目名称", max_len=NAME_MAX, empty=True),
        kind=_optional_text(it.kind, f"{f}.kind", "费用类型", ENUM_MAX),
        chrgitm_lv=_optional_text(it.chrgitm_lv, f"{f}.chrgitm_lv", "支付类别", ENUM_MAX),
        pay_std=None if it.pay_std is None else _decimal_text(it.pay_std, f"{f}.pay_std", "支付标准"),
    )


def check_visit(visit: VisitInput) -> VisitInput:
    """The visit with every value checked (type, length, number format) and normalised — quantities and
    prices as plain decimals — or a refusal naming the field (exit 2). Nothing the clerk typed reaches
    the database unchecked."""
    try:
        psn_no = check_text(visit.psn_no, "psn_no", "人员编号", max_len=PSN_MAX)
        if not isinstance(visit.date, date):
            raise InvalidInput("date", "就诊日期须为日期（YYYY-MM-DD）")
        if not isinstance(visit.benefit, str) or visit.benefit not in BENEFITS:
            raise InvalidInput("benefit", f"待遇类别“{shown(visit.benefit)}”无效，允许：{'、'.join(BENEFITS)}")
        disease = _optional_text(visit.disease, "disease", "病种编码", CODE_MAX)
        delivery = _optional_text(visit.delivery, "delivery", "分娩方式", ENUM_MAX)
        if not isinstance(visit.use_account, bool):
            raise InvalidInput("use_account", "是否使用个人账户 use_account 须为 true 或 false")
        if visit.family_account is not None and not isinstance(visit.family_account, dict):
            raise InvalidInput("family_account", "家庭共济账户 family_account 须为 JSON 对象")
        if not isinstance(visit.items, list | tuple) or not visit.items:
            raise InvalidInput("items", "费用明细 items 须为非空列表")
        if len(visit.items) > MAX_ITEMS:
            raise InvalidInput("items", f"费用明细最多 {MAX_ITEMS} 条")
        items = [_check_item(i, it) for i, it in enumerate(visit.items)]
    except InvalidInput as exc:
        raise _bad(exc) from None
    return VisitInput(psn_no=psn_no, date=visit.date, benefit=visit.benefit, items=items, disease=disease,
                      delivery=delivery, use_account=visit.use_account, family_account=visit.family_account,
                      institution=visit.institution, reason=visit.reason, diagnosis=visit.diagnosis)


def _check_token(token: str | None) -> str:
    if token is None or token == "":
        return uuid.uuid4().hex
    try:
        return check_text(token, "token", "请求令牌", max_len=TOKEN_MAX)
    except InvalidInput as exc:
        raise _bad(exc) from None


def _check_reversal_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise LedgerError("冲正必须填写原因", field="reason", code="invalid_input")
    try:
        return check_text(reason, "reason", "冲正原因", max_len=MAX_REASON)
    except InvalidInput as exc:
        raise _bad(exc) from None


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


def _claim_dict(s, visit: VisitInput, person: m.Person) -> dict:
    """The contract claim (without history) from a visit and the person's record. The institution is
    always this clinic's stored settings."""
    inst = clinic_settings(s).institution()
    if visit.institution is not None:
        _same_clinic(visit.institution, inst)
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
    hashes = {pid: pk.content_hash for pid, pk in policy.packs.items()}
    out["packs"] = [{**p, "content_hash": hashes.get(p["id"], "")} for p in out["packs"]]
    claim["history"] = _history_json(history)
    return person, claim, out, history, policy


def presettle(db: Database, visit: VisitInput, *, today: date | None = None) -> Preview:
    """预结算: the full split with reasons; writes nothing. A visit after today is refused."""
    visit = check_visit(visit)
    check_visit_date(visit.date, today=today or date.today())
    check_diagnosis(visit.diagnosis)  # a bad 诊断 is said at F5, not only at F9
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
    token = _check_token(token)
    today = today or date.today()
    with db.write() as s:
        prior = _prior(s, token, "settle", (visit.psn_no, visit.date, visit.benefit, visit.disease or "", visit.items))
        if prior is not None:
            return prior
        op = _operator(s, operator)
        reason = check_visit_date(visit.date, today=today, role=op.role, reason=visit.reason)
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
            packs=json.dumps(result["packs"], ensure_ascii=False), operator=operator, reason=reason,
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
                      "dv": audit.DIGEST_VERSION,
                      **({"visit_date": visit.date.isoformat(), "reason": reason} if reason else {})},
                     after=audit.settlement_digest(st))
        return _record(s, st)


def reverse(db: Database, setl_no: str, *, reason: str, operator: str, token: str | None = None,
            today: date | None = None) -> SettlementRecord:
    """冲正: a new record with every amount negated, pointing at the original; caps come back."""
    token = _check_token(token)
    today = today or date.today()
    reason = _check_reversal_reason(reason)
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
    from desktop_app.services import regions
    from desktop_app.services.roster import mask_id

    region = regions.name(person.admdvs) or region_name(dict(s.execute(
        select(m.PolicyPack.admdvs, m.PolicyPack.name).where(m.PolicyPack.admdvs.in_(admdvs_levels(person.admdvs))))
        .all()), person.admdvs)
    units = {}
    for it in claim["items"]:
        ci = s.get(m.ClinicItem, it["code"])
        units[it["code"]] = {"spec": "", "unit": ci.unit if ci else ""}  # (the price list has no 规格 column yet)
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


_ICD10 = re.compile(r"([A-Za-z]\d{2}(?:\.[0-9A-Za-z]{1,8})?)(?:\s+(\S.*))?")


def check_diagnosis(text: str | None) -> str:
    """An optional 诊断: an ICD-10 code, then its name ("J06.900 急性上呼吸道感染"); "" when not given."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    m_ = _ICD10.fullmatch(text)
    if m_ is None or len(text) > 120:
        raise LedgerError(f"诊断须为 ICD-10 编码加名称，如“J06.900 急性上呼吸道感染”，收到“{text[:40]}”",
                          field="diagnosis", code="invalid_input")
    code, name = m_.group(1), m_.group(2) or ""
    return f"{code[0].upper()}{code[1:]} {name}".strip()


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


def _day_count(s, day: date) -> int:
    return s.execute(select(func.count()).select_from(m.Settlement).where(m.Settlement.business_date == day)).scalar()


def day_close(db: Database, *, operator: str, day: date | None = None, today: date | None = None) -> DayCloseRecord:
    """日结: freeze the day's settlements and record totals by 险种 and benefit.

    Today may be closed (even without settlements); an earlier day only while unclosed and when it has
    settlements (a day the clinic saw nobody needs no close); a future day never."""
    today = today or date.today()
    day = day or today
    with db.write() as s:
        _operator(s, operator)
        if day > today:
            raise LedgerError(f"营业日 {day} 晚于今天（{today}）：不能日结未来的营业日", field="date",
                              code="invalid_input")
        if _closed(s, day):
            raise LedgerError(f"{day} 已经日结过了", field="date", code="already_closed")
        if day < today and not _day_count(s, day):
            raise LedgerError(f"{day} 没有结算记录，无需日结", field="date", code="nothing_to_close")
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


def reopen_day(db: Database, *, operator: str, day: date, reason: str = "") -> None:
    """撤销日结 (supervisor): a day closed by mistake — before anyone was settled — opens again.
    A day with settlements or reversals stays closed (its totals went to the 日结单 and the backup)."""
    with db.write() as s:
        op = _operator(s, operator)
        if op.role != "supervisor":
            raise LedgerError("只有管理员可以撤销日结", field="operator", code="supervisor_required")
        dc = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        if dc is None:
            raise LedgerError(f"{day} 没有日结，无需撤销", field="date", code="not_closed")
        n = _day_count(s, day)
        if n:
            raise LedgerError(f"{day} 已有 {n} 笔结算或冲正记录，日结不能撤销（次日的结算照常进行；"
                              "冲正已日结的结算须管理员办理）", field="date", code="day_has_settlements")
        reason = _check_reason(reason, "撤销日结的原因")
        detail = {"closed_by": dc.operator, "closed_at": dc.closed_at.isoformat(timespec="seconds"),
                  "reason": reason}
        s.delete(dc)
        s.flush()
        audit.append(s, operator, "day_reopen", day.isoformat(), detail)


@dataclass(frozen=True)
class DaySummary:
    """What the 日结 confirmation shows: the day's counts and totals (reversals deducted), and its close."""

    day: date
    settlements: int
    reversals: int
    totals: dict  # MONEY_FIELDS → "0.00"
    closed: DayCloseRecord | None


def day_summary(db: Database, day: date) -> DaySummary:
    with db.read() as s:
        t = day_totals(s, day)
        dc = s.execute(select(m.DayClose).where(m.DayClose.business_date == day)).scalar_one_or_none()
        closed = DayCloseRecord(dc.business_date, dc.closed_at, dc.operator, dc.count) if dc else None
        return DaySummary(day, t["settlements"], t["reversals"], t["totals"], closed)
