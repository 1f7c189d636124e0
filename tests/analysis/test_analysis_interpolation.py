"""lerp / slerp / slerp_with_norm / vslerp (published and released-code variants) against hand values and formulas."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amumo_ng.analysis.interpolation import lerp, slerp, slerp_with_norm, vslerp
from amumo_ng.analysis.validation import EmbeddingError

E1, E2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])


def test_lerp_hand_values_scalar_and_array():
    a, b = np.array([1.0, 2.0]), np.array([3.0, -2.0])
    np.testing.assert_allclose(lerp(a, b, 0.25), [1.5, 1.0])
    result = lerp(a, b, [0.0, 0.5, 1.0, 2.0])
    assert result.shape == (4, 2) and result.dtype == np.float32
    np.testing.assert_allclose(result, [[1, 2], [2, 0], [3, -2], [5, -6]])
    np.testing.assert_allclose(lerp(np.zeros(2), b, 0.5), [1.5, -1.0])  # zero vectors are fine for lerp


def test_slerp_of_orthogonal_unit_vectors():
    np.testing.assert_allclose(slerp(E1, E2, 0.5), (E1 + E2) / np.sqrt(2), atol=1e-7)
    third = slerp(E1, E2, 1 / 3)
    np.testing.assert_allclose(third, [np.cos(np.pi / 6), np.sin(np.pi / 6), 0.0], atol=1e-7)
    np.testing.assert_allclose(slerp(E1 * 5, E2 * 0.1, [0.0, 1.0]), [E1, E2], atol=1e-7)


@settings(max_examples=50, deadline=None)
@given(t=st.floats(0.0, 1.0), angle=st.floats(1e-3, 3.0))
def test_slerp_moves_at_constant_angular_speed(t, angle):
    a = E1
    b = np.array([np.cos(angle), np.sin(angle), 0.0])
    result = slerp(a, b, t)
    assert np.linalg.norm(result) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(result, [np.cos(t * angle), np.sin(t * angle), 0.0], atol=2e-6)


def test_slerp_handles_near_parallel_vectors():
    b = np.array([1.0, 1e-9, 0.0])
    result = slerp(E1, b, [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, [E1, E1, E1], atol=1e-8)
    np.testing.assert_allclose(slerp(E1, 3 * E1, 0.7), E1)


def test_slerp_of_antipodal_vectors_is_an_error():
    with pytest.raises(EmbeddingError, match="opposite"):
        slerp(E1, -2 * E1, 0.5)


def test_slerp_with_norm_interpolates_direction_and_norm_linearly():
    result = slerp_with_norm(2 * E1, 4 * E2, 0.5)
    np.testing.assert_allclose(result, 3 * (E1 + E2) / np.sqrt(2), atol=1e-6)
    ends = slerp_with_norm(2 * E1, 4 * E2, [0.0, 1.0])
    np.testing.assert_allclose(ends, [2 * E1, 4 * E2], atol=1e-6)


# -- vSLERP (Levi & Gilboa, Eq. 12) -------------------------------------------------------
def raw_slerp(a, b, t):
    """unCLIP's slerp formula applied to raw (non-unit) vectors, written out here."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    omega = np.arccos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return np.sin((1 - t) * omega) / np.sin(omega) * a + np.sin(t * omega) / np.sin(omega) * b


def released_vslerp(val, low, high, mean, mean_val):
    """Direct numpy transcription of vSLERP in yossilevii100/double-ellipsoid-clip vslerp.py."""
    mean_feats = mean * mean_val
    low = low - mean_feats
    high = high - mean_feats
    low_norm = low / np.linalg.norm(low)
    high_norm = high / np.linalg.norm(high)
    omega = np.arccos(low_norm * high_norm)
    so = np.sin(omega)
    res = (np.sin((1.0 - val) * omega) / so) * low + (np.sin(val * omega) / so) * high
    return res + mean_feats


def random_vectors(seed, d=6):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=d) + 2.0
    a, b = mean + rng.normal(size=d), mean + rng.normal(size=d)
    return a.astype(np.float32), b.astype(np.float32), mean.astype(np.float32)


def test_vslerp_with_alpha_zero_is_the_slerp_of_the_raw_vectors():
    a, b, mean = random_vectors(0)
    ts = np.linspace(-0.25, 1.25, 7)
    got = vslerp(a, b, ts, mean=mean, alpha=0.0)
    np.testing.assert_allclose(got, [raw_slerp(a, b, t) for t in ts], rtol=1e-5, atol=1e-6)
    # not the unit slerp, not the linear-norm variant (norms differ)
    assert not np.allclose(got[3], slerp(a, b, 0.5), atol=1e-3)
    assert not np.allclose(got[3], slerp_with_norm(a, b, 0.5), atol=1e-4)


@pytest.mark.parametrize("compat", [None, "levi-gilboa"])
@pytest.mark.parametrize("alpha", [-2.0, 0.0, 0.5, 2.0])
def test_vslerp_ends_are_the_inputs_exactly(compat, alpha):
    a, b, mean = random_vectors(1)
    ends = vslerp(a, b, [0.0, 1.0], mean=mean, alpha=alpha, compat=compat)
    np.testing.assert_array_equal(ends[0], a)
    np.testing.assert_array_equal(ends[1], b)


def test_vslerp_hand_values():
    # 2-D, alpha = 0: |a| = |b| = sqrt(10), cos = 0.6, so the midpoint is (a + b) / (2 cos(w/2)) = sqrt(5)·(1, 1)
    a, b = np.array([3.0, 1.0]), np.array([1.0, 3.0])
    np.testing.assert_allclose(vslerp(a, b, 0.5, mean=np.array([5.0, -7.0]), alpha=0.0), [np.sqrt(5)] * 2, rtol=1e-6)
    # 2-D, alpha = 1, m = (1, 1): a' = (2, 0), b' = (0, 2), w = pi/2
    got = vslerp(a, b, 0.5, mean=np.array([1.0, 1.0]), alpha=1.0)
    np.testing.assert_allclose(got, [1 + np.sqrt(2), 1 + np.sqrt(2)], rtol=1e-6)
    # 3-D, alpha = 2, m = (0, 0, 1): a' = (1, 0, 0), b' = (0, 3, 0), w = pi/2, t = 1/3:
    # sin(pi/3)·a' + sin(pi/6)·b' + 2m = (sqrt(3)/2, 3/2, 2); the shifted norm is sqrt(3), not the linear 5/3
    got = vslerp([1.0, 0.0, 2.0], [0.0, 3.0, 2.0], 1 / 3, mean=[0.0, 0.0, 1.0], alpha=2.0)
    np.testing.assert_allclose(got, [np.sqrt(3) / 2, 1.5, 2.0], rtol=1e-6)
    assert np.linalg.norm(got[:2]) == pytest.approx(np.sqrt(3), rel=1e-6)


def test_vslerp_of_parallel_shifted_vectors_is_their_linear_interpolation():
    mean = np.array([1.0, 2.0, 3.0])
    got = vslerp(mean + E1, mean + 3 * E1, 0.5, mean=mean, alpha=1.0)
    np.testing.assert_allclose(got, mean + 2 * E1, rtol=1e-6)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_vslerp_compat_reproduces_the_released_code(seed):
    a, b, mean = random_vectors(seed, d=8)
    a64, b64, m64 = (v.astype(np.float64) for v in (a, b, mean))
    for alpha in (-1.0, 1.0, 3.0):
        ts = np.linspace(0.0, 1.0, 6)
        got = vslerp(a, b, ts, mean=mean, alpha=alpha, compat="levi-gilboa")
        expected = [released_vslerp(t, a64, b64, m64, alpha) for t in ts]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        # the element-wise arccos deviates from the published formula
        compat_mid = vslerp(a, b, 0.5, mean=mean, alpha=alpha, compat="levi-gilboa")
        assert not np.allclose(compat_mid, vslerp(a, b, 0.5, mean=mean, alpha=alpha), atol=1e-3)


def test_vslerp_bad_input():
    mean = np.array([1.0, 1.0, 0.0])
    with pytest.raises(EmbeddingError, match="zero vector"):
        vslerp(2 * mean, E2, 0.5, mean=mean, alpha=2.0)  # a − alpha·m = 0
    with pytest.raises(EmbeddingError, match="opposite"):
        vslerp(mean + E1, mean - 2 * E1, 0.5, mean=mean, alpha=1.0)  # antipodal after the shift
    with pytest.raises(EmbeddingError, match="mean"):
        vslerp(E1, E2, 0.5, mean=np.ones(2), alpha=1.0)
    with pytest.raises(EmbeddingError, match="mean"):
        vslerp(E1, E2, 0.5, mean=np.ones((1, 3)), alpha=1.0)
    with pytest.raises(EmbeddingError, match="NaN"):
        vslerp(E1, E2, 0.5, mean=np.array([np.nan, 0.0, 0.0]), alpha=1.0)
    with pytest.raises(EmbeddingError, match="alpha"):
        vslerp(E1, E2, 0.5, mean=mean, alpha=float("inf"))
    with pytest.raises(EmbeddingError, match="compat"):
        vslerp(E1, E2, 0.5, mean=mean, alpha=1.0, compat="unclip")
    with pytest.raises(EmbeddingError, match="sin"):  # a', b' both along e1: the released code divides by 0
        vslerp(mean + E1, mean + 2 * E1, 0.5, mean=mean, alpha=1.0, compat="levi-gilboa")
    with pytest.raises(TypeError):
        vslerp(E1, E2, 0.5)  # mean and alpha are required
    # a raw zero vector is fine: only a − alpha·m needs a direction
    assert np.all(np.isfinite(vslerp(np.zeros(3), E2, 0.5, mean=mean, alpha=1.0)))


VSLERP = functools.partial(vslerp, mean=np.full(3, 0.1), alpha=1.0)


@pytest.mark.parametrize("fn", [lerp, slerp, slerp_with_norm, VSLERP], ids=["lerp", "slerp", "slerp_with_norm", "vslerp"])
def test_bad_input(fn):
    with pytest.raises(EmbeddingError, match="dimension"):
        fn(E1, np.ones(2), 0.5)
    with pytest.raises(EmbeddingError, match="1-D"):
        fn(np.ones((2, 3)), E1, 0.5)
    with pytest.raises(EmbeddingError, match="NaN"):
        fn(np.array([np.nan, 0.0, 1.0]), E1, 0.5)
    with pytest.raises(EmbeddingError, match="t must"):
        fn(E1, E2, [[0.5]])
    with pytest.raises(EmbeddingError, match="t must be finite"):
        fn(E1, E2, np.inf)


@pytest.mark.parametrize("fn", [slerp, slerp_with_norm])
def test_zero_vectors_have_no_direction(fn):
    with pytest.raises(EmbeddingError, match="all-zero"):
        fn(np.zeros(3), E1, 0.5)
