"""Anti-diagonal and checkerboard statistics of a rotation set, against hand-built matrices."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis import EmbeddingError, circular_profile, rotation_structure


def circulant(values):
    """S[a, b] = values[min(|a - b|, n - |a - b|)]: similarity depends on the angle apart only."""
    n = 2 * (len(values) - 1)
    a = np.arange(n)
    d = np.abs(a[:, None] - a[None, :])
    return np.asarray(values, float)[np.minimum(d, n - d)]


def test_profile_of_a_circulant_matrix_is_its_generator():
    values = [1.0, 0.8, 0.5, 0.6, 0.9]  # n = 8
    assert np.allclose(circular_profile(circulant(values)), values)


def test_a_90_degree_checkerboard_and_no_mirror_excess():
    # 8 steps of 45°: similarity 1 at 0°, 0.9 at 90°, 0.95 at 180°, 0.3 at 45° and 135°
    r = rotation_structure(circulant([1.0, 0.3, 0.9, 0.3, 0.95]))
    assert (r.at_45, r.at_90, r.at_135, r.at_180) == pytest.approx((0.3, 0.9, 0.3, 0.95))
    assert r.checkerboard and r.excess == pytest.approx(0.0)


def test_mirror_pairs_standing_out_give_a_positive_excess():
    S = circulant([1.0, 0.5, 0.4, 0.5, 0.6])
    n = S.shape[0]
    for i in range(1, n):
        if 2 * i != n:
            S[i, n - i] += 0.2  # theta and 360 - theta look alike
    r = rotation_structure(S)
    # brute force: the mean similarity of all cells k steps apart (one direction), then the anti-
    # diagonal cells against the profile at their angular distance
    profile = [np.mean([S[x, (x + k) % n] for x in range(n)]) for k in range(n // 2 + 1)]
    cells = [(i, n - i) for i in range(1, n) if 2 * i != n]
    excess = np.mean([S[i, j] - profile[min(abs(i - j), n - abs(i - j))] for i, j in cells])
    assert r.excess == pytest.approx(excess) and r.excess > 0.1
    assert r.antidiagonal > r.off_diagonal and not r.checkerboard


def test_bad_input():
    with pytest.raises(EmbeddingError, match="square"):
        rotation_structure(np.ones((4, 5)))
    with pytest.raises(EmbeddingError, match="NaN"):
        rotation_structure(np.full((4, 4), np.nan))
