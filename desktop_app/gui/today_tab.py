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
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.model import BENEFITS
from desktop_app.gui.models import ColumnModel
from desktop_app.services import closing, ledger


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
                    r.person_name, BENEFITS.get(r.benefit, r.benefit), r.result["medfee_sumamt"],
                    r.result["hifp_pay"], r.result["acct_pay"], r.result["psn_cash_pay"], r.operator, state)[c]
        if role == Qt.ItemDataRole.ForegroundRole and (r.kind == "reverse" or r.reversed_by):
            return QColor("#a00000")
        if role == Qt.ItemDataRole.TextAlignmentRole and self.COL_TOTAL <= c <= self.COL_CASH:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class TodayTab(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
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
        lay.addWidget(self.totals)
        self.msg = QLabel("")
        self.msg.setObjectName("day_msg")
        self.msg.setWordWrap(True)
        lay.addWidget(self.msg)
        row = QHBoxLayout()
        self.refresh_btn = QPushButton(self.tr("刷新"))
        self.reprint_btn = QPushButton(self.tr("补打结算单"))
        self.reverse_btn = QPushButton(self.tr("冲正…"))
        self.reverse_btn.setObjectName("reverse")
        self.close_btn = QPushButton(self.tr("日结…"))
        self.close_btn.setObjectName("day_close")
        for b in (self.refresh_btn, self.reprint_btn, self.reverse_btn, self.close_btn):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.refresh_btn.clicked.connect(self.refresh)
        self.reprint_btn.clicked.connect(self.reprint)
        self.reverse_btn.clicked.connect(self.reverse)
        self.close_btn.clicked.connect(self.day_close)
        self.refresh()

    def refresh(self) -> None:
        def done(recs):
            self.model.set_records(recs)
            self.view.resizeColumnsToContents()
            tot = {k: sum((Decimal(r.result[k]) for r in recs), Decimal("0.00"))
                   for k in ("medfee_sumamt", "hifp_pay", "acct_pay", "psn_cash_pay")}
            n = sum(1 for r in recs if r.kind == "settle")
            m = sum(1 for r in recs if r.kind == "reverse")
            self.totals.setText(self.tr("今日 {0}：结算 {1} 笔，冲正 {2} 笔；医疗费 {3}，统筹基金 {4}，个人账户 {5}，"
                                        "现金 {6}（元，冲正已抵减）").format(
                date.today(), n, m, tot["medfee_sumamt"], tot["hifp_pay"], tot["acct_pay"], tot["psn_cash_pay"]))

        self.ctx.ops.query(ledger.list_day, self.ctx.db, date.today(), done=done, failed=self._error)

    def selected(self):
        idx = self.view.currentIndex()
        return self.model.records[idx.row()] if idx.isValid() else None

    def reprint(self) -> None:
        """补打: a copy marked 补打 with the time, kept in receipts/ and shown in the print preview."""
        rec = self.selected()
        if rec is None:
            self._say(self.tr("请先选择一笔结算"))
            return
        from desktop_app.reports.qtprint import preview_dialog
        from desktop_app.reports.receipt import save_reprint

        st = self.ctx.settings

        def done(out):
            path, pages = out
            self._say(self.tr("已补打 {0}，补打件：{1}").format(rec.setl_no, path))
            # the preview's own event loop runs after this answer is delivered, not inside it
            QTimer.singleShot(0, lambda: preview_dialog(pages, self, st.get("printer")).exec())

        self.ctx.ops.query(save_reprint, rec, self.ctx.receipts_dir, st.get("receipt_format"),
                           st.get("font_path") or None, done=done, failed=self._error)

    def reverse(self, reason: str | None = None) -> None:
        rec = self.selected()
        if rec is None:
            self._say(self.tr("请先选择要冲正的结算"))
            return
        if reason is None:
            reason, ok = QInputDialog.getText(self, self.tr("冲正"),
                                              self.tr("冲正 {0}（{1}）\n冲正原因（必填）：").format(rec.setl_no,
                                                                                             rec.person_name))
            if not ok:
                return
        if not reason.strip():
            self._say(self.tr("冲正必须填写原因"))
            return

        def done(rv):
            self._say(self.tr("已冲正：冲正单号 {0}，原结算 {1}；限额已退回。").format(rv.setl_no, rec.setl_no))
            self.refresh()

        self.ctx.ops.change(ledger.reverse, self.ctx.db, rec.setl_no, reason=reason, operator=self.ctx.operator.login,
                            done=done, failed=self._error)

    def day_close(self, confirm: bool = True) -> None:
        if confirm and QMessageBox.question(
                self, self.tr("日结"), self.tr("日结后今天不能再结算或冲正。确定日结 {0}？").format(date.today()),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return

        def done(out):
            t = out.record.totals["totals"]
            self._say(self.tr("已日结 {0}：{1} 笔，医疗费 {2}，统筹基金 {3}，现金 {4}。日结单：{5}、{6}").format(
                out.business_date, out.count, t["medfee_sumamt"], t["hifp_pay"], t["psn_cash_pay"], out.xlsx,
                out.pdf))
            self.refresh()

        self.ctx.ops.change(closing.close_day, self.ctx.db, operator=self.ctx.operator.login,
                            folder=self.ctx.reports_dir, done=done, failed=self._error)

    def _say(self, text: str) -> None:
        self.msg.setStyleSheet("color: #006100;")
        self.msg.setText(text)

    def _error(self, exc) -> None:
        self.msg.setStyleSheet("color: #c00000; font-weight: bold;")
        self.msg.setText(getattr(exc, "message", None) or str(exc))
