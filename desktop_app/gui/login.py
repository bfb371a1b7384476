"""Before the window: the login, the first start of a new database, and the one password dialog
(an operator's own password, or a supervisor's new operator / reset password)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
)

from desktop_app.services import accounts, database


class LoginDialog(QDialog):
    def __init__(self, db, parent=None):
        super().__init__(parent)
        self.db = db
        self.operator: accounts.OperatorInfo | None = None
        self.setWindowTitle(self.tr("登录 — 乡镇医保结算台"))
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.login = QLineEdit()
        self.login.setObjectName("login")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("操作员"), self.login)
        form.addRow(self.tr("密码"), self.password)
        lay.addLayout(form)
        self.msg = QLabel("")
        self.msg.setObjectName("login_msg")
        self.msg.setStyleSheet("color: #c00000;")
        lay.addWidget(self.msg)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        for b in buttons.buttons():  # Enter follows the fields (操作员 → 密码 → 登录), not a default button
            b.setAutoDefault(False)
            b.setDefault(False)
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.login.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.try_login)

    def keyPressEvent(self, event) -> None:
        # Enter is handled by the fields (操作员 → 密码 → 登录); QDialogButtonBox would otherwise
        # make 确定 the default button again when shown and submit a half-filled form.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return
        super().keyPressEvent(event)

    def try_login(self) -> None:
        login = self.login.text().strip()
        if not login or not self.password.text():
            self.msg.setText(self.tr("请输入操作员和密码"))
            return
        try:
            op = accounts.login(self.db, login, self.password.text())
        except accounts.AuthError as exc:
            self.msg.setText(str(exc))
            self.password.clear()
            self.password.setFocus()
            return
        if op.must_change_password and not PasswordDialog.ask(self.db, op.login, self):
            self.msg.setText(self.tr("首次登录须修改密码"))
            return
        self.operator = op
        self.accept()


class PasswordDialog(QDialog):
    """Every password form, by its options:

    - `PasswordDialog(title)`: a supervisor adds an operator (login, name, role, initial password);
    - `PasswordDialog(title, login)`: a supervisor sets a new initial password for `login`;
      both only collect the values (the 操作员 tab saves them through ops), and the operator must
      change the password at the next login;
    - `PasswordDialog.for_own(db, login, ask_current=…)`: an operator sets a password of their own —
      at the first login (or after a reset), or from the menu (修改我的密码), where the current password
      is asked for first; saved here through services.accounts.
    """

    def __init__(self, title: str | None, login: str | None = None, parent=None, *, db=None,
                 ask_current: bool = False):
        super().__init__(parent)
        self.db, self.ask_current = db, ask_current
        self.setWindowTitle(title if title is not None else self.tr("修改密码"))
        self.login = QLineEdit(login or "")
        self.login.setObjectName("new_login")
        self.login.setReadOnly(login is not None)
        self.name = QLineEdit()
        self.name.setObjectName("new_name")
        self.role = QComboBox()
        for code, label in accounts.ROLES.items():
            self.role.addItem(label, code)
        self.current = QLineEdit()
        self.current.setObjectName("current_pw")
        self.pw1 = QLineEdit()
        self.pw1.setObjectName("new_pw1")
        self.pw2 = QLineEdit()
        self.pw2.setObjectName("new_pw2")
        for w in (self.current, self.pw1, self.pw2):
            w.setEchoMode(QLineEdit.EchoMode.Password)
        self.msg = QLabel("")
        self.msg.setObjectName("new_msg")
        self.msg.setStyleSheet("color: #c00000;")
        lay = QVBoxLayout(self)
        if db is not None:
            lay.addWidget(QLabel(self.tr("请为 {0} 设置新密码（至少8位）：").format(login)))
        lay.addLayout(self._form(login))
        if db is None:
            lay.addWidget(QLabel(self.tr("该操作员首次登录时须改为自己的密码。")))
        lay.addWidget(self.msg)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _form(self, login: str | None) -> QFormLayout:
        form = QFormLayout()
        if self.db is not None:  # the operator's own password
            if self.ask_current:
                form.addRow(self.tr("当前密码"), self.current)
            form.addRow(self.tr("新密码"), self.pw1)
        else:  # a supervisor's: who, and an initial password
            form.addRow(self.tr("登录名"), self.login)
            if login is None:
                form.addRow(self.tr("姓名"), self.name)
                form.addRow(self.tr("角色"), self.role)
            form.addRow(self.tr("初始密码（至少8位）"), self.pw1)
        form.addRow(self.tr("再输一次"), self.pw2)
        return form

    def save(self) -> None:
        """OK: check the entries; the operator's own password is then saved (through the lockout and the
        audit trail like a login when the current one is asked)."""
        if self.db is None and not self.login.text().strip():
            self.msg.setText(self.tr("请填写登录名"))
        elif self.db is None and len(self.pw1.text()) < 8:
            self.msg.setText(self.tr("初始密码至少8位"))
        elif self.pw1.text() != self.pw2.text():
            self.msg.setText(self.tr("两次输入的密码不一致"))
        elif self.db is None or self._save_own():
            self.accept()

    def _save_own(self) -> bool:
        login = self.login.text()
        try:
            if self.ask_current:
                accounts.login(self.db, login, self.current.text())
            accounts.change_password(self.db, login, self.pw1.text(), actor=login)
        except accounts.AuthError as exc:
            self.msg.setText(str(exc))
            return False
        return True

    @classmethod
    def for_own(cls, db, login: str, parent=None, *, ask_current: bool = False) -> PasswordDialog:
        return cls(None, login, parent, db=db, ask_current=ask_current)

    @classmethod
    def ask(cls, db, login: str, parent=None) -> bool:
        """The first login (or after a reset): True once the operator has set a password of their own."""
        return cls.for_own(db, login, parent).exec() == QDialog.DialogCode.Accepted


class FirstStartDialog(QDialog):
    """A database with no operators: set up this clinic (its supervisor, with a one-time password that
    must be changed at the first login) or open the demo clinic for practice."""

    def __init__(self, where: str, parent=None):
        super().__init__(parent)
        self.choice: str | None = None
        self.setWindowTitle(self.tr("首次使用 — 乡镇医保结算台"))
        lay = QVBoxLayout(self)
        text = QLabel(self.tr(
            "这台电脑上的数据库还没有操作员：\n{0}\n\n"
            "正式使用：建立本机构的管理员账户（admin），程序给出一次性初始密码，首次登录须改为自己的密码；"
            "然后在“政策包与花名册、设置”中设置机构信息、导入政策包和花名册，在“收费目录”中导入医保目录和"
            "本机构收费目录，并添加收费员；“开业检查”列出还缺什么。\n\n"
            "练习：生成演示机构和演示参保人（操作员 admin / admin123，clerk / clerk123）。"
            "演示数据不能用于正式结算。").format(where))
        text.setWordWrap(True)
        text.setMinimumWidth(460)
        lay.addWidget(text)
        buttons = QDialogButtonBox()
        self.clinic_btn = buttons.addButton(self.tr("建立本机构（创建管理员）"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.demo_btn = buttons.addButton(self.tr("生成演示数据（练习用）"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.clinic_btn.setObjectName("first_clinic")
        self.demo_btn.setObjectName("first_demo")
        self.clinic_btn.clicked.connect(lambda: self._choose("clinic"))
        self.demo_btn.clicked.connect(lambda: self._choose("demo"))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def first_start(db, parent=None) -> str | None:
    """Run the first start on a database without operators. Returns the login to offer, or None if the
    user cancelled (nothing is created then)."""
    dlg = FirstStartDialog(database.shown_url(db.path or db.url), parent)
    if dlg.exec() != QDialog.DialogCode.Accepted or dlg.choice is None:
        return None
    if dlg.choice == "demo":
        from desktop_app.services.demo import create_demo

        create_demo(db)
        QMessageBox.information(parent, "乡镇医保结算台", "已生成演示数据：\n"
                                f"{database.shown_url(db.path or db.url)}\n\n操作员 admin / admin123（管理员），clerk / clerk123（收费员）")
        return "clerk"
    initial = accounts.create_first_supervisor(db, "admin")
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("已创建管理员")
    box.setText(f"管理员登录名：admin\n初始密码：{initial}\n\n请记下初始密码（只显示这一次）。"
                "登录后须立即改为自己的密码（至少8位）。")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()
    return "admin"
