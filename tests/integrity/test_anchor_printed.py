"""#12.7: every 日结单 and every export manifest carries the audit anchor of the moment it was made."""

import io
import json
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from desktop_app.reports import export
from desktop_app.services import audit, reporting
from tests.integrity.helpers import DAY1, DAY2, two_days


def test_day_report_pdf_and_xlsx_print_the_anchor(db, tmp_path):
    two_days(db)
    a = str(audit.anchor(db))
    pdf = reporting.day_report_pdf(db, DAY1, tmp_path / "day.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "审计锚点" in text and a.split()[1] in text.replace(" ", "").replace("\n", "")
    wb = load_workbook(reporting.day_report_xlsx(db, DAY1, tmp_path / "day.xlsx"))
    assert a in wb["日结单"]["A1"].value


def test_export_manifest_carries_the_anchor_and_verifies_against_it(db, tmp_path):
    two_days(db)
    res = reporting.export(db, DAY1, DAY2, tmp_path / "out")
    man = json.loads(Path(res.manifest).read_text(encoding="utf-8"))
    assert man["audit_anchor"] == str(audit.anchor(db))
    assert export.verify(res.manifest) == []
    r = audit.verify(db, anchor=Path(res.manifest).read_text(encoding="utf-8"), actor="admin")
    assert r.ok and not r.notices
