"""Exact nearest-template search over the templates enrolled on this laptop (NumPy, float32).

5,000 templates x 128 floats is 2.5 MB: a full scan is a couple of milliseconds, so there is no
approximate index to go wrong. Keys are whatever the caller uses (record ids).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

from .faces import DESCRIPTOR_DIM, FaceTemplate


def _vec(vector: np.ndarray | FaceTemplate) -> np.ndarray:
    v = vector.vector if isinstance(vector, FaceTemplate) else np.asarray(vector, dtype=np.float32)
    v = v.reshape(-1).astype(np.float32, copy=False)
    if v.shape != (DESCRIPTOR_DIM,):
        raise ValueError(f"need a {DESCRIPTOR_DIM}-d vector")
    return v


class TemplateIndex:
    def __init__(self, items: Iterable[tuple[Hashable, np.ndarray | FaceTemplate]] = ()) -> None:
        self._keys: list[Hashable] = []
        self._pos: dict[Hashable, int] = {}
        self._m = np.empty((64, DESCRIPTOR_DIM), dtype=np.float32)
        for key, vec in items:
            self.add(key, vec)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._pos

    def add(self, key: Hashable, vector: np.ndarray | FaceTemplate) -> None:
        """Add or replace ``key``'s template."""
        v = _vec(vector)
        if key in self._pos:
            self._m[self._pos[key]] = v
            return
        n = len(self._keys)
        if n == self._m.shape[0]:
            grown = np.empty((n * 2, DESCRIPTOR_DIM), dtype=np.float32)
            grown[:n] = self._m[:n]
            self._m = grown
        self._m[n] = v
        self._pos[key] = n
        self._keys.append(key)

    def remove(self, key: Hashable) -> None:
        i = self._pos.pop(key)
        last = len(self._keys) - 1
        if i != last:
            moved = self._keys[last]
            self._m[i] = self._m[last]
            self._keys[i] = moved
            self._pos[moved] = i
        self._keys.pop()

    def distances(self, vector: np.ndarray | FaceTemplate) -> np.ndarray:
        """Euclidean distance to every template, in insertion order (after removals: swapped)."""
        n = len(self._keys)
        diff = self._m[:n] - _vec(vector)
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def nearest(self, vector: np.ndarray | FaceTemplate, k: int = 5) -> list[tuple[Hashable, float]]:
        n = len(self._keys)
        if n == 0 or k <= 0:
            return []
        d = self.distances(vector)
        k = min(k, n)
        idx = np.argpartition(d, k - 1)[:k] if k < n else np.arange(n)
        idx = idx[np.argsort(d[idx], kind="stable")]
        return [(self._keys[i], float(d[i])) for i in idx]

    def likely_duplicates(self, vector: np.ndarray | FaceTemplate, threshold: float
                          ) -> list[tuple[Hashable, float]]:
        """Every template within ``threshold`` (inclusive, as face_recognition's compare_faces), nearest first."""
        if not self._keys:
            return []
        d = self.distances(vector)
        idx = np.nonzero(d <= threshold)[0]
        idx = idx[np.argsort(d[idx], kind="stable")]
        return [(self._keys[i], float(d[i])) for i in idx]
