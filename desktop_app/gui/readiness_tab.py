"""开业检查: what is still missing before the first real settlement (the same list as
`clinic-settle check-ready`). The window opens on it while something is missing."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.services import readiness

MARK = {readiness.OK: ("✔", "#006100"), readiness.WARN: ("!", "#9c5700"), readiness.MISSING: ("✘", "#c00000")}


class ReadinessTab(QWidget):
    checked = Signal(object)  # the Readiness just shown

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.last: readiness.Readiness | None = None
        lay = QVBoxLayout(self)
        self.verdict = QLabel("")
        self.verdict.setObjectName("ready_verdict")
        lay.addWidget(self.verdict)
        box = QGroupBox(self.tr("开始结算前须具备"))
        self.rows = QVBoxLayout(box)
        lay.addWidget(box)
        row = QHBoxLayout()
        self.refresh_btn = QPushButton(self.tr("重新检查"))
        self.refresh_btn.setObjectName("ready_refresh")
        row.addWidget(self.refresh_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(1)
        self.refresh_btn.clicked.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.ctx.ops.query(readiness.check_ready, self.ctx.db, done=self._show,
                           failed=lambda e: self.verdict.setText(str(e)))

    def _show(self, r: readiness.Readiness) -> None:
        self.last = r
        while self.rows.count():
            w = self.rows.takeAt(0).widget()
            if w is not None:  # out of the panel at once (deleteLater alone leaves it a child until the event loop)
                w.hide()
                w.setParent(None)
                w.deleteLater()
        for c in r.checks:
            mark, color = MARK[c.status]
            lb = QLabel(f"<b style='color:{color}'>{mark} {c.label}【{readiness.STATUS_LABELS[c.status]}】</b> {c.detail}")
            lb.setObjectName(f"ready_{c.key}")
            lb.setWordWrap(True)
            self.rows.addWidget(lb)
        self.verdict.setText(self.tr("可以开始结算") if r.ready else self.tr("尚不能开始结算：请补齐标 ✘ 的各项"))
        self.verdict.setStyleSheet("font-weight: bold; color: %s;" % ("#006100" if r.ready else "#c00000"))
        self.checked.emit(r)
