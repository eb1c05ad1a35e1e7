"""The sync bar tells the truth about what was checked, and remembers the last sync across a restart."""

from __future__ import annotations

import datetime as dt

from desktop_helpers import login_cadre, run_op
from PySide6.QtCore import Qt

from desktop import session
from sync.client import LAST_SYNC_META


def _login(qtbot, app):
    return login_cadre(qtbot, app)


def test_unreachable_registry_is_not_a_mismatch_and_the_last_sync_survives_a_restart(
        qtbot, field_registry, tmp_path, start_app, monkeypatch):
    """A sync that never reached the digest says 未核对 without the mismatch's 请联系管理员, and after a
    restart the bar shows that sync's time and outcome instead of 尚未同步."""
    monkeypatch.setattr(session, "SYNC_RETRIES", 0)
    store_path = tmp_path / "laptop.sqlite3"
    app = start_app(store_path, field_registry.url)
    win = _login(qtbot, app)
    assert win.sync_panel.report.digest_checked and win.sync_panel.report.digest_match

    field_registry.stop()
    with qtbot.waitSignal(win.sync_panel.finished, timeout=30_000):
        qtbot.mouseClick(win.sync_panel.sync_button, Qt.MouseButton.LeftButton)
    summary = win.sync_panel.summary_label.text()
    assert win.sync_panel.report.error_code == "sync.network"
    assert "核对：未核对" in summary, summary
    assert "不一致" not in summary and "联系管理员" not in summary, summary
    last = run_op(qtbot, app.owner, lambda s: s.get_meta(LAST_SYNC_META))
    app.shutdown()
    win.close()

    app2 = start_app(store_path, field_registry.url)
    win2 = _login(qtbot, app2)  # offline: no sync runs at login
    assert win2.login["online"] is False
    at = dt.datetime.fromisoformat(last["finished_at"]).astimezone().strftime("%Y-%m-%d %H:%M")
    qtbot.waitUntil(lambda: win2.sync_panel.phase_label.text() != "尚未同步", timeout=5_000)
    assert win2.sync_panel.phase_label.text() == f"上次同步 {at}：同步未完成"
    assert win2.sync_panel.summary_label.text() == summary
