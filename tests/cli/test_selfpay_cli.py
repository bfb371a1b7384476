"""`clinic-settle settle` with a 全自费 visit file (docs/ledger.md), run as a clerk would: a walk-in, an insured
person's choice, the refusals (exit 2 naming the field), then the receipt and the reversal by their commands."""

import json
import sqlite3
import subprocess

from tests.cli.test_db_cli import demo_db  # noqa: F401  (the module's demo database fixture)
from tests.cli_run import cs

WALK_ID = "11010519491231002X"


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return str(p)


def test_a_walk_in_is_settled_from_the_command_line(demo_db, tmp_path):  # noqa: F811
    db = str(demo_db)
    visit = write(tmp_path, "w.json", {"self_pay": True, "walk_in": {"name": "王小明", "id_no": WALK_ID},
                                       "items": [{"code": "110200005", "qty": "1"},
                                                 {"code": "XJ01CAA040A001", "qty": "2"}]})
    code, out, err = cs("settle", visit, "--db", db, "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["psn_cash_pay"] == "35.00" and json.loads(out)["hifp_pay"] == "0.00"
    code, out, err = cs("settle", visit, "--db", db)
    assert code == 0, err
    assert "自费患者 王小明（未在花名册）" in out and "全自费（未使用医保）" in out and "现金 35.00" in out
    assert WALK_ID not in out + err
    setl_no = out.split()[1]
    con = sqlite3.connect(demo_db)
    row = con.execute("SELECT psn_no, walkin_name, walkin_id, benefit, insutype, psn_cash_pay FROM settlement "
                      "WHERE setl_no = ?", (setl_no,)).fetchone()
    con.close()
    assert row == (None, "王小明", "1101**********002X", "self_pay", "", 3500)
    pdf = tmp_path / "r.pdf"
    code, out, err = cs("receipt", setl_no, "--db", db, "--as-issued", "--out", str(pdf))
    assert code == 0, err
    txt = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "未使用医保" in txt and "统筹基金" not in txt
    code, out, err = cs("reverse", setl_no, "--reason", "退费", "--db", db, "--json")
    assert code == 0, err
    assert json.loads(out)["result"]["psn_cash_pay"] == "-35.00" and json.loads(out)["person_name"] == "王小明"


def test_an_insured_person_chooses_self_pay_and_the_refusals_name_the_field(demo_db, tmp_path):  # noqa: F811
    db = str(demo_db)
    con = sqlite3.connect(demo_db)
    psn = con.execute("SELECT psn_no FROM person WHERE insutype='310' AND category='employee_active' "
                      "AND admdvs='141102' ORDER BY psn_no").fetchone()[0]
    con.close()
    insured = write(tmp_path, "i.json", {"psn_no": psn, "benefit": "general_outpatient",
                                         "items": [{"code": "110200005", "qty": "1"}]})
    code, out, err = cs("settle", insured, "--db", db, "--json")
    assert code == 3
    e = json.loads(out)["error"]
    assert e["code"] == "policy_parameter_missing" and "起付标准" in e["message"] and "县级医保部门的政策包" in e["message"]
    own = write(tmp_path, "o.json", {"self_pay": True, "self_pay_reason": "policy_open", "psn_no": psn,
                                     "items": [{"code": "110200005", "qty": "1"}]})
    code, out, err = cs("settle", own, "--db", db, "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["benefit"] == "self_pay" and rec["psn_no"] == psn and rec["result"]["acct_pay"] == "0.00"
    assert rec["receipt"]["self_pay"]["why"] == "policy_open"
    for obj, field in (
        ({"self_pay": True, "walk_in": {"name": "王", "id_no": "110105194912310021"}, "items": [{"code": "110200005",
                                                                                                  "qty": "1"}]},
         "walk_in.id_no"),
        ({"self_pay": True, "walk_in": {"name": "王", "id_no": WALK_ID, "gender": "男"},
          "items": [{"code": "110200005", "qty": "1"}]}, "walk_in.gender"),
        ({"self_pay": True, "walk_in": {"name": ""}, "items": [{"code": "110200005", "qty": "1"}]}, "walk_in.name"),
        ({"self_pay": True, "walk_in": {"name": "王", "age": 3}, "items": [{"code": "110200005", "qty": "1"}]},
         "walk_in.age"),
        ({"self_pay": True, "benefit": "general_outpatient", "psn_no": psn, "items": []}, "benefit"),
        ({"self_pay": "yes", "psn_no": psn, "items": []}, "self_pay"),
        ({"self_pay": True, "psn_no": psn, "self_pay_reason": "cheap", "items": [{"code": "110200005", "qty": "1"}]},
         "self_pay_reason"),
        ({"self_pay": True, "items": [{"code": "110200005", "qty": "1"}]}, "psn_no"),
    ):
        code, out, err = cs("settle", write(tmp_path, "bad.json", obj), "--db", db, "--json")
        assert code == 2, (obj, out, err)
        assert json.loads(out)["error"]["field"] == field, (obj, out)
        assert "110105194912310021" not in out + err
    con = sqlite3.connect(demo_db)
    assert con.execute("SELECT count(*) FROM settlement WHERE psn_no = ?", (psn,)).fetchone()[0] == 1
    con.close()
    # the module's day so far: the walk-in, its reversal and this one — 日结 counts them apart
    code, out, err = cs("day-close", "--db", db, "--out", str(tmp_path / "day"))
    assert code == 0, err
    assert "自费/全自费（未使用医保）：3 笔，医疗费 10.00，统筹 0.00，现金 10.00" in out
