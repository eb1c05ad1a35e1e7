"""Central staff watch and hear a video attempt's clip in 远程核验 (the offline video path, issue 11), against
a real registry process: a cadre uploads a clip as a blob and posts it for the request
(``POST /api/verifications/{request}/video``), the registry's real engine decides it, and 播放视频 fetches
the clip from the registry into a private temp file and plays it in the shared player.

Residents (regkit.resident(i), village A): KEPT sends the singer's genuine clip (it answers the challenge
``--verify-challenge-seed 1`` draws: turn left, then turn right; his reference photo is another frame of the
clip) and passes; PURGED sent another clip earlier whose evidence ``purge-evidence --older-than 0`` removed.
Screenshot: artifacts/screens/central_verification_video_clip.png. The clips are written in tmp dirs.
"""

from __future__ import annotations

import csv
import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from central_helpers import CADRE_PASSWORD, CENTRAL_PASSWORD
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from regkit import VILLAGE_A, Api, id_number, roster_cli_args

from desktop.central import CentralWindow
from desktop.central.verification_view import VerificationsView
from registry.launcher import RegistryProcess
from sync import protocol
from tests.capture import livenesskit as kit
from tests.conftest import yikatong

KEPT, PURGED = 31, 32


@dataclass
class World:
    registry: RegistryProcess
    requests: dict[int, str]   # resident → request id
    clip: bytes                # KEPT's clip as the cadre uploaded it
    digits: str                # KEPT's video challenge digits


def _upload(cadre: Api, data: bytes) -> str:
    """The clip as a blob, in the chunks a laptop sends; its SHA-256."""
    name = hashlib.sha256(data).hexdigest()
    for offset in range(0, len(data), protocol.BLOB_CHUNK):
        r = cadre.put_chunk(name, offset, len(data), data[offset:offset + protocol.BLOB_CHUNK])
        assert r.status_code == 200, r.text
    return name


def _send(cadre: Api, request_id: str, data: bytes) -> dict:
    r = cadre.post(protocol.VERIFICATION_VIDEO.format(request=request_id),
                   json={"clip_sha256": _upload(cadre, data), "digits_heard": True})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    folder = tmp_path_factory.mktemp("central-video-clip")
    registry = RegistryProcess(f"sqlite:///{folder / 'registry.sqlite3'}", folder / "registry",
                               extra_args=["--verify-challenge-seed", "1"]).start()
    try:
        for args, pw in ((["--username", "central1", "--role", "central", "--display-name", "周审核"], CENTRAL_PASSWORD),
                         (["--username", "cadre_a", "--role", "cadre", "--village", VILLAGE_A], CADRE_PASSWORD)):
            done = registry.cli("add-operator", *args, input=pw + "\n")
            assert done.returncode == 0, done.stderr
        done = registry.cli(*roster_cli_args(folder / "roster"))
        assert done.returncode == 0, done.stderr
        refs = folder / "refs"
        refs.mkdir()
        cv2.imwrite(str(refs / "him.jpg"), kit.phone_view(kit.clip_frames()[kit.REFERENCE_FRAME]))
        with (refs / "refs.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["id_number", "photo"], [id_number(KEPT), "him.jpg"]])
        done = registry.cli("import-dataset", "reference_photos", str(refs / "refs.csv"))
        assert done.returncode == 0, done.stdout + done.stderr

        cadre = Api(registry.url).login("cadre_a", CADRE_PASSWORD)
        requests, digits = {}, {}
        for i in (PURGED, KEPT):
            r = cadre.post(protocol.VERIFICATIONS, json={"id_number": id_number(i), "city": "东莞"})
            assert r.status_code == 200, r.text
            requests[i], digits[i] = r.json()["request"]["request"], r.json()["request"]["video_challenge"]["digits"]
        first, last = kit.VIDEO_FRAMES
        other = kit.write_video(folder / "other.mp4", [cv2.add(kit.phone_view(kit.clip_frames()[i]), (6, 6, 6))
                                                       for i in range(first, last + 1)]).read_bytes()
        assert _send(cadre, requests[PURGED], other)["result"] in ("retry", "failed")   # no reference on file
        out = yikatong("registry", "verification", "purge-evidence", "--older-than", "0", "--db", registry.db_url)
        assert out.returncode == 0 and "1 video clip(s) released" in out.stdout, out.stdout + out.stderr
        clip = kit.genuine_video(folder / "genuine.mp4").read_bytes()
        assert _send(cadre, requests[KEPT], clip)["result"] == "passed"
        cadre.close()
        yield World(registry, requests, clip, digits[KEPT])
    finally:
        registry.stop()


def _window(qtbot, world: World) -> CentralWindow:
    api = Api(world.registry.url).login("central1", CENTRAL_PASSWORD)
    win = CentralWindow(world.registry.url, api.token, {"username": "central1", "role": "central",
                                                        "display_name": "周审核"})
    api.close()
    qtbot.addWidget(win)
    win.resize(1366, 760)
    win.show()
    qtbot.waitUntil(lambda: win.net.pending() == 0, timeout=20_000)
    return win


def _open(qtbot, win: CentralWindow, request_id: str) -> VerificationsView:
    with qtbot.waitSignal(win.verifications.list_loaded, timeout=15_000):
        win.tabs.setCurrentWidget(win.verifications)
    view = win.verifications
    with qtbot.waitSignal(view.detail_loaded, timeout=15_000):
        view.open_request(request_id)
    return view


def _shot(widget, path: Path) -> None:
    QApplication.processEvents()
    assert widget.grab().save(str(path)), path


def test_staff_play_a_kept_video_attempts_clip_from_a_private_temp_file(qtbot, world, artifacts_dir):
    """A video attempt shows its digits and actions and the cadre's 听到数字 tick; 播放视频 fetches the very
    clip the cadre uploaded into a 0600 temp file and plays it; closing the player deletes the file."""
    win = _window(qtbot, world)
    detail = _open(qtbot, win, world.requests[KEPT]).detail
    assert detail.attempt["method"] == "video" and detail.attempt["clip_sha256"]
    assert detail.video_panel.isVisible() and detail.play_clip_button.isVisible()
    text = detail.video_label.text()
    assert " ".join(world.digits) in text and "向左转头" in text and "向右转头" in text
    assert "村干部勾选「听到数字」：是" in text
    qtbot.waitUntil(lambda: bool(detail.frames) and all(b.loaded for b in detail.frames), timeout=15_000)
    _shot(win, artifacts_dir / "screens" / "central_verification_video_clip.png")

    with qtbot.waitSignal(detail.clip_opened, timeout=20_000) as opened:
        qtbot.mouseClick(detail.play_clip_button, Qt.MouseButton.LeftButton)
    dialog = opened.args[0]
    path = dialog.path
    assert path.read_bytes() == world.clip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from PySide6.QtMultimedia import QMediaPlayer

    qtbot.waitUntil(lambda: dialog.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    and dialog.player.duration() > 0 and dialog.player.position() > 300, timeout=15_000)
    assert dialog.clip_player.play_button.text() == "暂停"
    _shot(dialog, artifacts_dir / "screens" / "central_verification_video_clip_player.png")
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and not path.exists()
    win.shutdown()


def test_a_purged_clip_says_so_and_offers_no_player(qtbot, world):
    """A video attempt whose evidence was purged shows 视频已按保留期限删除 and no 播放视频 button."""
    win = _window(qtbot, world)
    detail = _open(qtbot, win, world.requests[PURGED]).detail
    assert detail.attempt["method"] == "video" and detail.attempt["clip_sha256"] is None
    assert detail.video_panel.isVisible() and not detail.play_clip_button.isVisible()
    assert detail.clip_status.text() == "视频已按保留期限删除"
    win.shutdown()


def test_the_central_workspace_starts_without_loading_qtmultimedia():
    """Importing the central workspace (a fresh process) does not load QtMultimedia: the player loads on the
    first 播放视频; importing the player module does load it (so the check can see it)."""
    import subprocess
    import sys

    code = ("import sys, desktop.central, desktop.central.verification_view\n"
            "print(sorted(m for m in sys.modules if m.startswith('PySide6.QtMultimedia')))")
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    done = subprocess.run([sys.executable, "-c", code.replace("verification_view", "video_clip")],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert "PySide6.QtMultimedia" in done.stdout
