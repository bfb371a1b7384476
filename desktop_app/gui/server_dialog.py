"""数据库服务器: where this counter's database is — this computer's file (the default) or a PostgreSQL server
shared by the counters of a township centre (docs/deployment.md). 测试连接 tries it in the background; 保存
keeps it in this Windows user's program settings (read at the next start; --db and CLINIC_SETTLE_DB win)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from desktop_app.gui.ops import Ops
from desktop_app.services import database

ORG, APP = "ClinicSettle", "ClinicSettle"
KEY = "database/url"


def saved_url() -> str | None:
    """The server URL saved by this dialog, or None (the file on this computer)."""
    value = QSettings(ORG, APP).value(KEY, "")
    return str(value) if value else None


def save_url(url: str | None) -> None:
    qs = QSettings(ORG, APP)
    if url:
        qs.setValue(KEY, url)
    else:
        qs.remove(KEY)
    qs.sync()
    import os

    if os.name == "posix":  # the URL holds the password: the settings file is this user's only (Windows: the profile)
        try:
            os.chmod(qs.fileName(), 0o600)
        except OSError:
            pass


class ServerDialog(QDialog):
    def __init__(self, current: str | None = None, parent=None, ops: Ops | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("数据库服务器"))
        self.ops = ops or Ops(self)
        parts = database.server_parts(current)
        lay = QVBoxLayout(self)
        self.use_server = QCheckBox(self.tr("使用数据库服务器（PostgreSQL，多个收费窗口共用）"))
        self.use_server.setChecked(bool(parts["host"]))
        lay.addWidget(self.use_server)
        form = QFormLayout()
        self.host, self.port, self.dbname = QLineEdit(parts["host"]), QLineEdit(parts["port"]), QLineEdit(parts["dbname"])
        self.user, self.password = QLineEdit(parts["user"]), QLineEdit(parts["password"])
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.port.setMaxLength(5)
        for label, w in ((self.tr("服务器地址"), self.host), (self.tr("端口"), self.port), (self.tr("数据库名"), self.dbname),
                         (self.tr("用户名"), self.user), (self.tr("密码"), self.password)):
            form.addRow(label, w)
        lay.addLayout(form)
        self.test_btn = QPushButton(self.tr("测试连接"))
        lay.addWidget(self.test_btn)
        self.result = QLabel(self.tr("不使用服务器时，数据保存在本机的数据库文件中。"))
        self.result.setWordWrap(True)
        lay.addWidget(self.result)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(self.tr("保存（下次启动生效）"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("取消"))
        self.save_btn = buttons.button(QDialogButtonBox.StandardButton.Save)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.test_btn.clicked.connect(self.test)
        self.use_server.toggled.connect(self._enable)
        self._enable(self.use_server.isChecked())
        self.chosen: str | None = current
        self.setMinimumWidth(420)

    def _enable(self, on: bool) -> None:
        for w in (self.host, self.port, self.dbname, self.user, self.password, self.test_btn):
            w.setEnabled(on)

    def url(self) -> str | None:
        """The URL the fields make (None: no server); ValueError naming what is missing."""
        if not self.use_server.isChecked():
            return None
        return database.server_url(self.host.text(), self.port.text(), self.dbname.text(), self.user.text(),
                                   self.password.text())

    def _say(self, text: str, error: bool = False) -> None:
        self.result.setStyleSheet("color: #b00020;" if error else "color: #1b5e20;")
        self.result.setText(text)

    def test(self) -> None:
        try:
            url = self.url()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.test_btn.setEnabled(False)
        self._say(self.tr("正在连接……"))

        def done(text):
            self.test_btn.setEnabled(True)
            self._say(text)

        def failed(exc):
            self.test_btn.setEnabled(True)
            self._say(getattr(exc, "message", None) or str(exc), error=True)

        self.ops.query(database.test_connection, url, done=done, failed=failed)

    def save(self) -> None:
        try:
            self.chosen = self.url()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        save_url(self.chosen)
        self.accept()
