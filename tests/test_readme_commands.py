"""README.md's commands run as written.

Every `clinic-settle` (and `python -m desktop_app`) line of README.md's ```bash blocks is run by bash, in
order, in a temporary folder laid out like the repository (`.venv/bin/clinic-settle` and `python` run this
checkout; `resources/` is there), against a demo database (`CLINIC_SETTLE_DB`). The operator is the one the
README names (`export CLINIC_SETTLE_OPERATOR=…`, `--operator …`) and the password is given as the terminal
would be answered; the input files the README names are made from the README's own examples (visit.json and
the claim of 试算示例) or from the repository's samples (花名册.xlsx, 医保目录.xlsx, 收费目录.csv, 政策包.zip, 医保局公钥.pem, 县政策包/).
Placeholders (`<结算单号>`, `<审计锚点>`, `<备份文件>`) take the value an earlier command printed. A command
fails the test when it exits non-zero (the README shows none of them as refused) or prints a traceback.
"""

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PASSWORDS = {"clerk": "clerk123", "admin": "admin123"}
CAPTURE = {"<结算单号>": re.compile(r"结算单号 (\S+)"), "<审计锚点>": re.compile(r"审计锚点 (#\d+ [0-9a-f-]+)"),
           "<备份文件>": re.compile(r"已备份（已校验）：(\S+?)（")}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def commands() -> list[str]:
    """The logical lines (continuations joined) of the bash blocks that run the program or set its env."""
    out, buf = [], ""
    for block in blocks("bash"):
        for raw in block.splitlines():
            buf += raw + "\n"
            if buf.count("'") % 2 or buf.rstrip().endswith("\\"):
                continue  # inside a quoted string, or continued on the next line: one command, as bash reads it
            line, buf = buf.replace("\\\n", " ").strip(), ""
            if line.startswith("export ") or "clinic-settle" in line or "-m desktop_app" in line:
                out.append(line)
    return out


def _claim_of_the_example() -> dict:
    example = next(b for b in blocks("bash") if "| .venv/bin/clinic-settle calc" in b)
    return json.loads(re.search(r"echo '(.*?)'", example, re.S).group(1))


def _lay_out(tmp: Path) -> dict:
    """The folder the README's commands run in, and the environment."""
    bin_ = tmp / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name, args in (("clinic-settle", "-m desktop_app"), ("python", "")):
        f = bin_ / name
        f.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args} "$@"\n', encoding="utf-8")
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    (tmp / "resources").symlink_to(ROOT / "resources")
    visit = next(b for b in blocks("json") if '"psn_no"' in b)
    (tmp / "visit.json").write_text(visit, encoding="utf-8")
    walkin = next(b for b in blocks("json") if '"self_pay"' in b)  # the 全自费 example
    (tmp / "walkin.json").write_text(walkin, encoding="utf-8")
    claim = _claim_of_the_example()
    (tmp / "claim.json").write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    (tmp / "in.jsonl").write_text(json.dumps(claim, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.copy(ROOT / "docs" / "samples" / "roster_sample.xlsx", tmp / "花名册.xlsx")
    shutil.copy(ROOT / "docs" / "samples" / "catalogue_sample.xlsx", tmp / "医保目录.xlsx")
    shutil.copy(ROOT / "docs" / "samples" / "prices_sample.csv", tmp / "收费目录.csv")
    shutil.copy(ROOT / "resources" / "trusted_keys" / "dev-public.pem", tmp / "医保局公钥.pem")
    packs = ROOT / "resources" / "policy_packs"
    shutil.copytree(packs / "cn-140830-ruicheng", tmp / "县政策包")
    with zipfile.ZipFile(tmp / "政策包.zip", "w") as zf:
        for f in sorted((packs / "cn-140000-shanxi").rglob("*")):
            zf.write(f, f.relative_to(packs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SETTLE_")}
    env |= {"CLINIC_SETTLE_DB": str(tmp / "data" / "clinic.sqlite3"), "QT_QPA_PLATFORM": "offscreen",
            "PATH": f"{bin_}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([str(bin_ / "clinic-settle"), "demo"], cwd=tmp, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return env


def _answer_prompts(line: str, env: dict, passwords: dict) -> dict:
    """What the person at the terminal types: the operator's password, and a new one where asked."""
    words = line.split()
    named = re.search(r"--operator\s+(\w+)", line)
    op = named.group(1) if named else env.get("CLINIC_SETTLE_OPERATOR")
    run_env = dict(env)
    if op:
        run_env["CLINIC_SETTLE_PASSWORD"] = passwords[op]
    if "user" in words and ("add" in words or "passwd" in words):
        run_env["CLINIC_SETTLE_NEW_PASSWORD"] = f"{op}-new-pass-1"
    return run_env


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    env = _lay_out(tmp)
    passwords, seen, results = dict(PASSWORDS), {}, []
    for line in commands():
        if line.startswith("export "):
            key, _, value = shlex.split(line, comments=True)[1].partition("=")
            env[key] = value
            continue
        for placeholder, value in seen.items():
            line = line.replace(placeholder, value)
        assert "<" not in line.split("#")[0] or "<<" in line, f"no value yet for a placeholder in: {line}"
        run_env = _answer_prompts(line, env, passwords)
        r = subprocess.run(["bash", "-c", line], cwd=tmp, env=run_env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        results.append((line, r.returncode, r.stdout, r.stderr))
        for placeholder, pattern in CAPTURE.items():
            if (mo := pattern.search(r.stdout)) and placeholder not in seen:
                seen[placeholder] = mo.group(1)
        if "CLINIC_SETTLE_NEW_PASSWORD" in run_env and " passwd" in line and r.returncode == 0:
            passwords[env["CLINIC_SETTLE_OPERATOR"]] = run_env["CLINIC_SETTLE_NEW_PASSWORD"]
    return results


def test_the_readme_shows_the_commands_it_promises():
    text = "\n".join(commands())
    for cmd in ("lookup", "settle", "reverse", "day-close", "receipt", "report", "export", "import-roster",
                "import-catalogue", "import-prices", "export-prices", "items", "check-ready",
                "settings", "sync", "packs trust", "audit verify", "user add", "user passwd", "backup", "restore",
                "calc"):
        assert f"clinic-settle {cmd}" in text, cmd


def test_every_readme_command_runs_as_written(ran):
    failed = [(line, code, (err or out)[-800:]) for line, code, out, err in ran
              if code != 0 or "Traceback" in err]
    assert not failed, "\n\n".join(f"{line}\n  exit {code}\n  {msg}" for line, code, msg in failed)
