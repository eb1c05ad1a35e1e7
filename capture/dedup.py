"""Exact nearest-template search (NumPy, float32), shared by the laptop and the registry.

The laptop holds a few thousand templates: a full scan is a couple of milliseconds. The registry
holds millions (3.4 M x 128 float32 = 1.7 GB): a full scan reads every byte per probe and is bound
by memory bandwidth (~115 ms on a 2-core machine). The index therefore answers in two stages and
stays exact:

1. A *filter* reads a narrow matrix of ``FILTER_COLUMNS`` float32 per template (a quarter of the
   bytes): the first ``head`` coordinates of the template in a rotated, centred frame, the norm of
   the remaining ``tail`` coordinates, and the squared norm. By Cauchy–Schwarz
   ``p·y <= p_h·y_h + |p_t||y_t|``, so ``|p|^2 + |y|^2 - 2(p_h·y_h + |p_t||y_t|)`` is a lower bound
   of the squared distance; every template whose lower bound exceeds the radius (plus a slack far
   larger than float32 rounding) cannot be a hit and is skipped. One matrix-vector product computes
   that bound for all templates at once (the probe's row is ``[2 p_h, 2|p_t|, 1]``).
2. The survivors' distances are computed exactly from the stored vectors, with the same formula
   as a full scan (``distances``), so the results are identical to brute force, bit for bit.

Any orthogonal rotation and any centre preserve distances, so they are free to choose: centring
on the templates' mean and rotating onto their principal axes (``fit_rotation``, run only when
asked) puts most of the variance of real face descriptors into the head and makes the bound
tight. Without it (identity, no centring) the search is just as exact, only the filter lets more
through. Small indexes (below ``fast_from`` templates) skip the filter: a full scan is cheaper.

Keys are whatever the caller uses (record ids). Adds, replacements and removals are incremental
(arrays grow by doubling; a removal moves the last template into the hole).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .faces import DESCRIPTOR_DIM, FaceTemplate

FILTER_COLUMNS = 32          # 30 head coordinates + tail norm + squared norm: 128-byte rows
HEAD_DIMS = FILTER_COLUMNS - 2
FAST_FROM = 20_000           # below this many templates a full scan beats the filter
_SCAN_CHUNK = 65_536         # rows per block of a full scan (bounds its temporary memory)
# Slack on the squared-distance bound, relative to the magnitudes involved. float32 rounding in
# the rotation, the norms and the 32-term product is ~1e-6 of those magnitudes; 1e-4 is far above
# it and lets through only templates within a hair of the radius, which stage 2 then measures.
_SLACK = 1e-4


def _vec(vector: np.ndarray | FaceTemplate) -> np.ndarray:
    v = vector.vector if isinstance(vector, FaceTemplate) else np.asarray(vector, dtype=np.float32)
    v = v.reshape(-1).astype(np.float32, copy=False)
    if v.shape != (DESCRIPTOR_DIM,):
        raise ValueError(f"need a {DESCRIPTOR_DIM}-d vector")
    if not np.all(np.isfinite(v)):
        raise ValueError("the vector has non-finite values")
    return v


def exact_distances(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Euclidean distances, float32: THE formula of this module (each row on its own, so a subset
    of rows gets exactly the values the full scan gets)."""
    diff = rows - vector
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


@dataclass(frozen=True)
class SearchResult:
    within: list[tuple[Hashable, float]]    # every template within the radius, nearest first
    nearest: list[tuple[Hashable, float]]   # the k nearest, whatever their distance, nearest first


class TemplateIndex:
    def __init__(self, items: Iterable[tuple[Hashable, np.ndarray | FaceTemplate]] = (), *,
                 fast_from: int = FAST_FROM, capacity: int = 64, filter_columns: int = FILTER_COLUMNS) -> None:
        if not 3 <= filter_columns <= DESCRIPTOR_DIM + 1:
            raise ValueError("filter_columns: 3..129")
        self.fast_from = fast_from
        self._cols = filter_columns
        self._head = filter_columns - 2
        self._keys: list[Hashable] = []
        self._pos: dict[Hashable, int] = {}
        capacity = max(1, capacity)
        self._m = np.empty((capacity, DESCRIPTOR_DIM), dtype=np.float32)   # the templates as given
        self._f = np.empty((capacity, self._cols), dtype=np.float32)   # the filter's rows
        self._center = np.zeros(DESCRIPTOR_DIM, dtype=np.float32)
        self._basis = np.eye(DESCRIPTOR_DIM, dtype=np.float32)             # columns: the rotated axes
        self._max_sq = 0.0   # the largest |y|^2 ever added (not lowered on removal: only looser)
        for key, vec in items:
            self.add(key, vec)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._pos

    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def vector(self, key: Hashable) -> np.ndarray:
        return self._m[self._pos[key]].copy()

    # -- storage -----------------------------------------------------------------------------
    def _filter_rows(self, vectors: np.ndarray) -> np.ndarray:
        y = (vectors - self._center) @ self._basis
        rows = np.empty((len(vectors), self._cols), dtype=np.float32)
        rows[:, :self._head] = y[:, :self._head]
        tail_sq = np.einsum("ij,ij->i", y[:, self._head:], y[:, self._head:])
        rows[:, self._head] = np.sqrt(tail_sq)
        rows[:, self._head + 1] = -(np.einsum("ij,ij->i", y[:, :self._head], y[:, :self._head]) + tail_sq)
        if len(rows):
            self._max_sq = max(self._max_sq, float(-rows[:, self._head + 1].min()))
        return rows

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` templates at once (a bulk load without repeated doubling)."""
        if capacity <= self._m.shape[0]:
            return
        n = len(self._keys)
        for name, cols in (("_m", DESCRIPTOR_DIM), ("_f", self._cols)):
            grown = np.empty((capacity, cols), dtype=np.float32)
            grown[:n] = getattr(self, name)[:n]
            setattr(self, name, grown)

    def add(self, key: Hashable, vector: np.ndarray | FaceTemplate) -> None:
        """Add or replace ``key``'s template."""
        v = _vec(vector)
        row = self._filter_rows(v[None, :])[0]
        if key in self._pos:
            i = self._pos[key]
            self._m[i], self._f[i] = v, row
            return
        n = len(self._keys)
        if n == self._m.shape[0]:
            self.reserve(n * 2)
        self._m[n], self._f[n] = v, row
        self._pos[key] = n
        self._keys.append(key)

    def add_many(self, keys: Sequence[Hashable], vectors: np.ndarray) -> None:
        """Add or replace many templates (rows of ``vectors``) in one step."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != DESCRIPTOR_DIM or len(vectors) != len(keys):
            raise ValueError(f"need one {DESCRIPTOR_DIM}-d row per key")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("the vectors have non-finite values")
        fresh: list[int] = []
        seen: set[Hashable] = set()
        for j, key in enumerate(keys):
            if key in self._pos or key in seen:
                self.add(key, vectors[j])
            else:
                seen.add(key)
                fresh.append(j)
        if not fresh:
            return
        n, extra = len(self._keys), len(fresh)
        if n + extra > self._m.shape[0]:
            self.reserve(max(n + extra, 2 * self._m.shape[0]))
        block = vectors[fresh] if extra != len(keys) else vectors
        for start in range(0, extra, _SCAN_CHUNK):
            part = block[start:start + _SCAN_CHUNK]
            self._m[n + start:n + start + len(part)] = part
            self._f[n + start:n + start + len(part)] = self._filter_rows(part)
        for offset, j in enumerate(fresh):
            self._pos[keys[j]] = n + offset
            self._keys.append(keys[j])

    def remove(self, key: Hashable) -> None:
        i = self._pos.pop(key)
        last = len(self._keys) - 1
        if i != last:
            moved = self._keys[last]
            self._m[i] = self._m[last]
            self._f[i] = self._f[last]
            self._keys[i] = moved
            self._pos[moved] = i
        self._keys.pop()

    def fit_rotation(self) -> None:
        """Centre on the templates' mean and rotate onto their principal axes (largest variance
        first), then recompute the filter. Exactness does not depend on it; speed does."""
        n = len(self._keys)
        if n < 2:
            return
        total = np.zeros(DESCRIPTOR_DIM)
        for start in range(0, n, _SCAN_CHUNK):
            total += self._m[start:min(n, start + _SCAN_CHUNK)].sum(axis=0, dtype=np.float64)
        mean = total / n
        cov = np.zeros((DESCRIPTOR_DIM, DESCRIPTOR_DIM))
        for start in range(0, n, _SCAN_CHUNK):
            block = self._m[start:min(n, start + _SCAN_CHUNK)].astype(np.float64) - mean
            cov += block.T @ block
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        order = np.argsort(eigenvalues)[::-1]
        self._center = mean.astype(np.float32)
        self._basis = np.ascontiguousarray(eigenvectors[:, order]).astype(np.float32)
        self._max_sq = 0.0
        for start in range(0, n, _SCAN_CHUNK):
            stop = min(n, start + _SCAN_CHUNK)
            self._f[start:stop] = self._filter_rows(self._m[start:stop])

    # -- queries -----------------------------------------------------------------------------
    def distances(self, vector: np.ndarray | FaceTemplate) -> np.ndarray:
        """Euclidean distance to every template, in insertion order (after removals: swapped)."""
        q = _vec(vector)
        n = len(self._keys)
        out = np.empty(n, dtype=np.float32)
        for start in range(0, n, _SCAN_CHUNK):
            stop = min(n, start + _SCAN_CHUNK)
            out[start:stop] = exact_distances(self._m[start:stop], q)
        return out

    def _bound(self, q: np.ndarray) -> tuple[np.ndarray, float, float]:
        """(g, |p|^2, slack) with ``|p|^2 - g <= squared distance`` for every template."""
        p = (q - self._center) @ self._basis
        tail = float(np.sqrt(np.dot(p[self._head:], p[self._head:])))
        w = np.empty(self._cols, dtype=np.float32)
        w[:self._head] = 2 * p[:self._head]
        w[self._head] = 2 * tail
        w[self._head + 1] = 1.0
        pp = float(np.dot(p.astype(np.float64), p.astype(np.float64)))
        g = self._f[:len(self._keys)] @ w
        return g, pp, _SLACK * (pp + self._max_sq) + 1e-6

    def _without(self, idx: np.ndarray, exclude: Collection[Hashable]) -> np.ndarray:
        if exclude:
            gone = [self._pos[k] for k in exclude if k in self._pos]
            if gone:
                idx = idx[~np.isin(idx, gone)]
        return idx

    @staticmethod
    def _sorted(idx: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest first; ties in position order, as a stable sort of a full scan."""
        order = np.lexsort((idx, d))
        return idx[order], d[order]

    def _ranked(self, idx: np.ndarray, q: np.ndarray, exclude: Collection[Hashable]
                ) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``idx`` without the excluded keys, with exact distances, nearest first."""
        idx = self._without(idx, exclude)
        return self._sorted(idx, exact_distances(self._m[idx], q))

    def _pairs(self, idx: np.ndarray, d: np.ndarray) -> list[tuple[Hashable, float]]:
        return [(self._keys[i], float(x)) for i, x in zip(idx.tolist(), d.tolist(), strict=True)]

    def search(self, vector: np.ndarray | FaceTemplate, radius: float, *, k: int = 0,
               exclude: Collection[Hashable] = ()) -> SearchResult:
        """Every template within ``radius`` (inclusive) and the ``k`` nearest, leaving out ``exclude``."""
        q = _vec(vector)
        n = len(self._keys)
        if n == 0:
            return SearchResult([], [])
        if n < self.fast_from:
            idx, d = self._ranked(np.arange(n), q, exclude)
            within = int(np.searchsorted(d, np.float32(radius), side="right")) if radius >= 0 else 0
            return SearchResult(self._pairs(idx[:within], d[:within]), self._pairs(idx[:k], d[:k]))

        g, pp, slack = self._bound(q)
        within_idx = np.empty(0, dtype=np.intp)
        within_d = np.empty(0, dtype=np.float32)
        if radius >= 0:
            cand = self._without(np.flatnonzero(g >= pp - float(radius) ** 2 - slack), exclude)
            d = exact_distances(self._m[cand], q)
            keep = d <= np.float32(radius)
            within_idx, within_d = self._sorted(cand[keep], d[keep])
        if k <= 0:
            near_idx, near_d = within_idx[:0], within_d[:0]
        elif len(within_idx) >= k:       # the k nearest are all within the radius
            near_idx, near_d = within_idx[:k], within_d[:k]
        else:
            near_idx, near_d = self._nearest(g, pp, slack, q, k, exclude)
        return SearchResult(self._pairs(within_idx, within_d), self._pairs(near_idx, near_d))

    def _nearest(self, g: np.ndarray, pp: float, slack: float, q: np.ndarray, k: int,
                 exclude: Collection[Hashable]) -> tuple[np.ndarray, np.ndarray]:
        # The k + |exclude| smallest lower bounds give k real templates; the k-th of their exact
        # distances, D, bounds the answer: only templates whose lower bound is <= D^2 can beat it.
        n = len(g)
        want = min(n, k + len(exclude))
        first = np.argpartition(-g, want - 1)[:want] if want < n else np.arange(n)
        idx, d = self._ranked(first, q, exclude)
        if len(d) == 0:
            return idx, d
        worst = float(d[min(k, len(d)) - 1])
        cand = np.flatnonzero(g >= pp - worst * worst - slack)
        idx, d = self._ranked(cand, q, exclude)
        return idx[:k], d[:k]

    def nearest(self, vector: np.ndarray | FaceTemplate, k: int = 5, *,
                exclude: Collection[Hashable] = ()) -> list[tuple[Hashable, float]]:
        if k <= 0:
            return []
        return self.search(vector, -1.0, k=k, exclude=exclude).nearest

    def likely_duplicates(self, vector: np.ndarray | FaceTemplate, threshold: float, *,
                          exclude: Collection[Hashable] = ()) -> list[tuple[Hashable, float]]:
        """Every template within ``threshold`` (inclusive, as face_recognition's compare_faces), nearest first."""
        return self.search(vector, threshold, exclude=exclude).within
