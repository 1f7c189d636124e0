"""Session state: the user's choices as traitlets and the arrays derived from them, lazily.

A session holds what the user is looking at (model, caption filter, gap closed and over which
pairs, clustering, projection, hover, selection) and computes the derived arrays lazily (the
pairs in view, the gap-closed vectors, the heatmap levels of detail, orderings). Derived data is
cached in one :class:`~amumo_ng.lru.LRUCache` by a key made of the model name and the parameters
it depends on, so toggling a view back never recomputes.

Conventions
-----------
* Pair indices refer to rows of the *current model's* :class:`~amumo_ng.store.Embeddings`.
* The heatmap shows the stacked matrix of the pairs in view, in draw order ``order``
  (k pairs): rows/cols ``0..k-1`` are the images ``order[0..k-1]``, ``k..2k-1`` their texts.
* Similarities are cosine similarities of L2-normalised vectors (unit, dimensionless, in [-1, 1]).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Mapping

import numpy as np
import traitlets as t

from ..analysis.validation import EmbeddingError, unit_rows
from ..fingerprint import array_digest
from ..lru import LRUCache
from ..store.embeddings import Embeddings
from .augmentation import AugmentationMixin
from .conformity_order import ConformityOrderMixin
from .difference_view import DifferenceViewMixin
from .gap_shift import GapShiftMixin
from .interpolation import InterpolationMixin
from .jobs import JobsMixin
from .readouts import LOSS_FULL_BATCH_LIMIT, ReadoutsMixin

#: Projection methods offered by the Explorer, in menu order (value, label).
PROJECTIONS = (
    ("pca", "PCA"),
    ("umap", "UMAP"),
    ("tsne", "t-SNE"),
    ("umap-oos", "UMAP out-of-sample"),
    ("joint", "Joint (pair vectors)"),
)
#: Quadrants whose similarities drive the clustering order (value, label). The cross-modal ones
#: cluster the rows of the cross-modal block: each image by its similarities to all texts in view
#: ("image-text"), or each text by its similarities to all images ("text-image").
QUADRANTS = (
    ("image-image", "image–image"),
    ("text-text", "text–text"),
    ("image-text", "image–text"),
    ("text-image", "text–image"),
)
#: Which pairs the gap vector and the readouts are computed on (value, label).
GAP_SCOPES = (("view", "pairs in view"), ("all", "all pairs"))
#: Which pairs a projection is fitted on (value, label): all (the others dimmed) or those in view.
PROJECTION_SCOPES = (("all", "fit all pairs"), ("view", "re-project pairs in view"))
#: Above this many pairs in view the clustering order is computed in a worker thread.
ORDER_SYNC_LIMIT = 2000
#: Most captions per cluster its label is made from (see Session.cluster_names).
LABEL_SAMPLE = 300

__all__ = ["Session", "PROJECTIONS", "QUADRANTS", "GAP_SCOPES", "PROJECTION_SCOPES", "ORDER_SYNC_LIMIT",
           "LOSS_FULL_BATCH_LIMIT"]


def _array_key(a: np.ndarray) -> str:
    """Short content key of an index array (cache keys for subsets)."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    return f"{a.size}:{array_digest(a, digest_size=8)}"


def _as_model_dict(embeddings) -> "OrderedDict[str, Embeddings]":
    if isinstance(embeddings, Embeddings):
        return OrderedDict([(embeddings.model_id or "model", embeddings)])
    if isinstance(embeddings, Mapping):
        if not embeddings:
            raise EmbeddingError("Session needs at least one model's embeddings, got an empty dict")
        out = OrderedDict()
        for name, emb in embeddings.items():
            if not isinstance(emb, Embeddings):
                raise EmbeddingError(
                    f"model {name!r}: expected an amumo_ng Embeddings, got {type(emb).__name__}"
                )
            out[str(name)] = emb
        return out
    raise EmbeddingError(
        f"expected Embeddings or a dict name -> Embeddings, got {type(embeddings).__name__}"
    )


class Session(JobsMixin, ReadoutsMixin, GapShiftMixin, DifferenceViewMixin, AugmentationMixin, InterpolationMixin,
              ConformityOrderMixin, t.HasTraits):
    """Analysis state of one Explorer.

    Parameters
    ----------
    embeddings : Embeddings or dict[str, Embeddings]
        One model's embeddings, or several keyed by a display name (the model dropdown).
        All traits can be given as keyword arguments (``Session(emb, gap_closed=True)``).
    """

    models = t.List(t.Unicode(), read_only=True, help="model names in menu order (see add_model)")
    model = t.Unicode(help="name of the current model (a key of .models)")
    filter_pattern = t.Unicode("", help="caption filter: substring, or a regex when filter_regex")
    filter_regex = t.Bool(False)
    filter_error = t.Unicode("", help="message of the last filter that could not be applied ('' when fine)")
    gap_closed = t.Bool(False, help="show gap-closed vectors (Amumo: shift both modalities by half the gap)")
    gap_fraction = t.Float(1.0, help="how much of the gap closing applies when gap_closed: each modality moves "
                                     "by fraction·Δ/2 (1: Amumo's closing; the gap-shift chart sets others)")
    gap_scope = t.Enum([v for v, _ in GAP_SCOPES], default_value="view",
                       help="pairs whose gap vector is closed and read out: 'view' (Amumo) or 'all'")
    cluster = t.Bool(False, help="reorder the heatmap by a clustering of one quadrant")
    cluster_quadrant = t.Enum([q for q, _ in QUADRANTS], default_value="image-image")
    cluster_leaf_order = t.Enum(["dendrogram", "amumo-argsort"], default_value="dendrogram",
                                help="order within the clustering: dendrogram leaves (default) or "
                                     "Amumo's exact argsort of the flat cluster ids")
    projection = t.Enum([p for p, _ in PROJECTIONS], default_value="pca")
    projection_scope = t.Enum([v for v, _ in PROJECTION_SCOPES], default_value="all",
                              help="fit the projection on all pairs (others dimmed) or re-project the pairs in view")
    hover = t.Int(-1, help="hovered pair index (-1: none)")
    selection = t.List(t.Int(), help="selected pair indices (sorted, unique)")
    selection_filter = t.Bool(False, help="restrict the heatmap to the selection (when not empty)")
    indices = t.Any(help="int64 [k]: pairs in view (filter and selection), ascending; read-only")
    data_version = t.Int(0, help="incremented when the pairs behind every model change (an augmented set "
                                 "shown or restored); views reload as on a model switch")
    status = t.Unicode("", help="what the session is computing in the background ('' when idle)")
    ordering_version = t.Int(0, help="incremented when a background clustering finishes")

    def __init__(self, embeddings, **kwargs):
        self._models = _as_model_dict(embeddings)
        self._source = ""  # what the models' pairs are: "" the dataset, else an augmented set's id
        self._cache = LRUCache(64)
        self._jobs: dict = {}
        self._jobs_lock = threading.Lock()
        kwargs.setdefault("model", next(iter(self._models)))
        super().__init__(**kwargs)
        self.set_trait("models", list(self._models))
        self._update_indices()

    # -- models ---------------------------------------------------------------------
    def add_model(self, name: str, embeddings: Embeddings) -> None:
        """Offer another model's embeddings: a new entry of the model dropdown. Names are unique
        (derived data is cached by model name), so an existing name is refused."""
        if not isinstance(embeddings, Embeddings):
            raise EmbeddingError(f"model {name!r}: expected an amumo_ng Embeddings, got {type(embeddings).__name__}")
        name = str(name)
        if name in self._models:
            raise EmbeddingError(f"a model named {name!r} exists already; models: {', '.join(self._models)}")
        self._models[name] = embeddings
        self.set_trait("models", list(self._models))

    @property
    def embeddings(self) -> Embeddings:
        """The current model's embeddings (all pairs, raw vectors)."""
        return self._models[self.model]

    def embeddings_of(self, name: str) -> Embeddings:
        """The embeddings of model ``name`` (one of :attr:`models`), current or not."""
        if name not in self._models:
            raise KeyError(f"no model {name!r}; models: {', '.join(self._models)}")
        return self._models[name]

    @property
    def n_total(self) -> int:
        return self.embeddings.n

    @t.validate("model")
    def _check_model(self, proposal):
        name = proposal["value"]
        if name not in self._models:
            raise t.TraitError(f"unknown model {name!r}; choose one of {self.models}")
        return name

    def clean_selection(self, indices) -> list[int]:
        """Pair indices as a sorted list of unique ints; TraitError when one is out of range."""
        sel = np.unique(np.asarray(list(indices), dtype=np.int64))
        n = self._models[self.model].n if self.model in self._models else 0
        if sel.size and (sel[0] < 0 or sel[-1] >= n):
            raise t.TraitError(f"selection indices must lie in [0, {n}), got {sel[0]}..{sel[-1]}")
        return [int(i) for i in sel]

    @t.validate("selection")
    def _check_selection(self, proposal):
        return self.clean_selection(proposal["value"])

    # -- the pairs in view ------------------------------------------------------------
    @t.observe("model", "filter_pattern", "filter_regex", "selection", "selection_filter", "data_version")
    def _on_view_change(self, change):
        if change["name"] == "model":
            # indices of one model's selection mean nothing for another's pairs
            if self.selection and max(self.selection) >= self.embeddings.n:
                self.selection = []
        self._update_indices()

    def _update_indices(self) -> None:
        from ..analysis.filter import FilterError, filter_captions

        emb = self.embeddings
        try:
            if self.filter_pattern == "":  # no filter: every pair (no caption list built)
                idx = np.arange(emb.n, dtype=np.int64)
            else:
                idx = np.asarray(
                    filter_captions(emb.captions, self.filter_pattern, regex=self.filter_regex),
                    dtype=np.int64,
                )
            error = ""
            self._last_valid_filter = (self.data_key(), idx)
        except FilterError as exc:
            # keep the last valid filter result of this model; the widget shows the message
            error = str(exc)
            model, last = getattr(self, "_last_valid_filter", (None, None))
            idx = last if model == self.data_key() else np.arange(emb.n, dtype=np.int64)
        if self.selection_filter and self.selection:
            idx = np.intersect1d(idx, np.asarray(self.selection, dtype=np.int64))
        self.filter_error = error
        self.indices = np.sort(idx).astype(np.int64)

    @property
    def k(self) -> int:
        """Number of pairs in view."""
        return int(self.indices.size)

    def data_key(self) -> tuple:
        """(model, data source): the part of every cache key that names whose vectors they are
        (the data source is "" for the dataset, an augmented set's id otherwise)."""
        return (self.model, self._source)

    def indices_key(self) -> str:
        """Content key of :attr:`indices` (part of the cache keys of subset-dependent data)."""
        return _array_key(self.indices)

    # -- vectors ------------------------------------------------------------------------
    def gap_pairs(self) -> tuple[str, "np.ndarray | None"]:
        """(scope, pair indices) the gap vector and the readouts are computed on: ``("view",
        indices)`` by default (Amumo: the pairs shown), ``("all", None)`` with ``gap_scope="all"``;
        a view holding every pair gives ``("view", None)``."""
        if self.gap_scope == "all":
            return "all", None
        return "view", (None if self.k == self.n_total else self.indices)

    def vectors_key(self) -> tuple:
        """Cache key of :meth:`vectors` (model, gap state and, when closed over the view, the view)."""
        if not self.gap_closed:
            return ("vectors", self.data_key(), "open")
        scope, idx = self.gap_pairs()
        pairs = "all" if idx is None or idx.size == 0 else self.indices_key()  # none in view: no gap of theirs
        return ("vectors", self.data_key(), "closed", pairs, float(self.gap_fraction))

    def unit_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, text) unit float32 [n, d] of ALL pairs of the current model, gap open: the
        stored vectors themselves when they are unit already, else one normalised copy (cached)."""
        emb = self.embeddings
        return self._cache.get(("vectors", self.data_key(), "open"), lambda: (unit_rows(emb.image), unit_rows(emb.text)))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, text) unit float32 [n, d] of ALL pairs of the current model; gap-closed when
        ``gap_closed`` (Amumo, :func:`amumo_ng.analysis.gap.close_gap`): the gap vector Δ of :meth:`gap_pairs`
        (default: the pairs in view) moves each modality of every pair by ``gap_fraction``·Δ/2."""
        if not self.gap_closed:
            return self.unit_vectors()
        key = self.vectors_key()
        idx = None if key[3] == "all" else self.indices
        fraction = np.float32(self.gap_fraction)

        def make():
            from ..analysis.gap import _shift_units, modality_gap

            unit_img, unit_txt = self.unit_vectors()
            gap = modality_gap(unit_img, unit_txt) if idx is None else modality_gap(unit_img[idx], unit_txt[idx])
            half = np.asarray(gap.vector, np.float32) * (fraction / np.float32(2.0))
            return _shift_units(unit_img, unit_txt, half)

        return self._cache.get(key, make)

    # -- ordering -----------------------------------------------------------------------
    def ordering(self):
        """The :class:`~amumo_ng.analysis.ordering.Ordering` of the pairs in view (positions
        relative to ``indices``), or None when ``cluster`` is off or fewer than 2 pairs are in view.

        In-modal quadrants cluster the rows of Î·Îᵀ (or T̂·T̂ᵀ); "image-text" clusters each image by
        its similarities to all texts in view (rows of Î·T̂ᵀ), "text-image" each text by its
        similarities to all images (Amumo's cross-modal clustering).
        Up to ``ORDER_SYNC_LIMIT`` pairs it is computed at once; above, in a worker thread
        (``status`` says so, None is returned meanwhile, ``ordering_version`` increments when done),
        so the views stay responsive while 10,000 pairs are clustered."""
        if not self.cluster or self.k < 2:
            return None
        idx = self.indices
        quadrant, leaf_order = self.cluster_quadrant, self.cluster_leaf_order
        key = ("ordering", self.vectors_key(), quadrant, leaf_order, self.indices_key())
        cached = self._cache.peek(key)
        if cached is not None:
            return cached
        img, txt = self.vectors()

        def make():
            from ..analysis.cross_modal_ordering import cross_modal_order
            from ..analysis.ordering import cluster_order

            options = {"method": "amumo", "max_clusters": 10, "leaf_order": leaf_order}
            if quadrant == "image-image":
                return cluster_order(img[idx], **options)
            if quadrant == "text-text":
                return cluster_order(txt[idx], **options)
            rows, cols = (img[idx], txt[idx]) if quadrant == "image-text" else (txt[idx], img[idx])
            return cross_modal_order(rows, cols, **options)

        if idx.size <= ORDER_SYNC_LIMIT:
            return self._cache.get(key, make)
        self._start_background(key, f"clustering {idx.size:,} pairs…", make)
        return None

    @property
    def order(self) -> np.ndarray:
        """int64 [k]: pair indices in heatmap draw order (clustered or ascending; sorted by conformity
        within each cluster with ``order_by``, see :mod:`.conformity_order`)."""
        ordering = self.ordering()
        if self.order_by != "none":
            key = None if ordering is None else (self.vectors_key(), self.cluster_quadrant, self.cluster_leaf_order)
            perm = self.conformity_permutation(ordering, key)
            if perm is not None:
                return self.indices[perm]
        if ordering is None:
            return self.indices
        return self.indices[np.asarray(ordering.permutation, dtype=np.int64)]

    def cluster_names(self) -> list[str]:
        """Short labels of the clusters in draw order ([] when not clustering). Each cluster is
        labelled from at most :data:`LABEL_SAMPLE` of its captions, evenly spaced over its members
        (labels are decoration: 100,000 captions would take seconds to tokenise)."""
        ordering = self.ordering()
        if ordering is None:
            return []
        key = ("cluster-names", self.vectors_key(), self.cluster_quadrant, self.cluster_leaf_order,
               self.indices_key())

        def make():
            from ..analysis.ordering import cluster_labels

            labels = np.asarray(ordering.labels)
            keep = []
            for cluster in np.unique(labels):
                members = np.flatnonzero(labels == cluster)
                step = max(1, -(-members.size // LABEL_SAMPLE))
                keep.append(members[::step])
            keep = np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
            captions = self.embeddings.meta["caption"].to_numpy()[self.indices[keep]]
            # cluster ids are numbered in display order, so the labels come in draw order
            return [str(x) for x in cluster_labels([str(c) for c in captions], labels[keep])]

        try:
            return self._cache.get(key, make)
        except Exception:  # labels are decoration; never break the view for them
            return []

    # -- view vectors (draw order) ------------------------------------------------------
    def view_vectors(self):
        """(image, text) unit float32 [k, d] of the pairs in view, in draw order: :meth:`vectors`
        themselves when every pair is in view in index order, else row views that gather on
        slicing (:class:`~amumo_ng.session.row_view.GatheredRows`), never a reordered copy."""
        from .row_view import in_order

        order = self.order
        img, txt = self.vectors()
        return in_order(img, order), in_order(txt, order)

    def level_of_detail(self, grid: int):
        """Block-mean :class:`~amumo_ng.analysis.similarity.LevelOfDetail` of the view's stacked
        matrix on at most ``grid`` x ``grid`` cells (exact values when 2k <= grid)."""
        order = self.order
        key = ("lod", self.vectors_key(), _array_key(order), int(grid))

        def make():
            from ..analysis.similarity import block_mean_similarity

            img, txt = self.view_vectors()  # validated unit vectors: read as they are
            return block_mean_similarity(img, txt, int(grid), unit=True)

        return self._cache.get(key, make)

    def tile(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Exact cosine similarities float32 [r1-r0, c1-c0] of the view's stacked matrix."""
        from ..analysis.similarity import similarity_tile

        k2 = 2 * self.k
        if not (0 <= r0 < r1 <= k2 and 0 <= c0 < c1 <= k2):
            raise ValueError(f"tile [{r0}:{r1}, {c0}:{c1}] outside the {k2}x{k2} matrix in view")
        img, txt = self.view_vectors()
        return np.asarray(similarity_tile(img, txt, r0, r1, c0, c1, unit=True), dtype=np.float32)

    def item(self, row: int) -> tuple[str, int]:
        """(modality, pair index) of stacked row ``row`` of the view."""
        k = self.k
        if not 0 <= row < 2 * k:
            raise IndexError(f"row {row} outside the {2 * k} rows in view")
        modality = "image" if row < k else "text"
        return modality, int(self.order[row % k])

