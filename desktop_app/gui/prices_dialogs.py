"""The dialogs of the 收费目录 tab: add an item, change its price from a date, map it onto the insurance
catalogue (search by name, pinyin initials or code; class, payment standard and limits shown)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from desktop_app.gui.models import ColumnModel
from desktop_app.services import catalogue
from desktop_app.services.catalogue_rows import FEE_CATEGORIES, price_cell, price_row
from desktop_app.services.roster_rows import BadCell


def _qdate(d: QDate) -> date:
    return date(d.year(), d.month(), d.day())


def _date_edit(d: QDate) -> QDateEdit:
    w = QDateEdit(d)
    w.setCalendarPopup(True)
    w.setDisplayFormat("yyyy-MM-dd")
    return w


def _error_label() -> QLabel:
    msg = QLabel("")
    msg.setObjectName("dialog_msg")
    msg.setStyleSheet("color: #c00000;")
    msg.setWordWrap(True)
    return msg


class ItemDialog(QDialog):
    """添加项目: the columns of the price-list file. `fields` holds them once accepted (checked as a file row
    would be; the code, the mapping and the role are checked again by the service)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("添加收费项目"))
        self.fields: dict[str, str] = {}
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, n, hint in (("机构项目编码", 32, "字母、数字"), ("机构项目名称", 128, ""), ("规格", 64, "可不填"),
                             ("单位", 16, "盒、次、支…"), ("单价", 12, "元")):
            w = QLineEdit()
            w.setObjectName(key)
            w.setMaxLength(n)
            w.setPlaceholderText(hint)
            self.edits[key] = w
            form.addRow(key, w)
        self.fee = QComboBox()
        self.fee.setObjectName("收费类别")
        self.fee.addItems(FEE_CATEGORIES)
        form.addRow(self.tr("收费类别"), self.fee)
        self.start = _date_edit(QDate.currentDate())
        form.addRow(self.tr("单价开始日期"), self.start)
        row = QHBoxLayout()
        self.ins_code = QLineEdit()
        self.ins_code.setObjectName("医保目录编码")
        self.ins_code.setPlaceholderText(self.tr("留空 = 不对照（全自费）"))
        row.addWidget(self.ins_code, 1)
        self.find_btn = QPushButton(self.tr("查找…"))
        row.addWidget(self.find_btn)
        form.addRow(self.tr("医保目录编码"), row)
        self.msg = _error_label()
        form.addRow("", self.msg)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("添加"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        self.ok_btn = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.find_btn.clicked.connect(self._find)

    def _find(self) -> None:
        dlg = MapDialog(self.ctx, self.edits["机构项目名称"].text().strip(), self)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen is not None:
            self.ins_code.setText(dlg.chosen)

    def check(self) -> None:
        fields = {k: w.text().strip() for k, w in self.edits.items()}
        fields |= {"收费类别": self.fee.currentText(), "医保目录编码": self.ins_code.text().strip(),
                   "开始日期": _qdate(self.start.date()).isoformat()}
        try:
            price_row(fields, 0)
        except BadCell as b:
            self.msg.setText(b.reason)
            if b.field in self.edits:
                self.edits[b.field].setFocus()
            return
        self.fields = fields
        self.accept()


class PriceDialog(QDialog):
    """调价: the new price and the day it starts (today or later; earlier visits keep their price)."""

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("调价：{0} {1}").format(item.code, item.name))
        self.price: str | None = None
        self.valid_from: date | None = None
        form = QFormLayout(self)
        form.addRow(self.tr("现行单价"), QLabel(item.price or self.tr("（今天无单价）")))
        self.new_price = QLineEdit()
        self.new_price.setObjectName("new_price")
        self.new_price.setMaxLength(12)
        form.addRow(self.tr("新单价（元）"), self.new_price)
        self.start = _date_edit(QDate.currentDate().addDays(1))
        self.start.setObjectName("price_from")
        self.start.setMinimumDate(QDate.currentDate())
        form.addRow(self.tr("开始日期"), self.start)
        form.addRow("", QLabel(self.tr("开始日期之前的就诊仍按原单价结算")))
        self.msg = _error_label()
        form.addRow("", self.msg)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("调价"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        self.ok_btn = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def check(self) -> None:
        try:
            self.price = price_cell(self.new_price.text(), "单价", required=True)
        except BadCell as b:
            self.msg.setText(b.reason)
            return
        self.valid_from = _qdate(self.start.date())
        self.accept()


class EntriesModel(ColumnModel):
    HEADERS = ("医保目录编码", "名称", "目录类别", "等级", "支付标准", "限定支付范围", "区划", "有效期")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        e = self.rows[index.row()]
        span = f"{e.valid_from} 起" + (f"，至 {e.valid_until} 前" if e.valid_until else "")
        return (e.code, e.name, e.category_label, e.class_label, e.pay_std or "", e.limit_text,
                e.admdvs or "全省", span)[index.column()]


class MapDialog(QDialog):
    """对照: search the catalogue (rows in force today); `chosen` is the code picked, "" for 不对照, or None."""

    def __init__(self, ctx, query: str = "", parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.chosen: str | None = None
        self._gen = 0
        self.setWindowTitle(self.tr("对照医保目录"))
        self.resize(900, 460)
        lay = QVBoxLayout(self)
        self.search = QLineEdit(query)
        self.search.setObjectName("catalogue_search")
        self.search.setPlaceholderText(self.tr("医保目录名称、拼音首字母或编码"))
        lay.addWidget(self.search)
        self.model = EntriesModel(self)
        self.view = QTableView()
        self.view.setObjectName("catalogue_hits")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.view, 1)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        buttons = QDialogButtonBox()
        self.map_btn = buttons.addButton(self.tr("对照到所选"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.map_btn.setObjectName("map_chosen")
        self.unmap_btn = buttons.addButton(self.tr("不对照（全自费）"), QDialogButtonBox.ButtonRole.DestructiveRole)
        cancel = buttons.addButton(self.tr("取消"), QDialogButtonBox.ButtonRole.RejectRole)
        self.map_btn.clicked.connect(self._take)
        self.unmap_btn.clicked.connect(self._unmap)
        cancel.clicked.connect(self.reject)
        self.view.doubleClicked.connect(lambda _i: self._take())
        lay.addWidget(buttons)
        self.search.textChanged.connect(self._search)
        if query:
            self._search(query)

    def _search(self, text: str) -> None:
        self._gen += 1
        gen = self._gen

        def done(rows):
            if gen != self._gen:  # the clerk typed on
                return
            self.model.set_rows(rows)
            self.view.resizeColumnsToContents()
            self.info.setText(self.tr("{0} 条（今天有效的目录行）").format(len(rows)) if text.strip() else "")
            if rows:
                self.view.selectRow(0)

        self.ctx.ops.query(catalogue.search_catalogue, self.ctx.db, text, done=done,
                           failed=lambda e: self.info.setText(str(e)))

    def _take(self) -> None:
        idx = self.view.currentIndex()
        if not idx.isValid():
            self.info.setText(self.tr("请先在列表中选择一行"))
            return
        self.chosen = self.model.rows[idx.row()].code
        self.accept()

    def _unmap(self) -> None:
        self.chosen = ""
        self.accept()
