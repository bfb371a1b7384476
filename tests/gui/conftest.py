import pytest

from tests.store.conftest import db, empty_db, template_db  # noqa: F401  (shared fixtures)


def _window(qtbot, db, tmp_path, login, password):  # noqa: F811
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
def window(qtbot, db, tmp_path):  # noqa: F811
    win = _window(qtbot, db, tmp_path, "clerk", "clerk123")
    yield win
    win.ctx.ops.wait()


@pytest.fixture
def admin_window(qtbot, db, tmp_path):  # noqa: F811
    win = _window(qtbot, db, tmp_path, "admin", "admin123")
    yield win
    win.ctx.ops.wait()
