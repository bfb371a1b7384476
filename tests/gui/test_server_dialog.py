"""数据库服务器 in the window: the clerk types the server's address and password, 测试连接 says what is wrong or
that it works, 保存 keeps it for the next start; at start an unreachable server is said (重试 / 数据库设置… / 退出),
and nothing falls back to a file on this computer."""

import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from tests.gui.drive import Modal
from tests.pgcluster import PASSWORD, SUPERUSER


@pytest.fixture(autouse=True)
def own_settings(tmp_path):
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))


def fill(qtbot, dlg, port, password, dbname="postgres"):
    if not dlg.use_server.isChecked():
        qtbot.mouseClick(dlg.use_server, Qt.MouseButton.LeftButton)
    for w, text in ((dlg.host, "127.0.0.1"), (dlg.port, str(port)), (dlg.dbname, dbname), (dlg.user, SUPERUSER),
                    (dlg.password, password)):
        w.selectAll()
        qtbot.keyClicks(w, text)


def test_test_connection_says_a_wrong_password_then_success_and_save_keeps_it(qtbot, pg_cluster):
    from desktop_app.gui.server_dialog import ServerDialog, saved_url

    dlg = ServerDialog(None)
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.test_btn.isEnabled()  # the file on this computer until the box is ticked
    fill(qtbot, dlg, pg_cluster.port, "not-the-password")
    qtbot.mouseClick(dlg.test_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.test_btn.isEnabled() and "正在连接" not in dlg.result.text(), timeout=15000)
    assert "用户名或密码错误" in dlg.result.text() and "not-the-password" not in dlg.result.text()
    fill(qtbot, dlg, pg_cluster.port, PASSWORD)
    qtbot.mouseClick(dlg.test_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.test_btn.isEnabled() and "正在连接" not in dlg.result.text(), timeout=15000)
    assert "连接成功" in dlg.result.text() and "PostgreSQL" in dlg.result.text() and PASSWORD not in dlg.result.text()
    qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    assert saved_url() == pg_cluster.url("postgres")
    mode = stat.S_IMODE(Path(QSettings("ClinicSettle", "ClinicSettle").fileName()).stat().st_mode)
    assert mode & 0o077 == 0  # the password is in it: this user's only


def test_a_missing_field_is_named(qtbot):
    from desktop_app.gui.server_dialog import ServerDialog

    dlg = ServerDialog(None)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.mouseClick(dlg.use_server, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)
    assert "服务器地址" in dlg.result.text() and dlg.isVisible()


def _button(text):
    return lambda w: w.buttons() and next(b for b in w.buttons() if b.text() == text).click()


def test_at_start_an_unreachable_server_is_said_and_the_clerk_may_leave(qtbot, pg_cluster, tmp_path):
    from desktop_app.gui.app import open_or_ask

    url = pg_cluster.url("postgres").replace(f":{pg_cluster.port}/", ":1/")
    seen = Modal(_button("退出"))
    assert open_or_ask(url) is None
    assert "无法连接数据库服务器" in seen.text and "不会改存到本机文件" in seen.text and PASSWORD not in seen.text


def test_at_start_the_clerk_fixes_the_server_in_the_settings_and_the_window_opens_it(qtbot, pg_cluster, pg_url):
    from desktop_app.gui.app import open_or_ask
    from desktop_app.gui.server_dialog import saved_url

    wrong = pg_url.replace(f":{pg_cluster.port}/", ":1/")
    dbname = pg_url.rsplit("/", 1)[1]

    def fix(dlg):
        fill(qtbot, dlg, pg_cluster.port, PASSWORD, dbname)
        qtbot.mouseClick(dlg.save_btn, Qt.MouseButton.LeftButton)

    answers = iter([_button("数据库设置…"), fix])
    seen = Modal(lambda w: next(answers)(w), count=2)
    db = open_or_ask(wrong)
    assert db is not None and db.url == pg_url and saved_url() == pg_url
    assert db.schema_version() is not None and len(seen.seen) == 2
    db.dispose()
