"""What the printer gets: the receipt drawn through QPainter/QPrinter (offscreen), both formats."""

import io

import pytest
from pypdf import PdfReader

from desktop_app.reports.receipt import ReceiptData, layout

from .test_receipt import settled  # noqa: F401  (fixture)


@pytest.mark.parametrize("fmt", ["A5", "80mm"])
def test_qt_printer_output_has_the_figures(qapp, settled, tmp_path, fmt):  # noqa: F811
    from desktop_app.reports.qtprint import to_pdf_via_qt

    _db, p, rec = settled
    pages = layout(ReceiptData.from_record(rec), fmt)
    out = tmp_path / f"qt_{fmt}.pdf"
    to_pdf_via_qt(pages, str(out))
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert len(reader.pages) == len(pages)
    box = reader.pages[0].mediabox
    assert abs(float(box.width) / 72 * 25.4 - pages[0].width) < 1
    txt = reader.pages[0].extract_text().replace(" ", "")
    assert p.name in txt and rec.result["medfee_sumamt"] in txt and rec.setl_no in txt


def test_preview_keeps_its_printer_and_paints_the_receipt(qapp, qtbot, settled):  # noqa: F811
    """QPrintPreviewDialog does not own its QPrinter: the one it was built on must live as long as the dialog
    (a printer nobody referenced was freed at once and F10 crashed in libQt6Gui)."""
    import gc

    from PySide6.QtPrintSupport import QPrintPreviewWidget

    from desktop_app.reports.qtprint import preview_dialog

    _db, _p, rec = settled
    dlg = preview_dialog(layout(ReceiptData.from_record(rec), "A5"))
    qtbot.addWidget(dlg)
    gc.collect()
    dlg.show()
    pv = dlg.findChild(QPrintPreviewWidget)
    qtbot.waitUntil(lambda: pv.pageCount() >= 1, timeout=10000)
    assert dlg.printer().pageLayout().pageSize().name() == "receipt"
    dlg.close()


def test_preview_dialog_shows_and_paints_the_receipt(qapp, qtbot, settled):  # noqa: F811
    """The preview keeps its printer alive while it paints (it used to be freed: a crash on F10 / 补打)."""
    import gc

    from PySide6.QtCore import QTimer

    from desktop_app.reports.qtprint import preview_dialog

    _db, _p, rec = settled
    dlg = preview_dialog(layout(ReceiptData.from_record(rec), "A5"))
    qtbot.addWidget(dlg)
    painted = []
    dlg.paintRequested.connect(lambda _p: painted.append(True))
    gc.collect()
    QTimer.singleShot(300, dlg.reject)
    dlg.exec()
    assert painted


def test_the_preview_s_print_is_reachable_on_a_small_screen(qapp, qtbot, settled):  # noqa: F811
    """At 1024×768 the toolbar's print icon was behind » (QPrintPreviewDialog's default size): the dialog is
    sized to the screen, the toolbar's print action is on show, and a visible 打印 button under the receipt
    prints (a click opens the print dialog — or, with no printer installed, Qt's save-as-PDF chooser)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton, QToolBar

    from desktop_app.reports.qtprint import preview_dialog
    from tests.gui.drive import Modal, press

    _db, _p, rec = settled
    dlg = preview_dialog(layout(ReceiptData.from_record(rec), "A5"))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    avail = dlg.screen().availableGeometry()
    assert dlg.frameGeometry().width() <= avail.width() and dlg.frameGeometry().height() <= avail.height()
    tb = dlg.findChild(QToolBar)
    print_action = tb.actions()[-1]
    assert tb.widgetForAction(print_action).isVisible()  # not folded away behind »
    btn = dlg.findChild(QPushButton, "print_receipt")
    assert btn is not None and btn.isVisible() and btn.text() == "打印(&P)…"
    assert dlg.rect().contains(btn.geometry().translated(btn.parentWidget().mapTo(dlg, btn.pos()) - btn.pos()))
    asked = Modal(press(qtbot, Qt.Key.Key_Escape))
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: asked.seen != [], timeout=10000)
    assert dlg.isVisible()  # cancelled printing leaves the preview open
    close = dlg.findChild(QPushButton, "close_preview")
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible()
