"""发放失败 on the cadre's laptop: the village's payments the bank returned (protocol v6), on a real store fed by
a pull, with the bank's reason in words and what the cadre should do."""

from __future__ import annotations

from desktop_helpers import VILLAGE, run_op

from desktop.payment_failures import (
    COL_AMOUNT,
    COL_BANK,
    COL_CARD,
    COL_ITEM,
    COL_NAME,
    COL_PERIOD,
    COL_STATE,
    COL_TODO,
    PaymentFailuresView,
    yuan_text,
)
from desktop.sync_panel import SyncPanel
from sync import protocol


def _failure(n: int, state: str, line_state: str, reason_code: str | None, bank_reason: str | None = None) -> dict:
    return {"entitlement_id": str(n), "id_number": f"51092119400101{n:03d}8"[:18], "name": f"周芳{n}",
            "village_code": VILLAGE, "department": "残联", "item": "disability_living", "period": "201906",
            "amount_fen": 9000 + n, "state": state, "updated_at": "2026-12-01T10:00:00Z",
            "line": {"reference": f"YK{n}", "state": line_state, "reason_code": reason_code,
                     "bank_reason": bank_reason, "settled_at": "2026-12-01T10:00:00Z", "card": "****5341"}}


def _pull(qtbot, owner, failures: list[dict], start: int = 10) -> dict:
    wire = [{"counter": start + i, "kind": protocol.KIND_PAYMENT_FAILURE, "key": f["entitlement_id"], "data": f}
            for i, f in enumerate(failures)]
    return run_op(qtbot, owner, lambda s: s.apply_pull(wire, start + len(wire)))


def _shown(qtbot, view: PaymentFailuresView) -> list[dict]:
    with qtbot.waitSignal(view.count_changed, timeout=5000) as blocker:
        view.refresh()
    table = view.table
    rows = [{col: table.item(r, col).text() for col in range(table.columnCount())} for r in range(table.rowCount())]
    return [{"waiting": blocker.args[0], **row} for row in rows]


def test_returned_payments_show_waiting_first_with_the_banks_reason_and_the_next_step(qtbot, owner, screens):
    """A bounced line (卡未激活) and a reversed one come first as needing help, with the bank's reason in words and
    the cadre's next step; a line sent again and one paid on the retry follow; amounts are exact 元."""
    stats = _pull(qtbot, owner, [
        _failure(1, "paid_out", "credited", "account_closed"),
        _failure(2, "pay_failed", "bounced", "card_inactive", "卡未激活"),
        _failure(3, "in_batch", "at_bank", "name_mismatch"),
        _failure(4, "ready", "reversed", None),
    ])
    assert stats["payment_failures"] == 4
    view = PaymentFailuresView(owner)
    qtbot.addWidget(view)
    view.resize(1200, 360)
    view.show()
    rows = _shown(qtbot, view)
    assert rows[0]["waiting"] == 2
    assert [r[COL_NAME] for r in rows[:2]] == ["周芳4", "周芳2"]   # needing help first, newest first
    by_name = {r[COL_NAME]: r for r in rows}
    bounced = by_name["周芳2"]
    assert bounced[COL_STATE] == "需协助" and bounced[COL_BANK] == "社保卡未激活"
    assert "激活" in bounced[COL_TODO] and bounced[COL_CARD] == "****5341"
    assert bounced[COL_ITEM] != "disability_living" and bounced[COL_PERIOD] == "2019年06期"
    assert bounced[COL_AMOUNT] == "90.02"
    assert by_name["周芳4"][COL_STATE] == "已被退回" and "退回" in by_name["周芳4"][COL_TODO]
    assert by_name["周芳3"][COL_STATE] == "重新发放中" and by_name["周芳1"][COL_STATE] == "已补发"
    assert "需协助 2 笔，共 180.06 元" in view.summary.text()
    screens(view, "payment-failures")

    # The next pull says 周芳2's retry was paid: she no longer waits, and the count falls.
    _pull(qtbot, owner, [_failure(2, "paid_out", "credited", None)], start=30)
    rows = _shown(qtbot, view)
    assert rows[0]["waiting"] == 1 and {r[COL_NAME]: r[COL_STATE] for r in rows}["周芳2"] == "已补发"


def test_an_older_change_replayed_never_overwrites_a_newer_one(qtbot, owner):
    """A pull batch replayed with a lower counter leaves the newer state in place."""
    _pull(qtbot, owner, [_failure(5, "paid_out", "credited", None)], start=50)
    _pull(qtbot, owner, [_failure(5, "pay_failed", "bounced", "card_inactive")], start=40)
    rows = run_op(qtbot, owner, lambda s: s.payment_failures())
    assert [(r["state"], r["needs_help"]) for r in rows] == [("paid_out", False)]


def test_no_returned_payment_says_so_and_the_sync_report_names_the_waiting_ones(qtbot, owner):
    """An empty list says there is nothing to do; a sync report with failures waiting tells the cadre where to look."""
    view = PaymentFailuresView(owner)
    qtbot.addWidget(view)
    assert _shown(qtbot, view) == []
    assert view.summary.text() == "本村没有被银行退回的补贴。"
    panel = SyncPanel(owner)
    qtbot.addWidget(panel)
    text = panel.summary({"accepted": 0, "digest_match": True, "payment_failures_open": 3})
    assert "银行退回的补贴 3 笔需协助居民处理" in text and "发放失败" in text


def test_yuan_text_is_exact_for_any_fen():
    """Fen become 元 with two decimals by integer arithmetic (no float rounding)."""
    assert [yuan_text(f) for f in (0, 5, 90, 9000, 123456789, 10**17 + 1)] == [
        "0.00", "0.05", "0.90", "90.00", "1,234,567.89", "1,000,000,000,000,000.01"]
