"""In-modal difference matrix and its summary against loops."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis import similarity
from amumo_ng.analysis.difference import in_modal_difference
from amumo_ng.analysis.validation import EmbeddingError

from conftest import brute_cosine, make_pairs


def test_difference_matches_loops():
    image, text = make_pairs(9, 4)
    result = in_modal_difference(image, text)
    expected = brute_cosine(image, image) - brute_cosine(text, text)
    np.fill_diagonal(expected, 0.0)
    assert result.matrix.dtype == np.float32 and result.matrix.shape == (9, 9)
    np.testing.assert_allclose(result.matrix, expected, atol=1e-6)
    off = [expected[i, j] for i in range(9) for j in range(9) if i != j]
    assert result.mean_abs == pytest.approx(sum(abs(v) for v in off) / len(off), abs=1e-6)
    assert result.rms == pytest.approx(np.sqrt(sum(v * v for v in off) / len(off)), abs=1e-6)
    assert result.max_abs == pytest.approx(max(abs(v) for v in off), abs=1e-6)
    rows = [np.sqrt(sum(expected[i, j] ** 2 for j in range(9) if j != i) / 8) for i in range(9)]
    np.testing.assert_allclose(result.per_row_rms, rows, atol=1e-6)


def test_hand_values_for_two_pairs():
    # images orthogonal (cos 0), texts parallel (cos 1): D = [[0, -1], [-1, 0]]
    image = np.array([[1.0, 0.0], [0.0, 2.0]])
    text = np.array([[1.0, 1.0], [3.0, 3.0]])
    result = in_modal_difference(image, text)
    np.testing.assert_allclose(result.matrix, [[0.0, -1.0], [-1.0, 0.0]], atol=1e-6)
    assert (result.mean_abs, result.rms, result.max_abs) == pytest.approx((1.0, 1.0, 1.0))


def test_identical_arrangements_have_no_difference():
    image, _ = make_pairs(12, 5)
    result = in_modal_difference(image, image * 3.0)
    assert result.max_abs < 1e-6 and result.rms < 1e-6


def test_chunked_fill_agrees(monkeypatch):
    image, text = make_pairs(40, 4)
    whole = in_modal_difference(image, text)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 4 * 40 * 7)  # 7 rows per chunk
    chunked = in_modal_difference(image, text)
    np.testing.assert_allclose(chunked.matrix, whole.matrix, atol=1e-6)
    assert chunked.rms == pytest.approx(whole.rms) and chunked.max_abs == pytest.approx(whole.max_abs)


def test_bad_input_is_rejected(bad_pair):
    with pytest.raises(EmbeddingError):
        in_modal_difference(*bad_pair)


def test_single_pair_is_rejected():
    with pytest.raises(EmbeddingError, match="at least 2"):
        in_modal_difference(np.ones((1, 3)), np.ones((1, 3)))
