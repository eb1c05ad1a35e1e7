"""Frames for liveness tests, made the way the worker's page sends them: at most 320 px wide, JPEG
at quality 70, decoded again (the registry decodes the uploaded JPEG).

The hamilton clip is a wide stage shot (faces ~45 px at 320 px width, too small for the HOG
detector); a phone held at arm's length fills far more of the frame. ``phone_view`` therefore
crops a portrait window around the singer (x 90-390 of the 640 x 360 clip) before the downscale,
so his face is ~95-110 px wide, as in a selfie. Only frames 82-213 show him close up (before: the
stage from afar and the audience; after: a cut to the audience).

``GENUINE`` is a challenge the clip's own movement answers (found by printing the per-frame
measures, see bench/liveness.py --trace): he holds fairly still, then turns to one side, then to
the other. The frames are sampled every 3rd (~100 ms, the page's interval).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from enrollment.vocabulary import ChallengeAction
from tests.facekit import CLIP, FACES

WIDTH = 320
JPEG_QUALITY = 70
CROP_X = (90, 390)        # portrait window around the singer in the 640 x 360 clip
CLIP_FPS = 29.97
EVERY = 3                 # every 3rd clip frame: ~100 ms apart


def page_frame(image: np.ndarray, width: int = WIDTH, quality: int = JPEG_QUALITY) -> np.ndarray:
    """``image`` as the page sends it: scaled to ``width`` (never up), JPEG-encoded, decoded again."""
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def phone_view(image: np.ndarray) -> np.ndarray:
    """The portrait window of a clip frame that a phone's selfie would show."""
    return image[:, CROP_X[0]:CROP_X[1]]


@functools.cache
def clip_frames() -> tuple[np.ndarray, ...]:
    """Every frame of the clip (640 x 360 BGR), read once per process."""
    cap = cv2.VideoCapture(str(CLIP))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    assert len(out) > 200, f"could not read {CLIP}"
    return tuple(out)


def clip_page_frame(index: int) -> np.ndarray:
    return page_frame(phone_view(clip_frames()[index]))


def photo_page_frame(name: str, like: tuple[int, int] = (320, 384)) -> np.ndarray:
    """A shared still photo held to the camera: cropped to the page's portrait shape around its face
    (the face ~1/3 of the width, like the clip's frames), then sent like a page frame."""
    from tests.facekit import engine

    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    box = engine().detect(image, upsample=1)[0]
    cx, cy = box.center
    w = box.width * 3.0
    h = w * like[1] / like[0]
    x0 = int(np.clip(cx - w / 2, 0, max(0, image.shape[1] - w)))
    y0 = int(np.clip(cy - h / 2, 0, max(0, image.shape[0] - h)))
    crop = image[y0:y0 + int(h), x0:x0 + int(w)]
    return page_frame(cv2.resize(crop, like, interpolation=cv2.INTER_AREA))


def jitter(image: np.ndarray, seed: int, sigma: float = 2.0) -> np.ndarray:
    """``image`` with a little sensor-like noise (a still photo re-sent must not be bit-identical)."""
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape)
    return page_frame(np.clip(noisy, 0, 255).astype(np.uint8))


# The genuine challenge the clip answers (clip frame ranges, inclusive): he settles facing the
# camera (145-152), turns to his own left (153-170: yaw up to +0.34 from ~-0.05), then to his
# right (171-210: down to -0.68). See bench/liveness.py --trace for the per-frame measures.
GENUINE_SEGMENTS = ((ChallengeAction.HOLD_STILL, 145, 152), (ChallengeAction.TURN_LEFT, 153, 170),
                    (ChallengeAction.TURN_RIGHT, 171, 210))
GENUINE_EVERY = 2          # every 2nd clip frame: 33 frames, ~67 ms apart
REFERENCE_FRAME = 100      # a frame of the same man outside the challenge's frames
DEADLINE_SLACK_MS = 300


def t_ms(clip_index: int, start: int) -> int:
    return round((clip_index - start) / CLIP_FPS * 1000)


def challenge(segments=GENUINE_SEGMENTS, every: int = GENUINE_EVERY, image_of=None):
    """(frames, steps) for ``segments`` of (action, first, last clip frame): the frames in the
    page's shape, each step's deadline just after its last frame. ``image_of(clip_index)`` makes a
    frame's image (default: the clip frame as the page sends it)."""
    from capture.liveness import Frame, Step

    image_of = image_of or clip_page_frame
    start = segments[0][1]
    frames, steps = [], []
    for s, (action, first, last) in enumerate(segments):
        for i in range(first, last + 1, every):
            frames.append(Frame(image=image_of(i), t_ms=t_ms(i, start), step=s))
        steps.append(Step(action=ChallengeAction(action), deadline_ms=t_ms(last, start) + DEADLINE_SLACK_MS))
    return frames, steps


def reference_descriptor(image: np.ndarray) -> np.ndarray:
    """The 128-d descriptor of the largest face in ``image`` (the photo on file)."""
    from tests.facekit import engine

    box = engine().detect(image, upsample=1)[0]
    return engine().descriptor(image, box)


def clip_reference() -> np.ndarray:
    return reference_descriptor(clip_frames()[REFERENCE_FRAME])


def photo_reference(name: str) -> np.ndarray:
    return reference_descriptor(cv2.imread(str(FACES / name), cv2.IMREAD_COLOR))


# The offline video path (capture/liveness/video.py): the genuine challenge's frames as a phone
# clip the worker sends through a messaging app. The singer's movement is a performer's, quick: he
# faces the camera for only ~0.27 s (145-152) before turning. A worker told to say four digits
# first and then turn does it slower, so the clip is written at a quarter of its speed (7.5 fps:
# 8.8 s, within the 3-60 s a clip may last, the hold-still over its first second as video_steps
# measures it). Its own order: hold still, turn left (his own left), turn right.
VIDEO_FPS = 7.5
VIDEO_FRAMES = (145, 210)
VIDEO_ACTIONS = (ChallengeAction.TURN_LEFT, ChallengeAction.TURN_RIGHT)
VIDEO_SIZE = (300, 360)            # the phone_view window, width x height


def write_video(path, images, fps: float = VIDEO_FPS):
    """``images`` (BGR, all ``VIDEO_SIZE``) written as an MP4 clip at ``fps`` with ``cv2.VideoWriter``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, VIDEO_SIZE)
    assert writer.isOpened()
    for image in images:
        writer.write(image)
    writer.release()
    return path


def genuine_video(path):
    """The singer's genuine challenge (hold still, turn left, turn right) as a phone clip at ``path``."""
    first, last = VIDEO_FRAMES
    return write_video(path, [phone_view(clip_frames()[i]) for i in range(first, last + 1)])
