"""`clinic-settle --self-test`: prove an installed program works, offscreen, without touching real data.

Opens a temporary database (running the bundled migrations), loads the shipped
policy packs with the demo clinic, looks up a demo person, settles a visit,
writes a receipt PDF, builds the main window offscreen, and prints one line.
Exit 0 when all of it worked; non-zero with the reason otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def run() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.perf_counter()
    step = "启动"
    try:
        from desktop_app.reports.receipt import save_receipt
        from desktop_app.services import accounts, demo, ledger, ledger_types, lookup
        from desktop_app.store.db import open_db

        with tempfile.TemporaryDirectory(prefix="clinic-selftest-", ignore_cleanup_errors=True) as tmp_name:
            tmp = Path(tmp_name)  # removed when the self-test ends, whatever happened
            step = "数据库迁移"
            db = open_db(tmp / "selftest.sqlite3")
            step = "政策包与演示数据"
            res = demo.create_demo(db, persons=30)
            step = "查找参保人"
            hits = [h for h in lookup.search(db, "14110200") if h.insutype == "390" and h.admdvs == "141102"]
            if not hits:
                raise RuntimeError("演示数据中没有吕梁城乡居民")
            person = lookup.summary(db, hits[0].psn_no)
            step = "结算"
            rec = ledger.settle(db, ledger_types.VisitInput(person.psn_no, date.today(), "general_outpatient",
                                                      [ledger_types.ItemInput("XJ01CAA040A001", "2"),
                                                       ledger_types.ItemInput("110200005", "1")]), operator="clerk")
            step = "结算单 PDF"
            pdf = save_receipt(rec, tmp / f"{rec.setl_no}.pdf")
            if not pdf.read_bytes().startswith(b"%PDF"):
                raise RuntimeError("结算单不是 PDF")
            step = "图形界面"
            from PySide6.QtWidgets import QApplication

            from desktop_app.gui.app import MainWindow, build_context, install_translations

            app = QApplication.instance() or QApplication([sys.argv[0]])
            install_translations(app)
            win = MainWindow(build_context(db, accounts.get_operator(db, "clerk")))
            win.show()
            app.processEvents()
            win.ctx.ops.wait()
            app.processEvents()
            win.close()
            db.dispose()
            print(f"自检通过 self-test OK: {res.packs} packs, person {person.psn_no}, settlement {rec.setl_no}, "
                  f"fund {rec.result['hifp_pay']} cash {rec.result['psn_cash_pay']}, receipt {pdf.stat().st_size} bytes, "
                  f"window OK, {time.perf_counter() - t0:.1f} s")
            return 0
    except Exception as exc:  # the reason is the whole point of a self-test
        print(f"自检失败 self-test FAILED at {step}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
