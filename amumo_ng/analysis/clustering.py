"""Clusters of embeddings, measured against ground truth: k-means, agglomerative, HDBSCAN and DEC.

:func:`clustering_input` picks what is clustered (unit image rows, unit text rows, or the joint pair
vectors [Î | T̂]/√2, raw or gap-closed); :func:`cluster_vectors` clusters them; :func:`clustering_quality`
scores labels against a ground-truth column (adjusted Rand index and normalised mutual information,
scikit-learn, arithmetic-mean NMI) or, without one, by the cosine silhouette; :func:`cluster_names`
labels each cluster by the distinctive n-grams of its captions (:func:`~.ordering.cluster_labels`).

HDBSCAN marks noise with label −1. Scores count the noise as one more group (so a clustering that
leaves most points as noise scores low, as it should); a run that finds only noise is reported in
:class:`Clustering` (``k == 0``, ``note``) and scored NaN, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .validation import EmbeddingError, as_matrix, as_pair, l2_normalize

__all__ = ["CLUSTER_METHODS", "CLUSTER_INPUTS", "Clustering", "ClusterQuality", "clustering_input",
           "cluster_vectors", "clustering_quality", "cluster_names", "compare_clusterings"]

CLUSTER_METHODS = ("kmeans", "agglomerative", "hdbscan", "dec")
CLUSTER_INPUTS = ("image", "text", "joint")


@dataclass(frozen=True)
class Clustering:
    """``labels`` int64 [n] (0..k−1; −1 = noise, HDBSCAN only); ``method``; ``k`` clusters found;
    ``n_noise`` points labelled −1; ``note``: what to know about the run ("" when nothing);
    ``details``: method extras (DEC: its :class:`~.dec.DECResult`)."""

    labels: np.ndarray
    method: str
    k: int
    n_noise: int = 0
    note: str = ""
    details: object = field(default=None, repr=False)

    @property
    def sizes(self) -> np.ndarray:
        """int64 [k]: members of each cluster (noise not counted)."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.k).astype(np.int64)


@dataclass(frozen=True)
class ClusterQuality:
    """``ari``, ``nmi`` against the truth (NaN without truth, or when nothing was clustered);
    ``silhouette``: mean cosine silhouette of the clustered points (NaN when undefined: fewer than 2
    clusters or given no vectors); ``n_scored``: points with a known true class that were scored;
    ``n_classes``: true classes among them; ``note``: why a score is NaN."""

    ari: float
    nmi: float
    silhouette: float
    n_scored: int
    n_classes: int
    note: str = ""


def clustering_input(image, text, which: str = "image", *, gap_closed: bool = False) -> np.ndarray:
    """The rows to cluster, float32: unit image rows [n, D] (``"image"``), unit text rows
    (``"text"``) or the joint pair vectors [Î | T̂]/√2 [n, 2D] (``"joint"``, unit rows). With
    ``gap_closed`` both modalities are first shifted by half the modality gap
    (:func:`~.gap.close_gap`, Amumo)."""
    if which not in CLUSTER_INPUTS:
        raise EmbeddingError(f"unknown clustering input {which!r}; choose one of {', '.join(CLUSTER_INPUTS)}")
    img, txt = as_pair(image, text)
    if gap_closed:
        from .gap import close_gap

        img, txt = close_gap(img, txt)
    else:
        img, txt = l2_normalize(img), l2_normalize(txt)
    if which == "image":
        return img
    if which == "text":
        return txt
    return (np.concatenate([img, txt], axis=1) / np.float32(np.sqrt(2.0))).astype(np.float32)


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= n:
        raise EmbeddingError(f"k must be an integer in 1..n = {n} (the number of rows), got {k!r}")
    return int(k)


def cluster_vectors(x, method: str = "kmeans", k: Optional[int] = 8, *, seed: int = 0,
                    linkage: str = "ward", min_cluster_size: Optional[int] = None,
                    dec_options: Optional[dict] = None) -> Clustering:
    """Cluster the rows of ``x`` [n, D] (no NaN/inf; e.g. :func:`clustering_input`).

    ``method``: "kmeans" (scikit-learn, 10 restarts, ``seed``), "agglomerative" (``linkage``:
    ward on the rows, or average / complete / single on cosine distances), "hdbscan" (scikit-learn;
    ``k`` is ignored, ``min_cluster_size`` default max(5, n // 100); noise = −1) or "dec"
    (:func:`~.dec.fit_dec` with ``dec_options``). ``k``: clusters wanted, 1..n. Returns :class:`Clustering`.
    """
    x = as_matrix(x, "vectors to cluster", allow_zero_rows=True)
    n = x.shape[0]
    if method not in CLUSTER_METHODS:
        raise EmbeddingError(f"unknown clustering method {method!r}; choose one of {', '.join(CLUSTER_METHODS)}")
    if method == "hdbscan":
        return _hdbscan(x, min_cluster_size)
    k = _check_k(k, n)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        labels = KMeans(n_clusters=k, n_init=10, random_state=int(seed)).fit_predict(x.astype(np.float64))
        return Clustering(labels.astype(np.int64), method, k)
    if method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        if linkage not in ("ward", "average", "complete", "single"):
            raise EmbeddingError(f"unknown linkage {linkage!r}; choose ward, average, complete or single")
        if n > 20_000:
            raise EmbeddingError(f"agglomerative clustering of {n:,} rows needs an n×n tree; use at most 20,000 rows")
        metric = "euclidean" if linkage == "ward" else "cosine"
        labels = AgglomerativeClustering(n_clusters=k, linkage=linkage, metric=metric).fit_predict(x)
        return Clustering(labels.astype(np.int64), method, k)
    from .dec import fit_dec

    result = fit_dec(x, k, seed=seed, **(dec_options or {}))
    found = int(np.unique(result.labels).size)
    note = "" if found == k else f"DEC left {k - found} of its {k} clusters empty"
    if not result.converged:
        note = (note + "; " if note else "") + f"stopped after {result.iterations} steps before the labels settled"
    return Clustering(_compact(result.labels), method, found, note=note, details=result)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k−1 in order of first appearance of each used id (noise −1 kept)."""
    out = np.full(labels.shape, -1, dtype=np.int64)
    used = labels >= 0
    _, first, inverse = np.unique(labels[used], return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    out[used] = rank[inverse]
    return out


def _hdbscan(x: np.ndarray, min_cluster_size: Optional[int]) -> Clustering:
    from sklearn.cluster import HDBSCAN

    n = x.shape[0]
    size = max(5, n // 100) if min_cluster_size is None else int(min_cluster_size)
    if size < 2 or size > n:
        raise EmbeddingError(f"min_cluster_size must be in 2..n = {n}, got {min_cluster_size!r}")
    labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(x).astype(np.int64)
    n_noise = int((labels < 0).sum())
    k = int(np.unique(labels[labels >= 0]).size)
    note = ""
    if k == 0:
        note = f"HDBSCAN found only noise: all {n} points (min_cluster_size={size}); try a smaller one"
    elif n_noise:
        note = f"{n_noise} of {n} points are noise (label -1)"
    return Clustering(_compact(labels), "hdbscan", k, n_noise=n_noise, note=note)


def clustering_quality(labels, truth=None, x=None) -> ClusterQuality:
    """Scores of cluster ``labels`` int [n] (−1 = noise, counted as one more group).

    ``truth``: a ground-truth column [n] (any hashable values; None / NaN = unknown, those rows are
    left out) -> ARI and NMI; it must have at least 2 classes among the scored rows
    (:class:`EmbeddingError` otherwise: agreement with a single class means nothing). ``x``: the
    clustered rows [n, D] -> the mean silhouette on cosine distance over the non-noise points
    (sampled to 5,000 points above that, seeded). Returns :class:`ClusterQuality`.
    """
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise EmbeddingError(f"labels must be a non-empty 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    n, clustered = labels.size, labels >= 0
    ari = nmi = sil = float("nan")
    n_scored = n_classes = 0
    notes = []
    if truth is not None:
        series = pd.Series(list(truth) if not isinstance(truth, pd.Series) else truth.to_numpy())
        if len(series) != n:
            raise EmbeddingError(f"the ground truth has {len(series)} values for {n} labels")
        known = ~series.isna().to_numpy()
        n_scored = int(known.sum())
        n_classes = int(series[known].nunique())
        if n_classes < 2:
            raise EmbeddingError(f"the ground-truth column has {n_classes} class(es) among its {n_scored} known "
                                 "values; ARI/NMI need at least 2 (score by silhouette instead: truth=None, x=...)")
        if not clustered.any():
            notes.append("nothing was clustered (only noise): ARI/NMI undefined")
        else:
            codes = pd.factorize(series[known])[0]
            ari = float(adjusted_rand_score(codes, labels[known]))
            nmi = float(normalized_mutual_info_score(codes, labels[known]))
    if x is not None:
        x = as_matrix(x, "clustered vectors", allow_zero_rows=True)
        if x.shape[0] != n:
            raise EmbeddingError(f"{x.shape[0]} vectors for {n} labels")
        rows = np.flatnonzero(clustered)
        if np.unique(labels[rows]).size < 2 or rows.size < 3 or np.unique(labels[rows]).size >= rows.size:
            notes.append("silhouette needs 2..n−1 clusters among the clustered points")
        else:
            sample = min(rows.size, 5000)
            sil = float(silhouette_score(x[rows], labels[rows], metric="cosine",
                                         sample_size=sample if sample < rows.size else None, random_state=0))
    return ClusterQuality(ari, nmi, sil, n_scored, n_classes, "; ".join(notes))


def cluster_names(captions: Sequence[str], labels, top: int = 3) -> dict:
    """{cluster id: label from its captions' most distinctive n-grams} (noise −1 excluded), by
    :func:`~.ordering.cluster_labels`."""
    from .ordering import cluster_labels

    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size != len(captions):
        raise EmbeddingError(f"labels must be 1-D with one id per caption ({len(captions)}), got shape {labels.shape}")
    keep = np.flatnonzero(labels >= 0)
    if keep.size == 0:
        return {}
    ids, compact = np.unique(labels[keep], return_inverse=True)
    names = cluster_labels([str(captions[i]) for i in keep], compact, top=top)
    return {int(c): name for c, name in zip(ids, names)}


def compare_clusterings(x, truth, methods: Sequence[str] = CLUSTER_METHODS, k: Optional[int] = None, *,
                        seed: int = 0, **options):
    """One row per method: ``method``, ``k`` (found), ``ari``, ``nmi``, ``silhouette``, ``n_noise``,
    ``seconds``, ``note``; ``k`` defaults to the number of true classes. ``options`` go to
    :func:`cluster_vectors`. Returns (DataFrame, {method: Clustering})."""
    import time

    import pandas as pd

    known = pd.Series(list(truth)).dropna()
    k = int(known.nunique()) if k is None else k
    rows, runs = [], {}
    for method in methods:
        started = time.perf_counter()
        run = cluster_vectors(x, method, k, seed=seed, **options)
        seconds = time.perf_counter() - started
        quality = clustering_quality(run.labels, truth, x)
        runs[method] = run
        rows.append({"method": method, "k": run.k, "ari": quality.ari, "nmi": quality.nmi,
                     "silhouette": quality.silhouette, "n_noise": run.n_noise, "seconds": seconds,
                     "note": "; ".join(s for s in (run.note, quality.note) if s)})
    return pd.DataFrame(rows), runs
