"""The bundle cannot forget a resource: every folder the program reads at run time is listed in
`desktop_app.resources.RUNTIME_DIRS`, and the PyInstaller spec bundles exactly that list."""

import ast

from desktop_app.core.policy import shipped_packs_dir
from desktop_app.resources import RUNTIME_DIRS
from desktop_app.store.db import MIGRATIONS, ROOT

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
                    name = node.right.value
                    if not any(d == name or d.startswith(name + "/") for d in RUNTIME_DIRS):
                        offenders.append(f"{path.name}:{node.lineno} {left} / {name!r}")
    # `.../ "resources" / "policy_packs"` is seen as "resources" then "policy_packs": both are in the list's paths
    offenders = [o for o in offenders if not o.endswith("'policy_packs'")]
    assert offenders == []


def test_spec_bundles_exactly_the_listed_folders():
    text = SPEC.read_text(encoding="utf-8")
    assert "from desktop_app.resources import RUNTIME_DIRS" in text
    assert "datas = [(str(ROOT / d), d) for d in RUNTIME_DIRS]" in text
    # the Windows installer ships the bundle folder as a whole
    iss = (ROOT / "installer" / "clinic_settle.iss").read_text(encoding="utf-8")
    assert r"dist\clinic-settle\*" in iss and "recursesubdirs" in iss
