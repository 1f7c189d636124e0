"""The similarity heatmap: state shipped to the browser and its request handlers.

The browser gets the whole stacked matrix of the view (``heat_*`` traits, binary) on at most
``grid`` x ``grid`` cells, and asks for a zoomed rectangle (``region``) or one exact value
(``value``) through custom messages. When the view's unit vectors fit ``vector_budget`` they are
sent too (``heat_vectors``) and the browser computes exact hover values itself (no round trip).
"""
from __future__ import annotations

import numpy as np
import traitlets as t

from ..analysis.validation import l2_normalize
from .base import SessionWidget, serialized
from .colormap import diverging_lut, viridis_lut
from .heatmap_view import difference_full_view, difference_region_view, full_view, region_view

#: Default most cells a side the browser is sent (the canvas draws one pixel per cell).
DEFAULT_GRID = 1024

#: Colour-scale modes and what the legend says of each.
COLOR_SCALES = {"view": "scale: per view", "fixed": "scale: fixed [−1, 1]", "locked": "scale: locked"}

#: What the heatmap draws: the stacked cosine similarities [2k, 2k], or the in-modal difference
#: D = Î·Îᵀ − T̂·T̂ᵀ [k, k] (CyCLIP's symmetry check) on a diverging scale centred at 0.
HEAT_MODES = (("similarity", "similarity (stacked)"), ("difference", "in-modal difference Î·Îᵀ − T̂·T̂ᵀ"))

#: Default most bytes of view unit vectors (float32 [2k, d]) sent so the browser computes
#: exact hover values itself (8 MiB: 2k·d·4 bytes, e.g. k = 16,384 pairs at d = 64).
DEFAULT_VECTOR_BUDGET = 8 * 2**20


def stacked_view_vectors(session, budget: int) -> tuple[bytes, int]:
    """The view's stacked unit vectors [I; T] in draw order as float32 [2k, d] bytes and d,
    or ``(b"", 0)`` when 2k·d·4 bytes exceed ``budget`` (bytes) or the view is empty.

    They are the rows :meth:`Session.tile` multiplies (gap-closed when the gap is closed,
    normalised the same way), so ``dot(row r, row c)`` is the exact stacked value S[r, c]."""
    if session.k == 0:
        return b"", 0
    img, txt = session.view_vectors()
    if 4 * (img.size + txt.size) > budget:
        return b"", 0
    rows = l2_normalize(np.concatenate([np.asarray(img), np.asarray(txt)]))
    return np.ascontiguousarray(rows, dtype=np.float32).tobytes(), int(rows.shape[1])


class HeatmapMixin(t.HasTraits):
    """Heatmap traits and handlers; mixed into :class:`SimilarityHeatmap` and the Explorer."""

    grid = t.Int(DEFAULT_GRID, help="most cells a side sent to the browser").tag(sync=True)
    float_limit = t.Int(DEFAULT_GRID, help="send exact float values when 2k <= this").tag(sync=True)
    heat_rows = t.Int(0, help="cells a side drawn (= rows = cols)").tag(sync=True)
    heat_exact = t.Bool(True).tag(sync=True)
    heat_pixels = t.Bytes(b"", help="uint8 [rows, rows] colour-map indices").tag(sync=True)
    heat_edges = t.Bytes(b"", help="int32 [rows+1] first stacked row of each cell").tag(sync=True)
    heat_values = t.Bytes(b"", help="float32 [rows, rows] exact values, or empty").tag(sync=True)
    vector_budget = t.Int(DEFAULT_VECTOR_BUDGET, help="most bytes of view vectors sent for local exact values")
    heat_vectors = t.Bytes(b"", help="float32 [2k, heat_dims] unit vectors in draw order, or empty "
                                     "(over vector_budget): hover values are dot products").tag(sync=True)
    heat_dims = t.Int(0, help="d of heat_vectors (0 when empty)").tag(sync=True)
    vmin = t.Float(0.0).tag(sync=True)
    vmax = t.Float(1.0).tag(sync=True)
    colormap = t.Bytes(viridis_lut().tobytes(), help="uint8 [256, 3] RGB lookup table").tag(sync=True)
    diverging_colormap = t.Bytes(diverging_lut().tobytes(), help="uint8 [256, 3] RGB lookup table of the "
                                                                  "difference mode (white at the centre)").tag(sync=True)
    color_scale = t.Enum(list(COLOR_SCALES), default_value="view",
                         help="colour range: 'view' (each view's own values), 'fixed' ([-1, 1]) or "
                              "'locked' (the range at the time of locking, kept across filters, "
                              "clustering and models)").tag(sync=True)
    locked_range = t.List(t.Float(), [], help="(vmin, vmax) of the locked scale").tag(sync=True)
    color_scale_label = t.Unicode("", help="what the legend says of the scale").tag(sync=True)
    heat_mode = t.Enum([m for m, _ in HEAT_MODES], default_value="similarity",
                       help="'similarity' (stacked [2k, 2k]) or 'difference' (Î·Îᵀ − T̂·T̂ᵀ, [k, k])").tag(sync=True)
    heat_modes = t.List(t.List(t.Unicode()), [list(m) for m in HEAT_MODES]).tag(sync=True)
    difference_readout = t.Dict(help="difference mode: n, mean, std, rms, mean_abs, mean_abs_rows of the "
                                     "off-diagonal D of the pairs in view ({} otherwise)").tag(sync=True)
    cluster_bounds = t.List(t.Int(), help="draw positions where clusters start, plus k").tag(sync=True)
    cluster_names = t.List(t.Unicode()).tag(sync=True)

    def _init_heatmap(self) -> None:
        # view changes of the session reach the heatmap through SessionWidget._on_indices ->
        # _refresh_view, so the new order and the new image leave in one message
        self._heatmap_ready = True
        self._scale_note = ""
        self.observe(self._on_color_scale, names=["color_scale"])
        self.observe(self._refresh_heatmap, names=["grid", "float_limit", "vector_budget", "locked_range", "heat_mode"])
        self._refresh_heatmap(None)

    # -- colour scale -----------------------------------------------------------------
    def _on_color_scale(self, change) -> None:
        if getattr(self, "_locking", False):
            return
        self._scale_note = ""
        if change["new"] == "locked":  # keep what is shown now
            self._locking = True
            try:
                self.locked_range = [float(self.vmin), float(self.vmax)]
            finally:
                self._locking = False
        self._refresh_heatmap(None)

    def lock_scale(self, vmin: float, vmax: float, note: str = "") -> None:
        """Lock the colour scale to [vmin, vmax] (cosine similarity); ``note`` is added to the
        legend's label (e.g. "shared by both models")."""
        vmin, vmax = float(vmin), float(vmax)
        if not (np.isfinite(vmin) and np.isfinite(vmax) and vmax > vmin):
            raise ValueError(f"a colour scale needs finite vmin < vmax, got [{vmin}, {vmax}]")
        self._locking = True  # one redraw, after both traits are set
        try:
            self.locked_range = [vmin, vmax]
            self.color_scale = "locked"
        finally:
            self._locking = False
        self._scale_note = note
        self._refresh_heatmap(None)

    def _scale(self):
        """(vmin, vmax) the colours span, or None for the view's own range."""
        if self.color_scale == "fixed":
            return (-1.0, 1.0)
        if self.color_scale == "locked" and len(self.locked_range) == 2:
            return tuple(self.locked_range)
        return None

    def _refresh_view(self) -> None:
        super()._refresh_view()
        if getattr(self, "_heatmap_ready", False):
            self._refresh_heatmap(None)

    @serialized
    def _refresh_heatmap(self, _change) -> None:
        if getattr(self, "_locking", False):
            return
        session = self.session
        if session.k == 0:  # empty filter result: an empty state, not an error
            with self.hold_sync():
                self.heat_rows = 0
                self.heat_pixels = self.heat_edges = self.heat_values = self.heat_vectors = b""
                self.heat_dims = 0
                self.cluster_bounds, self.cluster_names = [], []
                self.difference_readout = {}
            return
        scale = self._scale()
        label = COLOR_SCALES[self.color_scale]
        if scale is not None and self.color_scale == "locked":
            label += f" [{scale[0]:.2f}, {scale[1]:.2f}]"
        difference = self.heat_mode == "difference"
        readout = self._difference_readout() if difference else {}
        if difference:
            label += (f" · mean |Δ| {readout['mean_abs']:.3f}" + ("" if readout["exact"] else
                      f" ({readout['mean_abs_rows']:,} sampled rows)") + f", std {readout['std']:.3f}")
        self.color_scale_label = label + (f" · {self._scale_note}" if self._scale_note else "")
        view = difference_full_view if difference else full_view
        image = view(session, self.grid, self.float_limit, scale)
        ordering = session.ordering()
        vectors, dims = stacked_view_vectors(session, self.vector_budget)
        with self.hold_sync():
            self.difference_readout = readout
            self.heat_vectors, self.heat_dims = vectors, dims
            self.vmin, self.vmax = image.vmin, image.vmax
            self.heat_exact = image.exact
            self.heat_edges = image.row_edges.tobytes()
            self.heat_pixels = np.ascontiguousarray(image.pixels).tobytes()
            self.heat_values = b"" if image.values is None else np.ascontiguousarray(image.values).tobytes()
            self.heat_rows = int(image.pixels.shape[0])
            if ordering is None:
                self.cluster_bounds, self.cluster_names = [], []
            else:
                self.cluster_bounds = [int(b) for b in np.asarray(ordering.boundaries)]
                self.cluster_names = session.cluster_names()

    def heat_lut(self) -> np.ndarray:
        """uint8 [256, 3]: the colour map the heatmap draws with now (viridis, or diverging in difference mode)."""
        lut = self.diverging_colormap if self.heat_mode == "difference" else self.colormap
        return np.frombuffer(lut, dtype=np.uint8).reshape(256, 3)

    def _difference_readout(self) -> dict:
        """The :class:`~amumo_ng.analysis.difference.DifferenceSummary` of the view as a dict, with the model."""
        summary = self.session.difference_summary()
        return {"model": self.session.model, "n": summary.n, "mean": summary.mean, "std": summary.std,
                "rms": summary.rms, "mean_abs": summary.mean_abs, "mean_abs_rows": summary.mean_abs_rows,
                "exact": summary.mean_abs_exact}

    # -- requests -----------------------------------------------------------------------
    def handle_region(self, content) -> tuple[dict, list]:
        """``{"type": "region", "r0", "r1", "c0", "c1"}`` (stacked view rows/cols, stop exclusive)
        -> reply with rows, cols, exact, the colour range (vmin, vmax) and buffers [uint8 pixels
        [rows, cols], int32 row edges, int32 col edges, float32 values (only when exact and small)].
        ``order_hash`` in the reply lets the browser drop answers for a view that changed meanwhile."""
        view = difference_region_view if self.heat_mode == "difference" else region_view
        img = view(self.session, content["r0"], content["r1"], content["c0"], content["c1"],
                   self.grid, self.vmin, self.vmax, self.float_limit, widen=self._scale() is None)
        rows, cols = img.shape
        reply = {"type": "region", "req": content.get("req"), "order_hash": self.order_hash,
                 "r0": img.r0, "r1": img.r1, "c0": img.c0, "c1": img.c1,
                 "rows": rows, "cols": cols, "exact": img.exact, "has_values": img.values is not None,
                 "vmin": img.vmin, "vmax": img.vmax}
        buffers = [np.ascontiguousarray(img.pixels).tobytes(), img.row_edges.tobytes(), img.col_edges.tobytes()]
        if img.values is not None:
            buffers.append(np.ascontiguousarray(img.values).tobytes())
        return reply, buffers

    def handle_value(self, content) -> tuple[dict, list]:
        """``{"type": "value", "row", "col"}`` -> the exact cosine similarity of that stacked
        view cell, with the (modality, pair) of its row and column; in difference mode D of those
        pair positions with ``parts`` [Î_r·Î_c, T̂_r·T̂_c]."""
        row, col = int(content["row"]), int(content["col"])
        if self.heat_mode == "difference":  # pair positions; the two in-modal cosines come along
            value, image_value, text_value = self.session.difference_cell(row, col)
            return ({"type": "value", "req": content.get("req"), "order_hash": self.order_hash, "row": row,
                     "col": col, "value": value, "parts": [image_value, text_value], "mode": "difference",
                     "row_item": ["pair", int(self.session.order[row])],
                     "col_item": ["pair", int(self.session.order[col])]}, [])
        value = float(self.session.tile(row, row + 1, col, col + 1)[0, 0])
        rmod, rpair = self.session.item(row)
        cmod, cpair = self.session.item(col)
        return ({"type": "value", "req": content.get("req"), "order_hash": self.order_hash,
                 "row": row, "col": col, "value": value,
                 "row_item": [rmod, rpair], "col_item": [cmod, cpair]}, [])


class SimilarityHeatmap(HeatmapMixin, SessionWidget):
    """The 2k x 2k stacked cosine-similarity heatmap of one model's pairs, on its own.

    ``SimilarityHeatmap(embeddings)`` or ``SimilarityHeatmap(session=explorer.session)``;
    hover it to see the two items and their exact similarity; wheel to zoom, double-click to reset.
    """

    _bundle_name = "heatmap"

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self._init_heatmap()

    def save_png(self, path, *, scale: int = 1, legend: bool = True, region=None, grid=None):
        """Save the current view as a PNG file, one pixel per cell (``scale`` px a side each), with
        the colour bar under it (``legend``); ``region`` (r0, r1, c0, c1) / ``grid`` export a zoom or
        a finer grid (``grid="full"``: one pixel per pair-cell of a view drawn as block means).
        Returns the path; see :func:`amumo_ng.widgets.export_png.heatmap_image`."""
        from .export_png import save_heatmap_png

        return save_heatmap_png(self, path, scale=scale, legend=legend, region=region, grid=grid)
