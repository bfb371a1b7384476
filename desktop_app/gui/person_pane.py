"""结算 screen, top: find the insured person and show who it is.

Type or scan into the search box (a search runs 150 ms after the last key). Hits are listed in
rank order (the name exactly, then names starting with it, then pinyin). Enter picks a person
only when there is exactly one hit or the clerk moved to a row (↓ from the search box, then ↑↓
and Enter); with several hits it says how many and waits. The details beside it show the person,
the registered diseases, the account balance and a bar per benefit cap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import QEvent, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.models import ResultsModel
from desktop_app.gui.selfpay_pane import SelfPayBar
from desktop_app.services import lookup

MAX_QUERY = 512  # characters kept in the search box (a 医保电子凭证 code is far shorter)


def _paid_for(s) -> str:
    """缴费年度 beside the balance; in red when the roster's latest payment is for an earlier year than today's."""
    year = getattr(s, "contrib_year", None)
    if year is None:
        return ""
    if year < date.today().year:
        return f"<br><span style='color:#c00000'>缴费年度 {year}：花名册中没有本年度的缴费</span>"
    return f"　缴费年度 {year}"


class PersonPane(QSplitter):
    loaded = Signal(object, bool)  # (PersonSummary, whether a new visit starts for this person)
    chosen = Signal()  # Enter on a hit, or a hit activated: go on to the items
    failed = Signal(object)  # a search or a summary failed (the exception)

    def __init__(self, ctx, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.ctx = ctx  # AppContext: db, ops, operator
        self.person = None  # the PersonSummary shown
        self._search_gen = 0
        self._searched = None  # the text the hits on screen were found for
        self._person_gen = 0
        self._cap_rows: list[tuple[QLabel, QProgressBar, QLabel, QLabel]] = []  # name, bar, quarter, note
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
        self.search.setMaxLength(MAX_QUERY)  # a scanner's run-on garbage is cut, never shown whole
        ll.addWidget(self.search)
        self.search_msg = QLabel("")  # how many hits / nothing found and what to try
        self.search_msg.setObjectName("search_msg")
        self.search_msg.setWordWrap(True)
        self.search_msg.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        ll.addWidget(self.search_msg)
        self.self_pay_bar = SelfPayBar()  # 全自费 and 自费患者 (gui/selfpay_pane.py)
        ll.addWidget(self.self_pay_bar)
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
        self.results_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.results_view.setSortingEnabled(True)  # a header click sorts; a new search is in rank order again
        ll.addWidget(self.results_view)
        self.addWidget(left)
        self.person_box = QGroupBox(self.tr("参保人"))
        pl = QVBoxLayout(self.person_box)
        self.person_label = QLabel(self.tr("请先查找参保人"))
        self.person_label.setObjectName("person")
        self.person_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.person_label.setWordWrap(True)
        self.person_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        pl.addWidget(self.person_label)
        self.glyph_warning = QLabel("")  # a character of the name no font here can print
        self.glyph_warning.setObjectName("glyph_warning")
        self.glyph_warning.setWordWrap(True)
        self.glyph_warning.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.glyph_warning.setStyleSheet("color: #c00000; font-weight: bold;")
        self.glyph_warning.hide()
        pl.addWidget(self.glyph_warning)
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
        self.search.installEventFilter(self)
        self.results_view.selectionModel().currentRowChanged.connect(self._pick_current)
        self.results_view.activated.connect(lambda _i: self.chosen.emit())

    def eventFilter(self, obj, event) -> bool:
        """↓ / PgDn in the search box moves into the hits (the first one), where ↑↓ and Enter choose."""
        if obj is self.search and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) and self.proxy.rowCount():
            self.results_view.setFocus()
            if not self.results_view.selectionModel().hasSelection():
                self.results_view.selectRow(0)
            return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------ search
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _run_search(self) -> None:
        self._query(self.search.text(), enter=False)

    def _search_enter(self) -> None:
        """Enter in the search box: the chosen row if the clerk moved to one for this text, the only hit,
        or else say how many there are (never the first of many)."""
        self._search_timer.stop()
        q = self.search.text()
        if q == self._searched and self.results_view.selectionModel().hasSelection():
            self.chosen.emit()
            return
        self._query(q, enter=True)

    def _query(self, q: str, *, enter: bool) -> None:
        self._search_gen += 1
        gen = self._search_gen

        def done(hits):
            if gen != self._search_gen:
                return  # the clerk typed on; a newer search is under way
            self._searched = q
            self._set_hits(hits)
            self._say_hits(q, hits)
            if len(hits) == 1:
                self.results_view.selectRow(0)
                if enter:
                    self.chosen.emit()

        self.ctx.ops.query(lookup.search, self.ctx.db, q, done=done, failed=self.failed.emit)

    def _set_hits(self, hits) -> None:
        first = not self.results.hits
        self.results_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # rank order
        self.results.set_hits(hits)
        if first and hits:
            self.results_view.resizeColumnsToContents()  # once; no relayout on every keystroke

    def _say_hits(self, q: str, hits) -> None:
        shown = q if len(q) <= 24 else q[:24] + "…"
        if not hits and q.strip():
            self.search_msg.setText(self.tr("没有找到“{0}”。可以试：身份证号（18位）、身份证后4–6位、人员编号、姓名，"
                                            "或拼音首字母（如 zs）；扫码请对准医保电子凭证。").format(shown))
            self.search_msg.setStyleSheet("color: #c00000;")
        elif len(hits) > 1:
            self.search_msg.setText(self.tr("找到 {0} 人：按 ↓ 进入列表，↑↓ 选择，Enter 确认").format(len(hits)))
            self.search_msg.setStyleSheet("")
        else:
            self.search_msg.setText("")

    def _pick_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        hit = self.results.hits[self.proxy.mapToSource(current).row()]
        self.search_msg.setText("")  # "找到 3 人…" is answered: the clerk is on a row
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
        """No person: a new visit starts from the search box (emptied, with no hits and no cap bars)."""
        self._search_timer.stop()
        self._search_gen += 1  # a search still under way is dropped
        self._person_gen += 1
        self.set_locked(False)
        self.person = None
        self.search.clear()
        self.results.set_hits([])
        self.person_label.setText(self.tr("请先查找参保人"))
        for row in self._cap_rows:
            for w in row:
                w.setVisible(False)
        self.reveal_btn.setEnabled(False)
        self.focus_search()

    def set_locked(self, locked: bool) -> None:
        """The visit on screen is settled: the person cannot be changed (Ctrl+N starts the next visit)."""
        self.search.setReadOnly(locked)
        self.results_view.setEnabled(not locked)
        self.self_pay_bar.set_locked(locked)

    def show_walk_in(self, w) -> None:
        """A walk-in (not in the roster) is the visit's person: no roster person, no hits, no cap bars."""
        self._search_timer.stop()
        self._search_gen += 1
        self._person_gen += 1
        self.person = None
        self.results.set_hits([])
        self.search_msg.setText("")
        self.person_label.setText(SelfPayBar.describe(w))
        for row in self._cap_rows:
            for wd in row:
                wd.setVisible(False)
        self.reveal_btn.setEnabled(False)
        self.glyph_warning.hide()

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
            f"个人账户余额：{s.acct_balance} 元　（中心数据截至 {s.as_of}）{_paid_for(s)}{wait}")
        self.person_box.setUpdatesEnabled(False)
        try:
            self._show_caps(s)
        finally:
            self.person_box.setUpdatesEnabled(True)
        self._check_glyphs(s.name)

    def _check_glyphs(self, name: str) -> None:
        """Say so when the name has a character (𠮷, 䶮…) that no font on this machine prints (in the background:
        the fonts are read once)."""
        from desktop_app.reports import fonts

        self.glyph_warning.hide()
        gen = self._person_gen
        font_path = self.ctx.settings.get("font_path") or None

        def done(missing):
            if gen != self._person_gen or not missing:
                return
            chars = "、".join(f"“{c}”（U+{ord(c):04X}）" for c in missing)
            self.glyph_warning.setText(self.tr(
                "⚠ 姓名中的 {0} 本机没有字体能打印：结算单上以□代替并注明，请核对证件后手写补正；"
                "可安装含扩展汉字的字体（Windows：SimSun-ExtB；Linux：fonts-hanazono）。").format(chars))
            self.glyph_warning.show()

        self.ctx.ops.query(lambda n: fonts.missing_glyphs(n, fonts.register_fonts(font_path)), name, done=done,
                           failed=self.failed.emit)

    def _show_caps(self, s) -> None:
        """Cap bars are created once per row and reused: no widget churn while the clerk searches."""
        rows = self._cap_rows
        while len(rows) < len(s.benefits):
            r = len(rows)
            rows.append((QLabel(), QProgressBar(), QLabel(), QLabel()))
            note_l = rows[-1][3]
            note_l.setWordWrap(True)  # a long note wraps under the bar instead of being cut
            note_l.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            note_l.setStyleSheet("color: #505050;")
            for col, w in enumerate(rows[-1][:3]):
                self.caps.addWidget(w, 2 * r, col)
            self.caps.addWidget(note_l, 2 * r + 1, 1, 1, 2)
            self.caps.setColumnStretch(1, 1)
        for i, (name_l, bar, q_l, note_l) in enumerate(rows):
            visible = i < len(s.benefits)
            for w in (name_l, bar, q_l, note_l):
                w.setVisible(visible)
            if not visible:
                continue
            b = s.benefits[i]
            name_l.setText(b.benefit_label + (f"（{b.disease}）" if b.disease else ""))
            bar.setObjectName(f"cap_{b.benefit}")
            note = ""
            if b.annual_cap:
                bar.setRange(0, int(b.annual_cap * 100))
                bar.setValue(min(int(b.fund_paid * 100), int(b.annual_cap * 100)))
                bar.setFormat(f"已付 {b.fund_paid} / 限额 {b.annual_cap}，剩余 {b.annual_remaining}")
            else:  # no plain figure: the bar says what was paid, the note under it says how the cap reads
                bar.setRange(0, 1)
                bar.setValue(0)
                bar.setFormat(f"已付 {b.fund_paid}")
                note = b.cap_note
            bar.setTextVisible(True)
            bar.setMinimumWidth(bar.fontMetrics().horizontalAdvance(bar.text()) + 24)  # the text is never cut
            bar.setToolTip("\n".join(x for x in (note, b.basis) if x))
            q_l.setText(f"第{b.quarter}季度剩余 {b.quarterly_remaining}" if b.quarterly_cap else "")
            note_l.setText(note)
            note_l.setVisible(bool(note))
            note_l.setToolTip(bar.toolTip())
