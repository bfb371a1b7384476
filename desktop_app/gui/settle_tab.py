"""结算 screen: find the person, enter the visit and its items, pre-settle (F5), settle (F9), print (F10).

Keyboard path: type or scan into the search box, Enter picks the first hit, the
item box gets focus; type a code/name/pinyin, Enter moves to the quantity, Enter
adds the line and returns to the item box; F5 shows the split with the reason
for every figure; F9 settles once per visit (one request token per visit).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from PySide6.QtCore import QDate, QSortFilterProxyModel, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.model import BENEFITS, DELIVERIES, FIELD_STEPS, MONEY_LABELS
from desktop_app.gui.models import ItemsModel, ResultsModel
from desktop_app.gui.validate import amount
from desktop_app.services import catalogue, ledger, lookup

SPLIT_ROWS = tuple((f, MONEY_LABELS[f]) for f in (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "hifmi_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"))
WHY_STEPS = FIELD_STEPS


class SettleTab(QWidget):
    settled = Signal(object)  # SettlementRecord

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx  # AppContext: db, ops, operator, settings, receipts_dir
        self.person = None
        self.token = uuid.uuid4().hex
        self.preview_result: dict | None = None
        self._search_gen = 0
        self._person_gen = 0
        self._settling = False
        self._items_by_label: dict[str, object] = {}
        self.last_record = None
        self._build()
        self._load_catalogue()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        top = QSplitter(Qt.Orientation.Horizontal)
        # search
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(self.tr("扫码 / 身份证号 / 人员编号 / 姓名 / 拼音首字母（F2）"))
        self.search.setClearButtonEnabled(True)
        ll.addWidget(self.search)
        self.results = ResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.results)
        self.results_view = QTableView()
        self.results_view.setObjectName("results")
        self.results_view.setModel(self.proxy)
        self.results_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.verticalHeader().hide()
        self.results_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.results_view.horizontalHeader().setStretchLastSection(True)
        self.results_view.setSortingEnabled(True)
        ll.addWidget(self.results_view)
        top.addWidget(left)
        # person details
        self.person_box = QGroupBox(self.tr("参保人"))
        pl = QVBoxLayout(self.person_box)
        self.person_label = QLabel(self.tr("请先查找参保人"))
        self.person_label.setObjectName("person")
        self.person_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.person_label.setWordWrap(True)
        pl.addWidget(self.person_label)
        self.caps = QGridLayout()
        pl.addLayout(self.caps)
        pl.addStretch(1)
        top.addWidget(self.person_box)
        top.setSizes([520, 480])
        root.addWidget(top, 3)

        # visit
        visit = QGroupBox(self.tr("就诊"))
        vl = QVBoxLayout(visit)
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
        fl3 = QFormLayout()
        self.item_entry = QLineEdit()
        self.item_entry.setObjectName("item_entry")
        self.item_entry.setPlaceholderText(self.tr("项目编码 / 名称 / 拼音首字母"))
        self.qty = QLineEdit("1")
        self.qty.setObjectName("qty")
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
        vl.addLayout(form)
        vl.addLayout(fl3)
        self.items = ItemsModel(self)
        self.items_view = QTableView()
        self.items_view.setObjectName("items")
        self.items_view.setModel(self.items)
        self.items_view.verticalHeader().hide()
        self.items_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.items_view.horizontalHeader().setSectionResizeMode(ItemsModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.items_view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                        | QAbstractItemView.EditTrigger.EditKeyPressed
                                        | QAbstractItemView.EditTrigger.AnyKeyPressed)
        vl.addWidget(self.items_view)
        bottom = QHBoxLayout()
        self.total_label = QLabel(self.tr("合计：0.00 元"))
        self.total_label.setObjectName("total")
        bottom.addWidget(self.total_label)
        bottom.addStretch(1)
        self.use_account = QCheckBox(self.tr("使用个人账户"))
        self.use_account.setChecked(True)
        bottom.addWidget(self.use_account)
        self.remove_btn = QPushButton(self.tr("删除行（Del）"))
        self.presettle_btn = QPushButton(self.tr("预结算（F5）"))
        self.presettle_btn.setObjectName("presettle")
        self.settle_btn = QPushButton(self.tr("结算（F9）"))
        self.settle_btn.setObjectName("settle")
        self.print_btn = QPushButton(self.tr("打印（F10）"))
        self.new_btn = QPushButton(self.tr("新就诊（Ctrl+N）"))
        for b in (self.remove_btn, self.presettle_btn, self.settle_btn, self.print_btn, self.new_btn):
            bottom.addWidget(b)
        vl.addLayout(bottom)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(visit)

        # pre-settlement
        pre = QGroupBox(self.tr("预结算"))
        prl = QVBoxLayout(pre)
        self.notices = QLabel("")
        self.notices.setObjectName("notices")
        self.notices.setStyleSheet("color: #c00000; font-weight: bold;")
        self.notices.setWordWrap(True)
        prl.addWidget(self.notices)
        self.split = QTableWidget(0, 3)
        self.split.setObjectName("split")
        self.split.setHorizontalHeaderLabels([self.tr("项目"), self.tr("金额（元）"), self.tr("依据")])
        self.split.verticalHeader().hide()
        self.split.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.split.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        prl.addWidget(self.split)
        self.result_label = QLabel("")
        self.result_label.setObjectName("result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        prl.addWidget(self.result_label)
        lower.addWidget(pre)
        lower.setSizes([700, 580])
        root.addWidget(lower, 5)

        # behaviour
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._search_enter)
        self.results_view.selectionModel().currentRowChanged.connect(self._pick_current)
        self.results_view.activated.connect(lambda _i: self.item_entry.setFocus())
        self.benefit.currentIndexChanged.connect(self._benefit_changed)
        self.item_entry.returnPressed.connect(self._item_enter)
        self.qty.returnPressed.connect(self.add_item)
        self.add_btn.clicked.connect(self.add_item)
        self.remove_btn.clicked.connect(self.remove_item)
        self.presettle_btn.clicked.connect(self.presettle)
        self.settle_btn.clicked.connect(self.settle)
        self.print_btn.clicked.connect(self.print_last)
        self.new_btn.clicked.connect(self.new_visit)
        self.items.dataChanged.connect(self._items_changed)
        self.items.rowsInserted.connect(self._items_changed)
        self.items.rowsRemoved.connect(self._items_changed)
        self.items.modelReset.connect(self._items_changed)
        self.use_account.toggled.connect(lambda _c: self._invalidate())
        self.visit_date.dateChanged.connect(lambda _d: self._invalidate())
        for seq, fn in ((QKeySequence(Qt.Key.Key_F2), self.focus_search), (QKeySequence(Qt.Key.Key_F5), self.presettle),
                        (QKeySequence(Qt.Key.Key_F9), self.settle), (QKeySequence(Qt.Key.Key_F10), self.print_last),
                        (QKeySequence("Ctrl+N"), self.new_visit)):
            sc = QShortcut(seq, self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        dl = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.items_view)
        dl.setContext(Qt.ShortcutContext.WidgetShortcut)
        dl.activated.connect(self.remove_item)
        self.setTabOrder(self.search, self.results_view)
        self.setTabOrder(self.results_view, self.visit_date)
        self.setTabOrder(self.visit_date, self.benefit)
        self.setTabOrder(self.benefit, self.disease)
        self.setTabOrder(self.disease, self.delivery)
        self.setTabOrder(self.delivery, self.item_entry)
        self.setTabOrder(self.item_entry, self.qty)
        self.setTabOrder(self.qty, self.add_btn)
        self.setTabOrder(self.add_btn, self.items_view)
        self.setTabOrder(self.items_view, self.use_account)
        self.setTabOrder(self.use_account, self.presettle_btn)
        self.setTabOrder(self.presettle_btn, self.settle_btn)
        self.setTabOrder(self.settle_btn, self.print_btn)
        self.setTabOrder(self.print_btn, self.new_btn)

    # ---------------------------------------------------------------- catalogue
    def _load_catalogue(self) -> None:
        def done(items):
            labels = []
            for it in items:
                label = f"{it.code} {it.name} [{it.pinyin}] {it.price}/{it.unit}"
                self._items_by_label[label] = it
                labels.append(label)
            comp = QCompleter(QStringListModel(labels, self), self)
            comp.setFilterMode(Qt.MatchFlag.MatchContains)
            comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            comp.setMaxVisibleItems(12)
            comp.activated.connect(self._completer_picked)
            self.item_entry.setCompleter(comp)

        self.ctx.ops.read(catalogue.all_items, self.ctx.db, done=done, failed=self._show_error)

    def _completer_picked(self, label: str) -> None:
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

    # ------------------------------------------------------------------ search
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _run_search(self) -> None:
        q = self.search.text()
        self._search_gen += 1
        gen = self._search_gen

        def done(hits):
            if gen != self._search_gen:
                return  # the clerk typed on; a newer search is under way
            self._set_hits(hits)
            if hits:
                self.results_view.selectRow(0)

        self.ctx.ops.read(lookup.search, self.ctx.db, q, done=done, failed=self._show_error)

    def _set_hits(self, hits) -> None:
        first = not self.results.hits
        self.results.set_hits(hits)
        if first and hits:
            self.results_view.resizeColumnsToContents()  # once; no relayout on every keystroke

    def _search_enter(self) -> None:
        self._search_timer.stop()
        q = self.search.text()
        self._search_gen += 1
        gen = self._search_gen

        def done(hits):
            if gen != self._search_gen:
                return
            self._set_hits(hits)
            if hits:
                self.results_view.selectRow(0)
                self.item_entry.setFocus()
            else:
                self.person_label.setText(self.tr("没有找到“{0}”").format(q))

        self.ctx.ops.read(lookup.search, self.ctx.db, q, done=done, failed=self._show_error)

    def _pick_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        hit = self.results.hits[self.proxy.mapToSource(current).row()]
        self.load_person(hit.psn_no)

    def load_person(self, psn_no: str, *, new_visit: bool = True) -> None:
        show_full = self.ctx.operator.role == "supervisor" and self.ctx.show_full_id
        self._person_gen += 1
        gen = self._person_gen

        def done(sm):
            if gen != self._person_gen:
                return  # another person was picked meanwhile; reads may finish out of order
            self.person = sm
            self._show_person(sm)
            if new_visit:
                self.new_visit(keep_person=True)

        self.ctx.ops.read(lookup.summary, self.ctx.db, psn_no, show_full_id=show_full, done=done,
                          failed=self._show_error)

    def _show_person(self, s) -> None:
        idn = s.id_full or s.id_masked
        dis = "、".join(f"{c} {n}" for c, n in s.registered_diseases) or "无"
        wait = ""
        if s.pay_period == "延长" and s.paid_on and not s.waiting_exempt:
            wait = f"<br><span style='color:#c00000'>延长缴费期缴费（{s.paid_on}），注意待遇等待期</span>"
        self.person_label.setText(
            f"<b style='font-size:15px'>{s.name}</b>　{s.gender}　{s.age}岁<br>"
            f"身份证号：{idn}　人员编号：{s.psn_no}<br>"
            f"{s.insutype_label} · {s.category_label} · 参保地 {s.admdvs} {s.region}<br>"
            f"家庭医生签约：{s.family_doctor_at or '无'}　登记病种：{dis}<br>"
            f"个人账户余额：{s.acct_balance} 元　（中心数据截至 {s.as_of}）{wait}")
        self.person_box.setUpdatesEnabled(False)
        try:
            self._show_caps(s)
        finally:
            self.person_box.setUpdatesEnabled(True)

    def _show_caps(self, s) -> None:
        """Cap bars are created once per row and reused: no widget churn while the clerk searches."""
        rows = getattr(self, "_cap_rows", [])
        while len(rows) < len(s.benefits):
            r = len(rows)
            rows.append((QLabel(), QProgressBar(), QLabel()))
            for col, w in enumerate(rows[-1]):
                self.caps.addWidget(w, r, col)
        self._cap_rows = rows
        for i, (name_l, bar, q_l) in enumerate(rows):
            visible = i < len(s.benefits)
            for w in (name_l, bar, q_l):
                w.setVisible(visible)
            if not visible:
                continue
            b = s.benefits[i]
            name_l.setText(b.benefit_label + (f"（{b.disease}）" if b.disease else ""))
            bar.setObjectName(f"cap_{b.benefit}")
            if b.annual_cap:
                bar.setRange(0, int(b.annual_cap * 100))
                bar.setValue(min(int(b.fund_paid * 100), int(b.annual_cap * 100)))
                bar.setFormat(f"已付 {b.fund_paid} / 限额 {b.annual_cap}，剩余 {b.annual_remaining}")
            else:
                bar.setRange(0, 1)
                bar.setValue(0)
                bar.setFormat(f"已付 {b.fund_paid}；{b.cap_note}")
            bar.setTextVisible(True)
            bar.setToolTip(b.basis)
            q_l.setText(f"第{b.quarter}季度剩余 {b.quarterly_remaining}" if b.quarterly_cap else "")

    # ------------------------------------------------------------------ visit
    def _benefit_changed(self) -> None:
        code = self.benefit.currentData()
        self.disease.setEnabled(code == "chronic_special")
        self.delivery.setEnabled(code == "maternity_delivery")
        self.disease.clear()
        if code == "chronic_special" and self.person is not None:
            for c, n in self.person.registered_diseases:
                self.disease.addItem(f"{c} {n}", c)
            if not self.person.registered_diseases:
                self.disease.addItem("M01904 肝豆状核变性（未登记）", "M01904")
        self._invalidate()

    def _item_enter(self) -> None:
        it = self._find_item(self.item_entry.text())
        if it is None:
            self.entry_msg.setText(self.tr("找不到该项目，或匹配多个项目：请从下拉列表选择"))
            return
        self.entry_msg.setText("")
        self.item_entry.setText(f"{it.code} {it.name} [{it.pinyin}] {it.price}/{it.unit}")
        self._items_by_label.setdefault(self.item_entry.text(), it)
        self.qty.setFocus()
        self.qty.selectAll()

    def add_item(self) -> None:
        it = self._find_item(self.item_entry.text())
        if it is None:
            self.entry_msg.setText(self.tr("请先选择费用项目"))
            self.item_entry.setFocus()
            return
        q, msg = amount(self.qty.text(), self.tr("数量"), max_dp=2, positive=True)
        if msg:
            self.entry_msg.setText(msg)
            self.qty.setFocus()
            self.qty.selectAll()
            return
        self.entry_msg.setText("")
        self.items.add(it, q)
        self.item_entry.clear()
        self.qty.setText("1")
        self.item_entry.setFocus()

    def remove_item(self) -> None:
        idx = self.items_view.currentIndex()
        if idx.isValid():
            self.items.remove(idx.row())

    def _items_changed(self, *_a) -> None:
        self.total_label.setText(self.tr("合计：{0} 元").format(f"{self.items.total():.2f}"))
        err = self.items.first_error()
        self.entry_msg.setText(err)
        self._invalidate()

    def _invalidate(self) -> None:
        self.preview_result = None

    def new_visit(self, keep_person: bool = False) -> None:
        self.items.clear()
        self.split.setRowCount(0)
        self.notices.setText("")
        self.result_label.setText("")
        self.token = uuid.uuid4().hex  # one request token per visit: F9 twice settles once
        self.preview_result = None
        self.visit_date.setDate(QDate.currentDate())
        if not keep_person:
            self.person = None
            self.person_label.setText(self.tr("请先查找参保人"))
            self.focus_search()
        self._benefit_changed()

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
        code = self.benefit.currentData()
        qd = self.visit_date.date()
        return ledger.VisitInput(
            psn_no=self.person.psn_no, date=date(qd.year(), qd.month(), qd.day()), benefit=code,
            items=[ledger.ItemInput(code=ln["code"], qty=ln["qty"], price=ln["price"], name=ln["name"],
                                    kind=ln["kind"], chrgitm_lv=ln["chrgitm_lv"], pay_std=ln["pay_std"])
                   for ln in self.items.lines],
            disease=self.disease.currentData() if code == "chronic_special" else None,
            delivery=self.delivery.currentData() if code == "maternity_delivery" else None,
            use_account=self.use_account.isChecked(),
        )

    # ------------------------------------------------------------- pre-settle
    def presettle(self) -> None:
        v = self.visit_input()
        if v is None:
            return

        def done(pv):
            self.preview_result = pv.result
            self.show_split(pv.result)

        self.ctx.ops.read(ledger.presettle, self.ctx.db, v, done=done, failed=self._ledger_error)

    def show_split(self, r: dict) -> None:
        trace = r.get("trace", [])
        self.split.setRowCount(0)
        for field, label in SPLIT_ROWS:
            value = r[field]
            if field in ("hifmi_pay", "hifob_pay", "acct_mulaid_pay") and Decimal(value) == 0:
                continue
            row = self.split.rowCount()
            self.split.insertRow(row)
            name = label + (f"（{Decimal(r['pool_prop_selfpay']) * 100:.0f}%）" if field == "hifp_pay" else "")
            self.split.setItem(row, 0, QTableWidgetItem(name))
            it = QTableWidgetItem(value)
            it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if field in ("hifp_pay", "psn_cash_pay"):
                f = it.font()
                f.setBold(True)
                it.setFont(f)
            self.split.setItem(row, 1, it)
            why = [f"{t.get('label', t['step'])}：{t['basis']}" for t in trace if t["step"] in WHY_STEPS.get(field, ())]
            why_item = QTableWidgetItem("；".join(why))
            why_item.setToolTip("\n".join(why))
            self.split.setItem(row, 2, why_item)
        self.split.resizeColumnsToContents()
        self.split.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.notices.setText("\n".join("⚠ " + n["message"] for n in r.get("notices", [])))

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
        token = self.token

        def do(db, visit, tok, op, receipts_dir, fmt, font):
            rec = ledger.settle(db, visit, token=tok, operator=op)
            from desktop_app.reports.receipt import save_receipt

            path = save_receipt(rec, receipts_dir / f"{rec.setl_no}.pdf", fmt, font_path=font)
            return rec, path

        def done(out):
            rec, path = out
            self._settling = False
            self.settle_btn.setEnabled(True)
            self.last_record = rec
            self.show_split(rec.result)
            self.result_label.setText(
                self.tr("已结算：结算单号 {0}　统筹支付 {1} 元　个人现金 {2} 元　结算单 {3}").format(
                    rec.setl_no, rec.result["hifp_pay"], rec.result["psn_cash_pay"], path))
            self.result_label.setStyleSheet("color: #006100; font-weight: bold;")
            self.settled.emit(rec)
            if self.person is not None:
                self.load_person(self.person.psn_no, new_visit=False)  # caps refreshed, result kept on screen

        def failed(exc):
            self._settling = False
            self.settle_btn.setEnabled(True)
            self._ledger_error(exc)

        st = self.ctx.settings
        self.ctx.ops.write(do, self.ctx.db, v, token, self.ctx.operator.login, self.ctx.receipts_dir,
                           st.get("receipt_format"), st.get("font_path") or None, done=done, failed=failed)

    def print_last(self) -> None:
        if self.last_record is None:
            self._warn(self.tr("还没有可打印的结算单"))
            return
        from desktop_app.reports.qtprint import preview_dialog
        from desktop_app.reports.receipt import ReceiptData, layout

        dlg = preview_dialog(layout(ReceiptData.from_record(self.last_record), self.ctx.settings.get("receipt_format")),
                             self, self.ctx.settings.get("printer"))
        dlg.exec()

    # ----------------------------------------------------------------- errors
    def _warn(self, text: str) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #c00000; font-weight: bold;")

    def _ledger_error(self, exc) -> None:
        msg = getattr(exc, "message", None) or str(exc)
        self._warn(msg)
        self.split.setRowCount(0)
        item = QTableWidgetItem(msg)
        item.setForeground(QColor("#c00000"))

    def _show_error(self, exc) -> None:
        self._warn(str(exc))
