"""The registry's review on the field screens (protocol v3), on a real laptop store: outbox, roster, form."""

from __future__ import annotations

from desktop_helpers import VILLAGE, roster_rows, run_op, type_text
from PySide6.QtCore import Qt

from desktop.enrollment_form import EnrollmentForm
from desktop.outbox import COL_REASON, COL_REVIEW, COL_STATE, OutboxView
from desktop.roster import RosterView
from enrollment import id_number as idn
from sync import protocol

REASON = "证件照背景不是白色，请重拍后再提交"


def _enrolled_and_returned(qtbot, owner) -> tuple[str, dict]:
    """张三 enrolled, accepted by the registry as version 1, then returned with a reason (as a v3 pull brings it)."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    zhang = rows[0]

    def setup(store):
        rid = store.enroll({**zhang, "consent": True,
                            "confirmed_warnings": list(idn.parse(zhang["id_number"]).warnings)})
        store.mark_sending([rid])
        store.mark_result(rid, {"record_id": rid, "status": protocol.ACCEPTED, "version": 1})
        payload = store.get_record(rid)["payload"]
        store.apply_pull([{"counter": 2, "kind": protocol.KIND_RECORD, "key": rid, "data": {
            "record_id": rid, "version": 1, "deleted": False, "payload": payload,
            "content_hash": protocol.record_hash(payload, False, rid),
            "review": {"state": "returned", "reason": REASON, "decided_by": "central1",
                       "decided_at": "2026-12-01T09:30:00+00:00", "card_issued_at": None}}}], 2)
        return rid

    return run_op(qtbot, owner, setup), zhang


def test_outbox_shows_a_returned_record_with_its_reason_and_opens_it_for_correction(qtbot, owner, screens):
    """The outbox shows 已退回 and the reason on a highlighted row; double-clicking opens the form with the reason at the top, and the correction is queued as version 2 of the same record."""
    rid, zhang = _enrolled_and_returned(qtbot, owner)
    outbox = OutboxView(owner)
    form = EnrollmentForm(owner)
    outbox.open_record.connect(form.load_record)
    for w in (outbox, form):
        qtbot.addWidget(w)
    outbox.resize(1100, 360)
    outbox.show()
    outbox.refresh()
    qtbot.waitUntil(lambda: len(outbox.records) == 1, timeout=5000)
    assert outbox.table.item(0, COL_STATE).text() == "已送达"
    assert outbox.table.item(0, COL_REVIEW).text() == "已退回"
    assert REASON in outbox.table.item(0, COL_REASON).text()
    assert outbox.table.item(0, 0).background().color().name() == "#ffe8c2"
    assert "已退回 1" in outbox.counts_label.text()
    screens(outbox, "outbox_returned")

    outbox.filter_combo.setCurrentIndex(outbox.filter_combo.findData("review:rejected"))
    qtbot.waitUntil(lambda: outbox.records == [], timeout=5000)
    outbox.filter_combo.setCurrentIndex(outbox.filter_combo.findData("review:returned"))
    qtbot.waitUntil(lambda: len(outbox.records) == 1, timeout=5000)

    form.resize(800, 900)
    form.show()
    outbox.table.cellDoubleClicked.emit(0, 0)
    assert form.record_id == rid
    assert REASON in form.review_text() and "退回" in form.review_text()
    assert "已退回" in form.header_label.text()
    qtbot.wait(50)  # let the layout take in the region-warning line the loaded ID number brought
    screens(form, "form_returned")

    form.phone_edit.clear()
    type_text(qtbot, form.phone_edit, "13912345678")
    with qtbot.waitSignal(form.queued, timeout=5000):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    rec = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert rec["state"] == "queued" and rec["base_version"] == 1 and rec["payload"]["phone"] == "13912345678"
    [item] = run_op(qtbot, owner, lambda s: [r["item"] for r in s.records_to_send(10)])
    assert item["record_id"] == rid and item["base_version"] == 1
    outbox.refresh()
    qtbot.waitUntil(lambda: outbox.records and outbox.records[0]["state"] == "queued", timeout=5000)
    assert "已按退回意见修改" in outbox.table.item(0, COL_REASON).text()


def test_roster_marks_the_returned_member(qtbot, owner, screens):
    """The roster shows 已退回 with the reason beside the member and highlights the row; a reason longer than
    its column wraps, and is whole on hover."""
    _rid, zhang = _enrolled_and_returned(qtbot, owner)
    view = RosterView(owner)
    qtbot.addWidget(view)
    view.resize(900, 480)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    item = next(view.tree.topLevelItem(i).child(j) for i in range(view.tree.topLevelItemCount())
                for j in range(view.tree.topLevelItem(i).childCount())
                if view.tree.topLevelItem(i).child(j).text(1) == zhang["id_number"])
    assert item.text(4) == f"已退回：{REASON}"
    assert item.background(0).color().name() == "#ffe8c2"
    screens(view, "roster_returned")
    # the reason is wider than its column: the cell wraps onto a second line, and is whole on hover
    tree = view.tree
    assert tree.fontMetrics().horizontalAdvance(item.text(4)) > tree.header().sectionSize(4)
    qtbot.waitUntil(lambda: tree.visualItemRect(item).height() >= 2 * tree.fontMetrics().height(), timeout=3000)
    assert item.toolTip(4) == item.text(4)


def test_form_subsidy_checkboxes_are_saved_in_the_payload(qtbot, owner, screens):
    """Ticking 申请补贴项目 boxes saves their codes, sorted, in the payload's subsidies; reopening the record ticks them again."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    liu = next(r for r in rows if r["name"] == "刘建国")
    form = EnrollmentForm(owner)
    qtbot.addWidget(form)
    form.resize(800, 1000)
    form.show()
    form.load_resident(liu)
    assert set(form.subsidy_checks) >= {"dibao", "farmland"}
    form.subsidy_checks["farmland"].click()
    form.subsidy_checks["dibao"].click()
    form.consent_check.click()
    if not form.region_box.isHidden():
        form.region_check.click()
    screens(form, "form_subsidies")
    with qtbot.waitSignal(form.queued, timeout=5000) as queued:
        form.save()
    rid = queued.args[0]["record_id"]
    rec = run_op(qtbot, owner, lambda s: s.get_record(rid))
    assert rec["state"] == "queued" and rec["payload"]["subsidies"] == ["dibao", "farmland"]
    form.load_record(rec)
    assert [c for c, box in form.subsidy_checks.items() if box.isChecked()] == ["dibao", "farmland"]


def test_app_shows_a_central_return_after_sync_and_sends_the_correction(qtbot, field_registry, tmp_path, screens):
    """The whole app on a real registry: after a central operator returns the cadre's record, the next 同步 shows
    已退回 with the reason in the outbox; the cadre corrects it in the form and the next 同步 sends version 2."""
    from desktop_helpers import PASSWORD

    from desktop.app import DesktopApp
    from sync.http import RegistryHttp

    done = field_registry.cli("add-operator", "--username", "central1", "--role", "central",
                              input="central-pass-1\n")
    assert done.returncode == 0, done.stderr
    app = DesktopApp(tmp_path / "laptop.sqlite3", field_registry.url, online_interval_ms=200)
    try:
        qtbot.addWidget(app.login_window)
        app.show()
        qtbot.waitUntil(lambda: app.owner.is_open, timeout=10_000)
        app.login_window.username_edit.setText("cadre1")
        app.login_window.password_edit.setText(PASSWORD)
        qtbot.mouseClick(app.login_window.login_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
        win = app.main_window
        qtbot.addWidget(win)
        win.resize(1366, 740)
        qtbot.waitUntil(lambda: not win.sync_panel.running and len(win.roster.shown_residents()) == 7,
                        timeout=30_000)
        liu = next({k: r[k] for k in roster_rows()[0]} | {"village_code": VILLAGE}
                   for r in win.roster.shown_residents() if r["name"] == "刘建国")
        rid = run_op(qtbot, app.owner, lambda s: s.enroll({
            **liu, "consent": True, "subsidies": ["farmland"],
            "confirmed_warnings": list(idn.parse(liu["id_number"]).warnings)}))

        def sync_now():
            with qtbot.waitSignal(win.sync_panel.finished, timeout=60_000):
                qtbot.mouseClick(win.sync_panel.sync_button, Qt.MouseButton.LeftButton)
            assert win.sync_panel.report.ok, win.sync_panel.report.to_dict()
            return win.sync_panel.report

        assert sync_now().accepted == 1
        with RegistryHttp(field_registry.url) as http:
            token = http.request("POST", protocol.LOGIN, json={"username": "central1", "password": "central-pass-1",
                                                               "device_id": "central-desk"})["token"]
        with RegistryHttp(field_registry.url, token) as central:
            path = protocol.REVIEW_DECISION.format(record_id=rid)
            central.request("POST", path, json={"action": "return", "version": 1, "reason": REASON})

        assert sync_now().returned == 1
        win.tabs.setCurrentWidget(win.outbox)
        qtbot.waitUntil(lambda: len(win.outbox.records) == 1
                        and (win.outbox.records[0].get("review") or {}).get("state") == "returned", timeout=10_000)
        assert win.outbox.table.item(0, COL_REVIEW).text() == "已退回"
        assert REASON in win.outbox.table.item(0, COL_REASON).text()
        screens(win, "app_outbox_returned")

        win.outbox.table.cellDoubleClicked.emit(0, 0)
        assert win.tabs.currentIndex() == 0 and win.form.record_id == rid
        assert REASON in win.form.review_text()
        win.form.address_edit.clear()
        type_text(qtbot, win.form.address_edit, "四川省遂宁市船山区大石村3组12号")
        with qtbot.waitSignal(win.form.queued, timeout=10_000):
            qtbot.mouseClick(win.form.save_button, Qt.MouseButton.LeftButton)

        assert sync_now().accepted == 1
        rec = run_op(qtbot, app.owner, lambda s: s.get_record(rid))
        assert rec["server_version"] == 2 and rec["review"]["state"] in ("received", "needs_review", "cleared")
        assert rec["payload"]["subsidies"] == ["farmland"]
        with RegistryHttp(field_registry.url, token) as central:
            detail = central.request("GET", protocol.REVIEW_RECORD.format(record_id=rid))
        assert detail["record"]["version"] == 2 and [v["version"] for v in detail["versions"]] == [1, 2]
        win.tabs.setCurrentWidget(win.outbox)
        qtbot.waitUntil(lambda: win.outbox.table.rowCount() == 1
                        and win.outbox.table.item(0, COL_REVIEW).text() != "已退回", timeout=10_000)
    finally:
        app.shutdown()
