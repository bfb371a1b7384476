"""操作员 (supervisors): add clerks, reset a password (must be changed at next login), disable/enable.
Every change goes through services.accounts, which checks the role and writes the audit trail."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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
    QWidget,
)

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


class NewPasswordDialog(QDialog):
    """Add an operator (login, name, role, initial password) or set a new password for one."""

    def __init__(self, title: str, login: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.login = QLineEdit(login or "")
        self.login.setObjectName("new_login")
        self.login.setReadOnly(login is not None)
        self.name = QLineEdit()
        self.name.setObjectName("new_name")
        self.role = QComboBox()
        for code, label in accounts.ROLES.items():
            self.role.addItem(label, code)
        self.pw1 = QLineEdit()
        self.pw1.setObjectName("new_pw1")
        self.pw2 = QLineEdit()
        self.pw2.setObjectName("new_pw2")
        for w in (self.pw1, self.pw2):
            w.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("登录名"), self.login)
        if login is None:
            form.addRow(self.tr("姓名"), self.name)
            form.addRow(self.tr("角色"), self.role)
        form.addRow(self.tr("初始密码（至少8位）"), self.pw1)
        form.addRow(self.tr("再输一次"), self.pw2)
        lay.addLayout(form)
        lay.addWidget(QLabel(self.tr("该操作员首次登录时须改为自己的密码。")))
        self.msg = QLabel("")
        self.msg.setObjectName("new_msg")
        self.msg.setStyleSheet("color: #c00000;")
        lay.addWidget(self.msg)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _check(self) -> None:
        if not self.login.text().strip():
            self.msg.setText(self.tr("请填写登录名"))
        elif len(self.pw1.text()) < 8:
            self.msg.setText(self.tr("初始密码至少8位"))
        elif self.pw1.text() != self.pw2.text():
            self.msg.setText(self.tr("两次输入的密码不一致"))
        else:
            self.accept()


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

    def ask(self, dlg: NewPasswordDialog) -> bool:  # a seam for tests
        return dlg.exec() == QDialog.DialogCode.Accepted

    def add(self) -> None:
        dlg = NewPasswordDialog(self.tr("添加操作员"), parent=self)
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
        dlg = NewPasswordDialog(self.tr("重设密码"), login, parent=self)
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
