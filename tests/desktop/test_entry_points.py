"""The real entry points, started the way a person starts them: a fresh process, nothing preloaded.

Every test here runs its app in a child process, so a segmentation fault fails the test with the
exit code instead of killing pytest. The in-process desktop tests load the face engine on the main
thread before any dialog opens (tests/facekit.py); these are their twins without that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from facekit import CLIP, studio_photo, write_studio_photo

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
SIGNALS = {-11: "SIGSEGV", -6: "SIGABRT", -9: "SIGKILL"}


def child_env(**extra: str) -> dict[str, str]:
    """A person's environment: nothing of the test process's own preparation."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "YIKATONG_"))}
    env.update({"QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1", **extra})
    return env


def run_child(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode < 0:
        pytest.fail(f"the app died of {SIGNALS.get(done.returncode, done.returncode)} "
                    f"(exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    return done


def studio_video(path: Path) -> Path:
    """A video file of a person in front of a white sheet, first in a dim room (two seconds of the
    too-dark guidance), then with the light on: the camera for the automatic capture."""
    import numpy as np

    image = studio_photo("obama.jpg")
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2     # even sides for the codec
    image = np.ascontiguousarray(image[:h, :w])
    dim = (image * 0.3).astype(np.uint8)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15, (w, h))
    for frame in [dim] * 30 + [image] * 60:
        out.write(frame)
    out.release()
    assert path.stat().st_size > 10_000, "the test video was not written"
    return path


def lines(out: str, prefix: str) -> list[str]:
    return [ln[len(prefix):].strip() for ln in out.splitlines() if ln.startswith(prefix)]


def test_a_fresh_capture_dialog_on_the_video_camera_analyses_frames_without_crashing(tmp_path):
    """The issue's reproduction: a fresh process makes a QApplication, opens CaptureDialog() with nothing
    else loaded, and the analyser's first frames give face guidance (before the fix: SIGSEGV, exit 139)."""
    done = run_child([str(HERE / "cold_capture_child.py")],
                     child_env(YIKATONG_CAMERA=str(CLIP)), timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert lines(done.stdout, "PRELOADED") == ["none"]
    guidance = lines(done.stdout, "GUIDANCE")
    assert guidance and guidance[0].split()[0] != "none", done.stdout


@pytest.mark.parametrize("mode", ["camera", "file"])
def test_yikatong_app_takes_a_photo_saves_and_syncs(mode, field_registry, tmp_path, artifacts_dir):
    """``yikatong app`` in a fresh process logs in, opens 拍照 (the video-file camera capturing on its own,
    or no camera and 从文件导入), uses the photo, saves and syncs: the registry holds the record and its photo."""
    shots = artifacts_dir / "screens"
    if mode == "camera":
        env = child_env(YIKATONG_CAMERA=str(studio_video(tmp_path / "studio.mp4")))
        photo = ""
    else:
        env = child_env(YIKATONG_CAMERA="9")   # no camera at that index: the app must offer the file
        photo = str(write_studio_photo("obama.jpg", tmp_path / "photo.jpg"))
    done = run_child([str(HERE / "entry_driver.py"), mode, str(tmp_path / "laptop.sqlite3"), field_registry.url,
                      str(shots), photo], env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(lines(done.stdout, "RESULT")[0])
    assert result["captured_how"] == ("auto" if mode == "camera" else "file")
    assert result["accepted"] == 1 and result["digest_match"] is True
    if mode == "camera":
        assert lines(done.stdout, "GUIDANCE")[0].startswith("image.too_dark "), done.stdout
    stats = json.loads(field_registry.cli("stats", "--json").stdout)
    assert stats["records"]["live"] == 1
    assert stats["blobs"]["complete"] == 2, stats     # the card photo and the face template
    for name in ("entry_main_roster", f"entry_capture_review_{mode}", f"entry_synced_{mode}"):
        assert (shots / f"{name}.png").stat().st_size > 5_000, name


def test_a_fatal_error_leaves_a_report_the_next_start_points_to(field_registry, tmp_path, artifacts_dir):
    """When the app dies of a segmentation fault, the next start of ``yikatong app`` shows the cadre where
    the crash report is; the report holds the fatal traceback and the log tail, and no ID number."""
    store = str(tmp_path / "data" / "laptop.sqlite3")
    shots = artifacts_dir / "screens"
    died = subprocess.run([sys.executable, str(HERE / "entry_driver.py"), "segv", store, field_registry.url,
                           str(shots)], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    assert died.returncode == -11, died.stdout + died.stderr[-2000:]
    assert "DYING" in died.stdout
    again = run_child([str(HERE / "entry_driver.py"), "login", store, field_registry.url, str(shots)], child_env())
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    reports = sorted((tmp_path / "data" / "crash").glob("crash-*.txt"))
    assert len(reports) == 1
    notice = lines(again.stdout, "LOGIN_NOTICE")[0]
    assert "上次程序意外退出" in notice and str(reports[0]) in notice
    text = reports[0].read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text
    assert "roster_loaded" in text                        # the traceback names where it happened
    assert "session started" in text                      # the log tail
    from desktop_helpers import roster_rows

    assert not any(r["id_number"] in text for r in roster_rows())
