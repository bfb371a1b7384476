"""`clinic-settle receipt` is a reprint (补打, with its time) unless `--as-issued`; a visit file may carry 诊断."""

import io
import json

from pypdf import PdfReader

from tests.cli.test_db_cli import demo_db  # noqa: F401  (the module's demo database fixture)
from tests.cli_run import cs


def text(path) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).replace(" ", "")


def test_receipt_is_a_marked_reprint_unless_as_issued(demo_db, tmp_path):  # noqa: F811
    import sqlite3

    con = sqlite3.connect(demo_db)
    psn = con.execute("SELECT psn_no FROM person WHERE admdvs='141102' AND insutype='390' ORDER BY psn_no").fetchone()[0]
    con.close()
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "diagnosis": "J06.900 急性上呼吸道感染",
                                 "items": [{"code": "110200005", "qty": "1"}]}, ensure_ascii=False), encoding="utf-8")
    code, out, err = cs("settle", str(visit), "--db", str(demo_db), "--json")
    assert code == 0, err
    setl_no = json.loads(out)["setl_no"]
    code, out, err = cs("receipt", setl_no, "--db", str(demo_db), "--out", str(tmp_path / "copy.pdf"), "--json")
    assert code == 0, err
    assert json.loads(out)["reprint_at"]
    copy = text(tmp_path / "copy.pdf")
    assert "（补打）" in copy and "补打时间" in copy and "诊断：J06.900急性上呼吸道感染" in copy
    code, _out, err = cs("receipt", setl_no, "--db", str(demo_db), "--as-issued", "--out", str(tmp_path / "a.pdf"))
    assert code == 0, err
    cs("receipt", setl_no, "--db", str(demo_db), "--as-issued", "--out", str(tmp_path / "b.pdf"))
    assert "补打" not in text(tmp_path / "a.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "diagnosis": "感冒",
                               "items": [{"code": "110200005", "qty": "1"}]}, ensure_ascii=False), encoding="utf-8")
    code, out, err = cs("settle", str(bad), "--db", str(demo_db), "--json", "--dry-run")
    assert code == 2 and "diagnosis" in out + err


def test_receipt_and_reports_go_beside_the_database_by_default(demo_db, tmp_path):  # noqa: F811
    """The cold CLI try: without --out they landed in whatever folder the command ran from."""
    import sqlite3
    from pathlib import Path

    con = sqlite3.connect(demo_db)
    psn = con.execute("SELECT psn_no FROM person WHERE admdvs='141102' AND insutype='390' ORDER BY psn_no").fetchone()[0]
    con.close()
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient",
                                 "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    code, out, err = cs("settle", str(visit), "--db", str(demo_db), "--json")
    assert code == 0, err
    setl_no = json.loads(out)["setl_no"]
    code, out, err = cs("receipt", setl_no, "--db", str(demo_db), "--json")
    assert code == 0, err
    assert Path(json.loads(out)["pdf"]) == Path(demo_db).parent / "receipts" / f"{setl_no}_A5.pdf"
    code, out, err = cs("report", "month", "--db", str(demo_db), "--json")
    assert code == 0, err
    assert Path(json.loads(out)["file"]).parent == Path(demo_db).parent / "reports"
