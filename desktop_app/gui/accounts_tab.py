"""操作员 (supervisors): add clerks, reset a password (must be changed at next login), disable/enable.
Every change goes through services.accounts, which checks the role and writes the audit trail."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.login import PasswordDialog
from desktop_app.gui.models import ColumnModel
from desktop_app.services import accounts


class OperatorModel(ColumnModel):
    COL_LOGIN, COL_NAME, COL_ROLE, COL_STATE = range(4)
    HEADERS = ("登录名", "姓名", "角色", "状态")

    def data(self, index, role=0):
        if not index.isValid() or role != 0:
            return None
        o = self.rows[index.row()]
        state = "已停用" if not o.active else ("须修改密码" if o.must_change_password else "正常")
        return (o.login, o.name, accounts.ROLES.get(o.role, o.role), state)[index.column()]


class AccountsTab(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        lay = QVBoxLayout(self)
        self.model = OperatorModel(self)
        self.view = QTableView()
        self.view.setObjectName("operators")
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.view)
        row = QHBoxLayout()
        self.add_btn = QPushButton(self.tr("添加操作员…"))
        self.reset_btn = QPushButton(self.tr("重设密码…"))
        self.disable_btn = QPushButton(self.tr("停用"))
        self.enable_btn = QPushButton(self.tr("启用"))
        for b in (self.add_btn, self.reset_btn, self.disable_btn, self.enable_btn):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.msg = QLabel("")
        self.msg.setObjectName("accounts_msg")
        self.msg.setWordWrap(True)
        lay.addWidget(self.msg)
        self.add_btn.clicked.connect(self.add)
        self.reset_btn.clicked.connect(self.reset)
        self.disable_btn.clicked.connect(lambda: self.set_active(False))
        self.enable_btn.clicked.connect(lambda: self.set_active(True))
        self.refresh()

    def refresh(self) -> None:
        self.ctx.ops.query(accounts.list_operators, self.ctx.db, done=self.model.set_rows, failed=self._error)

    def selected(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()].login if rows else None

    def _say(self, text: str) -> None:
        self.msg.setStyleSheet("color: #006100;")
        self.msg.setText(text)
        self.refresh()

    def _error(self, exc) -> None:
        self.msg.setStyleSheet("color: #c00000; font-weight: bold;")
        self.msg.setText(getattr(exc, "message", None) or str(exc))

    def ask(self, dlg: PasswordDialog) -> bool:  # a seam for tests
        return dlg.exec() == QDialog.DialogCode.Accepted

    def add(self) -> None:
        dlg = PasswordDialog(self.tr("添加操作员"), parent=self)
        if not self.ask(dlg):
            return
        login, name = dlg.login.text().strip(), dlg.name.text().strip() or dlg.login.text().strip()
        self.ctx.ops.change(accounts.create_operator, self.ctx.db, login, name, dlg.role.currentData(), dlg.pw1.text(),
                            must_change=True, actor=self.ctx.operator.login,
                            done=lambda info: self._say(self.tr("已添加 {0}（{1}），首次登录须修改密码。").format(
                                info.login, accounts.ROLES[info.role])), failed=self._error)

    def reset(self) -> None:
        login = self.selected()
        if login is None:
            self._error(ValueError(self.tr("请先在表中选一名操作员")))
            return
        dlg = PasswordDialog(self.tr("重设密码"), login, parent=self)
        if not self.ask(dlg):
            return
        self.ctx.ops.change(accounts.change_password, self.ctx.db, login, dlg.pw1.text(), actor=self.ctx.operator.login,
                            done=lambda _r: self._say(self.tr("已重设 {0} 的密码，下次登录须修改。").format(login)),
                            failed=self._error)

    def set_active(self, active: bool) -> None:
        login = self.selected()
        if login is None:
            self._error(ValueError(self.tr("请先在表中选一名操作员")))
            return
        self.ctx.ops.change(accounts.set_active, self.ctx.db, login, active, actor=self.ctx.operator.login,
                            done=lambda _r: self._say((self.tr("已启用 {0}") if active else self.tr("已停用 {0}"))
                                                      .format(login)), failed=self._error)
