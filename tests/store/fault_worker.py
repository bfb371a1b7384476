"""Worker process for the fault and race tests.

Two ways to run it:

``python fault_worker.py DB PSN_NO TOKEN_PREFIX COUNT [--reverse-every N]``
    settles (and reverses) in a loop and exits; the race test runs two of these at once.
    Prints each token on stdout *before* the call that uses it.

``python fault_worker.py --serve``
    the kill harness's fork server. It imports the program once, prints ``ready``, then
    reads one JSON command per line on stdin. For each command it forks a child that opens
    the database and runs one operation (``settle`` loop, ``sync`` of a pack folder,
    ``roster`` import, ``close`` = the day close `closing.close_day`) exactly as the program does. If the command has a ``delay``, the
    server SIGKILLs the child ``delay`` seconds after the child started the operation, or,
    with ``"after": "w+"``, after it entered its first write transaction (the child tells the
    server through a pipe; it is not reaped before the kill, so its pid cannot have been
    reused). Then it prints ``{"exit": pid, "code": exitcode}`` (-9 = killed).

    The child prints events on stdout as JSON lines, each before the step it names:
    ``start``, ``w+`` / ``w-`` (a write transaction is entered / committed), ``tok`` / ``rev``
    (a settle / reversal request token is about to be used), ``bk+`` / ``bk-``, ``x+`` / ``x-``,
    ``p+`` / ``p-`` (the day close's backup, 日结单 xlsx, 日结单 PDF begin / have returned),
    ``ok``, ``done`` (the operation
    returned), ``closed`` (connections closed), or ``error``. So the parent knows where the
    kill landed and which requests may have been cut off.

Forking (instead of a fresh interpreter per kill) saves ~0.8 s of imports per kill; each
child is still a separate process with its own SQLite connections, killed the same way.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from datetime import date

TODAY = date(2026, 11, 23)


def visit(psn: str):
    from desktop_app.services import ledger_types

    return ledger_types.VisitInput(psn, TODAY, "general_outpatient",
                             [ledger_types.ItemInput("X1", "1", price="100.00", kind="service", chrgitm_lv="01"),
                              ledger_types.ItemInput("110200005", "1")])


def main() -> None:
    from desktop_app.services import ledger
    from desktop_app.store.db import open_db

    db_path, psn, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rev_every = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--reverse-every" else 0
    db = open_db(db_path, migrate=False)
    v = visit(psn)
    last = None
    for i in range(count):
        token = f"{prefix}-{i}"
        print(token, flush=True)
        rec = ledger.settle(db, v, token=token, operator="clerk", today=TODAY)
        if rev_every and i % rev_every == rev_every - 1 and last is not None:
            rtoken = f"{prefix}-r{i}"
            print(rtoken, flush=True)
            ledger.reverse(db, last, reason="测试冲正", operator="clerk", token=rtoken, today=TODAY)
        last = rec.setl_no
    print("done", flush=True)


# ---------------------------------------------------------------------------
# fork server
# ---------------------------------------------------------------------------
def emit(name: str, **kw) -> None:
    sys.stdout.write(json.dumps({"ev": name, "pid": os.getpid(), "t": time.monotonic(), **kw}) + "\n")
    sys.stdout.flush()


def _tell(fd: int, name: str) -> None:
    """Tell the server (which times the kill) that `name` happens now."""
    os.write(fd, f"{name} {time.monotonic()!r}\n".encode())


def _traced(db, fd: int) -> None:
    """Report when a write transaction is entered and when it has committed."""
    orig = db.write

    @contextmanager
    def write():
        emit("w+")
        _tell(fd, "w+")
        with orig() as s:
            yield s
        emit("w-")

    db.write = write


def _phased(mod, name: str, mark: str) -> None:
    """Report when `mod.name` is called and when it returns (the day close's steps after its transaction)."""
    orig = getattr(mod, name)

    def call(*a, **kw):
        emit(mark + "+")
        res = orig(*a, **kw)
        emit(mark + "-")
        return res

    setattr(mod, name, call)


def _child(cmd: dict, fd: int) -> int:
    from desktop_app.services import ledger, packs, roster
    from desktop_app.store.db import open_db

    db = open_db(cmd["db"], migrate=False)
    _traced(db, fd)
    emit("start")
    _tell(fd, "start")
    op = cmd["op"]
    if op == "settle":
        v = visit(cmd["psn"])
        rev_every = cmd.get("reverse_every", 0)
        last = None
        for i in range(cmd["count"]):
            token = f"{cmd['prefix']}-{i}"
            emit("tok", token=token)
            rec = ledger.settle(db, v, token=token, operator="clerk", today=TODAY)
            emit("ok", token=token)
            if rev_every and i % rev_every == rev_every - 1 and last is not None:
                rtoken = f"{cmd['prefix']}-r{i}"
                emit("rev", token=rtoken, setl_no=last)
                ledger.reverse(db, last, reason="测试冲正", operator="clerk", token=rtoken, today=TODAY)
                emit("ok", token=rtoken)
            last = rec.setl_no
    elif op == "sync":
        res = packs.sync(db, cmd["path"], actor=cmd.get("actor", "admin"), force=cmd.get("force", False),
                         allow_unsigned=cmd.get("allow_unsigned", False))
        emit("result", statuses=[r.status for r in res])
    elif op == "roster":
        # a list of files imports them one after another (the harness's self-test splits a roster in two)
        paths = cmd["path"] if isinstance(cmd["path"], list) else [cmd["path"]]
        for i, path in enumerate(paths):
            if i:
                time.sleep(cmd.get("pause", 0))
            res = roster.import_roster(db, path, usage_path=cmd.get("usage"), actor=cmd.get("actor", "admin"))
            emit("result", inserted=res.inserted, updated=res.updated, rejected=res.rejected)
    elif op == "close":
        from pathlib import Path

        from desktop_app.services import closing, reporting
        from desktop_app.store import backup as bk

        _phased(bk, "backup", "bk")
        _phased(reporting, "day_report_xlsx", "x")
        _phased(reporting, "day_report_pdf", "p")
        out = closing.close_day(db, operator=cmd.get("operator", "clerk"), folder=Path(cmd["folder"]),
                                day=date.fromisoformat(cmd["day"]))
        emit("result", count=out.count, backup=out.backup)
    else:
        raise ValueError(f"unknown op {op}")
    emit("done")
    db.dispose()
    emit("closed")
    return 0


def _supervise(pid: int, tell_r: int, delay: float | None, anchor: str) -> int:
    with os.fdopen(tell_r, "rb") as fh:  # open until the child is reaped, so its writes never fail
        at = None
        if delay is not None:
            for line in fh:  # ends (EOF) if the child exits before the anchor
                name, t = line.decode().split()
                if name == anchor:
                    at = float(t)
                    break
        if at is not None:
            pause = at + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped:  # it finished first
                return os.waitstatus_to_exitcode(status)
            os.kill(pid, signal.SIGKILL)  # still running, and not reaped: the pid is still the child's
        _pid, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def serve() -> None:
    # what the program imports before it settles, syncs or imports a roster
    import openpyxl  # noqa: F401
    import pypinyin  # noqa: F401
    import reportlab.platypus  # noqa: F401
    import stdnum.cn.ric  # noqa: F401

    from desktop_app.services import audit, closing, ledger, ledger_types, packs, reporting, roster  # noqa: F401
    from desktop_app.store import backup, db  # noqa: F401

    # children must stay unreaped until waited for (an inherited SIG_IGN would reap them at once)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        tell_r, tell_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child
            os.close(tell_r)
            code = 1
            try:
                code = _child(cmd, tell_w)
            except BaseException as exc:  # reported to the parent, which counts it as a failure
                emit("error", error=f"{type(exc).__name__}: {exc}"[:2000])
            finally:
                os._exit(code)
        os.close(tell_w)
        code = _supervise(pid, tell_r, cmd.get("delay"), cmd.get("after", "start"))
        print(json.dumps({"exit": pid, "code": code}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    else:
        main()
