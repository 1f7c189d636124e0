"""Do a pair's two points land in the same cluster of a 2-D layout? A number for visual gap closing.

A 2-D layout of image/text pairs "closes the gap visually" when a pair's image point and text
point lie in the same region of the plot. This module measures that: cluster all 2n points of the
layout together (k-means by default, k given by the caller), then count the pairs whose image and
text fall in the same cluster.

The share alone is hard to read (with k = 2 a random layout already scores about one half), so it
comes with the share expected by chance: if each pair's text cluster were drawn independently of
its image cluster, with the observed cluster sizes of each modality, a pair would agree with
probability ``baseline = Σ_c p_img(c) · p_txt(c)``, where ``p_img(c)`` is the fraction of images
in cluster c and ``p_txt(c)`` that of texts. ``excess = (share − baseline) / (1 − baseline)`` is
the chance-corrected agreement (Cohen's κ of the two label lists): 0 at chance, 1 when every pair agrees.

How to choose k: the measure depends on it (more clusters, fewer agreeing pairs), so it is always
stated. Use a known number of classes where there is one (``shapes``: its 6 shapes) and the same k
for every layout and model that are compared.

A joint projection (one point per pair, :mod:`amumo_ng.analysis.projection` ``"joint"``) has no
image–text distance to measure; it is not accepted here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validation import EmbeddingError

#: Clustering methods of :func:`same_cluster_share`.
CLUSTER_METHODS = ("kmeans",)

__all__ = ["PairAgreement", "pair_label_agreement", "same_cluster_share", "cluster_layout", "CLUSTER_METHODS"]


@dataclass(frozen=True)
class PairAgreement:
    """How often a pair's image and text share a cluster.

    ``share``: fraction of the ``n_pairs`` pairs whose image label equals their text label, in [0, 1];
    ``baseline``: the share expected if text labels were independent of image labels
    (Σ_c p_img(c)·p_txt(c)), in [0, 1]; ``n_clusters``: k; ``method``: how the labels were made
    ("kmeans", or "labels" when given); ``image_labels``/``text_labels``: int64 [n_pairs] in [0, k).
    """

    share: float
    baseline: float
    n_pairs: int
    n_clusters: int
    method: str
    image_labels: np.ndarray = field(repr=False, compare=False)
    text_labels: np.ndarray = field(repr=False, compare=False)

    @property
    def excess(self) -> float:
        """Chance-corrected agreement (share − baseline) / (1 − baseline); NaN when baseline is 1."""
        if self.baseline >= 1.0:
            return float("nan")
        return (self.share - self.baseline) / (1.0 - self.baseline)

    @property
    def same_cluster(self) -> np.ndarray:
        """bool [n_pairs]: True where the pair's two points share a cluster."""
        return self.image_labels == self.text_labels


def _labels(values, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise EmbeddingError(f"{name} must be one label per pair (shape [n]), got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise EmbeddingError(f"{name} must be integer cluster labels, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise EmbeddingError(f"{name} must be labels >= 0, got {int(a.min())}")
    return a


def pair_label_agreement(image_labels, text_labels, n_clusters: int | None = None,
                         method: str = "labels") -> PairAgreement:
    """Agreement of given cluster labels: ``image_labels`` and ``text_labels`` int [n] (label of pair
    i's image and of its text, in [0, k)). ``n_clusters`` k defaults to the largest label + 1."""
    img = _labels(image_labels, "image_labels")
    txt = _labels(text_labels, "text_labels")
    if img.shape != txt.shape:
        raise EmbeddingError(f"image_labels and text_labels need one label per pair each, got {img.size} and {txt.size}")
    if img.size == 0:
        raise EmbeddingError("no pairs: the agreement of zero pairs is undefined")
    top = int(max(img.max(), txt.max())) + 1
    k = top if n_clusters is None else int(n_clusters)
    if k < top:
        raise EmbeddingError(f"n_clusters={k} but a label is {top - 1}: labels must lie in [0, n_clusters)")
    n = img.size
    p_img = np.bincount(img, minlength=k) / n
    p_txt = np.bincount(txt, minlength=k) / n
    share = float(np.count_nonzero(img == txt)) / n
    baseline = float(np.dot(p_img, p_txt))
    return PairAgreement(share, baseline, n, k, method, img, txt)


def _positions(xy, name: str) -> np.ndarray:
    a = np.asarray(xy, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise EmbeddingError(f"{name} must be 2-D positions [n, 2], got shape {a.shape}")
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise EmbeddingError(f"{name} has NaN or inf positions (first at row {int(np.flatnonzero(bad)[0])})")
    return a


def cluster_layout(points, n_clusters: int, *, method: str = "kmeans", random_state: int = 0) -> np.ndarray:
    """int64 [m]: cluster labels in [0, k) of 2-D ``points`` [m, 2] (k-means, ``n_init=10``, seeded).

    Raises :class:`EmbeddingError` when k < 2 or k exceeds the number of distinct points (k-means
    would then make empty or duplicate clusters), and ValueError for an unknown ``method``."""
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {CLUSTER_METHODS}")
    pts = _positions(points, "points")
    k = int(n_clusters)
    if k < 2:
        raise EmbeddingError(f"n_clusters must be at least 2 (one cluster holds every pair), got {k}")
    distinct = len(np.unique(pts, axis=0))
    if k > distinct:
        raise EmbeddingError(f"n_clusters={k} is more than the {distinct} distinct points of the layout "
                             f"({len(pts)} points): choose k <= {distinct}")
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=10, random_state=int(random_state))
    return model.fit_predict(pts).astype(np.int64)


def same_cluster_share(image_xy, text_xy, n_clusters: int, *, method: str = "kmeans",
                       random_state: int = 0) -> PairAgreement:
    """The share of pairs whose image point and text point fall in the same cluster of the layout.

    ``image_xy``, ``text_xy``: float [n, 2] positions of pair i's image and text in one 2-D layout
    (any units: k-means is fitted on the 2n points together, so only their relative positions count).
    ``n_clusters``: k (see the module doc on choosing it); ``method``: "kmeans" (scikit-learn,
    ``n_init=10``, ``random_state``). Needs at least 2 pairs. Returns a :class:`PairAgreement`
    (share, chance baseline, excess over chance, labels)."""
    img = _positions(image_xy, "image_xy")
    txt = _positions(text_xy, "text_xy")
    if img.shape != txt.shape:
        raise EmbeddingError(f"image_xy and text_xy need one position per pair each, got {len(img)} and {len(txt)}")
    if len(img) < 2:
        raise EmbeddingError(f"need at least 2 pairs to compare clusters, got {len(img)}")
    labels = cluster_layout(np.vstack([img, txt]), n_clusters, method=method, random_state=random_state)
    n = len(img)
    return pair_label_agreement(labels[:n], labels[n:], int(n_clusters), method=method)
