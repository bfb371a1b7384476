"""结算 screen, top: find the insured person and show who it is.

Type or scan into the search box (a search runs 150 ms after the last key; Enter runs it at
once, picks the first hit and moves on to the items); the details beside it show the person,
the registered diseases, the account balance and a bar per benefit cap.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.models import ResultsModel
from desktop_app.services import lookup


class PersonPane(QSplitter):
    loaded = Signal(object, bool)  # (PersonSummary, whether a new visit starts for this person)
    chosen = Signal()  # Enter on a hit, or a hit activated: go on to the items
    failed = Signal(object)  # a search or a summary failed (the exception)

    def __init__(self, ctx, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.ctx = ctx  # AppContext: db, ops, operator
        self.person = None  # the PersonSummary shown
        self._search_gen = 0
        self._person_gen = 0
        self._cap_rows: list[tuple[QLabel, QProgressBar, QLabel]] = []
        self._build()
        self._connect()

    def _build(self) -> None:
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
        self.addWidget(left)
        self.person_box = QGroupBox(self.tr("参保人"))
        pl = QVBoxLayout(self.person_box)
        self.person_label = QLabel(self.tr("请先查找参保人"))
        self.person_label.setObjectName("person")
        self.person_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.person_label.setWordWrap(True)
        pl.addWidget(self.person_label)
        # 显示完整证件号: supervisors only, one person at a time, each click in the audit trail
        self.reveal_btn = QPushButton(self.tr("显示完整证件号"))
        self.reveal_btn.setObjectName("reveal_id")
        self.reveal_btn.setEnabled(False)
        self.reveal_btn.setVisible(self.ctx.operator.role == "supervisor")
        self.reveal_btn.clicked.connect(self._reveal_id)
        pl.addWidget(self.reveal_btn, 0, Qt.AlignmentFlag.AlignLeft)
        self.caps = QGridLayout()
        pl.addLayout(self.caps)
        pl.addStretch(1)
        self.addWidget(self.person_box)
        self.setSizes([520, 480])

    def _connect(self) -> None:
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._search_enter)
        self.results_view.selectionModel().currentRowChanged.connect(self._pick_current)
        self.results_view.activated.connect(lambda _i: self.chosen.emit())

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

        self.ctx.ops.query(lookup.search, self.ctx.db, q, done=done, failed=self.failed.emit)

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
                self.chosen.emit()
            else:
                self.person_label.setText(self.tr("没有找到“{0}”").format(q))

        self.ctx.ops.query(lookup.search, self.ctx.db, q, done=done, failed=self.failed.emit)

    def _pick_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        hit = self.results.hits[self.proxy.mapToSource(current).row()]
        self.load_person(hit.psn_no)

    # ------------------------------------------------------------------ person
    def load_person(self, psn_no: str, *, new_visit: bool = True) -> None:
        self._person_gen += 1
        gen = self._person_gen

        def done(sm):
            if gen != self._person_gen:
                return  # another person was picked meanwhile; reads may finish out of order
            self.person = sm
            self._show_person(sm)
            self.loaded.emit(sm, new_visit)

        self.ctx.ops.query(lookup.summary, self.ctx.db, psn_no, done=done, failed=self.failed.emit)

    def _reveal_id(self) -> None:
        s, gen = self.person, self._person_gen
        if s is None:
            return

        def done(full: str):
            if gen == self._person_gen and self.person is not None and self.person.psn_no == s.psn_no:
                self.person = replace(self.person, id_full=full)
                self._show_person(self.person)

        self.ctx.ops.change(lookup.reveal_id, self.ctx.db, s.psn_no, actor=self.ctx.operator.login, via="window",
                            done=done, failed=self.failed.emit)

    def clear(self) -> None:
        """No person: a new visit starts from the search box."""
        self.person = None
        self.person_label.setText(self.tr("请先查找参保人"))
        self.reveal_btn.setEnabled(False)
        self.focus_search()

    def _show_person(self, s) -> None:
        idn = s.id_full or s.id_masked
        self.reveal_btn.setEnabled(s.id_full is None)
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
        rows = self._cap_rows
        while len(rows) < len(s.benefits):
            r = len(rows)
            rows.append((QLabel(), QProgressBar(), QLabel()))
            for col, w in enumerate(rows[-1]):
                self.caps.addWidget(w, r, col)
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
