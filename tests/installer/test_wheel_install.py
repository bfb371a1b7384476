"""A regular (non-editable) install carries `resources/` and `db/`: `pip install .` into a fresh
virtual environment, then init, demo data and a settlement from a folder outside the repository.

The new environment gets only the package (`--no-deps`); a `.pth` file lends it the development
environment's site-packages for the dependencies, so nothing is downloaded but the build backend
(from the pip cache). `.pth` lines only extend sys.path, so the development environment's editable
hook is not run: `desktop_app` is imported from the new environment, never from the repository.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
        ".hypothesis", "tests", "docs")


def _run(cmd, env, cwd, stdin=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, encoding="utf-8", env=env, cwd=cwd,
                       input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, timeout=300)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_wheel_install_finds_migrations_and_packs(tmp_path):
    src = tmp_path / "src"  # a clean copy: the build writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*SKIP))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    paths = json.loads(subprocess.check_output(
        [str(py), "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"], text=True))
    dev = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (Path(paths["purelib"]) / "_clinic_settle_dev_deps.pth").write_text("\n".join(sorted(dev)) + "\n")

    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                        "--no-build-isolation", str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]

    work = tmp_path / "elsewhere"  # outside the repository: '' on sys.path must not find it
    work.mkdir()
    db = work / "clinic.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SETTLE_") and k != "PYTHONPATH"}
    env |= {"CLINIC_SETTLE_DB": str(db), "QT_QPA_PLATFORM": "offscreen"}

    r = _run([py, "-c", "import desktop_app, desktop_app.resources as r; print(desktop_app.__file__);"
                        "print(r.data_root())"], env, work)
    where, root = (Path(line) for line in r.stdout.split())
    installed = Path(paths["purelib"]).resolve()
    assert where.resolve().is_relative_to(installed) and not where.resolve().is_relative_to(ROOT)
    assert root.resolve() == installed / "desktop_app" / "_data"

    cs = bindir / ("clinic-settle.exe" if os.name == "nt" else "clinic-settle")
    r = _run([cs, "init"], env, work)
    assert r.returncode == 0 and "已创建数据库" in r.stdout, r.stderr
    # demo syncs the shipped packs, which are accepted only with a signature by a shipped trusted key
    r = _run([cs, "demo", "--persons", "40", "--json"], env, work)
    assert r.returncode == 0 and json.loads(r.stdout)["packs"] == 7, r.stderr

    clerk = env | {"CLINIC_SETTLE_OPERATOR": "clerk", "CLINIC_SETTLE_PASSWORD": "clerk123"}
    r = _run([cs, "lookup", "14110200", "--json"], clerk, work)
    assert r.returncode == 0, r.stderr
    psn = next(h["psn_no"] for h in json.loads(r.stdout)["hits"] if h["insutype"] == "390" and h["admdvs"] == "141102")
    visit = work / "visit.json"
    visit.write_text(json.dumps({"psn_no": psn, "benefit": "general_outpatient",
                                 "items": [{"code": "110200005", "qty": "1"}, {"code": "XJ01CAA040A001", "qty": "2"}]}),
                     encoding="utf-8")
    r = _run([cs, "settle", str(visit), "--json"], clerk, work)
    rec = json.loads(r.stdout)
    assert r.returncode == 0 and rec["kind"] == "settle" and rec["result"]["medfee_sumamt"] == "35.00", r.stderr
    # the shipped packs load from the installed package
    r = _run([cs, "packs", "check", str(root / "resources" / "policy_packs")], env, work)
    assert r.returncode == 0, r.stdout + r.stderr
