"""Rasterise what the views draw, in the kernel, from the data the widgets send the browser.

Pure numpy/PIL: uint8 colour indices + a 256-colour LUT -> RGB (the heatmap, one pixel per cell,
optionally scaled), the scatter's points and pair lines -> RGB (the browser's palette, dimming and
opacity), and the legends under them. :mod:`amumo_ng.widgets.export_png` reads the widgets and
writes the files.

Coordinates: scatter positions are the widget's ``points`` (float32 [m, 2] in [-1, 1]); the browser
shows [-1, 1]² over its square canvas with y up, so point (x, y) lies at canvas position
``((x + 1) / 2 * W, (1 - y) / 2 * H)`` px (:func:`screen_positions`).
"""
from __future__ import annotations

import numpy as np

#: The scatter's look in the browser (components/scatter.js, scatter-legend.js).
POINT_OPACITY = 0.85          # regl-scatterplot's opacity: a point is this much its colour over white
DIM_STRENGTH = 0.22           # a faded point: its colour at this strength over white
NO_CATEGORY = 255             # the colour code of "no category"
LINE_GREY = (0.5, 0.5, 0.5)   # pair lines (RGB in [0, 1]) ...
LINE_PALE = (0.88, 0.88, 0.88)  # ... and those of faded pairs
LINE_OPACITY = 0.35
COSINE_LINE_OPACITY = 0.8     # lines coloured by pair cosine (scatter-line-colors.js)
BACKGROUND = (255, 255, 255)


def point_size(m: int) -> float:
    """CSS px diameter the browser draws m points at (scatter.js: more points, smaller dots)."""
    return 1.5 if m > 50_000 else 2.5 if m > 5_000 else 4.0


def hex_rgb(color: str) -> tuple[int, int, int]:
    """"#rrggbb" -> (r, g, b); anything else -> grey (128, 128, 128), as the browser does."""
    text = str(color or "").strip().lstrip("#")
    if len(text) != 6:
        return (128, 128, 128)
    try:
        value = int(text, 16)
    except ValueError:
        return (128, 128, 128)
    return ((value >> 16) & 255, (value >> 8) & 255, value & 255)


def over_white(rgb, alpha: float) -> np.ndarray:
    """uint8 colours drawn at ``alpha`` over a white background (rounded to nearest)."""
    c = np.asarray(rgb, dtype=np.float64)
    return np.clip(np.rint(alpha * c + (1.0 - alpha) * 255.0), 0, 255).astype(np.uint8)


def dimmed(rgb) -> np.ndarray:
    """The browser's faded colour of uint8 ``rgb`` [..., 3]: 255 - 0.22 * (255 - c), rounded."""
    c = np.asarray(rgb, dtype=np.float64)
    return np.clip(np.rint(255.0 - DIM_STRENGTH * (255.0 - c)), 0, 255).astype(np.uint8)


def heatmap_rgb(pixels: np.ndarray, lut: np.ndarray, scale: int = 1) -> np.ndarray:
    """uint8 [R*scale, C*scale, 3]: each cell's LUT colour (``pixels`` uint8 [R, C] indices,
    ``lut`` uint8 [256, 3]), every cell a ``scale`` x ``scale`` block (nearest neighbour)."""
    img = np.asarray(lut, dtype=np.uint8).reshape(256, 3)[np.asarray(pixels, dtype=np.uint8)]
    if scale > 1:
        img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    return np.ascontiguousarray(img)


def grey_lut() -> np.ndarray:
    """uint8 [256, 3] greys: what the browser ramps numeric colours over when a widget sends no LUT."""
    ramp = np.arange(256, dtype=np.uint8)
    return np.stack([ramp, ramp, ramp], axis=1)


def scatter_palette(color_kind: str, legend_colors, category_colors, lut=None) -> np.ndarray:
    """uint8 [256, 3]: the colour of each point code, as the browser's ``pointColorState``.

    Numeric: ``lut`` (uint8 [256, 3]; None: greys). Categorical: code i -> the legend's colour i,
    else ``category_colors[i]`` (but the last entry, which colours "no category"); code 255 and
    codes past the palette -> the last entry of ``category_colors``."""
    if color_kind == "numeric":
        return np.asarray(lut if lut is not None else grey_lut(), dtype=np.uint8).reshape(256, 3)
    cats = list(category_colors) or ["#d0d0d0"]
    none = hex_rgb(cats[-1])
    legend_colors = list(legend_colors)
    out = np.empty((256, 3), dtype=np.uint8)
    for i in range(256):
        if i < len(legend_colors) and i != NO_CATEGORY:
            out[i] = hex_rgb(legend_colors[i])
        elif i < len(cats) - 1:
            out[i] = hex_rgb(cats[i])
        else:
            out[i] = none
    return out


def screen_positions(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """float64 [m, 2] canvas position (x px from the left, y px from the top) of positions in
    [-1, 1]² (y up): ``((x + 1) / 2 * W, (1 - y) / 2 * H)``."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return np.stack([(xy[:, 0] + 1.0) / 2.0 * width, (1.0 - xy[:, 1]) / 2.0 * height], axis=1)


def paint_points(canvas: np.ndarray, positions: np.ndarray, colors: np.ndarray, diameter: float,
                 opacity: float = POINT_OPACITY) -> np.ndarray:
    """Draw round dots onto ``canvas`` (uint8 [H, W, 3], modified and returned) in the given order.

    ``positions``: float [m, 2] canvas positions (:func:`screen_positions`); a dot covers the
    pixels whose centre lies within ``diameter / 2`` of its position, and always the pixel holding
    it. ``colors``: uint8 [m, 3]. Each pixel shows the last dot drawn over it, at ``opacity`` over
    the canvas below (exact where dots do not overlap; where they do, the browser blends the stack
    and this shows the top one; the browser's antialiased rims are not drawn)."""
    h, w = canvas.shape[:2]
    m = len(positions)
    if m == 0:
        return canvas
    pos = np.asarray(positions, dtype=np.float64)
    base = np.floor(pos).astype(np.int64)
    r = float(diameter) / 2.0
    reach = int(np.ceil(r)) + 1
    top = np.full(h * w, -1, dtype=np.int64)  # index of the last dot drawn over each pixel
    rank = np.arange(m, dtype=np.int64)
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            c, row = base[:, 0] + dc, base[:, 1] + dr
            covered = (c + 0.5 - pos[:, 0]) ** 2 + (row + 0.5 - pos[:, 1]) ** 2 <= r * r
            if dr == 0 and dc == 0:
                covered[:] = True
            inside = covered & (c >= 0) & (c < w) & (row >= 0) & (row < h)
            np.maximum.at(top, row[inside] * w + c[inside], rank[inside])
    hit = np.flatnonzero(top >= 0)
    flat = canvas.reshape(-1, 3)
    below = flat[hit].astype(np.float64)
    flat[hit] = np.clip(np.rint(opacity * colors[top[hit]] + (1.0 - opacity) * below), 0, 255).astype(np.uint8)
    return canvas


def paint_segments(canvas: np.ndarray, starts: np.ndarray, ends: np.ndarray, colors: np.ndarray,
                   width: int = 1) -> np.ndarray:
    """Straight lines from ``starts`` to ``ends`` (float [s, 2] canvas positions) in uint8
    ``colors`` [s, 3] (already blended over the background), drawn in order onto ``canvas``."""
    from PIL import Image, ImageDraw

    if len(starts) == 0:
        return canvas
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    # PIL's integer coordinates name pixels (rounded): the pixel holding position p is round(p - 0.5)
    starts, ends = np.asarray(starts, np.float64) - 0.5, np.asarray(ends, np.float64) - 0.5
    for (x0, y0), (x1, y1), color in zip(starts.tolist(), ends.tolist(), colors.tolist()):
        draw.line([(x0, y0), (x1, y1)], fill=tuple(color), width=max(1, int(width)))
    canvas[...] = np.asarray(img)
    return canvas


def line_colors(faded: np.ndarray) -> np.ndarray:
    """uint8 [s, 3]: the browser's pair-line colour (grey, pale when the pair is faded) over white."""
    grey = over_white(np.array(LINE_GREY) * 255.0, LINE_OPACITY)
    pale = over_white(np.array(LINE_PALE) * 255.0, LINE_OPACITY)
    return np.where(np.asarray(faded, dtype=bool)[:, None], pale, grey).astype(np.uint8)


def cosine_line_colors(cosines, lo: float, hi: float, lut, faded) -> np.ndarray:
    """uint8 [s, 3]: lines coloured by their pair's cosine as the browser's ``lineColorState``: the
    cosine over [lo, hi] to a map index (rounded half up, clipped; NaN or an empty range -> 128),
    its ``lut`` colour at 0.8 over white, or for a faded pair its pale colour at 0.35."""
    v = np.asarray(cosines, dtype=np.float64)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    codes = np.where(np.isfinite(v) & (scale > 0), np.clip(np.floor((v - lo) * scale + 0.5), 0, 255), 128)
    rgb = np.asarray(lut, dtype=np.uint8).reshape(256, 3)[codes.astype(np.int64)]
    pale = over_white(255.0 - DIM_STRENGTH * (255.0 - rgb.astype(np.float64)), LINE_OPACITY)
    return np.where(np.asarray(faded, dtype=bool)[:, None], pale, over_white(rgb, COSINE_LINE_OPACITY)).astype(np.uint8)


#: A system font with the legend's symbols (⊕, −); PIL's own default font when it is absent.
LEGEND_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(LEGEND_FONT, size)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def legend_strip(width: int, lut=None, vmin=None, vmax=None, entries=(), title: str = "",
                 note: str = "", scale: int = 1) -> np.ndarray:
    """uint8 [h, w, 3] white strip, ``w`` = ``width`` or wider when one line of text needs it:
    ``title``, then a colour ramp between the numbers ``vmin`` and ``vmax`` (when ``lut`` is
    given) or swatches of ``entries`` [(label, "#rrggbb")] (wrapped at ``width``), then ``note``
    on a line of its own."""
    from PIL import Image, ImageDraw

    scale = max(1, int(scale))
    width = max(1, int(width))
    font = _font(11 * scale)
    line_h, pad = 16 * scale, 4 * scale
    rows = 2 + (len(entries) if lut is None else 0)
    img = Image.new("RGB", (max(width, 2400 * scale), rows * line_h + pad), BACKGROUND)
    draw = ImageDraw.Draw(img)
    x, y, right = pad, 3 * scale, pad

    def text(at_x, at_y, words, fill=(0, 0, 0)):
        draw.text((at_x, at_y), words, fill=fill, font=font)
        return at_x + int(draw.textlength(words, font=font))

    if title:
        x = text(x, y, title, (68, 68, 68)) + 8 * scale
    if lut is not None:
        x = text(x, y, "" if vmin is None else f"{vmin:.2f}") + pad
        ramp_w = 128 * scale
        lut = np.asarray(lut, dtype=np.uint8).reshape(256, 3)
        ramp = lut[np.linspace(0, 255, ramp_w).round().astype(int)]
        img.paste(Image.fromarray(np.repeat(ramp[None], 9 * scale, axis=0)), (x, y + 2 * scale))
        x = text(x + ramp_w + pad, y, "" if vmax is None else f"{vmax:.2f}")
    else:
        for label, color in entries:
            need = 12 * scale + int(draw.textlength(str(label), font=font))
            if x > pad and x + need > width:  # wrap
                x, y = pad, y + line_h
            draw.rectangle([x, y + 2 * scale, x + 9 * scale, y + 11 * scale], fill=hex_rgb(color))
            right = max(right, text(x + 12 * scale, y, str(label)))
            x = right + 10 * scale
    right = max(right, x)
    if note:
        y += line_h
        right = max(right, text(pad, y, note, (102, 102, 102)))
    return np.asarray(img.crop((0, 0, max(width, right + pad), y + line_h + scale)))


def stack_rows(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top`` over ``bottom`` (uint8 [h, w, 3] each), the narrower one padded white on the right."""
    width = max(top.shape[1], bottom.shape[1])

    def pad(a):
        if a.shape[1] == width:
            return a
        out = np.full((a.shape[0], width, 3), 255, dtype=np.uint8)
        out[:, : a.shape[1]] = a
        return out

    return np.concatenate([pad(top), pad(bottom)], axis=0)
