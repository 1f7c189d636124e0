"""Colours of the scatter's pair lines: plain grey, or by the pair's high-dimensional cosine.

A long line between a pair's image and text in a 2-D layout means one of two things: the model
places the two far apart (a low cosine of the vectors), or the projection distorts (a high cosine
drawn far apart). Colouring each line by cos(image_i, text_i) of the vectors shown tells them apart.

The browser gets the pair cosines (``pair_cosines``, float32 [n], gap-closed when the gap is
closed), the colour map (:func:`cosine_line_lut`, uint8 [256, 3]) and its range
(:func:`cosine_line_range`, over the pairs in view), and quantises each pair's cosine to a map
index as :func:`amumo_ng.widgets.colormap.quantize` does.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

#: Line colour choices (value, label), in menu order.
LINE_COLOR_OPTIONS = (("grey", "grey"), ("cosine", "by pair cosine"))
#: Pairs in view below which the range is min..max (percentiles of a few values mean nothing).
ROBUST_MIN_PAIRS = 100
#: Percentiles (in %) that bound the range from ROBUST_MIN_PAIRS pairs on (outside: the end colours).
RANGE_PERCENTILES = (1.0, 99.0)

# A diverging map, red (low cosine: the model keeps the pair apart) through light grey to blue
# (high cosine: the model agrees); ColorBrewer RdBu's outer and middle stops, the centre greyed.
_DIVERGING_STOPS = np.array(
    [
        [178, 24, 43],
        [239, 138, 98],
        [200, 200, 200],
        [103, 169, 207],
        [33, 102, 172],
    ],
    dtype=np.float64,
)


def cosine_line_lut() -> np.ndarray:
    """uint8 [256, 3]: RGB line colours, index 0 = the lowest pair cosine of the range, 255 = the highest."""
    from .colormap import lut_from_stops

    return lut_from_stops(_DIVERGING_STOPS)


def cosine_line_range(cosines, indices: Optional[np.ndarray] = None) -> tuple[float, float]:
    """(low, high) pair cosines the map's ends stand for: over the pairs ``indices`` (all when None),
    min..max below :data:`ROBUST_MIN_PAIRS` pairs, else the :data:`RANGE_PERCENTILES`; non-finite
    values are ignored. A single value v gives (v − 0.05, v + 0.05); no finite value gives (−1, 1)."""
    v = np.asarray(cosines, dtype=np.float64).reshape(-1)
    if indices is not None:
        v = v[np.asarray(indices, dtype=np.intp)]
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0
    if v.size >= ROBUST_MIN_PAIRS:
        lo, hi = (float(x) for x in np.percentile(v, RANGE_PERCENTILES))
    else:
        lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        lo, hi = lo - 0.05, hi + 0.05
    return lo, hi


__all__ = ["LINE_COLOR_OPTIONS", "ROBUST_MIN_PAIRS", "RANGE_PERCENTILES", "cosine_line_lut", "cosine_line_range"]
