"""The clerk's hands for pytest-qt: keys and clicks on the real widgets, and modal dialogs answered the way
a clerk answers them (a button clicked, a key pressed) from a timer while the dialog runs."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMainWindow, QMessageBox
from sqlalchemy import select

from desktop_app.store import models as m


def resident(db):
    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                m.Person.category == "resident").order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def type_text(qtbot, widget, text):
    """Key presses for ASCII; Chinese and full-width text arrive through the input method, so insert it."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        widget.insert(text)


def find(qtbot, tab, text):
    """F2, type or scan, Enter: the first hit is taken and the cursor goes on to the items."""
    qtbot.keyClick(tab, Qt.Key.Key_F2)  # the search box, its text selected: typing replaces it
    type_text(qtbot, tab.search, text)
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.person is not None and tab.ctx.ops.pending == 0, timeout=10000)


def add(qtbot, tab, code, qty="1"):
    qtbot.keyClicks(tab.item_entry, code)
    qtbot.keyClick(tab.item_entry, Qt.Key.Key_Return)
    assert tab.window().focusWidget() is tab.qty, tab.entry_msg.text()
    tab.qty.selectAll()
    qtbot.keyClicks(tab.qty, qty)
    qtbot.keyClick(tab.qty, Qt.Key.Key_Return)


def dialog_text(w) -> str:
    if isinstance(w, QMessageBox):
        return w.windowTitle() + "\n" + w.text()
    return w.windowTitle() + "\n" + "\n".join(lb.text() for lb in w.findChildren(QLabel))


class Modal:
    """Waits (from a timer) for the next modal dialog and answers it with `act(dialog)`; `seen` holds the
    dialogs answered with their text. `expect_none()` fails if any modal dialog came up meanwhile."""

    def __init__(self, act, *, count: int = 1, timeout: float = 15.0):
        self.act, self.left, self.deadline = act, count, time.monotonic() + timeout
        self.seen: list[tuple[object, str]] = []
        self._answered: set[int] = set()
        self.stopped = False
        active = QApplication.activeWindow()  # the main window, active again once the dialogs are gone
        # (offscreen, a completer popup that was shown can stay the "active window": its top level counts)
        if active is not None and active.windowType() == Qt.WindowType.Popup:
            active = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()),
                          active)
        self.window = active
        QTimer.singleShot(0, self._poll)

    @property
    def done(self) -> bool:
        """Every dialog expected was answered and the main window is active again."""
        return (self.left <= 0 or self.stopped) and QApplication.activeModalWidget() is None and \
            (self.window is None or QApplication.activeWindow() is self.window)

    def _give_focus_back(self) -> None:
        """What the window manager does when a dialog closes (the offscreen platform has none): the window
        below becomes active again, its focus widget gets the keys."""
        if QApplication.activeModalWidget() is not None:
            if time.monotonic() < self.deadline:
                QTimer.singleShot(10, self._give_focus_back)
            return
        if self.window is not None and self.window.isVisible():
            self.window.activateWindow()

    def _poll(self) -> None:
        if self.stopped or self.left <= 0:
            return
        w = QApplication.activeModalWidget()
        if w is not None and w.isVisible() and id(w) not in self._answered:
            self._answered.add(id(w))
            self.seen.append((w, dialog_text(w)))
            self.left -= 1
            try:
                self.act(w)
            except BaseException:
                w.close()  # never leave a modal dialog behind a failed check: the test would hang on it
                raise
            finally:
                QTimer.singleShot(0, self._give_focus_back)
        if time.monotonic() < self.deadline and self.left > 0:
            QTimer.singleShot(10, self._poll)

    @property
    def text(self) -> str:
        return self.seen[0][1] if self.seen else ""

    def stop(self) -> None:
        self.stopped = True
        QTimer.singleShot(0, self._give_focus_back)


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    """An answer: a key pressed in the dialog (Return takes the default button, Escape cancels)."""
    return lambda w: qtbot.keyClick(w, key, modifier)


def click(qtbot, button):
    """An answer: a QMessageBox standard button clicked."""
    return lambda w: qtbot.mouseClick(w.button(button), Qt.MouseButton.LeftButton)


def no_dialog(qtbot):
    """A watcher for dialogs that must not come: it records and cancels any."""
    return Modal(lambda w: w.reject() if isinstance(w, QDialog) else w.close(), timeout=3.0)


def settle_by_keys(qtbot, tab):
    """F9 and Return on the confirmation; waits for the settlement on screen."""
    confirm = Modal(press(qtbot, Qt.Key.Key_Return))
    qtbot.keyClick(tab, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: tab.last_record is not None and tab.ctx.ops.pending == 0 and confirm.done, timeout=15000)
    return confirm


def edit_cell(qtbot, view, index, text):
    """Click a cell, type over it (any key opens the editor), Enter; the delegate commits on the next turn."""
    from PySide6.QtWidgets import QApplication

    if QApplication.activeWindow() is not view.window():  # a click activates its window (what a WM does)
        view.window().activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is view.window(), timeout=5000)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    qtbot.keyClicks(view, text[0])
    editor = QApplication.focusWidget()
    assert editor is not view, "no editor opened"
    qtbot.keyClicks(editor, text[1:])
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not editor, timeout=5000)
    QApplication.processEvents()
