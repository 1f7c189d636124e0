"""Nonlinear projections of many points: fit on a random sample, place the others.

UMAP and t-SNE cost far more than linear time and memory in the number of points, so above
:data:`MAX_FIT_POINTS` (50,000) points they are fitted on a seeded random sample of that many
points, and every other point is placed afterwards, in chunks (progress and cancel between chunks):

- UMAP: ``umap.UMAP.transform`` of the fitted model (umap-learn's own out-of-sample embedding);
- t-SNE: scikit-learn's t-SNE has no ``transform``, so a point is placed at the mean of the
  positions of its ``k`` nearest sample points (cosine similarity, weights ∝ similarity − the
  k-th's, found by a chunked exact search). This is a variant, not t-SNE's own optimisation:
  placed points do not repel each other; the status line and ``params["placed_by"]`` say so.

Rows are unit vectors; the points are the rows of a sequence of blocks (e.g. [Î, T̂]) so the
modalities are never stacked into one full-size copy.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

#: Above this many points UMAP / t-SNE are fitted on a random sample of this many points.
MAX_FIT_POINTS = 50_000
#: Points placed per chunk (between two progress reports / cancel checks).
PLACE_CHUNK = 20_000
#: Nearest sample points averaged to place a point (t-SNE placement).
PLACE_NEIGHBOURS = 10

__all__ = ["MAX_FIT_POINTS", "take_rows", "sample_points", "place_by_neighbours", "fit_on_sample"]


def take_rows(blocks: Sequence[np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` (int [k], positions in the concatenation of ``blocks``) as float32 [k, d]."""
    idx = np.asarray(idx, dtype=np.int64)
    out = np.empty((idx.size, blocks[0].shape[1]), dtype=np.float32)
    start = 0
    for b in blocks:
        stop = start + b.shape[0]
        hit = (idx >= start) & (idx < stop)
        if hit.any():
            out[hit] = b[idx[hit] - start]
        start = stop
    return out


def sample_points(m: int, size: int, random_state: int) -> np.ndarray:
    """Sorted int64 [min(size, m)]: a seeded random sample of ``range(m)`` without replacement."""
    rng = np.random.default_rng(int(random_state))
    if size >= m:
        return np.arange(m, dtype=np.int64)
    return np.sort(rng.choice(m, size=int(size), replace=False)).astype(np.int64)


def place_by_neighbours(sample_rows: np.ndarray, sample_xy: np.ndarray, rows: np.ndarray,
                        k: int = PLACE_NEIGHBOURS) -> np.ndarray:
    """float32 [m, 2]: each row of ``rows`` [m, d] at the weighted mean of the positions
    ``sample_xy`` [s, 2] of its ``k`` most cosine-similar rows of ``sample_rows`` [s, d] (unit rows).

    Weights are ``sim − sim_(k+1)`` (the similarity above the first one left out) plus a tiny
    floor; a row equal to a sample row (cosine >= 1 − 1e-6) lands on that point. Exact search in
    chunks: O(m·s·d)."""
    k = max(1, min(int(k), sample_rows.shape[0]))
    out = np.empty((rows.shape[0], 2), dtype=np.float32)
    chunk = max(1, (1 << 24) // max(1, sample_rows.shape[0]))
    for s0 in range(0, rows.shape[0], chunk):
        sims = rows[s0:s0 + chunk] @ sample_rows.T
        kk = min(k + 1, sims.shape[1])
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1)
        top, top_sims = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sims, order, axis=1)
        floor = top_sims[:, -1:] if kk > k else top_sims[:, -1:] - 1e-3
        w = np.maximum(top_sims[:, :k] - floor, 0.0) + 1e-6
        w /= w.sum(axis=1, keepdims=True)
        placed = np.einsum("ij,ijc->ic", w, sample_xy[top[:, :k]])
        same = top_sims[:, 0] >= 1.0 - 1e-6
        placed[same] = sample_xy[top[same, 0]]
        out[s0:s0 + chunk] = placed
    return out


def fit_on_sample(blocks: Sequence[np.ndarray], method: str, fit_sample: Callable[[np.ndarray], np.ndarray],
                  fit: dict, random_state: int, step: Callable[[float, str], None],
                  max_points: int = MAX_FIT_POINTS, what: str = "points") -> np.ndarray:
    """float32 [m, 2] positions of all rows of ``blocks`` (m rows in all, m > ``max_points``).

    ``fit_sample(rows [s, d]) -> [s, 2]`` fits ``method`` ("umap" or "tsne") on the sample (and
    puts a UMAP model in ``fit["umap_model"]``); the rest are placed as the module doc says.
    ``step(fraction, stage)`` reports progress (fractions 0.1..0.95) and raises on cancel."""
    m = sum(b.shape[0] for b in blocks)
    label = {"umap": "UMAP", "tsne": "t-SNE"}[method]
    sample = sample_points(m, max_points, random_state)
    step(0.1, f"fitting {label} on a random sample of {sample.size:,} of the {m:,} {what}")
    sample_rows = take_rows(blocks, sample)
    sample_xy = np.asarray(fit_sample(sample_rows), dtype=np.float32)
    out = np.empty((m, 2), dtype=np.float32)
    out[sample] = sample_xy
    rest = np.setdiff1d(np.arange(m, dtype=np.int64), sample, assume_unique=True)
    how = "UMAP transform" if method == "umap" else f"the mean of their {PLACE_NEIGHBOURS} nearest sample points"
    model = fit.get("umap_model")
    for c0 in range(0, rest.size, PLACE_CHUNK):
        chunk = rest[c0:c0 + PLACE_CHUNK]
        step(0.5 + 0.45 * c0 / max(1, rest.size),
             f"placing the other {rest.size:,} {what} by {how}: {c0:,} done")
        rows = take_rows(blocks, chunk)
        if method == "umap" and model is not None:
            out[chunk] = np.asarray(model.transform(rows), dtype=np.float32)
        else:
            out[chunk] = place_by_neighbours(sample_rows, sample_xy, rows)
    fit["placed_by"] = "umap-transform" if method == "umap" and model is not None else "neighbour-mean"
    fit["fit_points"] = int(sample.size)
    return out
