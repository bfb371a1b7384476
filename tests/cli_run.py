"""Running `clinic-settle` as a clerk, supervisor or script would: a subprocess with the operator and
password in the environment (CLINIC_SETTLE_OPERATOR / CLINIC_SETTLE_PASSWORD)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"clerk": "clerk123", "admin": "admin123"}  # the demo accounts


def env_for(login: str | None, password: str | None = None, **extra) -> dict:
    """The environment without any CLINIC_SETTLE_* of the caller's, signed in as `login` (None: nobody)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SETTLE_")}
    if login:
        env |= {"CLINIC_SETTLE_OPERATOR": login,
                "CLINIC_SETTLE_PASSWORD": PASSWORDS.get(login, "") if password is None else password}
    return env | extra


def cs(*args, stdin=None, env=None, user="clerk"):
    """Run `clinic-settle ARGS` as `user` (or with `env`); returns (exit code, stdout, stderr)."""
    # never the developer's terminal: a command that wants a password must not sit waiting at a prompt
    extra = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    r = subprocess.run([sys.executable, "-m", "desktop_app", *args], capture_output=True, text=True,
                       encoding="utf-8", cwd=ROOT, env=env_for(user) if env is None else env, **extra)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, r.stdout, r.stderr
