"""The window at the counter (issue #13): searching, layout, receipts, Chinese, settings — driven with real
widgets (keys and clicks), offscreen."""

from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

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
