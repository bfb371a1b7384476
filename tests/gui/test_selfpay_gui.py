"""全自费 at the counter (issue #13 item 5), driven as a clerk does: 自费患者(J)… and 全自费(Z) clicked or reached
with Alt and Tab, the walk-in dialog answered both ways (cancelled, a wrong ID number corrected, accepted), F5/F9
with their confirmations answered 否 and 是, the open-parameter refusal that offers 全自费, the receipt read back."""

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from sqlalchemy import select

from desktop_app.store import models as m

from .drive import Modal, add, click, find, press, resident, settle_by_keys, type_text

LEFT = Qt.MouseButton.LeftButton
ALT = Qt.KeyboardModifier.AltModifier
WALK_ID = "11010519491231002X"


def settlements(db):
    with db.read() as s:
        return s.execute(select(m.Settlement).order_by(m.Settlement.id)).scalars().all()


def employee(db):
    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.insutype == "310", m.Person.category == "employee_active",
                                                m.Person.admdvs == "141102").order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def shown_split(tab) -> dict:
    return {tab.split.item(r, 0).text().split("（")[0]: tab.split.item(r, 1).text() for r in range(tab.split.rowCount())}


def pdf_text(path) -> str:
    import io

    from pypdf import PdfReader

    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).replace(" ", "")


def fill_walk_in(qtbot, w, name, id_no="", gender_keys=0):
    type_text(qtbot, w.name, name)
    if id_no:
        qtbot.keyClicks(w.id_no, id_no)
    for _ in range(gender_keys):
        qtbot.keyClick(w.gender, Qt.Key.Key_Down)


def ok(qtbot, w):
    qtbot.mouseClick(w.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def test_a_walk_in_is_registered_settled_all_cash_and_gets_a_receipt_without_insurance(qtbot, window, db):
    tab = window.settle_tab
    assert tab.walk_in_btn.isVisible() and tab.self_pay.isVisible()
    # 1. cancelled: nobody registered
    cancel = Modal(press(qtbot, Qt.Key.Key_Escape))
    qtbot.mouseClick(tab.walk_in_btn, LEFT)
    qtbot.waitUntil(lambda: cancel.done, timeout=10000)
    assert "自费患者" in cancel.text and tab.self_pay_bar.walk_in is None and not tab.self_pay.isChecked()

    # 2. by the keyboard (Alt+J): a wrong ID number is said in the dialog, which stays open; corrected, accepted
    def wrong_then_right(w):
        fill_walk_in(qtbot, w, "王小明", "110105194912310021")
        ok(qtbot, w)
        assert w.isVisible() and "校验位" in w.msg.text() and w.focusWidget() is w.id_no
        assert "110105194912310021" not in w.msg.text()
        w.id_no.selectAll()
        qtbot.keyClicks(w.id_no, WALK_ID)
        assert w.msg.text() == ""  # (the complaint goes as the field is corrected)
        qtbot.keyClick(w.id_no, Qt.Key.Key_Return)

    answer = Modal(wrong_then_right)
    qtbot.keyClick(tab, Qt.Key.Key_J, ALT)
    qtbot.waitUntil(lambda: answer.done, timeout=10000)
    w = tab.self_pay_bar.walk_in
    assert w is not None and (w.name, w.gender) == ("王小明", "女")
    assert "王小明" in tab.person_label.text() and "1101**********002X" in tab.person_label.text()
    assert WALK_ID not in tab.person_label.text()
    assert tab.self_pay.isChecked() and not tab.self_pay.isEnabled()  # a walk-in always pays everything
    assert tab.window().focusWidget() is tab.item_entry

    add(qtbot, tab, "110200005")
    add(qtbot, tab, "XJ01CAA040A001", "2")
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.split.rowCount() > 0, timeout=10000)
    split = shown_split(tab)
    assert split["医疗费总额"] == split["全自费"] == split["个人现金支付"] == "35.00"
    assert split["统筹基金支付"] == "0.00" and "未使用医保" in tab.notices.text()

    # 3. F9, 否: nothing settled; F9, Enter (是): settled
    no = Modal(press(qtbot, Qt.Key.Key_Escape))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: no.done and tab.ctx.ops.pending == 0, timeout=10000)
    assert "全自费" in no.text and "王小明" in no.text and "35.00" in no.text and settlements(db) == []
    confirm = settle_by_keys(qtbot, tab)
    assert "应收现金" in confirm.text and "未在花名册" in confirm.text
    [st] = settlements(db)
    assert st.psn_no is None and st.walkin_name == "王小明" and st.benefit == "self_pay" and st.hifp_pay == 0
    assert st.setl_no in tab.split_view.settled_label.text()
    assert not tab.walk_in_btn.isEnabled() and not tab.self_pay.isEnabled()  # settled means locked
    txt = pdf_text(window.ctx.receipts_dir / f"{st.setl_no}.pdf")
    assert "未使用医保" in txt and "门诊收费结算单（全自费）" in txt and "王小明" in txt and "统筹基金" not in txt
    assert "1101**********002X" in txt and WALK_ID not in txt

    # 4. Ctrl+N: the next visit is insured again, nobody on screen
    qtbot.keyClick(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert tab.self_pay_bar.walk_in is None and not tab.self_pay.isChecked() and tab.self_pay.isEnabled()
    assert "王小明" not in tab.person_label.text() and tab.walk_in_btn.isEnabled()


def test_an_insured_person_who_chooses_self_pay_is_settled_without_fund_or_account(qtbot, window, db):
    tab = window.settle_tab
    p = resident(db)
    find(qtbot, tab, p.psn_no)
    add(qtbot, tab, "110200005")
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.split.rowCount() > 0, timeout=10000)
    assert shown_split(tab)["统筹基金支付"] != "0.00"  # insured first
    qtbot.mouseClick(tab.self_pay, LEFT)
    assert tab.self_pay.isChecked() and tab.split.rowCount() == 0  # the insured split is gone
    assert not tab.items_pane.use_account.isEnabled()  # (no account is used)
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.split.rowCount() > 0, timeout=10000)
    split = shown_split(tab)
    assert split["统筹基金支付"] == split["个人账户支付"] == "0.00" and split["个人现金支付"] == "10.00"
    why = {tab.split.item(r, 0).text(): tab.split.item(r, 2).text() for r in range(tab.split.rowCount())}
    assert "患者选择不使用医保" in why["全自费"] and "患者选择不使用医保" in why["个人现金支付"]
    confirm = settle_by_keys(qtbot, tab)
    assert p.name in confirm.text and "患者选择不使用医保" in confirm.text
    [st] = settlements(db)
    assert (st.psn_no, st.benefit, st.insutype, st.psn_cash_pay) == (p.psn_no, "self_pay", "", 10)
    assert "全自费，未使用医保" in tab.result_label.text() and "统筹支付" not in tab.result_label.text()
    qtbot.keyClick(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert tab.items_pane.use_account.isEnabled() and not tab.self_pay.isChecked()


def test_alt_z_and_tab_reach_the_controls(qtbot, window, db):
    tab = window.settle_tab
    find(qtbot, tab, resident(db).psn_no)
    qtbot.keyClick(tab, Qt.Key.Key_Z, ALT)  # (a mnemonic clicks with a short animation)
    qtbot.waitUntil(lambda: tab.self_pay.isChecked(), timeout=3000)
    qtbot.keyClick(tab, Qt.Key.Key_Z, ALT)
    qtbot.waitUntil(lambda: not tab.self_pay.isChecked(), timeout=3000)
    # in the tab order: 自费患者 (after the hits), 全自费, then the visit's date
    tab.walk_in_btn.setFocus()
    seen = []
    for _ in range(2):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [tab.self_pay, tab.items_pane.visit_date]
    tab.self_pay.setFocus()
    qtbot.keyClick(tab.self_pay, Qt.Key.Key_Space)
    assert tab.self_pay.isChecked()
    # picking another person starts a new, insured visit
    find(qtbot, tab, resident(db).name)
    qtbot.waitUntil(lambda: not tab.self_pay.isChecked(), timeout=5000)


def test_an_open_parameter_says_which_and_f9_offers_self_pay_answered_both_ways(qtbot, window, db):
    tab = window.settle_tab
    p = employee(db)
    find(qtbot, tab, p.psn_no)
    add(qtbot, tab, "110200005")
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "起付标准" in tab.result_label.text(), timeout=10000)
    msg = tab.result_label.text()
    assert "另行制定" in msg and "县级医保部门的政策包" in msg and "全自费" in msg and "Alt+Z" in msg
    assert tab.split.rowCount() == 0

    # F9: the refusal with the offer; 否 (Enter: the default) — nothing settled, still insured
    no = Modal(press(qtbot, Qt.Key.Key_Return))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: no.done and tab.ctx.ops.pending == 0, timeout=10000)
    assert "起付标准" in no.text and "县级医保部门的政策包" in no.text and "按全自费结算" in no.text
    assert settlements(db) == [] and not tab.self_pay.isChecked()

    # F9 again: 是 clicked — 全自费 is ticked and the settlement's own confirmation comes; Enter (是) settles
    yes = click(qtbot, QMessageBox.StandardButton.Yes)
    answers = Modal(lambda w: yes(w) if "无法按医保结算" in w.windowTitle() else qtbot.keyClick(w, Qt.Key.Key_Return),
                    count=2)
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: answers.done and tab.last_record is not None and tab.ctx.ops.pending == 0,
                    timeout=15000)
    assert [t.split("\n")[0] for _w, t in answers.seen] == ["无法按医保结算", "确认全自费结算"]
    assert "医保政策参数未定" in answers.seen[1][1]
    [st] = settlements(db)
    assert st.benefit == "self_pay" and st.psn_no == p.psn_no and st.acct_pay == 0
    assert tab.last_record.receipt["self_pay"]["why"] == "policy_open"


def test_the_today_tab_lists_the_walk_in_and_reverses_it(qtbot, window, db):
    from desktop_app.services import ledger_types, selfpay

    rec = selfpay.settle(db, selfpay.SelfPayInput(date.today(), [ledger_types.ItemInput("110200005", "1")],
                                                  walk_in=selfpay.WalkIn("李四")), operator="clerk")
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    today = window.today_tab
    qtbot.waitUntil(lambda: len(today.model.records) == 1 and today.view.currentIndex().isValid(), timeout=10000)
    row = [today.model.data(today.model.index(0, c)) for c in range(today.model.columnCount())]
    assert "李四" in row and "全自费（未使用医保）" in row

    def reason(w):
        assert rec.setl_no in w.details.text() and "李四" in w.details.text()
        qtbot.keyClicks(w.reason, "refund")
        qtbot.keyClick(w.reason, Qt.Key.Key_Return)

    answer = Modal(reason)
    qtbot.keyClick(window, Qt.Key.Key_R, ALT)
    qtbot.waitUntil(lambda: answer.done and "已冲正" in today.msg.text(), timeout=10000)
    rv = settlements(db)[-1]
    assert rv.kind == "reverse" and rv.walkin_name == "李四" and rv.psn_cash_pay == -10
