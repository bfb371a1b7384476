"""desktop_app/core must hold no Qt and no SQL: checked statically and at import time."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "desktop_app" / "core"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "sqlalchemy", "sqlite3", "alembic")


@pytest.mark.reads_source
def test_core_sources_import_no_qt_or_sql():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.name}:{node.lineno} imports {n}")
    assert offenders == []


def test_core_and_calc_path_load_no_qt_or_sql_modules():
    code = (
        "import sys, desktop_app.core.calc, desktop_app.core.engine, desktop_app.cli.main, desktop_app.cli.calc;"
        "from desktop_app.core.pack_files import load_policy; load_policy();"
        f"bad=[m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.reads_source
def test_core_uses_no_float():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal")
    assert offenders == []
