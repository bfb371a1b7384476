"""Receipt PDF: the text carries the right name, masked ID, every amount and the capitals; both layouts
stay inside the page; a reprint is identical; a missing CJK font falls back without error."""

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from desktop_app.reports import fonts as fonts_mod
from desktop_app.reports.receipt import (
    QR,
    Line,
    ReceiptData,
    Text,
    _w,
    amount_in_words,
    layout,
    receipt_pdf,
)
from desktop_app.services import ledger, ledger_types
from desktop_app.store import models as m

TODAY = date(2026, 11, 23)
ITEMS = [("XJ01CAA040A001", "2"), ("XJ01DCA030A001", "1"), ("ZA01AAA020A001", "1"), ("250101015", "1"),
         ("110200005", "1"), ("HC0003", "2")]


@pytest.mark.parametrize(("value", "words"), [("10.01", "壹拾元零壹分"), ("1001.11", "壹仟零壹元壹角壹分"),
                                              ("1", "壹元整"), ("-58.80", "负伍拾捌元捌角")])
def test_amount_in_words(value, words):
    assert amount_in_words(value) == words


@pytest.fixture
def settled(db):
    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                      .order_by(m.Person.psn_no)).scalars().first()
    rec = ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient",
                                              [ledger_types.ItemInput(c, q) for c, q in ITEMS]),
                        operator="clerk", today=TODAY)
    return db, p, rec


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_receipt_text_has_name_masked_id_amounts_and_capitals(settled, fmt):
    db, p, rec = settled
    txt = text_of(receipt_pdf(rec, fmt)).replace(" ", "")
    assert p.name in txt
    masked = p.id_no[:4] + "*" * 10 + p.id_no[-4:]
    assert masked in txt and p.id_no not in txt
    r = rec.result
    for f in ("medfee_sumamt", "hifp_pay", "psn_cash_pay", "fulamt_ownpay_amt", "overlmt_selfpay",
              "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "acct_pay", "acct_mulaid_pay"):
        assert r[f] in txt, f
    for it in rec.items:
        assert it["det_item_fee_sumamt"] in txt
    assert amount_in_words(r["medfee_sumamt"]) in txt
    assert rec.setl_no in txt and "晋医保发〔2023〕16号" in txt and "60%" in txt
    assert "西药费" in txt and "化验费" in txt and "卫生材料费" in txt


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_layout_stays_inside_the_page(settled, fmt):
    _db, _p, rec = settled
    pages = layout(ReceiptData.from_record(rec), fmt)
    for page in pages:
        assert page.height > 0
        for it in page.items:
            if isinstance(it, Text):
                w = _w(it.text, it.size)
                x0 = {"left": it.x, "right": it.x - w, "center": it.x - w / 2}[it.align]
                assert -0.01 <= x0 and x0 + w <= page.width + 0.01, it
                assert 0 < it.y <= page.height, it
            elif isinstance(it, Line):
                assert 0 <= min(it.x1, it.x2) and max(it.x1, it.x2) <= page.width
                assert 0 <= it.y1 <= page.height
            elif isinstance(it, QR):
                assert it.x + it.size <= page.width and it.y + it.size <= page.height


def test_many_items_flow_onto_more_a5_pages(db):
    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102")).scalars().first()
    items = [ledger_types.ItemInput(f"Y{i:03d}", "1", price="1.00", kind="drug", chrgitm_lv="01", name=f"药品{i}")
             for i in range(60)]
    rec = ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", items), operator="clerk",
                        today=TODAY)
    pdf = receipt_pdf(rec, "A5")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    assert "第 2 页" in reader.pages[1].extract_text()
    assert "60.00" in text_of(pdf)


def test_reprint_is_identical_and_uses_stored_figures(settled):
    db, p, rec = settled
    first = receipt_pdf(rec, "A5")
    # the roster changes and the policy would compute differently: the reprint does not care
    with db.write() as s:
        s.get(m.Person, p.psn_no).name = "改了名字"
    again = receipt_pdf(ledger.get(db, rec.setl_no), "A5")
    assert again == first
    assert "改了名字" not in text_of(again)


def test_reversal_prints_as_reversal_with_original_number(settled):
    db, _p, rec = settled
    rv = ledger.reverse(db, rec.setl_no, reason="退费", operator="clerk", today=TODAY)
    txt = text_of(receipt_pdf(rv, "A5")).replace(" ", "")
    assert "冲正" in txt and rec.setl_no in txt and rv.setl_no in txt
    assert "-" + rec.result["medfee_sumamt"] in txt and "负" in txt


def test_missing_cjk_font_falls_back(settled, monkeypatch):
    _db, _p, rec = settled
    monkeypatch.setattr(fonts_mod, "CANDIDATES", ())
    monkeypatch.setattr(fonts_mod, "_CACHE", {})
    monkeypatch.delenv("CLINIC_SETTLE_FONT", raising=False)
    choice = fonts_mod.register_fonts()
    assert choice.path is None and choice.regular == "STSong-Light"
    pdf = receipt_pdf(rec, "A5", fonts=choice)
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    assert Decimal(rec.result["medfee_sumamt"]) > 0


def test_configured_font_path_that_is_not_a_font_is_skipped(tmp_path, monkeypatch):
    bad = tmp_path / "x.ttf"
    bad.write_bytes(b"not a font")
    monkeypatch.setattr(fonts_mod, "_CACHE", {})
    monkeypatch.setattr(fonts_mod, "CANDIDATES", ())
    assert fonts_mod.register_fonts(str(bad)).regular == "STSong-Light"


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_a_line_settled_without_its_indication_confirmed_is_said_on_the_receipt(db, fmt):
    """#14: 311201063 (限定支付范围) settled unconfirmed — the receipt says so; confirmed, it does not."""
    from desktop_app.services import settings

    settings.save(db, {"clinic_art_approved": "true"}, actor="admin")
    with db.read() as s:
        psns = s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                         .order_by(m.Person.psn_no)).scalars().all()

    def biopsy(psn, confirmed):
        item = ledger_types.ItemInput("311201063", "1", price="800.00", kind="service", chrgitm_lv="02",
                                      name="组织、细胞活检(辅助生殖)", indication_confirmed=confirmed)
        return ledger.settle(db, ledger_types.VisitInput(psn, TODAY, "assisted_reproduction", [item]),
                             operator="clerk", today=TODAY)

    no = text_of(receipt_pdf(biopsy(psns[0], False), fmt)).replace(" ", "").replace("\n", "")
    yes = text_of(receipt_pdf(biopsy(psns[1], True), fmt)).replace(" ", "").replace("\n", "")
    # a 提示 names the line: the receipt's own, or the engine's notice for it (calc round 2) — never both
    said = [t for t in no.split("提示：")[1:] if "311201063" in t]
    assert len(said) == 1 and "确认" in said[0], no
    assert not [t for t in yes.split("提示：")[1:] if "311201063" in t], yes
