"""Exact nearest-template search (NumPy, float32), shared by the laptop and the registry.

The laptop holds a few thousand templates: a full scan is a couple of milliseconds. The registry
holds millions (3.4 M x 128 float32 = 1.7 GB): a full scan reads every byte per probe and is bound
by memory bandwidth (~115 ms on a 2-core machine). The index therefore answers in two stages and
stays exact:

1. A *filter* gives a lower bound of every template's distance and skips the templates whose bound
   exceeds the radius. With y the template and p the probe, both centred and rotated, split into a
   head of HEAD0 coordinates and the tail after it: by Cauchy–Schwarz ``p·y <= p_h·y_h + |p_t||y_t|``,
   so ``|p|^2 + |y|^2 - 2(p_h·y_h + |p_t||y_t|)`` is at most the squared distance. Level 0 stores
   ``[y_h, |y_t|, -|y|^2]`` (HEAD0 + 2 = 64 float32, half a template's bytes) for every template, so
   one matrix-vector product with ``[2 p_h, 2|p_t|, 1]`` bounds them all. Level j (only read for the
   templates that passed the levels before, and only when there are many) stores the next 30
   coordinates and the tail norms around them, replacing one Cauchy–Schwarz term by an exact
   product and a smaller one. A slack far larger than float32 rounding is added to every bound,
   so rounding never skips a true hit.
2. The survivors' distances are computed exactly from the stored vectors, with the same formula
   as a full scan (``exact_distances``, row by row), so the results are identical to brute force,
   bit for bit.

``search_many`` answers many probes with one pass over level 0 (a matrix product): the check
runner searches a batch of records that way.

Any orthogonal rotation and any centre preserve distances, so they are free to choose: centring
on the templates' mean and rotating onto their principal axes (``fit_rotation``, run only when
asked) gives the head as much of the variance as any HEAD0 coordinates can hold. dlib's descriptors
share a large common mean (norm ~1.3 of ~1.4 on the shared photos), so centring alone shrinks the
norms in the bound several-fold; the rotation helps as far as their variance is uneven. Without it (identity, no centring) the search is just as exact, only the filter lets more
through. Small indexes (below ``fast_from`` templates) skip the filter: a full scan is cheaper.

Keys are whatever the caller uses (record ids). Adds, replacements and removals are incremental
(arrays grow by doubling; a removal moves the last template into the hole).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .faces import DESCRIPTOR_DIM, FaceTemplate

FILTER_COLUMNS = 32          # per refinement level: 30 coordinates + two norms = 128-byte rows
HEAD = FILTER_COLUMNS - 2
# Coordinates in level 0, read for every template: 62 (256-byte rows) rather than 30 halves the
# survivors on descriptor-like data, which pays for the wider scan (bench/bench_face_search.py).
HEAD0 = 62
FILTER_LEVELS = 3            # level 0 for every template, levels 1-2 (coordinates 62-121) for its survivors
REFINE_FROM = 2_000          # fewer survivors than this go straight to exact distances
FAST_FROM = 20_000           # below this many templates a full scan beats the filter
_SCAN_CHUNK = 65_536         # rows per block of a full scan (bounds its temporary memory)
_BATCH_ROWS = 16_384         # rows per block of search_many's matrix product (stays in cache)
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
    np.multiply(diff, diff, out=diff)
    return np.sqrt(diff.sum(axis=1))


@dataclass(frozen=True)
class _Probe:
    q: np.ndarray
    weights: list[np.ndarray]   # one row per filter level (module docstring)
    pp: float                   # |p|^2 of the rotated, centred probe
    slack: float                # added to every bound: far above float32 rounding


@dataclass(frozen=True)
class SearchResult:
    within: list[tuple[Hashable, float]]    # every template within the radius, nearest first
    nearest: list[tuple[Hashable, float]]   # the k nearest, whatever their distance, nearest first


class TemplateIndex:
    def __init__(self, items: Iterable[tuple[Hashable, np.ndarray | FaceTemplate]] = (), *,
                 fast_from: int = FAST_FROM, capacity: int = 64, filter_levels: int = FILTER_LEVELS,
                 refine_from: int = REFINE_FROM, head0: int = HEAD0) -> None:
        if not 1 <= head0 < DESCRIPTOR_DIM:
            raise ValueError(f"head0: 1..{DESCRIPTOR_DIM - 1}")
        # Level j covers coordinates edges[j]:edges[j+1] (level 0 the first head0, then HEAD each).
        self._edges = [0, head0]
        while len(self._edges) <= filter_levels and self._edges[-1] < DESCRIPTOR_DIM:
            self._edges.append(min(DESCRIPTOR_DIM, self._edges[-1] + HEAD))
        if not 1 <= filter_levels <= len(self._edges) - 1:
            raise ValueError(f"filter_levels: 1..{len(self._edges) - 1} with head0={head0}")
        self._edges = self._edges[:filter_levels + 1]
        self.fast_from = fast_from
        self.refine_from = refine_from
        self._keys: list[Hashable] = []
        self._pos: dict[Hashable, int] = {}
        capacity = max(1, capacity)
        self._m = np.empty((capacity, DESCRIPTOR_DIM), dtype=np.float32)   # the templates as given
        # The filter's levels (module docstring). Level 0 (head0 + 2 float32 per template) is stored
        # transposed (one row per column): scanning it whole is then a long-row matrix-vector
        # product, 2-4x faster in OpenBLAS than the same bytes as short rows. The other levels are
        # only gathered for survivors, so they keep a template's values together (one cache line pair).
        self._level0 = np.empty((head0 + 2, capacity), dtype=np.float32)
        self._levels = [np.empty((capacity, FILTER_COLUMNS), dtype=np.float32) for _ in range(filter_levels - 1)]
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
    def _filter_rows(self, vectors: np.ndarray) -> list[np.ndarray]:
        """Each level's rows for ``vectors``. With y the rotated, centred vector, e the level edges and
        t(i) = |y[i:]|: level 0 = [y[:e1], t(e1), -|y|^2]; level j = [y[ej:ej+1], t(ej+1), t(ej)]."""
        y = (vectors - self._center) @ self._basis
        suffix = np.zeros((len(y), DESCRIPTOR_DIM + 1), dtype=np.float32)   # suffix[:, i] = |y[i:]|^2
        suffix[:, :DESCRIPTOR_DIM] = np.cumsum(np.square(y)[:, ::-1], axis=1)[:, ::-1]
        out = []
        for j in range(len(self._edges) - 1):
            lo, hi = self._edges[j], self._edges[j + 1]
            width = hi - lo if j == 0 else HEAD
            rows = np.zeros((len(y), width + 2), dtype=np.float32)
            rows[:, :hi - lo] = y[:, lo:hi]
            rows[:, width] = np.sqrt(suffix[:, hi])
            rows[:, width + 1] = -suffix[:, 0] if j == 0 else np.sqrt(suffix[:, lo])
            out.append(rows)
        if len(y):
            self._max_sq = max(self._max_sq, float(suffix[:, 0].max()))
        return out

    def _put(self, at: int | slice, vectors: np.ndarray) -> None:
        self._m[at] = vectors
        first, *rest = self._filter_rows(np.atleast_2d(vectors))
        self._level0[:, at] = first[0] if isinstance(at, int) else first.T
        for level, rows in zip(self._levels, rest, strict=True):
            level[at] = rows[0] if isinstance(at, int) else rows

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` templates at once (a bulk load without repeated doubling)."""
        if capacity <= self._m.shape[0]:
            return
        n = len(self._keys)

        def grown(a: np.ndarray) -> np.ndarray:
            out = np.empty((capacity, a.shape[1]), dtype=np.float32)
            out[:n] = a[:n]
            return out

        self._m = grown(self._m)
        self._levels = [grown(level) for level in self._levels]
        level0 = np.empty((self._level0.shape[0], capacity), dtype=np.float32)
        level0[:, :n] = self._level0[:, :n]
        self._level0 = level0

    def add(self, key: Hashable, vector: np.ndarray | FaceTemplate) -> None:
        """Add or replace ``key``'s template."""
        v = _vec(vector)
        if key in self._pos:
            self._put(self._pos[key], v)
            return
        n = len(self._keys)
        if n == self._m.shape[0]:
            self.reserve(n * 2)
        self._put(n, v)
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
            self._put(slice(n + start, n + start + len(part)), part)
        for offset, j in enumerate(fresh):
            self._pos[keys[j]] = n + offset
            self._keys.append(keys[j])

    def remove(self, key: Hashable) -> None:
        i = self._pos.pop(key)
        last = len(self._keys) - 1
        if i != last:
            moved = self._keys[last]
            self._m[i] = self._m[last]
            self._level0[:, i] = self._level0[:, last]
            for level in self._levels:
                level[i] = level[last]
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
            self._put(slice(start, stop), self._m[start:stop].copy())

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

    def _probe(self, q: np.ndarray) -> _Probe:
        p = (q - self._center) @ self._basis
        sq = np.square(p.astype(np.float64))
        tails = np.append(np.sqrt(np.cumsum(sq[::-1])[::-1]), 0.0)   # tails[i] = |p[i:]|
        weights = []
        for j in range(len(self._edges) - 1):
            lo, hi = self._edges[j], self._edges[j + 1]
            width = hi - lo if j == 0 else HEAD
            w = np.zeros(width + 2, dtype=np.float32)
            w[:hi - lo] = 2 * p[lo:hi]
            w[width] = 2 * tails[hi]
            w[width + 1] = 1.0 if j == 0 else -2 * tails[lo]
            weights.append(w)
        pp = float(sq.sum())
        return _Probe(q, weights, pp, _SLACK * (pp + self._max_sq) + 1e-6)

    def _bound(self, probe: _Probe) -> np.ndarray:
        """g with ``|p|^2 - g <= squared distance`` for every template (level 0 of the filter)."""
        return probe.weights[0] @ self._level0[:, :len(self._keys)]

    def _survivors(self, probe: _Probe, g: np.ndarray, limit: float) -> np.ndarray:
        """Positions whose lower bound ``|p|^2 - g`` is <= ``limit`` (a squared distance) at every
        level; the later levels are read only for the few that pass the first."""
        floor = probe.pp - limit - probe.slack
        cand = np.flatnonzero(g >= floor)
        return self._refine(probe, cand, g[cand], floor)

    def _refine(self, probe: _Probe, cand: np.ndarray, g_cand: np.ndarray, floor: float) -> np.ndarray:
        for level, weights in zip(self._levels, probe.weights[1:], strict=True):
            if len(cand) < self.refine_from:
                break
            g_cand = g_cand + np.take(level, cand, axis=0) @ weights
            keep = g_cand >= floor
            cand, g_cand = cand[keep], g_cand[keep]
        return cand

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
        return self._sorted(idx, exact_distances(np.take(self._m, idx, axis=0), q))

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

        probe = self._probe(q)
        g = self._bound(probe)
        within_idx = np.empty(0, dtype=np.intp)
        within_d = np.empty(0, dtype=np.float32)
        if radius >= 0:
            cand = self._without(self._survivors(probe, g, float(radius) ** 2), exclude)
            d = exact_distances(np.take(self._m, cand, axis=0), q)
            keep = d <= np.float32(radius)
            within_idx, within_d = self._sorted(cand[keep], d[keep])
        if k <= 0:
            near_idx, near_d = within_idx[:0], within_d[:0]
        elif len(within_idx) >= k:       # the k nearest are all within the radius
            near_idx, near_d = within_idx[:k], within_d[:k]
        else:
            near_idx, near_d = self._nearest(probe, g, k, exclude)
        return SearchResult(self._pairs(within_idx, within_d), self._pairs(near_idx, near_d))

    def _nearest(self, probe: _Probe, g: np.ndarray, k: int, exclude: Collection[Hashable]
                 ) -> tuple[np.ndarray, np.ndarray]:
        # The k + |exclude| smallest lower bounds give k real templates; the k-th of their exact
        # distances, D, bounds the answer: only templates whose lower bound is <= D^2 can beat it.
        n = len(g)
        want = min(n, k + len(exclude))
        first = np.argpartition(-g, want - 1)[:want] if want < n else np.arange(n)
        idx, d = self._ranked(first, probe.q, exclude)
        if len(d) == 0:
            return idx, d
        worst = float(d[min(k, len(d)) - 1])
        idx, d = self._ranked(self._survivors(probe, g, worst * worst), probe.q, exclude)
        return idx[:k], d[:k]

    def search_many(self, vectors: Sequence[np.ndarray | FaceTemplate], radius: float, *,
                    exclude: Sequence[Collection[Hashable]] | None = None) -> list[list[tuple[Hashable, float]]]:
        """``likely_duplicates`` for many probes at once: the first filter level is read once for
        all of them (a matrix product instead of one matrix-vector product per probe), the same
        results. ``exclude[i]`` leaves keys out of probe i's answer."""
        qs = [_vec(v) for v in vectors]
        exclude = exclude if exclude is not None else [()] * len(qs)
        if len(exclude) != len(qs):
            raise ValueError("one exclude collection per probe")
        n = len(self._keys)
        if n == 0 or radius < 0 or not qs:
            return [[] for _ in qs]
        if n < self.fast_from or len(qs) == 1:
            return [self.search(q, radius, exclude=ex).within for q, ex in zip(qs, exclude, strict=True)]
        probes = [self._probe(q) for q in qs]
        weights = np.stack([p.weights[0] for p in probes], axis=1)
        limit = float(radius) ** 2
        floors = np.array([p.pp - limit - p.slack for p in probes], dtype=np.float32)
        found: list[list[np.ndarray]] = [[] for _ in qs]
        values: list[list[np.ndarray]] = [[] for _ in qs]
        for start in range(0, n, _BATCH_ROWS):
            stop = min(n, start + _BATCH_ROWS)
            g = self._level0[:, start:stop].T @ weights
            rows, cols = np.nonzero(g >= floors)
            if len(rows) == 0:
                continue
            order = np.argsort(cols, kind="stable")          # rows stay ascending within a probe
            rows, cols = rows[order], cols[order]
            g_hit = g[rows, cols]
            bounds = np.searchsorted(cols, np.arange(len(qs) + 1))
            for i in np.flatnonzero(np.diff(bounds)):
                found[i].append(rows[bounds[i]:bounds[i + 1]] + start)
                values[i].append(g_hit[bounds[i]:bounds[i + 1]])
        out = []
        for i, probe in enumerate(probes):
            cand = np.concatenate(found[i]) if found[i] else np.empty(0, dtype=np.intp)
            g_cand = np.concatenate(values[i]) if values[i] else np.empty(0, dtype=np.float32)
            cand = self._without(self._refine(probe, cand, g_cand, float(floors[i])), exclude[i])
            d = exact_distances(np.take(self._m, cand, axis=0), probe.q)
            keep = d <= np.float32(radius)
            out.append(self._pairs(*self._sorted(cand[keep], d[keep])))
        return out

    def nearest(self, vector: np.ndarray | FaceTemplate, k: int = 5, *,
                exclude: Collection[Hashable] = ()) -> list[tuple[Hashable, float]]:
        if k <= 0:
            return []
        return self.search(vector, -1.0, k=k, exclude=exclude).nearest

    def likely_duplicates(self, vector: np.ndarray | FaceTemplate, threshold: float, *,
                          exclude: Collection[Hashable] = ()) -> list[tuple[Hashable, float]]:
        """Every template within ``threshold`` (inclusive, as face_recognition's compare_faces), nearest first."""
        return self.search(vector, threshold, exclude=exclude).within
