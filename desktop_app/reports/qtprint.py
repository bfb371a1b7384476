"""Printing receipts through Qt: the primitives of `receipt.layout` drawn with QPainter
on a QPrinter — for QPrintPreviewDialog, a real printer, or Qt's own PDF output."""

from __future__ import annotations

from desktop_app.reports.fonts import register_fonts
from desktop_app.reports.receipt import QR, Line, Page, Text

_FAMILY: str | None = None


def qt_font_family() -> str:
    """Load the same CJK font file the PDFs embed into Qt (once); else let Qt pick a CJK family."""
    global _FAMILY
    if _FAMILY is None:
        from PySide6.QtGui import QFontDatabase

        choice = register_fonts()
        family = ""
        if choice.path:
            fid = QFontDatabase.addApplicationFont(choice.path)
            fams = QFontDatabase.applicationFontFamilies(fid) if fid >= 0 else []
            family = fams[0] if fams else ""
        _FAMILY = family or "SimSun"
    return _FAMILY


def setup_printer(printer, page: Page) -> None:
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize

    size = QPageSize(QSizeF(page.width, page.height), QPageSize.Unit.Millimeter, "receipt")
    printer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0),
                                      QPageLayout.Unit.Millimeter))
    printer.setFullPage(True)


def paint_pages(pages: list[Page], printer) -> None:
    """Draw every page on `printer` (a QPrinter or QPagedPaintDevice)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

    if not pages:
        return
    setup_printer(printer, pages[0])
    dpi = printer.resolution()
    k = dpi / 25.4
    family = qt_font_family()
    painter = QPainter()
    if not painter.begin(printer):
        raise RuntimeError("打印机无法开始打印（请检查打印机设置）")
    try:
        for n, page in enumerate(pages):
            if n:
                setup_printer(printer, page)
                printer.newPage()
            for it in page.items:
                if isinstance(it, Text):
                    font = QFont(family)
                    font.setPixelSize(max(1, round(it.size * dpi / 72)))
                    font.setBold(it.bold)
                    painter.setFont(font)
                    painter.setPen(QColor(0, 0, 0))
                    w = QFontMetricsF(font).horizontalAdvance(it.text)
                    x = it.x * k - {"left": 0.0, "right": w, "center": w / 2}[it.align]
                    painter.drawText(QPointF(x, it.y * k), it.text)
                elif isinstance(it, Line):
                    painter.setPen(QPen(QColor(0, 0, 0), it.width * k))
                    painter.drawLine(QPointF(it.x1 * k, it.y1 * k), QPointF(it.x2 * k, it.y2 * k))
                elif isinstance(it, QR):
                    cell = it.size * k / len(it.modules)
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(QColor(0, 0, 0))
                    for r, row in enumerate(it.modules):
                        for c, dark in enumerate(row):
                            if dark:
                                painter.drawRect(QRectF(it.x * k + c * cell, it.y * k + r * cell, cell, cell))
    finally:
        painter.end()


def _printer(pages: list[Page], printer_name: str):
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    if printer_name:
        printer.setPrinterName(printer_name)
    setup_printer(printer, pages[0])
    return printer


def _discard(dialog) -> None:
    """Destroy a dialog now — before the QPrinter it was built on, which Qt never owns."""
    import shiboken6

    if shiboken6.isValid(dialog):
        shiboken6.delete(dialog)


def print_dialog(pages: list[Page], parent=None, printer_name: str = "") -> bool:
    """Ask for a printer and print. Returns False when the clerk cancels."""
    from PySide6.QtPrintSupport import QPrintDialog

    printer = _printer(pages, printer_name)  # alive until the dialog is gone (Qt only borrows it)
    dlg = QPrintDialog(printer, parent)
    try:
        dlg.setWindowTitle("打印结算单")
        if dlg.exec() != QPrintDialog.DialogCode.Accepted:
            return False
        paint_pages(pages, printer)
        return True
    finally:
        _discard(dlg)


def preview_dialog(pages: list[Page], parent=None, printer_name: str = ""):
    """A QPrintPreviewDialog showing the receipt; printing from it uses the same drawing.

    QPrintPreviewDialog draws on a QPrinter it does not own: the dialog keeps a reference to it
    (`receipt_printer`) — a printer nothing referenced was freed at once and the dialog painted on freed
    memory (the F10 crash). Prefer `show_preview`, which also destroys the dialog before its printer."""
    from PySide6.QtPrintSupport import QPrintPreviewDialog

    printer = _printer(pages, printer_name)
    dlg = QPrintPreviewDialog(printer, parent)
    dlg.receipt_printer = printer
    dlg.setWindowTitle("结算单预览")
    dlg.paintRequested.connect(lambda p: paint_pages(pages, p))
    _add_buttons(dlg)
    _fit_screen(dlg, parent)
    return dlg


def _add_buttons(dlg) -> None:
    """打印(P)… and 关闭 under the receipt: printing never hides behind the toolbar's » on a small screen.
    打印 triggers the toolbar's own print action (Qt adds it last), so both print the same way."""
    from PySide6.QtWidgets import QDialogButtonBox, QPushButton, QToolBar

    tb = dlg.findChild(QToolBar)
    print_action = tb.actions()[-1] if tb is not None and tb.actions() else None
    box = QDialogButtonBox()
    pb = QPushButton("打印(&P)…")
    pb.setObjectName("print_receipt")
    pb.setAutoDefault(False)
    close = QPushButton("关闭")
    close.setObjectName("close_preview")
    close.setAutoDefault(False)
    box.addButton(pb, QDialogButtonBox.ButtonRole.ActionRole)
    box.addButton(close, QDialogButtonBox.ButtonRole.RejectRole)
    if print_action is not None:
        pb.clicked.connect(lambda: print_action.trigger())
    close.clicked.connect(lambda: dlg.reject())
    dlg.layout().addWidget(box)


def _fit_screen(dlg, parent) -> None:
    """As large as the screen allows (at most 1000 × 900): the whole toolbar, print icon included, shows at
    1024×768 and the receipt is readable."""
    screen = (parent.screen() if parent is not None else None) or dlg.screen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    frame = 40  # the window manager's title bar and borders
    dlg.resize(max(400, min(1000, avail.width() - frame)), max(300, min(900, avail.height() - frame - 30)))


def show_preview(pages: list[Page], parent=None, printer_name: str = "") -> int:
    """Preview the receipt modally (Esc closes it; its 打印 button prints). The dialog is destroyed when it
    closes, while its printer is still referenced here."""
    dlg = preview_dialog(pages, parent, printer_name)
    printer = dlg.receipt_printer
    try:
        return dlg.exec()
    finally:
        _discard(dlg)
        del printer


def to_pdf_via_qt(pages: list[Page], path: str) -> None:
    """Qt's own PDF output of the printed receipt (used to test what the printer gets)."""
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    paint_pages(pages, printer)
