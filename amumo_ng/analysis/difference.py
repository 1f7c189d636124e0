"""In-modal difference: how differently the two modalities arrange the same pairs (CyCLIP's symmetry view).

For aligned pairs with unit rows Î, T̂ the difference matrix is ``D = Î·Îᵀ − T̂·T̂ᵀ`` [n, n]: entry
(i, j) is how much more similar images i and j are than captions i and j. CyCLIP's in-modal
consistency regulariser drives D towards 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .similarity import _chunk_rows
from .validation import EmbeddingError, as_pair, l2_normalize


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


def _difference_pool(img_u: np.ndarray, txt_u: np.ndarray, row_edges: np.ndarray,
                     col_edges: np.ndarray) -> "LevelOfDetail":
    """Block means of D for pair-position bins ``row_edges`` x ``col_edges`` (int64, into 0..n)."""
    from .similarity import LevelOfDetail, _block_mean_vectors

    n = img_u.shape[0]
    # stacked rows n.. are the texts: the text means of the same bins are the bins shifted by n
    img_rows = _block_mean_vectors(img_u, txt_u, row_edges, unit=True)
    txt_rows = _block_mean_vectors(img_u, txt_u, row_edges + n, unit=True)
    if col_edges is row_edges:
        img_cols, txt_cols = img_rows, txt_rows
    else:
        img_cols = _block_mean_vectors(img_u, txt_u, col_edges, unit=True)
        txt_cols = _block_mean_vectors(img_u, txt_u, col_edges + n, unit=True)
    values = img_rows @ img_cols.T
    values -= txt_rows @ txt_cols.T
    np.clip(values, -2.0, 2.0, out=values)
    exact = bool(np.all(np.diff(row_edges) == 1) and np.all(np.diff(col_edges) == 1))
    return LevelOfDetail(values=values.astype(np.float32, copy=False), edges=row_edges,
                         col_edges=col_edges, exact=exact)


def difference_level_of_detail(image_unit, text_unit, row_range, col_range, grid: int) -> "LevelOfDetail":
    """Block means of the in-modal difference D = Î·Îᵀ − T̂·T̂ᵀ over pair rows ``row_range`` and
    columns ``col_range`` (half-open ``(start, stop)`` in ``0..n``), each split into at most ``grid``
    bins (a range of at most ``grid`` pairs gives exact entries).

    ``image_unit``, ``text_unit``: UNIT float32 rows [n, d] (a session's view vectors; they are read
    as they are, so row views of a larger array work). Because D is linear in each factor, the mean
    of D over a block (rows R, columns C) is ``mean(Î_R)·mean(Î_C) − mean(T̂_R)·mean(T̂_C)``: a level
    of detail costs O((rows + cols)·d + grid²·d), never an n×n matrix. Values lie in [-2, 2];
    ``edges`` are pair positions (not stacked rows)."""
    from .similarity import _as_range, _bin_edges, _check_grid, _check_range
    from .validation import pair_shape

    img, txt = pair_shape(image_unit, text_unit)
    grid = _check_grid(grid)
    n = img.shape[0]
    r0, r1 = _check_range(*_as_range(row_range, "row_range"), n, "row_range")
    c0, c1 = _check_range(*_as_range(col_range, "col_range"), n, "col_range")
    # with the "text border" at n the bins never split: every range lies in the image part
    row_edges = _bin_edges(r0, r1, n, grid)
    col_edges = row_edges if (c0, c1) == (r0, r1) else _bin_edges(c0, c1, n, grid)
    return _difference_pool(img, txt, row_edges, col_edges)


@dataclass(frozen=True)
class DifferenceSummary:
    """Summary of the off-diagonal entries of D = Î·Îᵀ − T̂·T̂ᵀ of ``n`` pairs (unitless cosines).

    ``mean`` and ``std`` (the spread) and ``rms`` are exact over all n·(n−1) off-diagonal entries,
    from d×d Gram matrices in O(n·d²) (ΣD_ij = ‖ΣÎ‖² − ‖ΣT̂‖², ΣD_ij² = ‖ÎᵀÎ‖²_F + ‖T̂ᵀT̂‖²_F −
    2‖ÎᵀT̂‖²_F, the diagonal contributing 0). ``mean_abs`` = mean |D_ij| is exact when
    ``mean_abs_rows`` == n, else the mean over every column of ``mean_abs_rows`` seeded random rows.
    """

    n: int
    mean: float
    std: float
    rms: float
    mean_abs: float
    mean_abs_rows: int

    @property
    def mean_abs_exact(self) -> bool:
        return self.mean_abs_rows == self.n


#: Up to this many pairs mean |D| is computed over every entry (in row chunks); above, over this
#: many random rows (each against all n columns).
DIFFERENCE_EXACT_ROWS = 4096


def difference_summary(image_unit, text_unit, sample_rows: int = DIFFERENCE_EXACT_ROWS,
                       random_state: int = 0) -> DifferenceSummary:
    """:class:`DifferenceSummary` of aligned UNIT rows ``image_unit``, ``text_unit`` [n, d] (n >= 2),
    without an n×n matrix: chunks of at most ``sample_rows`` rows for mean |D|."""
    from .similarity import _CHUNK_BYTES
    from .validation import pair_shape

    img, txt = pair_shape(image_unit, text_unit)
    n, d = img.shape
    if n < 2:
        raise EmbeddingError(f"the in-modal difference needs at least 2 pairs, got {n}")
    sum_i = np.zeros(d)
    sum_t = np.zeros(d)
    gram_ii = np.zeros((d, d))
    gram_tt = np.zeros((d, d))
    gram_it = np.zeros((d, d))
    step = max(1, _CHUNK_BYTES // (8 * d))
    for start in range(0, n, step):
        a = np.asarray(img[start:start + step], dtype=np.float64)
        b = np.asarray(txt[start:start + step], dtype=np.float64)
        sum_i += a.sum(axis=0)
        sum_t += b.sum(axis=0)
        gram_ii += a.T @ a
        gram_tt += b.T @ b
        gram_it += a.T @ b
    off = n * (n - 1)
    total = float(sum_i @ sum_i - sum_t @ sum_t)  # the diagonal adds 1 - 1 = 0
    squares = float((gram_ii ** 2).sum() + (gram_tt ** 2).sum() - 2.0 * (gram_it ** 2).sum())
    # the diagonal of Î·Îᵀ and T̂·T̂ᵀ is 1 for unit rows: D_ii = 0 adds nothing to either sum
    mean = total / off
    mean_sq = max(squares / off, 0.0)
    rows = np.arange(n) if n <= sample_rows else np.sort(
        np.random.default_rng(random_state).choice(n, size=int(sample_rows), replace=False))
    abs_sum = 0.0
    chunk = max(1, _CHUNK_BYTES // (4 * n))
    for start in range(0, rows.size, chunk):
        pick = rows[start:start + chunk]
        a, b = np.asarray(img[pick], np.float32), np.asarray(txt[pick], np.float32)
        block = _unit_rows_product(a, img) - _unit_rows_product(b, txt)
        block[np.arange(pick.size), pick] = 0.0
        abs_sum += float(np.abs(block).sum(dtype=np.float64))
    return DifferenceSummary(n=n, mean=mean, std=float(np.sqrt(max(mean_sq - mean * mean, 0.0))),
                             rms=float(np.sqrt(mean_sq)), mean_abs=abs_sum / (rows.size * (n - 1)),
                             mean_abs_rows=int(rows.size))


def _unit_rows_product(rows: np.ndarray, all_rows) -> np.ndarray:
    """float32 [len(rows), n]: ``rows @ all_rows.T`` over column chunks of ``all_rows`` (which may
    be a row view that gathers on slicing)."""
    n = all_rows.shape[0]
    out = np.empty((rows.shape[0], n), dtype=np.float32)
    step = 65536
    for start in range(0, n, step):
        out[:, start:start + step] = rows @ np.asarray(all_rows[start:start + step], np.float32).T
    return out
