"""The county centre end to end, as it runs: two offline clinics (SQLite) settle the same person and each stays
under the cap by its own history; their real exports (`clinic-settle export`) go to the county database on
PostgreSQL (`clinic-settle county ingest`), with a duplicate, an overlapping, a tampered and a conflicting
export; the month report equals the clinics' own figures; `county overruns` finds the person; `county usage`
writes the 待遇累计 file, and importing it at the clinic closes the loop — the clinic then pays nothing more."""

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.services import days, ledger, ledger_types, lookup, reporting, roster, settings
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.cli_run import cs
from tests.conftest import TODAY

B_CODE = "H14110200099"
EARLIER = date(2026, 11, 20)
NEXT = date(2026, 11, 24)


def visit(psn, on=TODAY):
    return ledger_types.VisitInput(psn, on, "general_outpatient", [
        ledger_types.ItemInput("X1", "1", price="110.00", kind="service", chrgitm_lv="01")])


def fresh_resident(db):
    used = select(m.UsageSnapshot.psn_no)
    with db.read() as s:
        return list(s.execute(select(m.Person.psn_no).where(
            m.Person.insutype == "390", m.Person.admdvs == "141102", m.Person.category == "resident",
            m.Person.psn_no.not_in(used)).order_by(m.Person.psn_no).limit(2)).scalars())


def export(db, start, end, out):
    reporting.export(db, start, end, out)
    return out


def county(*args, url, user="admin"):
    code, out, err = cs("county", *args, "--db", url, "--json", user=user)
    return code, (json.loads(out) if out.strip() else None), err


def settlements(url):
    d = open_db(url)
    with d.read() as s:
        n = s.execute(select(func.count()).select_from(m.CountySettlement)).scalar()
    d.dispose()
    return n


@pytest.fixture
def clinics(template_db, tmp_path):
    """Clinic A (H14110200031) and clinic B (H14110200099), copies of the demo clinic: the same roster."""
    dbs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(template_db, path)
        dbs.append(open_db(path))
    settings.save(dbs[1], {"clinic_code": B_CODE, "clinic_name": "演示乙卫生室"}, actor="admin")
    yield dbs
    for d in dbs:
        d.dispose()


def test_two_clinics_exports_to_overruns_to_usage_and_back(clinics, pg_cluster, pg_template, tmp_path):
    a, b = clinics
    url = pg_cluster.create_db("county1", template=pg_template)  # the county: the same roster and packs
    p, q = fresh_resident(a)
    first = ledger.settle(a, visit(q, EARLIER), operator="clerk", today=EARLIER)  # reversed later, in another export
    for _ in range(3):  # each clinic: 3 × 66 = 198 of the 300 cap — within it by its own history
        ledger.settle(a, visit(p), operator="clerk", today=TODAY)
        ledger.settle(b, visit(p), operator="clerk", today=TODAY)
    rev = ledger.reverse(a, first.setl_no, reason="退费", operator="clerk", today=TODAY)
    exp_a_today = export(a, TODAY, TODAY, tmp_path / "a_today")
    exp_a_earlier = export(a, EARLIER, EARLIER, tmp_path / "a_earlier")
    exp_a_month = export(a, date(2026, 11, 1), TODAY, tmp_path / "a_month")  # overlaps both
    days.day_close(b, operator="admin", day=TODAY, today=TODAY)  # B's day closed: its export covers it
    exp_b = export(b, TODAY, TODAY, tmp_path / "b_today")

    # the reversal arrives before its original: linked once the original comes
    code, res, err = county("ingest", str(exp_a_today), str(exp_b), url=url)
    assert code == 0, err
    assert [(e["status"], e["added"], e["linked"]) for e in res["exports"]] == [("ingested", 4, 0), ("ingested", 3, 0)]
    code, res, _ = county("ingest", str(exp_a_earlier), url=url)
    assert code == 0 and res["exports"][0]["linked"] == 1
    d = open_db(url)
    with d.read() as s:
        C = m.CountySettlement
        orig_id = s.execute(select(C.original_id).where(C.setl_no == rev.setl_no)).scalar_one()
        assert s.execute(select(C.setl_no).where(C.id == orig_id)).scalar_one() == first.setl_no
    d.dispose()
    code, res, _ = county("ingest", str(exp_a_today), url=url)  # the same export again: nothing changes
    assert code == 0 and res["exports"][0]["status"] == "duplicate" and settlements(url) == 8
    code, res, _ = county("ingest", str(exp_a_month), url=url)  # overlapping: each settlement once
    assert code == 0 and (res["exports"][0]["added"], res["exports"][0]["already"]) == (0, 5)
    assert settlements(url) == 8

    tampered = shutil.copytree(exp_b, tmp_path / "tampered")
    jl = next(tampered.glob("*.jsonl"))
    jl.write_text(jl.read_text(encoding="utf-8").replace('"hifp_pay": "66.00"', '"hifp_pay": "6.00"', 1),
                  encoding="utf-8")
    code, res, _ = county("ingest", str(tampered), url=url)
    assert code == 1 and res["exports"][0]["status"] == "refused" and "SHA-256" in res["exports"][0]["problems"][0]

    # a conflicting export: consistent in itself (hashes and sums redone) but number 0001 says something else
    conflict = shutil.copytree(exp_b, tmp_path / "conflict")
    _rewrite(conflict, lambda o: o | {"psn_cash_pay": str(Decimal(o["psn_cash_pay"]) + 1),
                                      "medfee_sumamt": str(Decimal(o["medfee_sumamt"]) + 1)})
    code, res, _ = county("ingest", str(conflict), url=url)
    assert code == 1 and "同号异内容" in res["exports"][0]["problems"][0] and settlements(url) == 8

    # the month report: each clinic's totals are its own monthly figures
    code, rep, _ = county("report", "--month", "2026-11", "--out", str(tmp_path / "月报.xlsx"), url=url)
    assert code == 0 and Path(rep["out"]).stat().st_size > 0
    for clinic_db, code_ in ((a, "H14110200031"), (b, B_CODE)):
        own = reporting.rows_between(clinic_db, date(2026, 11, 1), date(2026, 11, 30))
        tot = rep["totals"][code_]
        assert (tot["settlements"], tot["reversals"]) == (sum(r.kind == "settle" for r in own),
                                                          sum(r.kind == "reverse" for r in own))
        for f in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay"):
            assert Decimal(tot["sums"][f]) == sum((r.amounts[f] for r in own), Decimal("0.00")), f

    # overruns: 6 × 66 = 396 over both clinics, against the 300 cap
    code, ov, _ = county("overruns", "--year", "2026", url=url)
    assert code == 0
    hits = [o for o in ov["overruns"] if o["psn_no"] == p]
    assert [(o["scope"], o["paid"], o["cap"], o["over"]) for o in hits] == [("年度", "396.00", "300.00", "96.00")]
    assert len(hits[0]["settlements"]) == 6 and {x["clinic"] for x in hits[0]["settlements"]} == {"H14110200031", B_CODE}
    assert not any(o["psn_no"] == q for o in ov["overruns"])  # q's only settlement was reversed

    # usage back to clinic B, imported there as a roster: B now knows the 396
    assert _outpatient(b, p).annual_remaining == Decimal("102.00")
    out = tmp_path / "待遇累计.xlsx"
    code, us, err = county("usage", "--clinic", B_CODE, "--as-of", TODAY.isoformat(), "--out", str(out), url=url)
    assert code == 0 and us["stale"] == "", err
    imp = roster.import_roster(b, out, actor="admin", today=TODAY)
    assert imp.rejected == 0 and imp.usage_rejected == 0, imp.errors[:3]
    usage = _outpatient(b, p)
    assert (usage.fund_paid, usage.annual_remaining) == (Decimal("396.00"), Decimal("0.00"))
    after = ledger.settle(b, visit(p, NEXT), operator="clerk", today=NEXT)
    assert after.result["hifp_pay"] == "0.00"
    # and clinic A's own 198 is not counted twice there: A, importing the same figures, also sees 396
    imp = roster.import_roster(a, out, actor="admin", today=TODAY)
    assert _outpatient(a, p).fund_paid == Decimal("396.00")
    pg_cluster.drop_db("county1")


def _outpatient(db, psn):
    return next(u for u in lookup.summary(db, psn, on=TODAY).benefits if u.benefit == "general_outpatient")


def _rewrite(folder: Path, change) -> None:
    """Change the first line and redo the manifest's sums and hashes, as a clinic program with a bug might."""
    import hashlib

    jl = next(folder.glob("*.jsonl"))
    lines = [json.loads(x) for x in jl.read_text(encoding="utf-8").splitlines() if x]
    lines[0] = change(lines[0])
    jl.write_text("".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in lines), encoding="utf-8")
    mpath = next(folder.glob("manifest_*.json"))
    man = json.loads(mpath.read_text(encoding="utf-8"))
    man["sums"] = {f: str(sum((Decimal(o[f]) for o in lines), Decimal("0.00"))) for f in MONEY_FIELDS}
    for f in man["files"]:
        data = (folder / f["name"]).read_bytes()
        f["sha256"], f["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    mpath.write_text(json.dumps(man, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def test_a_malformed_line_refuses_the_whole_export_and_nothing_changes(clinics, pg_url, tmp_path):
    from desktop_app.services import demo

    a, _b = clinics
    county_db = open_db(pg_url)
    demo.create_demo(county_db, persons=10, today=TODAY)
    p, q = fresh_resident(a)
    for psn in (p, q):
        ledger.settle(a, visit(psn), operator="clerk", today=TODAY)
    bad = export(a, TODAY, TODAY, tmp_path / "bad")
    # a clinic program with a bug: an amount with one decimal (manifest hashes and sums redone to match)
    _rewrite(bad, lambda o: o | {"hifp_pay": "66.5"})
    code, res, _ = county("ingest", str(bad), url=pg_url)
    problems = res["exports"][0]["problems"]
    assert code == 1 and res["exports"][0]["status"] == "refused" and "第 1 行" in problems[0] and "两位小数" in problems[0]
    assert settlements(pg_url) == 0
    code, res, _ = county("ingest", str(export(a, TODAY, TODAY, tmp_path / "good")), url=pg_url)
    assert code == 0 and res["exports"][0]["added"] == 2
    county_db.dispose()


def test_an_export_of_a_day_still_open_does_not_let_usage_hide_later_settlements(clinics, pg_cluster, pg_template,
                                                                                 tmp_path):
    """As the county IT person did: clinic B exports today while the day is open, the centre ingests it and asks
    for the 待遇累计 as of today — refused (a settlement made after the export would be hidden and paid twice).
    Once B has closed the day (日结) and exported again, the same usage is made. An export --to tomorrow is refused."""
    from datetime import timedelta

    _a, b = clinics
    url = pg_cluster.create_db("county_open", template=pg_template)
    today = date.today()
    p, _q = fresh_resident(b)
    ledger.settle(b, visit(p, today), operator="clerk", today=today)
    bdb = ["--db", str(tmp_path / "b.sqlite3")]
    code, _out, err = cs("export", "--from", today.isoformat(), "--to", (today + timedelta(days=1)).isoformat(),
                         "--out", str(tmp_path / "future"), *bdb)
    assert code == 2 and "--to" in err and not (tmp_path / "future").exists(), err
    code, _out, err = cs("export", "--from", today.isoformat(), "--to", today.isoformat(),
                         "--out", str(tmp_path / "open"), *bdb)
    assert code == 0, err
    man = json.loads(next((tmp_path / "open").glob("manifest_*.json")).read_text(encoding="utf-8"))
    assert man["day_close"] == {"closed": [], "covered_to": None}
    code, _res, err = county("ingest", str(tmp_path / "open"), url=url)
    assert code == 0, err
    ledger.settle(b, visit(p, today), operator="clerk", today=today)  # after the export, the same day
    out = tmp_path / "待遇累计.xlsx"
    code, us, err = county("usage", "--clinic", B_CODE, "--as-of", today.isoformat(), "--out", str(out), url=url)
    said = json.dumps(us, ensure_ascii=False) + err
    assert code != 0 and "日结" in said and "--as-of" in said and not out.exists(), said

    code, _out, err = cs("day-close", "--out", str(tmp_path / "reports"), *bdb, user="admin")
    assert code == 0, err
    code, _out, err = cs("export", "--from", today.isoformat(), "--to", today.isoformat(),
                         "--out", str(tmp_path / "closed"), *bdb)
    assert code == 0, err
    man = json.loads(next((tmp_path / "closed").glob("manifest_*.json")).read_text(encoding="utf-8"))
    assert man["day_close"] == {"closed": [today.isoformat()], "covered_to": today.isoformat()}
    code, res, err = county("ingest", str(tmp_path / "closed"), url=url)
    assert code == 0 and res["exports"][0]["added"] == 1, err
    code, us, err = county("usage", "--clinic", B_CODE, "--as-of", today.isoformat(), "--out", str(out), url=url)
    assert code == 0 and us["stale"] == "" and out.exists(), err
    imp = roster.import_roster(b, out, actor="admin", today=today)
    assert imp.rejected == 0
    assert next(u for u in lookup.summary(b, p, on=today).benefits
                if u.benefit == "general_outpatient").fund_paid == Decimal("132.00")  # both settlements, once each
    pg_cluster.drop_db("county_open")


def test_a_manifest_without_day_close_covers_up_to_the_day_before_it_was_made():
    from desktop_app.reports.export import covered_to

    old = {"period": {"from": "2026-11-01", "to": "2026-11-30"}}
    assert covered_to(old, date(2026, 11, 30)) == date(2026, 11, 29)
    assert covered_to(old, date(2026, 12, 5)) == date(2026, 11, 30)
    assert covered_to(old, date(2026, 11, 1)) is None
    new = old | {"day_close": {"closed": ["2026-11-01", "2026-11-03"], "covered_to": "2026-11-01"}}
    assert covered_to(new, date(2026, 12, 5)) == date(2026, 11, 1)


@pytest.fixture
def walk_in_ingested(clinics, pg_cluster, pg_template, tmp_path):
    """Clinic A settled an insured person and a 全自费 walk-in (psn_no null) on TODAY; its export is ingested."""
    from desktop_app.services import selfpay

    a, _b = clinics
    url = pg_cluster.create_db("county_walkin", template=pg_template)
    p, _q = fresh_resident(a)
    ledger.settle(a, visit(p), operator="clerk", today=TODAY)
    walk = selfpay.SelfPayInput(TODAY, [ledger_types.ItemInput("110200005", "1")], walk_in=selfpay.WalkIn("王小明"))
    selfpay.settle(a, walk, operator="clerk", today=TODAY)
    code, _res, err = county("ingest", str(export(a, TODAY, TODAY, tmp_path / "walkin")), url=url)
    assert code == 0, err
    yield url
    pg_cluster.drop_db("county_walkin")


def test_overruns_leave_out_walk_ins(walk_in_ingested):
    """A 全自费 walk-in has no fund and no roster row: not part of the overruns at all (was listed as
    “不在县里的花名册中… None”)."""
    code, out, err = cs("county", "overruns", "--year", str(TODAY.year), "--db", walk_in_ingested, user="admin")
    assert code == 0, err
    assert "None" not in out and "不在县里的花名册中" not in out, out
    code, out, _ = cs("county", "overruns", "--year", str(TODAY.year), "--db", walk_in_ingested, "--json",
                      user="admin")
    assert json.loads(out)["not_in_roster"] == []


def test_a_walk_in_is_stored_without_a_person_number(walk_in_ingested):
    """The export's psn_no null is stored empty at the county, never as the text "None"."""
    import psycopg

    with psycopg.connect(walk_in_ingested.replace("postgresql+psycopg", "postgresql")) as con:
        rows = con.execute("SELECT psn_no FROM county_settlement WHERE benefit = 'self_pay'").fetchall()
    assert rows == [("",)]


def test_month_report_names_the_self_pay_benefit_by_its_label(walk_in_ingested, tmp_path):
    from openpyxl import load_workbook

    out_x = tmp_path / "月报.xlsx"
    code, out, err = cs("county", "report", "--month", TODAY.strftime("%Y-%m"), "--out", str(out_x),
                        "--db", walk_in_ingested, user="admin")
    assert code == 0, err
    assert "全自费（未使用医保）" in out and "self_pay" not in out, out
    cells = [c for row in load_workbook(out_x).active.iter_rows(values_only=True) for c in row]
    assert "全自费（未使用医保）" in cells and "self_pay" not in cells


def test_usage_refuses_an_out_that_is_not_xlsx(walk_in_ingested, tmp_path):
    """`county usage --out u.csv` wrote an xlsx under a .csv name: refused, naming --out, nothing written."""
    out = tmp_path / "u.csv"
    code, _out, err = cs("county", "usage", "--clinic", "H14110200031", "--as-of", TODAY.isoformat(),
                         "--out", str(out), "--db", walk_in_ingested, user="admin")
    assert code == 2 and "--out" in err and ".xlsx" in err and not out.exists(), err


def test_ingest_takes_options_before_the_folder(clinics, pg_cluster, pg_template, tmp_path):
    """`county ingest --db X DIR` and `county ingest --json DIR` failed “无法识别的参数”."""
    a, _b = clinics
    url = pg_cluster.create_db("county_opts", template=pg_template)
    p, q = fresh_resident(a)
    ledger.settle(a, visit(p), operator="clerk", today=TODAY)
    ledger.settle(a, visit(q, EARLIER), operator="clerk", today=EARLIER)
    one, two = export(a, TODAY, TODAY, tmp_path / "one"), export(a, EARLIER, EARLIER, tmp_path / "two")
    code, out, err = cs("county", "ingest", "--db", url, str(one), user="admin")
    assert code == 0 and "新增 1 笔" in out, err
    code, out, err = cs("county", "ingest", "--json", str(two), "--db", url, user="admin")
    assert code == 0 and json.loads(out)["exports"][0]["added"] == 1, err
    code, _out, err = cs("county", "ingest", "--db", url, "--bogus", str(one), user="admin")
    assert code == 2 and "无法识别的参数" in err and "--bogus" in err, err
    pg_cluster.drop_db("county_opts")
