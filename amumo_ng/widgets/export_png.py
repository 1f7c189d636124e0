"""Save the views as PNG files, rendered in the kernel from the data the widgets send the browser.

No browser round trip: the heatmap's PNG is its current view image (``heat_pixels``, the uint8
colour indices, through ``colormap``), one pixel per cell of the view (optionally ``scale`` px per
cell, a zoom ``region`` or a finer ``grid``), with the colour bar under it; the scatter's PNG is
its ``points`` rasterised in the browser's colours (``point_colors`` through its palette, faded or
hidden pairs as the browser draws them, pair lines beneath). Files are written atomically (a
temporary file in the same folder, renamed): a failed export leaves no partial file.

``SimilarityHeatmap.save_png``, ``Scatter.save_png``, ``Explorer.save_png`` and
``Comparison.save_png`` delegate here; plotly figures go through :mod:`.export_figure`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from . import export_raster as raster

#: Most cells a side a heatmap export computes (a 4096² RGB image is 48 MiB).
MAX_EXPORT_CELLS = 4096
#: Pair lines: all pairs up to this many (the browser's WebGL lines), else those in view (or the
#: selection) up to OVERLAY_LINES (the browser's overlay), as components/scatter-lines.js.
LINES_LIMIT = 20_000
OVERLAY_LINES = 100_000


class ExportError(ValueError):
    """A view cannot be saved: an unwritable path, nothing drawn yet, or no image backend."""


# -- files ------------------------------------------------------------------------------------
def target_path(path) -> Path:
    """``path`` as a Path, checked before anything is rendered: it ends in ``.png``, is not a
    folder, and its folder exists and is writable. Raises :class:`ExportError` naming the problem."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ExportError(f"an export path must be a non-empty str or path, got {path!r}")
    target = Path(path).expanduser()
    if target.suffix.lower() != ".png":
        raise ExportError(f"save_png writes PNG files: give a path ending in .png, got {str(target)!r}")
    if target.is_dir():
        raise ExportError(f"cannot write {target}: it is a folder; give a file name ending in .png")
    folder = target.parent
    if not folder.exists():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist (create it first)")
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {target}: the folder {folder} is not writable")
    return target


def write_atomic(target: Path, write) -> Path:
    """Call ``write(file object)`` on a temporary file beside ``target``, then rename it onto
    ``target``; on any failure the temporary file is removed and :class:`ExportError` raised."""
    fd, tmp = None, None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=str(target.parent))
        with os.fdopen(fd, "wb") as handle:
            fd = None
            write(handle)
        os.replace(tmp, target)
        tmp = None
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"could not write {target}: {type(exc).__name__}: {exc}") from exc
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target


def write_png(rgb: np.ndarray, path) -> Path:
    """Write uint8 [H, W, 3] ``rgb`` to ``path`` as PNG (checked by :func:`target_path`, atomic)."""
    from PIL import Image

    target = target_path(path)
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), mode="RGB")
    return write_atomic(target, lambda handle: image.save(handle, format="PNG"))


def sibling_paths(path, names) -> dict[str, Path]:
    """``{name: folder / f"{stem}-{name}.png"}``, every one checked by :func:`target_path` first."""
    base = target_path(path)
    return {name: target_path(base.with_name(f"{base.stem}-{name}.png")) for name in names}


def _check_scale(scale) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= int(scale) <= 16:
        raise ExportError(f"scale must be a whole number of pixels per cell from 1 to 16, got {scale!r}")
    return int(scale)


# -- the heatmap -------------------------------------------------------------------------------
def _difference_mode(widget) -> bool:
    return getattr(widget, "heat_mode", "similarity") == "difference"


def heatmap_lut(widget) -> np.ndarray:
    """uint8 [256, 3]: the colour map the heatmap draws with now (the diverging one in difference mode)."""
    if callable(getattr(widget, "heat_lut", None)):
        return np.asarray(widget.heat_lut(), dtype=np.uint8).reshape(256, 3)
    return np.frombuffer(widget.colormap, dtype=np.uint8).reshape(256, 3)


def heatmap_cells(widget, region=None, grid=None):
    """(pixels uint8 [R, C], vmin, vmax) of the heatmap: the view image the widget sent the browser,
    or, given ``region`` (r0, r1, c0, c1 in the matrix in view: stacked rows/cols, or pair positions
    in difference mode) or ``grid`` (cells a side, up to :data:`MAX_EXPORT_CELLS`; ``"full"``: one
    cell per matrix entry), that rectangle at that resolution coloured as the browser colours a
    zoom (the widget's colour scale)."""
    rows = int(widget.heat_rows)
    if rows == 0 or not widget.heat_pixels:
        raise ExportError("the heatmap shows no pairs (the filter matches none): nothing to export")
    if region is None and grid is None:
        pixels = np.frombuffer(widget.heat_pixels, dtype=np.uint8).reshape(rows, rows)
        return pixels, float(widget.vmin), float(widget.vmax)
    difference = _difference_mode(widget)
    side = widget.session.k if difference else 2 * widget.session.k
    r0, r1, c0, c1 = (0, side, 0, side) if region is None else (int(v) for v in region)
    if isinstance(grid, str) and grid == "full":  # one cell per matrix entry of the rectangle
        grid = max(r1 - r0, c1 - c0, 2)
    elif grid is not None and (isinstance(grid, bool) or not isinstance(grid, (int, np.integer))):
        raise ExportError(f"grid must be a number of cells a side or 'full', got {grid!r}")
    cells = int(widget.grid) if grid is None else int(grid)
    if not 2 <= cells <= MAX_EXPORT_CELLS:
        raise ExportError(f"grid must be 2..{MAX_EXPORT_CELLS} cells a side, got {grid!r}")
    from .heatmap_view import region_view

    view = region_view
    if difference:
        from .heatmap_view import difference_region_view as view
    try:
        img = view(widget.session, r0, r1, c0, c1, cells, widget.vmin, widget.vmax, 0,
                   widen=widget._scale() is None)
    except ValueError as exc:
        raise ExportError(f"cannot export that heatmap region: {exc}") from exc
    return img.pixels, img.vmin, img.vmax


def heatmap_image(widget, *, scale: int = 1, legend: bool = True, region=None, grid=None) -> np.ndarray:
    """uint8 [H, W, 3]: the heatmap's cells (:func:`heatmap_cells`), ``scale`` px a side each, at
    the top left (pixel (r, c) at scale 1 is cell (r, c)); with ``legend``, the colour bar
    (vmin, ramp, vmax) and the scale label under it."""
    scale = _check_scale(scale)
    pixels, vmin, vmax = heatmap_cells(widget, region, grid)
    lut = heatmap_lut(widget)
    image = raster.heatmap_rgb(pixels, lut, scale)
    if not legend:
        return image
    exact = "exact values" if bool(widget.heat_exact) and region is None and grid is None else "cells"
    note = f"{widget.session.k:,} pairs · {pixels.shape[0]}x{pixels.shape[1]} {exact} · {widget.color_scale_label}"
    title = "Î·Îᵀ − T̂·T̂ᵀ" if _difference_mode(widget) else "cosine"
    strip = raster.legend_strip(max(image.shape[1], 300 * scale), lut=lut, vmin=vmin, vmax=vmax,
                                title=title, note=note, scale=scale)
    return raster.stack_rows(image, strip)


def save_heatmap_png(widget, path, **options) -> Path:
    """Write :func:`heatmap_image` of ``widget`` to ``path``; returns the path written."""
    target = target_path(path)
    return write_png(heatmap_image(widget, **options), target)


# -- the scatter -------------------------------------------------------------------------------
def _scatter_state(widget):
    """(xy float32 [m, 2], kind, n) of the points on screen; raises when none are ready."""
    waiting = getattr(widget, "wait_projection", None)
    if callable(waiting):
        waiting()
    xy = np.frombuffer(widget.points, dtype=np.float32).reshape(-1, 2)
    kind, n = widget.point_kind, int(widget.n_total)
    expected = n if kind == "pair" else 2 * n
    if len(xy) == 0 or len(xy) != expected or widget.points_model != widget.model:
        status = widget.projection_status or "no points for this model yet"
        raise ExportError(f"the scatter has no points of model {widget.model!r} to export ({status})")
    return xy, kind, n


def _scatter_colors(widget, kind: str, n: int, m: int):
    """(codes uint8 [m], palette uint8 [256, 3], legend entries, title, range) as the browser's."""
    codes = np.frombuffer(getattr(widget, "point_colors", b""), dtype=np.uint8)
    color_kind = getattr(widget, "color_kind", "")
    lut_bytes = getattr(widget, "colormap", b"")
    lut = np.frombuffer(lut_bytes, dtype=np.uint8).reshape(256, 3) if len(lut_bytes) >= 768 else None
    if len(codes) != m or color_kind not in ("categorical", "numeric"):  # the browser's modality fallback
        codes = np.zeros(m, np.uint8) if kind == "pair" else np.repeat(np.array([0, 1], np.uint8), n)
        entries = [("pair (image ⊕ text)", "#555555")] if kind == "pair" else [("image", "#1f77b4"), ("text", "#ff7f0e")]
        palette = raster.scatter_palette("categorical", [c for _, c in entries], ["#d0d0d0"])
        return codes, palette, entries, "modality", None
    entries = [(str(label), str(color)) for label, color in widget.color_legend]
    palette = raster.scatter_palette(color_kind, [c for _, c in entries], widget.category_colors, lut)
    rng = tuple(widget.color_range) if color_kind == "numeric" and len(widget.color_range) == 2 else None
    return codes, palette, entries, widget.color_title, rng


def _line_pairs(widget, n: int, in_view: np.ndarray, fade: bool) -> np.ndarray:
    """Pair indices whose lines the browser draws (see :data:`LINES_LIMIT`)."""
    order = np.frombuffer(widget.order, dtype=np.int32)
    if n <= LINES_LIMIT:
        return np.arange(n) if fade else np.flatnonzero(in_view[:n])
    if order.size <= OVERLAY_LINES:
        return np.sort(order.astype(np.int64))
    return np.asarray(list(widget.selection)[:OVERLAY_LINES], dtype=np.int64)


def _cosine_lines(widget, n: int):
    """(pair cosines float32 [n], lo, hi, lut uint8 [256, 3]) when the lines are coloured by pair
    cosine (``line_color == "cosine"`` and its traits sent), else None (grey lines)."""
    if getattr(widget, "line_color", "grey") != "cosine":
        return None
    cos = np.frombuffer(getattr(widget, "pair_cosines", b""), dtype=np.float32)
    lut = getattr(widget, "line_colormap", b"")
    rng = list(getattr(widget, "line_color_range", []))
    if cos.size != n or n == 0 or len(lut) < 768 or len(rng) != 2:
        return None
    return cos, float(rng[0]), float(rng[1]), np.frombuffer(lut, dtype=np.uint8)[:768].reshape(256, 3)


def scatter_image(widget, *, scale: int = 1, legend: bool = True, lines=None,
                  opacity: float = raster.POINT_OPACITY) -> np.ndarray:
    """uint8 [H, W, 3]: the scatter as the browser first draws it (camera at rest), ``view_size``
    x ``scale`` px a side, then (``legend``) what the colours mean.

    Points of pairs out of view are faded (projection fitted on all pairs) or left out
    (re-projected on the view); faded points first, then the others, each group in index order,
    every dot ``opacity`` of its colour over what lies below. ``lines`` (default: the widget's
    ``show_lines``) draws each pair's image–text segment under the points."""
    scale = _check_scale(scale)
    xy, kind, n = _scatter_state(widget)
    m = len(xy)
    size = int(widget.view_size) * scale
    codes, palette, entries, title, rng = _scatter_colors(widget, kind, n, m)
    order = np.frombuffer(widget.order, dtype=np.int32)
    pair_in_view = np.zeros(n, dtype=bool)
    pair_in_view[order[(order >= 0) & (order < n)]] = True
    every = order.size == n
    in_view = np.ones(m, bool) if every else (pair_in_view if kind == "pair" else np.concatenate([pair_in_view] * 2))
    fade = not every and widget.projection_scope != "view"
    colors = palette[codes].copy()
    if fade:
        colors[~in_view] = raster.dimmed(colors[~in_view])
    drawn = np.concatenate([np.flatnonzero(~in_view), np.flatnonzero(in_view)]) if fade else np.flatnonzero(in_view)
    position = raster.screen_positions(xy, size, size)
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    if (widget.show_lines if lines is None else bool(lines)) and kind == "modality":
        pairs = _line_pairs(widget, n, in_view, fade)
        starts, ends = position[pairs], position[n + pairs]
        faded_pairs = ~pair_in_view[pairs] if fade else np.zeros(len(pairs), bool)
        cosine = _cosine_lines(widget, n)
        if cosine is not None:
            cos, lo, hi, line_lut = cosine
            line_rgb = raster.cosine_line_colors(cos[pairs], lo, hi, line_lut, faded_pairs)
        elif n <= LINES_LIMIT:
            line_rgb = raster.line_colors(faded_pairs)
        else:  # the overlay's line density: one grey, fainter the more lines
            alpha = max(0.02, min(0.3, 600 / max(1, len(pairs))))
            line_rgb = np.tile(raster.over_white((90, 90, 90), alpha), (len(pairs), 1))
        raster.paint_segments(canvas, starts, ends, line_rgb, width=scale)
    diameter = raster.point_size(m) * scale
    raster.paint_points(canvas, position[drawn], colors[drawn], diameter, opacity)
    if not legend:
        return canvas
    if rng is not None:
        strip = raster.legend_strip(size, lut=palette, vmin=rng[0], vmax=rng[1], title=title, scale=scale)
    else:
        shown = entries + ([("no category", widget.category_colors[-1])]
                           if getattr(widget, "category_colors", None) and (codes[in_view] == raster.NO_CATEGORY).any() else [])
        faded = int((~in_view).sum()) if fade else 0
        note = f"{faded:,} points not in view (faded)" if faded else ""
        strip = raster.legend_strip(size, entries=shown, title=title, note=note, scale=scale)
    return raster.stack_rows(canvas, strip)


def save_scatter_png(widget, path, **options) -> Path:
    """Write :func:`scatter_image` of ``widget`` to ``path``; returns the path written."""
    target = target_path(path)
    return write_png(scatter_image(widget, **options), target)


# -- several views -----------------------------------------------------------------------------
VIEW_SAVERS = {"heatmap": save_heatmap_png, "scatter": save_scatter_png}


def _views(views) -> list[str]:
    views = [views] if isinstance(views, str) else list(views)
    unknown = [v for v in views if v not in VIEW_SAVERS]
    if unknown or not views:
        raise ExportError(f"unknown view(s) {unknown or views!r}; choose from {sorted(VIEW_SAVERS)}")
    return views


def save_explorer_png(explorer, path, views=("heatmap", "scatter"), **options) -> dict[str, Path]:
    """Each of ``views`` of an Explorer as ``{stem}-{view}.png`` beside ``path`` (``ex.png`` ->
    ``ex-heatmap.png``, ``ex-scatter.png``); ``options`` (``scale``, ``legend``) go to each.
    Every path is checked before anything is drawn. Returns {view: path}."""
    views = _views(views)
    targets = sibling_paths(path, views)
    return {view: VIEW_SAVERS[view](explorer, targets[view], **options) for view in views}


def save_comparison_png(comparison, path, views=("heatmap", "scatter"), **options) -> dict[str, Path]:
    """Both Explorers of a Comparison: ``{stem}-left-{view}.png`` and ``{stem}-right-{view}.png``
    beside ``path``; returns {"left-heatmap": path, ...}."""
    views = _views(views)
    names = [f"{side}-{view}" for side in ("left", "right") for view in views]
    targets = sibling_paths(path, names)
    written = {}
    for side in ("left", "right"):
        explorer = getattr(comparison, side)
        for view in views:
            written[f"{side}-{view}"] = VIEW_SAVERS[view](explorer, targets[f"{side}-{view}"], **options)
    return written
