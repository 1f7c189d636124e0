"""Modality gap, closing it, shifting along it and the loss-vs-shift curve, against hand values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amumo_ng.analysis.gap import (
    DEFAULT_DELTAS,
    close_gap,
    gap_loss_curve,
    modality_gap,
    shift_gap,
)
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs

SQRT2 = np.sqrt(2.0)


def unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    return np.array([row / np.sqrt(sum(v * v for v in row)) for row in x])


def brute_gap(image, text):
    i, t = unit_rows(image), unit_rows(text)
    return sum(i) / len(i) - sum(t) / len(t)


def test_modality_gap_hand_values():
    image = np.array([[2.0, 0.0], [0.0, 3.0]])
    text = np.array([[-1.0, 0.0], [0.0, -0.5]])
    gap = modality_gap(image, text)
    np.testing.assert_allclose(gap.vector, [1.0, 1.0], atol=1e-7)
    assert gap.distance == pytest.approx(SQRT2)
    np.testing.assert_allclose(gap.direction, [1 / SQRT2, 1 / SQRT2], atol=1e-7)
    assert gap.vector.dtype == np.float32


def test_modality_gap_matches_brute_force_on_random_pairs():
    image, text = make_pairs(20, 5)
    gap = modality_gap(image, text)
    expected = brute_gap(image, text)
    np.testing.assert_allclose(gap.vector, expected, atol=1e-6)
    assert gap.distance == pytest.approx(np.linalg.norm(expected), abs=1e-6)


def test_orthogonal_pair_closes_exactly():
    # I = e1, T = e2: Δ = (1, -1); both move to (1, 1)/√2, so the gap vanishes.
    image, text = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    closed_i, closed_t = close_gap(image, text)
    np.testing.assert_allclose(closed_i, [[1 / SQRT2, 1 / SQRT2]], atol=1e-7)
    np.testing.assert_allclose(closed_t, [[1 / SQRT2, 1 / SQRT2]], atol=1e-7)
    shifted_i, shifted_t = shift_gap(image, text, SQRT2)
    np.testing.assert_allclose(shifted_i, closed_i, atol=1e-7)
    np.testing.assert_allclose(shifted_t, closed_t, atol=1e-7)


def test_shift_by_twice_the_gap_swaps_the_orthogonal_pair():
    image, text = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    swapped_i, swapped_t = shift_gap(image, text, 2 * SQRT2)
    np.testing.assert_allclose(swapped_i, [[0.0, 1.0]], atol=1e-7)
    np.testing.assert_allclose(swapped_t, [[1.0, 0.0]], atol=1e-7)


def test_close_gap_follows_the_amumo_formula_and_lowers_the_distance():
    image, text = make_pairs(25, 6, offset=2.0)
    closed_i, closed_t = close_gap(image, text)
    half = brute_gap(image, text) / 2
    np.testing.assert_allclose(closed_i, unit_rows(unit_rows(image) - half), atol=1e-6)
    np.testing.assert_allclose(closed_t, unit_rows(unit_rows(text) + half), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(closed_i, axis=1), 1.0, atol=1e-6)
    before, after = modality_gap(image, text).distance, modality_gap(closed_i, closed_t).distance
    assert after < 0.5 * before


def test_zero_shift_only_normalises():
    image, text = make_pairs(10, 4)
    shifted_i, shifted_t = shift_gap(image, text, 0.0)
    np.testing.assert_allclose(shifted_i, unit_rows(image), atol=1e-6)
    np.testing.assert_allclose(shifted_t, unit_rows(text), atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(delta=st.floats(-4.0, 4.0), seed=st.integers(0, 50))
def test_shift_matches_the_formula(delta, seed):
    image, text = make_pairs(8, 4, seed=seed)
    gap = brute_gap(image, text)
    offset = delta / 2 * gap / np.linalg.norm(gap)
    expected_i = unit_rows(unit_rows(image) - offset)
    expected_t = unit_rows(unit_rows(text) + offset)
    shifted_i, shifted_t = shift_gap(image, text, delta)
    np.testing.assert_allclose(shifted_i, expected_i, atol=2e-5)
    np.testing.assert_allclose(shifted_t, expected_t, atol=2e-5)


def test_small_positive_shift_narrows_and_negative_widens():
    image, text = make_pairs(30, 5)
    base = modality_gap(image, text).distance
    assert modality_gap(*shift_gap(image, text, 0.2)).distance < base
    assert modality_gap(*shift_gap(image, text, -0.2)).distance > base


def test_curve_hand_values_and_signed_distance():
    image, text = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    calls = []

    def loss(i, t):
        calls.append((i.copy(), t.copy()))
        return float(i[0] @ t[0])

    curve = gap_loss_curve(image, text, scale=1.0, deltas=[0.0, SQRT2, 2 * SQRT2], loss_fn=loss)
    np.testing.assert_allclose(curve.distances, [SQRT2, 0.0, -SQRT2], atol=1e-6)
    np.testing.assert_allclose(curve.losses, [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(calls[2][0], [[0.0, 1.0]], atol=1e-7)


def brute_clip_loss(image, text, scale):
    """Symmetric InfoNCE by loops over rows (nats, mean over pairs)."""
    i, t = unit_rows(image), unit_rows(text)
    n = len(i)
    logits = scale * np.array([[i[a] @ t[b] for b in range(n)] for a in range(n)])
    total = 0.0
    for a in range(n):
        total += np.log(sum(np.exp(logits[a]))) - logits[a, a]
        total += np.log(sum(np.exp(logits[:, a]))) - logits[a, a]
    return total / (2 * n)


def test_default_curve_uses_contrastive_loss():
    import amumo_ng.analysis.losses  # noqa: F401  (the default loss; an ImportError must fail)
    image, text = make_pairs(16, 5)
    curve = gap_loss_curve(image, text, scale=10.0)
    np.testing.assert_allclose(curve.deltas, np.arange(-5.0, 5.01, 0.25))
    assert curve.deltas.size == 41 and DEFAULT_DELTAS.size == 41
    middle = int(np.flatnonzero(curve.deltas == 0.0)[0])
    assert curve.distances[middle] == pytest.approx(modality_gap(image, text).distance, abs=1e-6)
    assert curve.losses[middle] == pytest.approx(brute_clip_loss(image, text, 10.0), rel=1e-5)
    k = int(np.flatnonzero(curve.deltas == 1.5)[0])
    assert curve.losses[k] == pytest.approx(brute_clip_loss(*shift_gap(image, text, 1.5), 10.0), rel=1e-5)
    # shifting far enough swaps the modalities: the signed distance changes sign once
    assert curve.distances[0] > 0 > curve.distances[-1]
    assert np.count_nonzero(np.diff(np.sign(curve.distances))) == 1


def test_curve_rejects_bad_deltas():
    image, text = make_pairs(4, 3)
    for deltas in ([], [[0.1]], [np.nan], [0.0, np.inf]):
        with pytest.raises(EmbeddingError, match="deltas"):
            gap_loss_curve(image, text, 1.0, deltas=deltas, loss_fn=lambda i, t: 0.0)


def test_shift_without_a_gap_is_an_error():
    image, _ = make_pairs(5, 3)
    with pytest.raises(EmbeddingError, match="zero"):
        shift_gap(image, image * 2.0, 0.5)
    with pytest.raises(EmbeddingError, match="delta"):
        shift_gap(*make_pairs(5, 3), float("nan"))


def test_shift_onto_the_origin_is_an_error_not_nan():
    # one pair: I = e1, T = -e1; Δ = 2·e1, and shifting I by δ/2 = 1 along ĝ lands on 0
    with pytest.raises(EmbeddingError, match="origin"):
        shift_gap(np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]]), 2.0)


@pytest.mark.parametrize("call", [
    modality_gap,
    close_gap,
    lambda i, t: shift_gap(i, t, 0.5),
    lambda i, t: gap_loss_curve(i, t, 1.0, deltas=[0.0], loss_fn=lambda a, b: 0.0),
], ids=["gap", "close", "shift", "curve"])
def test_gap_functions_reject_bad_pairs(call, bad_pair):
    with pytest.raises(EmbeddingError):
        call(*bad_pair)
