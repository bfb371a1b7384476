"""#12 hole 1: the clinic a settlement is made at is this clinic's stored settings, never what the visit
file says. A clerk's visit file that names another level, price class or designation (to be paid as a
designated city hospital for Wilson's disease, M01904) is refused; nothing is written."""

import json

VISIT_DAY = "2026-03-10"  # 晋医保发〔2024〕3号/4号 (M01904) are in force 2024-05-01 … 2026-04-30


def wilson_patient(clinic) -> str:
    psn = clinic.resident()
    clinic.sql("INSERT OR IGNORE INTO person_disease (psn_no, disease) VALUES (?, 'M01904')", (psn,))
    return psn


def wilson_visit(psn, **extra):
    return {"psn_no": psn, "date": VISIT_DAY, "benefit": "chronic_special", "disease": "M01904",
            "items": [{"code": "XJ01CAA040A001", "qty": "80"}], **extra}  # 80 × 12.50 = 1000.00


FORGED = {"code": "H14110200031", "admdvs": "141102", "level": "city", "price_class": 1,
          "designated_diseases": ["M01904"]}


def test_a_visit_file_cannot_make_the_clinic_a_designated_hospital(clinic):
    psn = wilson_patient(clinic)
    # as this clinic (基层, not designated for M01904) the fund pays nothing, and says why
    code, out, err = clinic.cs("settle", str(clinic.file(wilson_visit(psn))), "--dry-run", "--json")
    assert code == 0, err
    honest = json.loads(out)
    assert honest["hifp_pay"] == "0.00"
    assert "institution_not_designated" in {n["code"] for n in honest["notices"]}
    # the clerk's file says the clinic is a designated city hospital: refused, settle and dry run alike
    for extra in ((), ("--dry-run",)):
        code, out, _ = clinic.settle(wilson_visit(psn, institution=FORGED), *extra)
        err = json.loads(out)["error"]
        assert code == 2 and err["code"] == "invalid_input" and err["field"] == "institution", out
        assert "本机构" in err["message"]
    assert clinic.count("settlement") == 0 and clinic.count("audit_entry WHERE action='settle'") == 0


def test_each_forged_institution_field_is_refused(clinic):
    psn = wilson_patient(clinic)
    for forged in ({"level": "county"}, {"price_class": 1}, {"designated_diseases": ["M01904"]},
                   {"code": "H99999999999"}, {"admdvs": "140100"}, {"art_approved": True}, {"bogus": 1}, "city"):
        code, out, _ = clinic.settle(wilson_visit(psn, institution=forged))
        assert code == 2 and json.loads(out)["error"]["field"].startswith("institution"), (forged, out)
    assert clinic.count("settlement") == 0


def test_naming_this_clinic_as_it_is_settles_as_this_clinic(clinic):
    psn = wilson_patient(clinic)
    same = {"code": "H14110200031", "admdvs": "141102", "level": "primary", "price_class": 3}
    code, out, err = clinic.settle(wilson_visit(psn, institution=same))
    assert code == 0, err
    rec = json.loads(out)
    assert rec["result"]["hifp_pay"] == "0.00"
    assert rec["claim"]["institution"]["level"] == "primary"
    assert clinic.one("SELECT institution FROM settlement") == "H14110200031"
