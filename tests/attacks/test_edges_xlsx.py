"""Issue #12 item 12: text a user typed (a reversal reason, the clinic's name, a roster cell) never becomes a
live formula in a workbook we write — 日结单 (all its sheets), 月报, 结算明细, the reconciliation export and the
roster's error report. Made through the command line as the clerk and the supervisor would, then every cell
of every sheet opened with openpyxl: the only formulas are our own =SUM() totals."""

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.cli_run import cs

EVIL = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0"]
CLINIC = '=HYPERLINK("http://evil.example/","点我")'
OUR_SUM = re.compile(r"^=SUM\([A-Z]+\d+:[A-Z]+\d+\)$")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xlsx")
    db = str(tmp / "clinic.sqlite3")
    assert cs("demo", "--db", db, "--persons", "20", user=None)[0] == 0
    code, out, _ = cs("lookup", "14110200", "--db", db, "--json")
    psn = next(h["psn_no"] for h in json.loads(out)["hits"] if h["insutype"] == "390" and h["admdvs"] == "141102")
    visit = tmp / "visit.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient", "date": date.today().isoformat(),
                                 "items": [{"code": "110200005", "qty": "1"}]}), encoding="utf-8")
    for reason in EVIL:
        code, out, err = cs("settle", str(visit), "--db", db, "--json")
        assert code == 0, err
        code, _, err = cs("reverse", json.loads(out)["setl_no"], f"--reason={reason}", "--db", db)
        assert code == 0, err
    # the clinic's name as a supervisor might have typed it (written straight into the file here)
    con = sqlite3.connect(db)
    con.execute("INSERT OR REPLACE INTO setting(key, value) VALUES ('clinic_name', ?)", (CLINIC,))
    con.commit()
    con.close()
    today = date.today()
    files = []
    for args, out in [(("day",), tmp / "day.xlsx"), (("month",), tmp / "month.xlsx"),
                      (("detail", "--from", today.isoformat(), "--to", today.isoformat()), tmp / "detail.xlsx")]:
        code, _, err = cs("report", *args, "--out", str(out), "--db", db)
        assert code == 0, err
        files.append(out)
    code, out, err = cs("export", "--from", today.isoformat(), "--to", today.isoformat(), "--out", str(tmp / "exp"),
                        "--db", db, "--json")
    assert code == 0, err
    files += [Path(f) for f in json.loads(out)["files"] if f.endswith(".xlsx")]
    # a roster whose cells are text that looks like formulas: the error report repeats them
    roster = tmp / "roster.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["人员编号", "身份证号", "姓名", "性别", "出生日期", "险种类型", "人员类别", "参保地区划", "截至日期"])
    ws.append(["=2+3", "110101199003070000", "=1+2", "男", "1990-03-07", "390", "城乡居民", "141102", "2026-11-20"])
    for c in ws[2]:
        c.data_type = "s"  # text in the cell, as a clerk's spreadsheet would hold it
    wb.save(roster)
    code, out, err = cs("import-roster", str(roster), "--db", db, "--json", user="admin")
    assert code == 0, err
    files.append(Path(json.loads(out)["report_path"]))
    return files


def _cells(path):
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                yield ws.title, c


def test_every_sheet_is_checked(made):
    sheets = {(p.name, ws.title) for p in made for ws in load_workbook(p).worksheets}
    titles = {t for _, t in sheets}
    assert {"日结单", "支付来源", "冲正", "明细", "按险种待遇", "按日", "按基金", "结算明细", "对账明细",
            "错误行"} <= titles, sheets


def test_no_cell_from_user_text_is_a_formula(made):
    for path in made:
        for sheet, c in _cells(path):
            if c.data_type == "f":
                assert OUR_SUM.match(str(c.value)), (path.name, sheet, c.coordinate, c.value)


def test_the_text_is_kept_as_typed(made):
    texts = {str(c.value) for p in made for _, c in _cells(p) if c.data_type == "s"}
    for reason in EVIL:
        assert reason in texts, reason
    assert any(t.startswith(CLINIC) for t in texts)
