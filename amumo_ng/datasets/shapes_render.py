"""Pixels of the ``shapes`` dataset (:mod:`amumo_ng.datasets.shapes`): shapes, backgrounds and the
degraded images of its anomalies, drawn with PIL only (the same pixels on every machine).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Centre of the group of objects, as fractions of the image side (x, y).
_POSITION_XY = {
    "centre": (0.5, 0.5),
    "top left": (0.28, 0.28),
    "top right": (0.72, 0.28),
    "bottom left": (0.28, 0.72),
    "bottom right": (0.72, 0.72),
}
#: Several objects are drawn smaller so that a group still fits a corner.
_COUNT_FACTOR = {1: 1.0, 2: 0.8, 3: 0.7}
_BG_LIGHT, _BG_DARK = 228, 196  # grey levels of the background and its pattern
_SUPERSAMPLE = 2  # render at 2x and downsample (anti-aliased edges)


def _shape_polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Vertices of ``shape`` centred at (cx, cy) with outer radius r (pixels); None for a circle."""
    if shape == "circle":
        return None
    if shape == "square":
        h = 0.85 * r
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "triangle":
        return [(cx + r * math.cos(a), cy + r * math.sin(a))
                for a in (math.radians(-90), math.radians(30), math.radians(150))]
    if shape == "star":
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else 0.45 * r
            a = math.radians(-90 + 36 * k)
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts
    if shape == "cross":
        w = 0.34 * r
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w),
                (cx + r, cy + w), (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r),
                (cx - w, cy + w), (cx - r, cy + w), (cx - r, cy - w), (cx - w, cy - w)]
    if shape == "heart":
        pts = []
        for k in range(40):
            t = 2 * math.pi * k / 40
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            pts.append((cx + r * x / 16.5, cy - r * (y + 2.5) / 15.5))
        return pts
    raise ValueError(f"unknown shape {shape!r}")


def _background(size: int, kind: str) -> Image.Image:
    img = Image.new("RGB", (size, size), (_BG_LIGHT,) * 3)
    draw = ImageDraw.Draw(img)
    dark = (_BG_DARK,) * 3
    step = max(4, size // 8)
    if kind == "striped":
        for y in range(0, size, step):
            draw.rectangle([0, y, size, y + step // 2 - 1], fill=dark)
    elif kind == "dotted":
        d = max(1, step // 4)
        for y in range(step // 2, size, step):
            for x in range(step // 2, size, step):
                draw.ellipse([x - d, y - d, x + d, y + d], fill=dark)
    elif kind == "checkered":
        for y in range(0, size, step):
            for x in range(0, size, step):
                if ((x // step) + (y // step)) % 2:
                    draw.rectangle([x, y, x + step - 1, y + step - 1], fill=dark)
    return img


def _object_centres(count: int, gx: float, gy: float, r: float, size: int) -> list[tuple[float, float]]:
    """Centres of ``count`` non-overlapping objects grouped around (gx, gy), kept inside the image."""
    if count == 1:
        offsets = [(0.0, 0.0)]
    elif count == 2:
        d = 1.1 * r
        offsets = [(-d, 0.0), (d, 0.0)]
    else:
        d = 1.2 * r
        offsets = [(d * math.cos(a), d * math.sin(a)) for a in (math.radians(-90), math.radians(30), math.radians(150))]
    ext = max(max(abs(ox), abs(oy)) for ox, oy in offsets) + r + 1
    gx = min(max(gx, ext), size - ext)
    gy = min(max(gy, ext), size - ext)
    return [(gx + ox, gy + oy) for ox, oy in offsets]


def render_pair(*, size, shape, rgb, radius_frac, position, count, background, jitter, anomaly, noise_seed) -> np.ndarray:
    """Pixels uint8 [size, size, 3] of one ``shapes`` pair: ``count`` objects of ``shape`` in colour
    ``rgb`` (0-255 each), radius ``radius_frac`` of the side, grouped at ``position`` (a
    :data:`~amumo_ng.datasets.shapes.POSITIONS` name) and moved by ``jitter`` (3 numbers in [-1, 1]:
    x, y, radius), on a ``background`` pattern; drawn at 2x and box-downsampled. ``anomaly``
    "blurred" or "noised" degrades the image (noise from a generator seeded by ``noise_seed``)."""
    ss = _SUPERSAMPLE
    big = size * ss
    img = _background(big, background)
    draw = ImageDraw.Draw(img)
    fx, fy = _POSITION_XY[position]
    gx = (fx + 0.03 * jitter[0]) * big
    gy = (fy + 0.03 * jitter[1]) * big
    r = radius_frac * _COUNT_FACTOR[count] * (1.0 + 0.08 * jitter[2]) * big
    for cx, cy in _object_centres(count, gx, gy, r, big):
        poly = _shape_polygon(shape, cx, cy, r)
        if poly is None:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
        else:
            draw.polygon(poly, fill=rgb)
    img = img.resize((size, size), Image.Resampling.BOX)
    if anomaly == "blurred":
        img = img.filter(ImageFilter.GaussianBlur(radius=size / 20))
    arr = np.asarray(img, dtype=np.uint8)
    if anomaly == "noised":
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(noise_seed))))
        noise = rng.normal(0.0, 60.0, size=arr.shape)
        arr = np.clip(arr.astype(np.float64) + noise, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)
