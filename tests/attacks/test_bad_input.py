"""#12 holes 14 and 15: visit files and claims that used to end in a traceback (exit 70) or took
minutes: each is refused with exit 2 and a Chinese message naming the field, and nothing is written.
The same parser reads `calc` claims: the same inputs are refused there, with the contract's
`invalid_input` (docs/calc.md)."""

import json
import time

import pytest

from tests.cli_run import cs

DEEP = 100_000


def visit(psn="PSN", **item):
    it = {"code": "X9", "qty": "1", "price": "10.00", "kind": "service", "chrgitm_lv": "01", **item}
    return {"psn_no": psn, "benefit": "general_outpatient", "items": [it]}


def text(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


BIG_INT = "1" + "0" * 4300  # past Python's 4,300-digit limit for int(str)

# name → (visit file text or bytes, field named in the refusal)
VISITS = {
    "deeply nested": ('{"psn_no": "PSN", "items": ' + "[" * DEEP + "]" * DEEP + "}", "visit"),
    "items is a number": (text({"psn_no": "PSN", "benefit": "general_outpatient", "items": 5}), "items"),
    "items is true": (text({"psn_no": "PSN", "benefit": "general_outpatient", "items": True}), "items"),
    "item is a string": (text({"psn_no": "PSN", "benefit": "general_outpatient", "items": ["X9"]}), "items[0]"),
    "GBK file": (text(visit(name="换药")).encode("gbk"), "visit"),
    "huge qty × price": (text(visit(qty="999999999", price="999999999")), "items[0].qty"),
    "name is an object": (text(visit(name={"a": 1})), "items[0].name"),
    "4300-digit qty": (text(visit()).replace('"qty": "1"', f'"qty": {BIG_INT}'), "items[0].qty"),
    "4300-digit psn_no": (text(visit()).replace('"PSN"', BIG_INT), "psn_no"),
    "psn_no is a list": (text({**visit(), "psn_no": ["a"]}), "psn_no"),
    "benefit is an object": (text({**visit(), "benefit": {"a": 1}}), "benefit"),
    "date is a number": (text({**visit(), "date": 20261123}), "date"),
    "use_account is a string": (text({**visit(), "use_account": "no"}), "use_account"),
    "duplicate key": ('{"psn_no": "PSN", "psn_no": "OTHER", "benefit": "general_outpatient", "items": []}',
                      "psn_no"),
    "NaN": (text(visit()).replace('"qty": "1"', '"qty": NaN'), "json"),
    "empty file": ("", "visit"),
    "array": ("[]", "(根)"),
    # hole 15: unbounded text
    "32k-character name": (text(visit(name="药" * 32_000)), "items[0].name"),
    "long code": (text(visit(code="X" * 100)), "items[0].code"),
    "long psn_no": (text(visit(psn="1" * 10_000)), "psn_no"),
    "long disease": (text({**visit(), "benefit": "chronic_special", "disease": "M" * 1000}), "disease"),
    "control character in name": (text(visit(name="换\x00药")), "items[0].name"),
}


@pytest.mark.parametrize("case", list(VISITS))
def test_bad_visit_file_is_refused_naming_the_field(clinic, case):
    data, field = VISITS[case]
    if "PSN" in str(data[:200]) and isinstance(data, str):
        data = data.replace('"PSN"', json.dumps(clinic.resident()))
    path = clinic.file(data)
    for extra in ((), ("--dry-run",)):
        started = time.monotonic()
        code, out, err = clinic.cs("settle", str(path), "--json", *extra)
        assert time.monotonic() - started < 20
        assert code == 2, (out, err)
        e = json.loads(out)["error"]
        assert e["code"] == "invalid_input" and e["field"] == field, e
        assert len(e["message"]) < 300 and any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]), e
    code, _, err = clinic.cs("settle", str(path))  # the text form: the message on stderr
    assert code == 2 and err.startswith("错误：")
    assert clinic.count("settlement") == 0


def test_reversal_reason_and_token_are_bounded(clinic):
    psn = clinic.resident()
    code, out, _ = clinic.settle(visit(psn), "--token", "t" * 65)
    assert code == 2 and json.loads(out)["error"]["field"] == "token"
    assert clinic.count("settlement") == 0
    code, out, err = clinic.settle(visit(psn))
    setl_no = json.loads(out)["setl_no"]
    code, out, _ = clinic.cs("reverse", setl_no, "--reason", "退" * 201, "--json")
    assert code == 2 and json.loads(out)["error"]["field"] == "reason"
    assert clinic.count("settlement") == 1


CLAIM = {"date": "2024-03-01", "benefit": "general_outpatient",
         "insured": {"insutype": "390", "category": "resident", "admdvs": "140100"},
         "institution": {"code": "H1", "admdvs": "140100", "level": "primary", "price_class": 3},
         "items": [{"code": "XA01", "kind": "drug", "chrgitm_lv": "01", "qty": "2", "price": "25.00"}]}

CLAIMS = {
    "deeply nested": ('{"date": ' + "[" * DEEP + "]" * DEEP + "}", "json"),
    "name is an object": (text({**CLAIM, "items": [{**CLAIM["items"][0], "name": {"a": 1}}]}), "items[0].name"),
    "32k-character name": (text({**CLAIM, "items": [{**CLAIM["items"][0], "name": "药" * 32_000}]}),
                           "items[0].name"),
    "4300-digit qty": (text(CLAIM).replace('"qty": "2"', f'"qty": {BIG_INT}'), "items[0].qty"),
    "4300-digit date": (text(CLAIM).replace('"date": "2024-03-01"', f'"date": {BIG_INT}'), "date"),
}


@pytest.mark.parametrize("case", list(CLAIMS))
def test_bad_claim_is_refused_by_calc(case):
    data, field = CLAIMS[case]
    code, out, _ = cs("calc", stdin=data, user=None)
    e = json.loads(out)["error"]
    assert code == 2 and e["code"] == "invalid_input" and e["field"] == field, e
    assert len(e["message"]) < 300


def test_calc_batch_reports_a_bad_line_and_goes_on(tmp_path):
    lines = [CLAIMS["deeply nested"][0], text(CLAIM)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = cs("calc", "--batch", str(tmp_path / "in.jsonl"), user=None)
    first, second = (json.loads(x) for x in out.splitlines())
    assert code == 0 and first["error"]["field"] == "json" and second["medfee_sumamt"] == "50.00"
