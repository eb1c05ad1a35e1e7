"""A serial lane: callables run one at a time, in order, on one QThread; results and errors come
back by signal on the GUI thread (Anki's CollectionOp pattern)::

    lane.op(lambda resource: resource.search(q)).success(show).failure(err).run()

A lane may own a *resource* (the laptop store, an HTTP session) that only its thread ever
touches: ``opener()`` makes it on the lane's thread when the lane starts, every op receives it,
and ``shutdown()`` closes it there. The GUI thread never blocks on a lane's work; a lane never
touches a widget. Which lane an op goes to decides what it may wait behind: one lane per thing
that must be serial (one SQLite file, one HTTP session), and a separate lane for work that takes
minutes, so it does not hold up the short calls.

Long work can be submitted as *steps*: a generator advanced one unit at a time; after each unit
the next step is re-posted to the end of the lane's event queue, so ops queued meanwhile run
between two units instead of waiting for the whole job. ``progress`` callbacks receive each
yielded value (a value with ``wait_s > 0`` is a retry backoff: the lane serves other ops and
comes back by timer); ``success`` receives the generator's return value.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)

LaneFn = Callable[[Any], Any]


class LaneClosed(Exception):
    """An op reached a lane whose resource is not open (it failed to open, or the lane shut down)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _LaneWorker(QObject):
    """Lives on the lane's thread; holds the resource."""

    # No bool in these signatures: PySide6 mis-counts references of bools passed through queued
    # signals (a "bool_dealloc" crash at exit on Python 3.11), so ok travels as an int.
    opened = Signal(int, object)           # ok (1/0), None or the exception
    done = Signal(int, int, object)        # request id, ok (1/0), result or exception
    progress = Signal(int, object)         # request id, a yielded value
    _next_step = Signal(int)               # self-posted, queued: advance a generator one unit

    def __init__(self, name: str, opener: Callable[[], Any] | None, closed_code: str) -> None:
        super().__init__()
        self._name = name
        self._opener = opener
        self._closed_code = closed_code
        self.resource: Any = None
        self.ready = False
        self._generators: dict[int, Iterator[Any]] = {}
        self._next_step.connect(self._step, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def open(self) -> None:
        try:
            self.resource = self._opener() if self._opener is not None else None
            self.ready = True
            self.opened.emit(1, None)
        except Exception as e:  # noqa: BLE001 - reported to the UI, which words it
            log.exception("%s: the lane's resource could not be opened", self._name)
            self.opened.emit(0, e)

    @Slot(int, object)
    def execute(self, rid: int, fn: LaneFn) -> None:
        if not self.ready:
            self.done.emit(rid, 0, LaneClosed(self._closed_code))
            return
        try:
            result = fn(self.resource)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            self.done.emit(rid, 0, e)
            return
        self.done.emit(rid, 1, result)

    @Slot(int, object)
    def start_steps(self, rid: int, factory: Callable[[Any], Iterator[Any]]) -> None:
        if not self.ready:
            self.done.emit(rid, 0, LaneClosed(self._closed_code))
            return
        try:
            self._generators[rid] = factory(self.resource)
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
                log.exception("%s: closing a running step generator", self._name)
        self._generators.clear()
        self.ready = False
        resource, self.resource = self.resource, None
        if resource is not None and hasattr(resource, "close"):
            resource.close()


class Op:
    """A pending operation: chain callbacks, then ``run()``."""

    def __init__(self, lane: Lane, fn: Callable, steps: bool) -> None:
        self._lane, self._fn, self._steps = lane, fn, steps
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
        return self._lane._run(self)


class Lane(QObject):
    """GUI-side handle of a lane: starts its thread, submits ops, routes results to callbacks.

    Create it on the GUI thread; every callback runs there.
    """

    _submit = Signal(int, object)
    _submit_steps = Signal(int, object)
    _close = Signal()
    opened = Signal(int, object)   # ok (1/0), None or the exception
    # Raised for an op without a failure callback, so nothing fails silently.
    unhandled_error = Signal(object)
    busy_changed = Signal(int)     # ops submitted and not yet finished, for a busy indicator

    def __init__(self, name: str, opener: Callable[[], Any] | None = None, parent: QObject | None = None,
                 *, closed_code: str = "lane.closed") -> None:
        super().__init__(parent)
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[int, Op] = {}
        self.is_open = False
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _LaneWorker(name, opener, closed_code)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.open)
        self._submit.connect(self._worker.execute)
        self._submit_steps.connect(self._worker.start_steps)
        self._close.connect(self._worker.close, Qt.ConnectionType.BlockingQueuedConnection)
        # Explicitly queued: with an automatic connection PySide6 has called a subclass's override
        # of a handler directly on the lane's thread, and callbacks must run on the GUI thread.
        queued = Qt.ConnectionType.QueuedConnection
        self._worker.done.connect(self._on_done, queued)
        self._worker.progress.connect(self._on_progress, queued)
        self._worker.opened.connect(self._on_opened, queued)

    def start(self) -> None:
        self._thread.start()

    def running(self) -> bool:
        return self._thread.isRunning()

    def op(self, fn: LaneFn) -> Op:
        """``fn(resource)`` runs on the lane's thread."""
        return Op(self, fn, steps=False)

    def steps(self, factory: Callable[[Any], Iterator[Any]]) -> Op:
        """``factory(resource)`` returns a generator advanced one unit per turn of the lane's thread."""
        return Op(self, factory, steps=True)

    def pending(self) -> int:
        return len(self._pending)

    def _run(self, op: Op) -> int:
        op.rid = next(self._ids)
        self._pending[op.rid] = op
        (self._submit_steps if op._steps else self._submit).emit(op.rid, op._fn)
        self.busy_changed.emit(self.pending())
        return op.rid

    @Slot(int, object)
    def _on_opened(self, ok: int, info: object) -> None:
        self.is_open = bool(ok)
        self.opened.emit(ok, info)

    @Slot(int, object)
    def _on_progress(self, rid: int, value: object) -> None:
        op = self._pending.get(rid)
        if op is not None and op._progress is not None:
            try:
                op._progress(value)
            except Exception:  # a callback bug must not kill the event loop
                log.exception("%s: progress callback failed", self.name)

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
                        log.error("%s: operation failed: %s", self.name, type(result).__name__)
                        self.unhandled_error.emit(result)
            except Exception:  # a callback bug must not kill the event loop
                log.exception("%s: operation callback failed", self.name)
        self.busy_changed.emit(self.pending())

    def shutdown(self) -> None:
        """Close the resource on the lane's own thread (after the op in flight), then stop the thread."""
        if self._thread.isRunning():
            self._close.emit()
            self._thread.quit()
            self._thread.wait(10_000)
