"""The central workspace's 远程核验 (issue 11) against a real registry process with a real decided attempt:
the worker's frames (the hamilton clip as the page sends them, answering the challenge that
``--verify-challenge-seed 1`` draws: hold still, turn left, turn right) go through the public routes and the
real liveness engine decides against the resident's reference photo (obama's, imported as the
``reference_photos`` dataset), so the attempt fails on the match alone and, being the only one allowed
(``--verify-attempts 1``), puts a verification_failed finding on the resident's record.

Residents (regkit.resident(i), village A, enrolled by cadre_a): FAILED (the failed attempt), SENT (a link
never opened), PASSED (the same movements, other camera noise, against another frame of the clip: passes),
EXPIRED (a link made by the CLI with a TTL under a second: expired unused, a verification_manual finding).
Screenshots: artifacts/screens/central_verification_*.png.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from central_helpers import CADRE_PASSWORD, CENTRAL_PASSWORD, card_jpeg, run_real_checks, upload
from PySide6.QtCore import Qt
from regkit import VILLAGE_A, Api, id_number, item, payload, roster_cli_args

from desktop.central import CentralWindow
from desktop.central.verification_view import VerificationsView
from registry.launcher import RegistryProcess
from registry.verification import challenge
from sync import protocol
from tests.capture.livenesskit import GENUINE_SEGMENTS, clip_frames, phone_view
from tests.conftest import yikatong
from tests.facekit import FACES

SEED = 1                   # draws hold still, turn left, turn right (asserted below)
FAILED, SENT, PASSED, EXPIRED = 21, 22, 24, 25
REFERENCE_FRAME = 100      # PASSED's photo on file: another frame of the clip (livenesskit.REFERENCE_FRAME)


@dataclass
class World:
    registry: RegistryProcess
    records: dict[int, str]       # resident → record id
    requests: dict[int, str]      # resident → request id
    failed_attempt: dict[str, Any]

    def api(self, username: str = "central1", password: str = CENTRAL_PASSWORD) -> Api:
        return Api(self.registry.url).login(username, password)


def _worker_frames(seed: int = 7) -> list[tuple[int, bytes]]:
    """(step, JPEG) as the page would send them: the clip's portrait window, ≤ 320 px wide, quality 50,
    a little sensor noise; every 3rd clip frame (every 5th in the last step: the attempt's 150 KB)."""
    rng = np.random.default_rng(seed)
    out = []
    for step, (_action, first, last) in enumerate(GENUINE_SEGMENTS):
        for i in range(first, last + 1, 3 if step < 2 else 5):
            noisy = phone_view(clip_frames()[i]).astype(np.float32) + rng.normal(0, 1.5, (360, 300, 3))
            ok, buf = cv2.imencode(".jpg", np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 50])
            assert ok
            out.append((step, buf.tobytes()))
    assert sum(len(b) for _, b in out) <= challenge.ATTEMPT_MAX_BYTES
    return out


def _references(folder: Path) -> Path:
    """The reference_photos dataset: obama's photo on file for FAILED (the clip shows someone else), another
    frame of the clip for PASSED."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FACES / "obama.jpg", folder / "obama.jpg")
    cv2.imwrite(str(folder / "him.jpg"), phone_view(clip_frames()[REFERENCE_FRAME]))
    path = folder / "reference_photos.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id_number", "photo"])
        w.writerow([id_number(FAILED), "obama.jpg"])
        w.writerow([id_number(PASSED), "him.jpg"])
    return path


def _attempt(url: str, token: str, resident: int, seed: int) -> dict[str, Any]:
    """The worker's walk through the public routes: ID digits, consent, an attempt, its frames, finish."""
    with httpx.Client(base_url=url, timeout=120) as http:
        unlocked = http.post(protocol.VERIFY_UNLOCK, json={"token": token, "id_tail": id_number(resident)[-6:]})
        assert unlocked.status_code == 200, unlocked.text
        session = unlocked.json()["session"]
        r = http.post(protocol.VERIFY_CONSENT, json={"session": session, "agreed": True,
                                                    "version": unlocked.json()["consent"]["version"]})
        assert r.status_code == 200, r.text
        attempt = http.post(protocol.VERIFY_ATTEMPTS, json={"session": session}).json()
        assert [s["action"] for s in attempt["steps"]] == ["hold_still", "turn_left", "turn_right"], attempt
        for seq, (step, data) in enumerate(_worker_frames(seed)):
            r = http.put(protocol.VERIFY_FRAME.format(attempt=attempt["attempt"], seq=seq), params={"step": step},
                         content=data, headers={protocol.VERIFY_NONCE_HEADER: attempt["nonce"],
                                                "Content-Type": "image/jpeg"})
            assert r.status_code == 200, r.text
        finish = http.post(protocol.VERIFY_FINISH.format(attempt=attempt["attempt"]), json={"session": session})
        assert finish.status_code == 200, finish.text
        return {"attempt": attempt["attempt"], **finish.json()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    folder = tmp_path_factory.mktemp("central-verification")
    registry = RegistryProcess(f"sqlite:///{folder / 'registry.sqlite3'}", folder / "registry", extra_args=[
        "--verify-challenge-seed", str(SEED), "--verify-attempts", "1"]).start()
    try:
        for args, pw in ((["--username", "central1", "--role", "central", "--display-name", "周审核"], CENTRAL_PASSWORD),
                         (["--username", "cadre_a", "--role", "cadre", "--village", VILLAGE_A], CADRE_PASSWORD)):
            done = registry.cli("add-operator", *args, input=pw + "\n")
            assert done.returncode == 0, done.stderr
        done = registry.cli(*roster_cli_args(folder / "roster"))
        assert done.returncode == 0, done.stderr
        done = registry.cli("import-dataset", "reference_photos", str(_references(folder / "refs")))
        assert done.returncode == 0, done.stdout + done.stderr
        cadre = Api(registry.url).login("cadre_a", CADRE_PASSWORD)
        records = {}
        for i in (FAILED, SENT, PASSED, EXPIRED):
            p = payload(i, VILLAGE_A, attachments=[upload(cadre, card_jpeg("obama.jpg"))])
            assert cadre.push_one(item(p))["status"] == "accepted"
            records[i] = p["record_id"]
        run_real_checks(registry, list(records.values()))
        central = Api(registry.url).login("central1", CENTRAL_PASSWORD)
        deadline = time.monotonic() + 30
        while {i["state"] for i in central.get(protocol.REVIEW_QUEUE).json()["items"]} & {"received", "checked"}:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        requests, tokens = {}, {}
        for i in (FAILED, SENT, PASSED):
            r = cadre.post(protocol.VERIFICATIONS, json={"id_number": id_number(i), "city": "东莞"})
            assert r.status_code == 200, r.text
            requests[i], tokens[i] = r.json()["request"]["request"], r.json()["token"]
        failed = _attempt(registry.url, tokens[FAILED], FAILED, seed=7)
        assert failed["result"] == "failed" and failed["reasons"] == ["match.too_low"], failed
        passed = _attempt(registry.url, tokens[PASSED], PASSED, seed=8)
        assert passed["result"] == "passed", passed
        out = yikatong("registry", "verification", "create", id_number(EXPIRED), "--as", "cadre_a", "--json",
                       "--verify-ttl-hours", "0.0002", "--db", registry.db_url, input=CADRE_PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
        made = json.loads(out.stdout)
        requests[EXPIRED] = made["request"]["request"]
        expires = dt.datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
        while dt.datetime.now(dt.UTC) <= expires + dt.timedelta(seconds=1):   # the registry's own clock decides
            time.sleep(0.2)
        listed = {v["request"]: v for v in central.get(protocol.VERIFICATIONS).json()["verifications"]}
        assert listed[requests[EXPIRED]]["state"] == "manual", listed[requests[EXPIRED]]
        cadre.close()
        central.close()
        yield World(registry, records, requests, failed)
    finally:
        registry.stop()


def _window(qtbot, world: World) -> CentralWindow:
    api = world.api()
    win = CentralWindow(world.registry.url, api.token, {"username": "central1", "role": "central",
                                                        "display_name": "周审核"})
    api.close()
    qtbot.addWidget(win)
    win.resize(1366, 760)
    win.show()
    qtbot.waitUntil(lambda: win.queue.model.rowCount() > 0 and win.net.pending() == 0, timeout=20_000)
    return win


def _show_verifications(qtbot, win: CentralWindow) -> VerificationsView:
    with qtbot.waitSignal(win.verifications.list_loaded, timeout=15_000):
        win.tabs.setCurrentWidget(win.verifications)
    return win.verifications


def _row_of(view: VerificationsView, request_id: str) -> int:
    return next(r for r, i in enumerate(view.model.items) if i["request"] == request_id)


def _cell(view: VerificationsView, row: int, column: str) -> str:
    return view.model.data(view.model.index(row, view.model.COLUMNS.index(column)))


def _shot(widget, name: str, artifacts_dir: Path) -> Path:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()   # the layout requests the last texts posted (a grab does not run them)
    path = artifacts_dir / "screens" / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path


def test_the_list_shows_the_failed_request_and_its_decision_with_the_evidence_frames(qtbot, world, artifacts_dir):
    """The 远程核验 tab lists both requests with the masked ID, village, city, state, method and attempts; the
    failed one, selected, shows its reasons and every check in Chinese with value and threshold, the match
    distance and the passive score with their thresholds, and its evidence frames as images from the registry."""
    win = _window(qtbot, world)
    view = _show_verifications(qtbot, win)
    assert {i["request"] for i in view.model.items} == set(world.requests.values())
    row = _row_of(view, world.requests[FAILED])
    number = id_number(FAILED)
    assert _cell(view, row, "resident") == number[:4] + "*" * 10 + number[-4:]
    assert _cell(view, row, "village") == VILLAGE_A and _cell(view, row, "city") == "东莞"
    assert _cell(view, row, "state") == "需上门或人工核验（核验未通过）"
    assert _cell(view, row, "method") == "远程刷脸核验" and _cell(view, row, "attempts") == "1/1"
    assert _cell(view, _row_of(view, world.requests[SENT]), "state") == "已发送链接"
    assert _cell(view, _row_of(view, world.requests[PASSED]), "state") == "核验通过"
    assert _cell(view, _row_of(view, world.requests[EXPIRED]), "state") == "需上门或人工核验（链接已过期）"
    updated = _cell(view, row, "updated")
    assert len(updated) == 16 and updated[10] == " "

    with qtbot.waitSignal(view.detail.frames_loaded, timeout=20_000) as loaded:
        view.table.selectRow(row)
    detail = view.detail
    attempt = detail.attempt
    assert attempt["attempt"] == world.failed_attempt["attempt"]
    kept = attempt["evidence_kept"]
    assert loaded.args == [len(kept)] and 1 <= len(kept) <= 4 and kept == sorted(attempt["decision"]["evidence"])
    assert all(box.loaded and not box.pixmap().isNull() for box in detail.frames)
    assert detail.reasons_label.text() == "与登记照片不符"
    assert detail.state_label.text() == "需上门或人工核验（核验未通过）"
    distance = attempt["decision"]["match_distance"]
    assert float(distance) > 0.6
    assert detail.match_label.text() == f"距离 {distance}（标准 ≤ 0.6）　比对照片：户籍照片"
    assert detail.passive_label.text().startswith(attempt["decision"]["passive_score"] + "（标准 ≥ 0.5")
    table = detail.checks_table
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 4)] for r in range(table.rowCount())}
    [match] = [c for c in attempt["decision"]["checks"] if c["name"] == "match"]
    assert rows["与登记照片比对"] == [match["value"], "≤ 0.6", "未通过：与登记照片不符"]
    assert rows["动作1：向左转头"][2] == rows["动作2：向右转头"][2] == "通过"
    assert rows["画面数量"] == [str(len(_worker_frames())), "≥ 12", "通过"]
    assert len(rows) == len(attempt["decision"]["checks"]) and "真人检测（防照片、翻拍）" in rows
    _shot(win, "central_verification_failed", artifacts_dir)
    win.shutdown()


def test_the_filters_narrow_the_list(qtbot, world):
    """核验未通过 keeps only the failed request and 链接已过期 only the expired one (both asked of the registry
    as manual, kept by their outcome), 需上门或人工核验 both, 核验通过 the passed one, 已发送链接 the unopened
    link; the village and method filters narrow it here."""
    win = _window(qtbot, world)
    view = _show_verifications(qtbot, win)

    def shown() -> set[str]:
        return {i["request"] for i in view.model.items}

    def choose_state(text: str) -> None:
        with qtbot.waitSignal(view.list_loaded, timeout=15_000):
            view.state_combo.setCurrentIndex(view.state_combo.findText(text))

    choose_state("核验未通过")
    assert shown() == {world.requests[FAILED]} and view.count_label.text() == "共 1 条"
    choose_state("链接已过期")
    assert shown() == {world.requests[EXPIRED]}
    choose_state("需上门或人工核验")
    assert shown() == {world.requests[FAILED], world.requests[EXPIRED]}
    choose_state("核验通过")
    assert shown() == {world.requests[PASSED]}
    choose_state("已发送链接")
    assert shown() == {world.requests[SENT]}
    choose_state("全部状态")
    assert shown() == set(world.requests.values())
    view.method_combo.setCurrentIndex(view.method_combo.findData("video"))
    assert shown() == set() and view.method_combo.currentText() == "视频核验（弱于现场活体核验）"
    view.method_combo.setCurrentIndex(view.method_combo.findData("live"))
    assert shown() == set(world.requests.values())
    qtbot.waitUntil(lambda: view.village_combo.findData(VILLAGE_A) > 0, timeout=15_000)  # from the dashboard
    view.village_combo.setCurrentIndex(view.village_combo.findData(VILLAGE_A))
    assert shown() == set(world.requests.values())
    view.set_villages([{"village_code": "510903102299", "village_name": "别的村"}])
    view.village_combo.setCurrentIndex(view.village_combo.findData("510903102299"))
    assert shown() == set()
    win.shutdown()


def test_the_queue_record_with_a_failed_verification_opens_its_decision_and_evidence(qtbot, world, artifacts_dir):
    """The failed verification is a finding in the central queue; the record shows it with the reasons, the
    card photo beside a frame the phone sent, and its button opens the 远程核验 tab on that request."""
    win = _window(qtbot, world)
    q = win.queue
    q.kind_combo.setCurrentIndex(q.kind_combo.findData("verification_failed"))
    qtbot.waitUntil(lambda: win.net.pending() == 0 and [i["record_id"] for i in q.model.items]
                    == [world.records[FAILED]], timeout=15_000)
    [row] = q.model.items
    assert row["state"] == "needs_review" and "verification_failed" in row["finding_kinds"]
    assert q.model.data(q.model.index(0, q.model.COLUMNS.index("finding_kinds"))) == "远程核验未通过"
    view = win.open_record(world.records[FAILED])
    qtbot.waitUntil(lambda: bool(view.findings) and view.other_photo.loaded and view.own_photo.loaded,
                    timeout=20_000)
    [index] = [i for i, f in enumerate(view.findings) if f["kind"] == "verification_failed"]
    view.findings_list.setCurrentRow(index)
    assert view.findings_list.item(index).text() == "【提示】远程核验未通过：与登记照片不符"
    text = view.evidence_view.toPlainText()
    assert "原因：与登记照片不符" in text and "与户籍照片的人脸距离" in text
    assert "未通过：与登记照片比对" in text
    assert view.metric_label.text() == "远程刷脸核验未通过：与登记照片不符"
    assert view.other_photo.caption.text() == "远程核验时手机拍到的画面" and view.other_photo.loaded
    assert view.verification_button.isVisible()
    _shot(win, "central_verification_record", artifacts_dir)

    with qtbot.waitSignal(win.verifications.detail_loaded, timeout=15_000) as opened:
        qtbot.mouseClick(view.verification_button, Qt.MouseButton.LeftButton)
    assert opened.args == [world.requests[FAILED]] and win.tabs.currentWidget() is win.verifications
    qtbot.waitUntil(lambda: all(b.loaded for b in win.verifications.detail.frames), timeout=20_000)
    assert win.verifications.detail.reasons_label.text() == "与登记照片不符"
    qtbot.waitUntil(lambda: win.verifications.table.selectionModel().selectedRows() != [], timeout=15_000)
    [selected] = win.verifications.table.selectionModel().selectedRows()
    assert win.verifications.model.items[selected.row()]["request"] == world.requests[FAILED]
    win.shutdown()


def test_the_queue_record_whose_link_expired_opens_its_verification(qtbot, world):
    """The expired link is a verification_manual finding: the record says the link ran out unused, shows no
    phone frame, and its button opens the request, which says it expired before any attempt."""
    win = _window(qtbot, world)
    q = win.queue
    q.kind_combo.setCurrentIndex(q.kind_combo.findData("verification_manual"))
    qtbot.waitUntil(lambda: win.net.pending() == 0 and [i["record_id"] for i in q.model.items]
                    == [world.records[EXPIRED]], timeout=15_000)
    view = win.open_record(world.records[EXPIRED])
    qtbot.waitUntil(lambda: bool(view.findings) and view.own_photo.loaded, timeout=20_000)
    [index] = [i for i, f in enumerate(view.findings) if f["kind"] == "verification_manual"]
    view.findings_list.setCurrentRow(index)
    assert "核验链接已过期" in view.evidence_view.toPlainText() and "已用 0 次，共 3 次" in view.evidence_view.toPlainText()
    assert view.metric_label.text() == "远程核验链接已过期，需上门或人工核实"
    assert view.other_photo.picture.text() == "没有核验画面（链接过期前没有完成核验）"
    with qtbot.waitSignal(win.verifications.detail_loaded, timeout=15_000):
        qtbot.mouseClick(view.verification_button, Qt.MouseButton.LeftButton)
    detail = win.verifications.detail
    assert detail.state_label.text() == "需上门或人工核验（链接已过期）"
    assert "链接过期前没有完成核验" in detail.facts.text() and detail.attempt_combo.currentText() == "还没有核验"
    assert detail.frames == []
    win.shutdown()


def test_central_staff_create_a_request_for_an_id_number(qtbot, world, artifacts_dir):
    """发起远程核验 refuses a mistyped ID number in Chinese, then for a resident's number opens the laptop's
    request dialog, which gets the link, SMS text and QR code from the registry as central1; the new request
    is listed and shown."""
    win = _window(qtbot, world)
    view = _show_verifications(qtbot, win)
    qtbot.mouseClick(view.create_button, Qt.MouseButton.LeftButton)
    ask = win.verification_id_dialog
    assert ask is not None and ask.isVisible()
    ask.id_edit.setText(id_number(23)[:-1] + ("0" if id_number(23)[-1] != "0" else "1"))
    qtbot.mouseClick(ask.ok_button, Qt.MouseButton.LeftButton)
    assert ask.isVisible() and "校验" in ask.error_label.text()
    ask.id_edit.setText(id_number(23).lower())
    qtbot.mouseClick(ask.ok_button, Qt.MouseButton.LeftButton)
    assert not ask.isVisible()
    dialog = win.verification_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.city_edit.setText("苏州")
    with qtbot.waitSignal(win.verification_created, timeout=20_000) as made:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    created = made.args[0]
    assert created.request["created_by"] == "central1" and created.request["id_number"] == id_number(23)
    assert created.request["city"] == "苏州" and created.link.endswith(created.token)
    assert dialog.link_edit.text() == created.link and dialog.result_box.isVisible()
    _shot(dialog, "central_verification_create", artifacts_dir)
    dialog.accept()
    qtbot.waitUntil(lambda: any(i["request"] == created.request["request"] for i in view.model.items)
                    and view.detail.request_id == created.request["request"], timeout=15_000)
    assert view.detail.state_label.text() == "已发送链接"
    assert view.detail.attempt_combo.currentText() == "还没有核验"
    listed = world.api().get(protocol.VERIFICATIONS).json()["verifications"]
    assert [v["created_by"] for v in listed if v["request"] == created.request["request"]] == ["central1"]
    win.shutdown()


def test_a_video_check_never_reads_like_a_live_pass(qtbot, world, artifacts_dir):
    """A passed request recorded by the offline video path (method video) reads 视频核验通过（弱于现场活体核验）
    in the list and the detail, boxed in its own colour, where the same request done live reads 核验通过 in green."""
    win = _window(qtbot, world)
    view = _show_verifications(qtbot, win)
    with qtbot.waitSignal(view.detail_loaded, timeout=15_000):
        view.table.selectRow(_row_of(view, world.requests[PASSED]))
    qtbot.waitUntil(lambda: bool(view.detail.frames) and all(b.loaded for b in view.detail.frames), timeout=15_000)
    assert view.detail.state_label.text() == "核验通过" and "#1a7f37" in view.detail.state_label.styleSheet()
    assert view.detail.method_label.text() == "远程刷脸核验" and "border" not in view.detail.method_label.styleSheet()
    assert view.detail.reasons_label.text() == "无（核验通过）"
    # TEST-ONLY: the video route is another part of issue 11 (not in this branch); the passed request's own
    # answer from the registry, with the method a video check records.
    video = dict(view.detail.detail)
    video["request"] = {**video["request"], "method": "video"}
    view.all_items = [video["request"] if i["request"] == world.requests[PASSED] else i for i in view.all_items]
    view._apply_filters()
    row = _row_of(view, world.requests[PASSED])
    assert _cell(view, row, "state") == "视频核验通过（弱于现场活体核验）"
    assert _cell(view, row, "method") == "视频核验（弱于现场活体核验）"
    view.detail.show_detail(video)
    assert view.detail.state_label.text() == "视频核验通过（弱于现场活体核验）"
    assert view.detail.method_label.text() == "视频核验（弱于现场活体核验）"
    assert "#b45309" in view.detail.state_label.styleSheet() and "#1a7f37" not in view.detail.state_label.styleSheet()
    assert "border" in view.detail.method_label.styleSheet()
    qtbot.waitUntil(lambda: all(b.loaded for b in view.detail.frames), timeout=15_000)
    _shot(win, "central_verification_video", artifacts_dir)
    win.shutdown()
