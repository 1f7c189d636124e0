"""2-D projections of image/text embeddings (PCA, UMAP, t-SNE), runnable in the background.

Methods (all on L2-normalised rows):

- ``"pca"``, ``"umap"``, ``"tsne"``: fit on the stacked rows [Î; T̂] (2n points; UMAP and t-SNE use
  the cosine metric); ``image_xy`` are the first n points, ``text_xy`` the last n.
- ``"umap-oos"``: fit UMAP on the images only, then place the texts with ``transform``
  (out-of-sample), so the map is the image space and texts are guests in it.
- ``"joint"``: one point per pair, projecting the concatenated pair vectors [Î | T̂] [n, 2d]
  (``joint_method`` picks PCA (default), UMAP or t-SNE); only ``pair_xy`` is set.

UMAP and t-SNE fit each distinct row once (:func:`unique_rows`): identical rows (``shapes`` has many
identical captions, hence identical text vectors) would otherwise form one hub far from everything
(UMAP) or distort the perplexity (t-SNE); every duplicate gets its representative's position.

UMAP's numba code is compiled on first use (10–40 s per process); :func:`warm_up_umap` compiles it
once and numba caches it on disk under ``<amumo cache>/numba`` (see :func:`numba_cache_dir`).
Results are memoised by the caller (the session's :class:`~amumo_ng.lru.LRUCache`);
:class:`ProjectionJob` runs a projection in a worker thread with progress and cooperative cancel.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .sampled_fit import MAX_FIT_POINTS, PLACE_CHUNK, fit_on_sample
from .umap_runtime import _umap_model, import_umap, numba_cache_dir, warm_up_umap  # noqa: F401 (re-exported)
from .validation import as_pair, row_chunks, unit_rows

METHODS = ("pca", "umap", "tsne", "umap-oos", "joint")
JOINT_METHODS = ("pca", "umap", "tsne")
LABELS = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
#: Fewer distinct rows than this are placed by PCA (UMAP cannot fit two points).
MIN_FIT_ROWS = 3

ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised by a projection whose ``cancel`` flag was set before it finished."""


@dataclass(frozen=True)
class Projection:
    """2-D coordinates (float32, unitless layout coordinates).

    ``image_xy``/``text_xy``: [n, 2] or None (``"joint"``); ``pair_xy``: [n, 2] for ``"joint"``, else None.
    ``method``: the method name; ``params``: the parameters that produced it (part of the cache key).
    ``pca_mean`` float64 [d], ``pca_components`` float64 [d, 2] (``"pca"`` only, else None): the fitted
    linear map; any unit vector u [d] lands at ``(u − pca_mean) @ pca_components``, as the rows did.
    ``umap_model`` (``"umap"``/``"umap-oos"``, else None): the fitted ``umap.UMAP``; ``transform`` places new unit vectors.
    """

    image_xy: Optional[np.ndarray]
    text_xy: Optional[np.ndarray]
    pair_xy: Optional[np.ndarray]
    method: str
    params: dict = field(default_factory=dict)
    pca_mean: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    pca_components: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    umap_model: Optional[object] = field(default=None, compare=False, repr=False)


def is_cancelled(cancel) -> bool:
    """True when ``cancel`` (None, a ``threading.Event``-like with ``is_set`` or a callable) says stop."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _check_cancel(cancel) -> None:
    if is_cancelled(cancel):
        raise Cancelled("projection cancelled")


def _stepper(progress: Optional[ProgressCallback], cancel) -> ProgressCallback:
    """``step(fraction, stage)``: a stage boundary: raise :class:`Cancelled` if asked to, else report."""

    def step(fraction: float, stage: str) -> None:
        _check_cancel(cancel)
        if progress is not None:
            progress(float(fraction), stage)

    return step


# -- fits -----------------------------------------------------------------------------------------
def unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``unique`` [k, d]: the distinct rows of ``x`` [m, d] in order of first occurrence,
    ``inverse`` int [m]) with ``unique[inverse] == x``. Without duplicates ``unique`` equals ``x``."""
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # unique ids by first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return x[first[order]], rank[np.asarray(inverse).reshape(-1)]


def _pca_2d(x, return_fit: bool = False):
    """First two principal-component scores of rows ``x`` [m, k] (float32 [m, 2]).

    ``x`` may also be a sequence of blocks of rows ([Î, T̂]: the rows are their concatenation), so
    the two modalities are never stacked into one copy. Mean and k×k covariance are accumulated
    over row chunks (float32 products, float64 sums), so no float64 copy of the rows is made and the
    extra memory is one chunk; then an eigen-decomposition (O(m·k²) in all). Each axis's sign is
    fixed so its largest loading is positive (deterministic). ``return_fit``:
    ``(scores, mean [k], components [k, 2])`` (float64).
    """
    blocks = [x] if isinstance(x, np.ndarray) else list(x)
    blocks = [np.asarray(b, dtype=np.float32) for b in blocks]
    k = blocks[0].shape[1]
    m = sum(b.shape[0] for b in blocks)
    # one pass: sums and products of the rows centred on a provisional mean (the first block's
    # first rows), so the float32 products lose nothing to cancellation; float64 totals
    shift = blocks[0][: min(4096, blocks[0].shape[0])].mean(axis=0, dtype=np.float64).astype(np.float32)
    total = np.zeros(k)
    prod = np.zeros((k, k))
    for b in blocks:
        for s0, s1 in row_chunks(*b.shape):
            c = b[s0:s1] - shift
            total += _column_sums(c)
            prod += (c.T @ c).astype(np.float64)
    centred = total / max(1, m)
    mean = shift.astype(np.float64) + centred
    cov = (prod - m * np.outer(centred, centred)) / max(1, m - 1)
    values, vectors = np.linalg.eigh(cov)
    axes = vectors[:, np.argsort(values)[::-1][:2]]
    if axes.shape[1] < 2:  # a 1-D embedding: second coordinate is 0
        axes = np.hstack([axes, np.zeros((axes.shape[0], 1))])
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(2)])
    signs[signs == 0] = 1.0
    components = axes * signs
    comp32, offset = components.astype(np.float32), (mean @ components).astype(np.float32)
    scores = np.concatenate([b @ comp32 for b in blocks]) - offset
    scores = scores.astype(np.float32, copy=False)
    return (scores, mean, components) if return_fit else scores


def _column_sums(x: np.ndarray, group: int = 1024) -> np.ndarray:
    """float64 [k] column sums of float32 rows ``x`` [m, k]: float32 sums of groups of ``group``
    rows (fast, error ~ group·eps at worst), added up in float64."""
    m = (x.shape[0] // group) * group
    out = x[:m].reshape(-1, group, x.shape[1]).sum(axis=1).sum(axis=0, dtype=np.float64) if m else np.zeros(x.shape[1])
    return out + x[m:].sum(axis=0, dtype=np.float64)


def _tsne(x: np.ndarray, perplexity: float, random_state: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(min(perplexity, max(1.0, (x.shape[0] - 1) / 3.0)))
    model = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                 random_state=random_state)
    return model.fit_transform(x).astype(np.float32)


def _fit_2d(x: np.ndarray, method: str, n_neighbors: int, perplexity: float, random_state: int,
            n_epochs: Optional[int] = None, fit: Optional[dict] = None) -> np.ndarray:
    """float32 [m, 2] positions of the rows ``x`` [m, d] (no dedup); PCA puts its map in ``fit`` (if given)."""
    if method == "pca" or x.shape[0] < MIN_FIT_ROWS:
        scores, mean, components = _pca_2d(x, return_fit=True)
        if fit is not None and method == "pca":
            fit.update(pca_mean=mean, pca_components=components)
        return scores
    if method == "umap":
        model = _umap_model(x.shape[0], n_neighbors, random_state, n_epochs)
        xy = model.fit_transform(x).astype(np.float32)
        if fit is not None:
            fit.update(umap_model=model)
        return xy
    return _tsne(x, perplexity, random_state)


def _fit_distinct(x, what: str, method: str, step: ProgressCallback, fraction: float, fit_args: tuple) -> np.ndarray:
    """Fit ``method`` on the distinct rows of ``x`` [m, d]; duplicates get their representative's position."""
    if method == "pca":
        step(fraction, f"fitting PCA on {len(x)} {what}")
        return _fit_2d(x, method, *fit_args)
    step(fraction, f"deduplicating {len(x)} {what}")
    unique, inverse = unique_rows(x)
    k = len(unique)
    repeats = f" ({len(x) - k} duplicates share their representative's position)" if k < len(x) else ""
    how = LABELS[method] if k >= MIN_FIT_ROWS else "PCA (too few to fit " + LABELS[method] + ")"
    step(fraction + 0.05, f"fitting {how} on {k} unique {what}{repeats}")
    return _fit_2d(unique, method, *fit_args)[inverse]


def project(
    image,
    text,
    method: str = "pca",
    *,
    random_state: int = 0,
    n_neighbors: int = 15,
    perplexity: float = 30.0,
    joint_method: str = "pca",
    n_epochs: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    cancel=None,
    max_fit_points: Optional[int] = None,
) -> Projection:
    """Project ``n >= 2`` aligned pairs (raw float [n, d]) to 2-D with ``method`` (see module doc).

    ``n_neighbors`` (UMAP) is capped at the number of distinct points − 1 and ``perplexity`` (t-SNE)
    at a third of it; ``n_epochs`` (UMAP) None is umap-learn's default (200 above 10,000 points, else
    500). ``progress(fraction, stage)`` is called at each stage boundary (normalising, deduplicating,
    fitting on k unique points, transforming, done; umap-learn and scikit-learn report nothing
    during a fit). ``cancel`` is a ``threading.Event`` or a callable returning True to stop: it is
    checked at every stage boundary and a cancelled call raises :class:`Cancelled` there (a running
    UMAP/t-SNE fit itself is not interrupted). Above ``max_fit_points`` points (default
    :data:`~amumo_ng.analysis.sampled_fit.MAX_FIT_POINTS`, 50,000) UMAP and t-SNE are fitted on a
    seeded random sample and the other points placed afterwards (:mod:`amumo_ng.analysis.sampled_fit`);
    ``params`` then records ``fit_points`` and ``placed_by``. PCA always uses every point, without
    stacking or float64 copies of the rows.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; expected one of {METHODS}")
    if joint_method not in JOINT_METHODS:
        raise ValueError(f"unknown joint_method {joint_method!r}; expected one of {JOINT_METHODS}")
    step = _stepper(progress, cancel)
    params = _params(method, random_state, n_neighbors, perplexity, joint_method, n_epochs)
    fit_args = (n_neighbors, perplexity, random_state, n_epochs)
    step(0.0, "normalising")
    img, txt = as_pair(image, text, min_rows=2)
    img_u, txt_u = unit_rows(img), unit_rows(txt)  # no copy of rows that are unit already
    n = img.shape[0]
    max_fit = MAX_FIT_POINTS if max_fit_points is None else max(MIN_FIT_ROWS, int(max_fit_points))
    fit: dict = {}  # PCA's linear map (pca_mean, pca_components) or the UMAP model, kept on the Projection

    def sampled(blocks, how, what):
        return fit_on_sample(blocks, how, lambda rows: _fit_distinct(rows, f"sampled {what}", how, step, 0.15,
                                                                     fit_args + (fit,)),
                             fit, random_state, step, max_fit, what)

    if method == "joint":
        pairs = np.hstack([img_u, txt_u])
        what = "pairs (image | text concatenated)"
        if joint_method != "pca" and n > max_fit:
            pair_xy = sampled([pairs], joint_method, "pairs")
        else:
            pair_xy = _fit_distinct(pairs, what, joint_method, step, 0.05, fit_args)
        step(1.0, "done")
        return Projection(None, None, np.ascontiguousarray(pair_xy), method, _sampling(params, fit))
    if method == "umap-oos":
        image_xy, text_xy = _umap_out_of_sample(img_u, txt_u, step, fit_args, fit, max_fit, sampled)
    elif method == "pca":
        step(0.05, f"fitting PCA on {2 * n} points (images and texts)")
        both = _fit_2d((img_u, txt_u), method, *fit_args, fit)
        image_xy, text_xy = both[:n], both[n:]
    elif 2 * n > max_fit:
        both = sampled((img_u, txt_u), method, "points (images and texts)")
        image_xy, text_xy = both[:n], both[n:]
    else:
        both = _fit_distinct(np.vstack([img_u, txt_u]), "points (images and texts)", method, step, 0.05,
                             fit_args + (fit,))
        image_xy, text_xy = both[:n], both[n:]
    step(1.0, "done")
    return Projection(np.ascontiguousarray(image_xy), np.ascontiguousarray(text_xy), None, method,
                      _sampling(params, fit), **{k: v for k, v in fit.items() if k in _FIT_FIELDS})


_FIT_FIELDS = ("pca_mean", "pca_components", "umap_model")


def _sampling(params: dict, fit: dict) -> dict:
    """``params`` plus ``fit_points`` and ``placed_by`` when the fit used a sample."""
    extra = {k: fit[k] for k in ("fit_points", "placed_by") if k in fit}
    return {**params, **extra} if extra else params


def _umap_out_of_sample(img_u, txt_u, step: ProgressCallback, fit_args: tuple, fit: dict,
                        max_fit: int = MAX_FIT_POINTS, sampled=None):
    """UMAP fitted on the distinct images, distinct texts placed by ``transform``: ([n, 2], [n, 2]); the model in ``fit``.
    More than ``max_fit`` images: fitted on a sample of them (``sampled``), texts transformed in chunks."""
    if sampled is not None and len(img_u) > max_fit:
        image_xy = sampled([img_u], "umap", "images")
        model = fit["umap_model"]
        text_xy = np.empty((len(txt_u), 2), dtype=np.float32)
        for c0 in range(0, len(txt_u), PLACE_CHUNK):
            step(0.95, f"transforming: placing texts in the image map, {c0:,} of {len(txt_u):,} done")
            text_xy[c0:c0 + PLACE_CHUNK] = model.transform(txt_u[c0:c0 + PLACE_CHUNK])
        return image_xy, text_xy
    n_neighbors, _, random_state, n_epochs = fit_args
    step(0.05, f"deduplicating {len(img_u)} images and {len(txt_u)} texts")
    images, image_inverse = unique_rows(img_u)
    texts, text_inverse = unique_rows(txt_u)
    if len(images) < MIN_FIT_ROWS:  # nothing to fit a map on: one map of both
        both = _fit_distinct(np.vstack([img_u, txt_u]), "points (too few distinct images for a map of them)",
                             "umap", step, 0.1, fit_args + (fit,))
        return both[: len(img_u)], both[len(img_u):]
    step(0.1, f"fitting UMAP on {len(images)} unique images")
    model = _umap_model(len(images), n_neighbors, random_state, n_epochs)
    image_xy = model.fit_transform(images).astype(np.float32)[image_inverse]
    fit.update(umap_model=model)
    step(0.7, f"transforming: placing {len(texts)} unique texts in the image map")
    text_xy = model.transform(texts).astype(np.float32)[text_inverse]
    return image_xy, text_xy


def _params(method: str, random_state: int, n_neighbors: int, perplexity: float, joint_method: str,
            n_epochs: Optional[int] = None) -> dict:
    """The parameters that influence ``method`` (only those, so irrelevant ones don't split a cache)."""
    uses = {"pca": (), "umap": ("random_state", "n_neighbors", "n_epochs"),
            "tsne": ("random_state", "perplexity"), "umap-oos": ("random_state", "n_neighbors", "n_epochs")}
    all_params = {"random_state": int(random_state), "n_neighbors": int(n_neighbors),
                  "perplexity": float(perplexity), "n_epochs": None if n_epochs is None else int(n_epochs)}
    names = uses[joint_method] if method == "joint" else uses[method]
    chosen = {k: all_params[k] for k in names if all_params[k] is not None}
    return {"joint_method": joint_method, **chosen} if method == "joint" else chosen


class ProjectionJob:
    """A projection running in a worker thread; the constructor returns at once.

    ``on_progress(fraction, stage)`` is called from the worker thread. :meth:`cancel` sets a flag that
    the projection checks at its stage boundaries; :meth:`result` then raises :class:`Cancelled`.
    Errors in the projection (e.g. :class:`~amumo_ng.analysis.validation.EmbeddingError`) are raised
    by :meth:`result`. ``params``: keyword arguments of :func:`project`. Memoising is the caller's
    (the session keeps results in its :class:`~amumo_ng.lru.LRUCache`).
    """

    def __init__(self, image, text, method: str = "pca", *, on_progress: Optional[ProgressCallback] = None,
                 **params):
        self.method = method
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self.progress = 0.0
        self.stage = "queued"
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amumo-projection")
        self.future: Future = executor.submit(
            project, image, text, method, progress=self._report, cancel=self._cancel, **params)
        executor.shutdown(wait=False)

    def _report(self, fraction: float, stage: str) -> None:
        self.progress, self.stage = float(fraction), stage
        if self._on_progress is not None:
            self._on_progress(fraction, stage)

    def cancel(self) -> None:
        """Ask the projection to stop at its next stage boundary."""
        self._cancel.set()
        self.future.cancel()  # succeeds only if it has not started

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: Optional[float] = None) -> Projection:
        """Wait up to ``timeout`` s for the projection; raises :class:`Cancelled` if it was cancelled."""
        from concurrent.futures import CancelledError

        try:
            return self.future.result(timeout)
        except CancelledError as exc:
            raise Cancelled("projection cancelled before it started") from exc

    def add_done_callback(self, fn: Callable[["ProjectionJob"], None]) -> None:
        """Call ``fn(job)`` (in the worker thread, or at once if done) when the job finishes."""
        self.future.add_done_callback(lambda _future: fn(self))


def project_async(image, text, method: str = "pca", **kwargs) -> ProjectionJob:
    """Start :func:`project` in a worker thread and return its :class:`ProjectionJob` at once."""
    return ProjectionJob(image, text, method, **kwargs)


__all__ = ["Cancelled", "is_cancelled", "Projection", "ProjectionJob", "project", "project_async", "unique_rows",
           "warm_up_umap", "import_umap", "numba_cache_dir", "METHODS", "JOINT_METHODS"]
