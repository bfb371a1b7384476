"""#12.8: a request token is bound to the request it was first used for."""

import json

import pytest
from sqlalchemy import func, select

from desktop_app.services import audit, ledger, ledger_types
from desktop_app.store import models as m
from tests.cli_run import cs
from tests.integrity.helpers import DAY1, residents, visit


def _count(db):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.Settlement)).scalar_one()


def test_a_token_reused_for_another_persons_visit_is_refused(db):
    p = residents(db, 2)
    first = ledger.settle(db, visit(p[0]), operator="clerk", token="t-1", today=DAY1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.settle(db, visit(p[1]), operator="clerk", token="t-1", today=DAY1)
    assert exc.value.code == "token_reused" and "t-1" in exc.value.message and first.setl_no in exc.value.message
    assert exc.value.field == "token"
    assert _count(db) == 1
    again = ledger.settle(db, visit(p[0]), operator="clerk", token="t-1", today=DAY1)  # a true retry
    assert again.replayed and again.setl_no == first.setl_no
    assert audit.verify(db, actor="admin").ok


def test_a_settle_token_used_on_a_reversal_is_refused(db):
    p = residents(db, 1)
    first = ledger.settle(db, visit(p[0]), operator="clerk", token="t-2", today=DAY1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, first.setl_no, reason="退费", operator="clerk", token="t-2", today=DAY1)
    assert exc.value.code == "token_reused"
    assert ledger.get(db, first.setl_no).reversed_by is None and _count(db) == 1
    rv = ledger.reverse(db, first.setl_no, reason="退费", operator="clerk", token="rv-2", today=DAY1)
    assert rv.kind == "reverse"


def test_a_reversal_token_reused_for_another_settlement_is_refused(db):
    p = residents(db, 2)
    a = ledger.settle(db, visit(p[0]), operator="clerk", today=DAY1)
    b = ledger.settle(db, visit(p[1]), operator="clerk", today=DAY1)
    ledger.reverse(db, a.setl_no, reason="退费", operator="clerk", token="rv-3", today=DAY1)
    with pytest.raises(ledger_types.LedgerError) as exc:
        ledger.reverse(db, b.setl_no, reason="退费", operator="clerk", token="rv-3", today=DAY1)
    assert exc.value.code == "token_reused"
    assert ledger.get(db, b.setl_no).reversed_by is None
    with pytest.raises(ledger_types.LedgerError) as exc:  # and a reversal's token cannot settle a visit
        ledger.settle(db, visit(p[1]), operator="clerk", token="rv-3", today=DAY1)
    assert exc.value.code == "token_reused"


def test_cli_token_reused_on_another_visit_and_on_reverse(db, tmp_path):
    p = residents(db, 2)
    files = []
    for psn in p:
        f = tmp_path / f"{psn}.json"
        f.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "date": DAY1.isoformat(),
                                 "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
        files.append(str(f))
    code, out, _ = cs("settle", files[0], "--token", "cli-t", "--db", str(db.path), "--json")
    assert code == 0
    first = json.loads(out)["setl_no"]
    code, out, _ = cs("settle", files[1], "--token", "cli-t", "--db", str(db.path), "--json")
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "token_reused" and "令牌" in err["message"]
    code, _, err = cs("settle", files[1], "--token", "cli-t", "--db", str(db.path))
    assert code == 1 and "令牌" in err and first in err
    code, out, _ = cs("reverse", first, "--reason", "退费", "--token", "cli-t", "--db", str(db.path), "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "token_reused"
    assert ledger.get(db, first).reversed_by is None and _count(db) == 1
    code, out, _ = cs("settle", files[0], "--token", "cli-t", "--db", str(db.path), "--json")  # the retry
    assert code == 0 and json.loads(out)["setl_no"] == first and json.loads(out)["replayed"] is True


def test_cli_token_reused_for_the_same_persons_other_visit_the_same_day_is_refused(db, tmp_path):
    """A second visit of the same person, same day and benefit, but other lines, sent with the first visit's
    token: another request — refused (it used to return the first settlement with exit 0, the second visit
    silently never settled)."""
    (psn,) = residents(db, 1)
    files = []
    for n, lines in enumerate(([{"code": "110200005", "qty": "1"}],
                               [{"code": "110200005", "qty": "1"}, {"code": "XJ01CAA040A001", "qty": "2"}])):
        f = tmp_path / f"visit{n}.json"
        f.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "date": DAY1.isoformat(),
                                 "items": lines}), encoding="utf-8")
        files.append(str(f))
    code, out, _ = cs("settle", files[0], "--token", "same-day", "--db", str(db.path), "--json")
    assert code == 0
    code, out, _ = cs("settle", files[1], "--token", "same-day", "--db", str(db.path), "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "token_reused"
    assert _count(db) == 1
    code, out, _ = cs("settle", files[0], "--token", "same-day", "--db", str(db.path), "--json")  # a true retry
    assert code == 0 and json.loads(out)["replayed"] is True
