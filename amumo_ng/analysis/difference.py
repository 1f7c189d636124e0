"""In-modal difference: how differently the two modalities arrange the same pairs (CyCLIP's symmetry view).

For aligned pairs with unit rows Î, T̂ the difference matrix is ``D = Î·Îᵀ − T̂·T̂ᵀ`` [n, n]: entry
(i, j) is how much more similar images i and j are than captions i and j. CyCLIP's in-modal
consistency regulariser drives D towards 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .similarity import _chunk_rows
from .validation import as_pair, l2_normalize


@dataclass(frozen=True)
class InModalDifference:
    """``matrix``: float32 [n, n], D = Î·Îᵀ − T̂·T̂ᵀ (values in [-2, 2], diagonal 0).

    Summary statistics are over the n·(n−1) off-diagonal entries (the diagonal is 0 by definition):
    ``mean_abs`` = mean |D_ij|, ``rms`` = sqrt(mean D_ij²), ``max_abs`` = max |D_ij|;
    ``per_row_rms``: float32 [n], sqrt(mean over j ≠ i of D_ij²) for each pair i.
    """

    matrix: np.ndarray
    mean_abs: float
    rms: float
    max_abs: float
    per_row_rms: np.ndarray


def in_modal_difference(image, text) -> InModalDifference:
    """The in-modal difference matrix and its summary of ``n >= 2`` aligned pairs.

    ``image``, ``text``: raw float arrays [n, d], normalised internally. Filled in row chunks: the
    only n×n allocation is the float32 output.
    """
    img, txt = as_pair(image, text, min_rows=2)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    n = img.shape[0]
    matrix = np.empty((n, n), dtype=np.float32)
    row_sq = np.empty(n, dtype=np.float64)
    abs_sum = 0.0
    max_abs = 0.0
    step = _chunk_rows(n)
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = matrix[start:stop]
        np.matmul(img_u[start:stop], img_u.T, out=block)
        block -= txt_u[start:stop] @ txt_u.T
        rows = np.arange(stop - start)
        block[rows, rows + start] = 0.0
        row_sq[start:stop] = np.einsum("ij,ij->i", block, block, dtype=np.float64)
        abs_block = np.abs(block)
        abs_sum += float(abs_block.sum(dtype=np.float64))
        max_abs = max(max_abs, float(abs_block.max()))
    off_diagonal = n * (n - 1)
    return InModalDifference(
        matrix=matrix,
        mean_abs=abs_sum / off_diagonal,
        rms=float(np.sqrt(row_sq.sum() / off_diagonal)),
        max_abs=max_abs,
        per_row_rms=np.sqrt(row_sq / (n - 1)).astype(np.float32),
    )
