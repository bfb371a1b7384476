"""The clerk's window driven with real widgets (pytest-qt, offscreen)."""

from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from sqlalchemy import func, select

from desktop_app.services import ledger
from desktop_app.store import models as m

from .drive import Modal, add, click, edit_cell, find, no_dialog, press, resident, type_text


def test_login_dialog(qtbot, db):
    from desktop_app.gui.login import LoginDialog

    dlg = LoginDialog(db)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitActive(dlg)
    dlg.login.setFocus()
    qtbot.keyClicks(dlg.login, "clerk")
    qtbot.keyClick(dlg.login, Qt.Key.Key_Return)
    assert dlg.focusWidget() is dlg.password  # (offscreen windows are never 'active'; focusWidget still tells)
    qtbot.keyClicks(dlg.password, "wrong")
    qtbot.keyClick(dlg.password, Qt.Key.Key_Return)
    assert "不正确" in dlg.msg.text() and dlg.operator is None
    qtbot.keyClicks(dlg.password, "clerk123")
    qtbot.keyClick(dlg.password, Qt.Key.Key_Return)
    assert dlg.operator is not None and dlg.operator.login == "clerk" and dlg.result() == 1


def test_find_by_id_name_and_pinyin(qtbot, window, db):
    from desktop_app.services.roster import pinyin_keys

    tab = window.settle_tab
    p = resident(db)
    find(qtbot, tab, p.id_no)
    assert tab.person.psn_no == p.psn_no
    assert p.id_no not in tab.person_label.text() and p.id_no[:4] + "*" * 10 in tab.person_label.text()
    assert tab.window().focusWidget() is tab.item_entry
    tab.person = None
    find(qtbot, tab, p.name)
    assert p.psn_no in [h.psn_no for h in tab.results.hits]
    tab.person = None
    find(qtbot, tab, pinyin_keys(p.name)[1])
    assert p.psn_no in [h.psn_no for h in tab.results.hits]
    assert all(h.matched_by == "拼音" for h in tab.results.hits)


def test_presettle_settle_once_reverse_and_close_day(qtbot, window, db):
    tab = window.settle_tab
    p = resident(db)
    find(qtbot, tab, p.psn_no)
    for code, qty in (("XJ01DCA030A001", "2"), ("250101015", "1"), ("HC0003", "1")):
        add(qtbot, tab, code, qty)
    assert len(tab.items.lines) == 3 and tab.total_label.text() == "合计：69.10 元"
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.preview_result is not None, timeout=10000)
    expect = ledger.presettle(db, tab.visit_input(), operator="clerk").result
    shown = {tab.split.item(r, 0).text().split("（")[0]: tab.split.item(r, 1).text() for r in range(tab.split.rowCount())}
    assert shown["医疗费总额"] == expect["medfee_sumamt"] == "69.10"
    assert shown["统筹基金支付"] == expect["hifp_pay"] and shown["个人现金支付"] == expect["psn_cash_pay"]
    assert "晋医保发〔2023〕16号 一" in tab.split.item(
        [r for r in range(tab.split.rowCount()) if tab.split.item(r, 0).text().startswith("统筹基金")][0], 2).text()
    # F9 twice, Enter on the confirmation: one settlement; F9 once more asks nothing
    confirm = Modal(press(qtbot, Qt.Key.Key_Return), count=2)
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.last_record is not None and tab.ctx.ops.pending == 0, timeout=15000)
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    confirm.stop()
    assert len(confirm.seen) == 1 and "不会重复结算" in tab.result_label.text()
    with db.read() as s:
        rows = s.execute(select(m.Settlement).where(m.Settlement.psn_no == p.psn_no)).scalars().all()
    assert len(rows) == 1 and str(rows[0].hifp_pay) == expect["hifp_pay"]
    rec = tab.last_record
    assert rec.setl_no in tab.result_label.text()
    receipt = Path(window.ctx.receipts_dir) / f"{rec.setl_no}.pdf"
    assert receipt.exists() and receipt.read_bytes().startswith(b"%PDF")
    qtbot.waitUntil(lambda: tab.person is not None and tab.person.benefits[0].fund_paid == Decimal(rec.result["hifp_pay"]),
                    timeout=10000)
    # reverse from 今日结算 (Ctrl+2: the latest settlement is selected) and see the cap restored
    today = window.today_tab
    qtbot.waitUntil(lambda: confirm.done, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(today.model.records) == 1 and today.selected() is not None, timeout=10000)

    def reason(w):
        w.reason.insert("患者退费")  # Chinese arrives through the input method
        qtbot.keyClick(w.reason, Qt.Key.Key_Return)

    answered = Modal(reason)
    qtbot.mouseClick(today.reverse_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已冲正" in today.msg.text(), timeout=10000)
    qtbot.waitUntil(lambda: len(today.model.records) == 2 and answered.done, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    find(qtbot, tab, p.psn_no)
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and tab.person.benefits[0].fund_paid == 0, timeout=10000)
    assert tab.person.benefits[0].annual_remaining == Decimal("300.00")
    # close the day (Ctrl+2, 日结, 是): 日结单 files written, no more settling today
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    yes = Modal(click(qtbot, QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(today.close_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已日结" in today.msg.text() and yes.done, timeout=15000)
    assert list(Path(window.ctx.reports_dir).glob("日结单_*.xlsx")) and list(Path(window.ctx.reports_dir).glob("日结单_*.pdf"))
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    add(qtbot, tab, "110200005")
    again = no_dialog(qtbot)  # the closed day is said before the confirmation: nothing is asked
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and "已日结" in tab.result_label.text(), timeout=10000)
    again.stop()
    assert again.seen == [] and tab.last_record is None and tab.item_entry.isEnabled()


def test_bad_quantity_and_price_show_message_and_settle_nothing(qtbot, window, db):
    tab = window.settle_tab
    find(qtbot, tab, resident(db).psn_no)
    qtbot.keyClicks(tab.item_entry, "110200005")
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Return)
    tab.qty.selectAll()
    qtbot.keyClicks(tab.qty, "abc")
    qtbot.keyClick(tab.qty, Qt.Key.Key_Return)
    assert "数量只能填数字" in tab.entry_msg.text() and not tab.items.lines
    tab.qty.selectAll()
    qtbot.keyClicks(tab.qty, "-2")
    qtbot.keyClick(tab.qty, Qt.Key.Key_Return)
    assert "负数" in tab.entry_msg.text() and not tab.items.lines
    tab.qty.selectAll()
    type_text(qtbot, tab.qty, "１.５")  # full-width digits are accepted
    qtbot.keyClick(tab.qty, Qt.Key.Key_Return)
    assert tab.items.lines[0]["qty"] == "1.5"
    model, view = tab.items, tab.items_view
    assert not (model.flags(model.index(0, model.COL_PRICE)) & Qt.ItemFlag.ItemIsEditable)  # the list's price (#15)
    edit_cell(qtbot, view, model.index(0, model.COL_QTY), "0")
    watcher = no_dialog(qtbot)
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    watcher.stop()
    assert watcher.seen == [] and tab.ctx.ops.pending == 0 and "第 1 行" in tab.result_label.text()
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.Settlement)).scalar_one() == 0


def test_pack_import_validates_first_and_bad_pack_changes_nothing(qtbot, admin_window, db, tmp_path):
    from desktop_app.services import packs

    admin = admin_window.admin_tab
    before = [(p.pack_id, p.content_hash) for p in packs.installed(db)]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pack.toml").write_text('id = "x"\nadmdvs = "12"\n', encoding="utf-8")
    admin.pack_path.setText(str(bad))
    qtbot.mouseClick(admin.pack_check_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "pack.toml:2" in admin.pack_result.toPlainText(), timeout=10000)
    assert not admin.pack_sync_btn.isEnabled()
    assert [(p.pack_id, p.content_hash) for p in packs.installed(db)] == before
    # a good pack: check shows what would change, nothing is written until 导入
    import shutil

    from desktop_app.core.pack_files import shipped_packs_dir

    good = tmp_path / "lvliang"
    shutil.copytree(shipped_packs_dir() / "cn-141100-lvliang", good)
    (good / "pack.toml").write_text((good / "pack.toml").read_text(encoding="utf-8").replace('"1.0.0"', '"1.0.1"'),
                                    encoding="utf-8")
    admin.pack_path.setText(str(good))
    qtbot.mouseClick(admin.pack_check_btn, Qt.MouseButton.LeftButton)  # edited after signing: refused
    qtbot.waitUntil(lambda: "签名后被改动" in admin.pack_result.toPlainText(), timeout=10000)
    assert not admin.pack_sync_btn.isEnabled()
    admin.allow_unsigned.setChecked(True)  # a test pack, accepted by a supervisor on purpose
    qtbot.mouseClick(admin.pack_check_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "升级" in admin.pack_result.toPlainText(), timeout=10000)
    assert [(p.pack_id, p.content_hash) for p in packs.installed(db)] == before
    assert admin.pack_sync_btn.isEnabled()
    admin_window.tabs.setCurrentWidget(admin)
    qtbot.mouseClick(admin.pack_sync_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已导入" in admin.pack_result.toPlainText(), timeout=10000)
    assert "1.0.1" in [p.version for p in packs.installed(db) if p.pack_id == "cn-141100-lvliang"]
    # 导入 is disabled once done: the focus goes to 校验, not on along the chain to a settings field
    assert QApplication.focusWidget() is admin.pack_check_btn, QApplication.focusWidget()


def test_roster_import_from_the_window(qtbot, admin_window, tmp_path):
    admin = admin_window.admin_tab
    f = tmp_path / "r.csv"
    f.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n"
                 "Z1,110101199003070000,王五,男,1990-03-07,390,城乡居民,141102,2026-11-20\n", encoding="utf-8")
    admin.roster_path.setText(str(f))
    qtbot.mouseClick(admin.roster_check_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "校验结果（未导入）" in admin.roster_result.text(), timeout=15000)
    assert "拒绝 1 行" in admin.roster_result.text()
    qtbot.mouseClick(admin.roster_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已导入" in admin.roster_result.text(), timeout=15000)
    assert "拒绝 1 行" in admin.roster_result.text()
    assert admin.open_report_btn.isEnabled() and admin.report_path.endswith("r_错误报告.xlsx")


def test_settings_saved(qtbot, admin_window, db):
    from desktop_app.services import settings

    window = admin_window
    admin = window.admin_tab
    admin.fields["clinic_name"].setText("测试卫生院")
    admin.fields["receipt_format"].setCurrentIndex(1)
    qtbot.mouseClick(admin.save_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.settings_msg.text() == "已保存", timeout=10000)
    st = settings.load(db)
    assert st.clinic_name == "测试卫生院" and st.get("receipt_format") == "80mm"
    assert "测试卫生院" in window.windowTitle()
    admin.fields["clinic_admdvs"].setText("14")
    qtbot.mouseClick(admin.save_btn, Qt.MouseButton.LeftButton)
    assert "6位数字" in admin.settings_msg.text()


def test_exception_hook_shows_copyable_details(qtbot, monkeypatch):
    import sys

    from desktop_app.gui import app as gui_app

    shown = {}

    def fake_exec(self):
        shown["text"], shown["details"] = self.text(), self.detailedText()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    old = sys.excepthook
    try:
        gui_app.install_exception_hook()
        try:
            raise ValueError("测试错误：身份证号 140102199003071234 无法处理")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old
    assert "测试错误" in shown["text"] and "Traceback" in shown["details"]
    # privacy: the dialog (and the log) never show a full ID number
    assert "140102199003071234" not in shown["text"] + shown["details"]
    assert "1401**********1234" in shown["text"] and "1401**********1234" in shown["details"]


def _first_start(monkeypatch, choice):
    """Drive the first-start dialog by clicking its button; capture what the login dialog shows."""
    from desktop_app.gui import login as gui_login

    seen = {}

    def first_exec(self):
        seen["first_text"] = " ".join(w.text() for w in self.findChildren(QLabel))
        {"clinic": self.clinic_btn, "demo": self.demo_btn}[choice].click() if choice else self.reject()
        return self.result()

    def login_exec(self):
        seen["title"], seen["login"] = self.windowTitle(), self.login.text()
        return 0  # the clerk closes the login

    def box_exec(self):
        seen["box"] = self.text()
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(gui_login.FirstStartDialog, "exec", first_exec)
    monkeypatch.setattr(gui_login.LoginDialog, "exec", login_exec)
    monkeypatch.setattr(QMessageBox, "exec", box_exec)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: seen.setdefault("info", a[2]))
    return seen


def test_first_start_can_create_the_demo_database(qtbot, tmp_path, monkeypatch):
    """`clinic-settle` on a machine with no database, 练习 chosen: the demo clinic, then the login."""
    from desktop_app.gui import app as gui_app
    from desktop_app.services import accounts
    from desktop_app.store.db import open_db

    seen = _first_start(monkeypatch, "demo")
    path = tmp_path / "fresh.sqlite3"
    assert gui_app.run_gui(str(path)) == 0
    assert "还没有操作员" in seen["first_text"] and str(path) in seen["first_text"]
    assert "登录" in seen["title"] and seen["login"] == "clerk" and "clerk123" in seen["info"]
    assert accounts.authenticate(open_db(path), "clerk", "clerk123") is not None


def test_first_start_creates_the_supervisor_who_must_change_the_password(qtbot, tmp_path, monkeypatch):
    """正式使用: a supervisor `admin` with a one-time password shown once; the first login forces a change;
    no demo account or demo person is created."""
    import re

    from desktop_app.gui import app as gui_app
    from desktop_app.gui import login as gui_login
    from desktop_app.services import accounts
    from desktop_app.services.lookup import count_persons
    from desktop_app.store.db import open_db

    seen = _first_start(monkeypatch, "clinic")
    path = tmp_path / "clinic.sqlite3"
    assert gui_app.run_gui(str(path)) == 0
    initial = re.search(r"初始密码：(\S+)", seen["box"]).group(1)
    assert seen["login"] == "admin" and len(initial) == 10
    db = open_db(path)
    assert [(o.login, o.role, o.must_change_password) for o in accounts.list_operators(db)] == [
        ("admin", "supervisor", True)]
    assert count_persons(db) == 0 and accounts.authenticate(db, "clerk", "clerk123") is None
    # the first login asks for a new password before the window opens
    asked = {}
    monkeypatch.setattr(gui_login.PasswordDialog, "ask",
                        classmethod(lambda cls, d, login, parent=None: asked.setdefault("login", login) and False))
    dlg = gui_login.LoginDialog(db)
    qtbot.addWidget(dlg)
    dlg.login.setText("admin")
    dlg.password.setText(initial)
    dlg.try_login()
    assert asked["login"] == "admin" and dlg.operator is None and "须修改密码" in dlg.msg.text()
    # a second first start cannot happen: the supervisor exists
    with pytest.raises(accounts.AuthError, match="已有操作员"):
        accounts.create_first_supervisor(db)


def test_first_start_cancelled_creates_nothing(qtbot, tmp_path, monkeypatch):
    from desktop_app.gui import app as gui_app
    from desktop_app.services import accounts
    from desktop_app.store.db import open_db

    seen = _first_start(monkeypatch, None)
    path = tmp_path / "fresh.sqlite3"
    assert gui_app.run_gui(str(path)) == 0
    assert "title" not in seen and not accounts.has_operators(open_db(path))


def test_clerk_cannot_change_packs_roster_or_settings(qtbot, window, db, tmp_path):
    from desktop_app.services import packs, roster, roster_files, settings
    from desktop_app.services.accounts import AuthError

    admin = window.admin_tab
    assert not admin.save_btn.isEnabled() and not admin.roster_btn.isEnabled()
    assert "审计" not in [window.tabs.tabText(i) for i in range(window.tabs.count())]
    with pytest.raises(packs.SyncRefused, match="只有管理员"):
        packs.sync(db, tmp_path, actor="clerk")
    with pytest.raises(AuthError, match="只有管理员"):
        settings.save(db, {"clinic_name": "x"}, actor="clerk")
    f = tmp_path / "r.csv"
    f.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n", encoding="utf-8")
    with pytest.raises(roster_files.RosterError, match="只有管理员"):
        roster.import_roster(db, f, actor="clerk")


def test_supervisor_sees_audit_and_verifies(qtbot, admin_window):
    tab = admin_window.audit_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0, timeout=10000)
    qtbot.mouseClick(tab.verify_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "审计链完整" in tab.result.text(), timeout=10000)


def test_the_audit_tab_shows_what_was_just_done_without_refresh(qtbot, admin_window):
    """The 审计 tab showed what it had read at start until 刷新 was clicked: an action done since was missing."""
    window = admin_window
    tab = window.audit_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0 and window.ctx.ops.pending == 0, timeout=10000)
    admin = window.admin_tab
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    admin.fields["clinic_name"].selectAll()
    admin.fields["clinic_name"].insert("审计测试卫生院")
    qtbot.mouseClick(admin.save_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.settings_msg.text() == "已保存", timeout=10000)
    n = next(i for i in range(window.tabs.count()) if window.tabs.widget(i) is tab)
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{n + 1}"), Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.model.rowCount() and tab.model.index(0, tab.model.COL_ACTION).data() == "修改设置",
                    timeout=5000)


def test_damaged_database_at_start_offers_the_latest_backup(qtbot, db, monkeypatch):
    from desktop_app.gui import app as gui_app
    from desktop_app.gui import login as gui_login
    from desktop_app.store import backup as bk

    bk.backup(db)
    path = db.path
    db.dispose()
    data = bytearray(path.read_bytes())
    for i in range(4096, min(len(data), 4096 * 40)):
        data[i] = 0xAB
    path.write_bytes(bytes(data))
    asked = {}
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.setdefault("q", a[2]) and QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(gui_login.LoginDialog, "exec", lambda self: 0)
    assert gui_app.run_gui(str(path)) == 0
    assert "检查未通过" in asked["q"] and bk.check_file(path) == "ok"
    from desktop_app.services import audit
    from desktop_app.store.db import open_db

    last = audit.recent(open_db(path), 1, actor="admin")[0]
    assert (last.actor, last.action) == ("system", "restore") and audit.verify(open_db(path), actor="admin").ok


def test_busy_database_says_wait_and_retry_and_f9_again_settles_once(qtbot, window, db):
    """Another program holds the write lock: F9 (confirmed) shows the wait-and-retry message (not a crash),
    nothing is saved and the visit can still be changed; once it is free, F9 again settles that visit once."""
    import sqlite3

    from desktop_app.store.db import Database

    tab = window.settle_tab
    window.ctx.db = Database(db.path, busy_timeout_ms=300)
    p = resident(db)
    find(qtbot, tab, p.psn_no)
    add(qtbot, tab, "250101015", "1")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        first = Modal(press(qtbot, Qt.Key.Key_Return))
        qtbot.keyClick(tab, Qt.Key.Key_F9)
        qtbot.waitUntil(lambda: "数据库正被另一个程序占用" in tab.result_label.text(), timeout=15000)
        assert "稍后重试" in tab.result_label.text() and tab.settle_btn.isEnabled() and tab.last_record is None
        assert tab.item_entry.isEnabled() and first.seen
    finally:
        other.rollback()
        other.close()
    qtbot.waitUntil(lambda: first.done, timeout=5000)
    second = Modal(press(qtbot, Qt.Key.Key_Return))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.last_record is not None and tab.ctx.ops.pending == 0, timeout=15000)
    assert second.seen
    with db.read() as s:
        n = s.execute(select(func.count()).select_from(m.Settlement).where(m.Settlement.psn_no == p.psn_no)).scalar()
    assert n == 1


def test_supervisor_manages_operators_in_the_window(qtbot, admin_window, db):
    """操作员 tab: add a clerk (must change at first login), reset, disable; all audited; a clerk has no such tab
    and the services refuse a clerk even if called directly."""
    from desktop_app.gui.accounts_tab import OperatorModel
    from desktop_app.services import accounts, audit

    tab = admin_window.accounts_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() >= 2, timeout=10000)

    def fill(login=None, name="", pw="start-pass-1", pw2=None):
        def ask(dlg):
            if login is not None and not dlg.login.isReadOnly():
                dlg.login.setText(login)
            dlg.name.setText(name)
            dlg.pw1.setText(pw)
            dlg.pw2.setText(pw if pw2 is None else pw2)
            dlg.save()
            return dlg.result() == 1
        return ask

    tab.ask = fill("short", pw="abc")  # too short: the dialog says so and nothing is added
    tab.add()
    tab.ask = fill("zhao", "赵六")
    tab.add()
    qtbot.waitUntil(lambda: "已添加 zhao" in tab.msg.text(), timeout=10000)
    qtbot.waitUntil(lambda: any(o.login == "zhao" for o in tab.model.rows), timeout=10000)
    zhao = accounts.get_operator(db, "zhao")
    assert zhao.role == "clerk" and zhao.must_change_password and accounts.get_operator(db, "short") is None
    row = next(i for i, o in enumerate(tab.model.rows) if o.login == "zhao")
    assert tab.model.index(row, OperatorModel.COL_STATE).data() == "须修改密码"
    tab.view.selectRow(row)
    tab.disable_btn.click()
    qtbot.waitUntil(lambda: "已停用 zhao" in tab.msg.text(), timeout=10000)
    assert accounts.authenticate(db, "zhao", "start-pass-1") is None
    # the last supervisor cannot be disabled: the message says why
    row = next(i for i, o in enumerate(tab.model.rows) if o.login == "admin")
    tab.view.selectRow(row)
    tab.disable_btn.click()
    qtbot.waitUntil(lambda: "最后一个管理员" in tab.msg.text(), timeout=10000)
    actions = [(e.actor, e.action, e.subject) for e in audit.recent(db, 50, actor="admin")]
    assert ("admin", "account_add", "zhao") in actions and ("admin", "account_disable", "zhao") in actions
    for call in (lambda: accounts.create_operator(db, "x1", "x", "clerk", "x-pass-123", actor="clerk"),
                 lambda: accounts.change_password(db, "admin", "hijacked-1", actor="clerk"),
                 lambda: accounts.set_active(db, "admin", False, actor="clerk")):
        with pytest.raises(accounts.AuthError, match="只有管理员"):
            call()


def test_clerk_has_no_operators_tab_and_changes_own_password_with_the_current_one(qtbot, window, db, monkeypatch):
    from desktop_app.gui import login as gui_login
    from desktop_app.services import accounts

    assert "操作员" not in [window.tabs.tabText(i) for i in range(window.tabs.count())]
    results = []

    def fake_exec(dlg):
        dlg.current.setText("clerk123" if results else "not-my-password")
        dlg.pw1.setText("clerk-new-pass")
        dlg.pw2.setText("clerk-new-pass")
        dlg.save()
        results.append(dlg.msg.text())
        return dlg.result()

    monkeypatch.setattr(gui_login.PasswordDialog, "exec", fake_exec)
    assert window.change_my_password() is False and "不正确" in results[0]
    assert window.change_my_password() is True
    assert accounts.authenticate(db, "clerk", "clerk-new-pass") is not None


def test_roster_check_and_import_keep_the_focus_off_the_clinic_name(qtbot, admin_window, tmp_path):
    """After 校验 or 导入 the focus jumped to 机构名称 with its text selected: the clerk's next key press
    replaced the clinic's name. The focus stays on the button clicked; typing then changes no field."""
    window = admin_window
    admin = window.admin_tab
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is admin, timeout=5000)
    name = admin.fields["clinic_name"].text()
    f = tmp_path / "r.csv"
    f.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n"
                 "Z1,110101199003070000,王五,男,1990-03-07,390,城乡居民,141102,2026-11-20\n", encoding="utf-8")
    admin.roster_path.setText(str(f))
    for btn, said in ((admin.roster_check_btn, "校验结果（未导入）"), (admin.roster_btn, "已导入")):
        qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda s=said: s in admin.roster_result.text() and window.ctx.ops.pending == 0,
                        timeout=15000)
        qtbot.wait(50)
        assert QApplication.focusWidget() is btn, QApplication.focusWidget()
        qtbot.keyClicks(QApplication.focusWidget(), "x")
        assert admin.fields["clinic_name"].text() == name
        assert admin.roster_path.text() == str(f)


def test_the_guide_lists_the_screens_behind_ctrl_digits_as_the_window_has_them(qtbot, window, admin_window):
    """docs/gui.md said Ctrl+1…5 with Ctrl+5 = 操作员, but Ctrl+4 is 收费目录 and Ctrl+5 开业检查 (F1 said 1…7)."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "gui.md").read_text(encoding="utf-8")
    for win, who in ((window, "clerk"), (admin_window, "supervisor")):
        tabs = [win.tabs.tabText(i).replace("&", "") for i in range(win.tabs.count())]
        row = next(ln for ln in doc.splitlines() if ln.startswith(f"| Ctrl+1 … {len(tabs)} ({who})"))
        listed = re.findall(r"Ctrl\+(\d) ([^,;|]+)", row.split("|")[2])
        assert [(int(n), name.strip()) for n, name in listed] == [(i + 1, t) for i, t in enumerate(tabs)], row
        win.activateWindow()  # (two windows here: the keys go to the active one)
        qtbot.waitUntil(lambda w=win: QApplication.activeWindow() is w, timeout=5000)
        for i, t in enumerate(tabs):  # and the keys do what the row says
            qtbot.keyClick(win, getattr(Qt.Key, f"Key_{i + 1}"), Qt.KeyboardModifier.ControlModifier)
            assert win.tabs.tabText(win.tabs.currentIndex()).replace("&", "") == t
