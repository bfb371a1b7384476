"""The database commands as a clerk or county IT person runs them (subprocess, --db, --json, exit codes)."""

import json

import pytest

from tests.cli_run import ROOT, cs


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "clinic.sqlite3"
    code, out, _ = cs("init", "--db", str(db))
    assert code == 0 and "已创建数据库" in out
    code, out, _ = cs("demo", "--db", str(db), "--persons", "80", "--json")
    data = json.loads(out)
    assert code == 0 and data["persons"] == 80 and data["packs"] == 7
    return db


def test_init_twice_and_env_variable(tmp_path):
    import os

    db = tmp_path / "x.sqlite3"
    env = {**os.environ, "CLINIC_SETTLE_DB": str(db)}
    assert cs("init", env=env)[0] == 0
    code, out, _ = cs("init", env=env)
    assert code == 0 and "已是最新结构" in out and db.exists()


def test_demo_refuses_a_database_with_persons(demo_db):
    code, _, err = cs("demo", "--db", str(demo_db))
    assert code == 1 and "已有参保人员" in err


def test_sync_reports_unchanged_and_refuses_bad_pack(demo_db, tmp_path):
    code, out, _ = cs("sync", str(ROOT / "resources" / "policy_packs"), "--db", str(demo_db), "--json", user="admin")
    assert code == 0 and {p["status"] for p in json.loads(out)["packs"]} == {"unchanged"}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pack.toml").write_text('id = "b"\nadmdvs = "x"\n', encoding="utf-8")
    code, out, _ = cs("sync", str(bad), "--db", str(demo_db), "--json", user="admin")
    err = json.loads(out)["error"]
    assert code == 2 and err["code"] == "invalid_pack" and any("pack.toml:2" in p for p in err["problems"])


def test_lookup_settle_reverse_day_close(demo_db, tmp_path):
    code, out, _ = cs("lookup", "14110200", "--db", str(demo_db), "--json")
    hits = json.loads(out)["hits"]
    assert code == 0 and hits
    psn = next(h["psn_no"] for h in hits if h["insutype"] == "390" and h["admdvs"] == "141102")
    code, out, _ = cs("lookup", psn, "--db", str(demo_db))
    assert code == 0 and "人员编号" in out and "普通门诊统筹" in out and "**********" in out
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient",
                                 "items": [{"code": "110200005", "qty": "1"}, {"code": "XJ01CAA040A001", "qty": "2"}]}),
                     encoding="utf-8")
    code, out, _ = cs("settle", str(visit), "--operator", "clerk", "--dry-run", "--db", str(demo_db), "--json")
    pre = json.loads(out)
    assert code == 0 and pre["medfee_sumamt"] == "35.00"
    code, out, _ = cs("settle", str(visit), "--operator", "clerk", "--token", "t-1", "--db", str(demo_db), "--json")
    rec = json.loads(out)
    assert code == 0 and rec["kind"] == "settle" and rec["result"]["medfee_sumamt"] == "35.00"
    code, out, _ = cs("settle", str(visit), "--operator", "clerk", "--token", "t-1", "--db", str(demo_db), "--json")
    again = json.loads(out)
    assert again["setl_no"] == rec["setl_no"] and again["replayed"] is True
    code, out, err = cs("reverse", rec["setl_no"], "--reason", "患者退药", "--operator", "clerk", "--db", str(demo_db))
    assert code == 0 and "冲正单号" in out and rec["setl_no"] in out
    code, out, err = cs("reverse", rec["setl_no"], "--reason", "again", "--operator", "clerk", "--db", str(demo_db))
    assert code == 1 and "已被冲正" in err
    code, out, _ = cs("day-close", "--operator", "admin", "--db", str(demo_db), "--json", user="admin")
    dc = json.loads(out)
    assert code == 0 and dc["count"] == 2 and dc["totals"]["totals"]["medfee_sumamt"] == "0.00"
    code, out, err = cs("settle", str(visit), "--operator", "clerk", "--db", str(demo_db))
    assert code == 1 and "已日结" in err


def test_settle_bad_input_names_field(demo_db, tmp_path):
    visit = tmp_path / "bad.json"
    visit.write_text(json.dumps({"psn_no": "14110200000001", "benefit": "general_outpatient",
                                 "items": [{"code": "110200005", "qty": "abc"}]}), encoding="utf-8")
    code, out, _ = cs("settle", str(visit), "--operator", "clerk", "--db", str(demo_db), "--json")
    err = json.loads(out)["error"]
    assert code == 2 and err["field"] == "items[0].qty"
    visit.write_text(json.dumps({"psn_no": "14110200000001", "benefit": "general_outpatient", "colour": 1,
                                 "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    code, out, _ = cs("settle", str(visit), "--operator", "clerk", "--db", str(demo_db), "--json")
    assert code == 2 and json.loads(out)["error"]["field"] == "colour"


def test_import_roster_prints_counts_and_report(demo_db, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n"
                 "Z1,110101199003070000,王五,男,1990-03-07,390,城乡居民,141102,2026-11-20\n", encoding="utf-8")
    code, out, _ = cs("import-roster", str(f), "--db", str(demo_db), user="admin")
    assert code == 0 and "拒绝 1 行" in out and "错误报告" in out
    assert (demo_db.parent / "reports" / "r_错误报告.xlsx").exists()  # beside the database, not the roster
    assert not (tmp_path / "r_错误报告.xlsx").exists()
    code, _, err = cs("import-roster", str(tmp_path / "none.csv"), "--db", str(demo_db), user="admin")
    assert code == 2 and "找不到" in err


def test_import_roster_refuses_a_number_or_scientific_psn_no_cell(demo_db, tmp_path):
    """An .xlsx whose 人员编号 cell is an Excel number (1.4110200000000002e19 — digits already lost) or text in
    scientific notation is a row error with the 设为文本 advice, as for 身份证号; nothing is imported from it."""
    from openpyxl import Workbook

    from desktop_app.services.roster_rows import PERSON_COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(list(PERSON_COLUMNS))
    base = ["110101199003070011", "王五", "男", "1990-03-07", "390", "城乡居民", "141102", "", "", "否", "", "",
            "0.00", "2026-11-20"]
    ws.append([1.4110200000000002e19, *base])
    ws.append([14110200000001234, *base])
    ws.append(["1.41102E+19", *base])
    f = tmp_path / "number_psn.xlsx"
    wb.save(f)
    code, out, err = cs("import-roster", str(f), "--db", str(demo_db), "--json", user="admin")
    res = json.loads(out)
    assert res["inserted"] == 0 and res["rejected"] == 3, (out, err)
    errors = {e["row"]: e for e in res["errors"]}
    for r in (2, 3, 4):
        assert errors[r]["field"] == "人员编号" and "设为“文本”" in errors[r]["reason"], errors
    assert "数字" in errors[2]["reason"] and "科学计数法" in errors[4]["reason"]
