"""The one owner of the laptop store: a QObject on a dedicated QThread.

Every read and write of the SQLite file happens here, one operation at a time, in the
order the UI submitted them (Anki's CollectionOp pattern)::

    owner.op(lambda store: store.search_residents(q)).success(show).failure(err).run()

The UI thread never touches the store, the disk or the network; this worker never
touches a widget. Results and errors come back by signal, keyed by a request id, and the
callbacks run on the UI thread.

Long work (a sync) is submitted as *steps*: a generator is advanced one unit at a time,
and after each unit the next step is re-posted to the end of this thread's event queue,
so autosaves and searches queued meanwhile run between two units instead of waiting for
the whole sync. ``progress`` callbacks receive each yielded value; ``success`` receives
the generator's return value.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)

StoreFn = Callable[[Any], Any]


class StoreWorker(QObject):
    """Lives on the store thread; owns the Store object."""

    # No bool in these signatures: PySide6 mis-counts references of bools passed through queued
    # signals (a "bool_dealloc" crash at exit on Python 3.11), so ok travels as an int.
    opened = Signal(int, object)           # ok (1/0), None or the exception
    done = Signal(int, int, object)        # request id, ok (1/0), result or exception
    progress = Signal(int, object)         # request id, a yielded value
    _next_step = Signal(int)               # self-posted, queued: advance a generator one unit

    def __init__(self, opener: Callable[[], Any]) -> None:
        super().__init__()
        self._opener = opener
        self.store: Any = None
        self._generators: dict[int, Iterator[Any]] = {}
        self._next_step.connect(self._step, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def open(self) -> None:
        try:
            self.store = self._opener()
            self._warm_up()
            self.opened.emit(1, None)
        except Exception as e:  # noqa: BLE001 - reported to the UI, which words it
            log.exception("store could not be opened")
            self.opened.emit(0, e)

    @staticmethod
    def _warm_up() -> None:
        """Load the ID-number region table here, so the UI thread's live validation never reads disk."""
        try:
            from enrollment import id_number

            id_number.parse("11010519491231002X")
        except Exception:  # noqa: BLE001 - only a cache warm-up
            pass

    @Slot(int, object)
    def execute(self, rid: int, fn: StoreFn) -> None:
        if self.store is None:
            self.done.emit(rid, 0, _StoreClosed())
            return
        try:
            result = fn(self.store)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            self.done.emit(rid, 0, e)
            return
        self.done.emit(rid, 1, result)

    @Slot(int, object)
    def start_steps(self, rid: int, factory: Callable[[Any], Iterator[Any]]) -> None:
        if self.store is None:
            self.done.emit(rid, 0, _StoreClosed())
            return
        try:
            self._generators[rid] = factory(self.store)
        except Exception as e:  # noqa: BLE001
            self.done.emit(rid, 0, e)
            return
        self._step(rid)

    @Slot(int)
    def _step(self, rid: int) -> None:
        gen = self._generators.get(rid)
        if gen is None:
            return
        try:
            value = next(gen)
        except StopIteration as stop:
            del self._generators[rid]
            self.done.emit(rid, 1, stop.value)
            return
        except Exception as e:  # noqa: BLE001
            del self._generators[rid]
            self.done.emit(rid, 0, e)
            return
        self.progress.emit(rid, value)
        wait_s = float(getattr(value, "wait_s", 0) or 0)
        if wait_s > 0:
            # A retry backoff: come back later by timer, the thread serves other ops meanwhile.
            QTimer.singleShot(int(wait_s * 1000), self, lambda: self._step(rid))
            return
        # Re-post: whatever the UI queued meanwhile (autosave, search) runs before the next unit.
        self._next_step.emit(rid)

    @Slot()
    def close(self) -> None:
        for gen in self._generators.values():
            try:
                gen.close()
            except Exception:  # noqa: BLE001
                log.exception("closing a running step generator")
        self._generators.clear()
        if self.store is not None:
            try:
                self.store.close()
            finally:
                self.store = None


class _StoreClosed(Exception):
    code = "store.closed"


class Op:
    """A pending operation: chain callbacks, then ``run()``."""

    def __init__(self, owner: StoreOwner, fn: Callable, steps: bool) -> None:
        self._owner, self._fn, self._steps = owner, fn, steps
        self._success: Callable[[Any], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: Callable[[Any], None] | None = None
        self.rid = 0

    def success(self, cb: Callable[[Any], None]) -> Op:
        self._success = cb
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> Op:
        self._failure = cb
        return self

    def progress(self, cb: Callable[[Any], None]) -> Op:
        self._progress = cb
        return self

    def run(self) -> int:
        return self._owner._run(self)


class StoreOwner(QObject):
    """UI-side handle: starts the store thread and routes results to callbacks."""

    _submit = Signal(int, object)
    _submit_steps = Signal(int, object)
    _close = Signal()
    opened = Signal(int, object)   # ok (1/0), None or the exception
    # Raised for an op without a failure callback, so nothing fails silently.
    unhandled_error = Signal(object)

    def __init__(self, opener: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: dict[int, Op] = {}
        self.is_open = False
        self._thread = QThread()
        self._thread.setObjectName("store-owner")
        self._worker = StoreWorker(opener)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.open)
        self._submit.connect(self._worker.execute)
        self._submit_steps.connect(self._worker.start_steps)
        self._close.connect(self._worker.close, Qt.ConnectionType.BlockingQueuedConnection)
        self._worker.done.connect(self._on_done)
        self._worker.progress.connect(self._on_progress)
        self._worker.opened.connect(self._on_opened)

    def start(self) -> None:
        self._thread.start()

    def op(self, fn: StoreFn) -> Op:
        """``fn(store)`` runs on the store thread."""
        return Op(self, fn, steps=False)

    def steps(self, factory: Callable[[Any], Iterator[Any]]) -> Op:
        """``factory(store)`` returns a generator advanced one unit per turn of the store thread."""
        return Op(self, factory, steps=True)

    def pending(self) -> int:
        return len(self._pending)

    def _run(self, op: Op) -> int:
        op.rid = next(self._ids)
        self._pending[op.rid] = op
        (self._submit_steps if op._steps else self._submit).emit(op.rid, op._fn)
        return op.rid

    @Slot(int, object)
    def _on_opened(self, ok: int, info: object) -> None:
        self.is_open = bool(ok)
        self.opened.emit(ok, info)

    @Slot(int, object)
    def _on_progress(self, rid: int, value: object) -> None:
        op = self._pending.get(rid)
        if op is not None and op._progress is not None:
            op._progress(value)

    @Slot(int, int, object)
    def _on_done(self, rid: int, ok: int, result: object) -> None:
        op = self._pending.pop(rid, None)
        if op is not None:
            try:
                if ok and op._success is not None:
                    op._success(result)
                elif not ok:
                    if op._failure is not None:
                        op._failure(result)  # type: ignore[arg-type]
                    else:
                        log.error("store operation failed: %s", type(result).__name__)
                        self.unhandled_error.emit(result)
            except Exception:  # a callback bug must not kill the event loop
                log.exception("store operation callback failed")

    def shutdown(self) -> None:
        """Close the store on its own thread, then stop the thread."""
        if self._thread.isRunning():
            self._close.emit()
            self._thread.quit()
            self._thread.wait(10_000)
