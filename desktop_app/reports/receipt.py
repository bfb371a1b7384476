"""The settlement receipt (结算单): one layout, two renderers.

`layout(data, fmt)` turns a stored settlement into pages of drawing primitives
(text, lines, a QR code) in millimetres; `render_pdf` draws them with reportlab
(an invariant PDF: the same settlement gives the same bytes, years later), and
`desktop_app.reports.qtprint` draws the same primitives with QPainter for Qt's
print preview and printers. Figures come only from the stored breakdown —
a reprint never recomputes.

Formats: ``A5`` (148 × 210 mm sheet, pages as needed) and ``80mm`` (thermal
roll, 80 mm wide, one page as long as the content).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from desktop_app.core.model import CLASSES, CRITICAL_FUNDS_LABEL, MONEY_LABELS
from desktop_app.reports.fonts import FontChoice, register_fonts

FEE_ORDER = ("西药费", "中成药费", "中药饮片", "检查费", "化验费", "治疗费", "卫生材料费", "一般诊疗费", "挂号费",
             "诊查费", "其他费用")
FORMATS = {"A5": (148.0, 210.0, 8.0), "80mm": (80.0, None, 3.0)}
CLASS_SHORT = {"01": "甲", "02": "乙", "03": "丙"}


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline, mm from the top
    text: str
    size: float = 9.0
    bold: bool = False
    align: str = "left"  # left | right | center


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.3


@dataclass(frozen=True)
class QR:
    x: float
    y: float  # top
    size: float
    modules: tuple[tuple[bool, ...], ...]


@dataclass
class Page:
    width: float
    height: float
    items: list = field(default_factory=list)


@dataclass(frozen=True)
class ReceiptData:
    """Everything a receipt prints, from the stored settlement (SettlementRecord)."""

    setl_no: str
    kind: str
    created_at: str
    visit_date: str
    original_setl_no: str | None
    reason: str
    operator: str
    header: dict  # the frozen receipt snapshot
    lines: list[dict]  # stored items: name, chrgitm_lv, fee_category, qty, price, det_item_fee_sumamt
    result: dict  # stored result JSON

    @classmethod
    def from_record(cls, rec) -> ReceiptData:
        return cls(
            setl_no=rec.setl_no, kind=rec.kind, created_at=rec.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            visit_date=rec.visit_date.isoformat(), original_setl_no=rec.original_setl_no, reason=rec.reason,
            operator=rec.operator, header=rec.receipt, lines=rec.items, result=rec.result,
        )

    def digest(self) -> str:
        """A short digest of the figures, printed in the QR code with the settlement number."""
        r = self.result
        figures = {k: r[k] for k in sorted(r) if isinstance(r[k], str)}
        lines = [[x.get("code"), x.get("qty"), x.get("price"), x.get("det_item_fee_sumamt")] for x in self.lines]
        blob = json.dumps([self.setl_no, figures, lines], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def amount_in_words(value: str | Decimal) -> str:
    """金额大写: 10.01 → 壹拾元零壹分; 1 → 壹元整; negative amounts get 负."""
    import cn2an

    d = Decimal(str(value))
    words = cn2an.an2cn(str(abs(d).quantize(Decimal("0.01"))), "rmb")
    return ("负" if d < 0 else "") + words


def _qr_modules(data: str) -> tuple[tuple[bool, ...], ...]:
    from reportlab.graphics.barcode import qrencoder

    q = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    q.addData(data)
    q.make()
    n = q.getModuleCount()
    return tuple(tuple(bool(q.isDark(r, c)) for c in range(n)) for r in range(n))


def _w(text: str, size: float) -> float:
    """Approximate width in mm (CJK ≈ 1 em, others ≈ 0.55 em) for clipping long names."""
    em = size * 0.3528
    return sum(em if ord(ch) > 0x2E80 else em * 0.55 for ch in text)


def _clip(text: str, size: float, width: float) -> str:
    if _w(text, size) <= width:
        return text
    while text and _w(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _pct(ratio: str) -> str:
    return f"{Decimal(ratio) * 100:.0f}%"


class _Flow:
    """Places rows top to bottom, starting new pages on a fixed-height format."""

    def __init__(self, width: float, height: float | None, margin: float):
        self.w, self.h, self.m = width, height, margin
        self.pages: list[Page] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.pages.append(Page(self.w, self.h or 0.0))
        self.y = self.m

    @property
    def items(self) -> list:
        return self.pages[-1].items

    def need(self, mm: float) -> None:
        if self.h is not None and self.y + mm > self.h - self.m:
            self.new_page()
            self.items.append(Text(self.w - self.m, self.y + 3, f"（续）第 {len(self.pages)} 页", 7, align="right"))
            self.y += 5

    def text(self, x: float, s: str, size: float = 9, bold: bool = False, align: str = "left") -> None:
        self.items.append(Text(x, self.y + size * 0.3528, s, size, bold, align))

    def advance(self, mm: float) -> None:
        self.y += mm

    def rule(self, width: float = 0.3) -> None:
        self.items.append(Line(self.m, self.y, self.w - self.m, self.y, width))


def layout(data: ReceiptData, fmt: str = "A5") -> list[Page]:
    if fmt not in FORMATS:
        raise ValueError(f"结算单格式须为 {'/'.join(FORMATS)}")
    width, height, margin = FORMATS[fmt]
    narrow = fmt == "80mm"
    f = _Flow(width, height, margin)
    h, r = data.header, data.result
    left, right, mid = margin, width - margin, width / 2
    big, norm, small = (11, 7.5, 6.5) if narrow else (14, 9, 7.5)
    lh = norm * 0.3528 + (1.4 if narrow else 1.8)
    lhs = small * 0.3528 + (1.3 if narrow else 1.5)  # item rows and footnotes

    f.text(mid, _clip(h.get("clinic_name", ""), big, width - 2 * margin), big, True, "center")
    f.advance(big * 0.3528 + 2)
    title = "医疗保险结算单" + ("（冲正）" if data.kind == "reverse" else "")
    f.text(mid, title, norm + 2, True, "center")
    f.advance(lh + 2)
    f.text(left, f"结算单号：{data.setl_no}", small)
    if not narrow:
        f.text(right, f"结算时间：{data.created_at}", small, align="right")
    else:
        f.advance(lh)
        f.text(left, f"结算时间：{data.created_at}", small)
    f.advance(lh)
    if data.original_setl_no:
        f.text(left, f"原结算单号：{data.original_setl_no}　冲正原因：{_clip(data.reason, small, width * 0.55)}", small,
               True)
        f.advance(lh)
    f.rule()
    f.advance(1.5)

    person = [
        ("姓名", h.get("name", "")), ("性别", h.get("gender", "")), ("身份证号", h.get("id_masked", "")),
        ("医保编号", h.get("psn_no", "")), ("险种", h.get("insutype_label", "")),
        ("人员类别", h.get("category_label", "")),
        ("参保地", f"{h.get('admdvs', '')} {h.get('region', '')}".strip()), ("就诊日期", data.visit_date),
        ("待遇类别", h.get("benefit_label", "") + (f" {h.get('disease', '')}{h.get('disease_name', '')}"
                                                  if h.get("disease") else "")),
    ]
    cols = 1 if narrow else 2
    colw = (width - 2 * margin) / cols
    for i, (k, v) in enumerate(person):
        if i and i % cols == 0:
            f.advance(lh)
        f.text(left + (i % cols) * colw, _clip(f"{k}：{v}", norm, colw - 1), norm)
    f.advance(lh + 0.5)
    f.rule()
    f.advance(1.5)

    # items grouped by fee category, in the national receipt's order
    if narrow:
        cx = {"name": left, "cls": right - 40, "qty": right - 27, "price": right - 14, "amt": right}
    else:
        cx = {"name": left, "cls": right - 62, "qty": right - 44, "price": right - 22, "amt": right}
    f.text(cx["name"], "项目名称", small, True)
    f.text(cx["cls"], "类别", small, True, "center")
    f.text(cx["qty"], "数量", small, True, "right")
    f.text(cx["price"], "单价", small, True, "right")
    f.text(cx["amt"], "金额", small, True, "right")
    f.advance(lh)
    groups: dict[str, list[dict]] = {}
    for ln in data.lines:
        cat = ln.get("fee_category") or "其他费用"
        groups.setdefault(cat if cat in FEE_ORDER else "其他费用", []).append(ln)
    name_w = cx["cls"] - cx["name"] - 5
    for cat in FEE_ORDER:
        if cat not in groups:
            continue
        sub = sum(Decimal(x["det_item_fee_sumamt"]) for x in groups[cat])
        f.need(lhs * 2)
        f.text(left, f"【{cat}】", small, True)
        f.text(cx["amt"], f"{sub:.2f}", small, True, "right")
        f.advance(lhs)
        for ln in groups[cat]:
            f.need(lhs)
            f.text(cx["name"] + 2, _clip(ln.get("name") or ln["code"], small, name_w), small)
            f.text(cx["cls"], CLASS_SHORT.get(ln["chrgitm_lv"], ""), small, align="center")
            f.text(cx["qty"], _qty(ln["qty"]), small, align="right")
            f.text(cx["price"], _price(ln["price"]), small, align="right")
            f.text(cx["amt"], ln["det_item_fee_sumamt"], small, align="right")
            f.advance(lhs)
    f.need(lh * 3)
    f.rule()
    f.advance(1.5)
    total = r["medfee_sumamt"]
    f.text(left, f"合计（小写）：¥{total}", norm, True)
    if not narrow:
        f.text(right, f"合计（大写）：{amount_in_words(total)}", norm, True, "right")
    else:
        f.advance(lh)
        f.text(left, f"大写：{amount_in_words(total)}", norm, True)
    f.advance(lh + 1)

    split = [
        (f"{MONEY_LABELS['hifp_pay']}（{_pct(r['pool_prop_selfpay'])}）", r["hifp_pay"]),
        (CRITICAL_FUNDS_LABEL, f"{Decimal(r['hifmi_pay']) + Decimal(r['hifob_pay']):.2f}"),
        *((MONEY_LABELS[f], r[f]) for f in ("acct_pay", "acct_mulaid_pay", "psn_cash_pay", "fulamt_ownpay_amt",
                                            "overlmt_selfpay", "preselfpay_amt", "act_pay_dedc", "inscp_scp_amt")),
    ]
    cols = 1 if narrow else 2
    colw = (width - 2 * margin) / cols
    for i, (k, v) in enumerate(split):
        if i and i % cols == 0:
            f.advance(lh)
            f.need(lh)
        x0 = left + (i % cols) * colw
        bold = k.startswith((MONEY_LABELS["hifp_pay"], MONEY_LABELS["psn_cash_pay"]))
        f.text(x0, k, norm, bold)
        f.text(x0 + colw - 4, v, norm, bold, "right")
    f.advance(lh + 0.5)
    f.rule()
    f.advance(1.5)

    ytd = h.get("ytd")
    if ytd:
        s = f"{ytd['year']}年{h.get('benefit_label', '')}累计由统筹基金支付 {ytd['fund_paid']} 元"
        if ytd.get("annual_cap"):
            s += f"，年度限额 {ytd['annual_cap']} 元，剩余 {ytd['remaining']} 元"
        for part in _wrap(s, small, width - 2 * margin):
            f.need(lhs)
            f.text(left, part, small)
            f.advance(lhs)
    for n in r.get("notices", []):
        for part in _wrap("提示：" + n["message"], small, width - 2 * margin):
            f.need(lhs)
            f.text(left, part, small)
            f.advance(lhs)
    docs = sorted({t["basis"].split(" ")[0] for t in r.get("trace", []) if "〔" in t.get("basis", "")})
    if docs:
        for part in _wrap("政策依据：" + "、".join(docs), small, width - 2 * margin):
            f.need(lhs)
            f.text(left, part, small)
            f.advance(lhs)
    qr_size = 20.0
    f.need(qr_size + 4)
    f.advance(1)
    qr_top = f.y
    f.items.append(QR(right - qr_size, qr_top, qr_size, _qr_modules(f"{data.setl_no}|{data.digest()}")))
    f.text(left, f"收费员：{h.get('operator_name') or data.operator}", norm)
    f.advance(lh)
    f.text(left, f"校验码：{data.digest()}", small)
    f.advance(lh)
    f.text(left, "请妥善保管，遗失不补。", small)
    f.y = max(f.y, qr_top + qr_size) + margin
    if height is None:
        f.pages[-1].height = f.y
    return f.pages


def _qty(v: str) -> str:
    d = Decimal(v)
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def _price(v: str) -> str:
    """Unit prices with at least two decimals (drug unit prices may carry four)."""
    d = Decimal(v)
    return f"{d:.2f}" if d.as_tuple().exponent >= -2 else format(d.normalize(), "f")


def _wrap(text: str, size: float, width: float) -> list[str]:
    out, cur = [], ""
    for ch in text:
        if _w(cur + ch, size) > width:
            out.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def render_pdf(pages: list[Page], fonts: FontChoice | None = None) -> bytes:
    """Draw the pages with reportlab; invariant output (no timestamp, fixed document id)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    fonts = fonts or register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(pages[0].width * mm, pages[0].height * mm), invariant=1,
                      pageCompression=1)
    c.setTitle("医疗保险结算单")
    c.setAuthor("ClinicSettle")
    for page in pages:
        c.setPageSize((page.width * mm, page.height * mm))
        ph = page.height * mm
        for it in page.items:
            if isinstance(it, Text):
                c.setFont(fonts.bold if it.bold else fonts.regular, it.size)
                x, y = it.x * mm, ph - it.y * mm
                if it.align == "right":
                    c.drawRightString(x, y, it.text)
                elif it.align == "center":
                    c.drawCentredString(x, y, it.text)
                else:
                    c.drawString(x, y, it.text)
            elif isinstance(it, Line):
                c.setLineWidth(it.width)
                c.line(it.x1 * mm, ph - it.y1 * mm, it.x2 * mm, ph - it.y2 * mm)
            elif isinstance(it, QR):
                n = len(it.modules)
                cell = it.size * mm / n
                x0, top = it.x * mm, ph - it.y * mm
                c.setFillGray(0)
                for ri, row in enumerate(it.modules):
                    for ci, dark in enumerate(row):
                        if dark:
                            c.rect(x0 + ci * cell, top - (ri + 1) * cell, cell, cell, stroke=0, fill=1)
        c.showPage()
    c.save()
    return buf.getvalue()


def receipt_pdf(rec, fmt: str = "A5", fonts: FontChoice | None = None) -> bytes:
    return render_pdf(layout(ReceiptData.from_record(rec), fmt), fonts)


def save_receipt(rec, path: str | Path, fmt: str = "A5", font_path: str | None = None) -> Path:
    """Write the receipt PDF atomically. `font_path` is the font set in 设置 (else found on the machine)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(receipt_pdf(rec, fmt, register_fonts(font_path)))
    tmp.replace(path)
    return path


__all__ = [
    "CLASSES",
    "FORMATS",
    "QR",
    "Line",
    "Page",
    "ReceiptData",
    "Text",
    "amount_in_words",
    "layout",
    "receipt_pdf",
    "render_pdf",
    "save_receipt",
]
