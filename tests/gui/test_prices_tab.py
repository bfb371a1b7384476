"""The 收费目录 tab and the 开业检查 (#15): a new clinic — no demo data — goes from 建立本机构 to a settled,
printed visit using the window only, with its own files; and the price list is edited in the window."""

from datetime import date, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QMessageBox
from sqlalchemy import select

from desktop_app.resources import runtime_dir
from desktop_app.services import catalogue
from desktop_app.store import models as m
from tests.gui.drive import Modal, add, find, settle_by_keys, type_text
from tests.gui.test_counter import preview_painted_then_closed
from tests.services.catalogue_files import CAT_HEADER, PRICE_HEADER, write_csv, write_xlsx

LEFT = Qt.MouseButton.LeftButton
CATALOGUE = [
    ["XJ01CAA040A001010100001", "阿莫西林胶囊", "101", "甲", "", "", "", "2020-01-01", ""],
    ["XJ01DCA030A001010100002", "头孢呋辛酯片", "101", "乙", "22.00", "", "", "2020-01-01", ""],
    ["001102000010000", "一般诊疗费", "201", "甲", "", "", "", "2020-01-01", ""],
    ["C0001", "一次性输液器", "301", "乙", "", "限门诊输液", "", "2020-01-01", ""],
]
PRICES = [
    ["A01", "阿莫西林胶囊", "0.25g×24粒", "盒", "12.50", "西药费", "XJ01CAA040A001010100001", "2020-01-01"],
    ["A02", "头孢呋辛酯片", "0.25g×12片", "盒", "23.80", "西药费", "XJ01DCA030A001010100002", "2020-01-01"],
    ["S01", "一般诊疗费", "", "次", "10.00", "诊查费", "001102000010000", "2020-01-01"],
    ["Z01", "中药代煎", "", "剂", "5.00", "其他费", "", "2020-01-01"],  # not covered: 全自费
]


def _click_ok(qtbot, dialog):
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok), LEFT)


def _retype(qtbot, edit, text):
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    if text.isascii():
        qtbot.keyClicks(edit, text)
    else:
        edit.insert(text)


def _open_file(path):
    def act(w):
        if isinstance(w, QFileDialog):
            w.selectFile(str(path))
            w.accept()
        else:  # the confirmation after the check: 是
            assert isinstance(w, QMessageBox) and "校验通过" in w.text(), w.text()
            w.button(QMessageBox.StandardButton.Yes).click()

    return act


def _import(qtbot, tab, button, path):
    answers = Modal(_open_file(path), count=2)
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: answers.done and tab.ctx.ops.pending == 0 and "已导入" in tab.result.text(),
                    timeout=20000)


def _first_start_and_login(qtbot, db):
    from desktop_app.gui.login import LoginDialog, first_start

    seen = {}

    def answer(w):
        if hasattr(w, "clinic_btn"):
            qtbot.mouseClick(w.clinic_btn, LEFT)
        else:
            seen["password"] = w.text().split("初始密码：")[1].split()[0]
            qtbot.mouseClick(w.button(QMessageBox.StandardButton.Ok), LEFT)

    first = Modal(answer, count=2)
    assert first_start(db) == "admin" and first.done
    login = LoginDialog(db)
    qtbot.addWidget(login)
    login.show()
    qtbot.keyClicks(login.login, "admin")
    qtbot.keyClicks(login.password, seen["password"])

    def new_password(w):
        for edit in (w.pw1, w.pw2):
            qtbot.keyClicks(edit, "our-own-pass-1")
        _click_ok(qtbot, w)

    change = Modal(new_password)
    _click_ok(qtbot, login)
    qtbot.waitUntil(lambda: change.left == 0 and login.operator is not None, timeout=10000)
    return login.operator


def _window(qtbot, db, tmp_path, op):
    from PySide6.QtCore import QSettings

    from desktop_app.gui.app import MainWindow, build_context

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    ctx = build_context(db, op)
    ctx.data_dir = tmp_path
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    return win


def _identity_packs_roster(qtbot, win, tmp_path):
    from desktop_app.services.demo import roster_rows

    admin = win.admin_tab
    win.tabs.setCurrentWidget(admin)
    for key, value in (("clinic_name", "测试村卫生室"), ("clinic_code", "H14110200099"), ("clinic_admdvs", "141102")):
        _retype(qtbot, admin.fields[key], value)
    qtbot.mouseClick(admin.save_btn, LEFT)
    qtbot.waitUntil(lambda: admin.settings_msg.text() == "已保存", timeout=10000)
    type_text(qtbot, admin.pack_path, str(runtime_dir("resources/policy_packs")))
    qtbot.mouseClick(admin.pack_check_btn, LEFT)
    qtbot.waitUntil(lambda: admin.pack_sync_btn.isEnabled(), timeout=20000)
    qtbot.mouseClick(admin.pack_sync_btn, LEFT)
    qtbot.waitUntil(lambda: "已导入" in admin.pack_result.toPlainText(), timeout=20000)
    persons, _usage = roster_rows(6, today=date.today())
    type_text(qtbot, admin.roster_path, str(write_csv(tmp_path / "花名册.csv", persons[0], persons[1:])))
    qtbot.mouseClick(admin.roster_btn, LEFT)
    qtbot.waitUntil(lambda: "已导入" in admin.roster_result.text(), timeout=20000)
    return next(p[0] for p in persons[1:] if p[5] == "390" and p[6] == "城乡居民" and p[7] == "141102")


def test_a_new_clinic_goes_live_from_the_window_with_its_own_files(qtbot, tmp_path):
    from desktop_app.store.db import open_db

    db = open_db(tmp_path / "clinic.sqlite3")
    op = _first_start_and_login(qtbot, db)
    win = _window(qtbot, db, tmp_path, op)
    ready = win.readiness_tab
    qtbot.waitUntil(lambda: ready.last is not None and win.tabs.currentWidget() is ready, timeout=10000)
    assert not ready.last.ready and "缺少" in ready.findChild(type(ready.verdict), "ready_prices").text()
    psn = _identity_packs_roster(qtbot, win, tmp_path)
    tab = win.prices_tab
    win.tabs.setCurrentWidget(tab)
    _import(qtbot, tab, tab.catalogue_btn, write_xlsx(tmp_path / "省医保目录.xlsx", CAT_HEADER, CATALOGUE))
    _import(qtbot, tab, tab.import_btn, write_csv(tmp_path / "本院价格.csv", PRICE_HEADER, PRICES, encoding="gbk"))
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4 and "未对照 1 个" in tab.counts.text(), timeout=10000)
    win.tabs.setCurrentWidget(ready)
    qtbot.mouseClick(ready.refresh_btn, LEFT)
    qtbot.waitUntil(lambda: ready.last.ready and "可以开始结算" in ready.verdict.text(), timeout=10000)
    settle = win.settle_tab
    win.tabs.setCurrentWidget(settle)
    qtbot.waitUntil(lambda: settle.ctx.ops.pending == 0, timeout=10000)
    find(qtbot, settle, psn)
    add(qtbot, settle, "A02", "2")
    add(qtbot, settle, "S01")
    add(qtbot, settle, "Z01")
    assert [ln["code"] for ln in settle.items.lines] == ["A02", "S01", "Z01"]
    settle_by_keys(qtbot, settle)
    rec = settle.last_record
    assert rec.result["medfee_sumamt"] == "62.60" and rec.result["overlmt_selfpay"] == "3.60"
    assert rec.result["fulamt_ownpay_amt"] == "5.00" and [i["chrgitm_lv"] for i in rec.items] == ["02", "01", "03"]
    assert "中药代煎" in settle.split_view.notices.text() and "全自费" in settle.split_view.notices.text()
    seen = {}
    preview = Modal(preview_painted_then_closed(qtbot, seen))
    qtbot.keyClick(settle, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: preview.done and seen.get("pages", 0) >= 1, timeout=15000)
    assert (tmp_path / "receipts" / f"{rec.setl_no}.pdf").is_file()
    with db.read() as s:
        assert s.execute(select(m.Settlement.setl_no)).scalars().all() == [rec.setl_no]
    win.ctx.ops.wait()


def test_the_price_list_is_edited_in_the_window(qtbot, admin_window, db):
    tab = admin_window.prices_tab
    admin_window.tabs.setCurrentWidget(tab)
    qtbot.keyClicks(tab.search, "tbf")  # pinyin initials of 头孢呋辛酯片
    qtbot.waitUntil(lambda: [i.code for i in tab.model.rows] == ["XJ01DCA030A001"], timeout=10000)
    tab.view.selectRow(0)

    def new_price(w):
        qtbot.keyClicks(w.new_price, "30.00")
        qtbot.mouseClick(w.ok_btn, LEFT)

    answered = Modal(new_price)
    qtbot.mouseClick(tab.price_btn, LEFT)
    qtbot.waitUntil(lambda: answered.done and "单价 30.00" in tab.result.text(), timeout=10000)
    tomorrow = date.today() + timedelta(days=1)
    assert catalogue.search_items(db, "XJ01DCA030A001", on=tomorrow)[0].price == "30.00"
    assert catalogue.search_items(db, "XJ01DCA030A001")[0].price == "23.80"  # today keeps its price

    def unmap(w):
        assert "头孢" in w.search.text()
        qtbot.waitUntil(lambda: w.model.rowCount() >= 1, timeout=10000)
        assert w.model.rows[0].class_label == "乙类" and w.model.rows[0].pay_std == "22.00"
        qtbot.mouseClick(w.unmap_btn, LEFT)

    answered = Modal(unmap)
    qtbot.mouseClick(tab.map_btn, LEFT)
    qtbot.waitUntil(lambda: answered.done and "取消对照" in tab.result.text(), timeout=10000)
    qtbot.waitUntil(lambda: "未对照 1 个" in tab.counts.text(), timeout=10000)
    tab.view.selectRow(0)
    qtbot.mouseClick(tab.stop_btn, LEFT)
    qtbot.waitUntil(lambda: "已停用" in tab.result.text() and tab.model.rowCount() == 0, timeout=10000)
    with db.read() as s:
        assert s.get(m.ClinicItem, "XJ01DCA030A001").active is False  # stopped, never deleted
    assert QDialog  # (imported for the helpers' isinstance checks)


def test_the_readiness_panel_names_the_real_tab_and_the_unmapped_items_and_an_empty_list_is_not_mapped(qtbot,
                                                                                                    tmp_path):
    """A new clinic read 在“管理”中导入 (no tab is called 管理), ✔ 目录对照 所有项目都已对照 with an empty price
    list, and a count of unmapped items without their names."""
    from PySide6.QtWidgets import QLabel

    from desktop_app.store.db import open_db

    db = open_db(tmp_path / "clinic.sqlite3")
    win = _window(qtbot, db, tmp_path, _first_start_and_login(qtbot, db))
    ready = win.readiness_tab
    qtbot.waitUntil(lambda: ready.last is not None and win.tabs.currentWidget() is ready, timeout=10000)

    def line(key):
        return ready.findChild(QLabel, f"ready_{key}").text()

    tabs = [win.tabs.tabText(i).replace("&", "") for i in range(win.tabs.count())]
    said = "\n".join(lb.text() for lb in ready.findChildren(QLabel))
    assert "“管理”" not in said
    for key in ("packs", "roster"):
        named = line(key).split("“")[1].split("”")[0]
        assert named in tabs, (named, tabs)
    assert "✔" not in line("mapping") and "所有项目都已对照" not in line("mapping"), line("mapping")
    _identity_packs_roster(qtbot, win, tmp_path)
    tab = win.prices_tab
    win.tabs.setCurrentWidget(tab)
    _import(qtbot, tab, tab.catalogue_btn, write_xlsx(tmp_path / "省医保目录.xlsx", CAT_HEADER, CATALOGUE))
    _import(qtbot, tab, tab.import_btn, write_csv(tmp_path / "本院价格.csv", PRICE_HEADER, PRICES, encoding="gbk"))
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=10000)
    win.tabs.setCurrentWidget(ready)
    qtbot.mouseClick(ready.refresh_btn, LEFT)
    qtbot.waitUntil(lambda: ready.last.ready, timeout=10000)
    assert "!" in line("mapping") and "中药代煎" in line("mapping"), line("mapping")
    win.ctx.ops.wait()
