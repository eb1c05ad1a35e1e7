"""The offline video path (capture/liveness/video.py): a phone clip read, sampled and judged by the
same liveness engine, its actions in the order drawn. Clips are written in tmp dirs from the
hamilton clip and the shared photos (tests/capture/livenesskit.py), never committed."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from capture.liveness import LivenessChecker
from capture.liveness.video import (
    MAX_FRAMES,
    MAX_WIDTH,
    SAMPLE_MS,
    Clip,
    VideoError,
    check_clip,
    read_clip,
    video_steps,
)
from enrollment.vocabulary import ChallengeAction as A
from tests.capture import livenesskit as kit


@pytest.fixture(scope="module")
def checker() -> LivenessChecker:
    return LivenessChecker()


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return kit.genuine_video(tmp_path_factory.mktemp("video") / "hamilton.mp4")


@pytest.fixture(scope="module")
def clip(video) -> Clip:
    return read_clip(video)


@pytest.fixture(scope="module")
def clip_reference() -> np.ndarray:
    return kit.clip_reference()


def failed_checks(decision) -> dict[str, str]:
    return {c.name: c.reason for c in decision.checks if not c.passed}


def test_a_clip_is_sampled_every_200_ms_at_the_pages_width(video, clip):
    """read_clip keeps the first frame at or after every 200 ms of the clip's timestamps, ≤ 320 px wide, with the file's and frames' hashes."""
    assert 8500 <= clip.duration_ms <= 9000
    times = [f.t_ms for f in clip.frames]
    frame_ms = 1000 / kit.VIDEO_FPS
    assert times[0] == 0 and len(times) == pytest.approx(clip.duration_ms / SAMPLE_MS, abs=1)
    assert all(0 <= t - k * SAMPLE_MS < frame_ms for k, t in enumerate(times))
    assert all(f.image.shape[1] <= MAX_WIDTH and f.step == 0 for f in clip.frames)
    assert clip.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    assert clip.frame_hashes == [hashlib.sha256(f.image.tobytes()).hexdigest() for f in clip.frames]
    assert len(set(clip.frame_hashes)) == len(clip.frames)


def test_the_genuine_clip_passes_against_a_reference_from_another_frame(checker, clip, clip_reference):
    """Hold still, turn left, turn right (the clip's own order) matched against frame 100 of the singer passes."""
    decision = check_clip(clip, [A.TURN_LEFT, A.TURN_RIGHT], clip_reference, checker)
    assert decision.passed, failed_checks(decision)
    assert {"step1:turn_left", "step2:turn_right", "hold_still_yaw", "frames_change", "passive",
            "match"} <= {c.name for c in decision.checks}
    assert 1 <= len(decision.evidence) <= 4 and all(0 <= i < len(clip.frames) for i in decision.evidence)


def test_a_path_is_read_like_a_clip(checker, video, clip_reference):
    """check_clip on the file's path decides as on the clip read from it, here against obama.jpg: match.too_low only."""
    decision = check_clip(video, kit.VIDEO_ACTIONS, kit.photo_reference("obama.jpg"), checker)
    assert decision.reasons == ["match.too_low"]
    assert decision.match_distance > checker.t.match_max_distance


def test_the_actions_must_come_in_the_order_drawn(checker, clip, clip_reference):
    """The same clip asked for turn right then turn left fails: no left turn follows the right one."""
    decision = check_clip(clip, [A.TURN_RIGHT, A.TURN_LEFT], clip_reference, checker)
    assert failed_checks(decision) == {"step2:turn_left": "liveness.action_missed"}


def test_each_step_is_looked_for_after_the_previous_action():
    """video_steps: hold-still over the first second, then the actions in order, each after the previous, up to the end."""
    steps = video_steps(["open_mouth", A.BLINK], 9000)
    assert [(s.action, s.deadline_ms, s.after_previous) for s in steps] == [
        (A.HOLD_STILL, 1000, False), (A.OPEN_MOUTH, 9000, True), (A.BLINK, 9000, True)]


def test_a_still_photo_repeated_fails_liveness(checker, tmp_path):
    """A clip of obama.jpg held still with a little noise fails as a presentation attack with the actions missed."""
    photo = cv2.resize(kit.photo_page_frame("obama.jpg"), kit.VIDEO_SIZE)
    path = kit.write_video(tmp_path / "photo.mp4", [kit.jitter(photo, seed=i) for i in range(40)])
    decision = check_clip(path, kit.VIDEO_ACTIONS, kit.photo_reference("obama.jpg"), checker)
    assert not decision.passed
    assert {"liveness.presentation_attack", "liveness.action_missed"} <= set(decision.reasons)
    assert "match.too_low" not in decision.reasons       # the right person's photo: liveness refuses it


def test_a_clip_spliced_from_two_people_fails(checker, tmp_path, clip_reference):
    """The singer's hold-still and left turn followed by obama's and biden's photos sliding past fails."""
    photos = [cv2.resize(kit.photo_page_frame(n), kit.VIDEO_SIZE) for n in ("obama.jpg", "biden.jpg")]
    first, last = kit.VIDEO_FRAMES

    def image_of(i: int) -> np.ndarray:
        if i < 171:
            return kit.phone_view(kit.clip_frames()[i])
        return kit.jitter(np.roll(photos[(i // 10) % 2], (i - 171) // 2, axis=1), seed=i)

    path = kit.write_video(tmp_path / "spliced.mp4", [image_of(i) for i in range(first, last + 1)])
    decision = check_clip(path, kit.VIDEO_ACTIONS, clip_reference, checker)
    assert not decision.passed
    assert {"liveness.identity_changed", "liveness.face_lost"} & set(decision.reasons)


def test_a_file_that_is_no_video_is_unreadable(tmp_path):
    """A JPEG renamed .mp4 and a text file are refused with video.unreadable; so is a missing file."""
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(cv2.imencode(".jpg", kit.clip_page_frame(150))[1].tobytes())
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n", encoding="utf-8")
    for path in (photo, text, tmp_path / "absent.mp4"):
        with pytest.raises(VideoError) as err:
            read_clip(path)
        assert err.value.code == "video.unreadable", path


def test_a_one_second_clip_is_too_short(tmp_path):
    """A clip of 1 s is refused with video.too_short, saying its length."""
    path = kit.write_video(tmp_path / "short.mp4", [kit.phone_view(kit.clip_frames()[150 + i]) for i in range(30)], 30)
    with pytest.raises(VideoError) as err:
        check_clip(path, kit.VIDEO_ACTIONS, None)
    assert err.value.code == "video.too_short"
    assert 900 <= err.value.data["duration_ms"] <= 1100


def test_a_clip_over_a_minute_is_too_long(tmp_path):
    """A 62 s clip is refused with video.too_long."""
    grey = np.full((kit.VIDEO_SIZE[1], kit.VIDEO_SIZE[0], 3), 128, np.uint8)
    path = kit.write_video(tmp_path / "long.mp4", [grey] * 62, 1)
    with pytest.raises(VideoError) as err:
        read_clip(path)
    assert err.value.code == "video.too_long"


def test_a_long_clip_is_thinned_evenly_to_60_frames(tmp_path):
    """A 30 s clip (150 samples at 200 ms) keeps 60 frames spread evenly over the whole clip."""
    images = [np.full((kit.VIDEO_SIZE[1], kit.VIDEO_SIZE[0], 3), i % 256, np.uint8) for i in range(300)]
    clip = read_clip(kit.write_video(tmp_path / "long.mp4", images, 10))
    assert len(clip.frames) == MAX_FRAMES
    times = [f.t_ms for f in clip.frames]
    assert times[0] == 0 and times[-1] >= 29500
    gaps = np.diff(times)
    assert max(gaps) - min(gaps) <= SAMPLE_MS
