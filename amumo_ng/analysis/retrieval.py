"""Cross-modal retrieval accuracy of aligned image/text pairs."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .validation import EmbeddingError, as_pair, l2_normalize

__all__ = ["topk_accuracy", "top_k"]


def topk_accuracy(image, text, ks: Iterable[int] = (1, 5), chunk: int = 2048) -> dict:
    """Top-k retrieval accuracy by cosine similarity, both directions.

    ``image``, ``text``: [n, d] embeddings (raw or normalised; rows are L2-normalised here),
    row i of each forming pair i, so the correct match of image i is text i and vice versa.
    A query counts as a hit at k when fewer than k *other* candidates score at least as high as
    the correct one: ties are counted pessimistically (a tied wrong candidate ranks first).

    Returns ``{"image_to_text": {k: accuracy}, "text_to_image": {k: accuracy}}``, accuracies
    in [0, 1]. ``chunk`` bounds memory: at most ``chunk x n`` similarities are held at once.
    """
    img, txt = as_pair(image, text)
    ks = list(ks)
    if not ks or any(isinstance(k, bool) or int(k) != k or k < 1 for k in ks):
        raise EmbeddingError(f"ks must be positive integers, got {ks!r}")
    ks = [int(k) for k in ks]
    img, txt = l2_normalize(img), l2_normalize(txt)
    return {
        "image_to_text": _direction(img, txt, ks, chunk),
        "text_to_image": _direction(txt, img, ks, chunk),
    }


def _direction(queries: np.ndarray, candidates: np.ndarray, ks: list[int], chunk: int) -> dict:
    n = queries.shape[0]
    ranks = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        sims = queries[start:start + chunk] @ candidates.T
        rows = np.arange(sims.shape[0])
        correct = sims[rows, start + rows]
        # others scoring >= the correct one (the correct one itself is counted once, so subtract it)
        ranks[start:start + chunk] = (sims >= correct[:, None]).sum(axis=1) - 1
    return {k: float(np.mean(ranks < k)) for k in ks}


def top_k(queries, candidates, k: int, *, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` candidates of highest cosine similarity to each query, exact.

    ``queries`` [q, d] and ``candidates`` [n, d] (raw or unit; rows are L2-normalised here) or a
    single query [d]. The candidates are scanned in chunks of ``chunk`` rows, so memory is
    O(q·(chunk + k)) whatever n (no n×n, no q×n matrix). Returns ``(indices int64 [q, min(k, n)],
    cosines float32 [q, min(k, n)])``, best first; equal cosines are ordered by candidate index.
    """
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    c = np.asarray(candidates, dtype=np.float32)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise EmbeddingError(f"queries [q, d] and candidates [n, d] must share d, got {q.shape} and {c.shape}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise EmbeddingError(f"k must be a positive integer, got {k!r}")
    if c.shape[0] == 0:
        raise EmbeddingError("there are no candidates to search")
    k = min(int(k), c.shape[0])
    qn = l2_normalize(q)
    best_idx = [np.zeros(0, np.int64) for _ in range(q.shape[0])]
    best_sim = [np.zeros(0, np.float32) for _ in range(q.shape[0])]
    step = max(1, int(chunk))
    for start in range(0, c.shape[0], step):
        sims = qn @ l2_normalize(c[start:start + step]).T  # [q, chunk] float32
        kk = min(k, sims.shape[1])
        kth = -np.partition(-sims, kk - 1, axis=1)[:, kk - 1]  # each row's kk-th best in this chunk
        for i in range(sims.shape[0]):
            keep = np.flatnonzero(sims[i] >= kth[i])  # the chunk's kk best, with every tie at the edge
            idx = np.concatenate([best_idx[i], keep + start])
            sim = np.concatenate([best_sim[i], sims[i, keep]])
            order = np.lexsort((idx, -sim))[:k]  # best first, ties by candidate index
            best_idx[i], best_sim[i] = idx[order], sim[order]
    return np.stack(best_idx).astype(np.int64), np.stack(best_sim).astype(np.float32)
