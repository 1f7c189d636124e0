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


# -- levels of detail and the summary of the difference (no n×n matrix) -------------------------
from amumo_ng.analysis.difference import difference_level_of_detail, difference_summary  # noqa: E402


def _units(n, d, seed=0):
    image, text = make_pairs(n, d, seed=seed)
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    return unit(image), unit(text)


def test_difference_levels_are_block_means_of_the_loop_matrix():
    img, txt = _units(37, 5)
    brute = brute_cosine(img, img) - brute_cosine(txt, txt)
    lod = difference_level_of_detail(img, txt, (0, 37), (0, 37), 8)
    assert not lod.exact and lod.values.shape == (8, 8)
    e = lod.edges
    assert e[0] == 0 and e[-1] == 37 and np.all(np.diff(e) >= 4)
    for a in range(8):
        for b in range(8):
            block = [brute[i, j] for i in range(e[a], e[a + 1]) for j in range(e[b], e[b + 1])]
            assert lod.values[a, b] == pytest.approx(sum(block) / len(block), abs=1e-5)


def test_difference_tile_is_exact_and_off_diagonal():
    img, txt = _units(30, 4, seed=2)
    lod = difference_level_of_detail(img, txt, (3, 11), (20, 30), 64)
    assert lod.exact and lod.values.shape == (8, 10)
    for i in range(3, 11):
        for j in range(20, 30):
            want = float(img[i] @ img[j]) - float(txt[i] @ txt[j])
            assert lod.values[i - 3, j - 20] == pytest.approx(want, abs=1e-5)


def test_difference_levels_refuse_bad_ranges():
    img, txt = _units(10, 4)
    with pytest.raises(EmbeddingError):
        difference_level_of_detail(img, txt, (0, 11), (0, 10), 8)
    with pytest.raises(EmbeddingError):
        difference_level_of_detail(img, txt, (0, 10), (0, 10), 1)


def test_difference_summary_exact_against_loops():
    img, txt = _units(23, 6, seed=4)
    off = [float(img[i] @ img[j] - txt[i] @ txt[j]) for i in range(23) for j in range(23) if i != j]
    mean = sum(off) / len(off)
    summary = difference_summary(img, txt)
    assert summary.mean_abs_exact and summary.mean_abs_rows == 23
    assert summary.mean == pytest.approx(mean, abs=1e-6)
    assert summary.std == pytest.approx(np.sqrt(sum((v - mean) ** 2 for v in off) / len(off)), abs=1e-6)
    assert summary.rms == pytest.approx(np.sqrt(sum(v * v for v in off) / len(off)), abs=1e-6)
    assert summary.mean_abs == pytest.approx(sum(abs(v) for v in off) / len(off), abs=1e-6)
    assert summary.mean_abs == pytest.approx(in_modal_difference(img, txt).mean_abs, abs=1e-6)


def test_difference_summary_sampled_rows_estimate_mean_abs():
    img, txt = _units(600, 8, seed=5)
    exact = difference_summary(img, txt)
    sampled = difference_summary(img, txt, sample_rows=150)
    assert sampled.mean_abs_rows == 150 and not sampled.mean_abs_exact
    assert sampled.mean == pytest.approx(exact.mean, abs=1e-9) and sampled.std == pytest.approx(exact.std, abs=1e-9)
    assert sampled.mean_abs == pytest.approx(exact.mean_abs, rel=0.05)


def test_difference_summary_of_one_pair_is_refused():
    img, txt = _units(1, 4)
    with pytest.raises(EmbeddingError, match="at least 2"):
        difference_summary(img, txt)
