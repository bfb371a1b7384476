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

from desktop_app.core.model import CLASSES, MONEY_LABELS
from desktop_app.reports.fonts import FontChoice, missing_glyphs, register_fonts, runs

# the contract's ten groups (西药费 … 其他费) and, for receipts of lines settled before them, the older names
FEE_ORDER = ("西药费", "中成药费", "中药饮片", "中药饮片费", "检查费", "化验费", "治疗费", "手术费", "卫生材料费", "一般诊疗费",
             "挂号费", "诊查费", "其他费", "其他费用")
FORMATS = {"A5": (148.0, 210.0, 8.0), "80mm": (80.0, None, 3.0)}
CLASS_SHORT = {"01": "甲", "02": "乙", "03": "丙"}
# the clinic's items not in the insurance catalogue (never mapped, or mapped to a code not in force): the
# window's 类别 says 自费 for them, and so does the receipt; its note says only what the patient needs (the
# clerk's instruction — where to map it — stays on the screen)
OWN_PAY_NOTICES = ("item_not_mapped", "item_mapping_expired")


def _own_pay_codes(data: ReceiptData) -> set[str]:
    return {n.get("item") for n in data.result.get("notices", []) if n.get("code") in OWN_PAY_NOTICES}


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
    reprint_at: str | None = None  # 补打: when the copy was printed (None: the receipt as issued)

    @classmethod
    def from_record(cls, rec, reprint_at: str | None = None) -> ReceiptData:
        return cls(
            setl_no=rec.setl_no, kind=rec.kind, created_at=rec.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            visit_date=rec.visit_date.isoformat(), original_setl_no=rec.original_setl_no, reason=rec.reason,
            operator=rec.operator, header=rec.receipt, lines=rec.items, result=rec.result, reprint_at=reprint_at,
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

    def __init__(self, width: float, height: float | None, margin: float, missing: str = ""):
        self.w, self.h, self.m = width, height, margin
        self.subst = str.maketrans({ch: "□" for ch in missing})  # characters no font on this machine has
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
        self.items.append(Text(x, self.y + size * 0.3528, s.translate(self.subst), size, bold, align))

    def para(self, s: str, size: float, lh: float, bold: bool = False) -> None:
        """A paragraph across the page, wrapped."""
        for part in _wrap(s, size, self.w - 2 * self.m):
            self.need(lh)
            self.text(self.m, part, size, bold)
            self.advance(lh)

    def advance(self, mm: float) -> None:
        self.y += mm

    def rule(self, width: float = 0.3) -> None:
        self.items.append(Line(self.m, self.y, self.w - self.m, self.y, width))


@dataclass(frozen=True)
class _Style:
    """Sizes of one format: font sizes (pt) and line heights (mm)."""

    narrow: bool
    big: float
    norm: float
    small: float
    lh: float
    lhs: float  # item rows and footnotes


def _style(fmt: str) -> _Style:
    narrow = fmt == "80mm"
    big, norm, small = (11, 7.5, 6.5) if narrow else (14, 9, 7.5)
    return _Style(narrow, big, norm, small, norm * 0.3528 + (1.4 if narrow else 1.8),
                  small * 0.3528 + (1.3 if narrow else 1.5))


def layout(data: ReceiptData, fmt: str = "A5", missing: str = "") -> list[Page]:
    """The receipt's pages. `missing`: characters no font on this machine has; they print as □ with a note
    (`receipt_pages` finds them)."""
    if fmt not in FORMATS:
        raise ValueError(f"结算单格式须为 {'/'.join(FORMATS)}")
    width, height, margin = FORMATS[fmt]
    f = _Flow(width, height, margin, missing)
    st = _style(fmt)
    _head(f, data, st)
    if data.header.get("self_pay"):  # 全自费: says 未使用医保, no fund or account lines (reports/receipt_selfpay.py)
        from desktop_app.reports import receipt_selfpay as own

        own.person(f, data, st)
        _items(f, data, st)
        own.totals(f, data, st)
    else:
        _person(f, data, st)
        _items(f, data, st)
        _totals(f, data, st)
    _footer(f, data, st, missing)
    if height is None:
        f.pages[-1].height = f.y
    return f.pages


def _head(f: _Flow, data: ReceiptData, st: _Style) -> None:
    h, left, right, mid = data.header, f.m, f.w - f.m, f.w / 2
    f.text(mid, _clip(h.get("clinic_name", ""), st.big, f.w - 2 * f.m), st.big, True, "center")
    f.advance(st.big * 0.3528 + 1.5)
    f.text(mid, f"定点机构编码：{h.get('clinic_code', '')}", st.small, align="center")
    f.advance(st.lhs + 0.5)
    title = ("门诊收费结算单（全自费）" if h.get("self_pay") else "医疗保险结算单") + ("（冲正）" if data.kind == "reverse" else "") + ("（补打）" if data.reprint_at else "")
    f.text(mid, title, st.norm + 2, True, "center")
    f.advance(st.lh + 2)
    f.text(left, f"结算单号：{data.setl_no}", st.small)
    if not st.narrow:
        f.text(right, f"结算时间：{data.created_at}", st.small, align="right")
    else:
        f.advance(st.lh)
        f.text(left, f"结算时间：{data.created_at}", st.small)
    f.advance(st.lh)
    if data.reprint_at:
        f.para(f"补打时间：{data.reprint_at}（本单为补打，原结算单 {data.created_at} 开具）", st.small, st.lh, True)
    if data.original_setl_no:
        f.text(left, f"原结算单号：{data.original_setl_no}　冲正原因：{_clip(data.reason, st.small, f.w * 0.55)}",
               st.small, True)
        f.advance(st.lh)
    f.rule()
    f.advance(1.5)


def _person(f: _Flow, data: ReceiptData, st: _Style) -> None:
    h = data.header
    person = [
        ("姓名", h.get("name", "")), ("性别", h.get("gender", "")), ("身份证号", h.get("id_masked", "")),
        ("医保编号", h.get("psn_no", "")), ("险种", h.get("insutype_label", "")),
        ("人员类别", h.get("category_label", "")),
        ("参保地", f"{h.get('admdvs', '')} {h.get('region', '')}".strip()), ("就诊日期", data.visit_date),
        ("待遇类别", h.get("benefit_label", "") + (f" {h.get('disease', '')}{h.get('disease_name', '')}"
                                                  if h.get("disease") else "")),
    ]
    cols = 1 if st.narrow else 2
    colw = (f.w - 2 * f.m) / cols
    for i, (k, v) in enumerate(person):
        if i and i % cols == 0:
            f.advance(st.lh)
        f.text(f.m + (i % cols) * colw, _clip(f"{k}：{v}", st.norm, colw - 1), st.norm)
    f.advance(st.lh)
    if h.get("diagnosis"):
        f.para(f"诊断：{h['diagnosis']}", st.norm, st.lh)
    f.advance(0.5)
    f.rule()
    f.advance(1.5)


def _item_columns(f: _Flow, narrow: bool) -> dict[str, float]:
    right = f.w - f.m
    if narrow:  # the unit goes with the quantity (2盒); 规格 after the name
        return {"name": f.m, "unit": None, "cls": right - 40, "qty": right - 27, "price": right - 14, "amt": right}
    return {"name": f.m, "unit": right - 84, "cls": right - 60, "qty": right - 44, "price": right - 22, "amt": right}


def _items(f: _Flow, data: ReceiptData, st: _Style) -> None:
    """Items grouped by fee category, in the national receipt's order, each group with its subtotal."""
    cx = _item_columns(f, st.narrow)
    units = data.header.get("item_units") or {}
    f.text(cx["name"], "项目名称" + ("（规格）" if st.narrow else ""), st.small, True)
    if cx["unit"] is not None:
        f.text(cx["unit"], "规格/单位", st.small, True)
    f.text(cx["cls"], "类别", st.small, True, "center")
    f.text(cx["qty"], "数量", st.small, True, "right")
    f.text(cx["price"], "单价", st.small, True, "right")
    f.text(cx["amt"], "金额", st.small, True, "right")
    f.advance(st.lh)
    groups: dict[str, list[dict]] = {}
    for ln in data.lines:
        cat = ln.get("fee_category") or "其他费用"
        groups.setdefault(cat if cat in FEE_ORDER else "其他费用", []).append(ln)
    name_w = (cx["unit"] if cx["unit"] is not None else cx["cls"] - 5) - cx["name"] - 3
    own = _own_pay_codes(data)
    for cat in FEE_ORDER:
        if cat not in groups:
            continue
        sub = sum(Decimal(x["det_item_fee_sumamt"]) for x in groups[cat])
        f.need(st.lhs * 2)
        f.text(f.m, f"【{cat}】", st.small, True)
        f.text(cx["amt"], f"{sub:.2f}", st.small, True, "right")
        f.advance(st.lhs)
        for ln in groups[cat]:
            _item_row(f, ln, units.get(ln["code"]) or {}, cx, name_w, st, ln["code"] in own)


def _item_row(f: _Flow, ln: dict, unit: dict, cx: dict, name_w: float, st: _Style, own_pay: bool = False) -> None:
    spec, u = unit.get("spec", ""), unit.get("unit", "")
    name = ln.get("name") or ln["code"]
    f.need(st.lhs)
    if cx["unit"] is not None:
        f.text(cx["name"] + 2, _clip(name, st.small, name_w), st.small)
        f.text(cx["unit"], _clip("/".join(x for x in (spec, u) if x), st.small, cx["cls"] - cx["unit"] - 4), st.small)
        qty = _qty(ln["qty"])
    else:
        f.text(cx["name"] + 2, _clip(name, st.small, name_w), st.small)
        qty = _qty(ln["qty"]) + u
    f.text(cx["cls"], "自费" if own_pay else CLASS_SHORT.get(ln["chrgitm_lv"], ""), st.small, align="center")
    f.text(cx["qty"], qty, st.small, align="right")
    f.text(cx["price"], _price(ln["price"]), st.small, align="right")
    f.text(cx["amt"], ln["det_item_fee_sumamt"], st.small, align="right")
    f.advance(st.lhs)
    if cx["unit"] is None and spec:  # 80 mm: the 规格 on a line of its own under the name
        f.need(st.lhs)
        f.text(cx["name"] + 4, _clip(f"规格：{spec}", st.small, f.w - 2 * f.m - 4), st.small)
        f.advance(st.lhs)


def _totals(f: _Flow, data: ReceiptData, st: _Style) -> None:
    r, left, right = data.result, f.m, f.w - f.m
    f.need(st.lh * 3)
    f.rule()
    f.advance(1.5)
    total = r["medfee_sumamt"]
    f.text(left, f"合计（小写）：¥{total}", st.norm, True)
    if not st.narrow:
        f.text(right, f"合计（大写）：{amount_in_words(total)}", st.norm, True, "right")
    else:
        f.advance(st.lh)
        f.text(left, f"大写：{amount_in_words(total)}", st.norm, True)
    f.advance(st.lh + 1)
    split = [
        (f"{MONEY_LABELS['hifp_pay']}（{_pct(r['pool_prop_selfpay'])}）", r["hifp_pay"]),
        *((MONEY_LABELS[f], r[f]) for f in ("hifmi_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")),
        *((MONEY_LABELS[f], r[f]) for f in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "act_pay_dedc",
                                            "inscp_scp_amt")),
    ]
    cols = 1 if st.narrow else 2
    colw = (f.w - 2 * f.m) / cols
    for i, (k, v) in enumerate(split):
        if i and i % cols == 0:
            f.advance(st.lh)
            f.need(st.lh)
        x0 = left + (i % cols) * colw
        bold = k.startswith((MONEY_LABELS["hifp_pay"], MONEY_LABELS["psn_cash_pay"]))
        f.text(x0, k, st.norm, bold)
        f.text(x0 + colw - 4, v, st.norm, bold, "right")
    f.advance(st.lh + 0.5)
    f.need(st.lh)
    f.text(left, f"个人现金（大写）：{amount_in_words(r['psn_cash_pay'])}", st.norm, True)
    f.advance(st.lh + 0.5)
    f.rule()
    f.advance(1.5)


def _footer(f: _Flow, data: ReceiptData, st: _Style, missing: str) -> None:
    h, r = data.header, data.result
    ytd = h.get("ytd")
    if ytd:
        s = f"{ytd['year']}年{h.get('benefit_label', '')}累计由统筹基金支付 {ytd['fund_paid']} 元"
        if ytd.get("annual_cap"):
            s += f"，年度限额 {ytd['annual_cap']} 元，剩余 {ytd['remaining']} 元"
        f.para(s, st.small, st.lhs)
    names = {ln["code"]: ln.get("name") or ln["code"] for ln in data.lines}
    for n in r.get("notices", []):
        if n.get("code") == "self_pay":
            continue  # (said in the 全自费 receipt's own banner)
        if n.get("code") in OWN_PAY_NOTICES:
            f.para(f"提示：{names.get(n.get('item'), n.get('item'))} 未纳入医保，按全自费结算", st.small, st.lhs)
            continue
        f.para("提示：" + n["message"], st.small, st.lhs)
    said = {n.get("item") for n in r.get("notices", []) if n.get("reason") == "indication_not_confirmed"}
    for u in h.get("unconfirmed", []):  # frozen at settlement: lines whose 限定支付范围 the clerk did not confirm
        if u["code"] not in said:
            f.para(f"提示：{u['code']} {u['name']} 的限定支付范围（适应症）结算时未确认。", st.small, st.lhs)
    docs = sorted({t["basis"].split(" ")[0] for t in r.get("trace", []) if "〔" in t.get("basis", "")})
    if docs:
        f.para("政策依据：" + "、".join(docs), st.small, st.lhs)
    if missing:
        f.para("注：本机没有能打印" + "、".join(f"“{c}”（U+{ord(c):04X}）" for c in missing)
               + "的字体，以□代替，请以身份证件为准手写补正。", st.small, st.lhs, True)
    qr_size = 20.0
    f.need(qr_size + 4)
    f.advance(1)
    qr_top = f.y
    right = f.w - f.m
    f.items.append(QR(right - qr_size, qr_top, qr_size, _qr_modules(f"{data.setl_no}|{data.digest()}")))
    f.text(f.m, f"收费员：{h.get('operator_name') or data.operator}", st.norm)
    f.advance(st.lh + 1.5)
    f.text(f.m, "患者（家属）签字：______________", st.norm)
    f.advance(st.lh)
    f.text(f.m, f"校验码：{data.digest()}", st.small)
    f.advance(st.lh)
    f.text(f.m, f"补打于 {data.reprint_at}" if data.reprint_at else "请妥善保管。", st.small)
    f.y = max(f.y, qr_top + qr_size) + f.m


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
                _draw_text(c, it, it.x * mm, ph - it.y * mm, fonts)
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


def _draw_text(c, it: Text, x: float, y: float, fonts: FontChoice) -> None:
    """One text item; a character the main font lacks is drawn from a fallback font (rare CJK: 𠮷, 䶮)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    main = fonts.bold if it.bold else fonts.regular
    pieces = [(main if name == fonts.regular else name, piece) for name, piece in runs(it.text, fonts)]
    if len(pieces) <= 1:  # the everyday case, drawn exactly as it always was (same bytes)
        c.setFont(main, it.size)
        draw = {"right": c.drawRightString, "center": c.drawCentredString}.get(it.align, c.drawString)
        draw(x, y, pieces[0][1] if pieces else it.text)
        return
    width = sum(stringWidth(piece, name, it.size) for name, piece in pieces)
    t = c.beginText(x - {"left": 0.0, "right": width, "center": width / 2}[it.align], y)
    for name, piece in pieces:  # one text object: a reader keeps the name in one piece (𠮷野家)
        t.setFont(name, it.size)
        t.textOut(piece)
    c.drawText(t)


def receipt_pages(data: ReceiptData, fmt: str = "A5", fonts: FontChoice | None = None) -> list[Page]:
    """The layout, with any character no font on this machine has printed as □ and named in a note."""
    fonts = fonts or register_fonts()
    pages = layout(data, fmt)
    text = "".join(it.text for page in pages for it in page.items if isinstance(it, Text))
    missing = missing_glyphs(text, fonts)
    return layout(data, fmt, missing) if missing else pages


def receipt_pdf(rec, fmt: str = "A5", fonts: FontChoice | None = None, reprint_at: str | None = None) -> bytes:
    fonts = fonts or register_fonts()
    return render_pdf(receipt_pages(ReceiptData.from_record(rec, reprint_at), fmt, fonts), fonts)


def save_receipt(rec, path: str | Path, fmt: str = "A5", font_path: str | None = None) -> Path:
    """Write the receipt PDF atomically. `font_path` is the font set in 设置 (else found on the machine)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(receipt_pdf(rec, fmt, register_fonts(font_path)))
    tmp.replace(path)
    return path


def save_reprint(rec, folder: str | Path, fmt: str = "A5", font_path: str | None = None,
                 at: str | None = None) -> tuple[Path, list[Page]]:
    """补打: the stored settlement as a copy marked 补打 with the time (`at`, default now), written to
    `folder/<结算单号>_补打_<time>.pdf`; returns the file and the pages (for the print preview)."""
    from datetime import datetime

    at = at or datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    fonts = register_fonts(font_path)
    pages = receipt_pages(ReceiptData.from_record(rec, reprint_at=at), fmt, fonts)
    stamp = "".join(ch for ch in at if ch.isdigit())
    path = Path(folder) / f"{rec.setl_no}_补打_{stamp}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(render_pdf(pages, fonts))
    tmp.replace(path)
    return path, pages


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
    "receipt_pages",
    "receipt_pdf",
    "render_pdf",
    "save_receipt",
    "save_reprint",
]
