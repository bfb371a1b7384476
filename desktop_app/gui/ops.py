"""Background operations (after Anki's `aqt/operations` and `taskman.py`).

`Ops.query(fn, ...)` runs on a small thread pool; `Ops.change(fn, ...)` on a pool
of exactly one thread, so changes are serialised in submission order. (Named apart
from `Database.read/write`: a screen asks for a use case, not a session.) The result
(or the exception) comes back through a Qt signal, delivered on the GUI thread,
to the `done` / `failed` callables. A read whose answer is no longer wanted
(the clerk typed on) is dropped by a generation check in the caller.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Signals(QObject):
    finished = Signal(object, object)  # (callback, result)
    errored = Signal(object, object, str)  # (callback, exception, traceback text)


class _Job(QRunnable):
    def __init__(self, signals: _Signals, fn: Callable, args: tuple, kwargs: dict, done, failed):
        super().__init__()
        self.signals, self.fn, self.args, self.kwargs = signals, fn, args, kwargs
        self.done, self.failed = done, failed
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # delivered to the GUI thread, never lost
            self.signals.errored.emit(self.failed, exc, traceback.format_exc())
            return
        self.signals.finished.emit(self.done, result)


class Ops(QObject):
    """The one way screens reach services."""

    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, on_unhandled: Callable | None = None):
        super().__init__(parent)
        self._reads = QThreadPool(self)
        self._reads.setMaxThreadCount(2)
        self._writes = QThreadPool(self)
        self._writes.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.finished.connect(self._on_finished)
        self._signals.errored.connect(self._on_errored)
        self._pending = 0
        self._on_unhandled = on_unhandled

    def query(self, fn: Callable, *args, done: Callable | None = None, failed: Callable | None = None,
              **kwargs) -> None:
        """Run a reading use case on the small pool."""
        self._submit(self._reads, fn, args, kwargs, done, failed)

    def change(self, fn: Callable, *args, done: Callable | None = None, failed: Callable | None = None,
               **kwargs) -> None:
        """Run a use case that changes data on the one writing thread, in submission order."""
        self._submit(self._writes, fn, args, kwargs, done, failed)

    @property
    def pending(self) -> int:
        return self._pending

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every job has finished (tests, shutdown)."""
        a = self._reads.waitForDone(msecs)
        b = self._writes.waitForDone(msecs)
        return a and b

    def _submit(self, pool, fn, args, kwargs, done, failed) -> None:
        self._pending += 1
        self.busy_changed.emit(self._pending)
        pool.start(_Job(self._signals, fn, args, kwargs, done, failed))

    @Slot(object, object)
    def _on_finished(self, done, result) -> None:
        self._pending -= 1
        self.busy_changed.emit(self._pending)
        if done is not None:
            done(result)

    @Slot(object, object, str)
    def _on_errored(self, failed, exc, tb) -> None:
        self._pending -= 1
        self.busy_changed.emit(self._pending)
        if failed is not None:
            failed(exc)
        else:
            log.error("后台操作失败：%s\n%s", exc, tb)
            if self._on_unhandled is not None:
                self._on_unhandled(exc, tb)
