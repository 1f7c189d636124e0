"""Off-diagonal dominance of each modality's covariance against loops."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.feature_correlation import modality_correlations, off_diagonal_dominance
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs


def brute_odd(x):
    """ODD(l) = sum_{k != l} |C_lk| / C_ll with the ddof=1 covariance, by loops."""
    rows = np.asarray(x, dtype=np.float64)
    n, d = rows.shape
    mean = [sum(rows[j, k] for j in range(n)) / n for k in range(d)]
    cov = [[sum((rows[j, a] - mean[a]) * (rows[j, b] - mean[b]) for j in range(n)) / (n - 1) for b in range(d)]
           for a in range(d)]
    return np.array([sum(abs(cov[l][k]) for k in range(d) if k != l) / cov[l][l] for l in range(d)]), np.diag(cov)


def test_odd_matches_loops_per_modality():
    image, text = make_pairs(30, 5, seed=6)
    odd_i, odd_t = modality_correlations(image, text)
    for result, x in ((odd_i, image), (odd_t, text)):
        expected, variance = brute_odd(x)
        np.testing.assert_allclose(result.odd, expected, rtol=1e-5)
        np.testing.assert_allclose(result.variance, variance, rtol=1e-5)
        assert result.zero_variance.size == 0


def test_independent_features_are_diagonally_dominant_and_correlated_ones_are_not():
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(5000, 4)) * [1.0, 2.0, 3.0, 4.0]
    assert off_diagonal_dominance(independent).diagonally_dominant
    base = rng.normal(size=(5000, 1))
    tilted = np.hstack([base, base + 0.1 * rng.normal(size=(5000, 1)), rng.normal(size=(5000, 1))])
    result = off_diagonal_dominance(tilted)
    assert not result.diagonally_dominant and result.odd[0] > 0.9


def test_a_zero_variance_feature_is_reported_and_a_constant_modality_refused():
    x, _ = make_pairs(10, 3)
    x[:, 1] = 4.0
    result = off_diagonal_dominance(x)
    assert list(result.zero_variance) == [1] and np.isnan(result.odd[1]) and np.isfinite(result.odd[[0, 2]]).all()
    with pytest.raises(EmbeddingError, match="constant modality"):
        off_diagonal_dominance(np.ones((6, 3)))
    with pytest.raises(EmbeddingError, match="at least 2"):
        off_diagonal_dominance(np.ones((1, 3)))
    with pytest.raises(EmbeddingError, match="NaN"):
        off_diagonal_dominance(np.array([[np.nan, 1.0], [1.0, 2.0]]))
