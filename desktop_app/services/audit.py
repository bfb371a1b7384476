"""Tamper-evident audit trail: an append-only table whose entries are hash-chained.

Every entry stores the hash of the entry before it; its own hash covers its id,
time, actor, action, subject, detail and the before/after digests, plus that
previous hash. Entries are appended inside the same transaction as the action
they record (a settlement and its audit entry commit together or not at all),
under the single-writer lock, so the chain has no races.

`verify` walks the chain and reports the first entry that was edited, deleted or
inserted out of order, and every settlement whose stored figures no longer match
the digest recorded when it was made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.store import models as m
from desktop_app.store.db import Database

GENESIS = "0" * 64


def _canon(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(id_: int, at: datetime, actor: str, action: str, subject: str, detail: str, before: str, after: str,
               prev: str) -> str:
    body = _canon([id_, at.isoformat(timespec="microseconds"), actor, action, subject, detail, before, after, prev])
    return hashlib.sha256(body.encode()).hexdigest()


def settlement_digest(st: m.Settlement) -> str:
    """The figures that must never change after settlement: number, person, every amount, every line."""
    lines = [[i.seq, i.code, i.qty, i.price, str(i.det_item_fee_sumamt), str(i.fulamt_ownpay_amt),
              str(i.overlmt_amt), str(i.preselfpay_amt), str(i.inscp_scp_amt)] for i in st.items]
    figures = [st.setl_no, st.kind, st.psn_no, st.visit_date.isoformat(), st.benefit,
               *[str(getattr(st, f)) for f in MONEY_FIELDS], lines]
    return hashlib.sha256(_canon(figures).encode()).hexdigest()


def append(s, actor: str, action: str, subject: str = "", detail: dict | None = None, *, before: str = "",
           after: str = "") -> m.AuditEntry:
    """Append one entry in the caller's (write) transaction."""
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
    kind: str  # edited | deleted | out_of_order | settlement_changed | settlement_unrecorded
    message: str


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    settlements: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(db: Database) -> VerifyResult:
    problems: list[Problem] = []
    with db.read() as s:
        entries = s.execute(select(m.AuditEntry).order_by(m.AuditEntry.id)).scalars().all()
        prev_hash, prev_id = GENESIS, 0
        first_bad: Problem | None = None
        digests: dict[str, str] = {}
        for e in entries:
            recomputed = entry_hash(e.id, e.at, e.actor, e.action, e.subject, e.detail, e.before_digest,
                                    e.after_digest, e.prev_hash)
            if first_bad is None:
                if e.id != prev_id + 1 and e.prev_hash != prev_hash:
                    first_bad = Problem(e.id, "deleted", f"第 {prev_id + 1}–{e.id - 1} 号审计记录被删除")
                elif recomputed != e.hash:
                    first_bad = Problem(e.id, "edited", f"第 {e.id} 号审计记录（{e.action} {e.subject}）的内容被改动")
                elif e.prev_hash != prev_hash:
                    first_bad = Problem(e.id, "out_of_order",
                                        f"第 {e.id} 号审计记录不接在第 {prev_id} 号之后（被插入或调换了顺序）")
                elif e.id != prev_id + 1:
                    first_bad = Problem(e.id, "deleted", f"第 {prev_id + 1}–{e.id - 1} 号审计记录被删除")
            prev_hash, prev_id = e.hash, e.id
            if e.action in ("settle", "reverse") and e.subject:
                digests[e.subject] = e.after_digest
        if first_bad is not None:
            problems.append(first_bad)
        settlements = s.execute(select(m.Settlement).order_by(m.Settlement.id)).scalars().all()
        for st in settlements:
            recorded = digests.get(st.setl_no)
            if recorded is None:
                problems.append(Problem(None, "settlement_unrecorded", f"结算 {st.setl_no} 没有对应的审计记录"))
            elif recorded != settlement_digest(st):
                problems.append(Problem(None, "settlement_changed",
                                        f"结算 {st.setl_no} 的金额或明细与结算时记录的不一致"))
        return VerifyResult(len(entries), len(settlements), problems)


@dataclass(frozen=True)
class EntryInfo:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict


def recent(db: Database, limit: int = 200) -> list[EntryInfo]:
    with db.read() as s:
        rows = s.execute(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)).scalars().all()
        return [EntryInfo(e.id, e.at, e.actor, e.action, e.subject, json.loads(e.detail)) for e in rows]
