"""日结单 as PDF (A4 landscape), from the same rows as the xlsx."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from desktop_app.core.model import MONEY_SHORT, benefit_label, insutype_label
from desktop_app.reports.fonts import register_fonts
from desktop_app.reports.xlsx import CloseStamp, Row

COLS = ("medfee_sumamt", "fulamt_ownpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "acct_pay",
        "acct_mulaid_pay", "psn_cash_pay")


def day_report_pdf(path: Path, rows: list[Row], clinic_name: str, clinic_code: str, day: date,
                   closed: CloseStamp | None, anchor: str = "") -> Path:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    font = register_fonts().regular
    title = ParagraphStyle("t", fontName=font, fontSize=15, leading=20)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=12)
    state = f"已日结 {closed.closed_at:%Y-%m-%d %H:%M} 操作员 {closed.operator}" if closed else "未日结"
    story = [Paragraph(f"{clinic_name} 日结单", title),
             Paragraph(f"机构编码 {clinic_code}　营业日 {day}　{state}　结算 "
                       f"{sum(1 for r in rows if r.kind == 'settle')} 笔，冲正 "
                       f"{sum(1 for r in rows if r.kind == 'reverse')} 笔", body), Spacer(1, 4 * mm)]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((insutype_label(r.insutype), benefit_label(r.benefit)), []).append(r)
    data = [["险种", "待遇类别", "笔数", *[MONEY_SHORT[c] for c in COLS]]]
    for k in sorted(groups):
        g = groups[k]
        data.append([k[0], k[1], str(len(g)), *[f"{sum((x.amounts[c] for x in g), Decimal('0.00')):,.2f}" for c in COLS]])
    data.append(["合计", "", str(len(rows)), *[f"{sum((x.amounts[c] for x in rows), Decimal('0.00')):,.2f}" for c in COLS]])
    t = Table(data, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT"), ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")),
    ]))
    story += [t, Spacer(1, 5 * mm)]
    revs = [r for r in rows if r.kind == "reverse"]
    if revs:
        story.append(Paragraph("冲正记录", body))
        # a reason runs up to 200 characters: it (and a long name) wraps inside its column — CJK wrapping breaks
        # between any two characters, so an unbroken string wraps too
        cell = ParagraphStyle("c", fontName=font, fontSize=8.5, leading=10.5, wordWrap="CJK")
        rd = [["冲正单号", "原结算单号", "姓名", "医疗费", "统筹基金", "原因", "操作员"]]
        for r in revs:
            rd.append([r.setl_no, r.original, Paragraph(escape(r.name), cell), f"{r.amounts['medfee_sumamt']:,.2f}",
                       f"{r.amounts['hifp_pay']:,.2f}", Paragraph(escape(r.reason), cell),
                       Paragraph(escape(r.operator), cell)])
        widths = [46 * mm, 46 * mm, 26 * mm, 20 * mm, 20 * mm, 91 * mm, 20 * mm]  # 269 of the 273 mm line
        rt = Table(rd, colWidths=widths, repeatRows=1)
        rt.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                ("ALIGN", (3, 1), (4, -1), "RIGHT"),
                                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7"))]))
        story.append(rt)
    story += [Spacer(1, 8 * mm), Paragraph("收费员签字：＿＿＿＿＿＿　　复核：＿＿＿＿＿＿　　日期：＿＿＿＿＿＿", body)]
    if anchor:
        story.append(Paragraph(f"审计锚点 {anchor}（请随日结单保存；日后用 clinic-settle audit verify --anchor "
                               f"\"{anchor}\" 核对审计记录此后未被改写）", body))
    return _build(Path(path), story)


def _build(path: Path, story: list) -> Path:
    """Written whole to a temporary file, then renamed: never a cut-off 日结单."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title="日结单", author="ClinicSettle",
                            invariant=1)
    doc.build(story)
    tmp.replace(path)
    return path
