"""结算 screen: find the person, enter the visit and its items, pre-settle (F5), settle (F9), print (F10).

Keyboard path: type or scan into the search box, Enter picks the first hit, the
item box gets focus; type a code/name/pinyin, Enter moves to the quantity, Enter
adds the line and returns to the item box; F5 shows the split with the reason
for every figure; F9 settles once per visit (one request token per visit).

The screen composes three parts: the person (gui/person_pane.py), the visit and its
items (gui/items_pane.py) and the split (gui/split_view.py); it holds the visit's
request token and runs pre-settle, settle and print.
"""

from __future__ import annotations

import itertools
import uuid

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QSplitter, QVBoxLayout, QWidget

from desktop_app.gui.items_pane import ItemsPane
from desktop_app.gui.person_pane import PersonPane
from desktop_app.gui.split_view import SplitView
from desktop_app.services import ledger, settling


class SettleTab(QWidget):
    settled = Signal(object)  # SettlementRecord

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx  # AppContext: db, ops, operator, settings, receipts_dir
        self.token = uuid.uuid4().hex
        self.preview_result: dict | None = None
        self._settling = False
        self.last_record = None
        self._build()
        self._connect()
        self.items_pane.load_catalogue()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.person_pane = PersonPane(self.ctx)
        root.addWidget(self.person_pane, 3)
        self.items_pane = ItemsPane(self.ctx, lambda: self.person_pane.person)
        self.split_view = SplitView()
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.items_pane)
        lower.addWidget(self.split_view)
        lower.setChildrenCollapsible(False)
        lower.setStretchFactor(0, 5)
        lower.setStretchFactor(1, 4)
        lower.setSizes([560, 440])
        root.addWidget(lower, 5)
        # the parts' widgets, reached from the screen (tests, screenshots, the bench)
        pp, ip, sv = self.person_pane, self.items_pane, self.split_view
        self.search, self.results, self.proxy, self.results_view = pp.search, pp.results, pp.proxy, pp.results_view
        self.person_label = pp.person_label
        self.item_entry, self.qty, self.entry_msg, self.add_btn = ip.item_entry, ip.qty, ip.entry_msg, ip.add_btn
        self.items, self.items_view, self.total_label = ip.items, ip.items_view, ip.total_label
        self.presettle_btn, self.settle_btn, self.print_btn = ip.presettle_btn, ip.settle_btn, ip.print_btn
        self.split, self.notices, self.result_label = sv.split, sv.notices, sv.result_label

    def _connect(self) -> None:
        pp, ip = self.person_pane, self.items_pane
        pp.loaded.connect(self._person_loaded)
        pp.chosen.connect(lambda: self.item_entry.setFocus())
        pp.failed.connect(self._show_error)
        pp.loaded.connect(lambda *_a: self.split_view.clear_warning())  # a red "pick a person first" is stale now
        ip.changed.connect(self.split_view.clear_warning)
        ip.search_requested.connect(self.focus_search)
        ip.failed.connect(self._show_error)
        ip.changed.connect(self._invalidate)
        ip.presettle_btn.clicked.connect(self.presettle)
        ip.settle_btn.clicked.connect(self.settle)
        ip.print_btn.clicked.connect(self.print_last)
        ip.new_btn.clicked.connect(self.new_visit)
        for seq, fn in ((QKeySequence(Qt.Key.Key_F2), self.focus_search), (QKeySequence(Qt.Key.Key_F5), self.presettle),
                        (QKeySequence(Qt.Key.Key_F9), self.settle), (QKeySequence(Qt.Key.Key_F10), self.print_last),
                        (QKeySequence("Ctrl+N"), self.new_visit)):
            sc = QShortcut(seq, self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        dl = QShortcut(QKeySequence(Qt.Key.Key_Delete), ip.items_view)
        dl.setContext(Qt.ShortcutContext.WidgetShortcut)
        dl.activated.connect(ip.remove_item)
        order = (pp.search, pp.results_view, ip.visit_date, ip.benefit, ip.disease, ip.delivery, ip.diagnosis,
                 ip.item_entry, ip.qty,
                 ip.add_btn, ip.items_view, ip.use_account, ip.presettle_btn, ip.settle_btn, ip.print_btn, ip.new_btn)
        for a, b in itertools.pairwise(order):
            self.setTabOrder(a, b)

    # ------------------------------------------------------------------ person
    @property
    def person(self):
        """The PersonSummary picked (None before a search)."""
        return self.person_pane.person

    @person.setter
    def person(self, value) -> None:
        self.person_pane.person = value

    def focus_search(self) -> None:
        self.person_pane.focus_search()

    def load_person(self, psn_no: str, *, new_visit: bool = True) -> None:
        self.person_pane.load_person(psn_no, new_visit=new_visit)

    def _person_loaded(self, _summary, new_visit: bool) -> None:
        if new_visit:
            self.new_visit(keep_person=True)

    # ------------------------------------------------------------------ visit
    def _invalidate(self) -> None:
        self.preview_result = None

    def new_visit(self, keep_person: bool = False) -> None:
        self.items.clear()
        self.split_view.clear()
        self.token = uuid.uuid4().hex  # one request token per visit: F9 twice settles once
        self.preview_result = None
        self.items_pane.visit_date.setDate(QDate.currentDate())
        self.items_pane.diagnosis.clear()
        if not keep_person:
            self.person_pane.clear()
        self.items_pane.benefit_changed()

    def visit_input(self) -> ledger.VisitInput | None:
        if self.person is None:
            self._warn(self.tr("请先查找并选择参保人（F2）"))
            return None
        if not self.items.lines:
            self._warn(self.tr("请至少录入一条费用项目"))
            return None
        err = self.items.first_error()
        if err:
            self._warn(err)
            return None
        return self.items_pane.visit(self.person.psn_no)

    # ------------------------------------------------------------- pre-settle
    def presettle(self) -> None:
        v = self.visit_input()
        if v is None:
            return

        def done(pv):
            self.preview_result = pv.result
            self.split_view.show_split(pv.result)

        self.ctx.ops.query(ledger.presettle, self.ctx.db, v, done=done, failed=self.split_view.refused)

    # ------------------------------------------------------------------ settle
    def settle(self) -> None:
        if self._settling:
            return  # a second F9 while the first is under way settles nothing more
        v = self.visit_input()
        if v is None:
            return
        if self.preview_result is None:
            self.presettle()
        ans = QMessageBox.question(
            self, self.tr("确认结算"),
            self.tr("为 {0} 结算本次就诊？\n医疗费总额 {1} 元").format(self.person.name, f"{self.items.total():.2f}"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if ans != QMessageBox.StandardButton.Yes:
            return
        self._settling = True
        self.settle_btn.setEnabled(False)
        st = self.ctx.settings
        self.ctx.ops.change(settling.settle_and_save_receipt, self.ctx.db, v, token=self.token,
                            operator=self.ctx.operator.login, receipts_dir=self.ctx.receipts_dir,
                            receipt_format=st.get("receipt_format"), font_path=st.get("font_path") or None,
                            done=self._settled, failed=self._settle_failed)

    def _settled(self, out: settling.Settled) -> None:
        rec = out.record
        self._settling = False
        self.settle_btn.setEnabled(True)
        self.last_record = rec
        self.split_view.show_split(rec.result)
        self.split_view.say(self.tr("已结算：结算单号 {0}　统筹支付 {1} 元　个人现金 {2} 元　结算单 {3}").format(
            rec.setl_no, rec.result["hifp_pay"], rec.result["psn_cash_pay"], out.receipt))
        self.settled.emit(rec)
        if self.person is not None:
            self.load_person(self.person.psn_no, new_visit=False)  # caps refreshed, result kept on screen

    def _settle_failed(self, exc) -> None:
        self._settling = False
        self.settle_btn.setEnabled(True)
        self.split_view.refused(exc)

    def print_last(self) -> None:
        if self.last_record is None:
            self._warn(self.tr("还没有可打印的结算单"))
            return
        from desktop_app.reports.qtprint import preview_dialog
        from desktop_app.reports.receipt import ReceiptData, receipt_pages

        dlg = preview_dialog(receipt_pages(ReceiptData.from_record(self.last_record),
                                           self.ctx.settings.get("receipt_format")),
                             self, self.ctx.settings.get("printer"))
        dlg.exec()

    # ----------------------------------------------------------------- errors
    def _warn(self, text: str) -> None:
        self.split_view.warn(text)

    def _show_error(self, exc) -> None:
        self._warn(str(exc))
