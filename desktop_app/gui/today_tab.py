"""今日结算: today's settlements with totals; reprint, reverse (reason required), day close."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.model import benefit_label
from desktop_app.gui.dialogs import confirm
from desktop_app.gui.models import ColumnModel
from desktop_app.gui.reason_dialog import ReasonDialog
from desktop_app.services import closing, days, ledger


class DayModel(ColumnModel):
    COL_NO, COL_KIND, COL_TIME, COL_NAME, COL_BENEFIT, COL_TOTAL, COL_FUND, COL_ACCT, COL_CASH, COL_OP, COL_STATE = \
        range(11)
    HEADERS = ("结算单号", "类型", "时间", "姓名", "待遇", "医疗费", "统筹基金", "个人账户", "现金", "操作员", "状态")

    @property
    def records(self) -> list:
        return self.rows

    def set_records(self, recs) -> None:
        self.set_rows(recs)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self.records[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            state = ("冲正 " + (r.original_setl_no or "")) if r.kind == "reverse" else (
                f"已冲正（{r.reversed_by}）" if r.reversed_by else "")
            if r.day_closed:
                state = (state + " 已日结").strip()
            return (r.setl_no, "冲正" if r.kind == "reverse" else "结算", r.created_at.strftime("%H:%M:%S"),
                    r.person_name, benefit_label(r.benefit), r.result["medfee_sumamt"],
                    r.result["hifp_pay"], r.result["acct_pay"], r.result["psn_cash_pay"], r.operator, state)[c]
        if role == Qt.ItemDataRole.ForegroundRole and (r.kind == "reverse" or r.reversed_by):
            return QColor("#a00000")
        if role == Qt.ItemDataRole.TextAlignmentRole and self.COL_TOTAL <= c <= self.COL_CASH:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class TodayTab(QWidget):
    """Keyboard first: shown, the list has the focus with the latest settlement selected; Alt+P 补打,
    Alt+R 冲正, Alt+D 日结 (Alt+U 撤销日结 for a supervisor)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._select: str | None = None  # after the next refresh: this settlement ("" the latest), None: keep
        lay = QVBoxLayout(self)
        self.model = DayModel(self)
        self.view = QTableView()
        self.view.setObjectName("day_table")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.view)
        self.totals = QLabel("")
        self.totals.setObjectName("day_totals")
        self.totals.setWordWrap(True)
        lay.addWidget(self.totals)
        self.msg = QLabel("")
        self.msg.setObjectName("day_msg")
        self.msg.setWordWrap(True)
        self.msg.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.msg)
        lay.addLayout(self._buttons())
        self.refresh()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.refresh_btn = QPushButton(self.tr("刷新"))
        self.reprint_btn = QPushButton(self.tr("补打结算单(&P)"))
        self.reverse_btn = QPushButton(self.tr("冲正(&R)…"))
        self.reverse_btn.setObjectName("reverse")
        self.close_btn = QPushButton(self.tr("日结(&D)…"))
        self.close_btn.setObjectName("day_close")
        self.reopen_btn = QPushButton(self.tr("撤销日结(&U)…"))
        self.reopen_btn.setObjectName("day_reopen")
        self.reopen_btn.setToolTip(self.tr("管理员：撤销误点的日结（只限还没有结算记录的营业日）"))
        self.reopen_btn.setVisible(self.ctx.operator.role == "supervisor")
        for b in (self.refresh_btn, self.reprint_btn, self.reverse_btn, self.close_btn, self.reopen_btn):
            row.addWidget(b)
        row.addStretch(1)
        # clicked(bool) would hand `checked` to a slot's first parameter: lambdas, so each slot gets nothing
        self.refresh_btn.clicked.connect(lambda: self.refresh())
        self.reprint_btn.clicked.connect(lambda: self.reprint())
        self.reverse_btn.clicked.connect(lambda: self.reverse())
        self.close_btn.clicked.connect(lambda: self.day_close())
        self.reopen_btn.clicked.connect(lambda: self.reopen_day())
        return row

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._select = ""  # the latest settlement, with the focus on the list
        self.refresh()
        self.view.setFocus()

    def refresh(self) -> None:
        day = date.today()
        cur = self.selected()
        select = self._select if self._select is not None else (cur.setl_no if cur else "")
        self._select = None

        def done(recs):
            self.model.set_records(recs)
            self.view.resizeColumnsToContents()
            tot = {k: sum((Decimal(r.result[k]) for r in recs), Decimal("0.00"))
                   for k in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay")}
            n = sum(1 for r in recs if r.kind == "settle")
            m = sum(1 for r in recs if r.kind == "reverse")
            self.totals.setText(self.tr("今日 {0}：结算 {1} 笔，冲正 {2} 笔；医疗费 {3}，统筹基金 {4}，个人账户 {5}，"
                                        "现金 {6}（元，冲正已抵减）").format(
                day, n, m, tot["medfee_sumamt"], tot["hifp_pay"], tot["acct_pay"], tot["psn_cash_pay"]))
            self._select_row(select)
            self.ctx.ops.query(days.day_summary, self.ctx.db, day, done=self._show_state, failed=self._error)

        self.ctx.ops.query(days.list_day, self.ctx.db, day, done=done, failed=self._error)

    def _show_state(self, sm: days.DaySummary) -> None:
        if sm.closed is not None and "已日结" not in self.totals.text():
            self.totals.setText(self.totals.text() + self.tr("　【已日结：{0} {1:%H:%M}】").format(
                sm.closed.operator, sm.closed.closed_at))

    def _select_row(self, setl_no: str) -> None:
        recs = self.model.records
        if not recs:
            return
        row = next((i for i, r in enumerate(recs) if r.setl_no == setl_no), None) if setl_no else None
        if row is None:  # the latest settlement (a reversal only when there is nothing else)
            row = next((i for i in range(len(recs) - 1, -1, -1) if recs[i].kind == "settle"), len(recs) - 1)
        self.view.setCurrentIndex(self.model.index(row, 0))
        self.view.scrollTo(self.model.index(row, 0))

    def selected(self):
        idx = self.view.currentIndex()
        return self.model.records[idx.row()] if idx.isValid() and idx.row() < len(self.model.records) else None

    # ------------------------------------------------------------------ 补打
    def reprint(self) -> None:
        """补打: a copy marked 补打 with the time, kept in receipts/ and shown in the print preview."""
        rec = self.selected()
        if rec is None:
            self._error(self.tr("请先选择一笔结算"))
            return
        from desktop_app.reports.qtprint import show_preview
        from desktop_app.reports.receipt import save_reprint

        st = self.ctx.settings

        def done(out):
            path, pages = out
            self._say(self.tr("已补打 {0}，补打件：{1}").format(rec.setl_no, path))
            # the preview's own event loop runs after this answer is delivered, not inside it
            QTimer.singleShot(0, lambda: show_preview(pages, self, st.get("printer")))

        self.ctx.ops.query(save_reprint, rec, self.ctx.receipts_dir, st.get("receipt_format"),
                           st.get("font_path") or None, done=done, failed=self._error)

    # ------------------------------------------------------------------ 冲正
    def reverse(self) -> None:
        """Ask the reason (required) showing what will be reversed; the ledger decides the rest."""
        rec = self.selected()
        if rec is None:
            self._error(self.tr("请先选择要冲正的结算"))
            return
        if rec.kind == "reverse":
            self._error(self.tr("{0} 本身是冲正记录，不能再冲正").format(rec.setl_no))
            return
        if rec.reversed_by:
            self._error(self.tr("{0} 已被冲正（冲正单号 {1}）").format(rec.setl_no, rec.reversed_by))
            return
        reason = ReasonDialog.ask(self, self.tr("冲正 {0}").format(rec.setl_no), self._reverse_details(rec),
                                  self.tr("冲正原因（必填）："))
        if reason is None:
            return

        def done(rv):
            self._say(self.tr("已冲正：冲正单号 {0}，原结算 {1}；限额已退回。").format(rv.setl_no, rec.setl_no))
            self._select = rec.setl_no
            self.refresh()

        self.ctx.ops.change(ledger.reverse, self.ctx.db, rec.setl_no, reason=reason, operator=self.ctx.operator.login,
                            done=done, failed=self._error)

    def _reverse_details(self, rec) -> str:
        r = rec.result
        text = self.tr("将冲正结算单 {0}（{1:%H:%M:%S}，操作员 {2}）\n参保人：{3}　待遇：{4}　就诊日期：{5}\n"
                       "医疗费总额 {6} 元　统筹基金 {7} 元　个人账户 {8} 元（退回账户）　个人现金 {9} 元（退还现金）\n"
                       "冲正单记入今天，全部金额取负，限额退回；原结算保留。").format(
            rec.setl_no, rec.created_at, rec.operator, rec.person_name, benefit_label(rec.benefit),
            rec.visit_date, r["medfee_sumamt"], r["hifp_pay"], r["acct_pay"], r["psn_cash_pay"])
        if rec.day_closed:
            text += self.tr("\n该结算所在的营业日已日结：只有管理员可以冲正。")
        return text

    # ------------------------------------------------------------------ 日结
    def day_close(self) -> None:
        """Show the day's counts and totals and ask (default No); then close, back up, write the 日结单."""
        day = date.today()

        def done(sm: days.DaySummary):
            if sm.closed is not None:
                self._error(self.tr("{0} 已经日结过了（{1}，{2:%H:%M}）").format(day, sm.closed.operator,
                                                                           sm.closed.closed_at))
                return
            if self._confirm_close(sm):
                self.ctx.ops.change(closing.close_day, self.ctx.db, operator=self.ctx.operator.login, day=day,
                                    folder=self.ctx.reports_dir, done=self._closed, failed=self._error)

        self.ctx.ops.query(days.day_summary, self.ctx.db, day, done=done, failed=self._error)

    def _confirm_close(self, sm: days.DaySummary) -> bool:
        t = sm.totals
        text = self.tr("日结 {0}：结算 {1} 笔，冲正 {2} 笔\n医疗费 {3} 元　统筹基金 {4} 元　个人账户 {5} 元　现金 {6} 元"
                       "（冲正已抵减）\n\n日结后今天不能再结算或冲正；随即备份并生成日结单。确定日结？").format(
            sm.day, sm.settlements, sm.reversals, t["medfee_sumamt"], t["hifp_pay"], t["acct_pay"], t["psn_cash_pay"])
        return confirm(self, self.tr("日结"), text, default_yes=False)

    def _closed(self, out) -> None:
        t = out.record.totals
        self._say(self.tr("已日结 {0}：结算 {1} 笔，冲正 {2} 笔；医疗费 {3}，统筹基金 {4}，个人账户 {5}，现金 {6}（元）。"
                          "日结单：{7}、{8}").format(
            out.business_date, t["settlements"], t["reversals"], t["totals"]["medfee_sumamt"], t["totals"]["hifp_pay"],
            t["totals"]["acct_pay"], t["totals"]["psn_cash_pay"], out.xlsx, out.pdf))
        self.refresh()

    def reopen_day(self) -> None:
        """Supervisor: a day closed by mistake, before any settlement, opens again (reason required, audited)."""
        day = date.today()
        reason = ReasonDialog.ask(self, self.tr("撤销日结"),
                                  self.tr("撤销 {0} 的日结。只有还没有任何结算或冲正的营业日可以撤销；撤销记入审计。").format(day),
                                  self.tr("原因（必填）："))
        if reason is None:
            return

        def done(_r):
            self._say(self.tr("已撤销 {0} 的日结，可以继续结算。").format(day))
            self.refresh()

        self.ctx.ops.change(days.reopen_day, self.ctx.db, operator=self.ctx.operator.login, day=day, reason=reason,
                            done=done, failed=self._error)

    def _say(self, text: str) -> None:
        self.msg.setStyleSheet("color: #006100;")
        self.msg.setText(text)

    def _error(self, exc) -> None:
        self.msg.setStyleSheet("color: #c00000; font-weight: bold;")
        self.msg.setText(getattr(exc, "message", None) or str(exc))
