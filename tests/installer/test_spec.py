"""The bundle cannot forget a resource: every folder the program reads at run time is listed in
`desktop_app.resources.RUNTIME_DIRS`, and the PyInstaller spec bundles exactly that list."""

import ast
from pathlib import Path

from desktop_app.core.pack_files import shipped_packs_dir
from desktop_app.resources import RUNTIME_DIRS, data_root
from desktop_app.store.db import MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]

SRC = ROOT / "desktop_app"
SPEC = ROOT / "installer" / "clinic_settle.spec"


def test_listed_folders_exist_and_cover_the_loaders():
    for d in RUNTIME_DIRS:
        assert (ROOT / d).is_dir(), d
    rel = {str(p.resolve().relative_to(ROOT)).replace("\\", "/") for p in (shipped_packs_dir(), MIGRATIONS)}
    assert rel <= set(RUNTIME_DIRS)


def test_no_code_reads_an_unlisted_project_folder():
    """Any `<something rooted at __file__> / "name"` in the code must lead into a listed folder."""
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant) \
                    and isinstance(node.right.value, str):
                left = ast.unparse(node.left)
                if "__file__" in left or left in ("ROOT", "self.ROOT"):
                    # `root / "resources" / "x"` is seen one component at a time: each must be a
                    # component of a listed folder, and the last one a listed folder's last component
                    name = node.right.value
                    parts = {c for d in RUNTIME_DIRS for c in d.split("/")}
                    if name not in parts:
                        offenders.append(f"{path.name}:{node.lineno} {left} / {name!r}")
    assert offenders == []
    assert {d.split("/")[-1] for d in RUNTIME_DIRS} >= {"policy_packs", "db", "trusted_keys"}


def test_only_the_resources_module_locates_runtime_folders():
    """`desktop_app/resources.py` is the one place that finds `resources/` and `db/` (repository,
    wheel install or bundle); elsewhere a folder is asked for by name, and the name must be listed."""
    assert data_root() == ROOT  # tests run from the repository (or an editable install of it)
    located, unlisted = [], []
    for path in SRC.rglob("*.py"):
        if path == SRC / "resources.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "__file__":
                located.append(f"{path.relative_to(SRC)}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("runtime_dir"):
                arg = node.args[0] if node.args else None
                if not (isinstance(arg, ast.Constant) and arg.value in RUNTIME_DIRS):
                    unlisted.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert located == [] and unlisted == []


def test_spec_bundles_exactly_the_listed_folders():
    text = SPEC.read_text(encoding="utf-8")
    assert "from desktop_app.resources import RUNTIME_DIRS" in text
    assert "datas = [(str(ROOT / d), d) for d in RUNTIME_DIRS]" in text
    # the Windows installer ships the bundle folder as a whole
    iss = (ROOT / "installer" / "clinic_settle.iss").read_text(encoding="utf-8")
    assert r"dist\clinic-settle\*" in iss and "recursesubdirs" in iss
