"""The liveness engine on the hamilton clip, sent the way the worker's page sends frames
(tests/capture/livenesskit.py), and on attacks made from the shared photos."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.errors import CaptureError
from capture.liveness import Frame, LivenessChecker, Step, Thresholds, mesh
from capture.liveness.models import MODELS_DIR
from capture.liveness.types import REASON_CODES
from enrollment.vocabulary import ChallengeAction as A
from tests.capture import livenesskit as kit


@pytest.fixture(scope="module")
def checker() -> LivenessChecker:
    return LivenessChecker()


@pytest.fixture(scope="module")
def genuine():
    return kit.challenge()


@pytest.fixture(scope="module")
def clip_reference() -> np.ndarray:
    return kit.clip_reference()


def failed_checks(decision) -> dict[str, str]:
    return {c.name: c.reason for c in decision.checks if not c.passed}


def test_genuine_clip_passes_against_a_reference_from_another_frame(checker, genuine, clip_reference):
    """The singer holding still then turning left and right, matched against another frame of him, passes."""
    frames, steps = genuine
    decision = checker.decide(frames, steps, clip_reference)
    assert decision.passed, failed_checks(decision)
    assert decision.reasons == []
    assert decision.match_distance is not None and decision.match_distance <= checker.t.match_max_distance
    assert decision.passive_score is not None and decision.passive_score >= checker.t.passive_min
    assert 1 <= len(decision.evidence) <= 4 and all(0 <= i < len(frames) for i in decision.evidence)
    assert {c.name for c in decision.checks} >= {"face_present", "one_face", "face_track", "brightness",
                                                  "frames_change", "hold_still_yaw", "same_person",
                                                  "passive", "match", "step1:turn_left", "step2:turn_right"}


def test_frames_analysed_as_they_arrive_give_the_same_decision(checker, genuine, clip_reference):
    """An attempt fed frame by frame decides exactly as decide() on all the frames at once."""
    frames, steps = genuine
    attempt = checker.attempt()
    for frame in frames:
        attempt.add(frame)
    assert attempt.decide(steps, clip_reference) == checker.decide(frames, steps, clip_reference)
    assert checker.attempt().decide(steps, clip_reference).reasons == ["liveness.too_few_frames"]


def test_genuine_clip_against_another_persons_photo_fails_the_match(checker, genuine):
    """The same live clip matched against obama.jpg fails with match.too_low and nothing else."""
    frames, steps = genuine
    decision = checker.decide(frames, steps, kit.photo_reference("obama.jpg"))
    assert not decision.passed
    assert decision.reasons == ["match.too_low"]
    assert decision.match_distance > checker.t.match_max_distance


def test_without_a_reference_the_decision_says_so(checker, genuine):
    """No descriptor on file fails with match.no_reference while every liveness check still passes."""
    frames, steps = genuine
    decision = checker.decide(frames, steps, None)
    assert decision.reasons == ["match.no_reference"]
    assert decision.match_distance is None


def test_mirrored_frames_answer_the_opposite_turns(checker, genuine, clip_reference):
    """Flipped frames pass only with the turns swapped: turn_left means the nose toward the unmirrored image's right."""
    frames, steps = genuine
    flipped = [Frame(cv2.flip(f.image, 1), f.t_ms, f.step) for f in frames]
    swapped = [steps[0], Step(A.TURN_RIGHT, steps[1].deadline_ms), Step(A.TURN_LEFT, steps[2].deadline_ms)]
    assert checker.decide(flipped, swapped, clip_reference).passed
    assert "liveness.action_missed" in checker.decide(flipped, steps, clip_reference).reasons


@pytest.mark.parametrize("source", ["clip_frame", "obama.jpg"])
def test_a_still_photo_repeated_fails_liveness(checker, source, clip_reference):
    """One image sent 40 times with a little noise is refused as a presentation attack with the actions missed."""
    image = kit.clip_page_frame(150) if source == "clip_frame" else kit.photo_page_frame("obama.jpg")
    reference = clip_reference if source == "clip_frame" else kit.photo_reference("obama.jpg")
    steps = [Step(A.HOLD_STILL, 1300), Step(A.TURN_LEFT, 2700), Step(A.OPEN_MOUTH, 4100)]
    frames = [Frame(kit.jitter(image, seed=i), t_ms=i * 100, step=min(2, i // 13)) for i in range(40)]
    decision = checker.decide(frames, steps, reference)
    assert not decision.passed
    assert "liveness.presentation_attack" in decision.reasons
    assert "liveness.action_missed" in decision.reasons
    assert failed_checks(decision)["frames_change"] == "liveness.presentation_attack"
    assert "match.too_low" not in decision.reasons        # it is the right person's photo: liveness refuses it


def test_a_clip_spliced_into_another_persons_photos_fails(checker, clip_reference):
    """Hamilton's frames followed by obama's and biden's photos (moving) fail on identity or the face track."""
    photos = [kit.photo_page_frame("obama.jpg"), kit.photo_page_frame("biden.jpg")]

    def image_of(i: int) -> np.ndarray:
        if i < 171:
            return kit.clip_page_frame(i)
        shifted = np.roll(photos[(i // 10) % 2], (i - 171) // 2, axis=1)   # slides, so frames differ
        return kit.jitter(shifted, seed=i)

    frames, steps = kit.challenge(image_of=image_of)
    decision = checker.decide(frames, steps, clip_reference)
    assert not decision.passed
    assert {"liveness.identity_changed", "liveness.face_lost"} & set(decision.reasons)


def test_singing_answers_open_mouth(checker, clip_reference):
    """The singer's open mouth in frames 153-170 answers an open_mouth step measured against his hold-still baseline."""
    segments = ((A.HOLD_STILL, 145, 152), (A.OPEN_MOUTH, 153, 170), (A.TURN_RIGHT, 171, 210))
    frames, steps = kit.challenge(segments)
    decision = checker.decide(frames, steps, clip_reference)
    assert decision.passed, failed_checks(decision)
    mouth = next(c for c in decision.checks if c.name == "step1:open_mouth")
    assert mouth.threshold.startswith(">= ") and float(mouth.value) >= float(mouth.threshold[3:])


def test_an_action_the_frames_do_not_show_is_missed(checker, clip_reference):
    """Blinking asked for while the singer only turns fails that step with liveness.action_missed."""
    segments = ((A.HOLD_STILL, 145, 152), (A.BLINK, 153, 170), (A.TURN_RIGHT, 171, 210))
    frames, steps = kit.challenge(segments)
    decision = checker.decide(frames, steps, clip_reference)
    assert decision.reasons == ["liveness.action_missed"]
    assert failed_checks(decision) == {"step1:blink": "liveness.action_missed"}


def test_an_action_after_its_deadline_is_missed(checker, genuine, clip_reference):
    """The turns count only in frames received before their step's deadline."""
    frames, steps = genuine
    early = [steps[0], steps[1], Step(A.TURN_RIGHT, frames[[f.step for f in frames].index(2)].t_ms)]
    assert failed_checks(checker.decide(frames, early, clip_reference)) == {"step2:turn_right": "liveness.action_missed"}


def test_frames_without_a_face_fail_with_no_face(checker, clip_reference):
    """The clip's opening shots (the stage from afar, the audience) have no usable face: liveness.no_face."""
    segments = ((A.HOLD_STILL, 10, 30), (A.TURN_LEFT, 31, 55), (A.OPEN_MOUTH, 56, 80))
    frames, steps = kit.challenge(segments)
    decision = checker.decide(frames, steps, clip_reference)
    assert not decision.passed
    assert decision.reasons[0] == "liveness.no_face"


def test_a_dark_clip_fails_too_dark(checker, genuine, clip_reference):
    """The genuine frames at a fifth of their brightness fail with liveness.too_dark."""
    frames, steps = genuine
    dark = [Frame(kit.page_frame((f.image.astype(np.float32) * 0.2).astype(np.uint8)), f.t_ms, f.step) for f in frames]
    decision = checker.decide(dark, steps, clip_reference)
    assert "liveness.too_dark" in decision.reasons


def test_too_few_frames_are_refused_before_any_analysis(checker, genuine, clip_reference):
    """Fewer frames than min_frames fail with liveness.too_few_frames only."""
    frames, steps = genuine
    decision = checker.decide(frames[:5], steps, clip_reference)
    assert decision.reasons == ["liveness.too_few_frames"]


def test_thresholds_file_refuses_an_unknown_key(tmp_path):
    """A misspelt limit in thresholds.json is refused, not silently replaced by its default."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"turn_min_yaws": 0.1}), encoding="utf-8")
    with pytest.raises(CaptureError) as err:
        Thresholds.load(path)
    assert err.value.code == "settings.invalid"
    assert Thresholds.load() == Thresholds()        # the shipped file says what the defaults say


def test_mesh_measures_follow_the_face(genuine):
    """Mesh yaw is near zero on a frontal frame and clearly negative when the singer looks to his right."""
    from tests.facekit import engine

    frontal, turned = kit.clip_page_frame(150), kit.clip_page_frame(209)
    yaws = [mesh.measures(mesh.landmarks(im, engine().detect(im)[0])).yaw for im in (frontal, turned)]
    assert abs(yaws[0]) < 0.15 and yaws[1] < -0.4


def test_shipped_models_match_their_recorded_sha256():
    """Every model in resources/models has the sha256 its SOURCES.md records."""
    text = (MODELS_DIR / "SOURCES.md").read_text(encoding="utf-8")
    models = sorted(p for p in MODELS_DIR.iterdir() if p.suffix in (".onnx", ".tflite"))
    assert [p.name for p in models] == ["MiniFASNetV1SE.onnx", "MiniFASNetV2.onnx", "face_landmark.tflite",
                                        "selfie_segmentation.tflite"]
    for p in models:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        assert f"| {p.name} | {digest} |" in text, p.name


def test_reason_codes_are_the_contracts_list():
    """The engine's reason codes are exactly those docs/verification-api.md lists."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "verification-api.md").read_text(encoding="utf-8")
    section = doc[doc.index("Reason codes"):doc.index("Measures:")]
    assert sorted(REASON_CODES) == sorted(set(re.findall(r"`((?:liveness|match)\.[a-z_]+)`", section)))


def test_two_faces_throughout_fail_with_many_faces(checker, clip_reference):
    """Every frame showing the singer beside a photo of another man fails with liveness.many_faces."""
    other = cv2.resize(kit.photo_page_frame("biden.jpg"), (300, 360))

    def image_of(i: int) -> np.ndarray:
        return np.hstack([kit.clip_page_frame(i), other])

    frames, steps = kit.challenge(image_of=image_of)
    decision = checker.decide(frames, steps, clip_reference)
    assert "liveness.many_faces" in decision.reasons


def test_turning_during_hold_still_fails_not_still(checker, clip_reference):
    """A hold-still step in which the head turns away (yaw 0 to -0.45) fails with liveness.not_still."""
    segments = ((A.HOLD_STILL, 171, 197), (A.TURN_RIGHT, 198, 210))
    frames, steps = kit.challenge(segments)
    decision = checker.decide(frames, steps, clip_reference)
    assert failed_checks(decision).get("hold_still_yaw") == "liveness.not_still"


def _eyes(ears: list[float]) -> list:
    from capture.liveness.observe import Observation

    return [Observation(index=i, faces=1, measures=mesh.MeshMeasures(ear=e, mar=0.03, yaw=0.0))
            for i, e in enumerate(ears)]


def test_blink_needs_the_eyes_closed_then_open_again():
    """A blink is an eye aspect ratio below 0.7 x baseline followed by one above 0.85 x baseline."""
    from capture.liveness.actions import Baseline, judge

    base, t = Baseline(ear=0.30, mar=0.03, yaw=0.0), Thresholds()
    assert judge(A.BLINK, _eyes([0.30, 0.29, 0.12, 0.28, 0.30]), base, t).seen
    assert judge(A.BLINK, _eyes([0.30, 0.29, 0.12, 0.28, 0.30]), base, t).peak == 2
    assert not judge(A.BLINK, _eyes([0.30, 0.12, 0.12]), base, t).seen          # closed, never reopened
    assert not judge(A.BLINK, _eyes([0.30, 0.24, 0.30, 0.25]), base, t).seen    # squints only


def test_a_reference_that_is_not_a_descriptor_is_refused(checker, genuine):
    """A reference of the wrong length raises template.invalid instead of deciding on it."""
    frames, steps = genuine
    with pytest.raises(CaptureError) as err:
        checker.decide(frames, steps, np.zeros(5, dtype=np.float32))
    assert err.value.code == "template.invalid"
