"""Screen geometry for the browser tests: which points lie in a box or a lasso polygon (brute
force, independent of the widget code)."""
from __future__ import annotations

import numpy as np


def inside(xy: np.ndarray, box: dict, margin: float = 6.0) -> np.ndarray:
    """Points [m, 2] (client px) at least ``margin`` px inside ``box`` {x, y, width, height}."""
    return ((xy[:, 0] > box["x"] + margin) & (xy[:, 0] < box["x"] + box["width"] - margin)
            & (xy[:, 1] > box["y"] + margin) & (xy[:, 1] < box["y"] + box["height"] - margin))


def points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, brute force over the polygon's edges (independent of the library)."""
    x, y = xy[:, 0], xy[:, 1]
    res = np.zeros(len(xy), dtype=bool)
    for k in range(len(poly)):
        x1, y1 = poly[k]
        x2, y2 = poly[(k + 1) % len(poly)]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        res ^= crosses & (x < xint)
    return res


def distance_to_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    d = np.full(len(xy), np.inf)
    for k in range(len(poly)):
        a, b = poly[k], poly[(k + 1) % len(poly)]
        ab = b - a
        t = np.clip(((xy - a) @ ab) / max(ab @ ab, 1e-12), 0, 1)
        d = np.minimum(d, np.linalg.norm(xy - (a + t[:, None] * ab), axis=1))
    return d
