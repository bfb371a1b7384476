"""The command line as a whole: no command can go missing, `calc` stays light, and the README's exit-code
table is the one in desktop_app/errors.py."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]

# every command of `clinic-settle` (spelled out here, not read from the program, so that losing one fails)
COMMANDS = ["calc", "packs", "init", "sync", "import-roster", "import-catalogue", "import-prices", "export-prices",
            "items", "check-ready", "settings", "lookup", "settle", "reverse", "day-close",
            "day-reopen",
            "receipt", "report", "export", "demo", "audit", "user", "backup", "restore", "county", "gui", "status"]
PACKS_COMMANDS = ["check", "keygen", "sign", "trust", "untrust", "keys"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=ROOT, stdin=subprocess.DEVNULL)


def test_top_level_help_lists_every_command():
    r = _run("--help")
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^    (\S+)\s", r.stdout, flags=re.MULTILINE)
    assert listed == COMMANDS


@pytest.mark.parametrize("words", [[c] for c in COMMANDS] + [["packs", c] for c in PACKS_COMMANDS],
                         ids=" ".join)
def test_every_command_has_a_working_help(words):
    r = _run(*words, "--help")
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert r.stdout.startswith(f"usage: clinic-settle {' '.join(words)} ")


def test_packs_without_a_subcommand_shows_its_help():
    r = _run("packs")
    assert r.returncode == 0 and r.stdout == _run("packs", "--help").stdout
    assert all(c in r.stdout for c in PACKS_COMMANDS)


_PROBE = """
import runpy, sys
sys.argv = ["desktop_app", *sys.argv[1:]]
try:
    runpy.run_module("desktop_app", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stderr.write("\\nLOADED:" + ",".join(sorted(sys.modules)) + "\\n")
"""


def test_calc_loads_no_database_code_no_sqlalchemy_no_qt(tmp_path):
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps({"date": "2024-03-01"}), encoding="utf-8")
    r = subprocess.run([sys.executable, "-c", _PROBE, "calc", str(claim)], capture_output=True, text=True,
                       encoding="utf-8", cwd=ROOT)
    loaded = r.stderr.rsplit("LOADED:", 1)[1].strip().split(",")
    assert '"invalid_input"' in r.stdout
    ours = {m for m in loaded if m.startswith("desktop_app")}
    assert ours <= {"desktop_app", "desktop_app.__main__", "desktop_app.errors", "desktop_app.resources", "desktop_app.cli",
                    "desktop_app.cli.main", "desktop_app.cli.calc"} | {m for m in ours if m.startswith("desktop_app.core")}
    bad = {m.split(".")[0] for m in loaded} & {"sqlalchemy", "alembic", "sqlite3", "PySide6", "shiboken6"}
    assert not bad


def test_readme_exit_code_table_is_the_one_in_errors():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.index("| 退出码 | 含义 |")
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", text[head:].split("\n\n", 1)[0], flags=re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES
    assert [int(code) for code, _ in rows] == list(EXIT_CODES)


def test_argument_errors_are_chinese_and_exit_2():
    """The cold CLI try: `reverse X` without --reason said `the following arguments are required`."""
    for args, words in ((("reverse", "X"), ("缺少必填参数", "--reason")), (("settel",), ("命令“settel”无效",)),
                        (("export", "--from", "2026-01-01"), ("缺少必填参数", "--to"))):
        r = _run(*args)
        assert r.returncode == 2 and all(w in r.stderr for w in words), (args, r.stderr)
        assert "the following" not in r.stderr and "invalid choice" not in r.stderr
