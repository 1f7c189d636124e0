"""Cluster orderings by a CROSS-MODAL similarity block: the Explorer's "image-text" and "text-image" quadrants.

:func:`cross_modal_order` orders the rows R [n, d] (e.g. images) of the block S = R̂·Ĉᵀ [n, m] against
the columns C [m, d] (e.g. texts): each row is described by its *similarity profile* S_i, its cosine
similarities to all m columns, so rows that relate to the other modality alike end up together. This
is what Amumo clusters (``get_cluster_sorting(1 − S)`` in ginihumer/Amumo ``amumo/utils.py``; its
heatmap passed ``S = T̂·Îᵀ``, texts as rows, and used the one permutation for both modalities). It
differs from clustering the concatenation [Î | T̂], whose cosine ½(ÎÎᵀ + T̂T̂ᵀ) holds in-modal
information only. For "image-text" pass ``(image, text)``; for "text-image" ``(text, image)``.

- ``method="amumo"`` (Amumo's procedure): complete linkage where each row of D = 1 − S is an
  observation, Euclidean distance between rows of D (= between rows of S), cut with
  ``fcluster(maxclust)``.
- ``method="average"`` (amumo-ng's cross-modal analogue of in-modal "average"): average linkage on
  the COSINE distance between similarity profiles, 1 − S_i·S_j / (‖S_i‖‖S_j‖) (uncentred; a row whose
  profile is 0 is at distance 1 from every other), with optimal leaf ordering.

Neither builds S or an n×n×m array. Because S_i·S_j = r̂_i·(ĈᵀĈ)·r̂_j, each profile is represented
exactly by y_i = r̂_i·V·Λ^½ ∈ R^k, k = min(m, d), with ĈᵀĈ = V·Λ·Vᵀ (or y_i = S_i itself when m <= d):
‖S_i − S_j‖ = ‖y_i − y_j‖ and cos(S_i, S_j) = cos(y_i, y_j). Cost O(m·d² + d³ + n·d²) for y.

Up to ``exact_threshold`` rows (defaults :data:`~amumo_ng.analysis.ordering.EXACT_THRESHOLDS`) the
linkage is exact, from the n×n Gram matrix of y (O(n²·k)). Above it nothing n×n is built: the rows are
grouped into ``n_micro`` k-means micro-clusters OF THEIR PROFILES (Euclidean k-means on y for "amumo",
spherical k-means on y/‖y‖ for "average": the method's own metric, on all m columns, not a column
sample), fitted on at most 20,000 rows; the method links the micro-cluster centroids (mean profiles)
and every row takes its micro-cluster's cluster. Memory O(n·k). ``leaf_order`` is as in
:func:`~amumo_ng.analysis.ordering.cluster_order`: ``"dendrogram"`` (default) or ``"amumo-argsort"``
(``np.argsort`` of the fcluster ids, Amumo's exact order).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from .ordering import (
    Ordering,
    _check_options,
    _condensed,
    _fit_centroids,
    _micro_ordering,
    _nearest_centroid,
    _tree_ordering,
)
from .similarity import _chunk_rows
from .validation import EmbeddingError, as_pair, l2_normalize

__all__ = ["cross_modal_order"]

_FIT_ROWS = 20_000


def cross_modal_order(
    rows,
    cols,
    method: str = "amumo",
    max_clusters: int = 10,
    *,
    leaf_order: str = "dendrogram",
    exact_threshold: Optional[int] = None,
    n_micro: int = 256,
    random_state: int = 0,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Ordering:
    """Order ``rows`` (raw float [n, d], n >= 2) by their similarity profiles against ``cols`` [m, d].

    ``method``: ``"amumo"`` or ``"average"`` (module doc); ``max_clusters``: at most this many clusters;
    ``leaf_order``: ``"dendrogram"`` or ``"amumo-argsort"``; ``exact_threshold``: largest n clustered
    exactly; ``n_micro``: profile k-means micro-clusters above it; ``random_state`` seeds the k-means;
    ``progress(fraction, stage)`` is called between stages. Rows are ordered, columns only describe
    them (m may differ from n). Returns an :class:`~amumo_ng.analysis.ordering.Ordering` of the rows.
    """
    r, c = as_pair(rows, cols, same_n=False, names=("rows", "cols"))
    if r.shape[0] < 2:
        raise EmbeddingError(f"rows: needs at least 2 row(s), got {r.shape[0]}")
    exact_threshold = _check_options(method, max_clusters, leaf_order, exact_threshold)
    report = progress or (lambda fraction, stage: None)
    n = r.shape[0]
    report(0.0, "profiles")
    y = _profile_coordinates(l2_normalize(r), l2_normalize(c), np.float64 if n <= exact_threshold else np.float32)
    if n <= exact_threshold:
        report(0.2, "linkage")
        result = _tree_ordering(_profile_distances(y, method), n, method, int(max_clusters), leaf_order)
        report(1.0, "done")
        return result

    report(0.2, "k-means")
    spherical = method == "average"
    points = _unit_rows(y) if spherical else y
    rng = np.random.default_rng(random_state)
    sample = points if n <= _FIT_ROWS else points[np.sort(rng.choice(n, _FIT_ROWS, replace=False))]
    centroids = _fit_centroids(sample, min(n_micro, exact_threshold), rng, spherical=spherical)
    micro_of_row, closeness = _nearest_centroid(points, centroids, spherical)
    report(0.7, "linkage")
    used = np.unique(micro_of_row)
    centroid_distances = _profile_distances(centroids[used].astype(np.float64), method)
    result = _micro_ordering(micro_of_row, closeness, used, centroids.shape[0], centroid_distances,
                             method, int(max_clusters), leaf_order)
    report(1.0, "done")
    return result


def _profile_coordinates(r_unit: np.ndarray, c_unit: np.ndarray, dtype=np.float64) -> np.ndarray:
    """y [n, k] of ``dtype``, k = min(m, d), with y_i·y_j = S_i·S_j for S = R̂·Ĉᵀ (the rows' profiles).

    m <= d: y = S itself (built in row chunks). m > d: y = R̂·V·Λ^½ from the eigendecomposition
    ĈᵀĈ = V·Λ·Vᵀ (in float64; negative rounding eigenvalues clipped to 0). Never n×m for m > d.
    float64 for the exact linkage; float32 (ĈᵀĈ and y) for the micro-clusters of large n.
    """
    u = r_unit.astype(dtype, copy=False)
    v = c_unit.astype(dtype, copy=False)
    if v.shape[0] <= v.shape[1]:
        out = np.empty((u.shape[0], v.shape[0]), dtype=dtype)
        step = _chunk_rows(2 * v.shape[0])
        for start in range(0, u.shape[0], step):
            np.matmul(u[start:start + step], v.T, out=out[start:start + step])
        return out
    eigenvalues, eigenvectors = np.linalg.eigh((v.T @ v).astype(np.float64))
    return u @ (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))).astype(dtype)


def _unit_rows(y: np.ndarray) -> np.ndarray:
    """Rows of y scaled to unit norm, float32; all-zero rows stay zero (cosine 0 with everything)."""
    norms = np.linalg.norm(y, axis=1, keepdims=True)
    return np.divide(y, norms, out=np.zeros_like(y), where=norms > 0).astype(np.float32)


def _profile_distances(y: np.ndarray, method: str) -> np.ndarray:
    """Condensed distances between profile rows y [p, k] (float64): Euclidean ("amumo") or cosine ("average").

    From the Gram matrix y·yᵀ, so p×p memory: used for at most ``exact_threshold`` rows or ``n_micro``
    centroids.
    """
    gram = y @ y.T
    sq = np.diag(gram).copy()
    if method == "amumo":
        return np.sqrt(np.clip(_condensed(sq[:, None] + sq[None, :] - 2.0 * gram), 0.0, None))
    norms = np.sqrt(np.clip(sq, 0.0, None))
    denom = np.outer(norms, norms)
    cosine = np.divide(gram, denom, out=np.zeros_like(gram), where=denom > 0)
    return np.clip(1.0 - _condensed(cosine), 0.0, 2.0)
