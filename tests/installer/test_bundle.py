"""Build the Linux one-folder bundle in a temporary folder and run its --self-test (about a minute)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bundle_builds_and_passes_self_test(tmp_path):
    pytest.importorskip("PyInstaller")
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
                        "--distpath", str(dist), "--workpath", str(tmp_path / "build"),
                        str(ROOT / "installer" / "clinic_settle.spec")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    exe = dist / "clinic-settle" / ("clinic-settle.exe" if os.name == "nt" else "clinic-settle")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("CLINIC_SETTLE_DB", None)
    p = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "self-test OK" in p.stdout and "7 packs" in p.stdout and "window OK" in p.stdout
    # the bundled calc answers the contract's first worked example
    claim = ('{"date":"2024-03-01","benefit":"general_outpatient","insured":{"insutype":"390","category":"resident",'
             '"admdvs":"140100"},"institution":{"code":"H1","admdvs":"140100","level":"primary","price_class":3},'
             '"items":[{"code":"A","kind":"drug","chrgitm_lv":"01","qty":"1","price":"50.00"},'
             '{"code":"B","kind":"drug","chrgitm_lv":"02","qty":"1","price":"40.00"},'
             '{"code":"C","kind":"service","chrgitm_lv":"01","qty":"1","price":"10.00"}]}')
    c = subprocess.run([str(exe), "calc"], input=claim, capture_output=True, text=True, env=env, timeout=120)
    assert c.returncode == 0 and '"hifp_pay": "58.80"' in c.stdout
