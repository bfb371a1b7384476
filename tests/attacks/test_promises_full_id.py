"""Issue #18 item 6: "the full number is shown only to a supervisor" — a deliberate, audited act: 显示完整证件号
in the window's person pane (supervisors only; clicked here), `lookup --full-id` on the command line."""

import json
import sqlite3

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from desktop_app.store import models as m
from tests.cli_run import cs
from tests.gui.conftest import _window
from tests.gui.test_gui import find, resident


def reveals(path):
    con = sqlite3.connect(path)
    try:
        return [(a, s, json.loads(d)) for a, s, d in
                con.execute("SELECT actor, subject, detail FROM audit_entry WHERE action='id_reveal'")]
    finally:
        con.close()


# -- the window ---------------------------------------------------------------------------------------------
def test_a_supervisor_clicks_to_see_the_full_number_and_it_is_audited(qtbot, db, tmp_path):
    win = _window(qtbot, db, tmp_path, "admin", "admin123")
    tab = win.settle_tab
    p = resident(db)
    find(qtbot, tab, p.psn_no)
    btn = tab.person_pane.reveal_btn
    assert btn.isVisible() and btn.isEnabled() and btn.text() == "显示完整证件号"
    assert p.id_no not in tab.person_label.text()
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: p.id_no in tab.person_label.text(), timeout=10000)
    win.ctx.ops.wait()
    assert reveals(db.path) == [("admin", p.psn_no, {"id": p.id_no[:4] + "*" * 10 + p.id_no[-4:], "via": "window"})]
    # the next person is masked again until asked
    with db.read() as s:
        other = s.execute(select(m.Person).where(m.Person.psn_no != p.psn_no).limit(1)).scalar_one()
    tab.person = None
    find(qtbot, tab, other.psn_no)
    assert other.id_no not in tab.person_label.text() and btn.isEnabled()
    win.ctx.ops.wait()


def test_a_clerk_has_no_such_button(qtbot, db, tmp_path):
    win = _window(qtbot, db, tmp_path, "clerk", "clerk123")
    tab = win.settle_tab
    p = resident(db)
    find(qtbot, tab, p.psn_no)
    assert not tab.person_pane.reveal_btn.isVisible()
    assert p.id_no not in tab.person_label.text()
    win.ctx.ops.wait()


def test_the_service_refuses_a_clerk_who_skips_the_window(db):
    from desktop_app.errors import Refused
    from desktop_app.services import lookup

    p = resident(db)
    with pytest.raises(Refused, match="只有管理员"):
        lookup.reveal_id(db, p.psn_no, actor="clerk", via="window")
    assert lookup.summary(db, p.psn_no).id_full is None
    assert reveals(db.path) == []


# -- the command line ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("fullid") / "clinic.sqlite3"
    assert cs("demo", "--db", str(path), "--persons", "20", user=None)[0] == 0
    return str(path)


def _psn_and_id(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT psn_no, id_no FROM person ORDER BY psn_no LIMIT 1").fetchone()
    finally:
        con.close()


def test_lookup_full_id_for_a_supervisor_is_audited(cli_db):
    psn, idn = _psn_and_id(cli_db)
    code, out, err = cs("lookup", psn, "--db", cli_db, user="admin")
    assert code == 0 and idn not in out
    code, out, err = cs("lookup", psn, "--full-id", "--db", cli_db, user="admin")
    assert code == 0 and idn in out, err
    code, out, _ = cs("lookup", psn, "--full-id", "--db", cli_db, "--json", user="admin")
    assert json.loads(out)["id_full"] == idn
    assert [(a, s, d["via"]) for a, s, d in reveals(cli_db)] == [("admin", psn, "cli")] * 2


def test_lookup_full_id_is_refused_to_a_clerk(cli_db):
    psn, idn = _psn_and_id(cli_db)
    before = len(reveals(cli_db))
    code, out, err = cs("lookup", psn, "--full-id", "--db", cli_db)
    assert code == 1 and "只有管理员" in err and idn not in out + err
    assert len(reveals(cli_db)) == before
