"""Cross-modal retrieval accuracy of aligned image/text pairs."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .validation import EmbeddingError, as_pair, l2_normalize

__all__ = ["topk_accuracy"]


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
