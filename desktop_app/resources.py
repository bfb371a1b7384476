"""Where the program finds the folders it reads at run time — the one place that locates them.

`RUNTIME_DIRS` are relative to the data root. The PyInstaller spec bundles exactly these, `setup.py`
copies exactly these into a built wheel, and a test fails when code loads a folder that is not listed
here (so neither the bundle nor the wheel can forget a new resource).

The data root is, in this order:
- the PyInstaller bundle: `sys._MEIPASS`, where the spec unpacks the listed folders;
- a regular (wheel) install: `desktop_app/_data/`, filled by `setup.py` at build time;
- otherwise the repository beside `desktop_app/` (a checkout or an editable install).

A plain module (standard library only): core may import it.
"""

from __future__ import annotations

import sys
from pathlib import Path

RUNTIME_DIRS = (
    "resources/policy_packs",  # shipped policy packs (core/pack_files.py: shipped_packs_dir)
    "db",  # Alembic migrations run at start-up (store/db.py: MIGRATIONS)
    "resources/trusted_keys",  # public keys whose pack signatures are accepted (core/signing.py)
    "resources/samples",  # the demo's synthetic 医保目录 and 收费目录 files (services/demo.py)
    "resources/regions",  # county-level names of the 行政区划 codes of Shanxi and Henan (services/regions.py)
)

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder that holds `resources/` and `db/` in this installation."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle)
    packaged = _PACKAGE / "_data"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent


def runtime_dir(name: str) -> Path:
    """One of `RUNTIME_DIRS` (e.g. "db"), located in this installation."""
    if name not in RUNTIME_DIRS:
        raise ValueError(f"{name!r} is not in RUNTIME_DIRS; list it there so the bundle and the wheel ship it")
    return data_root() / name
