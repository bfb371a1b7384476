"""The kill harness: SIGKILL the program at random moments while it settles and reverses,
syncs policy packs, imports a roster and closes the day, then check the database.

After every kill: `PRAGMA integrity_check` is ok and `foreign_key_check` is empty, the audit
chain verifies, and

- settle/reverse: every settlement is whole (items add up, the identities hold), reversals
  mirror their originals, ledger sums equal item sums and the audit entries; retrying the
  request the kill cut off never settles or reverses twice;
- pack sync: the packs are exactly as before the sync or exactly as a clean sync leaves them
  (every row of every pack table compared), never a mix or a partial pack; a `pack_sync`
  audit entry per pack iff the new packs landed; running the sync again completes it and
  leaves the clean state with no duplicate audit entry;
- roster import: persons, search keys, registered diseases and usage snapshots are exactly
  as before or exactly as a clean import leaves them (so the person count is the before- or
  the after-count, every person has their keys); a `roster_import` audit entry iff the rows
  landed; running the import again leaves the clean state;
- day close (`closing.close_day`: transaction, backup, 日结单): the day is closed completely
  (one `day_close` row, every settlement of the day stamped with it, one `day_close` audit
  entry) or not at all; every backup present checks out and holds the closed day (`.partial`
  leftovers allowed: rotation removes them after an hour); every 日结单 file present is
  complete; running it again completes it, or (already closed) refuses, and the 日结单 made
  then (`report day`) is complete.

Kills are timed from the moment the worker starts the operation, at random delays spread
over its measured duration (for sync and roster import, half of them aimed inside its write
transaction, also measured; a settle loop is almost all write transactions).
`CLINIC_FAULT_ITERATIONS` kills per operation (25 in CI); `bench/fault_run.py` runs hundreds
and prints the figures in docs/reliability.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import queue
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.services import audit, demo, ledger, ledger_types, packs, roster
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.conftest import build_template

WORKER = str(Path(__file__).with_name("fault_worker.py"))
ROOT = Path(__file__).resolve().parents[2]
ITERATIONS = int(os.environ.get("CLINIC_FAULT_ITERATIONS", "25"))
ROSTER_ROWS = int(os.environ.get("CLINIC_FAULT_ROSTER_ROWS", "2000"))
TODAY = date(2026, 11, 23)
SETTLE_COUNT = 10  # settlements per settle worker (a reversal after every third)
SETTLE_EPOCH = 50  # the settle database starts afresh every this many kills (keeps each check short)
NEW_VERSION = "9.0.0"  # newer than every shipped pack
# the day close's steps, by the worker's event that begins each
CLOSE_PHASES = {"w+": "inside the transaction", "w-": "after the commit, before the backup", "bk+": "in the backup",
                "bk-": "after the backup", "x+": "writing the xlsx", "x-": "after the xlsx", "p+": "writing the PDF",
                "p-": "after the PDF"}


# ---------------------------------------------------------------------------
# the fork server and what one run of an operation reports
# ---------------------------------------------------------------------------
@dataclass
class Outcome:
    events: list[dict]
    code: int  # 0 finished, -9 killed, 1 the operation raised
    delay: float | None
    after: str = "start"  # what the delay counts from: the operation's start, or "w+" its first write

    def times(self, name: str) -> list[float]:
        t0 = self.t_start
        return [e["t"] - t0 for e in self.events if e["ev"] == name]

    @property
    def t_start(self) -> float:
        return next(e["t"] for e in self.events if e["ev"] == "start")

    @property
    def names(self) -> list[str]:
        return [e["ev"] for e in self.events]

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL

    @property
    def mid_op(self) -> bool:
        """Killed after the operation started and before it returned."""
        return self.killed and "start" in self.names and "done" not in self.names

    @property
    def in_tx(self) -> bool:
        """Killed inside a write transaction (entered, not yet committed)."""
        marks = [n for n in self.names if n in ("w+", "w-")]
        return self.mid_op and bool(marks) and marks[-1] == "w+"

    @property
    def error(self) -> str | None:
        errs = [e["error"] for e in self.events if e["ev"] == "error"]
        if errs:
            return errs[0]
        if self.code not in (0, -signal.SIGKILL):
            return f"worker exited with {self.code}"
        return None

    @property
    def phase(self) -> str | None:
        """Day close: the step a mid-operation kill landed in (None: not mid-operation)."""
        if not self.mid_op:
            return None
        marks = [n for n in self.names if n in CLOSE_PHASES]
        return CLOSE_PHASES[marks[-1]] if marks else "before the transaction"

    def where(self) -> str:
        if not self.killed:
            return "not killed (finished first)"
        if not self.mid_op:
            return "killed after the operation returned"
        since = "into the operation" if self.after == "start" else "after it began writing"
        return f"killed {self.delay:.3f} s {since}, {'inside' if self.in_tx else 'outside'} a write " \
               f"transaction, after events {self.names[-4:]}"


class Zygote:
    """`fault_worker.py --serve`: forks one child per operation and SIGKILLs it after `delay`."""

    def __init__(self, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.err_path = workdir / "fault_worker.stderr"
        self.err = self.err_path.open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, WORKER, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True, env=env, cwd=ROOT,
                                     bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        first = self._next(120)
        assert first == "ready", first

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        if line is None:
            self.err.flush()
            raise RuntimeError(f"the fault worker died: {self.err_path.read_text()[-2000:]}")
        return line

    def run(self, cmd: dict, timeout: float = 600) -> Outcome:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        events = []
        while True:
            obj = json.loads(self._next(timeout))
            if "exit" in obj:
                return Outcome(events, obj["code"], cmd.get("delay"), cmd.get("after", "start"))
            events.append(obj)

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.err.close()


@dataclass
class Stats:
    op: str
    iterations: int = 0
    killed: int = 0  # SIGKILL delivered while the worker was running
    mid_op: int = 0  # … after the operation started and before it returned
    in_tx: int = 0  # … inside its write transaction
    finished_first: int = 0  # the operation returned before the kill
    landed: int = 0  # mid-operation kills after which the database held the complete result (sync, roster)
    retried: int = 0  # settle: the request cut off by the kill, retried …
    replayed: int = 0  # … and found already committed (returned the first record)
    failures: list[str] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)  # day close: where the kills landed, what they left
    wall_s: float = 0.0
    op_s: float = 0.0  # a clean run of the operation (calibration)
    tx_s: float = 0.0  # its write transaction(s)

    def count(self, out: Outcome) -> None:
        self.iterations += 1
        self.killed += out.killed
        self.mid_op += out.mid_op
        self.in_tx += out.in_tx
        self.finished_first += not out.mid_op
        if out.phase and self.op.startswith("day close"):
            self.note(f"killed {out.phase}")

    def note(self, what: str) -> None:
        self.notes[what] = self.notes.get(what, 0) + 1

    def line(self) -> str:
        return (f"{self.op}: {self.iterations} iterations, {self.mid_op} kills mid-operation ({self.in_tx} inside "
                f"the write transaction; {self.outcomes()}), {self.finished_first} finished first, "
                f"{len(self.failures)} failures, "
                f"{self.wall_s:.1f} s (clean run {self.op_s * 1000:.0f} ms, write {self.tx_s * 1000:.0f} ms)"
                + (f"; {', '.join(f'{k}: {v}' for k, v in sorted(self.notes.items()))}" if self.notes else ""))


    def outcomes(self) -> str:
        if self.retried:
            return f"cut-off request retried {self.retried}×: {self.replayed} already committed"
        return f"{self.mid_op - self.landed} left the before-state, {self.landed} the after-state"


def _record(stats: Stats, it: int, out: Outcome, check, *args) -> tuple[bool, object]:
    """Run a check; a failure is recorded with where the kill landed. (passed, what the check returned)"""
    try:
        if out.error:
            raise AssertionError(f"the worker failed: {out.error}")
        return True, check(*args)
    except Exception as exc:  # an assertion, or the database refusing to open: both are failures
        stats.failures.append(f"{stats.op} iteration {it} ({out.where()}): {type(exc).__name__}: {exc}")
        return False, None


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_copy(base: Path, dst: Path) -> Path:
    _remove_db(dst)
    shutil.copy(base, dst)
    return dst


def build_base(path: Path) -> Path:
    """The same demo database as tests/conftest.py's template (for bench/fault_run.py)."""
    _remove_db(path)
    return build_template(path)


def _kill_at(rng: random.Random, cal: Outcome) -> dict:
    """When to kill: 40 % spread over the whole operation (and a little after) from its start;
    60 % counted from its first write: 40 % inside the write transaction, 20 % around its commit
    (the last tenth of the transaction and as long again after it)."""
    dur = cal.times("done")[0]
    tx = cal.times("w-")[-1] - cal.times("w+")[0]
    r = rng.random()
    if r < 0.4:
        return {"delay": rng.uniform(0, dur * 1.1)}
    if r < 0.8:
        return {"delay": rng.uniform(0, tx), "after": "w+"}
    return {"delay": rng.uniform(0.9 * tx, 1.1 * tx), "after": "w+"}


RECALIBRATE = 100  # the machine's speed drifts (a shared, noisy machine): measure again every this many kills


def _calibrate(zyg: Zygote, stats: Stats, cmd: dict, reset) -> Outcome:
    """Three clean runs; the fastest sets the timing (kills are then rarely too late on a busy machine)."""
    cals = []
    for _ in range(3):
        reset()
        cal = zyg.run(cmd)
        assert cal.code == 0 and cal.error is None, cal.events[-3:]
        cals.append(cal)
    cal = min(cals, key=lambda c: c.times("done")[0])
    if not stats.op_s:
        stats.op_s = cal.times("done")[0]
        stats.tx_s = sum(b - a for a, b in zip(cal.times("w+"), cal.times("w-"), strict=True))
    return cal


def check_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        ic = con.execute("PRAGMA integrity_check").fetchall()
        assert ic == [("ok",)], f"integrity_check: {ic[:5]}"
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        assert fk == [], f"foreign_key_check: {fk[:5]}"
    finally:
        con.close()


def check_audit(db) -> None:
    r = audit.verify(db, actor="admin")
    assert r.ok, f"audit verify: {[p.message for p in r.problems[:5]]}"


def audit_count(db, action: str) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == action)
                         ).scalar_one()


def _digest(rows) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(tuple(r)).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def _rows(s, model, exclude=("id",), where=None):
    cols = [c for c in model.__table__.columns if c.name not in exclude]
    q = select(*cols).order_by(*cols)
    if where is not None:
        q = q.where(where)
    return s.execute(q).all()


# ---------------------------------------------------------------------------
# settle and reverse
# ---------------------------------------------------------------------------
def resident(db):
    with db.read() as s:
        return s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                       m.Person.category == "resident").limit(1)).scalar_one()


def spawn(db, psn, prefix, count, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, WORKER, str(db.path), psn, prefix, str(count), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def check_ledger(db) -> None:
    check_sqlite(db.path)
    with db.read() as s:
        rows = s.execute(select(m.Settlement)).scalars().all()
        tokens = [r.request_token for r in rows]
        assert len(tokens) == len(set(tokens)), "a request token settled twice"
        for r in rows:
            assert r.items, f"{r.setl_no} has no items"
            assert sum(i.det_item_fee_sumamt for i in r.items) == r.medfee_sumamt, f"{r.setl_no} items"
            assert r.fund_pay_sumamt == r.hifp_pay + r.hifmi_pay + r.hifob_pay, f"{r.setl_no} fund"
            assert r.psn_part_amt == r.medfee_sumamt - r.fund_pay_sumamt, f"{r.setl_no} person part"
            assert r.psn_part_amt == r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay, f"{r.setl_no} payment"
        # every reversal mirrors its original exactly; an original is reversed at most once
        by_id = {r.id: r for r in rows}
        originals = [r.original_id for r in rows if r.kind == "reverse"]
        assert len(originals) == len(set(originals)), "a settlement reversed twice"
        for r in rows:
            if r.kind == "reverse":
                o = by_id[r.original_id]
                assert r.medfee_sumamt == -o.medfee_sumamt and r.hifp_pay == -o.hifp_pay, f"{r.setl_no} mirror"
        # ledger sums agree with item sums and with the audit trail
        total = s.execute(select(func.sum(m.Settlement.medfee_sumamt))).scalar() or Decimal(0)
        items = s.execute(select(func.sum(m.SettlementItem.det_item_fee_sumamt))).scalar() or Decimal(0)
        assert total == items, f"ledger {total} != items {items}"
        logged = s.execute(select(m.AuditEntry.detail).where(m.AuditEntry.action == "settle")).scalars().all()
        settled = s.execute(select(func.sum(m.Settlement.medfee_sumamt)).where(m.Settlement.kind == "settle")
                            ).scalar() or Decimal(0)
        assert sum(Decimal(json.loads(d)["medfee_sumamt"]) for d in logged) == settled, "ledger != audit trail"
        assert len(logged) == sum(1 for r in rows if r.kind == "settle"), "settlements != audit entries"
    # every settlement's figures match the entry written with it, and the chain is whole
    check_audit(db)


def check_retry(db, psn: str, out: Outcome) -> bool | None:
    """Retrying the last request the worker started never settles (or reverses) twice."""
    reqs = [e for e in out.events if e["ev"] in ("tok", "rev")]
    if not reqs:
        return None
    last = reqs[-1]
    with db.read() as s:
        before = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
        existed = s.execute(select(m.Settlement.id).where(m.Settlement.request_token == last["token"])).first()
    if last["ev"] == "tok":
        rec = ledger.settle(db, _visit(psn), token=last["token"], operator="clerk", today=TODAY)
    else:
        rec = ledger.reverse(db, last["setl_no"], reason="测试冲正", operator="clerk", token=last["token"],
                             today=TODAY)
    with db.read() as s:
        after = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
    assert rec.replayed == bool(existed), f"retry of {last['token']}: replayed={rec.replayed}, existed={existed}"
    assert after == before + (0 if existed else 1), f"retry of {last['token']}: {before} -> {after} settlements"
    return bool(existed)


def _visit(psn: str) -> ledger_types.VisitInput:
    return ledger_types.VisitInput(psn, TODAY, "general_outpatient",
                             [ledger_types.ItemInput("X1", "1", price="100.00", kind="service", chrgitm_lv="01"),
                              ledger_types.ItemInput("110200005", "1")])


def run_settle(zyg: Zygote, base: Path, work: Path, iterations: int, seed: int = 1234) -> Stats:
    stats = Stats("settle + reverse")
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    path = work / "settle.sqlite3"
    db = open_db(fresh_copy(base, path), migrate=False)
    psn = resident(db)
    db.dispose()
    cmd = {"op": "settle", "db": str(path), "psn": psn, "count": SETTLE_COUNT, "reverse_every": 3}
    cal = _calibrate(zyg, stats, {**cmd, "prefix": "cal"}, lambda: fresh_copy(base, path))
    dur = cal.times("done")[0]
    rng = random.Random(seed)
    db = None
    for it in range(iterations):
        if it % SETTLE_EPOCH == 0 or db is None:
            if db is not None:
                db.dispose()
            db = open_db(fresh_copy(base, path), migrate=False)
        # a few land after the last settlement, while the connections close (a WAL checkpoint)
        out = zyg.run({**cmd, "prefix": f"k{it}", "delay": rng.uniform(0, dur * 1.05)})
        stats.count(out)
        ok = _record(stats, it, out, check_ledger, db)[0]
        if ok:
            ok, existed = _record(stats, it, out, check_retry, db, psn, out)
            if ok and existed is not None and out.mid_op:
                stats.retried += 1
                stats.replayed += existed
        if ok and (it % SETTLE_EPOCH == SETTLE_EPOCH - 1 or it == iterations - 1):
            ok = _record(stats, it, out, check_ledger, db)[0]
        if not ok:
            db.dispose()
            db = None  # start afresh so one failure is not counted again and again
    if db is not None:
        db.dispose()
    stats.wall_s = time.perf_counter() - t0
    return stats


# ---------------------------------------------------------------------------
# policy-pack sync
# ---------------------------------------------------------------------------
PACK_TABLES = (m.PackFile, m.PackParam, m.CatalogueItem, m.PackInstitution, m.PackDisease)


def prepare_sync(template: Path, run_dir: Path, dst: Path) -> tuple[Path, Path]:
    """Every shipped pack with its version bumped, signed with a key this clinic trusts, and the
    base database (a copy of `template` beside `trusted_keys/`, the key registered as a supervisor
    does). Returns (pack folder, base database)."""
    from desktop_app.core.pack_files import shipped_packs_dir
    from desktop_app.core.signing import keygen

    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(shipped_packs_dir(), dst)
    priv, pub = keygen(run_dir / "keys", "fault")
    base = fresh_copy(template, run_dir / "base.sqlite3")
    db = open_db(base, migrate=False)  # `packs trust`: the key file plus an audit entry
    packs.trust_key(db, pub, actor="admin")
    db.dispose()
    con = sqlite3.connect(base)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for p in sorted(dst.iterdir()):
        toml = p / "pack.toml"
        text = toml.read_text(encoding="utf-8")
        assert re.search(r'^version = "[^"]+"$', text, re.M), toml
        toml.write_text(re.sub(r'^version = "[^"]+"$', f'version = "{NEW_VERSION}"', text, flags=re.M),
                        encoding="utf-8")
        packs.sign_pack_dir(p, priv.read_bytes())
    return dst, base


def packs_state(db) -> dict[str, tuple]:
    """Per pack: its row (without the sync time) and, per pack table, the row count and a digest of every row."""
    out = {}
    with db.read() as s:
        for p in s.execute(select(m.PolicyPack)).scalars():
            tables = tuple((t.__tablename__, len(rows := _rows(s, t, where=t.pack_id == p.id)), _digest(rows))
                           for t in PACK_TABLES)
            out[p.id] = (p.version, p.content_hash, p.source, tables)
        for t in PACK_TABLES:  # rows of a pack that is not (or no longer) there
            orphans = s.execute(select(func.count()).select_from(t).where(t.pack_id.not_in(list(out)))).scalar_one()
            assert orphans == 0, f"{orphans} {t.__tablename__} rows of a pack that is not in policy_pack"
    return out


def _describe(state: dict, base: dict, clean: dict) -> str:
    parts = []
    for pid in sorted(set(state) | set(base) | set(clean)):
        got = state.get(pid)
        what = "before" if got == base.get(pid) else "clean" if got == clean.get(pid) else f"PARTIAL {got}"
        parts.append(f"{pid}: {what}")
    return "; ".join(parts)


def check_sync(db, base: dict, clean: dict, base_audit: int, n_packs: int) -> bool:
    """After a kill: the packs are exactly as before or exactly as after a clean sync. Returns whether it landed."""
    check_sqlite(db.path)
    state = packs_state(db)
    for pid, got in state.items():
        assert got in (base.get(pid), clean.get(pid)), f"pack {pid} is partial: {_describe(state, base, clean)}"
    assert state in (base, clean), f"packs half synced: {_describe(state, base, clean)}"
    landed = state == clean
    n = audit_count(db, "pack_sync")
    assert n == base_audit + (n_packs if landed else 0), \
        f"{n - base_audit} pack_sync audit entries, the new packs {'did' if landed else 'did not'} land"
    check_audit(db)
    pol = packs.policy(db)
    assert {pid: pol.packs[pid].version for pid in state} == {pid: v[0] for pid, v in state.items()}
    return landed


def check_sync_rerun(db, src: Path, clean: dict, base_audit: int, n_packs: int, landed: bool) -> None:
    res = packs.sync(db, src, actor="admin")
    assert {r.status for r in res} == ({"unchanged"} if landed else {"upgraded"}), [r.status for r in res]
    assert packs_state(db) == clean, "a sync after a kill does not leave the clean state"
    assert audit_count(db, "pack_sync") == base_audit + n_packs, "duplicate or missing pack_sync audit entries"
    check_sqlite(db.path)
    check_audit(db)


def _kill_loop(zyg: Zygote, stats: Stats, cmd: dict, base: Path, path: Path, cal: Outcome, iterations: int,
               seed: int, check, rerun, kill_at=_kill_at, reset=None) -> None:
    """One transaction's kill loop (sync, roster import, day close): fresh copy (`reset()`), run and kill at a
    random moment (`kill_at(rng, cal)`), check the state (`check(db)` → landed?), then run it again to
    completion (`rerun(db, landed)`)."""
    rng = random.Random(seed)
    reset = reset or (lambda: fresh_copy(base, path))
    for it in range(iterations):
        if it and it % RECALIBRATE == 0:
            cal = _calibrate(zyg, stats, cmd, reset)
        reset()
        out = zyg.run({**cmd, **kill_at(rng, cal)})
        stats.count(out)
        db = open_db(path, migrate=False)
        try:
            ok, landed = _record(stats, it, out, check, db)
            stats.landed += bool(ok and landed and out.mid_op)
            if ok:
                _record(stats, it, out, rerun, db, landed)
        finally:
            db.dispose()


def run_sync(zyg: Zygote, base: Path, work: Path, iterations: int, seed: int = 4321) -> Stats:
    stats = Stats("pack sync")
    t0 = time.perf_counter()
    run_dir = work / "sync"
    run_dir.mkdir(parents=True, exist_ok=True)
    src, base = prepare_sync(base, run_dir, work / "packs-upgrade")
    path = run_dir / "clinic.sqlite3"  # trusted_keys/ is beside it
    db = open_db(fresh_copy(base, path), migrate=False)
    base_state, base_audit = packs_state(db), audit_count(db, "pack_sync")
    db.dispose()
    cmd = {"op": "sync", "db": str(path), "path": str(src), "actor": "admin"}
    cal = _calibrate(zyg, stats, cmd, lambda: fresh_copy(base, path))
    db = open_db(path, migrate=False)
    clean = packs_state(db)
    db.dispose()
    n_packs = len(clean)
    assert all(v[0] == NEW_VERSION for v in clean.values()) and n_packs == len(base_state)
    _kill_loop(zyg, stats, cmd, base, path, cal, iterations, seed,
               lambda db: check_sync(db, base_state, clean, base_audit, n_packs),
               lambda db, landed: check_sync_rerun(db, src, clean, base_audit, n_packs, landed))
    stats.wall_s = time.perf_counter() - t0
    return stats


# ---------------------------------------------------------------------------
# roster import
# ---------------------------------------------------------------------------
def make_roster(work: Path, rows: int) -> tuple[Path, Path]:
    """The demo roster grown to `rows` persons, a day later: the base database's 120 persons are
    updated (new 截至日期) and the rest are new."""
    p_rows, u_rows = demo.roster_rows(rows, today=TODAY + timedelta(days=1))
    out = work / "花名册.csv", work / "待遇累计.csv"
    for path, data in zip(out, (p_rows, u_rows), strict=True):
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(data)
    return out


def roster_state(db) -> dict[str, tuple[int, str]]:
    """Row count and digest of every roster table (persons without their update time; snapshots without ids)."""
    with db.read() as s:
        out = {}
        for t, exclude in ((m.Person, ("updated_at",)), (m.PersonKey, ()), (m.PersonDisease, ()),
                           (m.UsageSnapshot, ("id",))):
            rows = _rows(s, t, exclude=exclude)
            out[t.__tablename__] = (len(rows), _digest(rows))
        keyless = s.execute(select(func.count()).select_from(m.Person).where(
            ~select(m.PersonKey.psn_no).where(m.PersonKey.psn_no == m.Person.psn_no).exists())).scalar_one()
        out["persons without keys"] = (keyless, "")
    return out


def check_roster(db, base: dict, clean: dict, base_audit: int) -> bool:
    check_sqlite(db.path)
    state = roster_state(db)
    n = state["person"][0]
    assert n in (base["person"][0], clean["person"][0]), \
        f"{n} persons: neither the {base['person'][0]} before nor the {clean['person'][0]} after"
    assert state["persons without keys"][0] == 0, f"{state['persons without keys'][0]} persons without search keys"
    assert state in (base, clean), f"roster half imported: {state} (before {base}, clean {clean})"
    landed = state == clean
    got = audit_count(db, "roster_import")
    assert got == base_audit + landed, \
        f"{got - base_audit} roster_import audit entries, the rows {'did' if landed else 'did not'} land"
    check_audit(db)
    return landed


def check_roster_rerun(db, files: tuple[Path, Path], clean: dict, base_audit: int, landed: bool) -> None:
    res = roster.import_roster(db, files[0], usage_path=files[1], actor="admin")
    assert res.rejected == 0 and res.usage_rejected == 0, res.errors[:3]
    assert roster_state(db) == clean, "an import after a kill does not leave the clean state"
    assert audit_count(db, "roster_import") == base_audit + landed + 1
    check_sqlite(db.path)
    check_audit(db)


def run_roster(zyg: Zygote, base: Path, work: Path, iterations: int, rows: int = ROSTER_ROWS,
               seed: int = 2468) -> Stats:
    stats = Stats(f"roster import ({rows} rows)")
    t0 = time.perf_counter()
    run_dir = work / "roster"
    run_dir.mkdir(parents=True, exist_ok=True)
    files = make_roster(run_dir, rows)
    path = run_dir / "clinic.sqlite3"
    db = open_db(fresh_copy(base, path), migrate=False)
    base_state, base_audit = roster_state(db), audit_count(db, "roster_import")
    db.dispose()
    cmd = {"op": "roster", "db": str(path), "path": str(files[0]), "usage": str(files[1]), "actor": "admin"}
    cal = _calibrate(zyg, stats, cmd, lambda: fresh_copy(base, path))
    res = next(e for e in cal.events if e["ev"] == "result")
    assert res["rejected"] == 0 and res["inserted"] + res["updated"] == rows, res
    db = open_db(path, migrate=False)
    clean = roster_state(db)
    db.dispose()
    assert clean["person"][0] == rows and base_state["person"][0] < rows
    _kill_loop(zyg, stats, cmd, base, path, cal, iterations, seed,
               lambda db: check_roster(db, base_state, clean, base_audit),
               lambda db, landed: check_roster_rerun(db, files, clean, base_audit, landed))
    stats.wall_s = time.perf_counter() - t0
    return stats


# ---------------------------------------------------------------------------
# day close
# ---------------------------------------------------------------------------
CLOSE_DAY = TODAY  # the day closed: settlements and reversals on it; some on the day before stay open


def prepare_close(template: Path, run_dir: Path) -> Path:
    """The base database: the template with SETTLE_COUNT settlements (a reversal after every third) on
    CLOSE_DAY and three on the day before, none closed."""
    run_dir.mkdir(parents=True, exist_ok=True)
    base = fresh_copy(template, run_dir / "base.sqlite3")
    db = open_db(base, migrate=False)
    psn = resident(db)
    last = None
    for i in range(SETTLE_COUNT):
        rec = ledger.settle(db, _visit(psn), token=f"close-{i}", operator="clerk", today=CLOSE_DAY)
        if i % 3 == 2 and last is not None:
            ledger.reverse(db, last, reason="测试冲正", operator="clerk", token=f"close-r{i}", today=CLOSE_DAY)
        last = rec.setl_no
    before = CLOSE_DAY - timedelta(days=1)
    for i in range(3):
        v = ledger_types.VisitInput(psn, before, "general_outpatient", _visit(psn).items)
        ledger.settle(db, v, token=f"before-{i}", operator="clerk", today=before)
    db.dispose()
    con = sqlite3.connect(base)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return base


def close_state(db) -> dict:
    """The day close as the database holds it: its row, which settlements carry which close id, its audit entries."""
    with db.read() as s:
        rows = s.execute(select(m.DayClose.id, m.DayClose.business_date, m.DayClose.count)).all()
        stamps = dict(s.execute(select(m.Settlement.id, m.Settlement.day_close_id)).all())
        day_ids = set(s.execute(select(m.Settlement.id).where(m.Settlement.business_date == CLOSE_DAY)).scalars())
    return {"rows": rows, "stamps": stamps, "day_ids": day_ids, "audit": audit_count(db, "day_close")}


def report_paths(folder: Path) -> tuple[Path, Path]:
    stem = f"日结单_H14110200031_{CLOSE_DAY:%Y%m%d}"  # the demo clinic's code
    return folder / f"{stem}.xlsx", folder / f"{stem}.pdf"


def check_report_files(folder: Path, must_exist: bool) -> int:
    """Every 日结单 file present is complete (and says 已日结): openpyxl opens the xlsx, the PDF starts with
    %PDF and ends with %%EOF. Returns how many are present."""
    from openpyxl import load_workbook

    xlsx, pdf = report_paths(folder)
    n = 0
    if xlsx.exists():
        wb = load_workbook(xlsx)
        assert "已日结" in wb["日结单"]["A1"].value, f"{xlsx.name}: {wb['日结单']['A1'].value}"
        n += 1
    if pdf.exists():
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF"), \
            f"{pdf.name} is incomplete ({len(data)} bytes, ends {data[-20:]!r})"
        n += 1
    assert n == 2 or not must_exist, f"日结单 missing: {[p.name for p in (xlsx, pdf) if not p.exists()]}"
    return n


def check_backups(folder: Path, closed: bool) -> tuple[int, int]:
    """Every backup present passes the backup check and holds the closed day (none before the close has
    committed). Leftover `.partial` copies (and their side files) are allowed: `backup._rotate` removes them
    once they are an hour old. Returns (backups, partial leftovers)."""
    from desktop_app.store import backup as bk

    if not folder.exists():
        return 0, 0
    files = sorted(folder.glob(f"{bk.PREFIX}*.sqlite3"))
    assert closed or not files, f"a backup before the close committed: {[f.name for f in files]}"
    for f in files:
        res = bk.check_file(f)
        assert res == "ok", f"backup {f.name} does not pass the check: {res}"
        con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        try:
            got = con.execute("SELECT business_date FROM day_close").fetchall()
        finally:
            con.close()
        assert got == [(CLOSE_DAY.isoformat(),)], f"backup {f.name} does not hold the closed day: {got}"
    others = [f for f in folder.iterdir() if f not in files]
    odd = [f.name for f in others if ".partial" not in f.name]
    assert not odd, f"unexpected files among the backups: {odd}"
    return len(files), len(others)


def check_close(db, base: dict, run_dir: Path, stats: Stats) -> bool:
    """After a kill: the day is closed completely or not at all; backups and 日结单 present are whole."""
    check_sqlite(db.path)
    state = close_state(db)
    assert state["day_ids"] == base["day_ids"] and set(state["stamps"]) == set(base["stamps"])
    assert len(state["rows"]) in (0, 1), state["rows"]
    if state["rows"]:
        dc_id, day, count = state["rows"][0]
        assert day == CLOSE_DAY and count == len(base["day_ids"]), state["rows"]
        want = {sid: (dc_id if sid in base["day_ids"] else None) for sid in base["stamps"]}
        wrong = {k: v for k, v in state["stamps"].items() if v != want[k]}
        assert not wrong, f"closed, but {len(wrong)} settlements stamped wrong: {list(wrong.items())[:5]}"
        assert state["audit"] == base["audit"] + 1, f"closed, with {state['audit'] - base['audit']} day_close entries"
    else:
        assert state["stamps"] == base["stamps"], "not closed, but settlements stamped"
        assert state["audit"] == base["audit"], "not closed, but a day_close audit entry"
    check_audit(db)
    closed = bool(state["rows"])
    n_bk, n_partial = check_backups(run_dir / "backups", closed)
    n_rep = check_report_files(run_dir / "reports", must_exist=False)
    assert closed or n_rep == 0, "日结单 written for a day that is not closed"
    leftovers = [f.name for f in (run_dir / "reports").glob("*")] if (run_dir / "reports").exists() else []
    leftovers = [n for n in leftovers if not n.endswith((".xlsx", ".pdf"))]
    if closed:
        if not n_bk:
            stats.note("closed without a backup")
        if n_rep < 2:
            stats.note("closed without the whole 日结单")
    if n_partial:
        stats.note(".partial backup left")
    if leftovers:
        stats.note("xlsx .tmp/.fix left")
    return closed


def check_close_rerun(db, run_dir: Path, base: dict, landed: bool, stats: Stats) -> None:
    """Run the day close again. Not closed: it completes. Closed with its 日结单: it says so (`already_closed`)
    and does nothing. Closed but cut off before its 日结单: it writes them and a backup. Either way: the day is closed once, the 日结单 complete, every backup checks out, and
    a backup's rotation removes `.partial` leftovers once they are an hour old."""
    from desktop_app.services import closing
    from desktop_app.store import backup as bk

    folder, backups = run_dir / "reports", run_dir / "backups"
    old = time.time() - 2 * 3600  # leftovers of the kill, aged past the hour after which rotation removes them
    for f in backups.glob("*.partial*") if backups.exists() else []:
        os.utime(f, (old, old))
    reports_done = check_report_files(folder, must_exist=False) == 2
    try:  # not closed: it closes; closed but its 日结单 cut off: 日结 again finishes them (and a backup)
        out = closing.close_day(db, operator="clerk", folder=folder, day=CLOSE_DAY)
        assert not (landed and reports_done), "the day was closed with its 日结单, yet closing it again did not refuse"
        assert out.backup and bk.check_file(Path(out.backup)) == "ok"
    except ledger_types.LedgerError as exc:
        assert landed and reports_done and exc.code == "already_closed", f"{exc.code}: {exc}"
        bk.backup(db)
    state = close_state(db)
    assert len(state["rows"]) == 1 and state["audit"] == base["audit"] + 1, (state["rows"], state["audit"])
    dc_id = state["rows"][0][0]
    assert all(v == (dc_id if k in base["day_ids"] else None) for k, v in state["stamps"].items())
    check_report_files(folder, must_exist=True)
    n_bk, n_partial = check_backups(backups, True)
    assert n_bk >= 1 and n_partial == 0, (n_bk, n_partial)
    check_sqlite(db.path)
    check_audit(db)


def _kill_close_at(rng: random.Random, cal: Outcome) -> dict:
    """Day close: 25 % spread over the whole operation (and a little after) from its start; from its first
    write: 35 % inside the write transaction, 15 % around its commit, 25 % inside the backup."""
    dur = cal.times("done")[0]
    w0 = cal.times("w+")[0]
    tx = cal.times("w-")[-1] - w0
    bk0, bk1 = cal.times("bk+")[0] - w0, cal.times("bk-")[0] - w0
    r = rng.random()
    if r < 0.25:
        return {"delay": rng.uniform(0, dur * 1.1)}
    if r < 0.6:
        return {"delay": rng.uniform(0, tx), "after": "w+"}
    if r < 0.75:
        return {"delay": rng.uniform(0.9 * tx, 1.1 * tx), "after": "w+"}
    return {"delay": rng.uniform(bk0, bk1), "after": "w+"}


def run_close(zyg: Zygote, base: Path, work: Path, iterations: int, seed: int = 8642) -> Stats:
    stats = Stats("day close")
    t0 = time.perf_counter()
    run_dir = work / "close"
    base = prepare_close(base, run_dir)
    path = run_dir / "clinic.sqlite3"

    def reset() -> None:
        fresh_copy(base, path)
        for d in ("backups", "reports"):
            shutil.rmtree(run_dir / d, ignore_errors=True)

    reset()
    db = open_db(path, migrate=False)
    base_state = close_state(db)
    db.dispose()
    assert not base_state["rows"] and len(base_state["day_ids"]) == SETTLE_COUNT + 3
    cmd = {"op": "close", "db": str(path), "folder": str(run_dir / "reports"), "day": CLOSE_DAY.isoformat(),
           "operator": "clerk"}
    cal = _calibrate(zyg, stats, cmd, reset)
    assert [n for n in cal.names if n[-1] in "+-"] == ["w+", "w-", "bk+", "bk-", "x+", "x-", "p+", "p-"], cal.names
    _kill_loop(zyg, stats, cmd, base, path, cal, iterations, seed,
               lambda db: check_close(db, base_state, run_dir, stats),
               lambda db, landed: check_close_rerun(db, run_dir, base_state, landed, stats),
               kill_at=_kill_close_at, reset=reset)
    stats.wall_s = time.perf_counter() - t0
    return stats


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("faults"))
    yield z
    z.close()


def _assert_clean(stats: Stats) -> None:
    print(stats.line())
    assert not stats.failures, "\n".join(stats.failures[:10])
    assert stats.iterations == ITERATIONS
    if ITERATIONS >= 10:  # the kills must actually land mid-operation, not only before or after it
        assert stats.mid_op >= ITERATIONS // 3, stats.line()


def test_sigkill_settle_and_reverse(zygote, template_db, tmp_path):
    _assert_clean(run_settle(zygote, template_db, tmp_path, ITERATIONS))


def test_sigkill_pack_sync(zygote, template_db, tmp_path):
    _assert_clean(run_sync(zygote, template_db, tmp_path, ITERATIONS))


def test_sigkill_roster_import(zygote, template_db, tmp_path):
    _assert_clean(run_roster(zygote, template_db, tmp_path, ITERATIONS))


def test_sigkill_day_close(zygote, template_db, tmp_path):
    _assert_clean(run_close(zygote, template_db, tmp_path, ITERATIONS))


def test_the_checks_catch_a_partial_pack(template_db, tmp_path):
    """The harness's own test: a pack with rows missing is reported, not taken for before/after."""
    src, base_path = prepare_sync(template_db, tmp_path, tmp_path / "packs-upgrade")
    db = open_db(fresh_copy(base_path, tmp_path / "clinic.sqlite3"), migrate=False)
    base, base_audit = packs_state(db), audit_count(db, "pack_sync")
    packs.sync(db, src, actor="admin")
    clean = packs_state(db)
    assert check_sync(db, base, clean, base_audit, len(clean)) is True
    with db.write() as s:
        s.execute(m.PackParam.__table__.delete().where(m.PackParam.pack_id == "cn-141100-lvliang"))
    with pytest.raises(AssertionError, match="cn-141100-lvliang is partial"):
        check_sync(db, base, clean, base_audit, len(clean))
    db.dispose()


def test_the_harness_catches_a_roster_import_split_in_two(zygote, template_db, tmp_path):
    """The harness's own test: an import done in two transactions (two halves of the file),
    killed between them, is reported as half imported."""
    full, _usage = make_roster(tmp_path, 300)
    with full.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    halves = []
    for i, part in enumerate((rows[1:151], rows[151:])):
        halves.append(tmp_path / f"half{i}.csv")
        with halves[-1].open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([rows[0], *part])
    path = tmp_path / "clinic.sqlite3"
    db = open_db(fresh_copy(template_db, path), migrate=False)
    base, base_audit = roster_state(db), audit_count(db, "roster_import")
    db.dispose()
    # 0.4 s between the two transactions, so a kill can be aimed between them on a busy machine
    cmd = {"op": "roster", "db": str(path), "path": [str(h) for h in halves], "actor": "admin", "pause": 0.4}
    cal = zygote.run(cmd)
    assert cal.code == 0 and cal.times("w-")[0] < cal.times("w+")[1], cal.events
    db = open_db(path, migrate=False)
    clean = roster_state(db)
    db.dispose()
    stats = Stats("split roster import")
    half = 0
    for it in range(8):  # until two kills have landed between the two commits
        fresh_copy(template_db, path)
        out = zygote.run({**cmd, "delay": (cal.times("w-")[0] + cal.times("w+")[1]) / 2})
        db = open_db(path, migrate=False)
        passed, _landed = _record(stats, it, out, check_roster, db, base, clean, base_audit)
        db.dispose()
        if out.mid_op and out.names.count("w+") == 1 and "w-" in out.names:  # between the two transactions
            half += 1
            assert not passed and "neither the 120 before nor the 300 after" in stats.failures[-1], stats.failures
            if half == 2:
                break
    assert half >= 1, stats.failures


def test_two_processes_never_exceed_the_cap(db):
    psn = resident(db)
    with db.write() as s:
        s.execute(m.UsageSnapshot.__table__.delete().where(m.UsageSnapshot.psn_no == psn))
    a = spawn(db, psn, "A", 12)
    b = spawn(db, psn, "B", 12)
    for p in (a, b):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip().endswith("done")
    with db.read() as s:
        paid = s.execute(select(func.sum(m.Settlement.hifp_pay)).where(m.Settlement.psn_no == psn)).scalar()
        n = s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()
    # 24 visits of 110 yuan at 60% would be 1584; the 300 cap (晋医保发〔2023〕16号 一) holds exactly
    assert n == 24 and paid == Decimal("300.00")
    check_ledger(db)
