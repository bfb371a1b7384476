"""Tamper-evident audit trail: an append-only table whose entries are hash-chained.

Every entry stores the hash of the entry before it; its own hash covers its id,
time, actor, action, subject, detail and the before/after digests, plus that
previous hash. Entries are appended inside the same transaction as the action
they record (a settlement and its audit entry commit together or not at all),
under the single-writer lock, so the chain has no races.

`verify` walks the chain and reports the first entry that was edited, deleted or
inserted out of order; then it checks the records against the trail in both
directions: every settlement, reversal and day close has its entry and still
matches the digest recorded there, and every such entry still has its record.

Anchors: anyone with the database file can recompute every digest and re-hash the
whole chain, so the chain alone proves nothing against them. An anchor — the
chain head (entry number and hash) taken at some moment and kept *outside* the
file (printed on every 日结单 and written into every export manifest) — does:
`verify(db, anchor=…)` checks that the chain still holds that entry with that
hash, and lists the signing keys trusted after it.

Digest versions: settle, reverse and day-close entries written since digest
version 2 carry `"dv": 2` in their detail; their digest covers every stored field
of the record (see `settlement_digest`). Entries without it were written by
earlier versions and are checked with the version-1 digest (number, person,
amounts, lines), so an existing database keeps verifying clean.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import selectinload

from desktop_app.core.model import ITEM_MONEY_FIELDS, MONEY_FIELDS
from desktop_app.core.money import q2
from desktop_app.store import models as m
from desktop_app.store.db import Database, lock

GENESIS = "0" * 64
DIGEST_VERSION = 2  # written as "dv" in the detail of settle, reverse and day-close entries


def _canon(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(id_: int, at: datetime, actor: str, action: str, subject: str, detail: str, before: str, after: str,
               prev: str) -> str:
    body = _canon([id_, at.isoformat(timespec="microseconds"), actor, action, subject, detail, before, after, prev])
    return hashlib.sha256(body.encode()).hexdigest()


def settlement_digest_v1(st: m.Settlement) -> str:
    """Digest version 1 (entries without "dv"): number, person, every amount, the lines' figures."""
    lines = [[i.seq, i.code, i.qty, i.price, str(i.det_item_fee_sumamt), str(i.fulamt_ownpay_amt),
              str(i.overlmt_amt), str(i.preselfpay_amt), str(i.inscp_scp_amt)] for i in st.items]
    figures = [st.setl_no, st.kind, st.psn_no, st.visit_date.isoformat(), st.benefit,
               *[str(getattr(st, f)) for f in MONEY_FIELDS], lines]
    return hashlib.sha256(_canon(figures).encode()).hexdigest()


def _money(v) -> str:
    return str(q2(Decimal(v)) + 0)  # + 0: never "-0.00"


def _when(v) -> str:
    return v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v.isoformat()


def settlement_digest(st: m.Settlement, original: str | None = None) -> str:
    """Digest version 2: every stored field a receipt, a report or a cap depends on — identity, token,
    kind, the settlement it reverses (`original`: its number), person, dates, benefit, institution, all
    amounts, the stored claim, result, packs and receipt snapshot, operator, reason, time, and every
    column of every line. Only `day_close_id` is left out: day close stamps it later (checked against
    the day-close records instead)."""
    lines = [[i.seq, i.code, i.name, i.kind, i.chrgitm_lv, i.fee_category, i.qty, i.price, i.pay_std,
              *[_money(getattr(i, f)) for f in ITEM_MONEY_FIELDS]] for i in st.items]
    fields = [DIGEST_VERSION, st.setl_no, st.request_token, st.kind, original, st.psn_no, _when(st.business_date),
              _when(st.visit_date), st.benefit, st.disease, st.institution, st.insutype, st.admdvs,
              *[_money(getattr(st, f)) for f in MONEY_FIELDS], st.pool_prop_selfpay, st.claim_json,
              st.result_json, st.packs, st.receipt_json, st.operator, st.reason, _when(st.created_at), lines,
              # a 全自费 walk-in's name, masked ID and gender (0004); absent for every other record, whose
              # digest is therefore what it was
              *([st.walkin_name, st.walkin_id, st.walkin_gender] if st.walkin_name else [])]
    return hashlib.sha256(_canon(fields).encode()).hexdigest()


def day_close_digest(dc: m.DayClose) -> str:
    """Digest version 2 of a day close: its date, time, operator, count and the totals it froze."""
    fields = [DIGEST_VERSION, _when(dc.business_date), _when(dc.closed_at), dc.operator, dc.count, dc.totals_json]
    return hashlib.sha256(_canon(fields).encode()).hexdigest()


# ---------------------------------------------------------------------------
# State that moves money or rights: the chain records its digest at every change
# ---------------------------------------------------------------------------
def settings_digest(values: dict[str, str]) -> str:
    """The clinic settings as stored (`setting` rows)."""
    return hashlib.sha256(json.dumps(values, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def current_settings_digest(s) -> str:
    return settings_digest({r.key: r.value for r in s.execute(select(m.Setting)).scalars()})


def operators_digest(s) -> str:
    """Every account's login, name, role, password hash, must-change flag and active flag (not the lockout
    counters, which every failed login changes)."""
    rows = sorted([o.login, o.name, o.role, o.password_hash, bool(o.must_change_password), bool(o.active)]
                  for o in s.execute(select(m.Operator)).scalars())
    return hashlib.sha256(_canon(rows).encode()).hexdigest()


_PERSON_FIELDS = ("psn_no", "id_no", "name", "gender", "birth_date", "insutype", "category", "admdvs", "paid_on",
                  "pay_period", "waiting_exempt", "family_doctor_at", "as_of")
_USAGE_FIELDS = ("psn_no", "year", "benefit", "disease", "quarter", "fund_paid", "item_code", "count")


def _rows_text(rows) -> list[str]:
    return sorted(map(repr, map(tuple, rows)))  # repr of str/int/bool/date/None: exact and fast


def roster_digest(s) -> str:
    """The roster as imported: every person's insurance data, registered diseases, the 待遇累计 usage
    snapshot, and the personal-account balance *before local settlements* (balance + everything the
    ledger took from it), so settling and reversing do not change it and only an import does."""
    con = s.connection()  # plain rows, no ORM loading: 100,000 persons take well under a second
    fen = BigInteger()  # money as stored: integer fen
    used = dict(con.execute(select(m.Settlement.psn_no, func.sum(type_coerce(m.Settlement.acct_pay, fen)))
                            .group_by(m.Settlement.psn_no)).all())
    # 缴费年度 (contrib_year, revision 0005) joins a person's row only when set: a roster imported before it
    # keeps the digest its import recorded; int(): PostgreSQL's SUM of a bigint is a numeric (Decimal),
    # SQLite's an int — the digest must not differ
    persons = _rows_text((*r[:-2], int(r[-2] + used.get(r[0], 0)), *(() if r[-1] is None else (r[-1],)))
                         for r in con.execute(select(*[getattr(m.Person, f) for f in _PERSON_FIELDS],
                                                     type_coerce(m.Person.acct_balance, fen), m.Person.contrib_year)).all())
    diseases = _rows_text(con.execute(select(m.PersonDisease.psn_no, m.PersonDisease.disease)).all())
    usage = _rows_text(con.execute(select(*[getattr(m.UsageSnapshot, f) for f in _USAGE_FIELDS])).all())
    h = hashlib.sha256()
    for part in (persons, diseases, usage):
        h.update("\n".join(part).encode())
        h.update(b"\x1e")
    return h.hexdigest()


# category → (actions that change it and record before/after digests, digest of the current state, label)
STATE = {
    "settings": (("settings",), current_settings_digest, "机构设置"),
    "operators": (("account_add", "account_passwd", "account_enable", "account_disable"), operators_digest,
                  "操作员账户（登录名、角色、密码、启用状态）"),
    "roster": (("roster_import",), roster_digest, "花名册（参保信息、登记病种、个人账户余额）与待遇累计"),
}


def append(s, actor: str, action: str, subject: str = "", detail: dict | None = None, *, before: str = "",
           after: str = "") -> m.AuditEntry:
    """Append one entry in the caller's (write) transaction. On PostgreSQL the chain's lock is taken first
    and held to the commit, so entries of transactions running at once are appended one after another."""
    lock(s, "audit_chain")
    last = s.execute(select(m.AuditEntry.id, m.AuditEntry.hash).order_by(m.AuditEntry.id.desc()).limit(1)).first()
    new_id = (last.id + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = datetime.now()
    d = _canon(detail or {})
    e = m.AuditEntry(id=new_id, at=at, actor=actor or "", action=action, subject=subject or "", detail=d,
                     before_digest=before, after_digest=after, prev_hash=prev,
                     hash=entry_hash(new_id, at, actor or "", action, subject or "", d, before, after, prev))
    s.add(e)
    s.flush()
    return e


def record(db: Database, actor: str, action: str, subject: str = "", detail: dict | None = None) -> None:
    """Append in a transaction of its own (for events with no other write, e.g. a failed login)."""
    with db.write() as s:
        append(s, actor, action, subject, detail)


@dataclass(frozen=True)
class Problem:
    entry_id: int | None
    # edited | deleted | out_of_order | settlement_changed | settlement_unrecorded | settlement_missing |
    # day_close_changed | day_close_unrecorded | day_close_missing | day_close_stamp |
    # pack_changed | pack_missing | pack_unrecorded | settings_changed | operators_changed | roster_changed |
    # anchor_missing | anchor_mismatch
    kind: str
    message: str


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    settlements: int
    problems: list[Problem] = field(default_factory=list)
    # things after the anchor to confirm by hand (not errors): key_trusted_after_anchor
    notices: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_ANCHOR = re.compile(r"#\s*(\d+)\s+([0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){3,15})")


@dataclass(frozen=True)
class Anchor:
    """The chain head at some moment: entry number and hash (compared on the first 16 hex digits)."""

    entry_id: int
    hash: str

    def __str__(self) -> str:
        h = self.hash[:16]
        return f"#{self.entry_id} {h[:4]}-{h[4:8]}-{h[8:12]}-{h[12:16]}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`#1234 3f9a-12bc-5d6e-7f80` (dashes optional, more digits allowed), also inside a longer text."""
        found = _ANCHOR.search(text or "")
        if found is None:
            raise ValueError("不是审计锚点：应为“#记录号 16位十六进制”，例如 #1234 3f9a-12bc-5d6e-7f80")
        return cls(int(found.group(1)), found.group(2).replace("-", "").lower())


def anchor(db: Database) -> Anchor:
    """The chain head now (number 0 and the genesis hash for an empty trail)."""
    with db.read() as s:
        last = s.execute(select(m.AuditEntry.id, m.AuditEntry.hash).order_by(m.AuditEntry.id.desc()).limit(1)).first()
    return Anchor(last.id, last.hash) if last else Anchor(0, GENESIS)


def _check_anchor(entries: list[m.AuditEntry], a: Anchor) -> tuple[list[Problem], list[Problem]]:
    """(problems, notices): the anchored entry must still be there with its hash; keys trusted after it are listed."""
    problems: list[Problem] = []
    if a.entry_id > 0:
        e = next((x for x in entries if x.id == a.entry_id), None)
        if e is None:
            problems.append(Problem(a.entry_id, "anchor_missing", f"锚点 {a} 指向的第 {a.entry_id} 号审计记录已不存在："
                                                                 "审计记录被截断或整个数据库被替换"))
        elif not e.hash.startswith(a.hash):
            problems.append(Problem(a.entry_id, "anchor_mismatch", f"第 {a.entry_id} 号审计记录与锚点 {a} 不符："
                                                                  "锚点及之前的审计记录被改写过（整条链被重新计算）"))
    notices = [Problem(e.id, "key_trusted_after_anchor",
                       f"锚点之后，第 {e.id} 号审计记录信任了签名公钥 {e.subject}（{e.actor}，{e.at:%Y-%m-%d %H:%M}）："
                       "请与管理员核实")
               for e in entries if e.id > a.entry_id and e.action == "key_trust"]
    return problems, notices


def _detail(e: m.AuditEntry) -> dict:
    try:
        d = json.loads(e.detail)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _check_chain(entries: list[m.AuditEntry]) -> Problem | None:
    """The first entry that was edited, deleted or inserted out of order (None: the chain holds)."""
    prev_hash, prev_id = GENESIS, 0
    for e in entries:
        recomputed = entry_hash(e.id, e.at, e.actor, e.action, e.subject, e.detail, e.before_digest,
                                e.after_digest, e.prev_hash)
        if e.id != prev_id + 1 and e.prev_hash != prev_hash:
            return Problem(e.id, "deleted", f"第 {prev_id + 1}–{e.id - 1} 号审计记录被删除")
        if recomputed != e.hash:
            return Problem(e.id, "edited", f"第 {e.id} 号审计记录（{e.action} {e.subject}）的内容被改动")
        if e.prev_hash != prev_hash:
            return Problem(e.id, "out_of_order", f"第 {e.id} 号审计记录不接在第 {prev_id} 号之后（被插入或调换了顺序）")
        if e.id != prev_id + 1:
            return Problem(e.id, "deleted", f"第 {prev_id + 1}–{e.id - 1} 号审计记录被删除")
        prev_hash, prev_id = e.hash, e.id
    return None


def _settlement_mismatch(st: m.Settlement, e: m.AuditEntry, original: str | None) -> str | None:
    """Why a settlement no longer matches its audit entry (None: it matches)."""
    detail = _detail(e)
    if detail.get("dv") == DIGEST_VERSION:
        want = settlement_digest(st, original)
    else:
        want = settlement_digest_v1(st)
    if e.action != st.kind or want != e.after_digest:
        return f"结算 {st.setl_no} 的内容（金额、明细、结算单、原因、操作员或日期）与结算时记录的不一致"
    if st.kind == "reverse" and detail.get("original") != original:
        return f"冲正 {st.setl_no} 指向的原结算（{original}）与记录的（{detail.get('original')}）不一致"
    return None


def _check_settlements(s, entries: list[m.AuditEntry]) -> tuple[int, list[Problem]]:
    """Every settlement has its entry and matches it; every settle/reverse entry still has its settlement."""
    recorded = {e.subject: e for e in entries if e.action in ("settle", "reverse") and e.subject}
    rows = s.execute(select(m.Settlement).options(selectinload(m.Settlement.items))
                     .order_by(m.Settlement.id)).scalars().all()
    numbers = {st.id: st.setl_no for st in rows}
    problems: list[Problem] = []
    for st in rows:
        e = recorded.pop(st.setl_no, None)
        if e is None:
            problems.append(Problem(None, "settlement_unrecorded", f"结算 {st.setl_no} 没有对应的审计记录"))
            continue
        original = numbers.get(st.original_id, f"#{st.original_id}") if st.original_id is not None else None
        why = _settlement_mismatch(st, e, original)
        if why:
            problems.append(Problem(e.id, "settlement_changed", why))
    for setl_no, e in recorded.items():
        what = "冲正" if e.action == "reverse" else "结算"
        problems.append(Problem(e.id, "settlement_missing",
                                f"第 {e.id} 号审计记录的{what} {setl_no} 在数据库中已不存在（被删除）"))
    return len(rows), problems


def _check_day_closes(s, entries: list[m.AuditEntry]) -> list[Problem]:
    """Day-close records against their entries (both ways), and every settlement's day-close stamp."""
    recorded: dict[str, m.AuditEntry] = {}  # the day's close in force: a later day_reopen (撤销日结) ends it
    for e in entries:
        if e.action == "day_close":
            recorded[e.subject] = e
        elif e.action == "day_reopen":
            recorded.pop(e.subject, None)
    problems: list[Problem] = []
    closed: dict = {}
    for dc in s.execute(select(m.DayClose).order_by(m.DayClose.business_date)).scalars():
        closed[dc.business_date] = dc.id
        e = recorded.pop(dc.business_date.isoformat(), None)
        if e is None:
            problems.append(Problem(None, "day_close_unrecorded", f"{dc.business_date} 的日结没有对应的审计记录"))
            continue
        detail = _detail(e)
        same = (e.after_digest == day_close_digest(dc)) if detail.get("dv") == DIGEST_VERSION \
            else detail.get("count") == dc.count
        if not same:
            problems.append(Problem(e.id, "day_close_changed", f"{dc.business_date} 的日结记录（合计、笔数、操作员）"
                                                               "与日结时记录的不一致"))
    for day, e in recorded.items():
        problems.append(Problem(e.id, "day_close_missing", f"第 {e.id} 号审计记录的 {day} 日结在数据库中已不存在（被删除）"))
    wrong: dict = {}
    for setl_no, day, stamp in s.execute(select(m.Settlement.setl_no, m.Settlement.business_date,
                                                m.Settlement.day_close_id).order_by(m.Settlement.id)):
        if stamp != closed.get(day):
            wrong.setdefault(day, []).append(setl_no)
    for day, nos in wrong.items():
        state = "已日结" if day in closed else "未日结"
        problems.append(Problem(None, "day_close_stamp", f"{day}（{state}）的 {len(nos)} 笔结算的日结标记不对"
                                                         f"（被撤销或改动）：{'、'.join(nos[:5])}{' 等' if len(nos) > 5 else ''}"))
    return problems


def _check_state(s, entries: list[m.AuditEntry]) -> list[Problem]:
    """Each kind of state against the digests the chain recorded: every change's `before` must be the
    previous change's `after` (else it was changed in between, not by the program), and the state now
    must be the last `after`. Entries without digests (written before they were recorded) are skipped."""
    out: list[Problem] = []
    for kind, (actions, digest, label) in STATE.items():
        last: m.AuditEntry | None = None
        for e in entries:
            if e.action not in actions or not e.after_digest:
                continue
            if last is not None and e.before_digest and e.before_digest != last.after_digest:
                out.append(Problem(e.id, f"{kind}_changed", f"{label}在第 {last.id} 号与第 {e.id} 号审计记录之间"
                                                             "被改动（不是通过本程序）"))
            last = e
        if last is not None and digest(s) != last.after_digest:
            out.append(Problem(last.id, f"{kind}_changed", f"{label}与最后一次记录的（第 {last.id} 号审计记录）"
                                                           "不一致：被绕过本程序改动"))
    return out


def _check_packs(db: Database, s) -> list[Problem]:
    """Stored pack files against the content hashes recorded at sync (what the engine checks on loading)."""
    from desktop_app.services.packs import stored_pack_problems

    return [Problem(p.entry_id, p.kind, p.message) for p in stored_pack_problems(db, s)]


def verify(db: Database, anchor: Anchor | str | None = None, *, actor: str) -> VerifyResult:
    """Check the chain, the records against it both ways, the stored packs and state; with `anchor`
    (an Anchor or its text; ValueError if the text is not one), also that the chain still holds it.
    A supervisor's (`actor`)."""
    from desktop_app.services.accounts import require_supervisor

    if isinstance(anchor, str):
        anchor = Anchor.parse(anchor)
    with db.read() as s:
        require_supervisor(s, actor, "校验审计记录")
        entries = s.execute(select(m.AuditEntry).order_by(m.AuditEntry.id)).scalars().all()
        first_bad = _check_chain(entries)
        problems: list[Problem] = [first_bad] if first_bad is not None else []
        count, found = _check_settlements(s, entries)
        problems += found
        problems += _check_day_closes(s, entries)
        problems += _check_packs(db, s)
        problems += _check_state(s, entries)
        notices: list[Problem] = []
        if anchor is not None:
            found, notices = _check_anchor(entries, anchor)
            problems += found
        return VerifyResult(len(entries), count, problems, notices)


@dataclass(frozen=True)
class EntryInfo:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict


def recent(db: Database, limit: int = 200, *, actor: str) -> list[EntryInfo]:
    """The newest entries; a supervisor's (`actor`)."""
    from desktop_app.services.accounts import require_supervisor

    with db.read() as s:
        require_supervisor(s, actor, "查看审计记录")
        rows = s.execute(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)).scalars().all()
        return [EntryInfo(e.id, e.at, e.actor, e.action, e.subject, json.loads(e.detail)) for e in rows]
