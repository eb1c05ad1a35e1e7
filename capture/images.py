"""Loading images safely: size from the header before decoding, alpha on white, gray to BGR.

Every image leaving this module is BGR uint8, H x W x 3, C-contiguous. Decoding is refused from
the header alone when the pixel count exceeds ``max_pixels``, so a 10000 x 10000 file never
allocates its 300 MB raster. Formats sniffed: JPEG, PNG, BMP, WebP, GIF; anything else is
``image.unreadable`` (OpenCV would decode more, but without a size check first).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import E_IMAGE_EMPTY, E_IMAGE_TOO_LARGE, E_IMAGE_UNREADABLE, CaptureError

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ImageHeader:
    format: str          # "jpeg" | "png" | "bmp" | "webp" | "gif"
    width: int
    height: int
    channels: int | None = None      # JPEG components / PNG channels when known
    bits: int | None = None          # JPEG sample precision / PNG bit depth when known
    alpha: bool = False
    data_offset: int = 0             # JPEG: where the frame header is (the scan data follows)


def sniff_header(data: bytes) -> ImageHeader:
    """Width, height and format from the first bytes; ``image.unreadable`` when not an image we take."""
    try:
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_header(data)
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
            channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(ctype)
            alpha = ctype in (4, 6) or b"tRNS" in data[:65536]
            return ImageHeader("png", w, h, channels, depth, alpha)
        if data[:2] == b"BM":
            w, h = struct.unpack("<ii", data[18:26])
            return ImageHeader("bmp", abs(w), abs(h))
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_header(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return ImageHeader("gif", w, h)
    except (struct.error, IndexError, ValueError):
        pass
    raise CaptureError(E_IMAGE_UNREADABLE, reason="not a JPEG, PNG, BMP, WebP or GIF image")


def _jpeg_header(data: bytes) -> ImageHeader:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF_MARKERS:
            bits, h, w, comps = struct.unpack(">BHHB", data[i + 4:i + 10])
            if w == 0 or h == 0:
                raise ValueError("no size")
            return ImageHeader("jpeg", w, h, comps, bits, False, i)
        if marker == 0xDA:          # start of scan before a frame header
            break
        i += 2 + length
    raise ValueError("no frame header")


def _webp_header(data: bytes) -> ImageHeader:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return ImageHeader("webp", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L":
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return ImageHeader("webp", w, h, alpha=True)
    if chunk == b"VP8X":
        flags = data[20]
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return ImageHeader("webp", w, h, alpha=bool(flags & 0x10))
    raise ValueError("unknown webp chunk")


def read_bytes(source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise CaptureError(E_IMAGE_TOO_LARGE, bytes=size, max_bytes=max_bytes)
            data = path.read_bytes()
        except IsADirectoryError as e:
            raise CaptureError(E_IMAGE_UNREADABLE, reason="a folder, not a file") from e
        except OSError as e:
            raise CaptureError(E_IMAGE_UNREADABLE, reason=e.strerror or type(e).__name__) from e
    if not data:
        raise CaptureError(E_IMAGE_EMPTY)
    if len(data) > max_bytes:
        raise CaptureError(E_IMAGE_TOO_LARGE, bytes=len(data), max_bytes=max_bytes)
    return data


def load_image(source: str | Path | bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Decode to BGR uint8 HxWx3; refuse too large images from the header, before decoding."""
    data = read_bytes(source, max_bytes=max_bytes)
    header = sniff_header(data)
    if header.width * header.height > max_pixels:
        raise CaptureError(E_IMAGE_TOO_LARGE, width=header.width, height=header.height, max_pixels=max_pixels)
    if header.format == "jpeg" and data.rfind(b"\xff\xd9") < header.data_offset:
        # libjpeg "decodes" a truncated file, filling the rest grey: refuse it instead
        raise CaptureError(E_IMAGE_UNREADABLE, reason="truncated JPEG (no end-of-image marker)")
    buf = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR applies the EXIF orientation and turns gray into BGR; alpha needs UNCHANGED.
    flags = cv2.IMREAD_UNCHANGED if header.alpha else cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(buf, flags)
    except cv2.error as e:
        raise CaptureError(E_IMAGE_UNREADABLE, reason="decoder error") from e
    if image is None or image.size == 0:
        raise CaptureError(E_IMAGE_UNREADABLE, reason="corrupt or truncated image")
    return to_bgr(image)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any decoded raster (gray, gray+alpha, BGR, BGRA, 16-bit) as contiguous BGR uint8."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 2:
        gray, alpha = image[:, :, 0], image[:, :, 1]
        image = np.dstack([gray, gray, gray, alpha])
        channels = 4
    if channels == 4:
        return composite_on_white(image)
    return np.ascontiguousarray(image[:, :, :3])


def composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:4].astype(np.uint16)
    color = bgra[:, :, :3].astype(np.uint16)
    out = (color * alpha + 255 * (255 - alpha) + 127) // 255
    return np.ascontiguousarray(out.astype(np.uint8))


def jfif_density(jpeg: bytes) -> tuple[int, int, int] | None:
    """(units, x_density, y_density) of the JFIF APP0 segment; units 1 = dots per inch."""
    if jpeg[:4] != b"\xff\xd8\xff\xe0" or jpeg[6:11] != b"JFIF\x00":
        return None
    units = jpeg[13]
    xd, yd = struct.unpack(">HH", jpeg[14:18])
    return units, xd, yd


def set_jfif_density(jpeg: bytes, dpi: int) -> bytes:
    """Write ``dpi`` into the JFIF APP0 segment (OpenCV writes 1:1 aspect, no unit)."""
    if jfif_density(jpeg) is None:
        raise ValueError("encoder wrote no JFIF APP0 segment")
    return jpeg[:13] + bytes([1]) + struct.pack(">HH", dpi, dpi) + jpeg[18:]
