"""结算 screen: the 全自费 (self-pay) controls under the search box (services/selfpay.py).

- **全自费（不用医保）(Z)** (Alt+Z): the visit on screen is settled without insurance — no fund, no account, all
  cash. For a roster person it is the clerk's choice (or the way out when the policy leaves a parameter open:
  F9 offers it); for a walk-in it is always on.
- **自费患者…(J)** (Alt+J): a person not in the roster — a dialog asks the name (required), the ID number and
  the gender (both optional, checked as the roster's are); the person pane then shows the walk-in (ID masked).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.privacy import mask_id
from desktop_app.services import selfpay
from desktop_app.services.ledger_types import LedgerError


class WalkInDialog(QDialog):
    """姓名 (required), 身份证号 and 性别 (optional): checked on 确定; a mistake is said in red beside the
    fields and the dialog stays open on the field to correct."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("自费患者（不在花名册）"))
        self.setModal(True)
        lay = QVBoxLayout(self)
        info = QLabel(self.tr("不在花名册中的人按全自费结算：不使用医保，全部由个人现金支付。\n"
                              "姓名必填；身份证号、性别可不填（填了会校验，结算单上身份证号只显示前4位和后4位）。"))
        info.setWordWrap(True)
        lay.addWidget(info)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("walkin_name")
        self.name.setMaxLength(selfpay.WALKIN_NAME_MAX)
        form.addRow(self.tr("姓名(&N)"), self.name)
        self.id_no = QLineEdit()
        self.id_no.setObjectName("walkin_id")
        self.id_no.setMaxLength(20)
        self.id_no.setPlaceholderText(self.tr("可不填：18 位身份证号"))
        form.addRow(self.tr("身份证号(&I)"), self.id_no)
        self.gender = QComboBox()
        self.gender.setObjectName("walkin_gender")
        for label, value in ((self.tr("不填"), ""), (self.tr("男"), "男"), (self.tr("女"), "女")):
            self.gender.addItem(label, value)
        form.addRow(self.tr("性别(&G)"), self.gender)
        lay.addLayout(form)
        self.msg = QLabel("")
        self.msg.setObjectName("walkin_msg")
        self.msg.setWordWrap(True)
        self.msg.setStyleSheet("color: #c00000;")
        lay.addWidget(self.msg)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("确定"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        for w in (self.name, self.id_no):
            w.textEdited.connect(lambda _t: self.msg.setText(""))
        self.name.setFocus()
        self.setMinimumWidth(440)
        self.walk_in: selfpay.WalkIn | None = None

    def _accept(self) -> None:
        try:
            self.walk_in = selfpay.check_walk_in(selfpay.WalkIn(self.name.text(), self.id_no.text(),
                                                                self.gender.currentData()))
        except LedgerError as exc:
            self.msg.setText(exc.message)
            {"walk_in.id_no": self.id_no, "walk_in.gender": self.gender}.get(exc.field, self.name).setFocus()
            return
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget) -> selfpay.WalkIn | None:
        dlg = cls(parent)
        try:
            return dlg.walk_in if dlg.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dlg.deleteLater()


class SelfPayBar(QWidget):
    """The two controls and what they hold: `walk_in` (a registered walk-in, or None) and whether the visit is
    全自费 (`on`), with its ground (`why`: walk_in | policy_open | chosen)."""

    changed = Signal()  # the visit's way of paying changed: a pre-settlement on screen no longer applies
    walk_in_chosen = Signal(object)  # a walk-in was registered (selfpay.WalkIn)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.walk_in_btn = QPushButton(self.tr("自费患者(&J)…"))
        self.walk_in_btn.setObjectName("walk_in")
        self.walk_in_btn.setToolTip(self.tr("不在花名册中的人：登记姓名（身份证号、性别可不填），按全自费结算"))
        self.check = QCheckBox(self.tr("全自费（不用医保）(&Z)"))
        self.check.setObjectName("self_pay")
        self.check.setToolTip(self.tr("本次就诊不使用医保：医保基金和个人账户均不支付，全部由个人现金支付"))
        lay.addWidget(self.walk_in_btn)
        lay.addWidget(self.check)
        lay.addStretch(1)
        self.walk_in: selfpay.WalkIn | None = None
        self.why = "chosen"
        self.walk_in_btn.clicked.connect(lambda: self.register_walk_in())
        self.check.toggled.connect(lambda _c: self._toggled())

    @property
    def on(self) -> bool:
        return self.walk_in is not None or self.check.isChecked()

    def _toggled(self) -> None:
        if not self.check.isChecked():
            self.why = "chosen"
        self.changed.emit()

    def register_walk_in(self) -> None:
        w = WalkInDialog.ask(self.window())
        if w is not None:
            self.set_walk_in(w)

    def set_walk_in(self, w: selfpay.WalkIn) -> None:
        """The visit's person is the walk-in `w` (checked: selfpay.check_walk_in)."""
        self.walk_in = w
        self.why = "walk_in"
        self.check.blockSignals(True)
        self.check.setChecked(True)
        self.check.blockSignals(False)
        self.check.setEnabled(False)  # a walk-in always pays everything
        self.walk_in_chosen.emit(w)
        self.changed.emit()

    def choose(self, why: str) -> None:
        """全自费 for the roster person on screen (the F9 offer after an open parameter: `policy_open`)."""
        self.check.setChecked(True)
        self.why = why

    def reset(self) -> None:
        """A new visit, or another person picked: insured again, no walk-in."""
        self.walk_in = None
        self.why = "chosen"
        self.check.blockSignals(True)
        self.check.setChecked(False)
        self.check.blockSignals(False)
        self.check.setEnabled(True)

    def set_locked(self, locked: bool) -> None:
        self.walk_in_btn.setEnabled(not locked)
        self.check.setEnabled(not locked and self.walk_in is None)

    def visit(self, base, psn_no: str | None) -> selfpay.SelfPayInput:
        """The self-pay visit from the visit on screen (`base`: the items pane's VisitInput)."""
        return selfpay.SelfPayInput(date=base.date, items=base.items, psn_no=None if self.walk_in else psn_no,
                                    walk_in=self.walk_in, why="walk_in" if self.walk_in else self.why,
                                    diagnosis=base.diagnosis)

    @staticmethod
    def describe(w: selfpay.WalkIn) -> str:
        """The person pane's text for a walk-in (the ID number masked)."""
        idn = mask_id(w.id_no) if w.id_no else "未登记"
        return (f"<b style='font-size:15px'>{w.name}</b>　{w.gender or '性别未填'}<br>"
                f"身份证号：{idn}<br><span style='color:#c00000'>自费患者（不在花名册）：全自费结算，"
                f"不使用医保，全部由个人现金支付</span>")


__all__ = ["SelfPayBar", "WalkInDialog"]
