"""What the heatmap draws for a view rectangle: uint8 colour indices plus block edges.

Pure functions of a :class:`~amumo_ng.session.Session`; the widgets only ship their
results to the browser. A rectangle is given in stacked rows/cols of the session's view
(``0..k-1`` images, ``k..2k-1`` texts, draw order). When it has more rows (or cols)
than ``grid`` the cells are block means of the cosine similarity; otherwise exact values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .colormap import quantize


@dataclass(frozen=True)
class HeatmapImage:
    """One drawable rectangle of the stacked similarity matrix.

    Attributes
    ----------
    r0, r1, c0, c1 : int
        The rectangle ``[r0, r1) x [c0, c1)`` in stacked view rows/cols.
    row_edges, col_edges : np.ndarray
        int32 [R+1] / [C+1]: first stacked row (col) of each drawn cell, plus the stop.
    pixels : np.ndarray
        uint8 [R, C] colour-map indices (:func:`~amumo_ng.widgets.colormap.quantize`).
    values : np.ndarray or None
        float32 [R, C] cosine similarities when ``exact`` and small enough to ship, else None.
    exact : bool
        True when every cell is one matrix entry (R = r1 - r0 and C = c1 - c0).
    vmin, vmax : float
        The cosine similarities that ``pixels`` 0 and 255 stand for (the colour legend).
    """

    r0: int
    r1: int
    c0: int
    c1: int
    row_edges: np.ndarray
    col_edges: np.ndarray
    pixels: np.ndarray
    values: Optional[np.ndarray]
    exact: bool
    vmin: float
    vmax: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape


def value_range(values: np.ndarray) -> tuple[float, float]:
    """(vmin, vmax) of the finite values, widened to a non-empty interval."""
    v = np.asarray(values, dtype=np.float32)
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def full_view(session, grid: int, float_limit: int, scale: Optional[tuple] = None) -> HeatmapImage:
    """The whole stacked matrix of the session's view on at most ``grid`` x ``grid`` cells
    (:func:`~amumo_ng.analysis.similarity.block_mean_similarity`), coloured over ``scale``
    (vmin, vmax) or, when None, the range of its cells; exact float values when 2k <= ``float_limit``."""
    lod = session.level_of_detail(grid)
    values = np.asarray(lod.values, dtype=np.float32)
    edges = np.asarray(lod.edges, dtype=np.int64)
    k2 = 2 * session.k
    exact = bool(lod.exact)
    vmin, vmax = value_range(values) if scale is None else (float(scale[0]), float(scale[1]))
    return HeatmapImage(
        0, k2, 0, k2, edges.astype(np.int32), edges.astype(np.int32),
        quantize(values, vmin, vmax), values if exact and k2 <= float_limit else None, exact, vmin, vmax,
    )


def region_view(session, r0: int, r1: int, c0: int, c1: int, grid: int,
                vmin: float, vmax: float, float_limit: int, widen: bool = True) -> HeatmapImage:
    """The rectangle ``[r0, r1) x [c0, c1)`` at most ``grid`` cells a side: exact tile when it
    fits, else block means (:func:`~amumo_ng.analysis.similarity.level_of_detail_tile`).

    Colours span ``[vmin, vmax]`` (the whole view's range), widened to the region's own values when
    ``widen`` (per-view colour scale): a whole view of block means has a narrower range than the
    exact cells a zoom reveals, which would otherwise all clip to the ends of the colour map. A
    fixed or locked scale is kept as it is (``widen=False``), so colours stay comparable."""
    k2 = 2 * session.k
    r0, r1, c0, c1 = (int(v) for v in (r0, r1, c0, c1))
    if not (0 <= r0 < r1 <= k2 and 0 <= c0 < c1 <= k2):
        raise ValueError(f"region [{r0}:{r1}, {c0}:{c1}] outside the {k2}x{k2} matrix in view")
    from ..analysis.similarity import level_of_detail_tile

    img, txt = session.view_vectors()
    lod = level_of_detail_tile(img, txt, (r0, r1), (c0, c1), max(2, int(grid)), unit=True)
    values = np.asarray(lod.values, dtype=np.float32)
    small = (r1 - r0) * (c1 - c0) <= float_limit * float_limit
    vmin, vmax = float(vmin), float(vmax)
    if widen:
        lo, hi = value_range(values)
        vmin, vmax = min(vmin, lo), max(vmax, hi)
    return HeatmapImage(
        r0, r1, c0, c1, np.asarray(lod.edges, np.int32), np.asarray(lod.col_edges, np.int32),
        quantize(values, vmin, vmax), values if lod.exact and small else None, bool(lod.exact), vmin, vmax,
    )


def symmetric_range(values: np.ndarray) -> tuple[float, float]:
    """(−m, m) with m the largest |value| (at least 1e-3): a diverging scale centred at 0."""
    m = max(float(np.max(np.abs(np.asarray(values, dtype=np.float32)))), 1e-3)
    return -m, m


def difference_full_view(session, grid: int, float_limit: int, scale: Optional[tuple] = None) -> HeatmapImage:
    """The whole in-modal difference D = Î·Îᵀ − T̂·T̂ᵀ of the view ([k, k], pair positions in draw
    order) on at most ``grid`` x ``grid`` cells, coloured over ``scale`` or, when None, a range
    symmetric about 0 (the diverging map's white is D = 0); exact floats when k <= ``float_limit``."""
    lod = session.difference_level_of_detail(grid)
    values = np.asarray(lod.values, dtype=np.float32)
    edges = np.asarray(lod.edges, dtype=np.int32)
    k = session.k
    vmin, vmax = symmetric_range(values) if scale is None else (float(scale[0]), float(scale[1]))
    exact = bool(lod.exact)
    return HeatmapImage(0, k, 0, k, edges, edges, quantize(values, vmin, vmax),
                        values if exact and k <= float_limit else None, exact, vmin, vmax)


def difference_region_view(session, r0: int, r1: int, c0: int, c1: int, grid: int,
                           vmin: float, vmax: float, float_limit: int, widen: bool = True) -> HeatmapImage:
    """The rectangle ``[r0, r1) x [c0, c1)`` of D (pair positions), exact when it fits ``grid``;
    the colour range widened symmetrically to the region's values when ``widen``."""
    k = session.k
    r0, r1, c0, c1 = (int(v) for v in (r0, r1, c0, c1))
    if not (0 <= r0 < r1 <= k and 0 <= c0 < c1 <= k):
        raise ValueError(f"region [{r0}:{r1}, {c0}:{c1}] outside the {k}x{k} difference matrix in view")
    lod = session.difference_level_of_detail(max(2, int(grid)), (r0, r1), (c0, c1))
    values = np.asarray(lod.values, dtype=np.float32)
    small = (r1 - r0) * (c1 - c0) <= float_limit * float_limit
    vmin, vmax = float(vmin), float(vmax)
    if widen:
        m = max(-vmin, vmax, -symmetric_range(values)[0])
        vmin, vmax = -m, m
    return HeatmapImage(r0, r1, c0, c1, np.asarray(lod.edges, np.int32), np.asarray(lod.col_edges, np.int32),
                        quantize(values, vmin, vmax), values if lod.exact and small else None, bool(lod.exact),
                        vmin, vmax)
