"""日结单 PDF: long reversal reasons (up to 200 characters, Chinese or an unbroken string) stay on the page."""

import subprocess
from datetime import date, datetime
from decimal import Decimal
from shutil import which

import pytest

from desktop_app.core.model import MONEY_FIELDS
from desktop_app.reports.daypdf import day_report_pdf
from desktop_app.reports.xlsx import Row

DAY = date(2026, 11, 23)
LONG_CN = "患者家属来电称药品过敏需要退费，经核实处方与收费明细一致，" * 7  # 203 characters
LONG_ASCII = "REFUND-" + "X" * 190


def row(n: int, kind: str, reason: str, name: str = "张三") -> Row:
    amounts = {f: Decimal("0.00") for f in MONEY_FIELDS} | {"medfee_sumamt": Decimal("-46.20"),
                                                          "hifp_pay": Decimal("-26.59")}
    return Row(setl_no=f"H14110200031-20261123-{n:04d}", kind=kind, original="H14110200031-20261123-0001",
               created_at=datetime(2026, 11, 23, 9, n), business_date=DAY, visit_date=DAY, psn_no="P1", name=name,
               insutype="390", benefit="general_outpatient", disease="", institution="H14110200031",
               operator="clerk", reason=reason, amounts=amounts, packs="")


@pytest.mark.skipif(which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_long_reversal_reasons_wrap_inside_the_page(tmp_path):
    import re

    rows = [row(2, "reverse", LONG_CN[:200]), row(3, "reverse", LONG_ASCII, name="欧阳" + "长" * 30)]
    pdf = day_report_pdf(tmp_path / "day.pdf", rows, "测试卫生院", "H14110200031", DAY, None)
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    width = max(float(w) for w in re.findall(r'<page width="([\d.]+)"', html))
    words = [(float(x1), float(x2), t) for x1, x2, t in
             re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)]
    assert words
    outside = [(t, x2) for x1, x2, t in words if x1 < 0 or x2 > width - 20]  # within the right margin too
    assert outside == []
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert LONG_CN[:200] in flat and LONG_ASCII in flat  # every character printed, none cut off
