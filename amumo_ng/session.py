"""The :class:`Session`: what one Explorer is looking at, and the data derived from it.

A session holds the user's choices as traitlets (model, caption filter, gap closed,
clustering, projection, hover, selection) and computes the derived arrays lazily
(the pairs in view, the gap-closed vectors, the heatmap levels of detail, orderings,
projections, the gap/loss readouts). Derived data is cached by a key made of the model
name and the parameters it depends on, so toggling a view back never recomputes.

Every widget of an Explorer observes one session; a standalone widget makes its own.

Conventions
-----------
* Pair indices refer to rows of the *current model's* :class:`~amumo_ng.store.Embeddings`.
* The heatmap shows the stacked matrix of the pairs in view, in draw order ``order``
  (k pairs): rows/cols ``0..k-1`` are the images ``order[0..k-1]``, ``k..2k-1`` their texts.
* Similarities are cosine similarities of L2-normalised vectors (unit, dimensionless, in [-1, 1]).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Callable, Mapping, Optional

import numpy as np
import traitlets as t

from .analysis.validation import EmbeddingError, l2_normalize
from .store.embeddings import Embeddings

#: Projection methods offered by the Explorer, in menu order (value, label).
PROJECTIONS = (
    ("pca", "PCA"),
    ("umap", "UMAP"),
    ("tsne", "t-SNE"),
    ("umap-oos", "UMAP out-of-sample"),
    ("joint", "Joint (pair vectors)"),
)
#: Quadrants whose similarities drive the clustering order (value, label).
QUADRANTS = (
    ("image-image", "image–image"),
    ("text-text", "text–text"),
    ("image-text", "image–text"),
)
#: Above this many pairs in view the clustering order is computed in a worker thread.
ORDER_SYNC_LIMIT = 2000
#: Above this many pairs the contrastive loss readout uses batches of this size.
LOSS_FULL_BATCH_LIMIT = 4096


class _LRU:
    """A tiny bounded mapping key -> value (least recently used evicted first)."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make: Callable[[], Any]):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def peek(self, key):
        with self._lock:
            return self._data.get(key)

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self):
        return len(self._data)


def _array_key(a: np.ndarray) -> str:
    """Short content hash of an index array (cache keys for subsets)."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    return f"{a.size}:{hashlib.blake2b(a.tobytes(), digest_size=8).hexdigest()}"


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


class Session(t.HasTraits):
    """Analysis state of one Explorer.

    Parameters
    ----------
    embeddings : Embeddings or dict[str, Embeddings]
        One model's embeddings, or several keyed by a display name (the model dropdown).
        All traits can be given as keyword arguments (``Session(emb, gap_closed=True)``).
    """

    model = t.Unicode(help="name of the current model (a key of .models)")
    filter_pattern = t.Unicode("", help="caption filter: substring, or a regex when filter_regex")
    filter_regex = t.Bool(False)
    filter_error = t.Unicode("", help="message of the last filter that could not be applied ('' when fine)")
    gap_closed = t.Bool(False, help="show gap-closed vectors (Amumo: shift both modalities by half the gap)")
    cluster = t.Bool(False, help="reorder the heatmap by a clustering of one quadrant")
    cluster_quadrant = t.Enum([q for q, _ in QUADRANTS], default_value="image-image")
    projection = t.Enum([p for p, _ in PROJECTIONS], default_value="pca")
    hover = t.Int(-1, help="hovered pair index (-1: none)")
    selection = t.List(t.Int(), help="selected pair indices (sorted, unique)")
    selection_filter = t.Bool(False, help="restrict the heatmap to the selection (when not empty)")
    indices = t.Any(help="int64 [k]: pairs in view (filter and selection), ascending; read-only")
    status = t.Unicode("", help="what the session is computing in the background ('' when idle)")
    ordering_version = t.Int(0, help="incremented when a background clustering finishes")

    def __init__(self, embeddings, **kwargs):
        self._models = _as_model_dict(embeddings)
        self._cache = _LRU(64)
        self._jobs: dict = {}
        self._jobs_lock = threading.Lock()
        kwargs.setdefault("model", next(iter(self._models)))
        super().__init__(**kwargs)
        self._update_indices()

    # -- models ---------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """Model names in menu order."""
        return list(self._models)

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
    @t.observe("model", "filter_pattern", "filter_regex", "selection", "selection_filter")
    def _on_view_change(self, change):
        if change["name"] == "model":
            # indices of one model's selection mean nothing for another's pairs
            if self.selection and max(self.selection) >= self.embeddings.n:
                self.selection = []
        self._update_indices()

    def _update_indices(self) -> None:
        from .analysis.filter import FilterError, filter_captions

        emb = self.embeddings
        try:
            idx = np.asarray(
                filter_captions(emb.captions, self.filter_pattern, regex=self.filter_regex),
                dtype=np.int64,
            )
            error = ""
            self._last_valid_filter = (self.model, idx)
        except FilterError as exc:
            # keep the last valid filter result of this model; the widget shows the message
            error = str(exc)
            model, last = getattr(self, "_last_valid_filter", (None, None))
            idx = last if model == self.model else np.arange(emb.n, dtype=np.int64)
        if self.selection_filter and self.selection:
            idx = np.intersect1d(idx, np.asarray(self.selection, dtype=np.int64))
        self.filter_error = error
        self.indices = np.sort(idx).astype(np.int64)

    @property
    def k(self) -> int:
        """Number of pairs in view."""
        return int(self.indices.size)

    # -- vectors ------------------------------------------------------------------------
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, text) unit float32 [n, d] of ALL pairs of the current model; gap-closed when
        ``gap_closed`` (Amumo semantics, :func:`amumo_ng.analysis.gap.close_gap`)."""
        key = ("vectors", self.model, self.gap_closed)

        def make():
            emb = self.embeddings
            if self.gap_closed:
                from .analysis.gap import close_gap

                img, txt = close_gap(emb.image, emb.text)
                return np.asarray(img, np.float32), np.asarray(txt, np.float32)
            return l2_normalize(emb.image), l2_normalize(emb.text)

        return self._cache.get(key, make)

    # -- ordering -----------------------------------------------------------------------
    def ordering(self):
        """The :class:`~amumo_ng.analysis.ordering.Ordering` of the pairs in view (positions
        relative to ``indices``), or None when ``cluster`` is off or fewer than 2 pairs are in view.

        Up to ``ORDER_SYNC_LIMIT`` pairs it is computed at once; above, in a worker thread
        (``status`` says so, None is returned meanwhile, ``ordering_version`` increments when done),
        so the views stay responsive while 10,000 pairs are clustered."""
        if not self.cluster or self.k < 2:
            return None
        idx = self.indices
        key = ("ordering", self.model, self.gap_closed, self.cluster_quadrant, _array_key(idx))
        cached = self._cache.peek(key)
        if cached is not None:
            return cached
        img, txt = self.vectors()
        quadrant = self.cluster_quadrant

        def make():
            from .analysis.ordering import cluster_order

            if quadrant == "image-image":
                vec = img[idx]
            elif quadrant == "text-text":
                vec = txt[idx]
            else:  # cross-modal: a pair is described by both of its vectors
                vec = np.concatenate([img[idx], txt[idx]], axis=1)
            return cluster_order(vec, method="amumo", max_clusters=10)

        if idx.size <= ORDER_SYNC_LIMIT:
            return self._cache.get(key, make)
        with self._jobs_lock:
            if key in self._jobs:  # already being clustered
                return None
            self._jobs[key] = "ordering"
        self.status = f"clustering {idx.size:,} pairs…"

        def work():
            try:
                self._cache.get(key, make)
                message = ""
            except Exception as exc:  # shown in the widget; the unclustered view stays
                message = f"clustering failed: {type(exc).__name__}: {exc}"
            self.status = message
            self.ordering_version += 1  # the views refresh here, from the cache
            with self._jobs_lock:  # only now may wait_ordering() return
                self._jobs.pop(key, None)

        threading.Thread(target=work, name="amumo-ordering", daemon=True).start()
        return None

    def wait_ordering(self, timeout: float = 60.0):
        """Block until a background clustering (if any) finishes; returns :meth:`ordering`."""
        import time

        deadline = time.monotonic() + timeout
        while any(v == "ordering" for v in list(self._jobs.values())) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.ordering()

    @property
    def order(self) -> np.ndarray:
        """int64 [k]: pair indices in heatmap draw order (clustered or ascending)."""
        ordering = self.ordering()
        if ordering is None:
            return self.indices
        return self.indices[np.asarray(ordering.permutation, dtype=np.int64)]

    def cluster_names(self) -> list[str]:
        """Short labels of the clusters in draw order ([] when not clustering)."""
        ordering = self.ordering()
        if ordering is None:
            return []
        key = ("cluster-names", self.model, self.gap_closed, self.cluster_quadrant, _array_key(self.indices))

        def make():
            from .analysis.ordering import cluster_labels

            captions = self.embeddings.captions
            # cluster ids are numbered in display order, so the labels come in draw order
            return [str(x) for x in cluster_labels([captions[i] for i in self.indices], ordering.labels)]

        try:
            return self._cache.get(key, make)
        except Exception:  # labels are decoration; never break the view for them
            return []

    # -- view vectors (draw order) ------------------------------------------------------
    def view_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, text) unit float32 [k, d] of the pairs in view, in draw order."""
        order = self.order
        key = ("view-vectors", self.model, self.gap_closed, _array_key(order))

        def make():
            img, txt = self.vectors()
            return np.ascontiguousarray(img[order]), np.ascontiguousarray(txt[order])

        return self._cache.get(key, make)

    def level_of_detail(self, grid: int):
        """Block-mean :class:`~amumo_ng.analysis.similarity.LevelOfDetail` of the view's stacked
        matrix on at most ``grid`` x ``grid`` cells (exact values when 2k <= grid)."""
        order = self.order
        key = ("lod", self.model, self.gap_closed, _array_key(order), int(grid))

        def make():
            from .analysis.similarity import block_mean_similarity

            img, txt = self.view_vectors()
            return block_mean_similarity(img, txt, int(grid))

        return self._cache.get(key, make)

    def tile(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Exact cosine similarities float32 [r1-r0, c1-c0] of the view's stacked matrix."""
        from .analysis.similarity import similarity_tile

        k2 = 2 * self.k
        if not (0 <= r0 < r1 <= k2 and 0 <= c0 < c1 <= k2):
            raise ValueError(f"tile [{r0}:{r1}, {c0}:{c1}] outside the {k2}x{k2} matrix in view")
        img, txt = self.view_vectors()
        return np.asarray(similarity_tile(img, txt, r0, r1, c0, c1), dtype=np.float32)

    def item(self, row: int) -> tuple[str, int]:
        """(modality, pair index) of stacked row ``row`` of the view."""
        k = self.k
        if not 0 <= row < 2 * k:
            raise IndexError(f"row {row} outside the {2 * k} rows in view")
        modality = "image" if row < k else "text"
        return modality, int(self.order[row % k])

    # -- readouts -------------------------------------------------------------------------
    def readouts(self) -> dict:
        """Gap distance and contrastive loss (corrected and compat) of all pairs of the current
        model, before and after closing the gap. Distances are Euclidean norms of the gap vector
        between unit-vector means; losses are mean cross-entropy (nats) at the model's logit scale."""
        key = ("readouts", self.model)

        def make():
            from .analysis.gap import close_gap, modality_gap
            from .analysis.losses import contrastive_loss

            emb = self.embeddings
            img, txt = emb.image, emb.text
            img_c, txt_c = close_gap(img, txt)
            n = emb.n
            batch = None if n <= LOSS_FULL_BATCH_LIMIT else LOSS_FULL_BATCH_LIMIT

            def losses(a, b):
                out = []
                for kwargs in ({"batch_size": batch}, {"compat": "amumo"}):
                    try:
                        out.append(float(contrastive_loss(a, b, emb.logit_scale, **kwargs)))
                    except (ValueError, ZeroDivisionError):  # e.g. fewer pairs than one compat batch
                        out.append(float("nan"))
                return out

            before = losses(img, txt)
            after = losses(img_c, txt_c)
            return {
                "n": n,
                "loss_batch_size": batch,
                "distance_before": float(modality_gap(img, txt).distance),
                "distance_after": float(modality_gap(img_c, txt_c).distance),
                "loss_before": before[0],
                "loss_compat_before": before[1],
                "loss_after": after[0],
                "loss_compat_after": after[1],
            }

        return self._cache.get(key, make)

    # -- projections ----------------------------------------------------------------------
    def projection_key(self, method: Optional[str] = None) -> tuple:
        return ("projection", self.model, self.gap_closed, method or self.projection)

    def cached_projection(self, method: Optional[str] = None):
        """The finished projection for (model, gap, method) or None when not computed yet."""
        return self._cache.peek(self.projection_key(method))

    def compute_projection(self, method: Optional[str] = None, progress=None, cancel=None):
        """Compute (or fetch) the projection synchronously; see :meth:`start_projection`."""
        key = self.projection_key(method)

        def make():
            from .analysis.projection import project

            img, txt = self.vectors()
            return project(img, txt, method=key[3], progress=progress, cancel=cancel)

        return self._cache.get(key, make)

    def start_projection(self, method: Optional[str] = None, on_done=None, on_progress=None):
        """Run the projection in a worker thread (:class:`~amumo_ng.analysis.projection.ProjectionJob`).

        Views of one session asking for the same projection share one job. Returns a
        :class:`ProjectionTicket` (``cancel()``, ``result(timeout)``), or None when the result is
        cached (``on_done(projection)`` is then called at once). ``on_done(projection_or_exception)``
        and ``on_progress(fraction, stage)`` run in the worker thread."""
        key = self.projection_key(method)
        cached = self._cache.peek(key)
        if cached is not None:
            if on_done is not None:
                on_done(cached)
            return None
        with self._jobs_lock:
            shared = self._jobs.get(key)
            new = shared is None or shared.job.done()
            if new:
                from .analysis.projection import ProjectionJob

                shared = _SharedJob()
                img, txt = self.vectors()
                shared.job = ProjectionJob(img, txt, method=key[3], on_progress=shared.progress)
                self._jobs[key] = shared
            ticket = shared.subscribe(on_done, on_progress)
        if new:
            def finished(done_job, _key=key, _shared=shared):
                try:
                    result = done_job.result()
                except BaseException as exc:  # cancelled or failed: report, do not cache
                    result = exc
                else:
                    self._cache.put(_key, result)
                with self._jobs_lock:
                    if self._jobs.get(_key) is _shared:
                        del self._jobs[_key]
                _shared.finish(result)

            # outside the lock: a job that is already done runs the callback right here
            shared.job.add_done_callback(finished)
        return ticket


class _SharedJob:
    """One ProjectionJob and the views waiting for it (a view that subscribes after the job
    finished is answered at once)."""

    _PENDING = object()

    def __init__(self):
        self.job = None
        self._lock = threading.Lock()
        self._subscribers: dict = {}
        self._result = self._PENDING

    def subscribe(self, on_done, on_progress) -> "ProjectionTicket":
        ticket = ProjectionTicket(self)
        with self._lock:
            result = self._result
            if result is self._PENDING:
                self._subscribers[ticket] = (on_done, on_progress)
        if result is not self._PENDING and on_done is not None:
            on_done(result)
        return ticket

    def unsubscribe(self, ticket) -> None:
        with self._lock:
            waited = self._subscribers.pop(ticket, None) is not None
            orphaned = waited and not self._subscribers and self._result is self._PENDING
        if orphaned:  # nobody waits any more: stop the work
            self.job.cancel()

    def progress(self, fraction, stage=""):
        with self._lock:
            callbacks = [p for _, p in self._subscribers.values() if p is not None]
        for cb in callbacks:
            cb(fraction, stage)

    def finish(self, result) -> None:
        with self._lock:
            self._result = result
            callbacks = [d for d, _ in self._subscribers.values() if d is not None]
            self._subscribers.clear()
        for cb in callbacks:
            cb(result)


class ProjectionTicket:
    """A view's claim on a (possibly shared) projection job."""

    def __init__(self, shared: _SharedJob):
        self._shared = shared

    def cancel(self) -> None:
        """Stop waiting; the job itself is cancelled when no other view waits for it."""
        self._shared.unsubscribe(self)

    def done(self) -> bool:
        return self._shared.job.done()

    def result(self, timeout: Optional[float] = None):
        """Wait for the projection (raises what the job raised, e.g. Cancelled)."""
        return self._shared.job.result(timeout)
