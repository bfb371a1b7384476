"""Excel reports equal the database's sums to the fen; the export is identical twice and its manifest
matches its files; the report/export/receipt commands work from the command line."""

import hashlib
import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.reports import export, xlsx
from desktop_app.services import days, ledger, ledger_types, reporting
from desktop_app.store import models as m
from tests.cli_run import cs

ROOT = Path(__file__).resolve().parents[2]
D1, D2 = date(2026, 11, 20), date(2026, 11, 23)


@pytest.fixture
def busy(db):
    """Settlements over two days with odd amounts, one reversal, the first day closed."""
    rng = random.Random(3)
    with db.read() as s:
        people = s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                           .order_by(m.Person.psn_no).limit(8)).scalars().all()
    recs = []
    for day in (D1, D2):
        for psn in people:
            items = [ledger_types.ItemInput("XJ01DCA030A001", str(rng.randint(1, 3))),
                     ledger_types.ItemInput("Z", "1", price=f"{rng.randint(1, 9999) / 100:.2f}", kind="drug",
                                      chrgitm_lv=rng.choice(["01", "02", "03"]), name="散装药")]
            recs.append(ledger.settle(db, ledger_types.VisitInput(psn, day, "general_outpatient", items), operator="clerk",
                                      today=day))
    ledger.reverse(db, recs[2].setl_no, reason="录入错误", operator="clerk", today=D1)
    days.day_close(db, operator="admin", day=D1)
    return db


def db_sums(db, start, end):
    with db.read() as s:
        return {f: s.execute(select(func.sum(getattr(m.Settlement, f))).where(
            m.Settlement.business_date >= start, m.Settlement.business_date <= end)).scalar() for f in MONEY_FIELDS}


def test_detail_and_day_xlsx_equal_database_sums(busy, tmp_path):
    p = reporting.detail_xlsx(busy, D1, D2, tmp_path / "detail.xlsx")
    assert xlsx.read_totals(p, "结算明细") == db_sums(busy, D1, D2)
    dw = load_workbook(p)["结算明细"]
    assert dw.freeze_panes == "B3" and dw["O3"].number_format == "#,##0.00" and dw["A2"].font.b
    assert dw.cell(row=dw.max_row, column=1).value == "合计"
    assert dw.cell(row=dw.max_row, column=15).value == f"=SUM(O3:O{dw.max_row - 1})"
    assert dw.page_setup.orientation == "landscape" and dw.print_title_rows == "$2:$2"
    assert reporting.detail_xlsx(busy, D1, D2, tmp_path / "again.xlsx").read_bytes() == p.read_bytes()
    d = reporting.day_report_xlsx(busy, D1, tmp_path / "day.xlsx")
    assert xlsx.read_totals(d, "日结单") == db_sums(busy, D1, D1)
    wb = load_workbook(d)
    assert wb.sheetnames == ["日结单", "支付来源", "冲正", "明细"]
    ws = wb["日结单"]
    assert "已日结" in ws["A1"].value and ws.freeze_panes == "C3"
    assert ws.cell(row=3, column=4).number_format == "#,##0.00"
    assert ws.cell(row=ws.max_row, column=1).value == "合计"
    assert str(ws.cell(row=ws.max_row, column=4).value).startswith("=SUM(")
    assert ws.page_setup.orientation == "landscape"
    assert [r[0] for r in wb["冲正"].iter_rows(min_row=3, values_only=True)][0].endswith("-0009")


def test_month_report(busy, tmp_path):
    p = reporting.month_report_xlsx(busy, 2026, 11, tmp_path / "m.xlsx")
    assert xlsx.read_totals(p, "按险种待遇") == db_sums(busy, date(2026, 11, 1), date(2026, 11, 30))
    assert xlsx.read_totals(p, "按日") == db_sums(busy, date(2026, 11, 1), date(2026, 11, 30))
    src = {r[0]: Decimal(str(r[1])) for r in load_workbook(p)["按基金"].iter_rows(min_row=3, values_only=True)
           if r[0] != "合计"}
    assert src["统筹基金"] == db_sums(busy, date(2026, 11, 1), date(2026, 11, 30))["hifp_pay"]


def test_export_identical_twice_and_manifest_matches(busy, tmp_path):
    a = reporting.export(busy, D1, D2, tmp_path / "a")
    b = reporting.export(busy, D1, D2, tmp_path / "b")
    for fa, fb in zip(sorted(Path(a.folder).iterdir()), sorted(Path(b.folder).iterdir()), strict=True):
        assert fa.name == fb.name and fa.read_bytes() == fb.read_bytes(), fa.name
    assert export.verify(a.manifest) == []
    man = json.loads(Path(a.manifest).read_text(encoding="utf-8"))
    assert man["count"] == {"settle": 16, "reverse": 1, "rows": 17}
    for f in man["files"]:
        assert hashlib.sha256((Path(a.folder) / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    sums = db_sums(busy, D1, D2)
    assert {k: Decimal(v) for k, v in man["sums"].items()} == sums
    rows = [json.loads(x) for x in Path(a.files[0]).read_text(encoding="utf-8").splitlines()]
    assert [r["setl_no"] for r in rows] == sorted(r["setl_no"] for r in rows)
    rev = [r for r in rows if r["kind"] == "reverse"][0]
    assert rev["original_setl_no"] and rev["reason"] == "录入错误"
    assert rows[0]["packs"][0]["id"] == "cn-140000-shanxi" and len(rows[0]["packs"][0]["content_hash"]) == 64
    # tampering is detected
    text = Path(a.files[0]).read_text(encoding="utf-8")
    first = rows[0]["medfee_sumamt"]
    Path(a.files[0]).write_text(text.replace(f'"medfee_sumamt": "{first}"', '"medfee_sumamt": "0.01"', 1),
                                encoding="utf-8")
    problems = export.verify(a.manifest)
    assert any("SHA-256" in p for p in problems) and any("medfee_sumamt" in p for p in problems)


def test_day_pdf_has_totals(busy, tmp_path):
    import io

    from pypdf import PdfReader

    p = reporting.day_report_pdf(busy, D1, tmp_path / "day.pdf")
    txt = PdfReader(io.BytesIO(p.read_bytes())).pages[0].extract_text().replace(" ", "")
    total = db_sums(busy, D1, D1)["medfee_sumamt"]
    assert f"{total:,.2f}" in txt and "日结单" in txt and "录入错误" in txt


def test_cli_report_export_receipt(busy, tmp_path):
    db = str(busy.path)
    code, out, _ = cs("report", "day", "--date", D1.isoformat(), "--db", db, "--out", str(tmp_path / "d.xlsx"))
    assert code == 0 and (tmp_path / "d.xlsx").exists()
    code, out, _ = cs("report", "detail", "--from", "2026-11-01", "--to", "2026-11-30", "--db", db, "--out",
                      str(tmp_path / "x.xlsx"))
    assert code == 0
    code, out, _ = cs("report", "month", "--month", "2026-11", "--db", db, "--out", str(tmp_path / "m.xlsx"))
    assert code == 0
    code, out, _ = cs("export", "--from", "2026-11-20", "--to", "2026-11-23", "--out", str(tmp_path / "e"), "--db", db,
                      "--json")
    assert code == 0 and json.loads(out)["settlements"] == 16
    code, out, err = cs("export", "--from", "2026-11-23", "--to", "2026-11-20", "--db", db)
    assert code == 2 and "早于" in err
    code, out, err = cs("report", "day", "--date", "2026-13-01", "--db", db)
    assert code == 2 and "无效" in err
    with busy.read() as s:
        no = s.execute(select(m.Settlement.setl_no).limit(1)).scalar()
    code, out, _ = cs("receipt", no, "--db", db, "--out", str(tmp_path / "r.pdf"))
    assert code == 0 and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    code, _, err = cs("receipt", "NOPE", "--db", db)
    assert code == 1 and "找不到" in err


def test_month_summary_and_export_from_one_read_are_the_files_of_the_two_commands(busy, tmp_path, monkeypatch):
    """`report month --export DIR` (one read of the month) writes byte for byte what `report month` and `export`
    of the month write; the name is the one the receipt printed (read from its JSON by SQLite, or parsed in
    Python on another database), not the roster's name of today."""
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    with busy.read() as s:
        psn = s.execute(select(m.Settlement.psn_no).order_by(m.Settlement.setl_no).limit(1)).scalar()
        name = s.get(m.Person, psn).name
    with busy.write() as s:
        s.get(m.Person, psn).name = "改名后"
    db = str(busy.path)
    code, out, err = cs("report", "month", "--month", "2026-11", "--export", str(tmp_path / "one"), "--db", db,
                        "--out", str(tmp_path / "one.xlsx"), "--json")
    assert code == 0, err
    assert json.loads(out)["export"]["settlements"] == 16
    apart = reporting.export(busy, start, end, tmp_path / "apart")
    reporting.month_report_xlsx(busy, 2026, 11, tmp_path / "apart.xlsx")
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "apart.xlsx").read_bytes()
    one = sorted((tmp_path / "one").iterdir())
    assert [f.name for f in one] == [f.name for f in sorted(Path(apart.folder).iterdir())]
    for f in one:
        assert f.read_bytes() == (Path(apart.folder) / f.name).read_bytes(), f.name
    rows = reporting.rows_between(busy, start, end)
    assert name in {r.name for r in rows if r.psn_no == psn} and "改名后" not in {r.name for r in rows}
    monkeypatch.setattr(reporting, "json_member", lambda *a: None)  # PostgreSQL's path: parse the receipt
    assert reporting.rows_between(busy, start, end) == rows
