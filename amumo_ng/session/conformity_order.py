"""Conformity in the session: the per-pair statistics (cached per data) and the heatmap's conformity order.

Conformity is computed as Levi & Gilboa define it, on the RAW vectors of the current model's data:
C(v_j) = mean over k ≠ j of cos(v_j, v_k) within each modality's n vectors (ALL pairs of the model,
not only those in view), exact in O(n·d) (:func:`amumo_ng.analysis.conformity_stats.conformity`).
Cosines are scale-free, so raw and unit vectors give the same values. Closing the gap (shifting each
modality by ∓Δ/2) would change them (a constant shift changes every cosine within a modality); it is
deliberately NOT applied: conformity describes the trained embedding, so toggling the gap or the
filter changes neither the colours nor the order. The statistics are cached once per
:meth:`Session.data_key` (model and data source).

``order_by`` sorts the heatmap's pairs by a conformity, LOWEST first (the unusual pairs at the top
left): "image-conformity" C_i, "text-conformity" C_t or "conformity-difference" C_i − C_t (signed).
With clustering on, the clusters keep their places and the pairs are sorted within each cluster
(the cluster bands and names are unchanged); ties keep the previous order. "none": the clustering
order, or ascending pair index.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import traitlets as t

__all__ = ["ConformityOrderMixin", "ORDER_BY", "CONFORMITY_KEYS"]

#: Values of ``order_by`` (value, label), in menu order.
ORDER_BY = (
    ("none", "index / clusters"),
    ("image-conformity", "image conformity ↑"),
    ("text-conformity", "text conformity ↑"),
    ("conformity-difference", "image − text conformity ↑"),
)

#: ``order_by`` (and colour-by) value -> the per-pair statistic of :meth:`ConformityOrderMixin.pair_statistics`.
CONFORMITY_KEYS = {"image-conformity": "image_conformity", "text-conformity": "text_conformity"}


class ConformityOrderMixin(t.HasTraits):
    """Trait ``order_by`` and the cached conformity statistics; mixed into the Session.

    Needs the session's ``data_key()``, ``embeddings``, ``indices``, ``indices_key()`` and ``_cache``."""

    order_by = t.Enum([v for v, _ in ORDER_BY], default_value="none",
                      help="sort the heatmap's pairs by a conformity, lowest first (within each cluster when "
                           "clustering); 'none': the clustering order or the pair index")

    def pair_statistics(self) -> dict:
        """Per-pair statistics of the current data's RAW vectors, float32 [n] each (dimensionless):
        ``pair_cosine`` cos(image_j, text_j), ``image_conformity``, ``text_conformity`` (within all n
        pairs). Cached per :meth:`data_key`. Raises EmbeddingError for fewer than 3 pairs."""
        emb = self.embeddings

        def make():
            from ..analysis.outliers import pair_statistics

            return pair_statistics(emb.image, emb.text)

        return self._cache.get(("pair-statistics", self.data_key()), make)

    def conformity_values(self, kind: str) -> np.ndarray:
        """float32 [n] of ``kind``: "image-conformity", "text-conformity" or "conformity-difference"
        (C_i − C_t, signed), for every pair of the current data (see :meth:`pair_statistics`)."""
        stats = self.pair_statistics()
        if kind == "conformity-difference":
            return (stats["image_conformity"].astype(np.float64) - stats["text_conformity"]).astype(np.float32)
        if kind not in CONFORMITY_KEYS:
            raise ValueError(f"unknown conformity {kind!r}; choose image-conformity, text-conformity or "
                             "conformity-difference")
        return stats[CONFORMITY_KEYS[kind]]

    def conformity_permutation(self, ordering, ordering_key: Optional[tuple] = None) -> Optional[np.ndarray]:
        """int64 [k]: positions (relative to ``indices``) of the pairs in view sorted by ``order_by``,
        lowest first, within each cluster of ``ordering`` (an :class:`~amumo_ng.analysis.ordering.Ordering`
        of the view, or None); ties keep the clustering order (else ascending position). None when
        ``order_by`` is "none" or the data has fewer than 3 pairs (no conformity). ``ordering_key``
        names ``ordering`` in the cache key (None: not cached when an ordering is given)."""
        kind = self.order_by
        if kind == "none":
            return None
        k = int(self.indices.size)
        key = ("conformity-order", self.data_key(), kind, self.indices_key(),
               "flat" if ordering is None else ordering_key)

        def make():
            from ..analysis.validation import EmbeddingError

            try:
                values = self.conformity_values(kind)[self.indices]
            except EmbeddingError:  # fewer than 3 pairs: nothing to sort by
                return None
            if ordering is None:
                return np.lexsort((np.arange(k), values)).astype(np.int64)
            base = np.asarray(ordering.permutation, dtype=np.int64)  # clustered draw order
            labels = np.asarray(ordering.labels, dtype=np.int64)[base]  # cluster of each drawn position
            # cluster ids are numbered in display order: sorting by (cluster, value, drawn position)
            # keeps every cluster where it was and sorts its members
            return base[np.lexsort((np.arange(k), values[base], labels))]

        if ordering is not None and ordering_key is None:
            return make()
        return self._cache.get(key, make)
