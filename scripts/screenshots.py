"""Render every screen with the demo data to docs/screenshots/*.png (`make screenshots`).

Runs offscreen (QT_QPA_PLATFORM=offscreen) on a fresh temporary demo database.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def pump(app, ctx, rounds: int = 6) -> None:
    for _ in range(rounds):
        ctx.ops.wait()
        app.processEvents()


def main() -> int:
    from desktop_app.gui.app import MainWindow, build_context, install_translations
    from desktop_app.gui.login import LoginDialog
    from desktop_app.services import accounts, demo
    from desktop_app.store.db import open_db

    app = QApplication.instance() or QApplication(sys.argv)
    install_translations(app)
    OUT.mkdir(parents=True, exist_ok=True)
    db = open_db(Path(tempfile.mkdtemp()) / "demo.sqlite3")
    demo.create_demo(db, persons=300)

    login = LoginDialog(db)
    login.login.setText("clerk")
    login.password.setText("clerk123")
    login.resize(360, 150)
    login.show()
    app.processEvents()
    login.grab().save(str(OUT / "01-login.png"))
    login.close()

    op = accounts.authenticate(db, "clerk", "clerk123")
    win = MainWindow(build_context(db, op))
    win.setWindowState(Qt.WindowState.WindowNoState)  # (a first start opens maximised; the pictures are 1280×800)
    win.resize(1280, 800)
    win.show()
    ctx = win.ctx
    pump(app, ctx)
    t = win.settle_tab
    t.search.setText("zh")
    t.person_pane._run_search()
    pump(app, ctx)
    # prefer a 吕梁 resident for the example
    for row, h in enumerate(t.results.hits):
        if h.insutype == "390" and h.admdvs == "141102":
            t.results_view.selectRow(t.proxy.mapFromSource(t.results.index(row, 0)).row())
            break
    pump(app, ctx)
    for code, qty in (("XJ01DCA030A001", "2"), ("250101015", "1"), ("110200005", "1"), ("HC0003", "1")):
        t.item_entry.setText(code)
        t.qty.setText(qty)
        t.items_pane.add_item()
    t.presettle()
    pump(app, ctx)
    win.grab().save(str(OUT / "02-settle-presettle.png"))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    def answer_yes():  # the F9 confirmation, answered 是 when it is up
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            QTimer.singleShot(20, answer_yes)

    QTimer.singleShot(0, answer_yes)
    t.settle()
    for _ in range(50):
        if t.last_record is not None:
            break
        pump(app, ctx)
    pump(app, ctx, 10)
    win.grab().save(str(OUT / "03-settled.png"))
    # 全自费: a walk-in not in the roster (自费患者…), pre-settled — no fund, no account, all cash
    from desktop_app.services import selfpay

    t.new_visit()
    t.self_pay_bar.set_walk_in(selfpay.check_walk_in(selfpay.WalkIn("王小明", "11010519491231002X")))
    pump(app, ctx)
    for code, qty in (("110200005", "1"), ("XJ01CAA040A001", "2")):
        t.item_entry.setText(code)
        t.qty.setText(qty)
        t.items_pane.add_item()
    t.presettle()
    pump(app, ctx)
    win.grab().save(str(OUT / "10-self-pay.png"))
    win.tabs.setCurrentIndex(1)
    win.today_tab.refresh()
    pump(app, ctx)
    win.grab().save(str(OUT / "04-today.png"))
    win.tabs.setCurrentIndex(2)
    pump(app, ctx)
    win.grab().save(str(OUT / "05-admin.png"))
    win.close()
    # a supervisor's window: the audit trail and the operators
    from desktop_app.gui.login import FirstStartDialog, PasswordDialog

    sup = MainWindow(build_context(db, accounts.authenticate(db, "admin", "admin123")))
    sup.setWindowState(Qt.WindowState.WindowNoState)
    sup.resize(1280, 800)
    sup.show()
    sup.tabs.setCurrentIndex(3)
    sup.audit_tab.refresh()
    pump(app, sup.ctx)
    sup.grab().save(str(OUT / "06-audit.png"))
    sup.tabs.setCurrentIndex(4)
    sup.accounts_tab.refresh()
    pump(app, sup.ctx)
    sup.grab().save(str(OUT / "07-operators.png"))
    sup.close()
    first = FirstStartDialog(str(db.path))
    first.show()
    app.processEvents()
    first.grab().save(str(OUT / "08-first-start.png"))
    first.close()
    pw = PasswordDialog.for_own(db, "clerk", ask_current=True)
    pw.show()
    app.processEvents()
    pw.grab().save(str(OUT / "09-change-password.png"))
    pw.close()
    print("\n".join(str(p) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
