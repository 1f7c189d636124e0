"""Outlier rankings of image-text pairs: low matched-pair cosine, low or high conformity, and the
largest image/text conformity difference.

The Amumo article found by eye blurred images that all look alike and vague captions that match
everything; these rankings make that systematic. Every ranking works on the RAW vectors of one set
of n aligned pairs (image [n, d], text [n, d]); cosines are scale-free, so raw and unit vectors give
the same values. Definitions (all dimensionless, cosine-valued in [−1, 1]):

- matched-pair cosine  s_j = cos(v_j^img, v_j^txt);
- image conformity     C_i(j) = mean over k ≠ j of cos(v_j^img, v_k^img) (within the n images);
- text conformity      C_t(j) = the same within the n texts
  (exact in O(n·d): :func:`amumo_ng.analysis.conformity_stats.conformity`).

Each ranking ``by`` turns a per-pair statistic into an *outlier score* where HIGHER means MORE
outlying (:data:`OUTLIER_RANKINGS`):

========================  ==================  ===================================================
``by``                    statistic           score
========================  ==================  ===================================================
"pair-cosine"             s_j                 −s_j          (mismatched pairs)
"image-conformity"        C_i(j)              −C_i(j)       (unusual images)
"text-conformity"         C_t(j)              −C_t(j)       (unusual captions)
"text-conformity-high"    C_t(j)              +C_t(j)       (vague captions that match everything)
"conformity-difference"   C_i(j) − C_t(j)     |C_i(j) − C_t(j)|  (one side typical, the other not)
========================  ==================  ===================================================

Rankings sort by decreasing score; equal float32 scores keep ascending pair order (stable), so a
ranking is reproducible from the scores it returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .conformity_stats import conformity
from .validation import EmbeddingError, as_pair

__all__ = ["OUTLIER_RANKINGS", "OutlierRanking", "pair_statistics", "outlier_scores", "rank_outliers",
           "rank_statistics", "precision_at_k", "best_precision_at_k", "anomaly_precision"]

#: ``by`` -> (statistic, what a high score means), in menu order.
OUTLIER_RANKINGS: Mapping[str, tuple[str, str]] = {
    "pair-cosine": ("pair cosine", "low cosine of a pair's image and text (a mismatch)"),
    "image-conformity": ("image conformity", "low image conformity (an unusual image)"),
    "text-conformity": ("text conformity", "low text conformity (an unusual caption)"),
    "text-conformity-high": ("text conformity", "high text conformity (a vague caption that matches everything)"),
    "conformity-difference": ("image − text conformity", "largest |image − text conformity|"),
}

#: Smallest set with a meaningful conformity (one sample among at least two others).
MIN_PAIRS = 3


def _check_by(by: str) -> str:
    if by not in OUTLIER_RANKINGS:
        raise EmbeddingError(f"unknown outlier ranking by={by!r}; choose one of {', '.join(OUTLIER_RANKINGS)}")
    return by


def _checked(image, text) -> tuple[np.ndarray, np.ndarray]:
    """Aligned raw pairs (float32 [n, d] each), n >= 3, finite, no all-zero row."""
    return as_pair(image, text, min_rows=MIN_PAIRS)


def pair_statistics(image, text, device="auto") -> dict[str, np.ndarray]:
    """The per-pair statistics behind every ranking, float32 [n] each, of raw ``image`` and ``text``
    [n, d] (n >= 3, no zero rows): ``"pair_cosine"`` s_j, ``"image_conformity"`` C_i(j) and
    ``"text_conformity"`` C_t(j) (within each modality's n vectors). O(n·d). ``device``: where the
    chunks are computed (:func:`~amumo_ng.analysis.backend.array_device`; "auto": CUDA when present)."""
    img, txt = _checked(image, text)
    return _statistics(img, txt, device)


#: Rows per float64 chunk of the pair cosines.
_CHUNK_ROWS = 8192


def _statistics(img: np.ndarray, txt: np.ndarray, device="auto") -> dict[str, np.ndarray]:
    """:func:`pair_statistics` of checked pairs; ``device`` as there (None: numpy)."""
    from .backend import array_device

    dev = array_device(device, img.size)
    if dev is None:
        cos = np.empty(img.shape[0])
        for start in range(0, img.shape[0], _CHUNK_ROWS):  # float64 per block of rows, never a float64 copy of all
            a = img[start:start + _CHUNK_ROWS].astype(np.float64)
            b = txt[start:start + _CHUNK_ROWS].astype(np.float64)
            cos[start:start + a.shape[0]] = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    else:
        from .backend import pair_cosines

        cos = pair_cosines(img, txt, dev, _CHUNK_ROWS)
    return {"pair_cosine": np.clip(cos, -1.0, 1.0).astype(np.float32),
            "image_conformity": conformity(img, dev), "text_conformity": conformity(txt, dev)}


def _statistic_and_score(stats: Mapping[str, np.ndarray], by: str) -> tuple[np.ndarray, np.ndarray]:
    """(statistic, score) float32 [n] of ranking ``by`` from :func:`pair_statistics`' arrays."""
    if by == "pair-cosine":
        value = stats["pair_cosine"]
        return value, -value
    if by == "image-conformity":
        value = stats["image_conformity"]
        return value, -value
    if by in ("text-conformity", "text-conformity-high"):
        value = stats["text_conformity"]
        return value, (-value if by == "text-conformity" else value.copy())
    value = (stats["image_conformity"].astype(np.float64) - stats["text_conformity"]).astype(np.float32)
    return value, np.abs(value)


def outlier_scores(image, text, by: str = "pair-cosine") -> np.ndarray:
    """Outlier score float32 [n] of every pair of raw ``image`` and ``text`` [n, d] (n >= 3, no zero
    rows) for ranking ``by`` (a key of :data:`OUTLIER_RANKINGS`): higher = more outlying. O(n·d)."""
    _check_by(by)
    img, txt = _checked(image, text)
    return _statistic_and_score(_statistics(img, txt), by)[1]


def _order(scores: np.ndarray) -> np.ndarray:
    """Positions by decreasing score, ties in ascending position (stable)."""
    return np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")


def _check_k(k, n: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise EmbeddingError(f"{name} must be an integer from 1 to {n}, got {k!r}")
    return int(k)


@dataclass(frozen=True)
class OutlierRanking:
    """The ``k`` most outlying pairs by one ranking.

    ``by``: the ranking (a key of :data:`OUTLIER_RANKINGS`); ``statistic``: what ``values`` are;
    ``indices`` int64 [k]: pair indices, most outlying first; ``scores`` float32 [k]: their outlier
    scores (decreasing); ``values`` float32 [k]: their statistic (cosine, conformity or difference,
    dimensionless); ``n``: pairs ranked.
    """

    by: str
    statistic: str
    indices: np.ndarray
    scores: np.ndarray
    values: np.ndarray
    n: int


def rank_outliers(image, text, by: str = "pair-cosine", k: int = 50, among=None) -> OutlierRanking:
    """The ``k`` most outlying pairs of raw ``image`` and ``text`` [n, d] (n >= 3, no zero rows) by
    ranking ``by``, as an :class:`OutlierRanking`.

    Statistics are always computed over ALL n pairs (conformity is within the whole set);
    ``among`` (int [m] pair indices, optional) restricts which pairs are listed, e.g. the pairs in
    view; k must lie in 1..m (m = n without ``among``). O(n·d + n log n).
    """
    _check_by(by)
    img, txt = _checked(image, text)
    return rank_statistics(_statistics(img, txt), by=by, k=k, among=among)


def rank_statistics(statistics: Mapping[str, np.ndarray], by: str = "pair-cosine", k: int = 50,
                    among=None) -> OutlierRanking:
    """:func:`rank_outliers` from precomputed :func:`pair_statistics` (a cache: ``pair_cosine``,
    ``image_conformity``, ``text_conformity``, float32 [n] each, n >= 3), without reading the vectors
    again. ``among`` and ``k`` as there. O(n log n)."""
    _check_by(by)
    shapes = {np.shape(statistics.get(key)) for key in ("pair_cosine", "image_conformity", "text_conformity")}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1 or next(iter(shapes))[0] < MIN_PAIRS:
        raise EmbeddingError("statistics must hold pair_cosine, image_conformity and text_conformity, "
                             f"1-D arrays of one length n >= {MIN_PAIRS}")
    n = int(next(iter(shapes))[0])
    value, score = _statistic_and_score(statistics, by)
    if among is None:
        candidates = np.arange(n, dtype=np.int64)
    else:
        candidates = np.unique(np.asarray(among, dtype=np.int64).ravel())
        if candidates.size == 0:
            raise EmbeddingError("among is empty: no pairs to rank")
        if candidates[0] < 0 or candidates[-1] >= n:
            raise EmbeddingError(f"among: pair indices must lie in [0, {n}), got {candidates[0]}..{candidates[-1]}")
    k = _check_k(k, candidates.size)
    top = candidates[_order(score[candidates])[:k]]
    return OutlierRanking(by=by, statistic=OUTLIER_RANKINGS[by][0], indices=top, scores=score[top].astype(np.float32),
                          values=value[top].astype(np.float32), n=n)


def _as_flags(is_anomaly) -> np.ndarray:
    flags = np.asarray(is_anomaly)
    if flags.ndim != 1 or flags.size == 0:
        raise EmbeddingError(f"is_anomaly must be a non-empty 1-D array of booleans, got shape {flags.shape}")
    if flags.dtype != bool:
        if not np.issubdtype(flags.dtype, np.number) or not np.isin(flags, (0, 1)).all():
            raise EmbeddingError("is_anomaly must hold booleans (or 0/1)")
        flags = flags.astype(bool)
    return flags


def precision_at_k(ranking, is_anomaly, k: int) -> float:
    """Precision at ``k``: the fraction of the first ``k`` pairs of ``ranking`` (int [m] pair indices,
    most outlying first, e.g. :attr:`OutlierRanking.indices`) that are anomalies by ``is_anomaly``
    (bool [n], one flag per pair). k in 1..m; indices in [0, n) and unique. In [0, 1]."""
    flags = _as_flags(is_anomaly)
    order = np.asarray(ranking)
    if order.ndim != 1 or order.size == 0 or not np.issubdtype(order.dtype, np.integer):
        raise EmbeddingError(f"ranking must be a non-empty 1-D array of pair indices, got shape {order.shape}, dtype {order.dtype}")
    k = _check_k(k, order.size)
    head = order[:k].astype(np.int64)
    if head.min() < 0 or head.max() >= flags.size:
        raise EmbeddingError(f"ranking: pair indices must lie in [0, {flags.size}), got {head.min()}..{head.max()}")
    if np.unique(head).size != k:
        raise EmbeddingError("ranking repeats a pair among its first k entries")
    return float(np.count_nonzero(flags[head])) / k


def best_precision_at_k(is_anomaly, k: int) -> float:
    """The highest precision at ``k`` any ranking of the n pairs can reach: min(#anomalies, k) / k,
    i.e. #anomalies / k capped at 1 (``is_anomaly`` bool [n]; k in 1..n)."""
    flags = _as_flags(is_anomaly)
    k = _check_k(k, flags.size)
    return min(int(np.count_nonzero(flags)), k) / k


def anomaly_precision(image, text, labels: Sequence, k: int = 50, rankings: Sequence[str] = tuple(OUTLIER_RANKINGS),
                      normal="none") -> dict[str, dict[str, float]]:
    """Precision at ``k`` of every ranking for every anomaly kind of ``labels`` (one label per pair,
    e.g. ``meta["anomaly"]`` of ``shapes``; the label ``normal`` marks ordinary pairs and is skipped).

    Returns ``{ranking: {kind: precision}}`` for each of ``rankings``, plus the row ``"best possible"``
    (:func:`best_precision_at_k` of each kind); kinds in order of first appearance. A pair counts for
    a kind only when its label is that kind. Raw ``image``, ``text`` [n, d], n >= 3; k in 1..n.
    """
    img, txt = _checked(image, text)
    labels = np.asarray(labels, dtype=object)
    if labels.shape != (img.shape[0],):
        raise EmbeddingError(f"labels must have one entry per pair ({img.shape[0]}), got shape {labels.shape}")
    k = _check_k(k, img.shape[0])
    kinds = [kind for kind in dict.fromkeys(labels.tolist()) if kind != normal]
    stats = _statistics(img, txt)
    out: dict[str, dict[str, float]] = {}
    for by in rankings:
        top = rank_statistics(stats, by=by, k=k).indices
        out[by] = {kind: precision_at_k(top, labels == kind, k) for kind in kinds}
    out["best possible"] = {kind: best_precision_at_k(labels == kind, k) for kind in kinds}
    return out
