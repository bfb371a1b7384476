"""The 全自费 receipt (issue #13 item 5), read back from the PDF: it says 未使用医保, carries the name, the masked
ID number, every line and the cash, and no line that claims insurance (fund, account, 医保编号, 险种, 参保地)."""

import re
import subprocess
from datetime import date
from shutil import which

import pytest

from desktop_app.reports.receipt import amount_in_words, receipt_pdf
from desktop_app.services import ledger, ledger_types, selfpay

TODAY = date(2026, 11, 23)
I = ledger_types.ItemInput  # noqa: E741
WALK_ID = "11010519491231002X"
INSURANCE_LABELS = ("统筹基金", "个人账户", "医保编号", "险种", "参保地", "待遇类别", "起付", "政策范围内", "政策依据",
                    "大病", "共济", "累计由统筹基金")
BANNER = "未使用医保：本次费用全部由个人现金支付，医保基金和个人账户均未支付。"
pytestmark = pytest.mark.skipif(which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")


def pdf_text(pdf: bytes, tmp_path, name="r.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def value_after(text: str, label: str) -> str:
    """label → value as printed: the text after `label` (and a ：or spaces) up to the next blank run."""
    m = re.search(r"(?:^|\s)" + re.escape(label) + r"[：:\s]*(\S+)", text)  # a label begins a field
    assert m, f"{label} not on the receipt:\n{text}"
    return m.group(1)


@pytest.fixture
def walk_in(db):
    return selfpay.settle(db, selfpay.SelfPayInput(TODAY, [I("110200005", "1"), I("XJ01CAA040A001", "2")],
                                                   walk_in=selfpay.WalkIn("王小明", WALK_ID)),
                          operator="clerk", today=TODAY)


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_the_walk_in_receipt_says_no_insurance_and_what_was_paid(walk_in, fmt, tmp_path):
    txt = pdf_text(receipt_pdf(walk_in, fmt), tmp_path)
    flat = re.sub(r"\s+", "", txt)
    assert "门诊收费结算单（全自费）" in flat and "医疗保险结算单" not in flat
    assert BANNER in flat
    assert value_after(txt, "姓名") == "王小明"
    assert value_after(txt, "性别") == "女"
    assert value_after(txt, "身份证号") == "1101**********002X" and WALK_ID not in flat
    assert value_after(txt, "结算方式") == "全自费（未使用医保）"
    assert value_after(txt, "全自费原因") == "未在花名册（非参保人或无法核实参保身份）"
    assert value_after(txt, "结算单号") == walk_in.setl_no
    assert value_after(txt, "全自费金额") == "35.00"
    assert value_after(txt, "个人现金支付") == "35.00"
    assert value_after(txt, "个人现金（大写）") == amount_in_words("35.00") == "叁拾伍元整"
    assert "¥35.00" in flat and "阿莫西林胶囊" in flat and "25.00" in flat and "10.00" in flat
    rest = flat.replace(BANNER, "")  # (the banner names the fund and the account only to say they paid nothing)
    for label in INSURANCE_LABELS:
        assert label not in rest, label


def test_an_insured_person_s_self_pay_receipt_names_the_ground_and_no_insurance(db, tmp_path):
    from sqlalchemy import select

    from desktop_app.store import models as m

    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "310").order_by(m.Person.psn_no)
                      .limit(1)).scalar_one()
    rec = selfpay.settle(db, selfpay.SelfPayInput(TODAY, [I("110200005", "1")], psn_no=p.psn_no, why="policy_open"),
                         operator="clerk", today=TODAY)
    txt = pdf_text(receipt_pdf(rec), tmp_path)
    flat = re.sub(r"\s+", "", txt)
    assert value_after(txt, "姓名") == p.name and p.id_no not in flat
    assert "全自费原因：医保政策参数未定（另行制定），无法按医保结算" in flat
    assert value_after(txt, "个人现金支付") == "10.00"
    rest = flat.replace(BANNER, "")  # (the banner names the fund and the account only to say they paid nothing)
    for label in INSURANCE_LABELS:
        assert label not in rest, label


def test_the_reversal_and_the_reprint_of_a_self_pay_say_so(walk_in, db, tmp_path):
    rv = ledger.reverse(db, walk_in.setl_no, reason="退费", operator="clerk", today=TODAY)
    flat = re.sub(r"\s+", "", pdf_text(receipt_pdf(rv), tmp_path))
    assert "门诊收费结算单（全自费）（冲正）" in flat and "未使用医保" in flat and f"原结算单号：{walk_in.setl_no}" in flat
    assert "个人现金支付-35.00" in flat
    flat = re.sub(r"\s+", "", pdf_text(receipt_pdf(walk_in, reprint_at="2026-11-24 09:00:00"), tmp_path, "c.pdf"))
    assert "门诊收费结算单（全自费）（补打）" in flat and "未使用医保" in flat


def test_an_insured_receipt_is_unchanged_by_the_self_pay_branch(db, tmp_path):
    """(the ordinary receipt still prints its insurance lines)"""
    from sqlalchemy import select

    from desktop_app.store import models as m

    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                      .order_by(m.Person.psn_no).limit(1)).scalar_one()
    rec = ledger.settle(db, ledger_types.VisitInput(p.psn_no, TODAY, "general_outpatient", [I("110200005", "1")]),
                        operator="clerk", today=TODAY)
    flat = re.sub(r"\s+", "", pdf_text(receipt_pdf(rec), tmp_path))
    assert "医疗保险结算单" in flat and "统筹基金" in flat and "未使用医保" not in flat
