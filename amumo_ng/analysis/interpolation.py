"""Interpolating between two embedding vectors: linear, spherical, and spherical-with-norm (raw vectors).

Every function takes two vectors ``a``, ``b`` [d] and ``t`` (a scalar or a 1-D array [k]) and returns
[d] for a scalar ``t`` or [k, d] for an array, float32. ``t = 0`` gives (the direction of) ``a``,
``t = 1`` that of ``b``; values outside [0, 1] extrapolate.
"""
from __future__ import annotations

import numpy as np

from .validation import EmbeddingError, as_matrix

__all__ = ["lerp", "slerp", "vslerp"]

#: Angles (radians) below this use normalised linear interpolation (sin Ω ≈ 0 would divide by ~0).
_PARALLEL_ANGLE = 1e-4
#: Angles within this of π are antipodal: the great circle between them is not unique.
_ANTIPODAL_MARGIN = 1e-6


def _vectors(a, b, *, allow_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """``a``, ``b`` as float64 vectors [d] of equal length, checked finite (and non-zero unless allowed)."""
    out = []
    for value, name in ((a, "a"), (b, "b")):
        arr = np.asarray(value)
        if arr.ndim != 1:
            raise EmbeddingError(f"{name}: expected a 1-D vector [d], got shape {arr.shape}")
        out.append(as_matrix(arr[None, :], name, allow_zero_rows=allow_zero)[0].astype(np.float64))
    if out[0].shape != out[1].shape:
        raise EmbeddingError(f"a and b differ in dimension: {out[0].size} vs {out[1].size}")
    return out[0], out[1]


def _weights(t) -> tuple[np.ndarray, bool]:
    """``t`` as float64 [k] and whether it was a scalar."""
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim > 1:
        raise EmbeddingError(f"t must be a scalar or a 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EmbeddingError("t must be finite")
    return np.atleast_1d(arr), arr.ndim == 0


def _shape(result: np.ndarray, scalar: bool) -> np.ndarray:
    result = result.astype(np.float32)
    return result[0] if scalar else result


def lerp(a, b, t) -> np.ndarray:
    """Linear interpolation ``(1 − t)·a + t·b`` of raw vectors (no normalisation; zero vectors allowed)."""
    a64, b64 = _vectors(a, b, allow_zero=True)
    w, scalar = _weights(t)
    return _shape((1.0 - w)[:, None] * a64 + w[:, None] * b64, scalar)


def _slerp_units(a_unit: np.ndarray, b_unit: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit vectors, float64 [k, d] of unit rows."""
    cos_angle = float(np.clip(a_unit @ b_unit, -1.0, 1.0))
    angle = float(np.arccos(cos_angle))
    if angle > np.pi - _ANTIPODAL_MARGIN:
        raise EmbeddingError("a and b point in opposite directions: spherical interpolation is not unique")
    if angle < _PARALLEL_ANGLE:
        mixed = (1.0 - w)[:, None] * a_unit + w[:, None] * b_unit
        return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    sin_angle = np.sin(angle)
    return (np.sin((1.0 - w) * angle) / sin_angle)[:, None] * a_unit + (np.sin(w * angle) / sin_angle)[:, None] * b_unit


def slerp(a, b, t) -> np.ndarray:
    """Spherical linear interpolation along the great circle from â to b̂ (inputs normalised first).

    Returns unit vectors. Near-parallel inputs (angle < 1e-4 rad) fall back to normalised linear
    interpolation; antipodal inputs raise :class:`EmbeddingError` (no unique great circle).
    """
    a64, b64 = _vectors(a, b, allow_zero=False)
    w, scalar = _weights(t)
    return _shape(_slerp_units(a64 / np.linalg.norm(a64), b64 / np.linalg.norm(b64), w), scalar)


def vslerp(a, b, t) -> np.ndarray:
    """Vector slerp for raw vectors: direction by :func:`slerp`, norm linearly ``(1 − t)‖a‖ + t‖b‖``.

    Stays on the (curved) shell the raw embeddings live on instead of cutting through it as
    :func:`lerp` does. Zero vectors raise :class:`EmbeddingError` (no direction).
    """
    a64, b64 = _vectors(a, b, allow_zero=False)
    w, scalar = _weights(t)
    norm_a, norm_b = np.linalg.norm(a64), np.linalg.norm(b64)
    direction = _slerp_units(a64 / norm_a, b64 / norm_b, w)
    return _shape(((1.0 - w) * norm_a + w * norm_b)[:, None] * direction, scalar)
