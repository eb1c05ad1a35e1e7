"""Card photos from home photos (issue 12): the whole pipeline (``process_photo``, background
replaced) on every single-face photo of the shared face data, a contact sheet to LOOK at, and the
count with each refusal's reason.

Each tile: the photo as taken (left, scaled to the card's height) and its card photo (right), or the
refusal's codes. Photos with no face or several faces (dogs, the group scenes) are not card photo
candidates and are listed as skipped.

Run: .venv/bin/python -m bench.card_photos [--out artifacts/screens/card_photos_from_home_photos.png]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from capture.errors import CaptureError  # noqa: E402
from capture.faces import FaceEngine  # noqa: E402
from capture.images import load_image  # noqa: E402
from capture.pipeline import process_photo  # noqa: E402
from capture.quality import QualityLimits, detect_still  # noqa: E402
from tests.facekit import FACES  # noqa: E402

CARD_W, CARD_H = 358, 441
POSE_CODES = ("pose.yaw", "pose.pitch", "pose.roll")


def photos() -> list[Path]:
    return sorted(FACES.glob("*.jpg")) + sorted(FACES.glob("johns/*/*.jpg"))


def _tile(original: np.ndarray, card: np.ndarray | None, name: str, lines: list[str]) -> np.ndarray:
    h, w = original.shape[:2]
    scale = CARD_H / float(h)
    left = cv2.resize(original, (max(1, min(CARD_W, round(w * scale))), CARD_H), interpolation=cv2.INTER_AREA)
    left = cv2.copyMakeBorder(left, 0, 0, 0, CARD_W - left.shape[1], cv2.BORDER_CONSTANT, value=(60, 60, 60))
    right = card if card is not None else np.full((CARD_H, CARD_W, 3), 215, np.uint8)
    tile = np.hstack([left, np.full((CARD_H, 6, 3), 0, np.uint8), right])
    for i, line in enumerate(lines):
        cv2.putText(tile, line, (CARD_W + 14, 200 + 24 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 190), 1,
                    cv2.LINE_AA)
    cv2.rectangle(tile, (0, CARD_H - 22), (CARD_W, CARD_H), (0, 0, 0), -1)
    cv2.putText(tile, name, (4, CARD_H - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return cv2.copyMakeBorder(tile, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=(255, 255, 255))


def _without_pose_limits(image: np.ndarray, engine: FaceEngine) -> str:
    try:
        process_photo(image, engine, limits=replace(QualityLimits(), yaw_max=90, pitch_max=90, roll_max=90))
    except CaptureError as e:
        return "refused, " + ", ".join(e.data.get("failed") or [e.code])
    return "card photo"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="artifacts/screens/card_photos_from_home_photos.png")
    ap.add_argument("--columns", type=int, default=4)
    args = ap.parse_args(argv)
    engine = FaceEngine().load()
    tiles, rows, made, skipped = [], [], 0, []
    for path in photos():
        name = str(path.relative_to(FACES))
        image = load_image(path)
        faces = len(detect_still(image, engine))
        if faces != 1:
            skipped.append(f"{name} ({faces} faces)")
            continue
        t0 = time.perf_counter()
        try:
            result = process_photo(image, engine)
        except CaptureError as e:
            failed = list(e.data.get("failed") or [e.code])
            values = e.data.get("values") or {}
            why = ", ".join(f"{c} {values[c]:.1f}" if c in values else c for c in failed)
            kind = "pose" if failed and set(failed) <= set(POSE_CODES) else (
                "pose + other" if set(failed) & set(POSE_CODES) else "other")
            if kind == "pose":   # would a better pose estimate alone give a card photo?
                kind += "; without pose limits: " + _without_pose_limits(image, engine)
            rows.append((name, "refused", why, kind))
            tiles.append(_tile(image, None, name, ["refused:"] + [w.strip() for w in why.split(",")]))
            continue
        ms = (time.perf_counter() - t0) * 1000
        made += 1
        card = cv2.imdecode(np.frombuffer(result.card_photo.jpeg, np.uint8), cv2.IMREAD_COLOR)
        rows.append((name, "card photo", f"{result.card_photo.size} B, {ms:.0f} ms", ""))
        tiles.append(_tile(image, card, name, []))
    blank = np.full_like(tiles[0], 255)
    while len(tiles) % args.columns:
        tiles.append(blank)
    sheet = np.vstack([np.hstack(tiles[i:i + args.columns]) for i in range(0, len(tiles), args.columns)])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet)
    print(f"card photos: {made} of {len(rows)} single-face photos; skipped: {', '.join(skipped)}")
    print("| photo | result | detail | refusal kind |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"contact sheet: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
