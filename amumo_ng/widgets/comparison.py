"""Two Explorers side by side with synchronised hover (Amumo's comparer).

Both Explorers join one link group, so hovering pair i in either highlights pair i in the
other (in the browser, no kernel round trip). The two models must embed the same pairs.
"""
from __future__ import annotations

import uuid

import ipywidgets as ipw

from ..analysis.validation import EmbeddingError
from ..store.embeddings import Embeddings
from .explorer import Explorer


class Comparison(ipw.HBox):
    """``Comparison(emb_a, emb_b)`` or ``Comparison({"clip": a, "cyclip": b})``.

    Attributes ``left`` and ``right`` are the two :class:`Explorer` instances; other keyword
    arguments (e.g. ``gap_closed=True``) are passed to both; ``view_size`` (CSS px) keeps the
    two side by side. ``shared_scale`` (default True) puts both heatmaps on one colour scale, the
    union of their value ranges, locked (the legends say so); :meth:`share_scale` redoes it for
    what is shown now, and ``shared_scale=False`` leaves each side its own range.
    """

    def __init__(self, left, right=None, *, view_size: int = 300, shared_scale: bool = True, **state):
        if right is None:
            if not isinstance(left, dict) or len(left) != 2:
                raise EmbeddingError("Comparison needs two Embeddings or a dict of exactly two models")
            (name_a, left), (name_b, right) = left.items()
        else:
            name_a = getattr(left, "model_id", "left")
            name_b = getattr(right, "model_id", "right")
        for emb in (left, right):
            if not isinstance(emb, Embeddings):
                raise EmbeddingError(f"expected Embeddings, got {type(emb).__name__}")
        if left.n != right.n or left.ids != right.ids:
            raise EmbeddingError(
                f"the two models must embed the same pairs in the same order ({left.n} vs {right.n} pairs)"
            )
        group = f"compare-{uuid.uuid4().hex[:8]}"
        self.left = Explorer({name_a: left}, link_group=group, title=name_a, view_size=view_size, **state)
        self.right = Explorer({name_b: right}, link_group=group, title=name_b, view_size=view_size, **state)
        super().__init__([self.left, self.right], layout=ipw.Layout(width="100%", flex_flow="row wrap"))
        if shared_scale:
            self.share_scale()

    def save_png(self, path, *, views=("heatmap", "scatter"), scale: int = 1, legend: bool = True) -> dict:
        """Save both sides' views as PNG files beside ``path``: ``cmp.png`` -> ``cmp-left-heatmap.png``,
        ``cmp-right-heatmap.png``, ... (see :meth:`Explorer.save_png`). Returns {name: path}."""
        from .export_png import save_comparison_png

        return save_comparison_png(self, path, views=views, scale=scale, legend=legend)

    def share_scale(self, vmin: float = None, vmax: float = None) -> tuple[float, float]:
        """Lock both heatmaps to one colour scale: [vmin, vmax], by default the union of the
        ranges the two views show now. Returns the (vmin, vmax) used."""
        sides = (self.left, self.right)
        lo = min(side.vmin for side in sides) if vmin is None else float(vmin)
        hi = max(side.vmax for side in sides) if vmax is None else float(vmax)
        for side in sides:
            side.lock_scale(lo, hi, note="shared by both models")
        return lo, hi
