"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``) evaluated in NumPy.

``dlib-bin`` is built without BLAS, so its CPU convolutions are slow (~110-165 ms a chip here). This module
reads the SAME serialized network (same weights) and runs the forward pass as im2col + matmul on
NumPy's BLAS, in float32, with each affine layer folded into the convolution below it. Descriptors
agree with dlib's to < 1e-6 per component on the shared photos (tests/capture/test_dlib_resnet.py
asserts <= 1e-4). Time: ~15 ms a chip on 2 idle cores; OpenBLAS's threads slow down markedly when
other processes keep the cores busy.

The architecture (dlib ``examples/dnn_face_recognition_ex.cpp``)::

    block<N,stride>  = affine<con<N,3,3,1,1, relu<affine<con<N,3,3,stride,stride, x>>>>>
    ares<N>          = relu(block<N,1>(x) + x)
    ares_down<N>     = relu(block<N,2>(x) + avg_pool<2,2,2,2>(x))
    net = fc_no_bias<128>(avg_pool_everything(level0(level1(level2(level3(level4(
              max_pool<3,3,2,2>(relu(affine(con<32,7,7,2,2>(input_rgb_image_sized<150>)))))))))))

File format (dlib ``serialize.h``, ``dnn/core.h``, ``dnn/layers.h``, ``cuda/tensor.h``): the loss
layer's header, then the layers from the input upwards; integers are a control byte (sign bit 0x80,
length in the low 4 bits) and little-endian magnitude bytes; scalar floats are (mantissa, exponent)
integer pairs; tensors are version 2, four integer dimensions, then raw little-endian float32.
A layer's weights are found by its name string (``con_4``, ``affine_``, ...) and read in order.
Where dlib's ``add_prev`` adds tensors of different shapes (the down-sampling residuals), the
smaller one is zero-padded (dlib's ``tt::add`` semantics).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHIP_SIZE = 150


class ModelFormatError(ValueError):
    """The file is not the dlib ResNet v1 network as this module understands it."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.d = data
        self.p = 0

    def int(self) -> int:
        c = self.d[self.p]
        n = c & 0x0F
        if n > 8:
            raise ModelFormatError(f"bad integer at {self.p}")
        v = int.from_bytes(self.d[self.p + 1:self.p + 1 + n], "little")
        self.p += 1 + n
        return -v if c & 0x80 else v

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0 ** exponent

    def string(self) -> str:
        n = self.int()
        s = self.d[self.p:self.p + n]
        self.p += n
        return s.decode("latin-1")

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ModelFormatError(f"unsupported tensor version at {self.p}")
        dims = tuple(self.int() for _ in range(4))
        count = int(np.prod(dims))
        arr = np.frombuffer(self.d, dtype="<f4", count=count, offset=self.p).astype(np.float32)
        self.p += 4 * count
        return arr.reshape(dims)

    def alias(self) -> tuple[int, int, int, int]:
        self.int()      # version
        return tuple(self.int() for _ in range(4))

    def seek_name(self, name: str) -> None:
        """Move to just after the next serialized string ``name`` (layers without weights are skipped)."""
        key = bytes([1, len(name)]) + name.encode("ascii")
        i = self.d.find(key, self.p)
        if i < 0:
            raise ModelFormatError(f"layer {name} not found after byte {self.p}")
        self.p = i + len(key)


@dataclass
class _Conv:
    w: np.ndarray          # (kh*kw*C, N), rows ordered (i, j, c) to match the im2col below
    b: np.ndarray
    n: int
    k: int
    stride: int
    pad: int


def _read_con(r: _Reader, channels: int) -> _Conv:
    params = r.tensor().reshape(-1)
    n, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
    fshape = r.alias()
    if nr != nc or sy != sx or py != px or fshape != (n, channels, nr, nc):
        raise ModelFormatError(f"unexpected convolution {fshape} stride {sy},{sx} pad {py},{px}")
    size = n * channels * nr * nc
    if params.size != size + n:
        raise ModelFormatError("convolution parameter count")
    w = params[:size].reshape(n, channels, nr, nc).transpose(2, 3, 1, 0).reshape(nr * nc * channels, n)
    return _Conv(np.ascontiguousarray(w), params[size:].copy(), n, nr, sy, py)


def _read_con_affine(r: _Reader, channels: int) -> _Conv:
    """A ``con_`` layer and the ``affine_`` (per channel: x * gamma + beta) on top of it, folded into one."""
    r.seek_name("con_4")
    conv = _read_con(r, channels)
    r.seek_name("affine_")
    params = r.tensor().reshape(-1)
    if params.size != 2 * conv.n:
        raise ModelFormatError("affine parameter count")
    gamma, beta = params[:conv.n], params[conv.n:]
    conv.w = np.ascontiguousarray(conv.w * gamma)
    conv.b = (conv.b * gamma + beta).astype(np.float32)
    return conv


def _read_pool(r: _Reader) -> tuple[int, int, int, int, int, int]:
    return tuple(r.int() for _ in range(6))


def _space_to_depth_conv(conv: _Conv) -> _Conv:
    """The 7 x 7 stride-2 input convolution as a 4 x 4 stride-1 one on 2 x 2 blocks (12 channels).

    out[y, x] = sum over i, j < 7 of in[2y + i, 2x + j]; with i = 2a + p (a < 4, p < 2) that is
    sum over a, b < 4 of blocks[y + a, x + b, (p, q, c)]; the weights for i or j = 7 are zero.
    Same sums, but the im2col copies 16 slices of 12 channels instead of 49 of 3.
    """
    if (conv.k, conv.stride, conv.pad) != (7, 2, 0):
        raise ModelFormatError("unexpected input convolution")
    w = conv.w.reshape(7, 7, 3, conv.n)
    w8 = np.zeros((8, 8, 3, conv.n), dtype=np.float32)
    w8[:7, :7] = w
    w8 = w8.reshape(4, 2, 4, 2, 3, conv.n).transpose(0, 2, 1, 3, 4, 5)     # (a, b, p, q, c, n)
    return _Conv(np.ascontiguousarray(w8.reshape(4 * 4 * 12, conv.n)), conv.b, conv.n, 4, 1, 0)


def _space_to_depth(x: np.ndarray) -> np.ndarray:
    h, w, c = x.shape
    return x.reshape(h // 2, 2, w // 2, 2, c).transpose(0, 2, 1, 3, 4).reshape(h // 2, w // 2, 4 * c)


# (filters, stride of the block's first convolution) from the input side
_BLOCKS = ([(32, 1)] * 3 + [(64, 2)] + [(64, 1)] * 3 + [(128, 2)] + [(128, 1)] * 2
           + [(256, 2)] + [(256, 1)] * 2 + [(256, 2)])


class DlibResNet:
    """The network's weights and a float32 forward pass; ``descriptor(chip)`` takes a 150 x 150 RGB chip."""

    def __init__(self, path: str | Path) -> None:
        r = _Reader(Path(path).read_bytes())
        r.int()                                       # add_loss_layer version
        if r.string() != "loss_metric_2":
            raise ModelFormatError("not a dlib loss_metric network")
        r.seek_name("input_rgb_image_sized")
        self.mean = np.array([r.float(), r.float(), r.float()], dtype=np.float32)
        if r.int() != CHIP_SIZE or r.int() != CHIP_SIZE:
            raise ModelFormatError("input size is not 150 x 150")
        self.conv1 = _space_to_depth_conv(_read_con_affine(r, 3))
        r.seek_name("max_pool_2")
        if _read_pool(r) != (3, 3, 2, 2, 0, 0):
            raise ModelFormatError("unexpected max_pool")
        self.blocks = []
        channels = 32
        for n, stride in _BLOCKS:
            c1 = _read_con_affine(r, channels)
            c2 = _read_con_affine(r, n)
            if c1.n != n or c1.stride != stride or c2.stride != 1 or c1.k != 3 or c2.k != 3:
                raise ModelFormatError("unexpected block layout")
            if stride == 2:
                r.seek_name("avg_pool_2")
                if _read_pool(r) != (2, 2, 2, 2, 0, 0):
                    raise ModelFormatError("unexpected avg_pool on the skip path")
            self.blocks.append((c1, c2, stride))
            channels = n
        r.seek_name("avg_pool_2")
        if _read_pool(r)[:2] != (0, 0):
            raise ModelFormatError("expected avg_pool_everything")
        r.seek_name("fc_2")
        outputs, inputs = r.int(), r.int()
        fc = r.tensor().reshape(-1)
        if (outputs, inputs) != (128, channels) or fc.size != outputs * inputs:
            raise ModelFormatError("unexpected fc layer (expected 256 -> 128 without bias)")
        self.fc = np.ascontiguousarray(fc.reshape(inputs, outputs))
        self._lock = threading.Lock()     # reuse of im2col buffers
        self._buffers: dict[tuple, np.ndarray] = {}

    # -- layers on (H, W, C) float32 arrays ------------------------------------------------------
    def _buffer(self, key: tuple, shape: tuple) -> np.ndarray:
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.zeros(shape, dtype=np.float32)
        return buf

    def _conv(self, x: np.ndarray, conv: _Conv, relu: bool) -> np.ndarray:
        """Convolution with its affine layer folded in (``_fold``), optionally followed by relu."""
        h, w, c = x.shape
        k, s, p = conv.k, conv.stride, conv.pad
        if p:
            padded = self._buffer(("pad", h, w, c, p), (h + 2 * p, w + 2 * p, c))   # border stays 0
            padded[p:p + h, p:p + w] = x
            x, h, w = padded, h + 2 * p, w + 2 * p
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        cols = self._buffer(("cols", ho, wo, k, c), (ho, wo, k, k, c))
        for i in range(k):
            for j in range(k):
                cols[:, :, i, j, :] = x[i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s, :]
        out = cols.reshape(ho * wo, k * k * c) @ conv.w
        out += conv.b
        if relu:
            np.maximum(out, 0, out=out)
        return out.reshape(ho, wo, conv.n)

    @staticmethod
    def _add_relu(y: np.ndarray, skip: np.ndarray) -> np.ndarray:
        """relu(add_prev): dlib adds tensors of different shapes with the missing part as zero."""
        if y.shape != skip.shape:
            shape = tuple(max(a, b) for a, b in zip(y.shape, skip.shape, strict=True))
            out = np.zeros(shape, dtype=np.float32)
            out[:y.shape[0], :y.shape[1], :y.shape[2]] = y
            y = out
        y[:skip.shape[0], :skip.shape[1], :skip.shape[2]] += skip
        np.maximum(y, 0, out=y)
        return y

    @staticmethod
    def _avg_pool2(x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        ho, wo = (h - 2) // 2 + 1, (w - 2) // 2 + 1
        x = x[:2 * ho, :2 * wo].reshape(ho, 2, wo, 2, c)
        out = x[:, 0, :, 0] + x[:, 0, :, 1]
        out += x[:, 1, :, 0]
        out += x[:, 1, :, 1]
        out *= np.float32(0.25)
        return out

    @staticmethod
    def _max_pool3s2(x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        ho, wo = (h - 3) // 2 + 1, (w - 3) // 2 + 1
        out = x[0:2 * (ho - 1) + 1:2, 0:2 * (wo - 1) + 1:2].copy()
        for i in range(3):
            for j in range(3):
                if i or j:
                    np.maximum(out, x[i:i + 2 * (ho - 1) + 1:2, j:j + 2 * (wo - 1) + 1:2], out=out)
        return out

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        """128 float32 values for a 150 x 150 x 3 uint8 RGB chip (as ``compute_face_descriptor``)."""
        chip = np.asarray(chip)
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"need a {CHIP_SIZE} x {CHIP_SIZE} RGB chip, got {chip.shape}")
        x = (chip.astype(np.float32) - self.mean) / np.float32(256.0)
        with self._lock:
            x = self._max_pool3s2(self._conv(_space_to_depth(x), self.conv1, True))
            for c1, c2, stride in self.blocks:
                y = self._conv(self._conv(x, c1, True), c2, False)
                x = self._add_relu(y, self._avg_pool2(x) if stride == 2 else x)
        pooled = x.reshape(-1, x.shape[2]).mean(axis=0, dtype=np.float32)
        return (pooled @ self.fc).astype(np.float32)
