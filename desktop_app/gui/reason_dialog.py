"""A reason asked before an action that cannot be undone (冲正, 往年就诊, 撤销日结): what the action will do,
and a required reason of at most 200 characters (the ledger stores and audits it)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop_app.services.visit_rules import MAX_REASON


class ReasonDialog(QDialog):
    def __init__(self, title: str, details: str, label: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        lay = QVBoxLayout(self)
        self.details = QLabel(details)
        self.details.setObjectName("details")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setWordWrap(True)
        lay.addWidget(self.details)
        lay.addWidget(QLabel(label))
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.reason.setMaxLength(MAX_REASON)
        self.reason.setPlaceholderText(self.tr("必填，最多 {0} 个字").format(MAX_REASON))
        lay.addWidget(self.reason)
        self.msg = QLabel("")
        self.msg.setStyleSheet("color: #c00000;")
        lay.addWidget(self.msg)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.setFocus()
        self.setMinimumWidth(460)

    def _accept(self) -> None:
        if not self.reason.text().strip():
            self.msg.setText(self.tr("原因必填"))
            self.reason.setFocus()
            return
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget, title: str, details: str, label: str) -> str | None:
        """The reason given, or None when the clerk cancels."""
        dlg = cls(title, details, label, parent)
        try:
            return dlg.reason.text().strip() if dlg.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dlg.deleteLater()
