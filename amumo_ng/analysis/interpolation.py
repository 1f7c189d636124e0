"""Interpolating between two embedding vectors: linear, spherical, spherical-with-norm and vSLERP.

Every function takes two vectors ``a``, ``b`` [d] and ``t`` (a scalar or a 1-D array [k]) and returns
[d] for a scalar ``t`` or [k, d] for an array, float32 (computed in float64). ``t = 0`` gives (the
direction of) ``a``, ``t = 1`` that of ``b``; values outside [0, 1] extrapolate.

- :func:`lerp`: ``(1 − t)·a + t·b``.
- :func:`slerp`: the great circle between the DIRECTIONS â, b̂; returns unit vectors.
- :func:`slerp_with_norm`: amumo-ng's own variant: direction by :func:`slerp`, norm linearly
  interpolated ``(1 − t)‖a‖ + t‖b‖``.
- :func:`vslerp`: vertical SLERP of Levi & Gilboa ("The Double-Ellipsoid Geometry of CLIP", Eq. 12)::

      vSLERP(v_j, v_k, t, α) = SLERP(v_j − α·m, v_k − α·m, t) + α·m

  with m the modality mean of the RAW vectors and SLERP the unCLIP slerp of the raw (non-unit)
  shifted vectors a' = v_j − α·m, b' = v_k − α·m::

      SLERP(a', b', t) = sin((1 − t)·ω)/sin ω · a' + sin(t·ω)/sin ω · b',   ω = arccos(â'·b̂')

  It interpolates the direction along the great circle and, for ‖a'‖ ≠ ‖b'‖, the norm along the
  same formula (not linearly); ``α = 0`` is that slerp of ``a``, ``b`` themselves.
  ``vslerp(..., compat="levi-gilboa")`` reproduces the authors' released code instead, which takes
  the arccos ELEMENT-WISE (see :func:`vslerp`).
"""
from __future__ import annotations

import numpy as np

from .validation import EmbeddingError, as_matrix, as_pair, finite_number

__all__ = ["lerp", "slerp", "slerp_with_norm", "vslerp"]

#: Angles (radians) below this use (normalised) linear interpolation (sin Ω ≈ 0 would divide by ~0).
_PARALLEL_ANGLE = 1e-4
#: Angles within this of π are antipodal: the great circle between them is not unique.
_ANTIPODAL_MARGIN = 1e-6
#: Values of ``vslerp(compat=...)``.
VSLERP_COMPAT = (None, "levi-gilboa")


def _vectors(a, b, *, allow_zero: bool, names=("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    """``a``, ``b`` as float64 vectors [d] of equal length, checked finite (and non-zero unless allowed)."""
    arrays = [np.asarray(a), np.asarray(b)]
    for arr, name in zip(arrays, names):
        if arr.ndim != 1:
            raise EmbeddingError(f"{name}: expected a 1-D vector [d], got shape {arr.shape}")
    a2, b2 = as_pair(arrays[0][None, :], arrays[1][None, :], allow_zero_rows=allow_zero, names=names)
    return a2[0].astype(np.float64), b2[0].astype(np.float64)


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


def _angle(a64: np.ndarray, b64: np.ndarray) -> float:
    """Angle (radians) between two non-zero vectors; antipodal ones raise :class:`EmbeddingError`."""
    cos_angle = float(np.clip((a64 / np.linalg.norm(a64)) @ (b64 / np.linalg.norm(b64)), -1.0, 1.0))
    angle = float(np.arccos(cos_angle))
    if angle > np.pi - _ANTIPODAL_MARGIN:
        raise EmbeddingError("a and b point in opposite directions: spherical interpolation is not unique")
    return angle


def _slerp_formula(a64: np.ndarray, b64: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sin((1−t)ω)/sin ω · a + sin(tω)/sin ω · b of the vectors as given (float64 [k, d]).

    ω is the angle between a and b; below ``_PARALLEL_ANGLE`` the formula's limit (1 − t)·a + t·b is used.
    """
    angle = _angle(a64, b64)
    if angle < _PARALLEL_ANGLE:
        return (1.0 - w)[:, None] * a64 + w[:, None] * b64
    sin_angle = np.sin(angle)
    return (np.sin((1.0 - w) * angle) / sin_angle)[:, None] * a64 + (np.sin(w * angle) / sin_angle)[:, None] * b64


def _slerp_units(a_unit: np.ndarray, b_unit: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit vectors, float64 [k, d] of unit rows."""
    mixed = _slerp_formula(a_unit, b_unit, w)
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def slerp(a, b, t) -> np.ndarray:
    """Spherical linear interpolation along the great circle from â to b̂ (inputs normalised first).

    Returns unit vectors. Near-parallel inputs (angle < 1e-4 rad) fall back to normalised linear
    interpolation; antipodal inputs raise :class:`EmbeddingError` (no unique great circle).
    """
    a64, b64 = _vectors(a, b, allow_zero=False)
    w, scalar = _weights(t)
    return _shape(_slerp_units(a64 / np.linalg.norm(a64), b64 / np.linalg.norm(b64), w), scalar)


def slerp_with_norm(a, b, t) -> np.ndarray:
    """amumo-ng's variant for raw vectors: direction by :func:`slerp`, norm linearly ``(1 − t)‖a‖ + t‖b‖``.

    Not the published vSLERP (see :func:`vslerp`): no mean shift, and the norm is interpolated
    linearly rather than by the slerp formula. Stays on the shell the raw embeddings live on instead
    of cutting through it as :func:`lerp` does. Zero vectors raise :class:`EmbeddingError`.
    """
    a64, b64 = _vectors(a, b, allow_zero=False)
    w, scalar = _weights(t)
    norm_a, norm_b = np.linalg.norm(a64), np.linalg.norm(b64)
    direction = _slerp_units(a64 / norm_a, b64 / norm_b, w)
    return _shape(((1.0 - w) * norm_a + w * norm_b)[:, None] * direction, scalar)


def _mean_vector(mean, alpha, d: int) -> np.ndarray:
    """α·m as float64 [d]; ``mean`` must be a finite vector [d] and ``alpha`` a finite number."""
    m = np.asarray(mean)
    if m.ndim != 1 or m.shape[0] != d:
        raise EmbeddingError(f"mean: expected a vector of shape ({d},) like a and b, got shape {m.shape}")
    m = as_matrix(m[None, :], "mean", allow_zero_rows=True)[0].astype(np.float64)
    return finite_number(alpha, "alpha") * m


def vslerp(a, b, t, *, mean, alpha: float, compat: str | None = None) -> np.ndarray:
    """Vertical SLERP (Levi & Gilboa, Eq. 12) of two RAW embeddings of one modality.

    ``a`` = v_j, ``b`` = v_k: raw vectors [d]; ``t`` (θ₀ of the paper): scalar or [k];
    ``mean`` m: the modality's mean RAW vector [d] (e.g. ``modality_geometry(x).mean``), required;
    ``alpha`` α: how far along m the slerp is lifted (the paper finds −2 ≤ α ≤ 2 visually good).

    ``compat=None`` (the published formula): a' = a − α·m, b' = b − α·m and
    ``sin((1−t)ω)/sin ω · a' + sin(tω)/sin ω · b' + α·m`` with the scalar ω = arccos(â'·b̂') (the angle
    between a' and b'). t = 0 gives ``a`` and t = 1 gives ``b``. a' or b' = 0 and antipodal a', b'
    raise :class:`EmbeddingError`; below 1e-4 rad the formula's limit, linear interpolation of a', b',
    is used.

    ``compat="levi-gilboa"`` reproduces ``vSLERP`` of the authors' released code
    (github.com/yossilevii100/double-ellipsoid-clip, ``vslerp.py``), including its deviation from
    the formula: ``omega = acos(â' * b̂')`` is taken ELEMENT-WISE, so each coordinate l gets its own
    ω_l = arccos(â'_l · b̂'_l) and weights sin((1−t)ω_l)/sin ω_l, sin(tω_l)/sin ω_l. It is not a
    slerp: the result leaves the great circle (a coordinate where either vector is 0 gets ω_l = π/2).
    Their code computes in float16 with the image mean stored in ``mean_feat.pt`` (``alpha`` is their
    ``mean_val``, default 1); here float64 with the ``mean`` given, the product clipped to [−1, 1]
    against rounding. A coordinate with â'_l·b̂'_l = ±1 (sin ω_l = 0, which makes their code return
    NaN) raises :class:`EmbeddingError`.
    """
    if compat not in VSLERP_COMPAT:
        raise EmbeddingError(f"compat must be one of {VSLERP_COMPAT}, got {compat!r}")
    a64, b64 = _vectors(a, b, allow_zero=True)
    w, scalar = _weights(t)
    lift = _mean_vector(mean, alpha, a64.size)
    low, high = a64 - lift, b64 - lift
    for vec, name in ((low, "a"), (high, "b")):
        if not np.any(vec):
            raise EmbeddingError(f"{name} − alpha·mean is the zero vector: it has no direction to interpolate")
    if compat is None:
        return _shape(_slerp_formula(low, high, w) + lift, scalar)
    omega = np.arccos(np.clip((low / np.linalg.norm(low)) * (high / np.linalg.norm(high)), -1.0, 1.0))
    sin_omega = np.sin(omega)
    if np.any(sin_omega == 0.0):
        raise EmbeddingError('compat="levi-gilboa": a coordinate has sin(omega) = 0 (a\' and b\' both along one '
                             "axis); the released code divides by zero there")
    result = (np.sin((1.0 - w)[:, None] * omega) / sin_omega) * low + (np.sin(w[:, None] * omega) / sin_omega) * high
    return _shape(result + lift, scalar)
