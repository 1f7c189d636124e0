"""Conformity (exact O(n·d)), its estimate from the mean, the KL vs alpha curve and set means,
against O(n^2) loops."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amumo_ng.analysis import conformity_stats
from amumo_ng.analysis.conformity_stats import (conformity, conformity_kl_curve, conformity_to, estimated_conformity,
                                                grouped_conformity, histogram_kl, mean_conformity)
from amumo_ng.analysis.validation import EmbeddingError

from conftest import brute_cosine, make_pairs


def brute_conformity(x):
    sims = brute_cosine(x, x)
    n = len(x)
    return np.array([sum(sims[i, j] for j in range(n) if j != i) / (n - 1) for i in range(n)])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), seed=st.integers(0, 99))
def test_conformity_equals_the_brute_force_mean_similarity(n, seed):
    x, _ = make_pairs(n, 4, seed=seed)
    result = conformity(x)
    assert result.dtype == np.float32 and result.shape == (n,)
    np.testing.assert_allclose(result, brute_conformity(x), atol=2e-6)


def test_conformity_hand_values():
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 5.0]])
    # cos: (1,2)=1, (1,3)=0, (2,3)=0
    np.testing.assert_allclose(conformity(x), [0.5, 0.5, 0.0], atol=1e-7)


def test_conformity_in_chunks_and_far_from_the_origin(monkeypatch):
    """Chunked sums equal one pass, and a shell far off the origin (float32 rows of norm ~1e4)
    keeps the exact value: unit vectors and sums are float64."""
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(50, 8)) + 1e4 * np.r_[1.0, np.zeros(7)]).astype(np.float32)
    whole = conformity(x)
    monkeypatch.setattr(conformity_stats, "_CHUNK_ROWS", 7)
    np.testing.assert_array_equal(conformity(x), whole)
    np.testing.assert_allclose(whole, brute_conformity(x), atol=1e-6)


def test_conformity_to_a_reference_by_loops():
    x, ref = make_pairs(6, 5, seed=2)
    ref = ref[:4]
    sims = brute_cosine(x, ref)
    np.testing.assert_allclose(conformity_to(x, ref), sims.mean(axis=1), atol=1e-6)


def test_estimated_conformity_is_the_least_squares_line_of_exact_on_cos_to_the_raw_mean():
    x, _ = make_pairs(40, 6, seed=8, offset=3.0)
    est = estimated_conformity(x)
    exact = brute_conformity(x)
    mean = x.astype(np.float64).mean(axis=0)
    cos = brute_cosine(x, mean[None, :])[:, 0]
    a, b = np.polyfit(cos, exact, 1)
    np.testing.assert_allclose(est.conformity, exact, atol=2e-6)
    np.testing.assert_allclose(est.cos_to_mean, cos, atol=1e-9)
    assert est.a == pytest.approx(a, rel=1e-4) and est.b == pytest.approx(b, abs=1e-5)
    assert est.pearson == pytest.approx(np.corrcoef(exact, a * cos + b)[0, 1], abs=1e-6)
    assert est.rmse == pytest.approx(math.sqrt(np.mean((exact - (a * cos + b)) ** 2)), abs=1e-6)


def test_with_the_mean_of_unit_vectors_the_estimate_is_exact():
    x, _ = make_pairs(30, 5, seed=9)
    est = estimated_conformity(x, mean="unit")
    n = len(x)
    unit_mean = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float64).mean(axis=0)
    assert est.pearson == pytest.approx(1.0, abs=1e-6)
    assert est.a == pytest.approx(n * np.linalg.norm(unit_mean) / (n - 1), rel=1e-5)
    assert est.b == pytest.approx(-1.0 / (n - 1), abs=1e-6)


def brute_kl(p, q, edges, lam):
    """Smoothed histogram KL by loops."""
    nb = len(edges) - 1

    def hist(values):
        counts = [0] * nb
        for v in values:
            for b in range(nb):
                last = b == nb - 1
                if edges[b] <= v < edges[b + 1] or (last and v == edges[-1]):
                    counts[b] += 1
                    break
        total = sum(counts)
        return [(c + lam) / (total + lam * nb) for c in counts]

    pp, qq = hist(p), hist(q)
    return sum(a * math.log(a / b) for a, b in zip(pp, qq))


def test_histogram_kl_is_finite_with_empty_bins_and_matches_loops():
    p = np.array([0.0, 0.1, 0.1, 0.2])
    q = np.array([0.8, 0.9, 1.0])   # no mass where p has it: every bin of p is empty in q
    kl, edges = histogram_kl(p, q, bins=5, smoothing=0.5)
    assert np.isfinite(kl) and kl > 0
    np.testing.assert_allclose(edges, np.linspace(0.0, 1.0, 6))
    assert kl == pytest.approx(brute_kl(p, q, edges, 0.5))
    assert histogram_kl(p, p, bins=4)[0] == pytest.approx(0.0, abs=1e-15)
    assert histogram_kl([1.0, 1.0], [1.0, 1.0], bins=3)[0] == pytest.approx(0.0, abs=1e-15)  # one value: one range
    assert np.isfinite(histogram_kl([1.0, 1.0], [1.0], bins=3)[0])
    with pytest.raises(EmbeddingError, match="pseudo-count"):
        histogram_kl(p, q, smoothing=0.0)
    with pytest.raises(EmbeddingError, match="non-empty"):
        histogram_kl([], q)
    with pytest.raises(EmbeddingError, match="increasing"):
        histogram_kl(p, q, edges=[0.0, 0.0, 1.0])


def test_kl_curve_recomputes_image_conformity_of_each_shift_by_loops():
    image, text = make_pairs(15, 4, seed=4, offset=2.5)
    alphas = [-0.5, 0.0, 0.5]
    curve = conformity_kl_curve(image, text, alphas=alphas, bins=6, smoothing=0.5)
    mean = image.astype(np.float64).mean(axis=0)
    c_text = brute_conformity(text)
    np.testing.assert_allclose(curve.text_conformity, c_text, atol=2e-6)
    for k, alpha in enumerate(alphas):
        c_img = brute_conformity(image.astype(np.float64) - alpha * mean)
        np.testing.assert_allclose(curve.image_conformity[k], c_img, atol=2e-6)
        lo, hi = min(c_img.min(), c_text.min()), max(c_img.max(), c_text.max())
        np.testing.assert_allclose(curve.edges[k], np.linspace(lo, hi, 7), atol=2e-6)
        # the histograms of the computed conformities (float32; the edges are their joint range)
        mine_i, mine_t = curve.image_conformity[k], curve.text_conformity
        assert curve.kl[k] == pytest.approx(brute_kl(mine_i, mine_t, curve.edges[k], 0.5), abs=1e-9)
        assert curve.kl_reverse[k] == pytest.approx(brute_kl(mine_t, mine_i, curve.edges[k], 0.5), abs=1e-9)
    assert curve.bins == 6 and curve.smoothing == 0.5


def test_mean_conformity_of_sets_and_groups():
    a, b = make_pairs(8, 4, seed=1)
    sets = mean_conformity({"a": a, "b": b})
    assert [s.name for s in sets] == ["a", "b"]
    assert sets[0].mean == pytest.approx(brute_conformity(a).mean(), abs=1e-6) and sets[0].n == 8
    against = mean_conformity({"b": b}, reference=a)[0]
    assert against.mean == pytest.approx(brute_cosine(b, a).mean(), abs=1e-6)
    labels = ["x", "y"] * 4
    groups = grouped_conformity(a, labels)
    full = brute_conformity(a)
    assert [g.name for g in groups] == ["x", "y"]
    assert groups[1].mean == pytest.approx(full[1::2].mean(), abs=1e-6)
    assert groups[0].median == pytest.approx(np.median(full[::2]), abs=1e-6)


def test_bad_input_catalogue():
    x, _ = make_pairs(6, 3)
    with pytest.raises(EmbeddingError, match="at least 2"):
        conformity(np.ones((1, 3)))
    with pytest.raises(EmbeddingError, match="all-zero"):
        conformity(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(EmbeddingError, match="at least 3"):
        estimated_conformity(x[:2])                       # n < 3
    with pytest.raises(EmbeddingError, match="constant set"):
        estimated_conformity(np.ones((5, 3)))             # one modality constant
    with pytest.raises(EmbeddingError, match="mean vector is zero"):
        estimated_conformity(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))
    with pytest.raises(EmbeddingError, match="at least 3"):
        conformity_kl_curve(x[:2], x)
    with pytest.raises(EmbeddingError, match="all-zero"):
        conformity_kl_curve(np.vstack([x, np.zeros((1, 3))]), x)
    with pytest.raises(EmbeddingError, match="origin"):
        conformity_kl_curve(np.vstack([x, x.mean(axis=0)]), x, alphas=[1.0])  # the mean row lands on 0
    # a constant image modality still gives a finite KL (one spike against the text spread)
    curve = conformity_kl_curve(np.ones((5, 3)) + [0, 0, 1], x, alphas=[0.0, 0.5])
    assert np.all(np.isfinite(curve.kl))
    with pytest.raises(EmbeddingError, match="one entry per row"):
        grouped_conformity(x, ["a"])
    with pytest.raises(EmbeddingError, match="non-empty mapping"):
        mean_conformity({})
