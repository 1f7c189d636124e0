"""lerp / slerp / vslerp against hand values."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amumo_ng.analysis.interpolation import lerp, slerp, vslerp
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


def test_vslerp_interpolates_direction_and_norm():
    result = vslerp(2 * E1, 4 * E2, 0.5)
    np.testing.assert_allclose(result, 3 * (E1 + E2) / np.sqrt(2), atol=1e-6)
    ends = vslerp(2 * E1, 4 * E2, [0.0, 1.0])
    np.testing.assert_allclose(ends, [2 * E1, 4 * E2], atol=1e-6)


@pytest.mark.parametrize("fn", [lerp, slerp, vslerp])
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


@pytest.mark.parametrize("fn", [slerp, vslerp])
def test_zero_vectors_have_no_direction(fn):
    with pytest.raises(EmbeddingError, match="all-zero"):
        fn(np.zeros(3), E1, 0.5)
