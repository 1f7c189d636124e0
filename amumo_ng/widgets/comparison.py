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
    two side by side.
    """

    def __init__(self, left, right=None, *, view_size: int = 300, **state):
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
        super().__init__([self.left, self.right], layout=ipw.Layout(width="100%"))
