import pytest


def _window(qtbot, db, tmp_path, login, password):
    from PySide6.QtCore import QSettings

    from desktop_app.gui.app import MainWindow, build_context
    from desktop_app.services import accounts

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    op = accounts.authenticate(db, login, password)
    ctx = build_context(db, op)
    ctx.data_dir = tmp_path
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    return win


@pytest.fixture
def window(qtbot, db, tmp_path):
    win = _window(qtbot, db, tmp_path, "clerk", "clerk123")
    yield win
    win.ctx.ops.wait()


@pytest.fixture
def admin_window(qtbot, db, tmp_path):
    win = _window(qtbot, db, tmp_path, "admin", "admin123")
    yield win
    win.ctx.ops.wait()
