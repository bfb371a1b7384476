"""Writes the old-format (.xls, BIFF8) rosters beside this file from docs/samples/ — run once, by hand:

    python3 -m venv /tmp/xlvenv && /tmp/xlvenv/bin/pip install xlwt==1.3.0
    /tmp/xlvenv/bin/python tests/attacks/data/make_xls.py

xlwt is needed only here (not by the program or the tests); the .xls files are committed.
- roster_sample.xls: docs/samples/roster_sample.csv (sheet 花名册) and usage_sample.csv (sheet 待遇累计), every
  cell as text, as a clerk's old Excel would hold them;
- roster_bad.xls: two rows — an ID number stored as a number (Excel shows 1.41E+17 and has lost the last digits)
  and a name that looks like a formula (text "=1+2").
"""

import csv
from pathlib import Path

import xlwt

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parents[2] / "docs" / "samples"


def rows(name):
    with (SAMPLES / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def sheet(wb, title, data):
    ws = wb.add_sheet(title)
    for r, row in enumerate(data):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    return ws


wb = xlwt.Workbook(encoding="utf-8")
sheet(wb, "花名册", rows("roster_sample.csv"))
sheet(wb, "待遇累计", rows("usage_sample.csv"))
wb.save(str(HERE / "roster_sample.xls"))

head, first, second = rows("roster_sample.csv")[:3]
first[head.index("身份证号")] = float(first[head.index("身份证号")])  # a number, as Excel makes of it
second[head.index("姓名")] = "=1+2"  # text that looks like a formula
wb = xlwt.Workbook(encoding="utf-8")
sheet(wb, "花名册", [head, first, second])
wb.save(str(HERE / "roster_bad.xls"))
