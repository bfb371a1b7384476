"""The real window on a real X display (Xvfb + openbox, QT_QPA_PLATFORM=xcb), driven by keys through
the X server as a clerk would: log in, find a person, enter a visit, pre-settle, settle, print preview
(F10), then in 今日结算 reprint, reverse and close the day through the buttons (by their Alt+letter
mnemonics, which press the button exactly as a click does) with their confirmations.

The test asserts the program is still running after each step and that the database file holds
exactly what was done. Screenshots of each step land in the test's tmp folder (look there when it
fails). CI installs Xvfb, openbox and xdotool (.ci/run); elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.cli_run import ROOT

from .xdisplay import XDisplay, missing_tools

pytestmark = pytest.mark.realwin


@pytest.fixture(scope="module")
def xdisplay(tmp_path_factory):
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide a real X display: missing {missing} (see .ci/run)")
        pytest.skip(f"no real X display here: missing {missing} (apt-get install xvfb openbox xdotool x11-utils)")
    xd = XDisplay(tmp_path_factory.mktemp("x")).start()
    yield xd
    xd.stop()


def _demo_db(tmp_path):
    db = tmp_path / "clinic.db"
    r = subprocess.run([sys.executable, "-m", "desktop_app", "demo", "--db", str(db)], cwd=ROOT,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       env={k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SETTLE_")})
    assert r.returncode == 0, r.stderr
    return db


def _rows(db, sql, *args):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute(sql, args).fetchall()


class Counter:
    """The program under test, its display, and a screenshot per step."""

    def __init__(self, xd: XDisplay, db, tmp_path):
        self.xd, self.db, self.shots = xd, db, tmp_path / "shots"
        self.shots.mkdir()
        self.n = 0
        env = xd.env(QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
                     XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
        self.log = open(tmp_path / "program.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "desktop_app", "gui", "--db", str(db)], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self, step: str) -> None:
        self.shot(step)
        assert self.proc.poll() is None, f"the program died at «{step}» (exit {self.proc.returncode}); " \
                                         f"see {self.log.name}"

    def shot(self, step: str) -> None:
        self.n += 1
        self.xd.screenshot(self.shots / f"{self.n:02d}-{step}.png")

    def until(self, cond, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the program died waiting for {what}"
            if cond():
                return
            time.sleep(0.2)
        self.shot("timeout")
        raise AssertionError(f"timed out waiting for {what}; active window: {self.xd.active_title()!r}")

    def wait_active(self, title_part: str, timeout: float = 20) -> None:
        self.until(lambda: title_part in self.xd.active_title(), f"a window titled …{title_part}…", timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def test_a_whole_visit_and_day_on_the_real_window(xdisplay, tmp_path):
    db = _demo_db(tmp_path)
    (psn_no,) = _rows(db, "SELECT psn_no FROM person WHERE admdvs LIKE '1411%' AND insutype = '390' ORDER BY psn_no LIMIT 1")[0]
    codes = [c for (c,) in _rows(db, "SELECT code FROM clinic_item WHERE fee_category = '西药费' AND ins_code != '' ORDER BY code LIMIT 2")]
    today = dt.date.today().isoformat()
    xd = xdisplay
    app = Counter(xd, db, tmp_path)
    try:
        app.wait_active("登录", 30)
        xd.type("clerk")
        xd.keys("Tab")
        xd.type("clerk123")
        xd.keys("Return")
        app.wait_active("乡镇医保结算台 —", 30)
        app.alive("logged-in")

        # find the person by 人员编号 (one hit), take it with Enter; the cursor goes on to the items
        xd.keys("F2")
        xd.type(psn_no)
        time.sleep(1.0)
        xd.keys("Return")
        time.sleep(0.8)
        for code, qty in zip(codes, ("2", "1"), strict=True):
            xd.type(code)
            xd.keys("Return")
            xd.type(qty)
            xd.keys("Return")
        xd.keys("F5")
        time.sleep(1.0)
        app.alive("presettled")

        xd.keys("F9")
        app.wait_active("确认结算")
        app.shot("confirm-settle")
        xd.keys("Return")
        app.until(lambda: _rows(db, "SELECT count(*) FROM settlement WHERE kind='settle'")[0][0] == 1,
                  "the settlement in the database")
        app.alive("settled")

        # F10: print preview of the receipt just settled; closing it leaves the program running
        xd.keys("F10")
        app.wait_active("预览")
        app.alive("preview")
        xd.keys("Escape")
        app.wait_active("乡镇医保结算台 —")
        app.alive("preview-closed")

        # a walk-in not in the roster (全自费): Ctrl+N, 自费患者(J)…, name and ID number, one item, F9, Enter
        xd.keys("ctrl+n")
        xd.keys("alt+j")
        app.wait_active("自费患者")
        xd.type("王小明")
        xd.keys("Tab")
        xd.type("11010519491231002X")
        app.shot("walk-in-dialog")
        xd.keys("Return")
        app.wait_active("乡镇医保结算台 —")
        time.sleep(0.5)
        xd.type(codes[0])
        xd.keys("Return")
        xd.type("1")
        xd.keys("Return")
        xd.keys("F9")
        app.wait_active("确认全自费结算")
        app.shot("confirm-self-pay")
        xd.keys("Return")
        app.until(lambda: _rows(db, "SELECT count(*) FROM settlement WHERE psn_no IS NULL")[0][0] == 1,
                  "the walk-in's settlement in the database")
        app.alive("self-pay-settled")

        # 今日结算: the list takes the focus with the latest settlement selected
        xd.keys("ctrl+2")
        time.sleep(0.8)
        xd.keys("alt+p")  # 补打结算单(P)
        app.wait_active("预览")
        app.alive("reprint-preview")
        xd.keys("Escape")
        app.wait_active("乡镇医保结算台 —")

        xd.keys("alt+r")  # 冲正(R)…: asks the reason, shows what will be reversed
        app.wait_active("冲正")
        app.shot("reverse-dialog")
        xd.type("refund by test")
        xd.keys("Return")
        app.until(lambda: _rows(db, "SELECT count(*) FROM settlement WHERE kind='reverse'")[0][0] == 1,
                  "the reversal in the database")
        app.alive("reversed")

        xd.keys("alt+d")  # 日结(D)…: shows the day's counts and asks; the default answer is No
        app.wait_active("日结")
        app.shot("day-close-confirm")
        assert _rows(db, "SELECT count(*) FROM day_close")[0][0] == 0, "the day closed before it was confirmed"
        xd.keys("alt+y")
        app.until(lambda: _rows(db, "SELECT count(*) FROM day_close")[0][0] == 1, "the day close")
        app.alive("day-closed")

        settle = _rows(db, "SELECT id, setl_no, psn_no, business_date FROM settlement WHERE kind='settle' "
                           "AND psn_no IS NOT NULL")
        rev = _rows(db, "SELECT original_id, reason FROM settlement WHERE kind='reverse'")
        assert [(s[2], s[3]) for s in settle] == [(psn_no, today)]
        # 冲正 takes the latest settlement selected in 今日结算: the walk-in's
        own = _rows(db, "SELECT id, walkin_name, walkin_id, benefit, hifp_pay, psn_cash_pay, medfee_sumamt FROM "
                        "settlement WHERE kind='settle' AND psn_no IS NULL")
        assert [r[1:5] for r in own] == [("王小明", "1101**********002X", "self_pay", 0)] and own[0][5] == own[0][6]
        assert rev == [(own[0][0], "refund by test")]
        assert _rows(db, "SELECT business_date, count FROM day_close") == [(today, 3)]
        items = _rows(db, "SELECT count(*) FROM settlement_item si JOIN settlement s ON s.id = si.settlement_id "
                          "WHERE s.kind = 'settle'")
        assert items == [(3,)]

        # closing the window ends the program cleanly (after printing, previewing and a day close)
        xd.keys("alt+F4")
        try:
            code = app.proc.wait(30)
        except subprocess.TimeoutExpired:
            app.shot("close-timeout")
            raise AssertionError("the program did not exit after its window was closed") from None
        assert code == 0, f"the program exited with {code} after its window was closed; see {app.log.name}"
    finally:
        app.close()
