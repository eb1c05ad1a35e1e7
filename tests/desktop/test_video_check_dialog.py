"""视频核验 (the offline video path, issue 11 item 4) in the desktop dialog, on a real laptop store fed by a
pull: the clip is imported through the file dialog, played, and checked by the real liveness engine on the
dialog's own lane; the cadre's check is recorded through the store's lane. The clips are written in tmp
dirs from the hamilton clip and the shared photos (tests/capture/livenesskit.py), never committed.
Screenshots: artifacts/screens/video_check_*.png."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import cv2
import pytest
from desktop_helpers import (
    PASSWORD,
    VILLAGE,
    VILLAGE_NAME,
    login_cadre,
    roster_rows,
    run_op,
    write_roster_csv,
)
from PySide6.QtCore import QPoint, Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QFileDialog

from capture.faces import FaceTemplate
from desktop.roster import RosterView
from desktop.verification.video_dialog import VideoCheckDialog
from enrollment.records import FACE_TEMPLATE, FACE_TEMPLATE_MIME
from registry.launcher import RegistryProcess
from sync import protocol
from sync.http import RegistryHttp
from sync.verification_ops import create_verification
from tests.capture import livenesskit as kit

REQUEST = "00000000-0000-4000-8000-0000000000a1"
DIGITS = "4821"


@pytest.fixture(scope="module")
def genuine_clip(tmp_path_factory):
    """The singer's own movement (hold still, turn left, turn right) as a phone clip."""
    return kit.genuine_video(tmp_path_factory.mktemp("clips") / "hamilton.mp4")


@pytest.fixture(scope="module")
def photo_clip(tmp_path_factory):
    """A still photo of the same man (another frame of the clip) held to the camera for 5 s."""
    still = cv2.resize(kit.phone_view(kit.clip_frames()[kit.REFERENCE_FRAME]), kit.VIDEO_SIZE)
    path = tmp_path_factory.mktemp("clips") / "photo.mp4"
    return kit.write_video(path, [kit.jitter(still, seed=i) for i in range(40)])


def _setup(qtbot, owner, reference) -> dict:
    """A roster, the member's request pulled with its video challenge (the clip's own actions) and, when
    ``reference`` is given, a record of theirs on the laptop with that face template."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    member = rows[0]
    request = {"request": REQUEST, "id_number": member["id_number"], "village_code": VILLAGE, "record_id": None,
               "city": "深圳", "method": "live", "state": "sent", "created_by": "cadre1",
               "created_at": "2026-12-01T08:00:00.000+00:00", "expires_at": "2026-12-04T08:00:00.000+00:00",
               "updated_at": "2026-12-01T08:00:00.000+00:00", "attempts_max": 3, "attempts_used": 0,
               "attempts_left": 3, "result": None,
               "video_challenge": {"digits": DIGITS, "actions": [str(a) for a in kit.VIDEO_ACTIONS]}}

    def fill(store):
        store.set_meta("operator", {"username": "cadre1", "role": "cadre", "villages": [VILLAGE]})
        store.upsert_residents(rows, 1)
        store.apply_pull([{"counter": 5, "kind": protocol.KIND_VERIFICATION, "key": REQUEST, "data": request}], 5)
        if reference is not None:
            record_id = store.save_draft({**member, "village_code": VILLAGE})
            store.add_attachment(record_id, FACE_TEMPLATE, FaceTemplate(reference).to_bytes(), FACE_TEMPLATE_MIME)

    run_op(qtbot, owner, fill)
    return member


@pytest.fixture
def dialogs(qtbot, owner):
    """Open VideoCheckDialogs; each is closed at the end (done(): its lane's thread is joined before it goes)."""
    made: list[VideoCheckDialog] = []

    def make(member) -> VideoCheckDialog:
        dialog = VideoCheckDialog(owner, member)
        qtbot.addWidget(dialog)
        made.append(dialog)
        with qtbot.waitSignal(dialog.task_loaded, timeout=10_000):
            dialog.show()
        return dialog

    yield make
    for dialog in made:
        dialog.done(0)
        assert not dialog._lane.running()


def _open(dialogs, member, monkeypatch, clip) -> VideoCheckDialog:
    """The dialog for ``member``; 导入视频's file dialog will answer with ``clip``."""
    dialog = dialogs(member)
    assert dialog.import_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(clip), "")))
    return dialog


def _check(qtbot, dialog) -> dict:
    with qtbot.waitSignal(dialog.checked, timeout=120_000) as done:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.maximum() == 0 and not dialog.record_button.isEnabled()  # busy, off the UI thread
    return done.args[0].decision


def _shows_a_picture(dialog) -> bool:
    """The player's area shows an image (not the empty dark background): the clip's frames are drawn."""
    image = dialog.video.grab().toImage()
    greys = {image.pixelColor(x, y).lightness() for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    return max(greys) - min(greys) > 60


def _rows(dialog) -> dict[str, str]:
    tree = dialog.checks
    return {tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}


def test_the_genuine_clip_passes_is_played_and_is_recorded_for_the_next_sync(qtbot, owner, dialogs, monkeypatch,
                                                                              genuine_clip, screens):
    """The dialog shows the request's digits and actions, plays the imported clip, lists every check in Chinese
    as passed against a reference from another frame of the clip, and 记录视频核验 stores the check (digits
    heard) with a private copy of the clip, pending for the next sync; the roster then says so."""
    member = _setup(qtbot, owner, kit.clip_reference())
    dialog = _open(dialogs, member, monkeypatch, genuine_clip)
    assert "4 8 2 1" in dialog.challenge_label.text() and "向左转头，再向右转头" in dialog.challenge_label.text()
    assert dialog.heard_box.text() == "我听到了数字 4 8 2 1" and "本机该居民的登记照片" in dialog.reference_label.text()
    screens(dialog, "video_check_before")

    decision = _check(qtbot, dialog)
    assert decision["passed"], decision["reasons"]
    assert [p for p, _d, _t in dialog.progress_seen] == ["reading", "checking"]
    rows = _rows(dialog)
    assert len(rows) == len(decision["checks"]) and set(rows.values()) == {"通过"}
    assert {"动作1：向左转头", "动作2：向右转头", "真人检测（防照片、翻拍）", "与登记照片比对",
            "画面有变化（不是一张照片）"} <= set(rows)
    assert "本机检查通过" in dialog.result_label.text()

    qtbot.waitUntil(lambda: _shows_a_picture(dialog), timeout=10_000)   # the first frame, before 播放
    qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.player.position() > 300, timeout=15_000)
    assert dialog.player.mediaStatus() != QMediaPlayer.MediaStatus.InvalidMedia
    assert dialog.player.duration() > 8000 and dialog.play_button.text() == "暂停"
    qtbot.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=5000)

    qtbot.mouseClick(dialog.heard_box, Qt.MouseButton.LeftButton, pos=QPoint(8, dialog.heard_box.height() // 2))
    assert dialog.heard_box.isChecked()
    with qtbot.waitSignal(dialog.recorded, timeout=10_000) as recorded:
        qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    row = recorded.args[0]
    assert "下次联网同步时发送" in dialog.status_label.text()
    screens(dialog, "video_check_after_pass")

    stored = run_op(qtbot, owner, lambda s: (s.video_checks_to_send(), s.clip_folder))
    [pending], folder = stored
    assert pending["check_id"] == row["check_id"] and pending["request"] == REQUEST
    assert pending["digits_heard"] is True and pending["local_passed"] is True and pending["checked_by"] == "cadre1"
    clip_copy = folder / pending["clip_file"]
    assert clip_copy.read_bytes() == genuine_clip.read_bytes()
    assert stat.S_IMODE(clip_copy.stat().st_mode) == 0o600

    view = RosterView(owner)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    item = next(view.tree.topLevelItem(0).child(j) for j in range(view.tree.topLevelItem(0).childCount())
                if view.tree.topLevelItem(0).child(j).text(1) == member["id_number"])
    assert item.text(5) == "视频核验已记录，待同步发送"
    view.tree.itemClicked.emit(item, 0)
    assert view.video_button.isEnabled()


def test_the_same_clip_fails_on_the_match_against_another_persons_reference(qtbot, owner, dialogs, monkeypatch,
                                                                            genuine_clip, screens):
    """Against obama.jpg's descriptor the genuine clip fails only on 与登记照片比对 (与登记照片不符)."""
    member = _setup(qtbot, owner, kit.photo_reference("obama.jpg"))
    dialog = _open(dialogs, member, monkeypatch, genuine_clip)
    decision = _check(qtbot, dialog)
    assert decision["reasons"] == ["match.too_low"]
    failed = {name: result for name, result in _rows(dialog).items() if result != "通过"}
    assert failed == {"与登记照片比对": "未通过：与登记照片不符"}
    assert dialog.result_label.text() == "本机检查未通过：与登记照片不符"
    screens(dialog, "video_check_after_mismatch")


def test_a_still_photo_clip_fails_liveness(qtbot, owner, dialogs, monkeypatch, photo_clip, screens):
    """A clip of one photo of the right man held still fails as 疑似照片或视频 with the actions not done."""
    member = _setup(qtbot, owner, kit.clip_reference())
    dialog = _open(dialogs, member, monkeypatch, photo_clip)
    decision = _check(qtbot, dialog)
    assert not decision["passed"]
    assert {"liveness.presentation_attack", "liveness.action_missed"} <= set(decision["reasons"])
    assert "match.too_low" not in decision["reasons"]
    assert "疑似照片或视频" in dialog.result_label.text() and "提示的动作没有做到" in dialog.result_label.text()
    assert _rows(dialog)["动作1：向左转头"] == "未通过：提示的动作没有做到"
    screens(dialog, "video_check_after_still_photo")


def test_a_resident_without_a_request_for_a_video_cannot_import(qtbot, owner, dialogs):
    """Without a pulled request carrying a video challenge the dialog says why and offers no import."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    dialog = dialogs(rows[1])
    assert dialog.task is None and not dialog.import_button.isEnabled()
    assert "请先发起远程核验并同步" in dialog.challenge_label.text()


def test_a_file_that_is_no_video_is_refused_in_words(qtbot, owner, dialogs, monkeypatch, tmp_path):
    """A text file named .mp4 is refused with the engine's video.unreadable, worded for the cadre."""
    member = _setup(qtbot, owner, None)
    bogus = tmp_path / "clip.mp4"
    bogus.write_text("not a video\n", encoding="utf-8")
    dialog = _open(dialogs, member, monkeypatch, bogus)
    assert "本机没有该居民的登记照片" in dialog.reference_label.text()
    with qtbot.waitSignal(dialog.check_failed, timeout=30_000) as failed:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert failed.args[0].code == "video.unreadable"
    assert "无法读取这个视频文件" in dialog.result_label.text() and not dialog.record_button.isEnabled()


@pytest.fixture
def seeded_registry(registry_db_url, tmp_path):
    """``registry serve`` with the test-only challenge seed whose video challenge the singer's clip answers
    (turn left, then turn right; tests/registry/test_verify_video.py), the village's roster, cadre1, and the
    first member's reference photo: the singer from another frame of the clip."""
    reg = RegistryProcess(registry_db_url, tmp_path / "registry", extra_args=["--verify-challenge-seed", "1"])
    reg.start()
    try:
        write_roster_csv(tmp_path / "roster.csv")
        for args, stdin in ((("import-roster", str(tmp_path / "roster.csv"), "--village", VILLAGE,
                              "--village-name", VILLAGE_NAME), None),
                            (("add-operator", "--username", "cadre1", "--role", "cadre", "--village", VILLAGE),
                             PASSWORD + "\n")):
            done = reg.cli(*args, input=stdin)
            assert done.returncode == 0, done.stderr
        cv2.imwrite(str(tmp_path / "ref.jpg"), kit.phone_view(kit.clip_frames()[kit.REFERENCE_FRAME]))
        with (tmp_path / "refs.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["id_number", "photo"], [roster_rows()[0]["id_number"], "ref.jpg"]])
        done = reg.cli("import-dataset", "reference_photos", str(tmp_path / "refs.csv"))
        assert done.returncode == 0, done.stderr
        yield reg
    finally:
        reg.stop()


def test_app_video_check_from_the_roster_is_sent_at_once_and_the_roster_says_it_is_weaker(
        qtbot, seeded_registry, tmp_path, start_app, monkeypatch, genuine_clip, screens):
    """In the whole app, online: a member with a request opens 视频核验 from the roster, the clip is checked
    (no photo on this laptop: the match is left to the registry), 记录视频核验 starts a sync at once, the
    registry decides it passed, and the roster shows 视频核验通过（弱于现场活体核验）; closing the window stops
    the dialog's lane."""
    registry = seeded_registry
    zhang = roster_rows()[0]
    login = requests_login(registry.url)
    created = create_verification(RegistryHttp(registry.url, login), zhang["id_number"], "深圳")

    app = start_app(tmp_path / "laptop.sqlite3", registry.url)
    win = login_cadre(qtbot, app, wait_online=True)

    def item():
        tree = win.roster.tree
        return next(tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                    for j in range(tree.topLevelItem(i).childCount())
                    if tree.topLevelItem(i).child(j).text(1) == zhang["id_number"])

    win.roster.tree.itemClicked.emit(item(), 0)
    assert win.roster.video_button.isEnabled()
    qtbot.mouseClick(win.roster.video_button, Qt.MouseButton.LeftButton)
    dialog = win.video_dialog
    assert dialog is not None and dialog.resident["id_number"] == zhang["id_number"]
    qtbot.waitUntil(lambda: dialog.task is not None, timeout=10_000)
    assert dialog.task.digits == created.request["video_challenge"]["digits"]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(genuine_clip), "")))
    decision = _check(qtbot, dialog)
    assert decision["reasons"] == ["match.no_reference"]
    assert "比对由登记中心完成" in dialog.result_label.text()
    qtbot.mouseClick(dialog.heard_box, Qt.MouseButton.LeftButton, pos=QPoint(8, dialog.heard_box.height() // 2))
    with qtbot.waitSignal(win.sync_panel.finished, timeout=120_000) as synced:
        qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert "正在同步发送" in dialog.status_label.text()
    report = synced.args[0]
    assert report.ok and report.video_sent == 1, report
    assert "视频核验已发送 1 条" in win.sync_panel.summary_label.text()
    qtbot.waitUntil(lambda: item().text(5) == "视频核验通过（弱于现场活体核验）", timeout=10_000)
    screens(win, "main_roster_video_check_passed")
    win.roster.tree.itemClicked.emit(item(), 0)
    assert not win.roster.video_button.isEnabled()
    lane = dialog._lane
    assert lane.running()
    win.close()
    assert not lane.running() and win.video_dialog is None


def requests_login(url: str) -> str:
    """cadre1's bearer token from the registry's login (the create call's caller)."""
    with RegistryHttp(url) as http:
        return http.request("POST", protocol.LOGIN, json={"username": "cadre1", "password": PASSWORD,
                                                           "device_id": "test-device"})["token"]


def test_the_app_starts_without_loading_qtmultimedia():
    """Importing the app and its main window (a fresh process) loads neither QtMultimedia nor the liveness
    engine: they load when 视频核验 first opens, so the app's start does not pay for them."""
    import subprocess
    import sys

    code = ("import sys, desktop.app, desktop.main_window\n"
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6.QtMultimedia', 'capture.liveness'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    done = subprocess.run([sys.executable, "-c", code.replace("desktop.main_window", "desktop.verification.video_dialog")],
                          capture_output=True, text=True, timeout=120, cwd=str(Path(__file__).resolve().parents[2]))
    assert "PySide6.QtMultimedia" in done.stdout   # the check above can see it when it is loaded
