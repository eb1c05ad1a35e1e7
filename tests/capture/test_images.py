"""Bad input never crashes and memory stays bounded: each case gets a specific code or a clean image."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.errors import CaptureError
from capture.images import jfif_density, load_image, set_jfif_density, sniff_header
from tests.capture.conftest import face_file

ROOT = Path(__file__).resolve().parents[2]


def _code(source) -> str:
    with pytest.raises(CaptureError) as e:
        load_image(source)
    return e.value.code


def test_truncated_jpeg_is_unreadable(tmp_path):
    """A real JPEG cut in half is image.unreadable (not a half-grey picture)."""
    data = face_file("obama.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert _code(path) == "image.unreadable"


def test_corrupt_jpeg_header_is_unreadable(tmp_path):
    """A JPEG whose bytes after the signature are garbage is image.unreadable."""
    data = face_file("obama.jpg").read_bytes()
    path = tmp_path / "garbage.jpg"
    path.write_bytes(data[:4] + bytes(range(256)) * 40)
    assert _code(path) == "image.unreadable"


def test_zero_byte_file_is_empty(tmp_path):
    """A zero-byte file is image.empty."""
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert _code(path) == "image.empty"


def test_text_file_named_jpg_is_unreadable(tmp_path):
    """A text file named .jpg is image.unreadable."""
    path = tmp_path / "notes.jpg"
    path.write_text("这不是照片 / this is not a photo\n" * 20, encoding="utf-8")
    assert _code(path) == "image.unreadable"


def test_missing_file_and_folder_are_unreadable(tmp_path):
    """A path that does not exist, or a folder, is image.unreadable with no traceback."""
    assert _code(tmp_path / "nope.jpg") == "image.unreadable"
    assert _code(tmp_path) == "image.unreadable"


def test_png_with_alpha_is_composited_on_white(tmp_path):
    """A BGRA PNG comes back as 3-channel BGR with transparent pixels white and opaque ones kept."""
    bgra = np.zeros((40, 60, 4), dtype=np.uint8)
    bgra[:, :, 2] = 200            # red
    bgra[:, :30, 3] = 255          # left half opaque, right half transparent
    path = tmp_path / "alpha.png"
    cv2.imwrite(str(path), bgra)
    assert sniff_header(path.read_bytes()).alpha
    image = load_image(path)
    assert image.shape == (40, 60, 3) and image.dtype == np.uint8
    assert tuple(image[5, 5]) == (0, 0, 200) and tuple(image[5, 50]) == (255, 255, 255)


def test_grayscale_image_becomes_three_channels(tmp_path):
    """A grayscale JPEG (and a 16-bit grayscale PNG) load as 3-channel 8-bit BGR."""
    gray = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))
    jpg = tmp_path / "gray.jpg"
    cv2.imwrite(str(jpg), gray)
    image = load_image(jpg)
    assert image.shape == (64, 64, 3) and np.array_equal(image[:, :, 0], image[:, :, 2])
    png16 = tmp_path / "gray16.png"
    cv2.imwrite(str(png16), gray.astype(np.uint16) * 257)
    image16 = load_image(png16)
    assert image16.dtype == np.uint8 and image16.shape == (64, 64, 3)
    assert abs(int(image16[0, 63, 0]) - 252) <= 1


def test_grayscale_photo_still_finds_the_face(engine):
    """A grayscale version of a real photo still yields one face (the checks do not need colour)."""
    colour = load_image(face_file("obama_480p.jpg"))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY))
    image = load_image(buf.tobytes())
    assert image.shape == colour.shape and len(engine.detect(image)) == 1


def _huge_png(path: Path, side: int = 10_000) -> None:
    """A side x side grayscale PNG written row by row (never a raster in memory): ~100 KB on disk."""
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * side
    with path.open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
        f.write(struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
        chunks = [comp.compress(row) for _ in range(side)] + [comp.flush()]
        idat = b"".join(chunks)
        f.write(struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat)))
        f.write(struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def test_10000_square_image_is_refused_before_decoding_with_bounded_memory(tmp_path):
    """A 10000x10000 PNG is image.too_large from its header; peak RSS grows by far less than its 300 MB raster."""
    path = tmp_path / "huge.png"
    _huge_png(path)
    assert path.stat().st_size < 2_000_000
    probe = textwrap.dedent(f"""
        import json, resource
        from capture.errors import CaptureError
        from capture.images import load_image
        load_image({str(face_file("obama_480p.jpg"))!r})   # warm up the decoder's own buffers
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            load_image({str(path)!r}); code = None
        except CaptureError as e:
            code = e.code
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"code": code, "growth_kb": after - before}}))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["code"] == "image.too_large"
    assert result["growth_kb"] < 20_000, result


def test_jfif_density_round_trip():
    """set_jfif_density writes dots-per-inch that jfif_density reads back."""
    ok, buf = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    data = set_jfif_density(buf.tobytes(), 350)
    assert jfif_density(data) == (1, 350, 350)
    assert load_image(data).shape == (8, 8, 3)
