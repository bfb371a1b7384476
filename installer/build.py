"""Build the one-folder bundle from a clean virtual environment on this OS, then self-test it.

    python installer/build.py [--out DIST_DIR] [--keep-venv]

Prints the bundle size and the bundled program's start-up time (`--self-test`).
On Windows the result is what installer/clinic_settle.iss packs into a setup file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def size_of(folder: Path) -> int:
    # the bundle holds symlinks to its own libraries: count every file once
    return sum(f.lstat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "dist"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--venv", default=None, help="reuse this venv instead of a clean one")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="clinic-build-"))
    work.mkdir(parents=True, exist_ok=True)
    if a.venv:
        vdir = Path(a.venv)
    else:
        vdir = work / "venv"
        venv.create(vdir, with_pip=True, clear=True)
    py = vdir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run([str(py), "-m", "pip", "install", "--quiet", str(ROOT), "pyinstaller>=6.3"])
    out = Path(a.out)
    t = time.perf_counter()
    run([str(py), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN", "--distpath", str(out),
         "--workpath", str(work / "build"), str(ROOT / "installer" / "clinic_settle.spec")])
    built = time.perf_counter() - t
    bundle = out / "clinic-settle"
    exe = bundle / ("clinic-settle.exe" if os.name == "nt" else "clinic-settle")
    print(f"bundle: {bundle} ({size_of(bundle) / 1e6:.0f} MB, built in {built:.0f} s)")
    t = time.perf_counter()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    p = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env)
    print(p.stdout.strip() or p.stderr.strip())
    print(f"self-test exit {p.returncode} in {time.perf_counter() - t:.1f} s")
    if not a.work and not a.venv:
        shutil.rmtree(work, ignore_errors=True)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
