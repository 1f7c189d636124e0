"""Cosine similarity of embeddings: full matrices, blocks, exact tiles and block-mean levels of detail.

The *stacked* similarity matrix of ``n`` image/text pairs is the ``[2n, 2n]`` matrix

    S = [[I·Iᵀ, I·Tᵀ],
         [T·Iᵀ, T·Tᵀ]]

of cosine similarities (I, T the L2-normalised rows): stacked rows/columns ``0..n-1`` are the
images, ``n..2n-1`` the texts. The heatmap never materialises S for large n; it asks for

- :func:`block_mean_similarity` -- S pooled onto a P×P grid of block means. For unit vectors the
  mean of S over a block (rows R, columns C) equals ``mean(x̂_r for r in R) · mean(x̂_c for c in C)``,
  so a level of detail costs O(n·d + P²·d) instead of O(n²·d).
- :func:`level_of_detail_tile` -- the same pooling restricted to a zoomed row/column range.
- :func:`similarity_tile` -- exact values of a small rectangle of S.

To show S in another order, pass the reordered arrays (``image[perm]``, ``text[perm]``); see
:func:`amumo_ng.analysis.ordering.order_stacked` to map stacked positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import EmbeddingError, as_matrix, as_pair, l2_normalize, pair_shape

#: Output bytes per matrix-product chunk; bounds temporaries when filling large matrices.
_CHUNK_BYTES = 64 * 2**20


def _chunk_rows(n_cols: int) -> int:
    """Rows per chunk so a float32 chunk of ``n_cols`` columns stays near ``_CHUNK_BYTES``."""
    return max(1, _CHUNK_BYTES // (4 * max(1, n_cols)))


def _unit_product(a_unit: np.ndarray, b_unit: np.ndarray) -> np.ndarray:
    """``a_unit @ b_unit.T`` as float32 [n_a, n_b], filled in row chunks, clipped to [-1, 1]."""
    n_a, n_b = a_unit.shape[0], b_unit.shape[0]
    out = np.empty((n_a, n_b), dtype=np.float32)
    step = _chunk_rows(n_b)
    b_t = b_unit.T
    for start in range(0, n_a, step):
        stop = min(n_a, start + step)
        np.matmul(a_unit[start:stop], b_t, out=out[start:stop])
        np.clip(out[start:stop], -1.0, 1.0, out=out[start:stop])
    return out


def cosine_similarity(a, b) -> np.ndarray:
    """Cosine similarity of every row of ``a`` [n_a, d] with every row of ``b`` [n_b, d].

    Rows are L2-normalised internally (raw vectors are fine). Returns float32 [n_a, n_b] with
    values in [-1, 1]. Filled in row chunks, so the only large allocation is the output
    (n = 20,000 → 1.6 GB float32); no float64 n×n temporaries.
    Raises :class:`EmbeddingError` for non-2-D input, NaN/inf, all-zero rows or unequal d.
    """
    a, b = as_pair(a, b, same_n=False, names=("a", "b"))
    return _unit_product(l2_normalize(a), l2_normalize(b))


@dataclass(frozen=True)
class SimilarityBlocks:
    """The three distinct quadrants of the stacked similarity matrix, each float32 [n, n].

    ``image_image[i, j] = cos(I_i, I_j)``, ``text_text[i, j] = cos(T_i, T_j)``,
    ``image_text[i, j] = cos(I_i, T_j)`` (the lower-left quadrant is ``image_text.T``).
    """

    image_image: np.ndarray
    text_text: np.ndarray
    image_text: np.ndarray

    def stacked(self) -> np.ndarray:
        """The full stacked matrix S, float32 [2n, 2n] (allocates 16·n² bytes)."""
        return np.block([[self.image_image, self.image_text], [self.image_text.T, self.text_text]])


def similarity_blocks(image, text) -> SimilarityBlocks:
    """Image-image, text-text and image-text cosine similarity matrices of ``n`` aligned pairs.

    ``image``, ``text``: raw float arrays [n, d]. Returns :class:`SimilarityBlocks` of float32 [n, n].
    """
    img, txt = as_pair(image, text)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    return SimilarityBlocks(
        image_image=_unit_product(img_u, img_u),
        text_text=_unit_product(txt_u, txt_u),
        image_text=_unit_product(img_u, txt_u),
    )


def _check_range(start, stop, size: int, what: str) -> tuple[int, int]:
    """Validate a half-open range ``[start, stop)`` inside ``[0, size)``; returns ints."""
    try:
        start_i, stop_i = int(start), int(stop)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{what}: range bounds must be integers, got {start!r}, {stop!r}") from exc
    if not 0 <= start_i < stop_i <= size:
        raise EmbeddingError(
            f"{what}: range [{start_i}, {stop_i}) is empty or outside the stacked matrix [0, {size})"
        )
    return start_i, stop_i


def _stacked_unit_rows(img: np.ndarray, txt: np.ndarray, start: int, stop: int, unit: bool = False) -> np.ndarray:
    """Unit vectors of stacked rows ``start..stop-1`` of [I; T] as float32 [stop-start, d].

    Only these rows are read and validated (NaN/inf, zero rows), so a small tile of a large,
    possibly memory-mapped array costs O((stop-start)·d). ``unit``: the rows are known to be
    validated unit vectors (a session's); they are read as they are.
    """
    n = img.shape[0]
    if unit:
        if stop <= n:
            return np.asarray(img[start:stop], dtype=np.float32)
        if start >= n:
            return np.asarray(txt[start - n:stop - n], dtype=np.float32)
        return np.concatenate([np.asarray(img[start:n], np.float32), np.asarray(txt[0:stop - n], np.float32)])
    parts = []
    if start < n:
        parts.append(as_matrix(img[start:min(stop, n)], f"image embeddings (rows {start}..{min(stop, n) - 1})"))
    if stop > n:
        lo, hi = max(start, n) - n, stop - n
        parts.append(as_matrix(txt[lo:hi], f"text embeddings (rows {lo}..{hi - 1})"))
    rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return l2_normalize(rows)


def similarity_tile(image, text, row_start: int, row_stop: int, col_start: int, col_stop: int,
                    unit: bool = False) -> np.ndarray:
    """Exact values ``S[row_start:row_stop, col_start:col_stop]`` of the stacked matrix.

    Indices are stacked positions (images ``0..n-1``, texts ``n..2n-1``), half-open ranges.
    Returns float32 [row_stop-row_start, col_stop-col_start]. Costs O((rows + cols)·d + rows·cols·d):
    only the rows and columns used are read (and validated).
    """
    img, txt = pair_shape(image, text)
    size = 2 * img.shape[0]
    r0, r1 = _check_range(row_start, row_stop, size, "rows")
    c0, c1 = _check_range(col_start, col_stop, size, "columns")
    return _unit_product(_stacked_unit_rows(img, txt, r0, r1, unit), _stacked_unit_rows(img, txt, c0, c1, unit))


@dataclass(frozen=True)
class LevelOfDetail:
    """Block means of the stacked similarity matrix on a grid.

    ``values``: float32 [P_rows, P_cols]; ``values[k, l]`` is the mean of S over stacked rows
    ``edges[k]..edges[k+1]-1`` and columns ``col_edges[l]..col_edges[l+1]-1``.
    ``edges``: int64 [P_rows + 1], the first stacked row of each row bin (last entry = end).
    ``col_edges``: int64 [P_cols + 1], the same for columns (equal to ``edges`` for a full view).
    ``exact``: True when every bin holds one row and one column, i.e. ``values`` are exact entries of S.
    No bin straddles the image/text border (stacked position n).
    """

    values: np.ndarray
    edges: np.ndarray
    col_edges: np.ndarray
    exact: bool


def _bin_edges(start: int, stop: int, n: int, bins: int) -> np.ndarray:
    """Edges (int64) splitting stacked rows ``[start, stop)`` into at most ``bins`` bins.

    The image part ``[start, min(stop, n))`` and the text part ``[max(start, n), stop)`` are
    binned separately (bins shared in proportion to their lengths, at least one each), so no
    bin crosses position ``n``. When the range holds at most ``bins`` rows every row is a bin.
    Bin sizes within a part differ by at most one row.
    """
    length = stop - start
    if length <= bins:
        return np.arange(start, stop + 1, dtype=np.int64)
    segments = []
    if start < n:
        segments.append((start, min(stop, n)))
    if stop > n:
        segments.append((max(start, n), stop))
    if len(segments) == 1:
        counts = [bins]
    else:
        (a0, a1), (b0, b1) = segments
        first = int(round(bins * (a1 - a0) / length))
        first = min(max(first, 1), bins - 1, a1 - a0)
        second = min(bins - first, b1 - b0)
        counts = [first, second]
    edges = [np.array([start], dtype=np.int64)]
    for (s0, s1), count in zip(segments, counts):
        count = min(count, s1 - s0)
        edges.append(s0 + (np.arange(1, count + 1, dtype=np.int64) * (s1 - s0)) // count)
    return np.concatenate(edges)


def _block_mean_vectors(img: np.ndarray, txt: np.ndarray, edges: np.ndarray, unit: bool = False,
                        device=None) -> np.ndarray:
    """Mean unit vector of each stacked-row bin given by ``edges``: float32 [len(edges)-1, d].

    Walks the range in chunks of whole bins so the normalised copy stays near ``_CHUNK_BYTES``;
    a chunk ends at the image/text border when a bin edge lies there (bins from :func:`_bin_edges`
    always do), so validated unit rows (``unit``) are summed in place, never stacked into a copy.
    ``device``: None sums in numpy; a torch device sums each chunk there (:func:`.backend.bin_sums`).
    """
    sizes = np.diff(edges)
    n = img.shape[0]
    means = np.empty((sizes.size, img.shape[1]), dtype=np.float32)
    step_rows = max(1, _CHUNK_BYTES // (4 * img.shape[1]))
    k = 0
    while k < sizes.size:
        k_end = int(np.searchsorted(edges, edges[k] + step_rows, side="right")) - 1
        k_end = min(max(k_end, k + 1), sizes.size)
        r0, r1 = int(edges[k]), int(edges[k_end])
        if r0 < n < r1:  # end at the image/text border: unit rows are then read without a copy
            k_border = int(np.searchsorted(edges, n))
            if edges[k_border] == n:
                k_end, r1 = k_border, n
        rows = _stacked_unit_rows(img, txt, r0, r1, unit)
        bounds = (edges[k:k_end + 1] - r0).astype(np.intp)
        if device is not None:
            from .backend import bin_sums

            means[k:k_end] = bin_sums(rows, bounds, device) / sizes[k:k_end, None]
            k = k_end
            continue
        # one contiguous sum per bin: ~8x faster than np.add.reduceat along axis 0
        for j, (b0, b1) in enumerate(zip(bounds[:-1], bounds[1:])):
            means[k + j] = rows[b0:b1].sum(axis=0)
        means[k:k_end] /= sizes[k:k_end, None]
        k = k_end
    return means


def level_of_detail_tile(image, text, row_range, col_range, grid: int, unit: bool = False,
                         device="auto") -> LevelOfDetail:
    """Block means of S restricted to stacked rows ``row_range`` and columns ``col_range``.

    ``row_range``, ``col_range``: half-open ``(start, stop)`` stacked positions. Each is split into at
    most ``grid`` bins (separately for its image and text parts); a range of at most ``grid`` rows
    gives exact values. Cost O((rows + cols)·d + grid²·d); only the rows/columns in range are read.
    Used by the heatmap on zoom. ``device``: where the sums and the product run
    (:func:`~amumo_ng.analysis.backend.array_device`; "auto": CUDA when present, else numpy).
    """
    img, txt = pair_shape(image, text)
    grid = _check_grid(grid)
    n = img.shape[0]
    r0, r1 = _check_range(*_as_range(row_range, "row_range"), 2 * n, "row_range")
    c0, c1 = _check_range(*_as_range(col_range, "col_range"), 2 * n, "col_range")
    row_edges = _bin_edges(r0, r1, n, grid)
    col_edges = row_edges if (c0, c1) == (r0, r1) else _bin_edges(c0, c1, n, grid)
    from .backend import array_device

    dev = array_device(device, ((r1 - r0) + (c1 - c0)) * img.shape[1])
    return _pool(img, txt, row_edges, col_edges, unit, dev)


def block_mean_similarity(image, text, grid: int, unit: bool = False, device="auto") -> LevelOfDetail:
    """S pooled onto a P×P grid of block means, computed from block-mean unit vectors.

    ``image``, ``text``: raw float arrays [n, d]; ``grid``: the largest P wanted (>= 2).
    When ``2n <= grid``, P = 2n and the values are exact. Otherwise P = 2·(grid // 2): P/2 bins over
    the image rows and P/2 over the text rows (sizes differing by at most one), so no block straddles
    the quadrant border. ``edges[k]`` is the first stacked row of bin k. Cost O(n·d + P²·d).
    ``device``: see :func:`level_of_detail_tile`.
    """
    img, txt = pair_shape(image, text)
    grid = _check_grid(grid)
    n = img.shape[0]
    if 2 * n <= grid:
        edges = np.arange(2 * n + 1, dtype=np.int64)
    else:
        half = grid // 2
        part = (np.arange(1, half + 1, dtype=np.int64) * n) // half
        edges = np.concatenate([[0], part, n + part]).astype(np.int64)
    from .backend import array_device

    return _pool(img, txt, edges, edges, unit, array_device(device, 2 * n * img.shape[1]))


def _pool(img: np.ndarray, txt: np.ndarray, row_edges: np.ndarray, col_edges: np.ndarray,
          unit: bool = False, device=None) -> LevelOfDetail:
    """Block means of S for the given stacked bin edges (see :class:`LevelOfDetail`); ``unit``:
    the rows are validated unit vectors already (read as they are); ``device``: None (numpy) or a
    torch device for the sums and the grid × grid product."""
    row_means = _block_mean_vectors(img, txt, row_edges, unit, device)
    col_means = row_means if col_edges is row_edges else _block_mean_vectors(img, txt, col_edges, unit, device)
    if device is None:
        values = row_means @ col_means.T
        np.clip(values, -1.0, 1.0, out=values)
    else:
        from .backend import clipped_product

        values = clipped_product(row_means, col_means, device)
    exact = bool(np.all(np.diff(row_edges) == 1) and np.all(np.diff(col_edges) == 1))
    return LevelOfDetail(values=values.astype(np.float32, copy=False), edges=row_edges,
                         col_edges=col_edges, exact=exact)


def _check_grid(grid) -> int:
    """``grid`` as an int >= 2 or a clear error."""
    try:
        value = int(grid)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"grid must be an integer >= 2, got {grid!r}") from exc
    if value != grid or value < 2:
        raise EmbeddingError(f"grid must be an integer >= 2, got {grid!r}")
    return value


def _as_range(value, what: str) -> tuple:
    """Unpack a ``(start, stop)`` pair or raise :class:`EmbeddingError`."""
    try:
        start, stop = value
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{what} must be a (start, stop) pair, got {value!r}") from exc
    return start, stop
