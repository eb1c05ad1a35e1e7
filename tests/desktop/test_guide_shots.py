"""The user guide's screenshot generator: the real app against the demo registry, as the guide tells it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from facekit import FACES

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ("cadre.md", "central.md")


def _named_in_guides() -> set[str]:
    names: set[str] = set()
    for guide in GUIDES:
        text = (ROOT / "resources" / "guide" / guide).read_text(encoding="utf-8")
        names |= set(re.findall(r"!\[[^\]]*\]\(images/([\w-]+)\.png\)", text))
    return names


def test_every_named_shot_is_in_a_guide_and_every_guide_picture_is_a_named_shot():
    """The generator's list of pictures and the pictures the two guides show are the same set."""
    from desktop.guide.shots import SHOTS

    assert _named_in_guides() == set(SHOTS)


def test_the_generator_takes_every_picture_the_guides_name(tmp_path):
    """Run as the build runs it (a fresh process, no display, nothing preloaded), the generator drives the
    app through the whole guide and writes every picture the guides name as a real screenshot."""
    from PySide6.QtGui import QImage

    out = tmp_path / "images"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "YIKATONG_CAMERA")}
    env["YK_FACES_DIR"] = str(FACES)
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "desktop.guide.shots", "--out", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = {Path(line).stem for line in done.stdout.split()}
    names = _named_in_guides()
    assert printed == names
    for name in sorted(names):
        image = QImage(str(out / f"{name}.png"))
        assert not image.isNull(), name
        assert image.width() >= 300 and image.height() >= 250, (name, image.width(), image.height())
        # a real screen, not an empty window: text and controls, not one or two flat colours, over a grid of samples
        colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 19)}
        assert len(colours) > 5, name
    window = QImage(str(out / "cadre-main.png"))
    assert (window.width(), window.height()) == (1366, 740)


def test_without_a_face_photo_the_generator_says_what_to_pass(tmp_path):
    """With no photo to put in front of the camera, the generator stops at once with guide.no_photo."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "desktop.guide.shots", "--out", str(tmp_path / "o"),
                           "--faces", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "guide.no_photo" in done.stderr and "--faces" in done.stderr
    assert not (tmp_path / "o").exists()
