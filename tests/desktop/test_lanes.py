"""desktop.lane.Lane: one QThread, callables in submission order, results and errors back by signal on
the GUI thread; and the central workspace's two lanes against a real registry process."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from desktop.lane import Lane, LaneClosed


class Resource:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.thread: int | None = threading.get_ident()

    def close(self) -> None:
        self.log.append(f"closed:{threading.get_ident()}")


def _lane(qtbot, log: list[str], name: str = "test-lane") -> Lane:
    lane = Lane(name, lambda: Resource(log))
    with qtbot.waitSignal(lane.opened, timeout=5000) as opened:
        lane.start()
    assert opened.args[0] == 1 and lane.is_open
    return lane


def test_ops_run_in_order_on_one_thread_and_callbacks_on_the_gui_thread(qtbot):
    """Ops run one at a time in submission order, all on the lane's one thread (never the GUI thread),
    each receives the resource the lane opened there, and every callback runs on the GUI thread."""
    log: list[str] = []
    lane = _lane(qtbot, log)
    gui = threading.get_ident()
    ran_on: set[int] = set()
    called_on: set[int] = set()
    results: list[int] = []

    def work(i: int):
        def fn(resource: Resource) -> int:
            ran_on.add(threading.get_ident())
            assert resource.thread == threading.get_ident()   # the resource was made on this thread
            log.append(f"op{i}")
            return i
        return fn

    def got(value: int) -> None:
        called_on.add(threading.get_ident())
        results.append(value)

    for i in range(20):
        lane.op(work(i)).success(got).run()
    assert lane.pending() == 20
    qtbot.waitUntil(lambda: lane.pending() == 0, timeout=5000)
    assert results == list(range(20)) and log == [f"op{i}" for i in range(20)]
    assert len(ran_on) == 1 and gui not in ran_on
    assert called_on == {gui}
    lane.shutdown()


def test_errors_go_to_the_failure_callback_or_to_unhandled_error(qtbot):
    """An exception raised by an op reaches its failure callback (not success); an op without one
    emits ``unhandled_error``, so nothing fails silently; the lane goes on with the next op."""
    log: list[str] = []
    lane = _lane(qtbot, log)
    seen: dict[str, object] = {}
    lane.op(lambda r: 1 / 0).success(lambda v: seen.setdefault("success", v)).failure(
        lambda e: seen.setdefault("failure", e)).run()
    with qtbot.waitSignal(lane.unhandled_error, timeout=5000) as unhandled:
        lane.op(lambda r: {}["missing"]).run()
    lane.op(lambda r: "after").success(lambda v: seen.setdefault("after", v)).run()
    qtbot.waitUntil(lambda: lane.pending() == 0, timeout=5000)
    assert isinstance(seen["failure"], ZeroDivisionError) and "success" not in seen
    assert isinstance(unhandled.args[0], KeyError)
    assert seen["after"] == "after"
    lane.shutdown()


def test_ops_queued_during_a_stepwise_job_run_between_its_steps(qtbot):
    """A generator submitted with ``steps`` is advanced one unit per turn: ops submitted while it runs go
    between two of its units, progress reports each yielded value, success gets the return value."""
    log: list[str] = []
    lane = _lane(qtbot, log)
    first_unit = threading.Event()
    ops_queued = threading.Event()

    def job(_resource):
        for i in range(4):
            log.append(f"step{i}")
            if i == 0:
                # The GUI thread queues the ops below after seeing this unit start: no timing involved.
                first_unit.set()
                ops_queued.wait(5)
            yield i
        return "job-done"

    progress: list[int] = []
    result: dict[str, object] = {}
    lane.steps(job).progress(progress.append).success(lambda v: result.setdefault("job", v)).run()
    assert first_unit.wait(5)
    lane.op(lambda r: log.append("a")).run()
    lane.op(lambda r: log.append("b")).run()
    ops_queued.set()
    qtbot.waitUntil(lambda: lane.pending() == 0, timeout=5000)
    assert result["job"] == "job-done" and progress == [0, 1, 2, 3]
    assert log.index("step0") < log.index("a") < log.index("b") < log.index("step3")
    lane.shutdown()


def test_shutdown_closes_the_resource_on_its_thread_and_joins_it(qtbot):
    """``shutdown`` waits for the op in flight, closes the resource on the lane's own thread and joins
    the thread; an op sent afterwards fails with ``LaneClosed`` instead of running."""
    log: list[str] = []
    lane = _lane(qtbot, log)
    thread: list[int] = []
    release = threading.Event()

    def slow(_r):
        thread.append(threading.get_ident())
        release.wait(5)
        log.append("slow-done")

    lane.op(slow).run()
    qtbot.waitUntil(lambda: bool(thread), timeout=5000)
    # Released from another thread while shutdown() holds the GUI thread: the close waits behind the op.
    threading.Timer(0.2, release.set).start()
    lane.shutdown()
    assert not lane.running() and lane._thread.isFinished()
    assert log == ["slow-done", f"closed:{thread[0]}"]
    lane.shutdown()   # a second call is harmless


def test_an_op_on_a_lane_whose_resource_failed_to_open_fails_with_its_code(qtbot):
    def broken():
        raise OSError("disk gone")

    lane = Lane("broken", broken, closed_code="store.closed")
    with qtbot.waitSignal(lane.opened, timeout=5000) as opened:
        lane.start()
    assert opened.args[0] == 0 and isinstance(opened.args[1], OSError) and not lane.is_open
    errors: list[BaseException] = []
    lane.op(lambda r: "never").failure(errors.append).run()
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], LaneClosed) and errors[0].code == "store.closed"
    lane.shutdown()


def test_a_lane_without_a_resource_and_the_thread_name(qtbot):
    """A lane needs no resource (the online checks): its ops get None; its thread carries the lane's name."""
    lane = Lane("online-check")
    lane.start()
    names: list[str] = []
    lane.op(lambda r: (r, QThread.currentThread().objectName())).success(names.append).run()
    qtbot.waitUntil(lambda: bool(names), timeout=5000)
    assert names == [(None, "online-check")]
    lane.shutdown()
