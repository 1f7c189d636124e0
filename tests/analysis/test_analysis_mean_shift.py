"""Loss vs the image mean shift alpha: alignment/uniformity, correct/misclassified, against O(n^2) loops."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng.analysis.losses import contrastive_loss, contrastive_terms
from amumo_ng.analysis.mean_shift import DEFAULT_ALPHAS, mean_shift_loss, shift_modality
from amumo_ng.analysis.validation import EmbeddingError

from conftest import brute_cosine, make_pairs


def brute_pairs(image, text, scale):
    """(alignment, uniformity, correct) per pair by explicit loops over the n x n cosines."""
    sims = brute_cosine(image, text)
    n = len(image)
    align, unif, correct = [], [], []
    for k in range(n):
        row = math.log(sum(math.exp(scale * sims[k, j]) for j in range(n)))
        col = math.log(sum(math.exp(scale * sims[j, k]) for j in range(n)))
        align.append(-scale * sims[k, k])
        unif.append(0.5 * row + 0.5 * col)
        correct.append(all(sims[k, j] < sims[k, k] for j in range(n) if j != k))
    return np.array(align), np.array(unif), np.array(correct)


def brute_curve(image, text, scale, alphas, split):
    mean = image.astype(np.float64).mean(axis=0)
    fixed = brute_pairs(image, text, scale)[2]
    out = []
    for alpha in alphas:
        align, unif, now = brute_pairs(image.astype(np.float64) - alpha * mean, text, scale)
        mask = fixed if split == "fixed" else now
        loss = align + unif
        out.append({"total": loss.mean(), "alignment": align.mean(), "uniformity": unif.mean(),
                    "correct": loss[mask].mean() if mask.any() else np.nan,
                    "misclassified": loss[~mask].mean() if (~mask).any() else np.nan,
                    "correct_alignment": align[mask].mean() if mask.any() else np.nan,
                    "misclassified_uniformity": unif[~mask].mean() if (~mask).any() else np.nan,
                    "accuracy": now.mean(), "n_correct": int(mask.sum())})
    return out


@pytest.mark.parametrize("split", ["fixed", "each"])
def test_curve_matches_loops(split):
    image, text = make_pairs(14, 5, seed=3, offset=1.0)
    alphas = [-1.0, -0.3, 0.0, 0.6, 1.0]
    curve = mean_shift_loss(image, text, 5.0, alphas=alphas, split=split, max_cells=20)  # chunks of 1 row
    expected = brute_curve(image, text, 5.0, alphas, split)
    for k, e in enumerate(expected):
        for field in ("total", "alignment", "uniformity", "correct", "misclassified", "correct_alignment",
                      "misclassified_uniformity", "accuracy"):
            assert getattr(curve, field)[k] == pytest.approx(e[field], rel=1e-5, abs=1e-5, nan_ok=True), (field, k)
        assert curve.n_correct[k] == e["n_correct"]
    np.testing.assert_allclose(curve.total, curve.alignment + curve.uniformity, rtol=1e-12)
    assert curve.n == 14 and curve.split == split and curve.batch_size is None and curve.logit_scale == 5.0
    assert 0 < curve.n_correct[0] < 14  # both subsets are populated in this fixture


def test_alpha_zero_is_the_whole_set_contrastive_loss_and_the_default_grid():
    image, text = make_pairs(30, 6, seed=1)
    curve = mean_shift_loss(image, text, 10.0)
    np.testing.assert_array_equal(curve.alphas, DEFAULT_ALPHAS)
    assert curve.alphas.size == 21 and curve.alphas[10] == 0.0
    assert curve.total[10] == pytest.approx(contrastive_loss(image, text, 10.0), rel=1e-6)
    assert curve.best_alpha == curve.alphas[np.argmin(curve.total)]


def test_stated_batches_are_consecutive_and_chunking_is_exact():
    image, text = make_pairs(25, 4, seed=2)
    batched = mean_shift_loss(image, text, 8.0, alphas=[0.0, 0.5], batch_size=10)
    assert batched.batch_size == 10
    assert batched.total[0] == pytest.approx(contrastive_loss(image, text, 8.0, batch_size=10), rel=1e-6)
    whole = mean_shift_loss(image, text, 8.0, alphas=[0.0, 0.5])
    chunked = mean_shift_loss(image, text, 8.0, alphas=[0.0, 0.5], max_cells=60)
    np.testing.assert_allclose(chunked.total, whole.total, rtol=1e-6)  # float32 products, other BLAS blocking
    np.testing.assert_array_equal(chunked.n_correct, whole.n_correct)
    assert mean_shift_loss(image, text, 8.0, alphas=[0.0], batch_size=100).batch_size is None  # >= n: one batch


def test_contrastive_terms_by_loops():
    image, text = make_pairs(9, 3, seed=5)
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    terms = contrastive_terms(unit(image), unit(text), 4.0, max_cells=9 * 2)
    align, unif, correct = brute_pairs(image, text, 4.0)
    np.testing.assert_allclose(terms.alignment, align, rtol=1e-5)
    np.testing.assert_allclose(terms.uniformity, unif, rtol=1e-5)
    np.testing.assert_array_equal(terms.correct, correct)
    np.testing.assert_allclose(terms.loss, align + unif, rtol=1e-5)


def test_shift_modality():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(shift_modality(x, 0.5), x - 0.5 * x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(shift_modality(x, 1.0, mean=[1.0, 0.0]), x - [1.0, 0.0])
    with pytest.raises(EmbeddingError, match="origin"):
        shift_modality(x, 1.0, mean=[5.0, 0.0])
    with pytest.raises(EmbeddingError, match="mean has shape"):
        shift_modality(x, 1.0, mean=[5.0])


def test_bad_input_catalogue():
    image, text = make_pairs(6, 3)
    with pytest.raises(EmbeddingError, match="at least 3"):
        mean_shift_loss(image[:2], text[:2], 5.0)               # n < 3
    zero = image.copy()
    zero[1] = 0.0
    with pytest.raises(EmbeddingError, match="all-zero"):
        mean_shift_loss(zero, text, 5.0)                         # zero row: no direction
    with pytest.raises(EmbeddingError, match="origin"):
        mean_shift_loss(np.ones((4, 3)), text[:4], 5.0, alphas=[1.0])  # a constant modality centred on 0
    # a constant image modality is fine where it keeps a direction
    assert np.isfinite(mean_shift_loss(np.ones((4, 3)), text[:4], 5.0, alphas=[0.0, 0.5]).total).all()
    with pytest.raises(EmbeddingError, match="logit_scale"):
        mean_shift_loss(image, text, 0.0)
    with pytest.raises(EmbeddingError, match="alphas"):
        mean_shift_loss(image, text, 5.0, alphas=[])
    with pytest.raises(EmbeddingError, match="split"):
        mean_shift_loss(image, text, 5.0, split="sometimes")
    with pytest.raises(EmbeddingError, match="batch_size"):
        mean_shift_loss(image, text, 5.0, batch_size=1)
    with pytest.raises(EmbeddingError, match="counts differ"):
        mean_shift_loss(image, text[:5], 5.0)
