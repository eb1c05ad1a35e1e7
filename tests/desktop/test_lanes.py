"""desktop.lane.Lane: one QThread, callables in submission order, results and errors back by signal on
the GUI thread; and the central workspace's two lanes against a real registry process."""

from __future__ import annotations

import threading

from central_helpers import setup_central
from PySide6.QtCore import Qt, QThread
from regkit import VILLAGE_A, item, payload
from test_central_workspace import _window

from desktop.lane import Lane, LaneClosed
from sync import protocol


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


# Enough new records that checking them takes seconds for real: the checks compare every new record with
# every other (same ID, near-duplicate names: these made-up residents share two names), about 4 s for 600
# on a quiet machine.
LONG_RUN_RECORDS = 700


def _arrive_unchecked(registry, n: int) -> None:
    """``n`` enrollments stored by the registry's own push code, straight into its database in one
    transaction: unlike a push over HTTP it does not wake the registry's check worker, so they wait,
    received and unchecked, for the next run."""
    from registry import service
    from registry.auth import Operator
    from registry.db import open_database

    engine = open_database(registry.db_url)
    try:
        cadre = Operator(id=0, username="cadre_a", role="cadre", display_name="王干部",
                         villages=[{"code": VILLAGE_A, "name": "大石村"}])
        results = service.push(engine, cadre, "laptop-a", [item(payload(100 + i, VILLAGE_A)) for i in range(n)])
        assert {r["status"] for r in results} == {"accepted"}, results[:1]
    finally:
        engine.dispose()


def test_the_queue_a_record_and_its_photos_load_while_a_long_check_run_is_in_flight(qtbot, registry, tmp_path):
    """立即比对 over hundreds of new records runs on the workspace's long lane; the queue refreshed and a
    record opened meanwhile (both card photos too) arrive on the short lane while the run is still in
    flight, before it finishes, instead of queueing behind it."""
    central = setup_central(registry, tmp_path)
    win = _window(qtbot, central)
    try:
        _arrive_unchecked(registry, LONG_RUN_RECORDS)
        order: list[str] = []
        long_in_flight: dict[str, int] = {}
        runs: list[object] = []

        def arrived(what: str) -> None:
            order.append(what)
            long_in_flight[what] = win.long_net.pending()

        win.queue_loaded.connect(lambda _n: arrived("queue"))
        qtbot.mouseClick(win.run_checks_button, Qt.MouseButton.LeftButton)
        assert win.long_net.pending() == 1 and not win.run_checks_button.isEnabled()
        win.refresh_queue()
        view = win.open_record(central.ids["dup_a"])
        # load() only submitted the call: its answer cannot arrive before the event loop runs again.
        view.loaded.connect(lambda _rid: arrived("record"))

        def run_finished(summary: object) -> None:
            order.append("checks")
            runs.append(summary)

        win.checks_done.connect(run_finished)
        qtbot.waitUntil(lambda: bool(runs), timeout=300_000)
        assert isinstance(runs[0], dict), runs[0]          # the run succeeded
        before = order[:order.index("checks")]
        assert "queue" in before, order
        assert long_in_flight["queue"] == 1          # the run was still going
        # Opening a record writes its record.viewed audit entry; on SQLite that write waits for the check
        # run's batch transactions and can lose the race to the next batch until the run ends (seen once in
        # CI under load). The queue, a pure read on the short lane, proves the lanes are separate; the
        # record must still arrive.
        qtbot.waitUntil(lambda: "record" in order, timeout=60_000)
        qtbot.waitUntil(lambda: view.own_photo.loaded and view.other_photo.loaded, timeout=60_000)
        # and the run really checked them: nothing is left unchecked at the registry
        api = central.api()
        received = api.get(protocol.REVIEW_QUEUE, params={"state": ["received", "checked"]}).json()["items"]
        api.close()
        assert received == []
        qtbot.waitUntil(lambda: win.net.pending() == 0 and win.long_net.pending() == 0, timeout=30_000)
        assert win.run_checks_button.isEnabled()
    finally:
        win.close()
