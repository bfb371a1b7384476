"""#14 the way a clinic (or an attacker) meets it: the command line as a subprocess, real roster workbooks,
raw sqlite3 on the file.

- `settle` takes `indication_confirmed` per item; the receipt data says when a 限定支付范围 was not confirmed.
- The clinic cannot designate itself: the retired setting is refused, and written with sqlite3 it is ignored.
- Roster: 家庭医生签约机构 is a 定点医药机构编码 (H + 11 digits); 缴费年度 goes with 缴费日期 and 缴费期.
"""

import json

from .conftest import roster_xlsx

BIOPSY = {"code": "311201063", "qty": "1", "price": "800.00", "kind": "service", "chrgitm_lv": "02",
          "name": "组织、细胞活检(辅助生殖)", "fee_category": "检查费"}


def art_visit(psn, **item):
    return {"psn_no": psn, "benefit": "assisted_reproduction", "items": [{**BIOPSY, **item}]}


def test_settle_takes_the_confirmation_per_item_and_the_receipt_says_when_it_was_not_given(clinic):
    code, _, err = clinic.cs("settings", "set", "clinic_art_approved", "true", user="admin")
    assert code == 0, err
    psn = clinic.resident()
    code, out, err = clinic.settle(art_visit(psn, indication_confirmed=True))
    assert code == 0, err
    yes = json.loads(out)
    code, out, err = clinic.settle(art_visit(clinic.resident(1)))
    assert code == 0, err
    no = json.loads(out)
    receipts = dict(clinic.sql("SELECT setl_no, receipt_json FROM settlement"))
    assert "unconfirmed" not in json.loads(receipts[yes["setl_no"]])
    assert [u["code"] for u in json.loads(receipts[no["setl_no"]])["unconfirmed"]] == ["311201063"]
    claims = dict(clinic.sql("SELECT setl_no, claim_json FROM settlement"))
    assert json.loads(claims[yes["setl_no"]])["items"][0]["indication_confirmed"] is True
    assert "indication_confirmed" not in json.loads(claims[no["setl_no"]])["items"][0]


def test_a_confirmation_that_is_not_a_boolean_is_refused(clinic):
    code, out, _ = clinic.settle(art_visit(clinic.resident(), indication_confirmed="yes"))
    err = json.loads(out)["error"]
    assert code == 2 and err["field"] == "items[0].indication_confirmed", out
    code, out, _ = clinic.settle(art_visit(clinic.resident(), fee_category="挂号费"))
    assert code == 2 and json.loads(out)["error"]["field"] == "items[0].fee_category", out
    assert clinic.count("settlement") == 0


def test_the_clinic_cannot_designate_itself_by_setting_or_by_sqlite(clinic):
    code, out, err = clinic.cs("settings", "set", "clinic_designated_diseases", "M01904", "--json", user="admin")
    assert code == 2 and "clinic_designated_diseases" in out + err
    clinic.sql("INSERT OR REPLACE INTO setting(key, value) VALUES ('clinic_designated_diseases', 'M01904')")
    clinic.sql("UPDATE setting SET value='county' WHERE key='clinic_level'")
    psn = clinic.resident()
    clinic.sql("INSERT OR IGNORE INTO person_disease (psn_no, disease) VALUES (?, 'M01904')", (psn,))
    visit = {"psn_no": psn, "date": "2026-03-10", "benefit": "chronic_special", "disease": "M01904",
             "items": [{"code": "XJ01CAA040A001", "qty": "80"}]}
    code, out, err = clinic.settle(visit, "--dry-run")
    assert code == 0, err
    r = json.loads(out)
    assert r["hifp_pay"] == "0.00" and "institution_not_designated" in {n["code"] for n in r["notices"]}


def import_roster(clinic, path):
    code, out, err = clinic.cs("import-roster", str(path), "--json", user="admin")
    assert code in (0, 1), err
    return json.loads(out)


def test_the_family_doctor_institution_is_an_institution_code(clinic):
    a, b = clinic.resident(0), clinic.resident(1)
    path = roster_xlsx(clinic.tmp / "花名册.xlsx", [clinic.roster_row(a, 家庭医生签约机构="h14110200031"),
                                                   clinic.roster_row(b, 家庭医生签约机构="卫生室A")])
    res = import_roster(clinic, path)
    assert clinic.one("SELECT family_doctor_at FROM person WHERE psn_no=?", (a,)) == "H14110200031"
    (bad,) = [e for e in res["errors"] if e["psn_no"] == b]
    assert bad["field"] == "家庭医生签约机构" and "H 加 11 位数字" in bad["reason"]


def test_the_year_paid_for_is_imported_with_its_payment(clinic):
    rows = {clinic.resident(0): dict(缴费日期="2025-10-10", 缴费期="集中", 缴费年度="2026"),   # ok
            clinic.resident(1): dict(缴费日期="2026-02-10", 缴费期="延长", 缴费年度="2026"),   # ok
            clinic.resident(2): dict(缴费日期="", 缴费期="集中", 缴费年度="2026"),             # no date
            clinic.resident(3): dict(缴费日期="2026-01-05", 缴费期="集中", 缴费年度="2026"),   # 集中 inside the year
            clinic.resident(4): dict(缴费日期="2025-12-01", 缴费期="延长", 缴费年度="2026"),   # 延长 of another year
            clinic.resident(5): dict(缴费日期="2025-10-10", 缴费期="集中", 缴费年度="26")}     # not a year
    path = roster_xlsx(clinic.tmp / "花名册.xlsx", [clinic.roster_row(p, **c) for p, c in rows.items()])
    res = import_roster(clinic, path)
    bad = {e["psn_no"]: e for e in res["errors"]}
    psns = list(rows)
    assert set(bad) == set(psns[2:]) and all(bad[p]["field"] == "缴费年度" for p in psns[2:])
    assert [clinic.one("SELECT contrib_year FROM person WHERE psn_no=?", (p,)) for p in psns[:2]] == [2026, 2026]
