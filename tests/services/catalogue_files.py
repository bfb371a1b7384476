"""Writing catalogue and price-list files the way a clinic's Excel or a province's export would (#15)."""

from __future__ import annotations

import csv
from pathlib import Path

CAT_HEADER = ["医保目录编码", "医保目录名称", "目录类别", "收费项目等级", "支付标准", "限定支付范围", "医保区划", "开始日期",
              "结束日期"]
PRICE_HEADER = ["机构项目编码", "机构项目名称", "规格", "单位", "单价", "收费类别", "医保目录编码", "开始日期"]


def write_csv(path: Path, header: list, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with Path(path).open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return Path(path)


def write_xlsx(path: Path, header: list, rows: list[list], *, formulas: dict[str, str] | None = None) -> Path:
    """An .xlsx as Excel would hold it: numbers stay numbers (the code trap), `formulas` are real formula
    cells (e.g. {"E3": "=2*11"})."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    for ref, f in (formulas or {}).items():
        ws[ref] = f
    wb.save(path)
    return Path(path)
