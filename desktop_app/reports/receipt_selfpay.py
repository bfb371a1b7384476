"""The receipt of a 全自费 settlement (services/selfpay.py): the same page as every receipt (head, items,
footer: reports/receipt.py), but it says 未使用医保 plainly and prints no line that claims insurance — no
医保编号, 险种, 参保地 or 待遇类别, no fund, account or deductible figures — only the total and the cash."""

from __future__ import annotations

from desktop_app.reports.receipt import ReceiptData, _clip, _Flow, _Style, amount_in_words

BANNER = "未使用医保：本次费用全部由个人现金支付，医保基金和个人账户均未支付。"


def person(f: _Flow, data: ReceiptData, st: _Style) -> None:
    h = data.header
    own = h.get("self_pay") or {}
    f.para(BANNER, st.norm, st.lh, True)
    f.advance(0.5)
    rows = [("姓名", h.get("name", "")), ("性别", h.get("gender", "") or "未填"),
            ("身份证号", h.get("id_masked", "") or "未登记"), ("就诊日期", data.visit_date),
            ("结算方式", "全自费（未使用医保）")]
    cols = 1 if st.narrow else 2
    colw = (f.w - 2 * f.m) / cols
    for i, (k, v) in enumerate(rows):
        if i and i % cols == 0:
            f.advance(st.lh)
        f.text(f.m + (i % cols) * colw, _clip(f"{k}：{v}", st.norm, colw - 1), st.norm)
    f.advance(st.lh)
    f.para(f"全自费原因：{own.get('why_label', '')}", st.norm, st.lh)
    if h.get("diagnosis"):
        f.para(f"诊断：{h['diagnosis']}", st.norm, st.lh)
    f.advance(0.5)
    f.rule()
    f.advance(1.5)


def totals(f: _Flow, data: ReceiptData, st: _Style) -> None:
    r, left, right = data.result, f.m, f.w - f.m
    f.need(st.lh * 4)
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
    for label, value, bold in (("全自费金额", r["fulamt_ownpay_amt"], False), ("个人现金支付", r["psn_cash_pay"], True)):
        f.text(left, label, st.norm, bold)
        f.text(right if st.narrow else left + (f.w - 2 * f.m) / 2 - 4, value, st.norm, bold, "right")
        f.advance(st.lh)
    f.need(st.lh)
    f.text(left, f"个人现金（大写）：{amount_in_words(r['psn_cash_pay'])}", st.norm, True)
    f.advance(st.lh + 0.5)
    f.rule()
    f.advance(1.5)
