"""A real X display for the window: Xvfb + openbox, driven with xdotool the way a clerk's hands would.

Nothing here talks to Qt: the program runs as its own process (`QT_QPA_PLATFORM=xcb`), keys and clicks
go through the X server, and the test reads what happened from the screen (window titles,
screenshots) and from the database file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

TOOLS = ("Xvfb", "openbox", "xdotool", "xprop")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


class XDisplay:
    """One virtual screen with a window manager (without one, focus gets lost between dialogs)."""

    def __init__(self, workdir: Path, size: str = "1366x768"):
        self.workdir = workdir
        self.size = size
        self.procs: list[subprocess.Popen] = []
        self.display = ""

    def start(self) -> XDisplay:
        r, w = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", f"{self.size}x24", "-nolisten", "tcp"],
                                pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        self.procs.append(xvfb)
        num = b""
        deadline = time.monotonic() + 20
        while not num.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(r, 16)
            if not chunk:
                break
            num += chunk
        os.close(r)
        if not num.strip():
            self.stop()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{num.decode().strip()}"
        self.procs.append(subprocess.Popen(["openbox"], env=self.env(), stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        self.wait(lambda: self._wm_running(), 10, "openbox did not start")
        return self

    def _wm_running(self) -> bool:
        """openbox has set _NET_SUPPORTING_WM_CHECK on the root window (EWMH): it manages windows now."""
        r = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env(), capture_output=True,
                           text=True)
        return "window id" in r.stdout

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.procs.clear()

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLINIC_SETTLE_", "QT_"))}
        return env | {"DISPLAY": self.display} | extra

    # -- the clerk's hands -------------------------------------------------------------------------
    def xdo(self, *args: str) -> str:
        r = subprocess.run(["xdotool", *args], env=self.env(), capture_output=True, text=True, timeout=30)
        return r.stdout.strip()

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for k in keys:
            self.xdo("key", "--clearmodifiers", k)
            time.sleep(pause)

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", "40", text)
        time.sleep(0.15)

    def active_title(self) -> str:
        return self.xdo("getactivewindow", "getwindowname")

    def titles(self) -> list[str]:
        ids = self.xdo("search", "--onlyvisible", "--name", ".").split()
        return [self.xdo("getwindowname", i) for i in ids]

    def wait_active(self, title_part: str, timeout: float = 20) -> None:
        self.wait(lambda: title_part in self.active_title(), timeout,
                  f"no active window titled …{title_part}… (active: {self.active_title()!r})")

    def screenshot(self, path: Path) -> None:
        if shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(path)], env=self.env(), capture_output=True,
                           timeout=30)

    @staticmethod
    def wait(cond, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.2)
        raise AssertionError(what)
