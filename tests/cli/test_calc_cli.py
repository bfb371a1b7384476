"""`clinic-settle calc` as a user (or an outside checker) calls it: subprocess, stdin/file/batch, exit codes."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli.calc import calc_text
from desktop_app.core.pack_files import load_policy

ROOT = Path(__file__).resolve().parents[2]
EXE = shutil.which("clinic-settle", path=str(Path(sys.executable).parent))

EXAMPLE1 = {
    "date": "2024-03-01",
    "benefit": "general_outpatient",
    "disease": None,
    "delivery": None,
    "insured": {"insutype": "390", "category": "resident", "admdvs": "140100", "family_doctor_at": None,
                "registered_diseases": [], "contribution": None, "acct_balance": "0.00"},
    "institution": {"code": "H14010000001", "admdvs": "140100", "level": "primary", "price_class": 3,
                    "art_approved": False, "designated_diseases": []},
    "use_account": True,
    "family_account": None,
    "items": [
        {"code": "XA01", "name": "阿莫西林胶囊", "kind": "drug", "chrgitm_lv": "01", "qty": "2", "price": "25.00", "pay_std": None},
        {"code": "XB01", "kind": "drug", "chrgitm_lv": "02", "qty": "1", "price": "40.00"},
        {"code": "XS01", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "10.00"},
    ],
    "history": [],
}


def run(args, stdin=None):
    cmd = [EXE] if EXE else [sys.executable, "-m", "desktop_app"]
    r = subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
    return r.returncode, r.stdout, r.stderr


def test_console_script_is_installed():
    assert EXE, "clinic-settle console script missing from the environment"


def test_example_1_from_stdin_matches_contract():
    code, out, err = run(["calc"], json.dumps(EXAMPLE1, ensure_ascii=False))
    assert code == 0, err
    res = json.loads(out)
    expect = {"medfee_sumamt": "100.00", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
              "preselfpay_amt": "2.00", "inscp_scp_amt": "98.00", "act_pay_dedc": "0.00",
              "pool_prop_selfpay": "0.6000", "hifp_pay": "58.80", "hifmi_pay": "0.00", "hifob_pay": "0.00",
              "fund_pay_sumamt": "58.80", "psn_part_amt": "41.20", "acct_pay": "0.00",
              "acct_mulaid_pay": "0.00", "psn_cash_pay": "41.20"}
    assert {k: res[k] for k in expect} == expect
    assert res["items"][1] == {"code": "XB01", "det_item_fee_sumamt": "40.00", "fulamt_ownpay_amt": "0.00",
                               "overlmt_amt": "0.00", "preselfpay_amt": "2.00", "inscp_scp_amt": "38.00"}
    assert {"step": "ratio", "value": "0.6000", "basis": "晋医保发〔2023〕16号 一"} in [
        {k: t[k] for k in ("step", "value", "basis")} for t in res["trace"]]
    assert res["packs"] == [{"id": "cn-140000-shanxi", "version": "1.1.0"}]
    assert stderr_clean(err)


def stderr_clean(err: str) -> bool:
    return "Traceback" not in err


def test_example_from_file_and_via_python_m(tmp_path):
    f = tmp_path / "claim.json"
    c = copy.deepcopy(EXAMPLE1)
    c["institution"]["price_class"] = 1
    c["items"] = [{"code": "A", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "300.00"}]
    f.write_text(json.dumps(c, ensure_ascii=False), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "desktop_app", "calc", str(f)], capture_output=True, text=True,
                       encoding="utf-8", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert (res["act_pay_dedc"], res["hifp_pay"]) == ("80.00", "99.00")


def test_example_3_cap_and_example_4_no_policy():
    c = copy.deepcopy(EXAMPLE1)
    c["items"] = [{"code": "A", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "100.00"}]
    c["history"] = [{"date": "2024-02-01", "institution": "H1", "benefit": "general_outpatient",
                     "disease": None, "hifp_pay": "280.00", "act_pay_dedc": "0.00", "items": []}]
    code, out, _ = run(["calc", "-"], json.dumps(c))
    res = json.loads(out)
    assert code == 0 and res["hifp_pay"] == "20.00"
    assert [n["code"] for n in res["notices"]] == ["annual_cap_reached"]
    c["history"] = []
    c["date"] = "2023-12-31"
    code, out, _ = run(["calc"], json.dumps(c))
    assert code == 3
    err = json.loads(out)["error"]
    assert err["code"] == "no_policy_in_force" and "2023-12-31" in err["message"]


def test_parameter_missing_exit_3_names_parameter():
    c = copy.deepcopy(EXAMPLE1)
    c["insured"].update(insutype="310", category="employee_active")
    code, out, _ = run(["calc"], json.dumps(c))
    assert code == 3
    err = json.loads(out)["error"]
    assert err["code"] == "policy_parameter_missing"
    assert err["parameter"] == "deductible"
    assert "晋政办发〔2021〕103号" in err["message"] and "另行制定" in err["message"]


def test_invalid_json_and_missing_file_exit_2():
    code, out, err = run(["calc"], "{not json")
    assert code == 2 and json.loads(out)["error"]["code"] == "invalid_input" and stderr_clean(err)
    code, out, _ = run(["calc", "/nonexistent/claim.json"])
    assert code == 2 and "无法读取" in json.loads(out)["error"]["message"]


def test_batch_keeps_order_and_reports_errors_per_line(tmp_path):
    good = json.dumps(EXAMPLE1, ensure_ascii=False)
    bad = copy.deepcopy(EXAMPLE1)
    bad["items"][0]["qty"] = "-1"
    old = copy.deepcopy(EXAMPLE1)
    old["date"] = "2023-06-01"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([good, json.dumps(bad), "{oops", json.dumps(old), good]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, stdout, err = run(["calc", "--batch", str(src), "--out", str(out)])
    assert code == 0, err
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    assert lines[0]["hifp_pay"] == "58.80" and lines[4] == lines[0]
    assert lines[1]["error"]["field"] == "items[0].qty"
    assert lines[2]["error"]["code"] == "invalid_input"
    assert lines[3]["error"]["code"] == "no_policy_in_force"
    # to stdout when no --out
    code, stdout, _ = run(["calc", "--batch", str(src)])
    assert code == 0 and len(stdout.splitlines()) == 5
    code, stdout, _ = run(["calc", "--batch", str(tmp_path / "missing.jsonl")])
    assert code == 2


def test_extra_pack_applies_over_shipped(tmp_path):
    d = tmp_path / "taiyuan"
    d.mkdir()
    (d / "pack.toml").write_text(
        'id = "t-140100"\nname = "太原市（测试）"\nadmdvs = "140100"\nlevel = "city"\n'
        'parent = "cn-140000-shanxi"\nversion = "0.1"\n\n[[document]]\nnumber = "并医保发〔2024〕1号"\n'
        'effective = 2024-01-01\nexpires = 2025-01-01\n', encoding="utf-8")
    (d / "params.toml").write_text(
        '[[param]]\nkey = "ratio"\nbenefit = "general_outpatient"\ninsutype = "390"\nprice_class = 3\n'
        'value = "0.70"\ncite = "并医保发〔2024〕1号 一"\n', encoding="utf-8")
    code, out, err = run(["calc", "--pack", str(d)], json.dumps(EXAMPLE1))
    assert code == 0, err
    res = json.loads(out)
    assert res["pool_prop_selfpay"] == "0.7000" and res["hifp_pay"] == "68.60"
    assert {"id": "t-140100", "version": "0.1"} in res["packs"]
    # a malformed extra pack: exit 2, problems listed with file and line, no traceback
    (d / "params.toml").write_text('[[param]]\nkey = "ratoi"\n', encoding="utf-8")
    code, out, err = run(["calc", "--pack", str(d)], json.dumps(EXAMPLE1))
    assert code == 2 and stderr_clean(err)
    e = json.loads(out)["error"]
    assert e["field"] == "--pack" and any("params.toml:2" in p for p in e["problems"])


def test_packs_check_cli(tmp_path):
    code, out, err = run(["packs", "check", str(ROOT / "resources" / "policy_packs")])
    assert code == 0, err
    assert "政策包校验通过：7 个包" in out
    assert "门诊慢特病 病种 M01904 · 城乡居民基本医疗保险：2024-05-01 至 2026-05-01（不含）" in out
    code, out, _ = run(["packs", "check", "--json", str(ROOT / "resources" / "policy_packs" / "cn-410300-luoyang")])
    data = json.loads(out)
    assert code == 0 and data["packs"][0]["id"] == "cn-410300-luoyang"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pack.toml").write_text('id = "x"\nadmdvs = "12"\n', encoding="utf-8")
    code, out, err = run(["packs", "check", str(bad)])
    assert code == 1 and "pack.toml:2" in out and stderr_clean(err)


# ---------------------------------------------------------------------------
# Every kind of bad input listed in the contract → exit 2 with the field named.
# (In-process through the same function the CLI uses; a few also via subprocess above.)
# ---------------------------------------------------------------------------
POLICY = load_policy()


def mutate(path, value=None, delete=False):
    c = copy.deepcopy(EXAMPLE1)
    *parents, last = path
    obj = c
    for p in parents:
        obj = obj[p]
    if delete:
        del obj[last]
    else:
        obj[last] = value
    return c


BAD = [
    ("unknown top field", mutate(["colour"], "red"), "colour"),
    ("unknown insured field", mutate(["insured", "age"], 3), "insured.age"),
    ("unknown item field", mutate(["items", 0, "unit"], "盒"), "items[0].unit"),
    ("negative price", mutate(["items", 1, "price"], "-0.01"), "items[1].price"),
    ("non-numeric price", mutate(["items", 1, "price"], "12元"), "items[1].price"),
    ("negative qty", mutate(["items", 2, "qty"], "-1"), "items[2].qty"),
    ("non-numeric qty", mutate(["items", 2, "qty"], "two"), "items[2].qty"),
    ("zero qty", mutate(["items", 2, "qty"], "0"), "items[2].qty"),
    ("negative balance", mutate(["insured", "acct_balance"], "-5.00"), "insured.acct_balance"),
    ("bad pay_std", mutate(["items", 0, "pay_std"], "x"), "items[0].pay_std"),
    ("non-existent date", mutate(["date"], "2024-02-30"), "date"),
    ("badly formatted date", mutate(["date"], "2024/03/01"), "date"),
    ("chrgitm_lv outside list", mutate(["items", 0, "chrgitm_lv"], "04"), "items[0].chrgitm_lv"),
    ("kind outside list", mutate(["items", 0, "kind"], "food"), "items[0].kind"),
    ("price_class outside list", mutate(["institution", "price_class"], 4), "institution.price_class"),
    ("level outside list", mutate(["institution", "level"], "provincial"), "institution.level"),
    ("insutype outside list", mutate(["insured", "insutype"], "320"), "insured.insutype"),
    ("category outside list", mutate(["insured", "category"], "farmer"), "insured.category"),
    ("benefit outside list", mutate(["benefit"], "dental"), "benefit"),
    ("admdvs not 6 digits", mutate(["insured", "admdvs"], "1401"), "insured.admdvs"),
    ("empty item list", mutate(["items"], []), "items"),
    ("missing items", mutate(["items"], delete=True), "items"),
    ("missing insutype", mutate(["insured", "insutype"], delete=True), "insured.insutype"),
    ("history after the visit", mutate(["history"], [{"date": "2024-03-02", "institution": "H", "benefit": "general_outpatient",
                                                       "hifp_pay": "1.00", "act_pay_dedc": "0.00"}]), "history[0].date"),
    ("fee_category not a receipt group", mutate(["items", 2, "fee_category"], "挂号费"), "items[2].fee_category"),
    ("indication_confirmed not a boolean", mutate(["items", 0, "indication_confirmed"], "yes"),
     "items[0].indication_confirmed"),
    ("history fund_paid not a boolean", mutate(["history"], [{"date": "2024-01-30", "institution": "H",
                                                             "benefit": "general_outpatient", "hifp_pay": "1.00",
                                                             "act_pay_dedc": "0.00",
                                                             "items": [{"code": "A", "qty": "1", "fund_paid": "1"}]}]),
     "history[0].items[0].fund_paid"),
    ("history negative fund", mutate(["history"], [{"date": "2024-01-30", "institution": "H", "benefit": "general_outpatient",
                                                     "hifp_pay": "-1.00", "act_pay_dedc": "0.00"}]), "history[0].hifp_pay"),
    ("float-looking exponent", mutate(["items", 0, "price"], "1e3"), "items[0].price"),
    ("boolean as amount", mutate(["items", 0, "price"], True), "items[0].price"),
    ("use_account not bool", mutate(["use_account"], "yes"), "use_account"),
    ("family relation outside list", mutate(["family_account"], {"relation": "neighbour", "balance": "1.00"}),
     "family_account.relation"),
    ("disease on general outpatient", mutate(["disease"], "M01904"), "disease"),
    ("category contradicts insutype", mutate(["insured", "category"], "employee_active"), "insured.category"),
]


@pytest.mark.parametrize(("claim", "field"), [pytest.param(c, f, id=n) for n, c, f in BAD])
def test_bad_input_exit_2_names_field(claim, field):
    code, res = calc_text(json.dumps(claim, ensure_ascii=False), POLICY)
    assert code == 2, res
    err = res["error"]
    assert err["code"] == "invalid_input"
    assert err["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), "message must be in Chinese"


def test_bad_input_via_subprocess_and_json_number_amounts():
    code, out, err = run(["calc"], json.dumps(mutate(["items", 1, "price"], "-3")))
    assert code == 2 and json.loads(out)["error"]["field"] == "items[1].price" and stderr_clean(err)
    # JSON numbers are accepted and never go through binary floating point
    text = json.dumps(EXAMPLE1).replace('"25.00"', "25.005").replace('"2"', "2")
    code, res = calc_text(text, POLICY)
    assert code == 0 and res["items"][0]["det_item_fee_sumamt"] == "50.01"


def test_fullwidth_digits_are_read_as_digits():
    code, res = calc_text(json.dumps(mutate(["items", 1, "price"], "４０.００"), ensure_ascii=False), POLICY)
    assert code == 0 and res["medfee_sumamt"] == "100.00"


def test_duplicate_key_is_refused():
    text = json.dumps(EXAMPLE1)[:-1] + ', "date": "2024-03-02"}'
    code, res = calc_text(text, POLICY)
    assert code == 2 and res["error"]["field"] == "date"


def test_history_of_an_earlier_year_is_accepted_and_does_not_use_this_years_cap():
    """docs/calc.md: history may hold earlier years (lifetime item counts); the yearly cap counts only
    the visit's year. Example 3's 280.00 dated 2023-12-30 leaves 2024's 300 whole: 100×60% = 60.00."""
    c = copy.deepcopy(EXAMPLE1)
    c["items"] = [{"code": "XA01", "kind": "drug", "chrgitm_lv": "01", "qty": "1", "price": "100.00"}]
    c["history"] = [{"date": "2023-12-30", "institution": "H14010000001", "benefit": "general_outpatient",
                     "hifp_pay": "280.00", "act_pay_dedc": "0.00"}]
    code, out, err = run(["calc"], json.dumps(c, ensure_ascii=False))
    res = json.loads(out)
    assert code == 0 and res["hifp_pay"] == "60.00" and res["notices"] == [], (out, err)


def test_optional_item_fields_via_subprocess():
    """fee_category and indication_confirmed are accepted on a claim line (docs/calc.md, round 2)."""
    c = copy.deepcopy(EXAMPLE1)
    c["items"][0]["fee_category"] = "西药费"
    c["items"][0]["indication_confirmed"] = True
    code, out, err = run(["calc"], json.dumps(c, ensure_ascii=False))
    assert code == 0 and json.loads(out)["hifp_pay"] == "58.80", (out, err)
