"""标记外出务工 as one act (issue 11): the city saved on the record through the form's own path (a new version
in the outbox), then, online, the verification request made at once; offline a message says when it can be
made; the resident form's two buttons; and the sync summary's count of pulled verification results."""

from __future__ import annotations

from desktop_helpers import VILLAGE, login_cadre, roster_rows, run_op, type_text
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop.enrollment_form import EnrollmentForm
from desktop.sync_panel import SyncPanel
from desktop.verification.labels import verification_details
from desktop.verification.mark_away import MarkAwayDialog
from enrollment import id_number as idn
from sync import protocol
from sync.enrollment_ops import mark_away


def _accepted_record(store, resident: dict, **extra) -> str:
    """The resident enrolled on this laptop and accepted by the registry as version 1 (as a sync leaves it)."""
    rid = store.enroll({**resident, "village_code": VILLAGE, "consent": True,
                        "confirmed_warnings": list(idn.parse(resident["id_number"]).warnings), **extra})
    store.mark_sending([rid])
    store.mark_result(rid, {"record_id": rid, "status": protocol.ACCEPTED, "version": 1})
    return rid


def _item(tree, id_number: str):
    return next(tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount())
                if tree.topLevelItem(i).child(j).text(1) == id_number)


def test_offline_mark_away_queues_a_new_version_and_says_the_request_waits(qtbot, owner, screens):
    """Offline, 确定 refuses an empty or overlong city in Chinese, then saves migrant_worker and the city as a new
    version on the registry's version 1 (queued for the next sync) and says the request can be made once online."""
    zhang = roster_rows()[0]
    rid = run_op(qtbot, owner, lambda s: _accepted_record(s, zhang))
    dialog = MarkAwayDialog(owner, {**zhang, "record_id": rid}, lambda: False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "联网后才能发起远程核验" in dialog.note_label.text()
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.isVisibleTo(dialog) and dialog.error_label.text().startswith("请填写外出务工的城市")
    type_text(qtbot, dialog.city_edit, "深" * 41)
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "务工城市不能超过40个字"
    assert run_op(qtbot, owner, lambda s: s.get_record(rid))["state"] == "accepted"   # nothing written yet

    dialog.city_edit.clear()
    type_text(qtbot, dialog.city_edit, "广东省 深圳市")
    proceeded = []
    dialog.proceed.connect(proceeded.append)
    with qtbot.waitSignal(dialog.marked, timeout=5000) as marked:
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    assert marked.args[0].queued and marked.args[0].city == "广东省 深圳市"
    record = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert record["state"] == "queued" and record["base_version"] == 1
    assert record["payload"]["migrant_worker"] is True and record["payload"]["work_place"] == "广东省 深圳市"
    assert proceeded == []
    assert "已加入发送队列" in dialog.status_label.text() and "联网后" in dialog.status_label.text()
    assert not dialog.confirm_button.isVisibleTo(dialog) and dialog.cancel_button.text() == "关闭"
    screens(dialog, "mark_away_offline_done")


def test_mark_away_dialog_prefills_the_records_work_place(qtbot, owner, screens):
    """A record that already names its 务工地点 opens the dialog with that city filled in."""
    zhang = roster_rows()[0]
    rid = run_op(qtbot, owner, lambda s: _accepted_record(s, zhang, migrant_worker=True, work_place="广东省东莞市"))
    dialog = MarkAwayDialog(owner, {**zhang, "record_id": rid}, lambda: True)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.city_edit.text() == "广东省东莞市", timeout=5000)
    assert "接着生成远程核验链接" in dialog.note_label.text()
    screens(dialog, "mark_away_dialog")


def test_mark_away_keeps_a_draft_a_draft_and_writes_nothing_without_a_record(qtbot, owner):
    """A draft the cadre has not finished (found by the ID number alone, as a roster row read before it was made
    would name it) gets the city but stays out of the outbox; a roster member with no record on this laptop gets
    nothing written, and online the dialog goes on to the request with the city."""
    zhang, li = roster_rows()[:2]
    rid = run_op(qtbot, owner, lambda s: s.save_draft({**zhang, "village_code": VILLAGE}))
    marked = run_op(qtbot, owner, lambda s: mark_away(s, zhang["id_number"], "  四川省 成都市 "))
    assert (marked.record_id, marked.state, marked.queued, marked.city) == (rid, "draft", False, "四川省 成都市")
    fields = run_op(qtbot, owner, lambda s: s.get_record(rid))["fields"]
    assert fields["migrant_worker"] is True and fields["work_place"] == "四川省 成都市"

    records_before = run_op(qtbot, owner, lambda s: len(s.list_records()))
    dialog = MarkAwayDialog(owner, {**li, "record_id": None}, lambda: True)
    qtbot.addWidget(dialog)
    assert "还没有登记记录" in dialog.note_label.text()
    type_text(qtbot, dialog.city_edit, "深圳")
    with qtbot.waitSignal(dialog.proceed, timeout=5000) as proceeded:
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    assert proceeded.args[0]["id_number"] == li["id_number"] and proceeded.args[0]["work_place"] == "深圳"
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert run_op(qtbot, owner, lambda s: len(s.list_records())) == records_before


def test_tooltip_gives_state_expiry_in_beijing_time_and_reasons():
    """The 远程核验 tooltip names the state, the method, the link's expiry as a Beijing-time minute, and why it failed."""
    request = {"state": "manual", "method": "live", "city": "深圳", "expires_at": "2026-11-27T08:00:00.000+00:00",
               "outcome": "failed", "reasons": ["match.too_low"], "attempts_left": 0, "result": {}}
    tip = verification_details(request).splitlines()
    assert "状态：需上门或人工核验" in tip and "方式：远程刷脸核验" in tip
    assert "链接有效期至：2026-11-27 16:00（北京时间）" in tip and "原因：与登记照片不符" in tip
    waiting = verification_details({**request, "state": "sent", "outcome": None, "reasons": [], "attempts_left": 3})
    assert "剩余核验次数：3" in waiting.splitlines()


def test_form_offers_mark_away_for_a_stored_record_and_the_request_online(qtbot, owner, screens):
    """The resident form's 标记外出务工 needs a record on this laptop and 发起远程核验 needs the registry; each hands
    the open resident (with the record and its 务工地点) to the dialogs."""
    zhang = roster_rows()[0]
    rid = run_op(qtbot, owner, lambda s: _accepted_record(s, zhang, migrant_worker=True, work_place="浙江省宁波市"))
    form = EnrollmentForm(owner)
    qtbot.addWidget(form)
    form.resize(780, 900)
    form.show()
    assert not form.away_button.isEnabled() and not form.request_button.isEnabled()   # a new, empty form
    form.load_record(run_op(qtbot, owner, lambda s: s.get_record(rid)))
    assert form.away_button.isEnabled() and not form.request_button.isEnabled()       # offline
    form.set_online(True)
    assert form.request_button.isEnabled()
    with qtbot.waitSignal(form.mark_away_requested, timeout=2000) as asked:
        qtbot.mouseClick(form.away_button, Qt.MouseButton.LeftButton)
    assert asked.args[0]["record_id"] == rid and asked.args[0]["work_place"] == "浙江省宁波市"
    with qtbot.waitSignal(form.verification_requested, timeout=2000) as asked:
        qtbot.mouseClick(form.request_button, Qt.MouseButton.LeftButton)
    assert asked.args[0]["id_number"] == zhang["id_number"]
    screens(form, "form_remote_verification_buttons")


def test_sync_summary_counts_the_verification_results_pulled(qtbot, owner):
    """The summary after a sync names the verification requests its pull brought, by result."""
    panel = SyncPanel(owner)
    qtbot.addWidget(panel)
    base = {"accepted": 0, "unchanged": 0, "conflicts": 0, "refused": 0, "pulled": 2, "digest_match": True}
    text = panel.summary({**base, "verifications": {"passed": 1, "manual": 1}})
    assert text.endswith("远程核验：2 条更新（1 通过，1 需上门核实）")
    assert "远程核验" not in panel.summary({**base, "verifications": {}})


def test_app_marks_a_member_away_and_makes_the_request_then_the_sync_brings_both(qtbot, field_registry, tmp_path,
                                                                                 start_app, screens):
    """In the whole app against a real registry: 标记外出务工 on an enrolled member saves the city as version 2,
    goes straight on to the request (link made with that city), the next sync sends the version and brings the
    request back, the summary counts it, and the roster's 远程核验 column shows it whole."""
    app = start_app(tmp_path / "laptop.sqlite3", field_registry.url)
    win = login_cadre(qtbot, app, wait_online=True)
    zhang = roster_rows()[0]
    rid = run_op(qtbot, app.owner, lambda s: s.enroll({
        **zhang, "village_code": VILLAGE, "consent": True,
        "confirmed_warnings": list(idn.parse(zhang["id_number"]).warnings)}))
    win.sync_panel.start()
    qtbot.waitUntil(lambda: not win.sync_panel.running, timeout=30_000)
    assert win.sync_panel.report.accepted == 1
    win.roster.refresh()
    qtbot.waitUntil(lambda: _item(win.roster.tree, zhang["id_number"]).text(3) == "已送达", timeout=10_000)

    win.roster.tree.itemClicked.emit(_item(win.roster.tree, zhang["id_number"]), 0)
    assert win.roster.away_button.isEnabled()
    qtbot.mouseClick(win.roster.away_button, Qt.MouseButton.LeftButton)
    dialog = win.mark_away_dialog
    assert dialog is not None and dialog.resident["record_id"] == rid
    type_text(qtbot, dialog.city_edit, "东莞")
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.verification_dialog is not None, timeout=5000)
    request = win.verification_dialog
    qtbot.waitUntil(lambda: request.result is not None, timeout=15_000)
    assert request.city_edit.text() == "东莞" and "/verify?t=" in request.link_edit.text()
    assert win.mark_away_dialog is None
    record = run_op(qtbot, app.owner, lambda s: s.get_record(rid))
    assert record["state"] == "queued" and record["payload"]["work_place"] == "东莞"
    request.done(0)

    win.sync_panel.start()
    qtbot.waitUntil(lambda: not win.sync_panel.running, timeout=30_000)
    report = win.sync_panel.report
    assert report.accepted == 1 and report.verifications == {"sent": 1}
    assert win.sync_panel.summary_label.text().endswith("远程核验：1 条更新（1 已发送链接）")
    record = run_op(qtbot, app.owner, lambda s: s.get_record(rid))
    assert record["state"] == "accepted" and record["server_version"] == 2
    kept = run_op(qtbot, app.owner, lambda s: s.verifications_for(zhang["id_number"]))
    assert [(v["state"], v["city"]) for v in kept] == [("sent", "东莞")]

    win.roster.refresh()
    qtbot.waitUntil(lambda: _item(win.roster.tree, zhang["id_number"]).text(5).startswith("已发送链接"),
                    timeout=10_000)
    item = _item(win.roster.tree, zhang["id_number"])
    tree = win.roster.tree
    assert tree.columnWidth(5) >= tree.fontMetrics().horizontalAdvance(item.text(5))
    tip = item.toolTip(5)
    assert "状态：已发送链接" in tip and "（北京时间）" in tip and "外出务工城市：东莞" in tip
    win.tabs.widget(0).setSizes([900, 466])   # the roster wide enough to show every column
    screens(win, "main_roster_mark_away_column")
    win.close()
