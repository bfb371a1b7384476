"""The window at the counter (issue #13): searching, layout, receipts, Chinese, settings — driven with real
widgets (keys and clicks), offscreen."""

from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from desktop_app.errors import Refused
from desktop_app.services.roster import pinyin_keys
from desktop_app.store import models as m


def add_person(db, psn_no, name, id_no, admdvs="141102"):
    with db.write() as s:
        s.add(m.Person(psn_no=psn_no, id_no=id_no, name=name, gender="男", birth_date=date(1980, 1, 1),
                       insutype="390", category="resident", admdvs=admdvs, paid_on=date(2025, 12, 1),
                       pay_period="集中", waiting_exempt=False, family_doctor_at="", acct_balance=0,
                       as_of=date(2026, 1, 1), updated_at=datetime(2026, 1, 1)))
        s.flush()
        for k in pinyin_keys(name):
            s.add(m.PersonKey(psn_no=psn_no, key=k))


def type_search(qtbot, tab, text):
    tab.search.clear()
    tab.search.setFocus()
    if text.isascii():
        qtbot.keyClicks(tab.search, text)
    else:
        tab.search.insert(text)  # Chinese arrives through the input method
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and not tab.person_pane._search_timer.isActive(), timeout=10000)


def shown_names(tab):
    return [tab.proxy.index(r, 0).data() for r in range(tab.proxy.rowCount())]


# --------------------------------------------------------------------------- #13.6 searching
@pytest.fixture
def li_ming(db):
    add_person(db, "14110299000001", "李明华", "142301198001011111")
    add_person(db, "14110299000002", "李明", "142301198001012222")
    add_person(db, "14110299000003", "李明亮", "142301198001013333")
    return db


def test_exact_name_first_then_prefix_then_contains(qtbot, window, li_ming):
    tab = window.settle_tab
    type_search(qtbot, tab, "李明")
    qtbot.waitUntil(lambda: tab.proxy.rowCount() >= 3, timeout=10000)
    names = shown_names(tab)
    assert names[0] == "李明", names
    assert names.index("李明亮") < len(names) and names.index("李明华") < len(names)
    assert tab.results.hits[0].matched_by == "姓名"


def test_enter_with_many_hits_picks_nobody_until_the_clerk_moves(qtbot, window, li_ming):
    tab = window.settle_tab
    type_search(qtbot, tab, "李明")
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and "找到 3 人" in tab.person_pane.search_msg.text(), timeout=10000)
    assert tab.person is None
    assert window.focusWidget() is tab.search
    # the clerk moves down into the list, to the second row, and presses Enter
    qtbot.keyClick(tab.search, Qt.Key.Key_Down)
    assert window.focusWidget() is tab.results_view
    qtbot.keyClick(tab.results_view, Qt.Key.Key_Down)
    second = tab.proxy.index(1, 0).data()
    qtbot.keyClick(tab.results_view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.person is not None and tab.ctx.ops.pending == 0, timeout=10000)
    assert tab.person.name == second
    assert window.focusWidget() is tab.item_entry
    assert tab.person_pane.search_msg.text() == ""  # the count is not left behind


def test_enter_with_one_hit_picks_it(qtbot, window, li_ming):
    tab = window.settle_tab
    type_search(qtbot, tab, "李明亮")
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.person is not None and tab.ctx.ops.pending == 0, timeout=10000)
    assert tab.person.name == "李明亮" and window.focusWidget() is tab.item_entry


def test_pinyin_keeps_latin_letters_and_digits(qtbot, window, db):
    assert "wssc" in pinyin_keys("维生素C") and "weishengsuc" in pinyin_keys("维生素C")
    assert "z3f" in pinyin_keys("张3丰")
    add_person(db, "14110299000004", "阿依古丽A", "142301198001014444")
    tab = window.settle_tab
    type_search(qtbot, tab, "aygla")
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.person is not None and tab.ctx.ops.pending == 0, timeout=10000)
    assert tab.person.name == "阿依古丽A"
    # the items: 维生素C咀嚼片 is found by wssc
    qtbot.keyClicks(tab.item_entry, "wssc")
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Return)
    assert window.focusWidget() is tab.qty, tab.entry_msg.text()
    assert "维生素C" in tab.item_entry.text()


@pytest.mark.parametrize("digits", [4, 6])
def test_search_by_the_last_digits_of_the_id(qtbot, window, db, digits):
    add_person(db, "14110299000005", "赵末位", "14230119800101857X")
    tab = window.settle_tab
    type_search(qtbot, tab, "14230119800101857X"[-digits:])
    qtbot.waitUntil(lambda: any(h.name == "赵末位" for h in tab.results.hits), timeout=10000)
    hit = [h for h in tab.results.hits if h.name == "赵末位"][0]
    assert "身份证" in hit.matched_by


def test_long_pasted_text_never_pushes_the_layout(qtbot, window):
    tab = window.settle_tab
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280)
    before = (tab.search.width(), tab.results_view.width(), tab.person_pane.person_box.width(), window.size())
    tab.search.setFocus()
    tab.search.insert("Ω" * 500)  # scanner garbage, pasted
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and "没有找到" in tab.person_pane.search_msg.text(), timeout=10000)
    QApplication.processEvents()
    after = (tab.search.width(), tab.results_view.width(), tab.person_pane.person_box.width(), window.size())
    assert after == before
    assert len(tab.person_pane.search_msg.text()) < 200


def test_nothing_found_says_what_to_try(qtbot, window):
    tab = window.settle_tab
    type_search(qtbot, tab, "qqqqxx")
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "没有找到" in tab.person_pane.search_msg.text(), timeout=10000)
    text = tab.person_pane.search_msg.text()
    for hint in ("身份证号", "人员编号", "后4", "拼音"):
        assert hint in text, text


# --------------------------------------------------------------------------- #13.7 layout
def a_resident(db):
    from sqlalchemy import select

    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                m.Person.category == "resident").order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def pick(qtbot, tab, psn_no):
    type_search(qtbot, tab, psn_no)
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.person is not None and tab.ctx.ops.pending == 0, timeout=10000)


def add_line(qtbot, tab, code, qty="1"):
    qtbot.keyClicks(tab.item_entry, code)
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Return)
    tab.qty.selectAll()
    qtbot.keyClicks(tab.qty, qty)
    qtbot.keyClick(tab.qty, Qt.Key.Key_Return)


def sized(qtbot, window, w, h):
    window.showNormal()
    window.resize(w, h)
    qtbot.waitUntil(lambda: window.width() == w and window.height() == h, timeout=5000)
    QApplication.processEvents()


def fully_shown(view, row, col) -> bool:
    """The cell's text fits its column (nothing elided to `1…`)."""
    text = view.model().index(row, col).data() or ""
    fm = view.fontMetrics()
    return fm.horizontalAdvance(text) + 6 <= view.columnWidth(col)


def test_first_start_fits_the_screen(qtbot, db, tmp_path):
    from PySide6.QtCore import QSettings

    from desktop_app.gui.app import MainWindow, build_context
    from desktop_app.services import accounts

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    win = MainWindow(build_context(db, accounts.authenticate(db, "clerk", "clerk123")))
    qtbot.addWidget(win)
    win.show()
    avail = win.screen().availableGeometry()
    assert win.isMaximized() or (win.frameGeometry().width() <= avail.width()
                                 and win.frameGeometry().height() <= avail.height())
    win.showNormal()  # (this offscreen screen is 800 wide, less than the window's minimum; counters have ≥ 1024)
    assert win.width() <= max(avail.width(), win.minimumSizeHint().width()) and win.height() <= avail.height()
    win.ctx.ops.wait()


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_split_and_items_are_readable(qtbot, window, db, size):
    tab = window.settle_tab
    sized(qtbot, window, *size)
    pick(qtbot, tab, a_resident(db).psn_no)
    for code, qty in (("XJ01DCA030A001", "12"), ("250101015", "1"), ("HC0003", "100"), ("120400006", "30")):
        add_line(qtbot, tab, code, qty)
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.preview_result is not None and tab.split.rowCount() > 5, timeout=10000)
    QApplication.processEvents()
    split = tab.split
    widths = [split.columnWidth(c) for c in range(3)]
    assert sum(widths) <= split.viewport().width() + 1, (widths, split.viewport().width())
    assert widths[2] >= 120, widths  # 依据 is more than a sliver
    for r in range(split.rowCount()):
        assert fully_shown(split, r, 0) and fully_shown(split, r, 1), split.item(r, 1).text()
    # a click on a row shows its whole 依据 under the table (the column may be shortened with …)
    row = [r for r in range(split.rowCount()) if split.item(r, 2).toolTip()][0]
    qtbot.mouseClick(split.viewport(), Qt.MouseButton.LeftButton, pos=split.visualItemRect(split.item(row, 0)).center())
    assert split.item(row, 2).toolTip().split("\n")[0] in tab.split_view.why.text()
    items = tab.items_view
    cells = [(r, c) for r in range(items.model().rowCount())
             for c in (tab.items.COL_QTY, tab.items.COL_PRICE, tab.items.COL_AMOUNT)]
    qtbot.waitUntil(lambda: all(fully_shown(items, r, c) for r, c in cells), timeout=5000)  # (sized on layout)
    # the buttons are on screen, inside the window
    for b in (tab.presettle_btn, tab.settle_btn, tab.print_btn):
        assert b.isVisible()
        bottom = b.mapTo(window, b.rect().bottomRight())
        assert bottom.y() <= window.height() and bottom.x() <= window.width(), (b.text(), bottom)


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_cap_bar_text_is_never_clipped(qtbot, window, db, size):
    from PySide6.QtWidgets import QProgressBar

    tab = window.settle_tab
    sized(qtbot, window, *size)
    pick(qtbot, tab, a_resident(db).psn_no)
    bars = [b for b in tab.person_pane.person_box.findChildren(QProgressBar) if b.isVisible()]
    assert any(b.objectName() == "cap_assisted_reproduction" for b in bars)
    for b in bars:
        assert b.fontMetrics().horizontalAdvance(b.text()) + 12 <= b.width(), (b.text(), b.width())
    art = [b for b in bars if b.objectName() == "cap_assisted_reproduction"][0]
    assert "文件未给出数额" in art.toolTip()  # the whole note is there


def test_stale_red_messages_clear_when_the_input_is_fixed(qtbot, window, db):
    tab = window.settle_tab
    qtbot.keyClick(tab, Qt.Key.Key_F5)  # nobody picked yet
    assert "请先查找" in tab.result_label.text()
    pick(qtbot, tab, a_resident(db).psn_no)
    assert tab.result_label.text() == ""
    qtbot.keyClicks(tab.item_entry, "no-such-item")
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Return)
    assert "找不到该项目" in tab.entry_msg.text()
    tab.item_entry.selectAll()
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Backspace)
    assert tab.entry_msg.text() == ""


def test_the_item_drop_down_never_keeps_f2_from_the_search_box(qtbot, window, db):
    tab = window.settle_tab
    pick(qtbot, tab, a_resident(db).psn_no)
    comp = tab.item_entry.completer()
    qtbot.waitUntil(lambda: comp is not None or tab.item_entry.completer() is not None, timeout=10000)
    comp = tab.item_entry.completer()
    qtbot.keyClicks(tab.item_entry, "a")
    qtbot.waitUntil(lambda: comp.popup().isVisible(), timeout=5000)
    qtbot.keyClick(comp.popup(), Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: not comp.popup().isVisible(), timeout=5000)
    assert window.focusWidget() is tab.search
    qtbot.keyClicks(tab.search, "zz")
    assert tab.search.text().endswith("zz") and "zz" not in tab.item_entry.text()
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and not tab.person_pane._search_timer.isActive(), timeout=10000)


# --------------------------------------------------------------------------- #13.9 / #12.13 receipts
def answer_modal(act):
    """Answer the next modal dialog with `act(dialog)` once it is up (the way a clerk would)."""
    from PySide6.QtCore import QTimer

    def go():
        w = QApplication.activeModalWidget()
        if w is None:
            QTimer.singleShot(20, go)
            return
        act(w)

    QTimer.singleShot(0, go)


def press(button):
    from PySide6.QtWidgets import QMessageBox

    return lambda box: box.button(button).click() if isinstance(box, QMessageBox) else box.reject()


def pdf_text(path) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).replace(" ", "")


def settle_in_window(qtbot, window, db, diagnosis=""):
    from PySide6.QtWidgets import QMessageBox

    tab = window.settle_tab
    pick(qtbot, tab, a_resident(db).psn_no)
    if diagnosis:
        code, name = diagnosis.split(" ", 1)
        qtbot.keyClicks(tab.items_pane.diagnosis, code + " ")
        tab.items_pane.diagnosis.insert(name)
    tab.item_entry.setFocus()
    add_line(qtbot, tab, "XJ01CAA040A001", "2")
    add_line(qtbot, tab, "110200005", "1")
    answer_modal(press(QMessageBox.StandardButton.Yes))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.last_record is not None and tab.ctx.ops.pending == 0, timeout=15000)
    return tab.last_record


def test_settle_cancelled_at_the_confirmation_settles_nothing(qtbot, window, db):
    from PySide6.QtWidgets import QMessageBox

    tab = window.settle_tab
    pick(qtbot, tab, a_resident(db).psn_no)
    add_line(qtbot, tab, "110200005", "1")
    answer_modal(press(QMessageBox.StandardButton.No))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0 and QApplication.activeModalWidget() is None, timeout=10000)
    assert tab.last_record is None
    with db.read() as s:
        assert s.execute(select(m.Settlement)).first() is None


def test_the_receipt_from_the_window_is_one_an_auditor_accepts(qtbot, window, db):
    rec = settle_in_window(qtbot, window, db, diagnosis="J06.900 急性上呼吸道感染")
    receipt = window.ctx.receipts_dir / f"{rec.setl_no}.pdf"
    txt = pdf_text(receipt)
    assert "定点机构编码：H14110200031" in txt and "诊断：J06.900急性上呼吸道感染" in txt
    assert "离石区" in txt and "患者（家属）签字" in txt and "个人现金（大写）" in txt
    assert "盒" in txt and "次" in txt and "补打" not in txt and "遗失不补" not in txt
    assert window.settle_tab.items_pane.diagnosis.text() == "J06.900 急性上呼吸道感染"
    window.windowHandle().requestActivate()  # (the window manager's part once the confirmation has closed)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.settle_tab.item_entry.setFocus()
    qtbot.keyClick(window.settle_tab.item_entry, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.settle_tab.items_pane.diagnosis.text() == ""


def test_a_bad_diagnosis_is_refused_with_its_field(qtbot, window, db):
    tab = window.settle_tab
    pick(qtbot, tab, a_resident(db).psn_no)
    tab.items_pane.diagnosis.insert("感冒")
    tab.item_entry.setFocus()
    add_line(qtbot, tab, "110200005", "1")
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "诊断" in tab.result_label.text(), timeout=10000)
    assert "ICD-10" in tab.result_label.text()


def test_a_reprint_is_marked_and_kept(qtbot, window, db):
    from PySide6.QtPrintSupport import QPrintPreviewDialog

    rec = settle_in_window(qtbot, window, db)
    original = (window.ctx.receipts_dir / f"{rec.setl_no}.pdf").read_bytes()
    today = window.today_tab
    window.tabs.setCurrentWidget(today)
    qtbot.waitUntil(lambda: len(today.model.records) == 1, timeout=10000)
    today.view.selectRow(0)
    seen = []
    answer_modal(lambda dlg: (seen.append(dlg), dlg.reject()))  # the print preview: closed without printing
    qtbot.mouseClick(today.reprint_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已补打" in today.msg.text(), timeout=10000)
    qtbot.waitUntil(lambda: bool(seen) and QApplication.activeModalWidget() is None, timeout=10000)
    assert isinstance(seen[0], QPrintPreviewDialog)
    copies = list(window.ctx.receipts_dir.glob(f"{rec.setl_no}_补打_*.pdf"))
    assert len(copies) == 1 and copies[0].name in today.msg.text()
    txt = pdf_text(copies[0])
    assert "医疗保险结算单（补打）" in txt and "补打时间" in txt
    assert (window.ctx.receipts_dir / f"{rec.setl_no}.pdf").read_bytes() == original


def test_a_name_no_font_prints_is_warned_on_screen(qtbot, window, db, monkeypatch):
    from desktop_app.reports import fonts

    monkeypatch.setattr(fonts, "FALLBACK_CANDIDATES", ())
    monkeypatch.setattr(fonts, "_CACHE", {})
    add_person(db, "14110299000006", "𠮷野家", "142301198001016666")
    tab = window.settle_tab
    pick(qtbot, tab, "14110299000006")
    warn = tab.person_pane.glyph_warning
    qtbot.waitUntil(lambda: warn.isVisible(), timeout=10000)
    assert "𠮷" in warn.text() and "U+20BB7" in warn.text() and "□" in warn.text()


def test_a_name_a_font_prints_is_not_warned(qtbot, window, db):
    from desktop_app.reports import fonts

    fonts._CACHE.clear()
    if fonts.missing_glyphs("𠮷"):
        pytest.skip("no font with CJK Ext-B on this machine (Debian: fonts-hanazono, installed by .ci/run)")
    add_person(db, "14110299000007", "𠮷野家", "142301198001017777")
    tab = window.settle_tab
    pick(qtbot, tab, "14110299000007")
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0, timeout=10000)
    assert not tab.person_pane.glyph_warning.isVisible()
    assert "离石区" in tab.person_label.text()


# --------------------------------------------------------------------------- #13.10 Chinese throughout
def test_file_dialog_is_chinese_and_answers_both_ways(qtbot, admin_window, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QLabel

    admin = admin_window.admin_tab
    folder = tmp_path / "政策包"
    folder.mkdir()
    seen = {}

    def choose(dlg):
        seen["dialog"] = dlg
        seen["labels"] = [w.text() for w in dlg.findChildren(QLabel) if w.isVisible()]
        dlg.setDirectory(str(tmp_path))
        dlg.selectFile(str(folder))
        dlg.accept()

    answer_modal(choose)
    qtbot.mouseClick(admin.pack_browse, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.pack_path.text() != "", timeout=10000)
    assert isinstance(seen["dialog"], QFileDialog)
    labels = " ".join(seen["labels"])
    assert "Look in" not in labels and "Files of type" not in labels and "File name" not in labels, labels
    assert "查找范围" in labels, labels
    assert admin.pack_path.text() == str(folder)
    answer_modal(lambda dlg: dlg.reject())  # cancelled: the path stays
    qtbot.mouseClick(admin.pack_browse, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=10000)
    assert admin.pack_path.text() == str(folder)


def test_pack_import_says_what_happened_in_chinese(qtbot, admin_window, tmp_path):
    import shutil

    from desktop_app.core.pack_files import shipped_packs_dir

    admin = admin_window.admin_tab
    qtbot.waitUntil(lambda: admin.pack_info.text() != "", timeout=10000)
    assert "loaded" not in admin.pack_info.text()
    good = tmp_path / "lvliang"
    shutil.copytree(shipped_packs_dir() / "cn-141100-lvliang", good)
    toml = good / "pack.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"1.0.0"', '"1.0.1"'), encoding="utf-8")
    admin.pack_path.setText(str(good))
    admin.allow_unsigned.setChecked(True)
    qtbot.mouseClick(admin.pack_check_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.pack_sync_btn.isEnabled(), timeout=10000)
    qtbot.mouseClick(admin.pack_sync_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "已导入" in admin.pack_result.toPlainText(), timeout=10000)
    text = admin.pack_result.toPlainText()
    assert "升级" in text and "upgraded" not in text, text


def test_f1_lists_the_shortcuts_that_exist(qtbot, window):
    from PySide6.QtWidgets import QMessageBox

    seen = {}

    def read(box):
        seen["text"] = box.text()
        box.button(QMessageBox.StandardButton.Ok).click()

    answer_modal(read)
    window.settle_tab.search.setFocus()
    qtbot.keyClick(window.settle_tab.search, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: "text" in seen, timeout=5000)
    text = seen["text"]
    for key in ("F2", "F5", "F9", "F10", "Ctrl+N", "Del", "F1", "↓"):
        assert key in text, key
    assert f"Ctrl+1…{window.tabs.count()}" in text and "Ctrl+1…7" not in text  # a clerk has 4 screens (收费目录: #15)
    assert "选第一人" not in text  # Enter no longer takes the first of many


def test_the_region_shown_is_the_county(qtbot, window, db):
    tab = window.settle_tab
    pick(qtbot, tab, a_resident(db).psn_no)
    assert "141102 离石区" in tab.person_label.text()


# --------------------------------------------------------------------------- #13.11 settings, reports
def test_clinic_code_is_checked_and_the_status_bar_follows(qtbot, admin_window, db):
    from desktop_app.services import settings

    admin = admin_window.admin_tab
    code = admin.fields["clinic_code"]
    for bad in ("H123", "14110200031", "H1411020003X", "h141102000310"):
        code.selectAll()
        qtbot.keyClicks(code, bad)
        qtbot.mouseClick(admin.save_btn, Qt.MouseButton.LeftButton)
        assert "机构编码" in admin.settings_msg.text() and "H" in admin.settings_msg.text(), bad
        assert settings.load(db).clinic_code == "H14110200031"
    code.selectAll()
    qtbot.keyClicks(code, "H14110200099")
    qtbot.mouseClick(admin.save_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.settings_msg.text() == "已保存", timeout=10000)
    assert settings.load(db).clinic_code == "H14110200099"
    assert "H14110200099" in admin_window.statusBar().currentMessage()


def test_clinic_code_is_checked_by_the_service_too(db):
    from desktop_app.services import settings

    with pytest.raises(Refused, match="机构编码"):
        settings.save(db, {"clinic_code": "X1"}, actor="admin")


def test_month_report_and_export_from_the_window(qtbot, window, db, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    settle_in_window(qtbot, window, db)
    admin = window.admin_tab
    window.tabs.setCurrentWidget(admin)
    out = tmp_path / "对账"
    out.mkdir()

    def choose(dlg):
        assert isinstance(dlg, QFileDialog)
        dlg.setDirectory(str(tmp_path))
        dlg.selectFile(str(out))
        dlg.accept()

    answer_modal(choose)
    qtbot.mouseClick(admin.report_browse, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: admin.report_folder.text() == str(out), timeout=10000)
    qtbot.mouseClick(admin.month_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "月报" in admin.report_msg.text() and ".xlsx" in admin.report_msg.text(), timeout=15000)
    written = list(out.glob("*.xlsx"))
    assert written and str(written[0]) in admin.report_msg.text()
    qtbot.mouseClick(admin.export_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "对账导出" in admin.report_msg.text(), timeout=15000)
    manifests = list(out.rglob("manifest*.json"))
    assert manifests and str(manifests[0].parent) in admin.report_msg.text()
    assert "1 笔" in admin.report_msg.text()


def test_an_unmapped_item_says_self_pay_alike_on_screen_and_receipt_without_the_staff_instruction(qtbot, window, db):
    """A new clinic settled an item it had not mapped: the receipt printed the clerk's instruction
    （对照请在“收费目录”中操作）for the patient, and its class column said 丙 where the screen said 自费."""
    from PySide6.QtWidgets import QMessageBox

    from desktop_app.services import prices

    prices.add_item(db, {"机构项目编码": "ZF001", "机构项目名称": "中药代煎", "单位": "剂", "单价": "5.00",
                         "收费类别": "其他费", "开始日期": "2026-01-01"}, actor="admin", today=date(2026, 11, 23))
    tab = window.settle_tab
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)  # (the item went in there)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # back: the price list again
    qtbot.waitUntil(lambda: tab.ctx.ops.pending == 0, timeout=10000)
    pick(qtbot, tab, a_resident(db).psn_no)
    tab.item_entry.setFocus()
    add_line(qtbot, tab, "ZF001", "2")  # (the price list now in use holds only this item)
    model = tab.items_pane.items
    row = next(r for r in range(model.rowCount()) if model.index(r, model.COL_CODE).data() == "ZF001")
    on_screen = model.index(row, model.COL_CLASS).data()
    assert on_screen == "自费"
    answer_modal(press(QMessageBox.StandardButton.Yes))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.last_record is not None and tab.ctx.ops.pending == 0, timeout=15000)
    assert "收费目录" in "".join(n["message"] for n in tab.last_record.result["notices"])  # said to the clerk
    txt = pdf_text(window.ctx.receipts_dir / f"{tab.last_record.setl_no}.pdf")
    assert "中药代煎未纳入医保，按全自费结算" in txt
    assert "收费目录" not in txt and "对照" not in txt and "第1行" not in txt
    lines = txt.splitlines()
    row = lines[lines.index("中药代煎"):][:6]  # name, 规格/单位, 类别, 数量, 单价, 金额 (one text each)
    assert row[2] == on_screen and "丙" not in row, row
