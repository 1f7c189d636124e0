"""What a kernel-free HTML export carries, computed by the widget's own Python code.

The Explorer's synced state (every ``sync=True`` trait; binary traits as base64), and, within a
size budget, what the browser would otherwise ask the kernel for: the view's unit vectors (exact
hover values and exact zoomed tiles computed in the page), finer levels of detail of the whole
matrix (zoom), and thumbnails at a chosen size. The HTML page itself is assembled and written by
:mod:`amumo_ng.widgets.export_html`.
"""
from __future__ import annotations

import base64
import json

import numpy as np

#: State keys of the anywidget / ipywidgets machinery, not the Explorer's (the page has no kernel).
_MACHINERY = frozenset({"_esm", "_css", "_anywidget_id", "layout", "tabbable", "tooltip", "_dom_classes"})


def b64(data) -> str:
    """Base64 text of bytes-like ``data``."""
    return base64.b64encode(bytes(data)).decode("ascii")


def b64_size(n_bytes: int) -> int:
    """Characters of the base64 text of ``n_bytes`` bytes."""
    return 4 * ((int(n_bytes) + 2) // 3)


def synced_state(widget) -> tuple[dict, dict]:
    """``(state, binary)`` of ``widget``'s synced traits: JSON values, and binary traits as
    ``{name: bytes}`` (what anywidget sends the browser as buffers). ``heat_vectors`` is left out:
    the export decides whether it is carried (:func:`view_vectors`)."""
    state, binary = {}, {}
    for name, value in widget.get_state().items():
        if name in _MACHINERY or name.startswith("_model_") or name.startswith("_view_") or name == "heat_vectors":
            continue
        if isinstance(value, (bytes, bytearray, memoryview)):
            binary[name] = bytes(value)
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue  # a widget reference or another value the page cannot use
        state[name] = value
    state["heat_dims"] = 0
    return state, binary


def view_vectors(widget, budget: int) -> tuple[bytes, int]:
    """float32 [2k, d] unit vectors in draw order and d (:func:`~amumo_ng.widgets.heatmap.stacked_view_vectors`,
    the rows the kernel's hover values are dot products of), or ``(b"", 0)`` over ``budget`` bytes."""
    from .heatmap import stacked_view_vectors

    return stacked_view_vectors(widget.session, budget)


def _tile_ranges(start: int, stop: int, tiles: int) -> list[tuple[int, int]]:
    """``tiles`` contiguous (start, stop) ranges over [start, stop) of sizes differing by at most 1."""
    cuts = np.linspace(start, stop, max(1, min(tiles, stop - start)) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def matrix_side(widget) -> int:
    """Rows of the matrix the heatmap draws: 2k stacked, or k pair positions in difference mode."""
    return widget.session.k if widget.heat_mode == "difference" else 2 * widget.session.k


def level_side(widget, level: int) -> int:
    """Cells a side of level ``level`` (>= 1) of the whole matrix: ``2**level`` tiles a side of at
    most ``grid`` cells each, never more than the matrix's rows (then the level is exact)."""
    return min(matrix_side(widget), (2 ** level) * max(2, int(widget.grid)))


def level_of_detail(widget, level: int) -> dict:
    """Level ``level`` (>= 1) of the view's whole matrix, finer than the view's own image:
    ``{"cells", "edges": int32 [cells + 1] bytes, "pixels": uint8 [cells, cells] bytes, "vmin",
    "vmax", "exact"}``. Tiles of the matrix are pooled by the kernel's own zoom code
    (:func:`~amumo_ng.analysis.similarity.level_of_detail_tile`, or the session's difference level
    of detail), coloured over the view's range widened to the level's values (the per-view scale)
    or over the fixed / locked scale, as :meth:`HeatmapMixin.handle_region` colours a zoom."""
    from ..analysis.similarity import level_of_detail_tile
    from .colormap import quantize
    from .heatmap_view import symmetric_range, value_range

    session, grid = widget.session, max(2, int(widget.grid))
    k, diff = session.k, widget.heat_mode == "difference"
    tiles = 2 ** level
    if diff:
        ranges = _tile_ranges(0, k, tiles)
    else:  # the image half and the text half tiled apart: no tile straddles the quadrant border
        ranges = _tile_ranges(0, k, max(1, tiles // 2)) + _tile_ranges(k, 2 * k, max(1, tiles // 2))
    img, txt = session.view_vectors()
    blocks, edges = [], []
    for r in ranges:
        row = []
        for c in ranges:
            if diff:
                lod = session.difference_level_of_detail(grid, r, c)
            else:
                lod = level_of_detail_tile(img, txt, r, c, grid, unit=True)
            row.append(np.asarray(lod.values, dtype=np.float32))
        blocks.append(np.concatenate(row, axis=1))
        edges.append(np.asarray(lod.edges, dtype=np.int64)[:-1])
    values = np.concatenate(blocks, axis=0)
    cell_edges = np.append(np.concatenate(edges), k if diff else 2 * k).astype(np.int32)
    scale = widget._scale()
    if scale is not None:
        vmin, vmax = float(scale[0]), float(scale[1])
    elif diff:
        m = max(-widget.vmin, widget.vmax, -symmetric_range(values)[0])
        vmin, vmax = -m, m
    else:
        lo, hi = value_range(values)
        vmin, vmax = min(widget.vmin, lo), max(widget.vmax, hi)
    exact = bool(np.all(np.diff(cell_edges) == 1))
    return {"cells": int(values.shape[0]), "edges": cell_edges.tobytes(),
            "pixels": np.ascontiguousarray(quantize(values, vmin, vmax)).tobytes(),
            "vmin": float(vmin), "vmax": float(vmax), "exact": exact}


def level_bytes(cells: int) -> int:
    """Base64 characters a level of ``cells`` a side takes in the page (pixels and edges)."""
    return b64_size(cells * cells) + b64_size(4 * (cells + 1)) + 100


def thumbnails(widget, size: int, budget: int):
    """Thumbnails of the pairs in view, in draw order, at most ``size`` px a side, while their
    base64 text fits ``budget`` characters: ``(carried {pair: {"mime", "data"}}, bytes used,
    pairs dropped)``. Pairs without an image (or none attached) are skipped."""
    from .thumbnails import thumbnail

    session = widget.session
    emb = session.embeddings
    order = np.asarray(session.order, dtype=np.int64)
    if emb.image_source is None or size <= 0:
        return {}, 0, 0
    carried, used = {}, 0
    for at, pair in enumerate(order):
        thumb = thumbnail(emb, int(pair), int(size))
        if not thumb.ok:
            continue
        cost = b64_size(len(thumb.data)) + 40
        if used + cost > budget:
            return carried, used, int(order.size - at)
        carried[str(int(pair))] = {"mime": thumb.mime, "data": b64(thumb.data)}
        used += cost
    return carried, used, 0


def settle(widget, timeout: float = 120.0) -> None:
    """Wait for the widget's background work (clustering, projection, gap readout) so the page
    carries finished views, not "computing…"."""
    session = widget.session
    if hasattr(session, "wait_ordering"):
        session.wait_ordering(timeout)
    for name in ("wait_projection", "wait_readout"):
        wait = getattr(widget, name, None)
        if wait is not None:
            wait(timeout)
