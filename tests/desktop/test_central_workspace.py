"""The central workspace against a real registry process: a central operator logs in online, works the
review queue, compares records side by side, decides, bulk-approves, and reads warnings and the dashboard."""

from __future__ import annotations

import json

import pytest
from central_helpers import CENTRAL_PASSWORD, setup_central
from PySide6.QtCore import QItemSelectionModel, Qt
from regkit import Api

from desktop.app import DesktopApp
from desktop.central import CentralWindow
from desktop.central.record_view import RecordView
from sync import protocol


@pytest.fixture
def central(registry, tmp_path):
    return setup_central(registry, tmp_path)


def _login(qtbot, app: DesktopApp, user: str, password: str) -> None:
    w = app.login_window
    w.username_edit.setText(user)
    w.password_edit.setText(password)
    qtbot.mouseClick(w.login_button, Qt.MouseButton.LeftButton)


def _workspace(qtbot, app: DesktopApp) -> CentralWindow:
    qtbot.waitUntil(lambda: app.central_window is not None, timeout=20_000)
    win = app.central_window
    qtbot.addWidget(win)
    win.resize(1366, 740)
    qtbot.waitUntil(lambda: win.queue.model.rowCount() == 5 and not win.busy.isVisible(), timeout=20_000)
    return win


def _rows(win: CentralWindow) -> dict[str, dict]:
    return {i["record_id"]: i for i in win.queue.model.items}


def _wait_queue(qtbot, win: CentralWindow, n: int) -> None:
    qtbot.waitUntil(lambda: win.net.pending() == 0 and win.queue.model.rowCount() == n, timeout=15_000)


def test_central_login_opens_the_workspace_and_the_queue_filters(qtbot, central, tmp_path, screens, start_app):
    """A central operator's online login opens the central workspace (not the field one); the queue shows
    every pending record with its state, findings and light, and each filter narrows it at the registry; the
    search takes pinyin like the field roster's and an empty result says 无结果."""
    app = start_app(tmp_path / "laptop.sqlite3", central.url, 500)
    _login(qtbot, app, "central1", CENTRAL_PASSWORD)
    win = _workspace(qtbot, app)
    assert app.main_window is None and not app.login_window.isVisible()
    assert "周审核" in win.operator_label.text()
    rows = _rows(win)
    ids = central.ids
    assert rows[ids["dup_a"]]["state"] == "needs_review" and rows[ids["dup_a"]]["finding_kinds"] == ["same_id"]
    assert rows[ids["dead"]]["finding_kinds"] == ["dataset_rule"] and rows[ids["dead"]]["severity"] == "intercept"
    assert rows[ids["clean1"]]["state"] == "cleared"
    model = win.queue.model
    row_dead = model.items.index(rows[ids["dead"]])
    assert model.data(model.index(row_dead, model.COLUMNS.index("state"))) == "待人工审核"
    assert model.data(model.index(row_dead, model.COLUMNS.index("finding_kinds"))) == "部门比对"
    assert model.data(model.index(row_dead, model.COLUMNS.index("severity"))) == "拦截"
    assert model.data(model.index(row_dead, 0)) == "正常"
    assert model.data(model.index(row_dead, 0), Qt.ItemDataRole.DecorationRole) is not None
    # the 村 column reads the village's name (from the dashboard's list), never its code
    qtbot.waitUntil(lambda: model.data(model.index(row_dead, model.COLUMNS.index("village_code"))) == "大石村",
                    timeout=15_000)
    assert win.queue.count_label.text() == "共 5 条"
    screens(win, "central_queue")

    q = win.queue
    q.kind_combo.setCurrentIndex(q.kind_combo.findData("same_id"))
    _wait_queue(qtbot, win, 2)
    assert set(_rows(win)) == {ids["dup_a"], ids["dup_b"]}
    q.village_combo.setCurrentIndex(q.village_combo.findData(central.payloads["dup_b"]["village_code"]))
    _wait_queue(qtbot, win, 1)
    assert set(_rows(win)) == {ids["dup_b"]}
    q.kind_combo.setCurrentIndex(0)
    q.village_combo.setCurrentIndex(0)
    q.state_combo.setCurrentIndex(q.state_combo.findData(["cleared"]))
    _wait_queue(qtbot, win, 2)
    assert set(_rows(win)) == {ids["clean1"], ids["clean2"]}
    q.state_combo.setCurrentIndex(0)
    _wait_queue(qtbot, win, 5)
    q.light_combo.setCurrentIndex(q.light_combo.findData("red"))
    _wait_queue(qtbot, win, 0)
    q.light_combo.setCurrentIndex(0)
    _wait_queue(qtbot, win, 5)
    # the resident's age band, from the birth date
    age = _rows(win)[ids["dead"]]["age"]
    band = next(i for i in range(1, q.age_combo.count())
                if q.age_combo.itemData(i)[0] <= age and (q.age_combo.itemData(i)[1] is None
                                                          or age <= q.age_combo.itemData(i)[1]))
    q.age_combo.setCurrentIndex(band)
    qtbot.waitUntil(lambda: win.net.pending() == 0 and ids["dead"] in _rows(win), timeout=15_000)
    lo, hi = q.age_combo.itemData(band)
    assert all(lo <= r["age"] and (hi is None or r["age"] <= hi) for r in win.queue.model.items)
    q.age_combo.setCurrentIndex(0)
    _wait_queue(qtbot, win, 5)
    q.search_edit.setText("李秀")
    _wait_queue(qtbot, win, 1)
    assert set(_rows(win)) == {ids["dead"]}
    assert not q.empty_label.isVisible()
    for pinyin in ("lixiuy", "lxy"):     # full pinyin and initials, as the field roster searches
        q.search_edit.setText("zzzq")
        _wait_queue(qtbot, win, 0)
        assert q.empty_label.isVisible() and q.empty_label.text().startswith("无结果")
        q.search_edit.setText(pinyin)
        _wait_queue(qtbot, win, 1)
        assert set(_rows(win)) == {ids["dead"]} and not q.empty_label.isVisible()
    screens(win, "central_queue_search")


def test_a_cadre_login_still_opens_the_field_workspace(qtbot, central, tmp_path, start_app):
    """A cadre's login is routed to the field workspace as before; the central one is not opened."""
    from central_helpers import CADRE_PASSWORD

    app = start_app(tmp_path / "laptop.sqlite3", central.url, 500)
    _login(qtbot, app, "cadre_a", CADRE_PASSWORD)
    qtbot.waitUntil(lambda: app.main_window is not None, timeout=20_000)
    qtbot.addWidget(app.main_window)
    assert app.central_window is None
    qtbot.waitUntil(lambda: not app.main_window.sync_panel.running, timeout=30_000)


def _window(qtbot, central, rows: int = 5, username: str = "central1") -> CentralWindow:
    from sync.http import RegistryHttp

    api = central.api(username)
    token = api.token
    api.close()
    with RegistryHttp(central.url, token) as http:
        me = http.request("GET", protocol.ME)["operator"]
    win = CentralWindow(central.url, token, me)
    qtbot.addWidget(win)
    win.resize(1366, 740)
    win.show()
    qtbot.waitUntil(lambda: win.queue.model.rowCount() == rows and win.net.pending() == 0, timeout=20_000)
    return win


def _open(qtbot, win: CentralWindow, record_id: str) -> RecordView:
    row = next(i for i, item in enumerate(win.queue.model.items) if item["record_id"] == record_id)
    index = win.queue.model.index(row, 4)
    win.queue.table.scrollTo(index)
    rect = win.queue.table.visualRect(index)
    # as a person does it: the first click selects the row, the second press is the double-click
    qtbot.mouseClick(win.queue.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(win.queue.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: record_id in win.records and bool(win.records[record_id].detail), timeout=15_000)
    view = win.records[record_id]
    assert win.tabs.currentWidget() is view
    return view


def test_side_by_side_shows_both_records_and_highlights_the_differences(qtbot, central, screens):
    """Opening a record with a same-ID finding shows it next to the other village's record: both card
    photos fetched from the registry, every field in two columns, the differing ones highlighted."""
    win = _window(qtbot, central)
    try:
        view = _open(qtbot, win, central.ids["dup_a"])
        qtbot.waitUntil(lambda: view.own_photo.loaded and view.other_photo.loaded and win.net.pending() == 0,
                        timeout=15_000)
        assert view.own_photo.picture.pixmap().toImage() != view.other_photo.picture.pixmap().toImage()
        assert "身份证号重复" in view.findings_list.item(0).text()
        table = view.compare_table
        cells = {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
                 for r in range(table.rowCount())}
        dup_a, dup_b = central.payloads["dup_a"], central.payloads["dup_b"]
        assert cells["身份证号码"] == (dup_a["id_number"], dup_b["id_number"])
        assert cells["住址"] == (dup_a["address"], "小河村3组")
        assert cells["村代码"] == (dup_a["village_code"], dup_b["village_code"])
        assert cells["登记人"] == ("cadre_a", "cadre_b")
        assert {"address", "village_code", "operator"} <= set(view.differing)
        assert "name" not in view.differing and "id_number" not in view.differing
        highlighted = {table.item(r, 0).text() for r in range(table.rowCount())
                       if table.item(r, 1).background().color().name() == "#ffe0b2"}
        assert {"住址", "村代码"} <= highlighted and "姓名" not in highlighted
        screens(win, "central_comparison")

        dead = _open(qtbot, win, central.ids["dead"])
        qtbot.waitUntil(lambda: win.net.pending() == 0, timeout=15_000)
        evidence = dead.evidence_view.toPlainText()
        assert "已故人员" in evidence and "民政局" in evidence and "死亡人员" in evidence
        assert "死亡日期：2025-03-02" in evidence and "规则：已故人员（死亡登记）停发一切待遇" in evidence
        assert "deceased" not in evidence   # the rule's id is for machines
        assert "匹配的数据行 1（导入文件第 2 行）" in evidence and "数据行编号" not in evidence
        assert "已故人员" in dead.metric_label.text()
        headers = dead.compare_table.horizontalHeaderItem(2).text()
        assert headers == "部门数据：死亡人员"
        screens(win, "central_comparison_rule")
    finally:
        win.close()


def test_reject_with_reason_and_password_reaches_the_registry(qtbot, central, registry, screens):
    """驳回 asks for a reason and the password again; a wrong password is refused in the dialog, the right
    one rejects the version shown, the registry has the state and reason, and the history lists it with
    its reason, which shows as deleted once an admin has redacted it."""
    win = _window(qtbot, central)
    try:
        rid = central.ids["dead"]
        view = _open(qtbot, win, rid)
        assert view.approve_button.isEnabled() and view.reject_button.isEnabled()
        qtbot.mouseClick(view.reject_button, Qt.MouseButton.LeftButton)
        dialog = view.dialog
        assert dialog is not None and dialog.isVisible()
        assert not dialog.ok_button.isEnabled()            # no reason yet
        dialog.reason_edit.setPlainText("死亡登记显示本人已于2025年3月去世")
        dialog.password_edit.setText("wrong-password")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.error_label.text() != "", timeout=15_000)
        assert dialog.error_label.text() == "用户名或密码错误"
        screens(dialog, "central_decision_dialog")
        api = central.api()
        body = api.get(protocol.REVIEW_RECORD.format(record_id=rid)).json()
        assert body["record"]["state"] == "needs_review"

        dialog.password_edit.setText(CENTRAL_PASSWORD)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.dialog is None and not dialog.isVisible(), timeout=15_000)
        qtbot.waitUntil(lambda: (view.detail.get("record") or {}).get("state") == "rejected"
                        and win.net.pending() == 0, timeout=15_000)
        body = api.get(protocol.REVIEW_RECORD.format(record_id=rid)).json()
        api.close()
        assert body["record"]["state"] == "rejected"
        assert body["record"]["review_reason"] == "死亡登记显示本人已于2025年3月去世"
        assert body["record"]["decided_by"] == "central1"
        assert "已驳回" in view.header.text() and "死亡登记显示" in view.status_label.text()
        assert not view.approve_button.isEnabled() and not view.reject_button.isEnabled()
        view.tabs.setCurrentIndex(1)
        actions = [view.history_table.item(r, 2).text() for r in range(view.history_table.rowCount())]
        assert "驳回" in actions and "查看完整记录" in actions
        notes = view.history_table.item(actions.index("驳回"), 3).text()
        assert "理由：死亡登记显示本人已于2025年3月去世" in notes   # fetched from the audit texts
        screens(win, "central_history")
        # Redacted under PIPL by an admin: the history says so instead of the reason.
        r = registry.cli("add-operator", "--username", "admin1", "--role", "admin", input=CENTRAL_PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        r = registry.cli("audit-texts", rid, "--json")
        digest = next(t["sha256"] for t in json.loads(r.stdout)["texts"] if t["action"] == "review.rejected")
        r = registry.cli("redact-text", digest, "--by", "admin1", input=CENTRAL_PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        view.load()
        qtbot.waitUntil(lambda: "理由：（已依法删除）" in view.history_table.item(actions.index("驳回"), 3).text()
                        and win.net.pending() == 0, timeout=15_000)
        # the queue no longer lists it by default
        qtbot.waitUntil(lambda: rid not in _rows(win) and win.net.pending() == 0, timeout=15_000)
    finally:
        win.close()


def test_bulk_approval_of_cleared_records(qtbot, central, screens):
    """Selecting rows and 批量批准 approves the cleared ones among them with one password; the others are
    not sent, and the registry has them approved."""
    win = _window(qtbot, central)
    try:
        q = win.queue
        q.table.selectAll()
        assert q.bulk_button.isEnabled() and q.bulk_button.text() == "批量批准（2）"
        qtbot.mouseClick(q.bulk_button, Qt.MouseButton.LeftButton)
        dialog = win.bulk_dialog
        assert dialog is not None and "2 条" in dialog.findChild(type(q.count_label), "decisionSummary").text()
        dialog.password_edit.setText(CENTRAL_PASSWORD)
        screens(dialog, "central_bulk_dialog")
        with qtbot.waitSignal(win.bulk_done, timeout=15_000) as done:
            qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert sorted(done.args[0]["approved"]) == sorted([central.ids["clean1"], central.ids["clean2"]])
        assert done.args[0]["skipped"] == []
        _wait_queue(qtbot, win, 3)
        assert "已批准 2 条" in win.statusBar().currentMessage()
        api = central.api()
        approved = api.get(protocol.REVIEW_QUEUE, params={"state": "approved"}).json()["items"]
        api.close()
        assert sorted(i["record_id"] for i in approved) == sorted([central.ids["clean1"], central.ids["clean2"]])
        # the card handed out: 已发卡 on the approved record, confirmed, reaches the registry
        view = win.open_record(central.ids["clean1"])
        qtbot.waitUntil(lambda: bool(view.detail) and win.net.pending() == 0, timeout=15_000)
        # central1 approved it: the button is there but closed to central1, and says why in Chinese
        assert view.issued_button.isVisible() and not view.issued_button.isEnabled()
        assert view.issued_button.toolTip() == "这条记录是您审核通过的，发卡须由另一位工作人员登记"
        assert "发卡须由另一位工作人员登记" in view.status_label.text()
        screens(win, "central_card_issue_blocked")
        # the registry refuses it too, should a click get through (an old detail, another client)
        api = central.api()
        r = api.post(protocol.REVIEW_CARD_ISSUED.format(record_id=central.ids["clean1"]), json={"version": 1})
        api.close()
        assert r.status_code == 403 and r.json()["error"]["code"] == "review.approver_issues_card"
        # another staff member's workspace has the button open; their click reaches the registry
        win2 = _window(qtbot, central, rows=3, username="central2")
        try:
            view2 = win2.open_record(central.ids["clean1"])
            qtbot.waitUntil(lambda: bool(view2.detail) and win2.net.pending() == 0, timeout=15_000)
            assert view2.issued_button.isVisible() and view2.issued_button.isEnabled()
            qtbot.mouseClick(view2.issued_button, Qt.MouseButton.LeftButton)
            box = view2.issued_box
            qtbot.mouseClick(box.button(box.StandardButton.Yes), Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: bool((view2.detail.get("record") or {}).get("card_issued_at"))
                            and win2.net.pending() == 0, timeout=15_000)
            assert not view2.issued_button.isEnabled()
        finally:
            win2.close()
        view.load()
        qtbot.waitUntil(lambda: bool((view.detail.get("record") or {}).get("card_issued_at"))
                        and win.net.pending() == 0, timeout=15_000)
        assert not view.issued_button.isEnabled() and "已发卡" in view.status_label.text()
        api = central.api()
        record = api.get(protocol.REVIEW_RECORD.format(record_id=central.ids["clean1"])).json()["record"]
        api.close()
        assert record["state"] == "approved" and record["card_issued_at"]
        win.tabs.setCurrentWidget(win.queue)
        # a needs-review row alone does not enable bulk approval
        q.table.clearSelection()
        q.table.selectionModel().select(q.model.index(0, 0), QItemSelectionModel.SelectionFlag.Select
                                        | QItemSelectionModel.SelectionFlag.Rows)
        assert not q.bulk_button.isEnabled()
    finally:
        win.close()


def test_warnings_report_and_dashboard(qtbot, central, tmp_path, screens):
    """The dashboard shows the registry's numbers with its charts; the warnings list shows red and yellow
    records at a later moment, and the escalation report is saved as CSV and PDF."""
    win = _window(qtbot, central)
    try:
        api = central.api()
        numbers = api.get(protocol.REVIEW_DASHBOARD).json()
        win.tabs.setCurrentWidget(win.dashboard)
        qtbot.waitUntil(lambda: win.net.pending() == 0 and bool(win.dashboard.data), timeout=15_000)
        tiles = win.dashboard.tiles
        assert tiles["residents"].value.text() == str(numbers["residents"]) == "10"
        assert tiles["enrolled"].value.text() == str(numbers["enrolled"])
        assert tiles["checks_run"].value.text() == str(numbers["checks_run"])
        assert [label for label, _ in win.dashboard.villages_chart.rows] == ["大石村", "小河村"]
        assert any("已故人员" in label for label, _ in win.dashboard.rules_chart.rows)
        # a rule's long name is cut on screen; hovering its row gives the whole name
        chart = win.dashboard.rules_chart
        i = next(k for k, (label, _) in enumerate(chart.rows) if "已故人员" in label)
        tip = chart.row_tip(chart._rows_top + (i + 0.5) * chart._row_h())
        assert tip.startswith(chart.rows[i][0] + "\n"), tip
        assert win.dashboard.departments_chart.rows
        screens(win, "central_dashboard")

        # now nothing is late: the list says so instead of showing an empty table
        win.tabs.setCurrentWidget(win.warnings)
        qtbot.waitUntil(lambda: win.net.pending() == 0 and win.warnings.empty_label.isVisible(), timeout=15_000)
        assert win.warnings.items == [] and win.warnings.empty_label.text().startswith("暂无预警")
        # four days later nothing has been decided: the unhandled records are yellow, later red
        win.warnings_at = "2030-01-01T00:00:00Z"
        win.refresh_warnings()
        qtbot.waitUntil(lambda: win.net.pending() == 0 and win.warnings.table.rowCount() > 0, timeout=15_000)
        lights = {i["light"] for i in win.warnings.items}
        assert lights == {"red"} and win.warnings.table.item(0, 0).text() == "红灯"
        assert not win.warnings.empty_label.isVisible()
        assert {win.warnings.table.item(r, 3).text() for r in range(win.warnings.table.rowCount())} <= {"大石村", "小河村"}
        screens(win, "central_warnings")
        # through the save dialog, as a person does it
        target = tmp_path / "chosen.csv"
        dialog = win.ask_export("csv")
        dialog.selectFile(str(target))
        with qtbot.waitSignal(win.report_saved, timeout=30_000):
            dialog.accept()
        assert target.read_bytes().startswith(b"\xef\xbb\xbf")
        for fmt in ("csv", "pdf"):
            target = tmp_path / f"督办报告.{fmt}"
            with qtbot.waitSignal(win.report_saved, timeout=30_000):
                win.export_report(fmt, str(target))
            data = target.read_bytes()
            assert data.startswith(b"%PDF") if fmt == "pdf" else central.payloads["dead"]["village_code"].encode() in data
        api.close()
    finally:
        win.close()


def test_a_decision_on_an_outdated_version_is_refused_and_the_new_version_shown(qtbot, central, screens):
    """When the cadre sends a new version while the reviewer looks at the old one, 批准 is refused by the
    registry (review.version_stale), the reviewer is told in Chinese, and the record view reloads."""
    from central_helpers import CADRE_PASSWORD
    from PySide6.QtWidgets import QMessageBox
    from regkit import item

    from enrollment.records import validate_enrollment

    win = _window(qtbot, central)
    try:
        rid = central.ids["dup_b"]
        view = _open(qtbot, win, rid)
        assert "第1版" in view.header.text()
        cadre = Api(central.url).login("cadre_b", CADRE_PASSWORD, device_id="laptop-b")
        edited = validate_enrollment({**central.payloads["dup_b"], "address": "小河村4组"})
        assert cadre.push_one(item(edited, base_version=1))["status"] == "accepted"
        cadre.close()

        qtbot.mouseClick(view.reject_button, Qt.MouseButton.LeftButton)
        dialog = view.dialog
        dialog.reason_edit.setPlainText("重复登记")
        dialog.password_edit.setText(CENTRAL_PASSWORD)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.findChild(QMessageBox, "errorBox") is not None, timeout=15_000)
        box = view.findChild(QMessageBox, "errorBox")
        assert box.text() == "该记录已有新版本，您看到的不是最新内容，已重新读取，请重新核对后再决定"
        assert view.dialog is None
        qtbot.waitUntil(lambda: "第2版" in view.header.text() and win.net.pending() == 0, timeout=15_000)
        screens(win, "central_version_stale")
        box.close()
        api = central.api()
        body = api.get(protocol.REVIEW_RECORD.format(record_id=rid)).json()
        api.close()
        assert body["record"]["version"] == 2 and body["record"]["state"] != "rejected"
        # the 历史 tab says what each version changed and which laptop sent it, not a hash and a UUID
        table = view.versions_table
        rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
        assert [r[4] for r in rows] == ["首次登记", "修改了 住址"], rows
        assert rows[1][3] == "电脑 laptop-b" and table.item(1, 3).toolTip() == "laptop-b"
        assert not any(len(cell) >= 32 for row in rows for cell in row), rows
    finally:
        win.close()


def test_central_staff_cannot_work_offline(qtbot, central, tmp_path, start_app):
    """A central operator who logged in online before gets, with the registry unreachable, a clear
    message instead of any workspace: review works on the registry itself."""
    store = tmp_path / "laptop.sqlite3"
    app = start_app(store, central.url, 500)
    _login(qtbot, app, "central1", CENTRAL_PASSWORD)
    win = _workspace(qtbot, app)
    win.close()
    app.shutdown()
    central.registry.stop()

    app2 = start_app(store, central.url, 500)
    _login(qtbot, app2, "central1", CENTRAL_PASSWORD)
    qtbot.waitUntil(lambda: app2.login_window.error_label.text() != "", timeout=20_000)
    assert app2.login_window.error_label.text() == "审核工作台需要联网：请确认能连接登记中心后再登录"
    assert app2.central_window is None and app2.main_window is None


def test_face_match_comparison_shows_both_faces_and_the_distance(qtbot, registry, tmp_path, screens):
    """One man's face enrolled under two ID numbers (two different photos, real templates): the queue's
    face filter finds both records, and the comparison shows both card photos with the face distance."""
    central = setup_central(registry, tmp_path, faces=True)
    win = _window(qtbot, central, rows=7)
    try:
        q = win.queue
        q.kind_combo.setCurrentIndex(q.kind_combo.findData("face_match"))
        _wait_queue(qtbot, win, 2)
        assert set(_rows(win)) == {central.ids["face_a"], central.ids["face_b"]}
        assert all(r["severity"] == "intercept" for r in win.queue.model.items)
        view = _open(qtbot, win, central.ids["face_a"])
        qtbot.waitUntil(lambda: view.own_photo.loaded and view.other_photo.loaded and win.net.pending() == 0,
                        timeout=15_000)
        face = next(f for f in view.findings if f["kind"] == "face_match")
        view.findings_list.setCurrentRow(view.findings.index(face))
        assert view.metric_label.text().startswith(f"人脸距离 {face['score']}")
        assert float(face["score"]) < 0.6
        assert central.payloads["face_b"]["id_number"] in view.evidence_view.toPlainText()
        cells = {view.compare_table.item(r, 0).text(): view.compare_table.item(r, 2).text()
                 for r in range(view.compare_table.rowCount())}
        assert cells["姓名"] == "孙志远"
        assert {"name", "id_number"} <= set(view.differing)
        screens(win, "central_comparison_face")
    finally:
        win.close()


def test_version_changes_read_as_what_changed():
    """A version's change list reads as a reviewer says it: a new card photo is 照片已更换 (its template and
    face data not listed again), other documents and fields by name."""
    from desktop.central.labels import version_changes

    assert version_changes({"version": 1, "changed": []}) == "首次登记"
    photo = {"version": 2, "changed": ["duplicate_review", "face", "attachment:card_photo",
                                      "attachment:face_template"]}
    assert version_changes(photo) == "照片已更换"
    assert version_changes({"version": 3, "changed": ["name", "attachment:id_front"]}) == \
        "身份证正面已更换；修改了 姓名"
    assert version_changes({"version": 4, "deleted": True, "changed": []}) == "删除"
