"""The offline video path (issue 11 item 4): how long a clip's check takes and what it decides.

1. Time for ``check_clip`` on the singer's genuine phone clip (tests/capture/livenesskit.py: hold
   still, turn left, turn right; 8.8 s at 300 x 360), p50/p95 over repeats: decoding and sampling
   (``read_clip``) and the decision. Baseline in the same run: the live path's whole decision at once
   (``LivenessChecker.decide``) on the page frames of the same challenge, i.e. what the clip costs over
   frames the phone already sent.
2. Decision figures with the shipped thresholds: the clip against references from other frames of
   it must pass; every shared photo of one person made into a clip (held still with noise), the clip
   spliced into other people's photos and the clip against other people's references must fail.

Run: .venv/bin/python -m bench.video_check [--repeats N]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as the registry and the laptop run the engine

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.liveness import PEOPLE, REFERENCE_FRAMES, pct  # noqa: E402
from capture.liveness import LivenessChecker  # noqa: E402
from capture.liveness.video import check_clip, read_clip  # noqa: E402
from tests.capture import livenesskit as kit  # noqa: E402


def timing(checker: LivenessChecker, clip_path: Path, repeats: int) -> dict:
    frames, steps = kit.challenge()
    reference = kit.clip_reference()
    read_ms, clip_ms, live_ms = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        clip = read_clip(clip_path)
        t1 = time.perf_counter()
        decision = check_clip(clip, kit.VIDEO_ACTIONS, reference, checker)
        t2 = time.perf_counter()
        checker.decide(frames, steps, reference)
        t3 = time.perf_counter()
        assert decision.passed, decision.reasons
        read_ms.append((t1 - t0) * 1000)
        clip_ms.append((t2 - t0) * 1000)
        live_ms.append((t3 - t2) * 1000)
    return {"frames_sampled": len(clip.frames), "clip_seconds": round(clip.duration_ms / 1000, 1),
            "read_clip_ms_p50": round(statistics.median(read_ms)),
            "check_clip_ms_p50": round(statistics.median(clip_ms)), "check_clip_ms_p95": round(pct(clip_ms, 95)),
            "baseline_live_decide_ms_p50": round(statistics.median(live_ms)),
            "ratio_p50": round(statistics.median(clip_ms) / statistics.median(live_ms), 2)}


def figures(checker: LivenessChecker, folder: Path, clip_path: Path) -> dict:
    genuine, attacks = [], []
    clip = read_clip(clip_path)
    for ref_frame in REFERENCE_FRAMES:
        d = check_clip(clip, kit.VIDEO_ACTIONS, kit.reference_descriptor(kit.clip_frames()[ref_frame]), checker)
        genuine.append((f"clip vs frame {ref_frame}", d))
    for name in PEOPLE:
        photo = cv2.resize(kit.photo_page_frame(name), kit.VIDEO_SIZE)
        path = kit.write_video(folder / f"still-{name}.mp4", [kit.jitter(photo, seed=i) for i in range(40)])
        attacks.append((f"still {name} as a clip", check_clip(path, kit.VIDEO_ACTIONS, kit.photo_reference(name),
                                                               checker)))
    first, last = kit.VIDEO_FRAMES
    for name in ("obama.jpg", "biden.jpg", "Tom_Cruise_avp_2014_4.jpg"):
        photo = cv2.resize(kit.photo_page_frame(name), kit.VIDEO_SIZE)

        def image_of(i: int, photo=photo) -> np.ndarray:
            if i < 171:
                return kit.phone_view(kit.clip_frames()[i])
            return kit.jitter(np.roll(photo, (i - 171) // 2, axis=1), seed=i)

        path = kit.write_video(folder / f"spliced-{name}.mp4", [image_of(i) for i in range(first, last + 1)])
        attacks.append((f"clip spliced into {name}", check_clip(path, kit.VIDEO_ACTIONS, kit.clip_reference(),
                                                                 checker)))
    for name in PEOPLE:
        attacks.append((f"clip vs {name}", check_clip(clip, kit.VIDEO_ACTIONS, kit.photo_reference(name), checker)))
    reasons = collections.Counter(r for _, d in attacks for r in d.reasons)
    return {"genuine_passed": sum(d.passed for _, d in genuine), "genuine_total": len(genuine),
            "genuine_refused": {label: d.reasons for label, d in genuine if not d.passed},
            "attacks_refused": sum(not d.passed for _, d in attacks), "attacks_total": len(attacks),
            "attacks_passed": [label for label, d in attacks if d.passed],
            "attack_reasons": dict(reasons.most_common())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    checker = LivenessChecker()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip_path = kit.genuine_video(folder / "genuine.mp4")
        check_clip(clip_path, kit.VIDEO_ACTIONS, kit.clip_reference(), checker)   # models loaded before timing
        result = {"timing": timing(checker, clip_path, args.repeats), "figures": figures(checker, folder, clip_path)}
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
