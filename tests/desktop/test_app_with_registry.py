"""The whole app against a real registry process on 127.0.0.1: login, sync, offline, conflicts."""

from __future__ import annotations

import json

from desktop_helpers import PASSWORD, VILLAGE, run_op
from PySide6.QtCore import Qt

from desktop.app import DesktopApp
from desktop.outbox import OutboxView


def _login(qtbot, app: DesktopApp, password: str = PASSWORD, user: str = "cadre1") -> None:
    w = app.login_window
    w.username_edit.setText(user)
    w.password_edit.setText(password)
    qtbot.mouseClick(w.login_button, Qt.MouseButton.LeftButton)


def _logged_in(qtbot, app: DesktopApp, members: int = 7):
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    win = app.main_window
    qtbot.addWidget(win)
    win.resize(1366, 740)
    qtbot.waitUntil(lambda: not win.sync_panel.running and len(win.roster.shown_residents()) == members,
                    timeout=30_000)
    return win


def test_online_login_then_offline_login_and_indicator(qtbot, field_registry, tmp_path, screens, start_app):
    """The first login is online and brings the roster; when the registry stops the status bar turns
    offline; later the cached credential logs in offline, and a wrong password is refused in the window."""
    store_path = tmp_path / "laptop.sqlite3"
    app = start_app(store_path, field_registry.url)
    screens(app.login_window, "login")
    _login(qtbot, app)
    win = _logged_in(qtbot, app)
    assert win.sync_panel.report.pulled >= 7
    qtbot.waitUntil(lambda: win.is_online_shown(), timeout=10_000)
    assert win.online_label.text() == "● 在线"
    assert "王干部" in win.operator_label.text() and VILLAGE in win.operator_label.text()
    screens(win, "main_roster_online")

    field_registry.stop()
    qtbot.waitUntil(lambda: not win.is_online_shown(), timeout=15_000)
    assert win.online_label.text() == "● 离线"
    app.shutdown()
    win.close()

    app2 = start_app(store_path, field_registry.url)
    _login(qtbot, app2, password="wrong-password")
    qtbot.waitUntil(lambda: app2.login_window.error_label.text() != "", timeout=15_000)
    assert app2.login_window.error_label.text() == "用户名或密码错误"
    assert app2.main_window is None
    screens(app2.login_window, "login_error")
    _login(qtbot, app2)
    win2 = _logged_in(qtbot, app2)
    assert win2.login["online"] is False
    assert win2.online_label.text() == "● 离线"
    screens(win2, "main_roster_offline")


def test_enroll_from_roster_and_sync_with_progress(qtbot, field_registry, tmp_path, screens, start_app):
    """A member picked in the roster is enrolled with a consent scan, saved to the queue, and a sync with
    a moving progress bar ends with a summary of one accepted record that the registry now holds."""
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    _login(qtbot, app)
    win = _logged_in(qtbot, app)
    form = win.form

    chen = next(r for r in win.roster.shown_residents() if r["name"] == "陈芳")
    win.roster.member_selected.emit(chen)
    assert form.id_edit.text() == chen["id_number"] and form.name_edit.text() == "陈芳"
    assert form.relation_combo.value() == "32" and form.relation_combo.currentText() == "长女（32）"
    form.consent_check.click()
    scan = tmp_path / "consent.jpg"
    scan.write_bytes(bytes(range(256)) * 3000)  # 750 KB: several upload chunks
    form.attach_file("consent_form", str(scan))
    qtbot.waitUntil(lambda: "consent_form" in form._attachments, timeout=10_000)
    assert "consent.jpg" in form.attachment_labels["consent_form"].text()
    with qtbot.waitSignal(form.queued, timeout=10_000) as queued:
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    rid = queued.args[0]["record_id"]
    qtbot.waitUntil(lambda: any(r["name"] == "陈芳" and r["enrollment_state"] == "queued"
                                for r in win.roster.shown_residents()), timeout=10_000)

    shots = []

    def snap(phase, done, total):
        if not shots and phase == "blobs" and 0 < done < total:
            shots.append(screens(win, "sync_in_progress"))

    win.sync_panel.progressed.connect(snap)
    with qtbot.waitSignal(win.sync_panel.finished, timeout=60_000):
        qtbot.mouseClick(win.sync_panel.sync_button, Qt.MouseButton.LeftButton)
    assert shots, "no screenshot while the upload was in progress"
    blob_steps = [p for p in win.sync_panel.progress_seen if p[0] == "blobs"]
    assert len(blob_steps) >= 3 and blob_steps[0][1] < blob_steps[-1][1]  # the bar moved
    report = win.sync_panel.report
    assert report.accepted == 1 and report.digest_match
    summary = win.sync_panel.summary_label.text()
    assert "新接收 1 条" in summary and "核对：一致" in summary
    assert run_op(qtbot, app.owner, lambda s: s.get_record(rid))["state"] == "accepted"
    qtbot.waitUntil(lambda: any(r["name"] == "陈芳" and r["enrollment_state"] == "accepted"
                                for r in win.roster.shown_residents()), timeout=10_000)
    screens(win, "sync_summary")

    stats = json.loads(field_registry.cli("stats", "--json").stdout)
    assert stats["records"]["live"] == 1 and stats["blobs"]["complete"] == 1, stats

    win.tabs.setCurrentWidget(win.outbox)
    qtbot.waitUntil(lambda: len(win.outbox.records) == 1 and win.outbox.records[0]["state"] == "accepted",
                    timeout=10_000)
    assert win.outbox.table.item(0, 2).text() == "已送达"
    screens(win, "outbox")


def test_conflict_shows_both_versions_and_keep_mine_requeues(qtbot, field_registry, tmp_path, screens):
    """The same record edited on two laptops: the second laptop's outbox shows the conflict with both
    versions side by side, and 保留我的 puts its version back in the queue on top of the server's."""
    from sync.client import SyncClient, login_online
    from sync.store import Store

    a = Store.open(tmp_path / "a.sqlite3")
    b = Store.open(tmp_path / "b.sqlite3")
    for s in (a, b):
        login_online(s, field_registry.url, "cadre1", PASSWORD)
    SyncClient(a).run()
    zhang = a.search_residents("张三", VILLAGE)[0]
    fields = {k: zhang[k] for k in ("id_number", "name", "sex", "birth_date", "household_id", "relation",
                                     "address")}
    rid = a.enroll({**fields, "village_code": VILLAGE, "consent": True,
                    "confirmed_warnings": ["id_number.region_anachronistic"]})
    assert SyncClient(a).run().accepted == 1
    assert SyncClient(b).run().digest_match               # B now holds version 1
    a.save_draft({**a.get_record(rid)["fields"], "phone": "13900001111"}, rid)
    a.queue(rid)
    assert SyncClient(a).run().accepted == 1               # version 2 from laptop A
    b.save_draft({**b.get_record(rid)["fields"], "address": "大石村5组"}, rid)
    b.queue(rid)
    assert SyncClient(b).run().conflicts == 1               # laptop B's edit meets version 2
    a.close()
    b.close()

    from desktop.store_worker import StoreOwner

    owner = StoreOwner(lambda: Store.open(tmp_path / "b.sqlite3"))
    with qtbot.waitSignal(owner.opened, timeout=10_000):
        owner.start()
    view = OutboxView(owner)
    qtbot.addWidget(view)
    view.resize(1100, 500)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: len(view.records) == 1, timeout=10_000)
    assert view.records[0]["state"] == "needs-attention"
    assert view.table.item(0, 2).text() == "需处理"
    assert "冲突" in view.table.item(0, 3).text()
    screens(view, "outbox_conflict")

    dialog = view.show_conflict(view.records[0])
    qtbot.addWidget(dialog)
    assert set(dialog.differences) == {"address", "phone"}
    assert dialog.table.item(6, 1).text() == "大石村5组" and dialog.table.item(7, 2).text() == "13900001111"
    screens(dialog, "conflict")
    with qtbot.waitSignal(view.conflict_resolved, timeout=10_000):
        qtbot.mouseClick(dialog.keep_mine, Qt.MouseButton.LeftButton)
    rec = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert rec["state"] == "queued" and rec["conflict"] is None and rec["base_version"] == 2
    owner.shutdown()


def test_sync_waits_for_the_network_without_blocking_the_store_and_can_be_cancelled(
        qtbot, field_registry, tmp_path, screens, start_app):
    """With the registry gone a sync waits to retry while autosaves still go through, and 取消 ends it
    with the record still queued for the next sync."""
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    _login(qtbot, app)
    win = _logged_in(qtbot, app)
    chen = next(r for r in win.roster.shown_residents() if r["name"] == "陈芳")
    win.roster.member_selected.emit(chen)
    win.form.consent_check.click()
    with qtbot.waitSignal(win.form.queued, timeout=10_000) as queued:
        qtbot.mouseClick(win.form.save_button, Qt.MouseButton.LeftButton)
    rid = queued.args[0]["record_id"]

    field_registry.stop()
    qtbot.mouseClick(win.sync_panel.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "网络中断" in win.sync_panel.phase_label.text(), timeout=20_000)
    screens(win, "sync_waiting_for_network")

    # The store thread is free while the sync waits: a draft saves at once.
    draft = run_op(qtbot, app.owner, lambda s: s.save_draft({"name": "新草稿", "village_code": VILLAGE}),
                   timeout=3_000)
    assert run_op(qtbot, app.owner, lambda s: s.get_record(draft))["state"] == "draft"
    assert win.sync_panel.running

    with qtbot.waitSignal(win.sync_panel.finished, timeout=5_000):
        qtbot.mouseClick(win.sync_panel.cancel_button, Qt.MouseButton.LeftButton)
    assert win.sync_panel.report.cancelled
    assert run_op(qtbot, app.owner, lambda s: s.get_record(rid))["state"] in ("queued", "sending")
    assert win.sync_panel.sync_button.isEnabled()
