"""Ships `resources/` and `db/` inside the built package (everything else is in pyproject.toml).

The design card keeps `resources/` and `db/` at the top of the repository, beside `desktop_app/`,
so they are not package data. A regular (non-editable) install would lose them, and the program
could not find its migrations or shipped policy packs. This build step copies exactly the folders
in `desktop_app.resources.RUNTIME_DIRS` (the list the PyInstaller spec bundles) into
`desktop_app/_data/` of the built package; `desktop_app.resources.data_root()` looks there first.
An editable install (`pip install -e .`) copies nothing: it reads the repository's own folders.
`MANIFEST.in` carries the same folders into an sdist, so a wheel built from the sdist has them too.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# a plain module (no imports from the package), read without importing desktop_app
RUNTIME_DIRS = runpy.run_path(str(HERE / "desktop_app" / "resources.py"))["RUNTIME_DIRS"]


class build_py_with_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "desktop_app" / "_data"
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build
        for d in RUNTIME_DIRS:
            shutil.copytree(HERE / d, target / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": build_py_with_data})
