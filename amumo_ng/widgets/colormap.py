"""Colour mapping of similarity values to uint8 indices and a 256-colour lookup table.

The browser receives one uint8 per heatmap cell (an index into the LUT) and the LUT
itself, so a view costs rows x cols bytes, a quarter of RGBA.
"""
from __future__ import annotations

import numpy as np

# viridis, sampled at 9 evenly spaced stops (matplotlib's values, rounded to 8 bits)
_VIRIDIS_STOPS = np.array(
    [
        [68, 1, 84],
        [71, 44, 122],
        [59, 81, 139],
        [44, 113, 142],
        [33, 144, 141],
        [39, 173, 129],
        [92, 200, 99],
        [170, 220, 50],
        [253, 231, 37],
    ],
    dtype=np.float64,
)


def lut_from_stops(stops) -> np.ndarray:
    """uint8 [256, 3]: RGB colours interpolated linearly between evenly spaced ``stops`` (float [s, 3],
    0..255; the first at index 0, the last at 255)."""
    stops = np.asarray(stops, dtype=np.float64)
    x = np.linspace(0.0, 1.0, 256)
    at = np.linspace(0.0, 1.0, len(stops))
    lut = np.stack([np.interp(x, at, stops[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def viridis_lut() -> np.ndarray:
    """uint8 [256, 3]: RGB colours, index 0 = low values, 255 = high values."""
    return lut_from_stops(_VIRIDIS_STOPS)


def quantize(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map float values to uint8 LUT indices: vmin -> 0, vmax -> 255, clipped outside,
    linear in between (round to nearest). A degenerate range (vmax <= vmin) maps to 128."""
    v = np.asarray(values, dtype=np.float32)
    if not vmax > vmin:
        return np.full(v.shape, 128, dtype=np.uint8)
    scaled = v - np.float32(vmin)  # one float32 temporary, worked in place
    scaled *= np.float32(255.0 / (vmax - vmin))
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def dequantize(index: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """The value at the centre of each uint8 bin (inverse of :func:`quantize` up to rounding)."""
    return (np.asarray(index, dtype=np.float32) * np.float32((vmax - vmin) / 255.0) + np.float32(vmin))


# a diverging map (ColorBrewer RdBu, reversed: blue for negative, white at 0, red for positive)
_RDBU_STOPS = np.array(
    [
        [5, 48, 97],
        [33, 102, 172],
        [67, 147, 195],
        [146, 197, 222],
        [209, 229, 240],
        [247, 247, 247],
        [253, 219, 199],
        [244, 165, 130],
        [214, 96, 77],
        [178, 24, 43],
        [103, 0, 31],
    ],
    dtype=np.float64,
)


def diverging_lut() -> np.ndarray:
    """uint8 [256, 3]: blue (index 0, most negative) through white (the centre) to red (255)."""
    return lut_from_stops(_RDBU_STOPS)
