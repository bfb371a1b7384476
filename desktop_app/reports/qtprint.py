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


def print_dialog(pages: list[Page], parent=None, printer_name: str = "") -> bool:
    """Ask for a printer and print. Returns False when the clerk cancels."""
    from PySide6.QtPrintSupport import QPrintDialog

    printer = _printer(pages, printer_name)
    dlg = QPrintDialog(printer, parent)
    dlg.setWindowTitle("打印结算单")
    if dlg.exec() != QPrintDialog.DialogCode.Accepted:
        return False
    paint_pages(pages, printer)
    return True


def preview_dialog(pages: list[Page], parent=None, printer_name: str = ""):
    """A QPrintPreviewDialog showing the receipt; printing from it uses the same drawing."""
    from PySide6.QtPrintSupport import QPrintPreviewDialog

    printer = _printer(pages, printer_name)
    dlg = QPrintPreviewDialog(printer, parent)
    dlg._printer = printer  # the dialog does not own its QPrinter: without this reference it is freed → crash
    dlg.setWindowTitle("结算单预览")
    dlg.paintRequested.connect(lambda p: paint_pages(pages, p))
    return dlg


def to_pdf_via_qt(pages: list[Page], path: str) -> None:
    """Qt's own PDF output of the printed receipt (used to test what the printer gets)."""
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    paint_pages(pages, printer)
