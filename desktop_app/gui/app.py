"""Start-up: the application, translations, exception hook, login, main window."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QSettings, Qt, QTranslator
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from desktop_app.gui.login import LoginDialog, PasswordDialog, first_start
from desktop_app.services import accounts, database
from desktop_app.services import settings as settings_service

log = logging.getLogger("clinic_settle.gui")
ORG, APP = "ClinicSettle", "ClinicSettle"


@dataclass
class AppContext:
    db: object
    ops: object
    operator: accounts.OperatorInfo
    settings: settings_service.ClinicSettings
    data_dir: Path
    extra: dict = field(default_factory=dict)

    @property
    def receipts_dir(self) -> Path:
        p = self.data_dir / "receipts"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def reports_dir(self) -> Path:
        p = self.data_dir / "reports"
        p.mkdir(parents=True, exist_ok=True)
        return p


def install_translations(app: QApplication) -> None:
    """Qt's own strings (standard buttons, dialogs) in Simplified Chinese; ours are written in Chinese
    and pass through tr() so another language can be added with a .qm file."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name in ("qtbase_zh_CN", "qt_zh_CN"):
        tr = QTranslator(app)
        if tr.load(name, path):
            app.installTranslator(tr)
            app._translators = [*getattr(app, "_translators", []), tr]  # keep references alive


LOG_FILE: list[Path] = []  # where run_gui's log goes (shown in the error dialog)


def install_exception_hook(parent_getter=lambda: None) -> None:
    """Log every uncaught exception and show it with copyable details; never lose it silently."""

    def hook(exc_type, exc, tb):
        from desktop_app.privacy import redact

        text = redact("".join(traceback.format_exception(exc_type, exc, tb)))  # no full ID number, anywhere
        log.error("未处理的异常：\n%s", text)
        if QApplication.instance() is None:
            sys.__excepthook__(exc_type, exc, tb)
            return
        box = QMessageBox(parent_getter())
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("程序出错")
        where = f"（日志：{LOG_FILE[0]}）" if LOG_FILE else ""
        box.setText(f"程序遇到一个错误，已记录到日志{where}。已保存的结算不受影响。\n\n{redact(str(exc))}")
        box.setDetailedText(text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    sys.excepthook = hook


def shortcuts(screens: int) -> tuple[tuple[str, str], ...]:
    """The keys this window answers to (F1 shows them); `screens`: how many tabs this operator has."""
    return (
        ("F2", "光标到查找框（可直接扫码）"),
        ("Enter", "查找框：只有一人时选中他并转到项目录入（多人时说明人数）；项目框：转到数量；数量：添加"),
        ("↓ / ↑", "查找框：进入查找结果；在结果中上下移动，Enter 选中"),
        ("F5", "预结算"), ("F9", "结算（同一就诊重复按只结算一次）"), ("F10", "打印/预览结算单"),
        ("Ctrl+N", "新就诊（结算后本次就诊不能再改）"), ("Del", "删除选中的费用行"),
        ("Alt+J / Alt+Z", "自费患者（不在花名册）登记 / 全自费（不用医保）"),
        ("Alt+P / Alt+R / Alt+D", "今日结算：补打结算单 / 冲正 / 日结"),
        (f"Ctrl+1…{screens}", "切换页面"), ("F1", "本帮助"),
    )


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        from desktop_app.gui.admin_tab import AdminTab
        from desktop_app.gui.settle_tab import SettleTab
        from desktop_app.gui.today_tab import TodayTab

        self.setWindowTitle(self.tr("乡镇医保结算台 — {0}").format(ctx.settings.clinic_name))
        self.tabs = QTabWidget()
        self.settle_tab = SettleTab(ctx)
        self.today_tab = TodayTab(ctx)
        self.admin_tab = AdminTab(ctx)
        self.tabs.addTab(self.settle_tab, self.tr("结算"))
        self.tabs.addTab(self.today_tab, self.tr("今日结算"))
        self.tabs.addTab(self.admin_tab, self.tr("政策包与花名册、设置"))
        from desktop_app.gui.prices_tab import PricesTab

        self.prices_tab = PricesTab(ctx)
        self.tabs.addTab(self.prices_tab, self.tr("收费目录"))
        self.readiness_tab = None
        if ctx.operator.role == "supervisor":
            from desktop_app.gui.accounts_tab import AccountsTab
            from desktop_app.gui.audit_tab import AuditTab
            from desktop_app.gui.readiness_tab import ReadinessTab

            self.readiness_tab = ReadinessTab(ctx)
            self.tabs.addTab(self.readiness_tab, self.tr("开业检查"))
            self.readiness_tab.checked.connect(self._not_ready_first)
            self.audit_tab = AuditTab(ctx)
            self.tabs.addTab(self.audit_tab, self.tr("审计"))
            self.accounts_tab = AccountsTab(ctx)
            self.tabs.addTab(self.accounts_tab, self.tr("操作员"))
        self.setCentralWidget(self.tabs)
        self.settle_tab.settled.connect(lambda _r: self.today_tab.refresh())
        self.prices_tab.changed.connect(self.settle_tab.items_pane.load_catalogue)
        self.admin_tab.settings_saved.connect(self._settings_saved)
        self.tabs.currentChanged.connect(self._tab_shown)
        for i in range(self.tabs.count()):
            act = QAction(self)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _c=False, n=i: self.tabs.setCurrentIndex(n))
            self.addAction(act)
        helpact = QAction(self.tr("快捷键"), self)
        helpact.setShortcut(QKeySequence(Qt.Key.Key_F1))
        helpact.triggered.connect(self.show_help)
        self.addAction(helpact)
        pwact = QAction(self.tr("修改我的密码"), self)
        pwact.triggered.connect(self.change_my_password)
        self.menuBar().addAction(pwact)
        self.menuBar().addAction(helpact)
        self._show_status()
        qs = QSettings(ORG, APP)
        geo = qs.value("main/geometry")
        if geo is None or not self.restoreGeometry(geo):  # (restoreGeometry fits a saved size to this screen)
            self._first_geometry()
        self.settle_tab.focus_search()

    def _first_geometry(self) -> None:
        """No saved geometry: 1280×800 or the screen, whichever is smaller (room left for the title bar),
        centred, and maximised — never taller than the screen (1366×768 and 1024×768 counters)."""
        screen = self.screen() or QApplication.primaryScreen()
        avail = screen.availableGeometry()
        w, h = min(1280, avail.width() - 16), min(800, avail.height() - 48)
        self.resize(w, h)
        self.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h - 32) // 2)
        self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def _show_status(self) -> None:
        ctx = self.ctx
        role = accounts.ROLES.get(ctx.operator.role, ctx.operator.role)
        self.statusBar().showMessage(self.tr("操作员：{0}（{1}）　机构：{2} {3}　数据库：{4}").format(
            ctx.operator.name, role, ctx.settings.clinic_code, ctx.settings.clinic_name, database.shown_url(ctx.db.path or ctx.db.url)))

    def _tab_shown(self, index: int) -> None:
        """The 结算 tab takes the price list as it is now; the 开业检查 tab checks again; the 审计 tab reads the
        trail again (it showed what it had read at start until 刷新 was clicked)."""
        w = self.tabs.widget(index)
        if w is self.settle_tab:
            self.settle_tab.items_pane.load_catalogue()
        elif w is not None and w is self.readiness_tab:
            self.readiness_tab.refresh()
        elif w is not None and w is getattr(self, "audit_tab", None):
            self.audit_tab.refresh()

    def _not_ready_first(self, r) -> None:
        """At start (once): a clinic not ready to settle opens on its 开业检查."""
        self.readiness_tab.checked.disconnect(self._not_ready_first)
        if not r.ready:
            self.tabs.setCurrentWidget(self.readiness_tab)

    def _settings_saved(self, st) -> None:
        self.ctx.settings = st
        self.setWindowTitle(self.tr("乡镇医保结算台 — {0}").format(st.clinic_name))
        self._show_status()

    def change_my_password(self) -> bool:
        dlg = PasswordDialog.for_own(self.ctx.db, self.ctx.operator.login, self, ask_current=True)
        ok = dlg.exec() == QDialog.DialogCode.Accepted
        if ok:
            self.statusBar().showMessage(self.tr("密码已修改"), 5000)
        return ok

    def show_help(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in shortcuts(self.tabs.count()))
        QMessageBox.information(self, self.tr("快捷键"), f"<table cellspacing=6>{rows}</table>")

    def closeEvent(self, event) -> None:
        QSettings(ORG, APP).setValue("main/geometry", self.saveGeometry())
        self.ctx.ops.wait(10000)
        super().closeEvent(event)


def build_context(db, operator) -> AppContext:
    from desktop_app.gui.ops import Ops

    ops = Ops(on_unhandled=lambda exc, tb: sys.excepthook(type(exc), exc, exc.__traceback__))
    return AppContext(db=db, ops=ops, operator=operator, settings=settings_service.load(db),
                      data_dir=database.data_dir(db))


def offer_restore(path: Path, state: str) -> bool:
    """The database failed its start-up check: say so and offer the newest backup. True if fixed."""
    latest = database.latest_backup(path)
    text = f"数据库 {path} 检查未通过：{state}\n\n"
    if latest is None:
        QMessageBox.critical(None, "数据库损坏", text + "没有可用的备份。请联系县医保局信息科，不要删除该文件。")
        return False
    ans = QMessageBox.question(None, "数据库损坏", text + f"是否用最近的备份恢复？\n{latest.path}\n（{latest.created:%Y-%m-%d %H:%M}；"
                               "损坏的文件会保留）", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    if ans != QMessageBox.StandardButton.Yes:
        return False
    try:  # the trail says a restore happened (no one is logged in yet: the program)
        database.restore(path, Path(latest.path), actor=accounts.SYSTEM, via="window", reason=state)
    except database.BackupError as exc:
        QMessageBox.critical(None, "恢复失败", str(exc))
        return False
    QMessageBox.information(None, "已恢复", f"已从 {latest.created:%Y-%m-%d %H:%M} 的备份恢复。该备份之后的结算需要重新核对。")
    return True


def open_or_ask(db_arg):
    """Open the database; a server that cannot be reached (or refuses the sign-in) is said, with 重试,
    数据库设置… and 退出 — the counter never falls back to a file of its own. None: the clerk left."""
    from desktop_app.errors import Refused

    while True:
        try:
            return database.open_database(db_arg)
        except Refused as exc:
            if database.locate(db_arg) is not None:
                raise
            box = QMessageBox(QMessageBox.Icon.Critical, "无法连接数据库服务器", exc.message)
            retry = box.addButton("重试", QMessageBox.ButtonRole.AcceptRole)
            setup = box.addButton("数据库设置…", QMessageBox.ButtonRole.ActionRole)
            box.addButton("退出", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(retry)
            box.exec()
            if box.clickedButton() is setup:
                from desktop_app.gui.server_dialog import ServerDialog

                dlg = ServerDialog(db_arg)
                if dlg.exec() == QDialog.DialogCode.Accepted:
                    db_arg = dlg.chosen
            elif box.clickedButton() is not retry:
                return None


def run_gui(db_arg=None, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    install_translations(app)
    windows: list = []
    install_exception_hook(lambda: windows[0] if windows else None)
    from desktop_app.privacy import setup_logging

    if db_arg is None and not os.environ.get(database.DB_ENV):
        from desktop_app.gui.server_dialog import saved_url

        db_arg = saved_url()  # the 数据库服务器 saved in the window's settings, if any
    path = database.locate(db_arg)
    log_file = setup_logging((path.parent if path else Path.home()) / "logs")
    LOG_FILE[:] = [log_file] if log_file else []
    if path is not None and path.exists():
        state = database.check(path, quick=True)
        if state != "ok" and not offer_restore(path, state):
            return 2
    db = open_or_ask(db_arg)
    if db is None:
        return 2
    first_login = None
    if not accounts.has_operators(db):
        # a first start: this clinic's supervisor (forced password change) or the demo clinic
        first_login = first_start(db)
        if first_login is None:
            return 0
    dlg = LoginDialog(db)
    if first_login:
        dlg.login.setText(first_login)
        dlg.password.setFocus()
    if os.environ.get("CLINIC_SETTLE_STARTUP_PROBE"):  # timing aid (docs/install.md): report once the login is up
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: (print("ready", flush=True), dlg.reject()))
    if dlg.exec() != QDialog.DialogCode.Accepted or dlg.operator is None:
        return 0
    win = MainWindow(build_context(db, dlg.operator))
    win.ctx.ops.change(database.daily_backup, db, failed=lambda exc: win.statusBar().showMessage(f"自动备份失败：{exc}"))
    windows.append(win)
    win.show()
    return app.exec()
