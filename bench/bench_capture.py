"""Capture benchmarks (issue 3): per-frame pipeline, live preview rate, local duplicate check.

1. Per-frame pipeline at 640x480 (detect, 68 landmarks, quality checks, 5-point alignment and the
   128-d descriptor) against the ``face_recognition`` package's own ``face_locations`` +
   ``face_encodings`` on the same frames, run as a subprocess in a separate venv
   (``--fr-python``, default /tmp/frbench/bin/python; see bench/README.md for the install).
   Frames: each shared still cropped 4:3 around its face and scaled to 640x480 (an enrollment
   webcam's view), plus every 5th frame of the hamilton clip padded to 640x480. Match decisions
   (distance <= 0.6 for every pair of frames where both sides found a face) are compared.
   Target: >= 2x faster with identical decisions.
2. Live preview rate: the hamilton clip (padded to 640x480) read through VideoFileSource and run
   through the preview path (detection on a 480-px copy, landmarks, quality, one guidance code; no
   descriptor). Target: >= 15 fps on this 2-core machine.
3. Duplicate check against 5,000 enrolled templates (synthetic unit vectors), median of 200 probes.
   Target: <= 20 ms. Baseline ``python_loop``: a loop computing the same distances one by one.

Run: .venv/bin/python -m bench.bench_capture [--fr-python PATH] [--skip-fr]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from capture.dedup import TemplateIndex
from capture.faces import DEFAULT_THRESHOLD, FaceEngine, face_distance
from capture.images import load_image
from capture.pipeline import analyse_frame
from capture.sources import VideoFileSource

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT.parent / "shared" / "data" / "faces"
STILLS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_480p.jpg", "obama_partial_face.jpg",
          "biden.jpg", "biden2.jpg", "Tom_Cruise_avp_2014_4.jpg"]
W, H = 640, 480


def pad_to(image: np.ndarray, w: int = W, h: int = H) -> np.ndarray:
    ih, iw = image.shape[:2]
    top, left = (h - ih) // 2, (w - iw) // 2
    return cv2.copyMakeBorder(image, top, h - ih - top, left, w - iw - left, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def webcam_view(image: np.ndarray, engine: FaceEngine) -> np.ndarray:
    """A 4:3 crop around the face, the face ~40 % of the frame height, scaled to 640x480."""
    face = engine.detect(image)[0]
    cx, cy = face.center
    ch = min(image.shape[0], face.height / 0.4)
    cw = min(image.shape[1], ch * 4 / 3)
    ch = cw * 3 / 4
    x0 = int(min(max(0, cx - cw / 2), image.shape[1] - cw))
    y0 = int(min(max(0, cy - ch / 2), image.shape[0] - ch))
    crop = image[y0:y0 + int(ch), x0:x0 + int(cw)]
    return cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA)


def make_frames(engine: FaceEngine, folder: Path) -> dict[str, list[Path]]:
    """"shared": the stills (webcam view) and the johns crops (scaled to 480 high); "clip": the video."""
    groups: dict[str, list[np.ndarray]] = {"shared": [], "clip": []}
    for name in STILLS:
        groups["shared"].append(webcam_view(load_image(FACES / name), engine))
    for path in sorted((FACES / "johns").glob("*/*.jpg")):
        groups["shared"].append(pad_to(cv2.resize(load_image(path), (H, H), interpolation=cv2.INTER_CUBIC)))
    with VideoFileSource(FACES / "hamilton_clip.mp4") as src:
        for f in src:
            if f.index % 5 == 0:
                groups["clip"].append(pad_to(f.image))
    out: dict[str, list[Path]] = {}
    for group, frames in groups.items():
        (folder / group).mkdir()
        out[group] = []
        for i, frame in enumerate(frames):
            p = folder / group / f"{i:03d}.png"
            cv2.imwrite(str(p), frame)
            out[group].append(p)
    return out


def decisions(vectors: list[np.ndarray | None]) -> dict[tuple[int, int], bool]:
    out = {}
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            if vectors[i] is not None and vectors[j] is not None:
                out[(i, j)] = face_distance(vectors[i], vectors[j]) <= DEFAULT_THRESHOLD
    return out


def bench_pipeline(engine: FaceEngine, fr_python: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        groups = make_frames(engine, Path(tmp))
        return {group: _pipeline_group(engine, fr_python, paths) for group, paths in groups.items()}


def _pipeline_group(engine: FaceEngine, fr_python: str | None, paths: list[Path]) -> dict:
    tmp = str(paths[0].parent)
    images = [load_image(p) for p in paths]
    analyse_frame(images[0], engine, with_template=True)           # warm up
    ours, ours_t = [], []
    for image in images:
        t0 = time.perf_counter()
        r = analyse_frame(image, engine, with_template=True)
        ours_t.append(time.perf_counter() - t0)
        ours.append(r.template.vector if r.template is not None else None)
    result = {"frames": len(images), "ours_ms_mean": 1000 * statistics.mean(ours_t),
              "ours_ms_median": 1000 * statistics.median(ours_t),
              "ours_faces_found": sum(v is not None for v in ours)}
    if not fr_python:
        return result
    proc = subprocess.run([fr_python, str(Path(__file__).with_name("fr_side.py")), tmp],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        result["face_recognition_error"] = proc.stderr.strip().splitlines()[-1:]
        return result
    fr = json.loads(proc.stdout)
    fr_t = [f["seconds"] for f in fr]
    theirs = [np.asarray(f["encoding"], dtype=np.float32) if f["encoding"] else None for f in fr]
    d_ours, d_theirs = decisions(ours), decisions(theirs)
    common = d_ours.keys() & d_theirs.keys()
    disagree = [k for k in common if d_ours[k] != d_theirs[k]]
    near = [(k, round(face_distance(ours[k[0]], ours[k[1]]), 3), round(face_distance(theirs[k[0]], theirs[k[1]]), 3))
            for k in disagree]
    only_one = [i for i in range(len(ours)) if (ours[i] is None) != (theirs[i] is None)]
    result.update({
        "face_recognition_ms_mean": 1000 * statistics.mean(fr_t),
        "face_recognition_ms_median": 1000 * statistics.median(fr_t),
        "face_recognition_faces_found": sum(v is not None for v in theirs),
        "speedup_mean": statistics.mean(fr_t) / statistics.mean(ours_t),
        "pairs_compared": len(common), "pairs_disagreeing": len(disagree),
        "disagreeing_pairs_ours_vs_theirs_distance": near,
        "frames_face_found_by_one_side_only": only_one,
        "decisions_identical": not disagree and not only_one,
        "target": ">= 2x faster, identical decisions",
    })
    return result


def bench_preview(engine: FaceEngine, seconds: float = 12.0) -> dict:
    src = VideoFileSource(FACES / "hamilton_clip.mp4", loop=True)
    src.open()
    n = 0
    guidance_codes: dict[str, int] = {}
    per = []
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < t_end:
        t1 = time.perf_counter()
        frame = pad_to(src.read().image)
        r = analyse_frame(frame, engine)
        per.append(time.perf_counter() - t1)
        guidance_codes[str(r.guidance)] = guidance_codes.get(str(r.guidance), 0) + 1
        n += 1
    total = time.perf_counter() - t0
    src.close()
    return {"frames": n, "fps": n / total, "ms_median": 1000 * statistics.median(per),
            "ms_p95": 1000 * sorted(per)[int(0.95 * len(per))], "guidance_seen": guidance_codes,
            "target_fps": 15}


def bench_dedup(n: int = 5000, probes: int = 200) -> dict:
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(n, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = TemplateIndex((f"rec-{i}", v) for i, v in enumerate(vecs))
    queries = vecs[rng.integers(0, n, probes)] + rng.normal(scale=0.01, size=(probes, 128)).astype(np.float32)
    ours, loop = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = index.likely_duplicates(q, DEFAULT_THRESHOLD)
        near = index.nearest(q, k=5)
        ours.append(time.perf_counter() - t0)
    for q in queries[:20]:
        t0 = time.perf_counter()
        dists = [(f"rec-{i}", face_distance(v, q)) for i, v in enumerate(vecs)]
        loop_hits = sorted([kv for kv in dists if kv[1] <= DEFAULT_THRESHOLD], key=lambda kv: kv[1])
        loop.append(time.perf_counter() - t0)
        assert [k for k, _ in loop_hits] == [k for k, _ in index.likely_duplicates(q, DEFAULT_THRESHOLD)]
    del hits, near
    return {"templates": n, "ms_median": 1000 * statistics.median(ours),
            "ms_p95": 1000 * sorted(ours)[int(0.95 * len(ours))],
            "python_loop_ms_median": 1000 * statistics.median(loop), "target_ms": 20}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fr-python", default="/tmp/frbench/bin/python")
    ap.add_argument("--skip-fr", action="store_true")
    args = ap.parse_args()
    fr_python = None if args.skip_fr or not Path(args.fr_python).exists() else args.fr_python
    engine = FaceEngine().load()
    out = {"pipeline_640x480": bench_pipeline(engine, fr_python), "preview_640x480": bench_preview(engine),
           "dedup_5000": bench_dedup()}
    json.dump(out, sys.stdout, indent=2, default=float)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
