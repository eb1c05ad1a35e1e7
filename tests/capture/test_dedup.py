"""The laptop's template index: exact, sorted, and the same as a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from capture.dedup import TemplateIndex, exact_distances
from capture.faces import FaceTemplate, face_distance


def _vectors(n: int, seed: int = 7) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 128)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_nearest_equals_a_python_loop():
    """nearest() returns the same keys and distances as computing every distance in a loop."""
    vecs = _vectors(500)
    index = TemplateIndex((f"r{i}", v) for i, v in enumerate(vecs))
    probe = vecs[42] + 0.01
    loop = sorted(((f"r{i}", face_distance(v, probe)) for i, v in enumerate(vecs)), key=lambda kv: kv[1])[:5]
    got = index.nearest(probe, k=5)
    assert [k for k, _ in got] == [k for k, _ in loop]
    assert np.allclose([d for _, d in got], [d for _, d in loop], atol=1e-5)


def test_likely_duplicates_within_threshold_sorted():
    """likely_duplicates() lists every template within the threshold, nearest first, and nothing else."""
    vecs = _vectors(50)
    index = TemplateIndex()
    for i, v in enumerate(vecs):
        index.add(i, v)
    index.add("twin", vecs[3] + 0.02)
    hits = index.likely_duplicates(vecs[3], 0.6)
    assert [k for k, _ in hits] == [3, "twin"]
    assert hits[0][1] == 0.0 and hits[1][1] <= 0.6


def test_remove_and_replace_keep_the_index_consistent():
    """After removals and a replacement the index still agrees with the remaining templates."""
    vecs = _vectors(100)
    index = TemplateIndex((i, v) for i, v in enumerate(vecs))
    for i in range(0, 100, 3):
        index.remove(i)
    index.add(1, vecs[50])            # replace key 1's template
    assert len(index) == 100 - 34 and 0 not in index
    assert {k for k, _ in index.likely_duplicates(vecs[50], 1e-6)} == {1, 50}
    assert index.nearest(vecs[98], k=1)[0][0] == 98


def test_empty_index_and_templates_accepted():
    """An empty index answers with nothing; FaceTemplate objects are accepted as vectors."""
    index = TemplateIndex()
    v = FaceTemplate(_vectors(1)[0])
    assert index.nearest(v) == [] and index.likely_duplicates(v, 0.6) == []
    index.add("a", v)
    assert index.nearest(v)[0] == ("a", 0.0)


# -- the two-stage search at registry scale: exact, the same as a full scan ------------------------

def _faces_like(n: int, seed: int) -> np.ndarray:
    """Descriptor-like vectors: a common mean, decaying variance on rotated axes (as bench_face_search)."""
    rng = np.random.default_rng(seed)
    axes, _ = np.linalg.qr(rng.normal(size=(128, 128)))
    spread = np.sqrt(0.38 / np.arange(1, 129) / np.sum(1 / np.arange(1, 129)))
    mean = rng.normal(size=128)
    mean *= 1.3 / np.linalg.norm(mean)
    return (mean + (rng.standard_normal((n, 128)) * spread) @ axes.T).astype(np.float32)


def _brute(rows: dict, probe: np.ndarray, radius: float, exclude=()) -> list:
    """Every key within the radius from a full scan of every row (each row's distance is the value it
    gets alone: test_exact_distances_of_a_subset_are_bit_identical), sorted by (distance, key)."""
    keys = [k for k in rows if k not in exclude]
    d = exact_distances(np.stack([rows[k] for k in keys]), probe)
    out = [(k, float(x)) for k, x in zip(keys, d, strict=True) if x <= np.float32(radius)]
    return sorted(out, key=lambda kv: (kv[1], str(kv[0])))


def _planted(rng: np.random.Generator, probe: np.ndarray, distance: float) -> np.ndarray:
    """A vector at (float32-rounded) ``distance`` from ``probe``."""
    u = rng.normal(size=128)
    return (probe + distance * u / np.linalg.norm(u)).astype(np.float32)


SHAPES = [dict(fit=False, levels=1, head0=62), dict(fit=True, levels=1, head0=30),
          dict(fit=True, levels=3, head0=62), dict(fit=False, levels=5, head0=30)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"fit={s['fit']}-levels={s['levels']}-head0={s['head0']}")
def test_two_stage_search_equals_brute_force_through_adds_replaces_and_removes(shape):
    """With the filter forced on, radius results (keys and distances, one probe or many at once) equal brute force on every probe,
    including vectors planted within a hair of the radius, after adds, replacements and removals."""
    rng = np.random.default_rng(5)
    vecs = _faces_like(6000, seed=1)
    rows = {i: v for i, v in enumerate(vecs)}
    index = TemplateIndex(fast_from=0, filter_levels=shape["levels"], head0=shape["head0"], refine_from=0)
    index.add_many(list(rows), vecs)
    probes = _faces_like(12, seed=2)
    radius = 0.6
    for j, p in enumerate(probes):             # near-duplicates, and vectors on both sides of the radius
        for k, dist in enumerate((0.1, 0.35, radius - 1e-6, radius, radius + 1e-6, 0.59, 0.61)):
            key = f"p{j}-{k}"
            rows[key] = _planted(rng, p, dist)
            index.add(key, rows[key])
    if shape["fit"]:
        index.fit_rotation()

    def agree(exclude=()):
        together = index.search_many(probes, radius, exclude=[exclude] * len(probes))
        for p, batch in zip(probes, together, strict=True):
            alone = index.likely_duplicates(p, radius, exclude=exclude)
            assert batch == alone
            got = sorted(alone, key=lambda kv: (kv[1], str(kv[0])))
            want = sorted(_brute(rows, p, radius, exclude), key=lambda kv: (kv[1], str(kv[0])))
            assert got == want
            assert any(str(k).startswith("p") for k, _ in got)

    agree()
    for key in list(rows)[::7]:                      # removals (every 7th, planted ones too)
        index.remove(key)
        del rows[key]
    for key in list(rows)[:300:3]:                    # replacements: new vectors under old keys
        rows[key] = _planted(rng, probes[0], float(rng.uniform(0.2, 0.9)))
        index.add(key, rows[key])
    fresh = _faces_like(500, seed=3)                   # more adds (the arrays grow)
    index.add_many([f"n{i}" for i in range(500)], fresh)
    rows.update({f"n{i}": v for i, v in enumerate(fresh)})
    assert len(index) == len(rows)
    agree()
    agree(exclude=[k for k, _ in _brute(rows, probes[0], radius)[:3]])


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"fit={s['fit']}-levels={s['levels']}-head0={s['head0']}")
def test_two_stage_nearest_equals_brute_force(shape):
    """The k nearest from the filtered search are the full scan's k nearest, with their distances."""
    vecs = _faces_like(5000, seed=4)
    index = TemplateIndex(((i, v) for i, v in enumerate(vecs)), fast_from=0, filter_levels=shape["levels"],
                          head0=shape["head0"], refine_from=0)
    fit = shape["fit"]
    full = TemplateIndex(((i, v) for i, v in enumerate(vecs)), fast_from=10**9)
    if fit:
        index.fit_rotation()
    for p in _faces_like(10, seed=6):
        for k in (1, 5, 40):
            assert index.nearest(p, k) == full.nearest(p, k)
            d = full.distances(p)
            order = np.lexsort((np.arange(len(d)), d))[:k]
            assert index.nearest(p, k) == [(int(i), float(d[i])) for i in order]
        near = full.nearest(p, 3)
        assert index.nearest(p, 2, exclude=[near[0][0]]) == full.nearest(p, 3)[1:]
        result = index.search(p, 0.6, k=5)
        assert result.within == full.likely_duplicates(p, 0.6) and result.nearest == full.nearest(p, 5)


def test_exact_distances_of_a_subset_are_bit_identical():
    """A row's distance is the same float32 value whether computed alone, in a subset or in the full scan."""
    vecs = _faces_like(3000, seed=8)
    probe = _faces_like(1, seed=9)[0]
    full = exact_distances(vecs, probe)
    pick = np.array([5, 17, 2999, 1024])
    assert np.array_equal(exact_distances(vecs[pick], probe), full[pick])
    assert all(exact_distances(vecs[i:i + 1], probe)[0] == full[i] for i in pick)


def test_bad_vectors_are_refused():
    """A vector of the wrong size or with NaN is refused before it reaches the index."""
    index = TemplateIndex()
    with pytest.raises(ValueError):
        index.add("a", np.zeros(127, np.float32))
    with pytest.raises(ValueError):
        index.add("a", np.full(128, np.nan, np.float32))
    with pytest.raises(ValueError):
        index.add_many(["a", "b"], np.zeros((1, 128), np.float32))
    assert len(index) == 0


def test_search_many_with_no_probe_or_one_probe():
    """search_many answers an empty batch with nothing and a one-probe batch like likely_duplicates."""
    vecs = _faces_like(300, seed=12)
    index = TemplateIndex(((i, v) for i, v in enumerate(vecs)), fast_from=0)
    assert index.search_many([], 0.6) == []
    assert index.search_many([vecs[7]], 0.6) == [index.likely_duplicates(vecs[7], 0.6)]
    assert index.search_many([vecs[7], vecs[8]], -1.0) == [[], []]
