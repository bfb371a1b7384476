"""#12 hole 4: a quantity or price as the clerk may type it — full-width digits and point (１．５), or a
comma (1,5). Normalised once where the visit comes in; a comma is refused (never read as a thousands
separator: 1,5 is not 15); only the normalised decimal is stored, so the person's later lookups,
pre-settlements, reversals and receipts keep working."""

import json

import pytest

from tests.cli_run import cs


def listed(psn, qty):
    return {"psn_no": psn, "benefit": "general_outpatient", "items": [{"code": "XJ01CAA040A001", "qty": qty}]}


def test_full_width_quantity_and_price_are_normalised_and_the_person_stays_usable(clinic):
    psn = clinic.resident()
    visit = {"psn_no": psn, "benefit": "general_outpatient",
             "items": [{"code": "XJ01CAA040A001", "qty": "１．５"},  # 12.50 a box
                       {"code": "X9", "qty": "２", "price": "１２．５０", "kind": "service", "chrgitm_lv": "01"}]}
    code, out, err = clinic.settle(visit)
    assert code == 0, err or out
    rec = json.loads(out)
    assert rec["result"]["medfee_sumamt"] == "43.75"  # 1.5 × 12.50 + 2 × 12.50
    assert clinic.sql("SELECT qty, price FROM settlement_item ORDER BY seq") == [("1.5", "12.50"), ("2", "12.50")]
    assert [(i["qty"], i["price"]) for i in rec["claim"]["items"]] == [("1.5", "12.50"), ("2", "12.50")]
    # everything the clerk does next with this person still works
    assert clinic.cs("lookup", psn)[0] == 0
    assert clinic.cs("settle", str(clinic.file(listed(psn, "1"))), "--dry-run")[0] == 0
    assert clinic.cs("receipt", rec["setl_no"], "--out", str(clinic.tmp / "r.pdf"))[0] == 0
    assert clinic.cs("reverse", rec["setl_no"], "--reason", "录错")[0] == 0
    assert clinic.cs("lookup", psn)[0] == 0


@pytest.mark.parametrize("field,value", [("qty", "1,5"), ("qty", "1，5"), ("price", "1,000.00"), ("qty", "1.5.0")])
def test_a_comma_or_a_malformed_number_is_refused(clinic, field, value):
    psn = clinic.resident()
    item = {"code": "X9", "qty": "1", "price": "10.00", "kind": "service", "chrgitm_lv": "01", field: value}
    code, out, _ = clinic.settle({"psn_no": psn, "benefit": "general_outpatient", "items": [item]})
    err = json.loads(out)["error"]
    assert code == 2 and err["field"] == f"items[0].{field}", out
    if "," in value or "，" in value:
        assert "逗号" in err["message"]
    assert clinic.count("settlement") == 0


CLAIM = {"date": "2024-03-01", "benefit": "general_outpatient",
         "insured": {"insutype": "390", "category": "resident", "admdvs": "140100"},
         "institution": {"code": "H1", "admdvs": "140100", "level": "primary", "price_class": 3}}


def test_calc_refuses_a_comma_and_reads_full_width_digits():
    item = {"code": "XA01", "kind": "drug", "chrgitm_lv": "01", "qty": "1,5", "price": "10.00"}
    code, out, _ = cs("calc", stdin=json.dumps({**CLAIM, "items": [item]}), user=None)
    assert code == 2 and json.loads(out)["error"]["field"] == "items[0].qty" and "逗号" in out
    item["qty"] = "１．５"
    code, out, _ = cs("calc", stdin=json.dumps({**CLAIM, "items": [item]}), user=None)
    assert code == 0 and json.loads(out)["medfee_sumamt"] == "15.00"
