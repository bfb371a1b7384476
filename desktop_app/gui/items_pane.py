"""结算 screen, lower left: the visit — date, benefit (病种, 分娩方式 where they apply) and the fee
items entered from the keyboard — with the total and the screen's buttons.

Type a code, name or pinyin into the item box, Enter moves to the quantity, Enter adds the
line and returns to the item box; Del removes the selected line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import shiboken6
from PySide6.QtCore import QDate, QEvent, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from desktop_app.core.model import BENEFITS, DELIVERIES
from desktop_app.gui.models import ItemsModel
from desktop_app.gui.validate import amount
from desktop_app.services import catalogue, ledger_types


def _item_label(it) -> str:
    spec = f" {it.spec}" if it.spec else ""
    return f"{it.code} {it.name}{spec} [{it.pinyin}] {it.price or '无单价'}/{it.unit}"


class ItemsPane(QGroupBox):
    EDIT_TRIGGERS = (QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                     | QAbstractItemView.EditTrigger.AnyKeyPressed)
    changed = Signal()  # the visit changed: a pre-settlement on screen no longer applies
    search_requested = Signal()  # F2 pressed while the item drop-down had the keyboard
    failed = Signal(object)  # the catalogue could not be read (the exception)

    def __init__(self, ctx, person: Callable[[], object], parent=None):
        super().__init__(parent)
        self.setTitle(self.tr("就诊"))
        self.ctx = ctx
        self._person = person  # the PersonSummary picked (or None), asked when the benefit changes
        self._items_by_label: dict[str, object] = {}
        vl = QVBoxLayout(self)
        vl.addLayout(self._visit_form())
        vl.addLayout(self._entry_form())
        vl.addWidget(self._items_table())
        vl.addLayout(self._bottom_row())
        self._connect()

    # ------------------------------------------------------------------ layout
    def _visit_form(self) -> QVBoxLayout:
        form = QHBoxLayout()
        fl = QFormLayout()
        self.visit_date = QDateEdit(QDate.currentDate())
        self.visit_date.setCalendarPopup(True)
        self.visit_date.setDisplayFormat("yyyy-MM-dd")
        fl.addRow(self.tr("就诊日期"), self.visit_date)
        self.benefit = QComboBox()
        for code, label in BENEFITS.items():
            self.benefit.addItem(label, code)
        fl.addRow(self.tr("待遇类别"), self.benefit)
        form.addLayout(fl)
        fl2 = QFormLayout()
        self.disease = QComboBox()
        self.disease.setEnabled(False)
        fl2.addRow(self.tr("病种"), self.disease)
        self.delivery = QComboBox()
        for code, label in DELIVERIES.items():
            self.delivery.addItem(label, code)
        self.delivery.setEnabled(False)
        fl2.addRow(self.tr("分娩方式"), self.delivery)
        form.addLayout(fl2)
        outer = QVBoxLayout()
        outer.addLayout(form)
        diag = QFormLayout()
        self.diagnosis = QLineEdit()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setPlaceholderText(self.tr("可不填：ICD-10 编码 名称，如 J06.900 急性上呼吸道感染（印在结算单上）"))
        self.diagnosis.setMaxLength(120)
        diag.addRow(self.tr("诊断"), self.diagnosis)
        outer.addLayout(diag)
        return outer

    def _entry_form(self) -> QFormLayout:
        fl3 = QFormLayout()
        self.item_entry = QLineEdit()
        self.item_entry.setObjectName("item_entry")
        self.item_entry.setPlaceholderText(self.tr("项目编码 / 名称 / 拼音首字母"))
        self.item_entry.setMaxLength(100)
        self.qty = QLineEdit("1")
        self.qty.setObjectName("qty")
        self.qty.setMaxLength(12)
        self.qty.setMaximumWidth(80)
        row = QHBoxLayout()
        row.addWidget(self.item_entry, 1)
        row.addWidget(QLabel(self.tr("数量")))
        row.addWidget(self.qty)
        self.add_btn = QPushButton(self.tr("添加"))
        row.addWidget(self.add_btn)
        fl3.addRow(self.tr("费用项目"), row)
        self.entry_msg = QLabel("")
        self.entry_msg.setObjectName("entry_msg")
        self.entry_msg.setStyleSheet("color: #c00000;")
        fl3.addRow("", self.entry_msg)
        return fl3

    def _items_table(self) -> QTableView:
        self.items = ItemsModel(self, limits=self.limits)
        self.items_view = QTableView()
        self.items_view.setObjectName("items")
        self.items_view.setModel(self.items)
        self.items_view.verticalHeader().hide()
        self.items_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.items_view.horizontalHeader().setSectionResizeMode(ItemsModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.items_view.horizontalHeader().setMinimumSectionSize(36)
        self.items_view.setEditTriggers(self.EDIT_TRIGGERS)
        return self.items_view

    def _bottom_row(self) -> QVBoxLayout:
        """Two rows (total and account; the buttons), so the pane stays narrow enough for the split beside it
        on a 1024-pixel screen."""
        bottom = QVBoxLayout()
        first = QHBoxLayout()
        self.total_label = QLabel(self.tr("合计：0.00 元"))
        self.total_label.setObjectName("total")
        first.addWidget(self.total_label)
        first.addStretch(1)
        self.use_account = QCheckBox(self.tr("使用个人账户"))
        self.use_account.setChecked(True)
        first.addWidget(self.use_account)
        self.remove_btn = QPushButton(self.tr("删除行（Del）"))
        first.addWidget(self.remove_btn)
        bottom.addLayout(first)
        buttons = QHBoxLayout()
        self.presettle_btn = QPushButton(self.tr("预结算（F5）"))
        self.presettle_btn.setObjectName("presettle")
        self.settle_btn = QPushButton(self.tr("结算（F9）"))
        self.settle_btn.setObjectName("settle")
        self.print_btn = QPushButton(self.tr("打印（F10）"))
        self.new_btn = QPushButton(self.tr("新就诊（Ctrl+N）"))
        for b in (self.presettle_btn, self.settle_btn, self.print_btn, self.new_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        bottom.addLayout(buttons)
        return bottom

    def _connect(self) -> None:
        self.benefit.currentIndexChanged.connect(lambda _i: self.benefit_changed())
        self.item_entry.returnPressed.connect(self._item_enter)
        self.item_entry.textEdited.connect(self._input_edited)
        QApplication.instance().focusChanged.connect(self._focus_changed)
        self.qty.textEdited.connect(self._input_edited)
        self.qty.returnPressed.connect(self.add_item)
        self.add_btn.clicked.connect(lambda: self.add_item())
        self.remove_btn.clicked.connect(lambda: self.remove_item())
        self.items.dataChanged.connect(self._items_changed)
        self.items.rowsInserted.connect(self._items_changed)
        self.items.rowsRemoved.connect(self._items_changed)
        self.items.modelReset.connect(self._items_changed)
        self.items.layoutChanged.connect(lambda *_a: self._fit_columns())  # 适应症 shown: not a change of the visit
        self.use_account.toggled.connect(lambda _c: self.changed.emit())
        self.visit_date.dateChanged.connect(lambda _d: self.changed.emit())

    # ---------------------------------------------------------------- catalogue
    def load_catalogue(self) -> None:
        """The price list (today's prices and classes) for the item box; again whenever the 结算 tab is shown
        (the 收费目录 tab may have changed it)."""
        def done(items):
            self._items_by_label = {}
            labels = []
            for it in items:
                label = _item_label(it)
                self._items_by_label[label] = it
                labels.append(label)
            comp = QCompleter(QStringListModel(labels, self), self)
            comp.setFilterMode(Qt.MatchFlag.MatchContains)
            comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            comp.setMaxVisibleItems(12)
            comp.activated.connect(self._completer_picked)
            comp.popup().installEventFilter(self)
            self.item_entry.setCompleter(comp)

        self.ctx.ops.query(catalogue.all_items, self.ctx.db, done=done, failed=self.failed.emit)

    def eventFilter(self, obj, event) -> bool:
        """The drop-down never keeps the keyboard from F2: F2 while it has the keyboard closes it and hands
        F2 on (the cursor goes to the search box)."""
        comp = self.item_entry.completer()
        popup = comp.popup() if comp is not None else None
        if obj is popup and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_F2:
            popup.hide()
            self.search_requested.emit()
            return True
        return super().eventFilter(obj, event)

    def _focus_changed(self, _old, new) -> None:
        """The cursor went elsewhere (F2, a click): the drop-down closes, so what is typed goes where the cursor is."""
        if not shiboken6.isValid(self.item_entry):  # the window is being taken down
            return
        comp = self.item_entry.completer()
        if comp is not None and comp.popup().isVisible() and new not in (self.item_entry, comp.popup()):
            comp.popup().hide()

    def _input_edited(self, _text: str) -> None:
        """The clerk is correcting the entry: an old complaint about it goes (a bad line in the table stays)."""
        self.entry_msg.setText(self.items.first_error())

    def _close_drop_down(self) -> None:
        comp = self.item_entry.completer()
        if comp is not None and comp.popup().isVisible():
            comp.popup().hide()

    def _completer_picked(self, label: str) -> None:
        self._close_drop_down()  # the item is taken: the list has done its job
        self.item_entry.setText(label)
        self.qty.setFocus()
        self.qty.selectAll()

    def _find_item(self, text: str):
        text = text.strip()
        if text in self._items_by_label:
            return self._items_by_label[text]
        low = text.lower()
        exact = [it for it in self._items_by_label.values() if it.code == text or it.pinyin == low or it.name == text]
        if exact:
            return exact[0]
        some = [it for it in self._items_by_label.values()
                if it.code.startswith(text) or it.pinyin.startswith(low) or text in it.name]
        return some[0] if len(some) == 1 else None

    # ------------------------------------------------------------------ visit
    def limits(self) -> tuple[Decimal, Decimal]:
        """数量上限 and 单行金额上限 of the settings (the ledger refuses the same)."""
        st = self.ctx.settings
        return Decimal(st.get("max_qty")), Decimal(st.get("max_line_amount"))

    @property
    def locked(self) -> bool:
        return self.items.locked

    def set_locked(self, locked: bool) -> None:
        """A settled visit is read-only: date, benefit, 诊断, items, account; the table only scrolls."""
        self.items.locked = locked
        for w in (self.visit_date, self.benefit, self.diagnosis, self.item_entry, self.qty, self.add_btn,
                  self.remove_btn, self.use_account):
            w.setEnabled(not locked)
        self._enable_benefit_fields()
        self.items_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers if locked
                                        else self.EDIT_TRIGGERS)

    def _enable_benefit_fields(self) -> None:
        code = self.benefit.currentData()
        self.disease.setEnabled(code == "chronic_special" and not self.locked)
        self.delivery.setEnabled(code == "maternity_delivery" and not self.locked)

    def reset(self, *, full: bool) -> None:
        """A new visit: today, no lines, unlocked. `full` (Ctrl+N) also empties what was typed and goes back to
        the first benefit with the account used; a person picked keeps the benefit chosen."""
        self.set_locked(False)
        self.items.clear()
        self.visit_date.setDate(QDate.currentDate())
        if full:
            self.item_entry.clear()
            self.qty.setText("1")
            self.entry_msg.setText("")
            self.use_account.setChecked(True)
            if self.benefit.currentIndex() != 0:
                self.benefit.setCurrentIndex(0)  # benefit_changed follows
                return
        self.benefit_changed()

    def benefit_changed(self) -> None:
        code = self.benefit.currentData()
        person = self._person()
        self._enable_benefit_fields()
        self.disease.clear()
        if code == "chronic_special" and person is not None:
            for c, n in person.registered_diseases:
                self.disease.addItem(f"{c} {n}", c)
            if not person.registered_diseases:
                self.disease.addItem("M01904 肝豆状核变性（未登记）", "M01904")
        self.changed.emit()

    def _item_enter(self) -> None:
        it = self._find_item(self.item_entry.text())
        if it is None:
            self.entry_msg.setText(self.tr("找不到该项目，或匹配多个项目：请从下拉列表选择"))
            return
        self.entry_msg.setText("")
        self.item_entry.setText(_item_label(it))
        self._items_by_label.setdefault(self.item_entry.text(), it)
        self.qty.setFocus()
        self.qty.selectAll()

    def add_item(self) -> None:
        if self.locked:
            return
        it = self._find_item(self.item_entry.text())
        if it is None:
            self.entry_msg.setText(self.tr("请先选择费用项目"))
            self.item_entry.setFocus()
            return
        q, msg = amount(self.qty.text(), self.tr("数量"), max_dp=2, positive=True, maximum=self.limits()[0])
        msg = msg or self.items.add(it, q)
        if msg:
            self.entry_msg.setText(msg)
            self.qty.setFocus()
            self.qty.selectAll()
            return
        self.entry_msg.setText("")
        self.item_entry.clear()
        self._close_drop_down()
        self.qty.setText("1")
        self.item_entry.setFocus()

    def remove_item(self) -> None:
        idx = self.items_view.currentIndex()
        if idx.isValid():
            self.items.remove(idx.row())

    def _fit_columns(self) -> None:
        for c in range(self.items.columnCount()):  # every change: amounts are never cut to `1…`
            if c != ItemsModel.COL_NAME:  # (the name takes the rest of the width)
                self.items_view.resizeColumnToContents(c)

    def _items_changed(self, *_a) -> None:
        self._fit_columns()
        self.total_label.setText(self.tr("合计：{0} 元").format(f"{self.items.total():.2f}"))
        err = self.items.first_error()
        self.entry_msg.setText(err)
        self.changed.emit()

    def visit(self, psn_no: str) -> ledger_types.VisitInput:
        """The visit on screen for `psn_no` (the lines are checked by the caller: items.first_error())."""
        code = self.benefit.currentData()
        qd = self.visit_date.date()
        return ledger_types.VisitInput(
            psn_no=psn_no, date=date(qd.year(), qd.month(), qd.day()), benefit=code,
            # code and quantity only: price, class and kind come from the lists in force on the visit date;
            # the clerk's 适应症 confirmation where the line has a 限定支付范围
            items=[ledger_types.ItemInput(code=ln["code"], qty=ln["qty"],
                                          indication_confirmed=bool(ln.get("limit") and ln.get("confirmed")))
                   for ln in self.items.lines],
            disease=self.disease.currentData() if code == "chronic_special" else None,
            delivery=self.delivery.currentData() if code == "maternity_delivery" else None,
            use_account=self.use_account.isChecked(),
            diagnosis=self.diagnosis.text().strip() or None,
        )
