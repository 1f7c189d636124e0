"""Colour-by traits of the scatter and the per-pair cosines the hover panel shows.

Mixed into the Explorer and the standalone Scatter. The browser gets one uint8 code per drawn
point (``point_colors``, binary) and the legend as a small JSON list; numeric choices index the
heatmap's colour map (``colormap``) over ``color_range``.
"""
from __future__ import annotations

import numpy as np
import traitlets as t

from .base import serialized
from .color_by import CATEGORY_COLORS, NO_CATEGORY_COLOR, color_options, point_colors


class ColorByMixin(t.HasTraits):
    """Traits: ``color_by`` (a value of ``color_options``), ``point_colors`` (uint8 [m]),
    ``color_legend`` ([[label, "#rrggbb"], ...]), ``color_kind``, ``color_range``, ``color_title``,
    and ``pair_cosines`` (float32 [n]: cos(image_i, text_i) of the vectors shown)."""

    color_by = t.Unicode("modality", help="what the scatter's points are coloured by").tag(sync=True)
    color_options = t.List(t.List(t.Unicode()), help="[value, label] choices").tag(sync=True)
    point_colors = t.Bytes(b"", help="uint8 [m]: category index or 0..255 ramp index per point").tag(sync=True)
    color_kind = t.Unicode("categorical").tag(sync=True)
    color_legend = t.List(t.List(t.Unicode()), help="[[label, colour]] of the categories").tag(sync=True)
    color_range = t.List(t.Float(), [], help="(vmin, vmax) of a numeric colour ramp").tag(sync=True)
    color_title = t.Unicode("").tag(sync=True)
    category_colors = t.List(t.Unicode(), list(CATEGORY_COLORS) + [NO_CATEGORY_COLOR],
                             help="category i -> colour i; the last entry colours 'no category'").tag(sync=True)
    color_error = t.Unicode("").tag(sync=True)
    pair_cosines = t.Bytes(b"", help="float32 [n]: cosine of each pair's image and text as shown").tag(sync=True)

    def _init_colors(self) -> None:
        self.observe(self._refresh_colors, names=["color_by", "point_kind"])
        self.session.observe(self._on_color_source, names=[
            "model", "data_version", "gap_closed", "gap_fraction", "gap_scope", "indices", "cluster", "cluster_quadrant",
            "ordering_version"])
        self._on_color_source({"name": "model"})

    def _on_color_source(self, change) -> None:
        name = change["name"] if change else "model"
        name = "model" if name == "data_version" else name  # new pairs behind the model: as a switch
        if name == "model":
            self.color_options = color_options(self.session.embeddings)
            if self.color_by not in {v for v, _ in self.color_options}:
                self.color_by = "modality"  # the new model's meta lacks the column
        if name in ("model", "gap_closed", "gap_fraction", "gap_scope", "indices"):
            img, txt = self.session.vectors()
            self.pair_cosines = np.einsum("ij,ij->i", img, txt).astype(np.float32).tobytes()
        depends = {"modality": ("model",), "pair-cosine": ("model", "gap_closed", "gap_fraction", "gap_scope", "indices"),
                   "cluster": ("model", "indices", "cluster", "cluster_quadrant", "ordering_version", "gap_closed", "gap_fraction")}
        if name in depends.get(self.color_by, ("model",)):
            self._refresh_colors(None)

    @serialized
    def _refresh_colors(self, _change) -> None:
        try:
            colors = point_colors(self.session, self.color_by, self.point_kind)
            error = ""
        except ValueError as exc:  # a bad choice from Python: keep modality colours, say why
            colors, error = point_colors(self.session, "modality", self.point_kind), str(exc)
        with self.hold_sync():
            self.color_error = error
            self.color_kind = colors.kind
            self.color_title = colors.title
            self.color_legend = [[label, color] for label, color in colors.legend]
            self.color_range = [] if colors.vmin is None else [colors.vmin, colors.vmax]
            self.point_colors = np.ascontiguousarray(colors.codes, dtype=np.uint8).tobytes()
