"""Scaling projection positions into the scatter's view square, robust to a few far points.

Positions are mapped by one scale for both axes (distances keep their ratios) so that the
*robust* box of the points fills [-EDGE, EDGE]: the ``ROBUST_PERCENTILES`` per axis, or the plain
bounding box for fewer than ``ROBUST_MIN_POINTS`` points (percentiles of a few points mean nothing).
A point that would land outside the square is clamped to its edge and flagged, so one far outlier
no longer squeezes every other point into a corner of the plot.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

#: Half-width of the view square the fitted box fills (the positions are in [-EDGE, EDGE]).
EDGE = 0.95
#: Points that were not fitted (pairs out of view) stay where they lie, within [-CONTEXT_EDGE, CONTEXT_EDGE].
CONTEXT_EDGE = 10.0
#: Per-axis percentiles (in %) that bound the fitted box when there are enough points.
ROBUST_PERCENTILES = (0.5, 99.5)
#: Below this many fitted points the box is the plain bounding box.
ROBUST_MIN_POINTS = 200


def check_positions(xy) -> np.ndarray:
    """``xy`` as float64 [m, 2]; ValueError for another shape or NaN/inf."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"expected positions [m, 2], got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError("projection positions contain NaN or inf")
    return xy


def fitted_box(xy: np.ndarray, min_points: int = ROBUST_MIN_POINTS,
               percentiles: tuple = ROBUST_PERCENTILES) -> tuple[np.ndarray, np.ndarray]:
    """(lo [2], hi [2]) per axis, in the units of ``xy`` [m >= 1, 2]: the ``percentiles`` when
    ``m >= min_points``, else (or when that box is a single point) the bounding box."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    if len(xy) >= min_points:
        p_lo, p_hi = np.percentile(xy, percentiles, axis=0)
        if float((p_hi - p_lo).max()) > 0:
            lo, hi = p_lo, p_hi
    return lo, hi


def scale_to_view(xy, fit_rows: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions float32 [m, 2] in [-EDGE, EDGE], clamped uint8 [m]: 1 = moved to the edge).

    The box (:func:`fitted_box`) is fitted to the rows ``fit_rows`` of ``xy`` [m, 2] (all rows when
    None or empty) and centred at the origin; its longer side spans [-EDGE, EDGE]. When the fitted
    rows all coincide, the box of all rows is used; when every row coincides, all go to the origin.
    """
    xy = check_positions(xy)
    if len(xy) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.uint8)
    every = fit_rows is None or len(fit_rows) == 0
    centre, factor = _transform(xy, None if every else fit_rows)
    scaled = (xy - centre) * factor
    # a relative tolerance: the extreme points of a bounding-box fit land on the edge up to rounding
    outside = (np.abs(scaled) > EDGE * (1 + 1e-6)).any(axis=1)
    if every:  # every point fitted: one clamp, no masks
        np.clip(scaled, -EDGE, EDGE, out=scaled)
        return scaled.astype(np.float32), outside.astype(np.uint8)
    fitted = np.zeros(len(xy), dtype=bool)
    fitted[np.asarray(fit_rows, dtype=np.intp)] = True
    clamped = (outside & fitted).astype(np.uint8)
    # the points fitted (the pairs in view) are clamped to the square; the others are context drawn
    # where they lie (off the view until the user pans), bounded only to keep coordinates sane
    positions = np.where(fitted[:, None], np.clip(scaled, -EDGE, EDGE), np.clip(scaled, -CONTEXT_EDGE, CONTEXT_EDGE))
    return positions.astype(np.float32), clamped


def view_transform(xy, fit_rows: Optional[np.ndarray] = None) -> tuple[np.ndarray, float]:
    """(centre float64 [2], factor): :func:`scale_to_view` maps a position p (units of ``xy``) to
    ``(p − centre) · factor`` before clamping, so other vectors placed in the same projection
    (an interpolation path, a typed prompt) land where the points are drawn."""
    return _transform(check_positions(xy), fit_rows)


def _transform(xy: np.ndarray, fit_rows) -> tuple[np.ndarray, float]:
    """:func:`view_transform` of checked positions ``xy`` (float64 [m, 2])."""
    if len(xy) == 0:
        return np.zeros(2), 0.0
    rows = xy if fit_rows is None or len(fit_rows) == 0 else xy[np.asarray(fit_rows, dtype=np.intp)]
    lo, hi = fitted_box(rows)
    if float((hi - lo).max()) == 0 and rows is not xy:
        lo, hi = fitted_box(xy)
    half = float((hi - lo).max()) / 2
    return (lo + hi) / 2, (EDGE / half if half > 0 else 0.0)


def point_rows(indices, n_pairs: int, kind: str) -> np.ndarray:
    """Rows of the laid-out points of pairs ``indices``: ``i`` and ``n + i`` (image and text of
    pair i, ``kind == "modality"``), or ``i`` (one point per pair, ``kind == "pair"``)."""
    idx = np.asarray(indices, dtype=np.intp).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n_pairs):
        raise IndexError(f"pair indices must be in [0, {n_pairs}), got {idx.min()}..{idx.max()}")
    return idx if kind == "pair" else np.concatenate([idx, idx + n_pairs])


__all__ = ["EDGE", "ROBUST_PERCENTILES", "ROBUST_MIN_POINTS", "check_positions", "fitted_box",
           "scale_to_view", "view_transform", "point_rows"]
