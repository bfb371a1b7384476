"""Issue #18 item 5: the services check roles themselves — a caller that skips the window and the command
line (a script importing the services, a plug-in) is refused just the same. There is no default actor, and
no actor name (`system`) that skips the check: an operator who happens to be called `system` is a clerk."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import desktop_app.services as services_pkg
from desktop_app.errors import Refused
from desktop_app.services import accounts, audit, database, packs, roster, settings
from tests.cli_run import ROOT

PACKS = ROOT / "resources" / "policy_packs"


def _service_functions():
    for info in pkgutil.iter_modules(services_pkg.__path__):
        mod = importlib.import_module(f"desktop_app.services.{info.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ == mod.__name__ and not name.startswith("_"):
                yield f"{info.name}.{name}", fn


def test_no_service_has_a_default_actor():
    defaults = [name for name, fn in _service_functions() for p in inspect.signature(fn).parameters.values()
                if p.name in ("actor", "operator") and p.default is not inspect.Parameter.empty]
    assert defaults == []


@pytest.mark.reads_source
def test_nothing_in_the_program_skips_the_role_check_for_a_name():
    src = (ROOT / "desktop_app" / "services" / "accounts.py").read_text(encoding="utf-8")
    body = src[src.index("def require_supervisor"):]
    assert "SYSTEM" not in body.split("\ndef ", 1)[0] and '"system"' not in body.split("\ndef ", 1)[0]


@pytest.fixture()
def system_clerk(db):
    """A clerk whose login is `system` (the name is reserved now; an older database may hold one)."""
    import sqlite3

    with pytest.raises(ValueError, match="程序自身"):
        accounts.create_operator(db, "system", "系统", "clerk", "system-pass-1", actor="admin")
    con = sqlite3.connect(db.path)
    con.execute("INSERT INTO operator(login, name, role, password_hash, must_change_password, active, failed_logins,"
                " created_at) VALUES ('system', '系统', 'clerk', ?, 0, 1, 0, '2026-01-01 00:00:00')",
                (accounts.hash_password("system-pass-1"),))
    con.commit()
    con.close()
    return db


def _supervisor_calls(db, tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("人员编号,身份证号,姓名,性别,出生日期,险种类型,人员类别,参保地区划,截至日期\n", encoding="utf-8")
    return {
        "audit.verify": lambda a: audit.verify(db, actor=a),
        "audit.recent": lambda a: audit.recent(db, 10, actor=a),
        "database.backup": lambda a: database.backup(db, tmp_path / "bk", actor=a),
        "accounts.create_operator": lambda a: accounts.create_operator(db, "evil", "坏", "supervisor", "evil-pass-1",
                                                                        actor=a),
        "settings.save": lambda a: settings.save(db, {"clinic_name": "改"}, actor=a),
        "roster.import_roster": lambda a: roster.import_roster(db, f, actor=a),
        "packs.sync": lambda a: packs.sync(db, PACKS, force=True, actor=a),
        "packs.sync_shipped": lambda a: packs.sync_shipped(db, actor=a),
    }


@pytest.mark.parametrize("who", ["clerk", "system", "nobody", ""])
def test_a_caller_that_skips_the_window_is_refused(system_clerk, tmp_path, who):
    db = system_clerk
    before = len(audit.recent(db, 10_000, actor="admin"))
    for call in _supervisor_calls(db, tmp_path).values():
        with pytest.raises(Refused, match="只有管理员"):
            call(who)
    assert not list(Path(tmp_path / "bk").glob("*.sqlite3"))
    assert accounts.get_operator(db, "evil") is None
    assert settings.load(db).clinic_name != "改"
    # only the supervisor's own reads of the trail were added (none: refusals write nothing)
    assert len(audit.recent(db, 10_000, actor="admin")) == before


def test_a_supervisor_may(db, tmp_path):
    calls = _supervisor_calls(db, tmp_path)
    assert calls["audit.verify"]("admin").ok
    assert calls["audit.recent"]("admin")
    assert Path(calls["database.backup"]("admin").path).exists()
    assert [e.action for e in audit.recent(db, 1, actor="admin")] == ["backup"]
