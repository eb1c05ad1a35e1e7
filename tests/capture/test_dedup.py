"""The laptop's template index: exact, sorted, and the same as a plain loop."""

from __future__ import annotations

import numpy as np

from capture.dedup import TemplateIndex
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
