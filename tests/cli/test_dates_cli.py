"""The ledger's date and day-close rules from the command line (subprocess): future visits and days refused,
an earlier-year visit by a supervisor with a reason, `day-reopen` of a day closed by mistake."""

import json
from datetime import date, timedelta

import pytest

from tests.cli_run import cs


@pytest.fixture
def demo_db(tmp_path):
    db = tmp_path / "clinic.sqlite3"
    assert cs("demo", "--db", str(db), "--persons", "40")[0] == 0
    return db


def visit_file(tmp_path, day: date, **extra):
    f = tmp_path / f"visit-{day}.json"
    f.write_text(json.dumps({"psn_no": "14110200000005", "benefit": "general_outpatient", "date": day.isoformat(),
                             "items": [{"code": "110200005", "qty": "1"}], **extra}), encoding="utf-8")
    return str(f)


def test_visit_dates(demo_db, tmp_path):
    today = date.today()
    code, out, _ = cs("settle", visit_file(tmp_path, today + timedelta(days=1)), "--db", str(demo_db), "--json")
    err = json.loads(out)["error"]
    assert code == 2 and err["field"] == "visit_date" and "晚于今天" in err["message"]
    last_year = date(today.year - 1, 12, 30)
    code, _, err = cs("settle", visit_file(tmp_path, last_year), "--db", str(demo_db))
    assert code == 1 and "只有管理员" in err
    code, out, _ = cs("settle", visit_file(tmp_path, last_year), "--db", str(demo_db), "--json", user="admin")
    assert code == 2 and json.loads(out)["error"]["field"] == "reason"
    code, out, _ = cs("settle", visit_file(tmp_path, last_year, reason="断网补录"), "--db", str(demo_db), "--json",
                      user="admin")
    rec = json.loads(out)
    assert code == 0 and rec["visit_date"] == last_year.isoformat() and rec["reason"] == "断网补录"


def test_day_close_rules_and_day_reopen(demo_db):
    today = date.today()
    code, out, _ = cs("day-close", "--date", (today + timedelta(days=1)).isoformat(), "--db", str(demo_db), "--json")
    assert code == 2 and json.loads(out)["error"]["field"] == "date"
    code, _, err = cs("day-close", "--date", (today - timedelta(days=3)).isoformat(), "--db", str(demo_db))
    assert code == 1 and "没有结算记录" in err
    assert cs("day-close", "--db", str(demo_db))[0] == 0  # today, closed by mistake before anyone came
    code, _, err = cs("day-reopen", "--reason", "误点日结", "--db", str(demo_db))
    assert code == 1 and "只有管理员" in err
    code, out, _ = cs("day-reopen", "--reason", "误点日结", "--db", str(demo_db), "--json", user="admin")
    assert code == 0 and json.loads(out)["reopened"] == today.isoformat()
    code, _, err = cs("day-reopen", "--reason", "again", "--db", str(demo_db), user="admin")
    assert code == 1 and "没有日结" in err
    code, out, _ = cs("audit", "verify", "--db", str(demo_db), "--json", user="admin")
    assert code == 0 and json.loads(out)["ok"]
