"""A new clinic goes live from the command line with its own files (#15): identity, packs, roster, the
insurance catalogue and the price list, the readiness check, and a visit settled from code + qty."""

import json
from datetime import date

from desktop_app.resources import runtime_dir
from tests.cli_run import cs, env_for
from tests.services.catalogue_files import CAT_HEADER, PRICE_HEADER, write_csv, write_xlsx

CATALOGUE = [
    ["XJ01CAA040A001010100001", "阿莫西林胶囊", "101", "甲", "", "", "", "2020-01-01", ""],
    ["XJ01DCA030A001010100002", "头孢呋辛酯片", "101", "乙", "22.00", "", "", "2020-01-01", ""],
    ["001102000010000", "一般诊疗费", "201", "甲", "", "", "", "2020-01-01", ""],
]
PRICES = [
    ["A01", "阿莫西林胶囊", "0.25g×24粒", "盒", "12.50", "西药费", "XJ01CAA040A001010100001", "2020-01-01"],
    ["A02", "头孢呋辛酯片", "0.25g×12片", "盒", "23.80", "西药费", "XJ01DCA030A001010100002", "2020-01-01"],
    ["S01", "一般诊疗费", "", "次", "10.00", "诊查费", "001102000010000", "2020-01-01"],
    ["Z01", "代煎中药", "", "剂", "5.00", "其他费", "", "2020-01-01"],
]


def _roster(tmp_path):
    from desktop_app.services.demo import roster_rows

    persons, _usage = roster_rows(8, today=date.today())
    resident = next(p[0] for p in persons[1:] if p[5] == "390" and p[6] == "城乡居民" and p[7] == "141102")
    return write_csv(tmp_path / "花名册.csv", persons[0], persons[1:]), resident


def test_a_new_clinic_goes_live_from_the_command_line(tmp_path):
    db = str(tmp_path / "clinic.sqlite3")
    code, out, err = cs("init", "--supervisor", "boss", "--db", db, "--json", user=None)
    assert code == 0, err
    first = env_for("boss", json.loads(out)["supervisor"]["initial_password"])
    assert cs("user", "passwd", "--db", db, env=first | {"CLINIC_SETTLE_NEW_PASSWORD": "boss-secret-1"})[0] == 0
    boss = env_for("boss", "boss-secret-1")
    code, out, _ = cs("check-ready", "--db", db, "--json", user=None)  # no sign-in: nothing personal in it
    checks = {c["key"]: c["status"] for c in json.loads(out)["checks"]}
    assert code == 1 and checks["prices"] == "missing" and checks["identity"] == "missing"
    for key, value in (("clinic_code", "H14110200099"), ("clinic_name", "测试村卫生室"), ("clinic_admdvs", "141102")):
        assert cs("settings", "set", key, value, "--db", db, env=boss)[0] == 0
    assert cs("sync", str(runtime_dir("resources/policy_packs")), "--db", db, env=boss)[0] == 0
    roster, psn = _roster(tmp_path)
    assert cs("import-roster", str(roster), "--db", db, env=boss)[0] == 0
    # a catalogue with a bad row: exit 2, the report names the row, nothing imported
    bad = write_xlsx(tmp_path / "坏目录.xlsx", CAT_HEADER, CATALOGUE + [[311201045, "数字编码", "201", "01", "", "", "",
                                                                       "2020-01-01", ""]])
    code, out, _ = cs("import-catalogue", str(bad), "--db", db, "--json", env=boss)
    data = json.loads(out)
    assert code == 2 and data["written"] is False and [e["row"] for e in data["errors"]] == [5]
    cat = write_csv(tmp_path / "目录.csv", CAT_HEADER, CATALOGUE, encoding="gbk")
    code, _, err = cs("import-catalogue", str(cat), "--db", db, env=boss)
    assert code == 0, err
    price_file = write_csv(tmp_path / "价格.csv", PRICE_HEADER, PRICES)
    code, out, _ = cs("import-prices", str(price_file), "--dry-run", "--db", db, env=boss)
    assert code == 0 and "只校验" in out and "将新增 4 项" in out
    code, out, err = cs("import-prices", str(price_file), "--db", db, env=boss)
    assert code == 0 and "新增 4 项" in out, err
    code, out, _ = cs("check-ready", "--db", db, "--json", user=None)
    checks = {c["key"]: c["status"] for c in json.loads(out)["checks"]}
    assert code == 0 and checks["prices"] == "ok" and checks["mapping"] == "warn"  # Z01 is not mapped
    code, out, _ = cs("items", "tbf", "--db", db, "--json", env=boss)
    assert [(i["code"], i["chrgitm_lv"], i["pay_std"]) for i in json.loads(out)["items"]] == [("A02", "02", "22.00")]
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient",
                                 "items": [{"code": "A02", "qty": "2"}, {"code": "Z01", "qty": "1"}]}), "utf-8")
    code, out, err = cs("settle", str(visit), "--dry-run", "--db", db, env=boss)  # text: as the settle prints
    assert code == 0 and "预结算（未保存）" in out and "医疗费总额 52.60" in out and "超限价自费 3.60" in out, err
    assert "提示：" in out and "Z01" in out and "medfee_sumamt" not in out and "hifp_pay" not in out, out
    code, out, err = cs("settle", str(visit), "--db", db, "--json", env=boss)
    assert code == 0, err
    r = json.loads(out)
    assert r["result"]["medfee_sumamt"] == "52.60" and r["result"]["overlmt_selfpay"] == "3.60"
    assert [n["code"] for n in r["result"]["notices"]] == ["item_not_mapped"]
    code, out, _ = cs("export-prices", str(tmp_path / "导出.xlsx"), "--db", db, env=boss)
    assert code == 0 and "4 项" in out


def test_a_clerk_cannot_import_the_catalogue(tmp_path):
    db = tmp_path / "demo.sqlite3"
    assert cs("demo", "--db", str(db), "--persons", "5", user=None)[0] == 0
    cat = write_csv(tmp_path / "目录.csv", CAT_HEADER, CATALOGUE)
    code, _, err = cs("import-catalogue", str(cat), "--db", str(db))
    assert code == 1 and "只有管理员" in err


def test_a_clerk_may_dry_run_the_catalogue_and_prices_and_nothing_changes(tmp_path):
    """docs/catalogue.md: a dry run may be done by anyone signed in — it changes nothing and writes no audit entry."""
    import sqlite3

    db = tmp_path / "demo.sqlite3"
    assert cs("demo", "--db", str(db), "--persons", "5", user=None)[0] == 0

    def counts():
        with sqlite3.connect(db) as c:
            return [c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("ins_catalogue", "ins_catalogue_import", "clinic_item", "clinic_item_price")] + [
                c.execute("SELECT count(*) FROM audit_entry WHERE action != 'login'").fetchone()[0]]  # sign-ins aside

    before = counts()
    cat = write_csv(tmp_path / "目录.csv", CAT_HEADER, CATALOGUE)
    code, out, err = cs("import-catalogue", str(cat), "--dry-run", "--operator", "clerk", "--db", str(db))
    assert code == 0 and "将新增" in out, err
    price_file = write_csv(tmp_path / "价格.csv", PRICE_HEADER, PRICES)
    code, out, err = cs("import-prices", str(price_file), "--dry-run", "--operator", "clerk", "--db", str(db))
    # checked, not refused (a row may name an item the catalogue above was only dry-run for: exit 2 then)
    assert code in (0, 2) and "只校验" in out and "只有管理员" not in err, (out, err)
    assert counts() == before
    code, _, err = cs("import-prices", str(price_file), "--operator", "clerk", "--db", str(db))  # the import: still no
    assert code == 1 and "只有管理员" in err and counts() == before
