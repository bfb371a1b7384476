"""Receipts a county auditor accepts (#13.9) and rare characters (#12.13): 定点机构编码, 规格/单位 per line,
诊断, 个人现金 in capitals, 患者签字, 补打 with its time; every figure read back under its own label; a name with
a CJK Ext-B character prints it (or says loudly that it cannot)."""

import io
import re

import pytest
from pypdf import PdfReader

from desktop_app.reports import fonts as fonts_mod
from desktop_app.reports.receipt import ReceiptData, amount_in_words, layout, render_pdf

RESULT = {
    "medfee_sumamt": "321.00", "fulamt_ownpay_amt": "11.00", "overlmt_selfpay": "2.20", "preselfpay_amt": "3.30",
    "inscp_scp_amt": "304.50", "act_pay_dedc": "50.00", "hifp_pay": "101.01", "pool_prop_selfpay": "0.55",
    "hifmi_pay": "0.00", "hifob_pay": "88.88", "acct_pay": "12.34", "acct_mulaid_pay": "5.67",
    "psn_cash_pay": "113.10", "notices": [], "trace": [], "items": [],
}
LINES = [
    {"seq": 1, "code": "XJ01CAA040A001", "name": "阿莫西林胶囊", "chrgitm_lv": "01", "fee_category": "西药费",
     "qty": "2", "price": "12.50", "det_item_fee_sumamt": "25.00"},
    {"seq": 2, "code": "XJ01DCA030A001", "name": "头孢呋辛酯片", "chrgitm_lv": "02", "fee_category": "西药费",
     "qty": "1", "price": "23.80", "det_item_fee_sumamt": "23.80"},
    {"seq": 3, "code": "250101015", "name": "血常规(五分类)", "chrgitm_lv": "01", "fee_category": "化验费",
     "qty": "1", "price": "20.00", "det_item_fee_sumamt": "20.00"},
    {"seq": 4, "code": "HC0003", "name": "医用棉签", "chrgitm_lv": "03", "fee_category": "卫生材料费",
     "qty": "168", "price": "1.50", "det_item_fee_sumamt": "252.20"},
]
HEADER = {
    "clinic_name": "吕梁市离石区信义镇卫生院", "clinic_code": "H14110200031", "name": "王大锤", "gender": "男",
    "id_masked": "1423**********1234", "psn_no": "14110200000009", "insutype_label": "职工基本医疗保险",
    "category_label": "在职", "admdvs": "141102", "region": "离石区", "benefit_label": "普通门诊统筹",
    "disease": "", "disease_name": "", "operator_name": "收费员小王", "ytd": None,
    "diagnosis": "J06.900 急性上呼吸道感染",
    "item_units": {"XJ01CAA040A001": {"spec": "0.25g×24粒", "unit": "盒"}, "XJ01DCA030A001": {"spec": "", "unit": "盒"},
                   "250101015": {"spec": "", "unit": "次"}, "HC0003": {"spec": "", "unit": "包"}},
}


def receipt(**kw) -> ReceiptData:
    args = {"setl_no": "H14110200031-20261123-0001", "kind": "settle", "created_at": "2026-11-23 10:15:00",
            "visit_date": "2026-11-23", "original_setl_no": None, "reason": "", "operator": "clerk",
            "header": HEADER, "lines": LINES, "result": RESULT}
    return ReceiptData(**{**args, **kw})


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def value_after(txt: str, label: str) -> str:
    """The first amount printed after `label` (labels and values are read back as a person reads them)."""
    m = re.search(re.escape(label) + r"(?:（[^）\n]*）)?[：:\s]*(-?\d+\.\d{2})", txt)
    assert m, f"{label} not on the receipt"
    return m.group(1)


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_every_figure_reads_back_under_its_own_label(fmt):
    txt = text_of(render_pdf(layout(receipt(), fmt))).replace(" ", "")
    assert value_after(txt, "统筹基金支付") == "101.01"
    assert value_after(txt, "职工大额补助") == "88.88"
    assert value_after(txt, "居民大病保险") == "0.00"
    assert value_after(txt, "个人账户支付") == "12.34"
    assert value_after(txt, "家庭共济支付") == "5.67"
    assert value_after(txt, "个人现金支付") == "113.10"
    assert value_after(txt, "全自费") == "11.00"
    assert value_after(txt, "超限价自费") == "2.20"
    assert value_after(txt, "乙类先行自付") == "3.30"
    assert value_after(txt, "起付线") == "50.00"
    assert value_after(txt, "政策范围内") == "304.50"
    # each category's subtotal is its own sum, never the grand total
    assert value_after(txt, "【西药费】") == "48.80"
    assert value_after(txt, "【化验费】") == "20.00"
    assert value_after(txt, "【卫生材料费】") == "252.20"


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_auditor_fields(fmt):
    txt = text_of(render_pdf(layout(receipt(), fmt))).replace(" ", "")
    assert re.search(r"定点机构编码：H14110200031", txt)
    assert "诊断：J06.900急性上呼吸道感染" in txt
    assert "个人现金（大写）：" + amount_in_words("113.10") in txt
    assert "患者（家属）签字" in txt
    assert "0.25g×24粒" in txt and "盒" in txt and "包" in txt
    assert "遗失不补" not in txt and "补打" not in txt


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_a_reprint_with_a_rare_name_stays_inside_the_page(fmt):
    from desktop_app.reports.receipt import Text, _w

    for page in layout(receipt(reprint_at="2026-11-25 09:30:00", header={**HEADER, "name": "𠮷野家"}), fmt):
        for it in page.items:
            if isinstance(it, Text):
                w = _w(it.text, it.size)
                x0 = {"left": it.x, "right": it.x - w, "center": it.x - w / 2}[it.align]
                assert -0.01 <= x0 and x0 + w <= page.width + 0.01, it


def test_no_diagnosis_no_line():
    header = {k: v for k, v in HEADER.items() if k not in ("diagnosis", "item_units")}  # an older settlement
    txt = text_of(render_pdf(layout(receipt(header=header), "A5"))).replace(" ", "")
    assert "诊断" not in txt and "定点机构编码" in txt


def test_the_same_input_gives_the_same_bytes_and_a_reprint_is_marked():
    first = render_pdf(layout(receipt(), "A5"))
    assert render_pdf(layout(receipt(), "A5")) == first
    again = render_pdf(layout(receipt(reprint_at="2026-11-25 09:30:00"), "A5"))
    assert again != first
    txt = text_of(again).replace(" ", "")
    assert "补打" in txt and "2026-11-2509:30:00" in txt
    assert render_pdf(layout(receipt(reprint_at="2026-11-25 09:30:00"), "A5")) == again


RARE = "𠮷野家"


def test_a_rare_character_prints_when_a_font_has_it():
    fonts_mod._CACHE.clear()
    choice = fonts_mod.register_fonts()
    if fonts_mod.missing_glyphs("𠮷䶮", choice):
        pytest.skip("no font with CJK Ext-A/Ext-B on this machine (Debian: fonts-hanazono, installed by .ci/run)")
    data = receipt(header={**HEADER, "name": RARE + "䶮"})
    txt = text_of(render_pdf(layout(data, "A5", missing=""), choice))
    assert RARE in txt and "䶮" in txt and "□" not in txt


def test_a_character_no_font_has_is_marked_and_explained(monkeypatch):
    monkeypatch.setattr(fonts_mod, "FALLBACK_CANDIDATES", ())
    monkeypatch.setattr(fonts_mod, "_CACHE", {})
    choice = fonts_mod.register_fonts()
    assert fonts_mod.missing_glyphs(RARE, choice) == "𠮷"
    from desktop_app.reports.receipt import receipt_pages

    pages = receipt_pages(receipt(header={**HEADER, "name": RARE}), "A5", choice)
    txt = text_of(render_pdf(pages, choice)).replace(" ", "")
    assert "□野家" in txt and "U+20BB7" in txt and "□" in txt
