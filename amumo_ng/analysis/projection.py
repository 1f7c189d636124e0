"""2-D projections of image/text embeddings (PCA, UMAP, t-SNE), cached and runnable in the background.

Methods (all on L2-normalised rows):

- ``"pca"``, ``"umap"``, ``"tsne"``: fit on the stacked rows [Î; T̂] (2n points; UMAP and t-SNE use
  the cosine metric); ``image_xy`` are the first n points, ``text_xy`` the last n.
- ``"umap-oos"``: fit UMAP on the images only, then place the texts with ``transform``
  (out-of-sample), so the map is the image space and texts are guests in it.
- ``"joint"``: one point per pair, projecting the concatenated pair vectors [Î | T̂] [n, 2d]
  (``joint_method`` picks PCA (default), UMAP or t-SNE); only ``pair_xy`` is set.

:class:`ProjectionCache` memoises results by an input fingerprint plus the parameters, and
:class:`ProjectionJob` runs a projection in a worker thread with progress and cooperative cancel.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .validation import as_pair, l2_normalize

METHODS = ("pca", "umap", "tsne", "umap-oos", "joint")
JOINT_METHODS = ("pca", "umap", "tsne")

ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised by a projection whose ``cancel`` flag was set before it finished."""


@dataclass(frozen=True)
class Projection:
    """2-D coordinates (float32, unitless layout coordinates).

    ``image_xy``/``text_xy``: [n, 2] or None (``"joint"``); ``pair_xy``: [n, 2] for ``"joint"``, else None.
    ``method``: the method name; ``params``: the parameters that produced it (part of the cache key).
    """

    image_xy: Optional[np.ndarray]
    text_xy: Optional[np.ndarray]
    pair_xy: Optional[np.ndarray]
    method: str
    params: dict = field(default_factory=dict)


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _check_cancel(cancel) -> None:
    if _is_cancelled(cancel):
        raise Cancelled("projection cancelled")


def _pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal-component scores of rows ``x`` [m, k] (float32 [m, 2]).

    Eigen-decomposition of the k×k covariance (O(m·k²)); each axis's sign is fixed so its largest
    loading is positive, which makes the result deterministic.
    """
    x64 = x.astype(np.float64)
    centered = x64 - x64.mean(axis=0)
    cov = centered.T @ centered / max(1, x.shape[0] - 1)
    values, vectors = np.linalg.eigh(cov)
    axes = vectors[:, np.argsort(values)[::-1][:2]]
    if axes.shape[1] < 2:  # a 1-D embedding: second coordinate is 0
        axes = np.hstack([axes, np.zeros((axes.shape[0], 1))])
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(2)])
    signs[signs == 0] = 1.0
    return (centered @ (axes * signs)).astype(np.float32)


def _umap_model(n_points: int, n_neighbors: int, random_state: int):
    import umap

    return umap.UMAP(n_components=2, metric="cosine", n_neighbors=max(2, min(n_neighbors, n_points - 1)),
                     random_state=random_state, n_jobs=1, init="spectral" if n_points > 3 else "random")


def _tsne(x: np.ndarray, perplexity: float, random_state: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(min(perplexity, max(1.0, (x.shape[0] - 1) / 3.0)))
    model = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                 random_state=random_state)
    return model.fit_transform(x).astype(np.float32)


def _fit_2d(x: np.ndarray, method: str, n_neighbors: int, perplexity: float, random_state: int) -> np.ndarray:
    if method == "pca":
        return _pca_2d(x)
    if method == "umap":
        return _umap_model(x.shape[0], n_neighbors, random_state).fit_transform(x).astype(np.float32)
    return _tsne(x, perplexity, random_state)


def project(
    image,
    text,
    method: str = "pca",
    *,
    random_state: int = 0,
    n_neighbors: int = 15,
    perplexity: float = 30.0,
    joint_method: str = "pca",
    progress: Optional[ProgressCallback] = None,
    cancel=None,
) -> Projection:
    """Project ``n >= 2`` aligned pairs (raw float [n, d]) to 2-D with ``method`` (see module doc).

    ``n_neighbors`` (UMAP) is capped at the number of points − 1 and ``perplexity`` (t-SNE) at a third
    of it. ``progress(fraction, stage)`` is called between stages; ``cancel`` is a
    ``threading.Event`` or a callable returning True to stop: it is checked between stages and a
    cancelled call raises :class:`Cancelled` (a running UMAP/t-SNE fit itself is not interrupted).
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; expected one of {METHODS}")
    if joint_method not in JOINT_METHODS:
        raise ValueError(f"unknown joint_method {joint_method!r}; expected one of {JOINT_METHODS}")
    report = progress or (lambda fraction, stage: None)
    params = _params(method, random_state, n_neighbors, perplexity, joint_method)
    _check_cancel(cancel)
    report(0.0, "normalising")
    img, txt = as_pair(image, text, min_rows=2)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    n = img.shape[0]
    _check_cancel(cancel)
    if method == "joint":
        report(0.1, f"fitting {joint_method} on pairs")
        pair_xy = _fit_2d(np.hstack([img_u, txt_u]), joint_method, n_neighbors, perplexity, random_state)
        _check_cancel(cancel)
        report(1.0, "done")
        return Projection(None, None, pair_xy, method, params)
    if method == "umap-oos":
        report(0.1, "fitting umap on images")
        model = _umap_model(n, n_neighbors, random_state)
        image_xy = model.fit_transform(img_u).astype(np.float32)
        _check_cancel(cancel)
        report(0.7, "placing texts")
        text_xy = model.transform(txt_u).astype(np.float32)
    else:
        report(0.1, f"fitting {method}")
        both = _fit_2d(np.vstack([img_u, txt_u]), method, n_neighbors, perplexity, random_state)
        image_xy, text_xy = both[:n], both[n:]
    _check_cancel(cancel)
    report(1.0, "done")
    return Projection(np.ascontiguousarray(image_xy), np.ascontiguousarray(text_xy), None, method, params)


def _params(method: str, random_state: int, n_neighbors: int, perplexity: float, joint_method: str) -> dict:
    """The parameters that influence ``method`` (only those, so irrelevant ones don't split the cache)."""
    uses = {"pca": (), "umap": ("random_state", "n_neighbors"), "tsne": ("random_state", "perplexity"),
            "umap-oos": ("random_state", "n_neighbors")}
    all_params = {"random_state": int(random_state), "n_neighbors": int(n_neighbors),
                  "perplexity": float(perplexity)}
    if method == "joint":
        return {"joint_method": joint_method, **{k: all_params[k] for k in uses[joint_method]}}
    return {k: all_params[k] for k in uses[method]}


def fingerprint(array) -> str:
    """A content fingerprint of an array: dtype, shape and a BLAKE2b hash of all its bytes (hex str).

    Hashes at roughly 1 GB/s (a 20,000 × 512 float32 array in about 40 ms).
    """
    arr = np.ascontiguousarray(array)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{arr.dtype.str}{arr.shape}".encode())
    digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


class ProjectionCache:
    """Least-recently-used cache of :func:`project` results keyed by input fingerprints + parameters.

    ``maxsize``: entries kept (>= 1). Thread-safe; ``hits``/``misses`` count lookups. Two calls with
    equal arrays and equal relevant parameters fit once.
    """

    def __init__(self, maxsize: int = 16):
        if int(maxsize) != maxsize or maxsize < 1:
            raise ValueError(f"maxsize must be a positive integer, got {maxsize!r}")
        self.maxsize = int(maxsize)
        self.hits = 0
        self.misses = 0
        self._entries: "OrderedDict[tuple, Projection]" = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, image, text, method: str, **params) -> tuple:
        """The cache key: (fingerprint(image), fingerprint(text), method, relevant params)."""
        defaults = {"random_state": 0, "n_neighbors": 15, "perplexity": 30.0, "joint_method": "pca"}
        defaults.update(params)
        relevant = _params(method, **defaults)
        return fingerprint(image), fingerprint(text), method, tuple(sorted(relevant.items()))

    def get(self, key: tuple) -> Optional[Projection]:
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def put(self, key: tuple, result: Projection) -> None:
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def project(self, image, text, method: str = "pca", *, progress=None, cancel=None, **params) -> Projection:
        """:func:`project` with memoisation (``params``: random_state, n_neighbors, perplexity, joint_method)."""
        if method not in METHODS:
            raise ValueError(f"unknown projection method {method!r}; expected one of {METHODS}")
        image, text = as_pair(image, text, min_rows=2)  # validate before hashing
        key = self.key(image, text, method, **params)
        cached = self.get(key)
        if cached is not None:
            with self._lock:
                self.hits += 1
            if progress is not None:
                progress(1.0, "cached")
            return cached
        with self._lock:
            self.misses += 1
        result = project(image, text, method, progress=progress, cancel=cancel, **params)
        self.put(key, result)
        return result


class ProjectionJob:
    """A projection running in a worker thread; the constructor returns at once.

    ``on_progress(fraction, stage)`` is called from the worker thread. :meth:`cancel` sets a flag that
    the projection checks between stages; :meth:`result` then raises :class:`Cancelled`. Errors in the
    projection (e.g. :class:`~amumo_ng.analysis.validation.EmbeddingError`) are raised by :meth:`result`. With a ``cache`` the result
    is looked up/stored there.
    """

    def __init__(self, image, text, method: str = "pca", *, cache: Optional[ProjectionCache] = None,
                 on_progress: Optional[ProgressCallback] = None, **params):
        self.method = method
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self.progress = 0.0
        self.stage = "queued"
        runner = cache.project if cache is not None else project
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amumo-projection")
        self.future: Future = executor.submit(
            runner, image, text, method, progress=self._report, cancel=self._cancel, **params)
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


__all__ = ["Cancelled", "Projection", "ProjectionCache", "ProjectionJob", "fingerprint", "project",
           "project_async", "METHODS", "JOINT_METHODS"]
