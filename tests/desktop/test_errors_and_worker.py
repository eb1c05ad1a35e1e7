"""desktop/errors.py wording and the store-owner thread's ordering guarantees."""

from __future__ import annotations

import threading

from desktop.errors import describe, field_errors
from desktop.store_worker import StoreOwner
from enrollment.errors import DomainError, ValidationErrors
from sync.http import ApiError, TransportError


def test_codes_become_chinese_sentences():
    """Domain, API and network errors are worded in Chinese; an unknown code is named in a generic sentence."""
    assert describe(DomainError("id_number.check_character", "id_number")) == "身份证号码校验位不正确，请逐位核对"
    assert "17" in describe(DomainError("id_number.length", "id_number", length=17))
    assert describe(DomainError("sex.mismatch", "sex", expected="女")) == "性别与身份证号码不符（应为女）"
    assert describe(ApiError(401, "auth.bad_credentials", "no")) == "用户名或密码错误"
    assert "无法连接登记中心" in describe(TransportError("no answer on GET /api/health: ConnectionError"))
    assert "2" in describe(ApiError(426, "protocol.unsupported_version", "", data={"min": 2, "max": 3}))
    assert describe("frobnicate.failed") == "操作未能完成（错误代码：frobnicate.failed）"
    both = ValidationErrors([DomainError("name.empty", "name"), DomainError("phone.invalid", "phone")])
    assert describe(both) == "请填写姓名；手机号码应为11位数字，以1开头"
    assert field_errors(both) == {"name": ["请填写姓名"], "phone": ["手机号码应为11位数字，以1开头"]}


def test_ops_run_in_order_off_the_ui_thread_and_steps_let_other_ops_through(qtbot):
    """Operations run one at a time on the store thread in submission order, and an op queued during a
    stepwise job runs between two of its steps, not after the whole job."""
    log: list[str] = []
    threads: set[int] = set()

    class FakeStore:
        def close(self):
            log.append("closed")

    owner = StoreOwner(FakeStore)
    with qtbot.waitSignal(owner.opened, timeout=5000):
        owner.start()

    op_queued = threading.Event()

    def job(store):
        # The first unit waits until the UI has queued the autosave below, so the test does not depend
        # on the two threads' timing (under load the whole job once ran before the autosave was queued).
        op_queued.wait(5)
        for i in range(3):
            threads.add(threading.get_ident())
            log.append(f"step{i}")
            yield i
        return "job-done"

    results = {}
    seen_progress = []
    owner.steps(job).progress(seen_progress.append).success(lambda r: results.setdefault("job", r)).run()
    owner.op(lambda s: log.append("autosave") or "saved").success(lambda r: results.setdefault("op", r)).run()
    op_queued.set()
    owner.op(lambda s: 1 / 0).failure(lambda e: results.setdefault("err", e)).run()
    qtbot.waitUntil(lambda: len(results) == 3 and owner.pending() == 0, timeout=5000)
    assert results["job"] == "job-done" and results["op"] == "saved"
    assert isinstance(results["err"], ZeroDivisionError)
    assert seen_progress == [0, 1, 2]
    assert log.index("autosave") < log.index("step2")  # it did not wait for the whole job
    assert threading.get_ident() not in threads
    owner.shutdown()
    assert log[-1] == "closed"
