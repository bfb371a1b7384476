"""Issue #18 item 4: the command line does what the window does — a clinic set up by commands alone
(init, sync, import-roster, settings) settles under its own name, and not before its identity is set."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli_run import ROOT, cs, env_for

SAMPLES = ROOT / "docs" / "samples"
NEW = "our-own-pass-1"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """A clinic set up from the command line only: no demo, no window."""
    tmp = tmp_path_factory.mktemp("cli-clinic")
    db = str(tmp / "clinic.sqlite3")
    code, out, err = cs("init", "--supervisor", "admin", "--db", db, "--json", user=None)
    assert code == 0, err
    initial = json.loads(out)["supervisor"]["initial_password"]
    code, _, err = cs("user", "passwd", "--db", db, env=env_for("admin", initial, CLINIC_SETTLE_NEW_PASSWORD=NEW))
    assert code == 0, err
    admin = env_for("admin", NEW)
    code, _, err = cs("sync", "resources/policy_packs", "--db", db, env=admin)
    assert code == 0, err
    roster = tmp / "roster_sample.csv"
    shutil.copy(SAMPLES / "roster_sample.csv", roster)
    code, _, err = cs("import-roster", str(roster), "--usage", str(SAMPLES / "usage_sample.csv"), "--db", db,
                      env=admin)
    assert code == 0, err
    code, _, err = cs("user", "add", "clerk", "--name", "收费员", "--db", db,
                      env=env_for("admin", NEW, CLINIC_SETTLE_NEW_PASSWORD="clerk-first-1"))
    assert code == 0, err
    code, _, err = cs("user", "passwd", "--db", db,
                      env=env_for("clerk", "clerk-first-1", CLINIC_SETTLE_NEW_PASSWORD="clerk-own-1"))
    assert code == 0, err
    visit = tmp / "visit.json"
    visit.write_text(json.dumps({"psn_no": "14110200000002", "benefit": "general_outpatient", "items": [
        {"code": "XS01", "name": "诊查费", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "10.00"}]}),
        encoding="utf-8")
    return {"db": db, "admin": admin, "clerk": env_for("clerk", "clerk-own-1"), "visit": str(visit), "tmp": tmp}


def trail(db):
    con = sqlite3.connect(db)
    try:
        return [(a, b, json.loads(c)) for a, b, c in con.execute("SELECT actor, action, detail FROM audit_entry")]
    finally:
        con.close()


def test_1_settling_before_the_clinic_is_named_is_refused(clinic):
    code, out, _ = cs("settle", clinic["visit"], "--db", clinic["db"], "--json", env=clinic["clerk"])
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "clinic_not_set" and "机构编码" in err["message"], err
    assert "settings set" in err["message"]
    con = sqlite3.connect(clinic["db"])
    assert con.execute("SELECT count(*) FROM settlement").fetchone()[0] == 0
    con.close()


def test_2_settings_show_says_what_is_not_set(clinic):
    code, out, err = cs("settings", "show", "--db", clinic["db"], env=clinic["admin"])
    assert code == 0, err
    assert "机构编码" in out and "H00000000000" in out and "未设置" in out
    code, out, _ = cs("settings", "show", "--db", clinic["db"], "--json", env=clinic["admin"])
    data = json.loads(out)
    assert data["settings"]["clinic_code"] == "H00000000000" and "clinic_code" in data["unset"]


def test_3_settings_set_is_a_supervisors_and_is_validated(clinic):
    code, _, err = cs("settings", "set", "clinic_name", "某卫生室", "--db", clinic["db"], env=clinic["clerk"])
    assert code == 1 and "只有管理员" in err
    for key, value, field in [("clinic_admdvs", "14110", "clinic_admdvs"), ("clinic_level", "huge", "clinic_level"),
                              ("clinic_price_class", "9", "clinic_price_class"),
                              ("receipt_format", "A4", "receipt_format"), ("colour", "red", "key"),
                              ("clinic_name", "  ", "clinic_name")]:
        code, out, _ = cs("settings", "set", key, value, "--db", clinic["db"], "--json", env=clinic["admin"])
        err = json.loads(out)["error"]
        assert code == 2 and err["field"] == field, (key, value, err)
    assert not [a for _, a, _ in trail(clinic["db"]) if a == "settings"]  # nothing was changed


def test_4_after_the_identity_is_set_the_clinic_settles_under_its_name(clinic):
    for key, value in [("clinic_code", "H14110200031"), ("clinic_name", "信义镇卫生院"),
                       ("clinic_admdvs", "141102"), ("clinic_level", "primary"), ("clinic_price_class", "3"),
                       ("receipt_format", "80mm")]:
        code, out, err = cs("settings", "set", key, value, "--db", clinic["db"], env=clinic["admin"])
        assert code == 0, (key, err)
    changed = [d["changed"] for a, act, d in trail(clinic["db"]) if act == "settings" and a == "admin"]
    assert ["clinic_name"] in changed and ["receipt_format"] in changed
    code, out, err = cs("settle", clinic["visit"], "--db", clinic["db"], "--json", env=clinic["clerk"])
    assert code == 0, err
    rec = json.loads(out)
    assert rec["setl_no"].startswith("H14110200031-")
    code, out, _ = cs("audit", "verify", "--db", clinic["db"], env=clinic["admin"])
    assert code == 0, out


def test_5_import_roster_dry_run_checks_and_changes_nothing(clinic):
    tmp = Path(clinic["tmp"])
    f = tmp / "more.csv"
    lines = (SAMPLES / "roster_sample.csv").read_text(encoding="utf-8-sig").splitlines()
    f.write_text("\n".join([lines[0], lines[1].replace("夏志", "夏志改"),
                            "NEWONE1,123,坏行,男,1990-01-01,390,城乡居民,141102,,,,,,0.00,2026-11-22"]) + "\n",
                 encoding="utf-8")
    before = trail(clinic["db"])
    code, out, err = cs("import-roster", str(f), "--dry-run", "--db", clinic["db"], "--json", env=clinic["admin"])
    assert code == 0, err
    data = json.loads(out)
    assert (data["updated"], data["rejected"], data["dry_run"]) == (1, 1, True) and data["report_path"]
    code, out, _ = cs("import-roster", str(f), "--dry-run", "--db", clinic["db"], env=clinic["admin"])
    assert "只校验，未导入" in out
    con = sqlite3.connect(clinic["db"])
    assert con.execute("SELECT name FROM person WHERE psn_no='14110200000001'").fetchone()[0] == "夏志"
    con.close()
    after = trail(clinic["db"])
    assert [a for a in after[len(before):] if a[1] != "login"] == []  # only the sign-ins
    code, _, err = cs("import-roster", str(f), "--dry-run", "--db", clinic["db"], env=clinic["clerk"])
    assert code == 1 and "只有管理员" in err
