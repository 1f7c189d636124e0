"""Input validation shared by the analysis functions and the embedding store.

Every public analysis function validates its arrays here so that bad input
gives a clear :class:`EmbeddingError` and never a silent NaN. A pair of matrices (image and text,
rows and columns, state and memory, numpy or torch) is checked by :func:`as_pair` and nothing else.
"""
from __future__ import annotations

import numpy as np


class EmbeddingError(ValueError):
    """Raised for embedding arrays that cannot be analysed (shape, NaN/inf, zero rows, ...)."""


#: Row blocks of the checks, the normalisation and the PCA statistics hold about this many bytes
#: (temporaries stay small next to an array of a million rows, which may be memory-mapped). 4 MB,
#: not more: a larger temporary is mapped from fresh pages each time it is made (glibc's mmap
#: threshold), on which numpy asks for huge pages, and some VMs fault those in slowly
#: (../shared/notes/fresh-memory.md: there the 100k-pair PCA took 0.9-2.0 s with 32 MB blocks,
#: 0.1-1.1 s with 4 MB ones); smaller blocks are reused from the heap and stay in cache.
CHUNK_BYTES = 4 * 2**20


def row_chunks(n: int, d: int, chunk_bytes: int = CHUNK_BYTES):
    """(start, stop) row ranges covering ``range(n)`` with about ``chunk_bytes`` of float32 [rows, d] each."""
    step = max(1, int(chunk_bytes) // (4 * max(1, int(d))))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def as_matrix(x, name: str = "array", *, min_rows: int = 1, allow_zero_rows: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 matrix [n, d] after checking it.

    Raises :class:`EmbeddingError` when ``x`` is not 2-D, has fewer than ``min_rows`` rows,
    zero columns, a NaN or infinite entry, or (unless ``allow_zero_rows``) an all-zero row,
    which has no direction and so no cosine similarity.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise EmbeddingError(f"{name}: cannot convert to an array ({exc})") from exc
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise EmbeddingError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise EmbeddingError(f"{name}: expected a 2-D array [n, d], got shape {arr.shape}")
    n, d = arr.shape
    if n < min_rows:
        raise EmbeddingError(f"{name}: needs at least {min_rows} row(s), got {n}")
    if d == 0:
        raise EmbeddingError(f"{name}: embedding dimension is 0")
    arr = np.ascontiguousarray(arr, dtype=np.float32)  # no copy of a float32 C-contiguous (or mapped) array
    for start, stop in row_chunks(n, d):
        block = arr[start:stop]
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            rows = [start + int(i) for i in np.flatnonzero(~finite)]
            rest = sum(int((~np.isfinite(arr[s:e]).all(axis=1)).sum()) for s, e in row_chunks(n, d) if s > start)
            raise EmbeddingError(
                f"{name}: {len(rows) + rest} row(s) contain NaN or inf (first: row {rows[0]})"
            )
    if not allow_zero_rows:
        zero = np.concatenate([s + np.flatnonzero(~arr[s:e].any(axis=1)) for s, e in row_chunks(n, d)])
        if zero.size:
            raise EmbeddingError(
                f"{name}: {zero.size} all-zero row(s) have no direction (first: row {zero[0]})"
            )
    return arr


def as_pair(image, text, *, min_rows: int = 1, same_n: bool = True, check_values: bool = True,
            allow_zero_rows: bool = False, names: tuple[str, str] = ("image embeddings", "text embeddings")):
    """THE check of a pair of matrices (image [n_i, d], text [n_t, d]); every pair function calls it.

    Checks: both numeric and 2-D, at least ``min_rows`` rows and one column each, equal d, and (when
    ``same_n``) equal n, i.e. pairs aligned row by row. With ``check_values`` (default) each matrix
    goes through :func:`as_matrix` (finite, no all-zero row unless ``allow_zero_rows``) and float32
    C-contiguous copies/views are returned. With ``check_values=False`` only shapes and dtypes are
    checked, in O(1) without reading values or copying (for callers that validate the rows they read,
    and for torch tensors, which are returned unchanged). ``names`` label the two matrices in errors.
    Raises :class:`EmbeddingError`.
    """
    first, second = names
    if check_values:
        img = as_matrix(image, first, min_rows=min_rows, allow_zero_rows=allow_zero_rows)
        txt = as_matrix(text, second, min_rows=min_rows, allow_zero_rows=allow_zero_rows)
    else:
        img, txt = _shaped(image, first, min_rows), _shaped(text, second, min_rows)
    default = names == ("image embeddings", "text embeddings")
    both = "image and text embeddings" if default else f"{first} and {second}"
    if img.shape[1] != txt.shape[1]:
        raise EmbeddingError(f"{both} differ in dimension: {img.shape[1]} vs {txt.shape[1]}")
    if same_n and img.shape[0] != txt.shape[0]:
        counts = (f"image and text counts differ: {img.shape[0]} images vs {txt.shape[0]} texts" if default
                  else f"{first} and {second} counts differ: {img.shape[0]} vs {txt.shape[0]}")
        raise EmbeddingError(f"{counts} (pairs must be aligned row by row)")
    return img, txt


def _shaped(value, name: str, min_rows: int):
    """``value`` as an array (or an unchanged tensor-like object with ``shape``/``ndim``), shape checked only."""
    if isinstance(value, np.ndarray) or not (hasattr(value, "shape") and hasattr(value, "ndim")):
        value = np.asarray(value)
        if value.dtype == object or not np.issubdtype(value.dtype, np.number):
            raise EmbeddingError(f"{name}: expected a numeric array, got dtype {value.dtype}")
    elif callable(getattr(value, "is_floating_point", None)) and not value.is_floating_point():
        raise EmbeddingError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    if value.ndim != 2:
        raise EmbeddingError(f"{name}: expected a 2-D array [n, d], got shape {tuple(value.shape)}")
    if value.shape[0] < 1 or value.shape[1] < 1:
        raise EmbeddingError(f"{name}: expected at least one row and one column, got shape {tuple(value.shape)}")
    if value.shape[0] < min_rows:
        raise EmbeddingError(f"{name}: needs at least {min_rows} row(s), got {value.shape[0]}")
    return value


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32, a new array). Callers validate first: zero rows are
    rejected there. Rows are done in blocks, so the only full-size allocation is the result (no
    squared copy, no float64)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or axis not in (-1, 1):
        norm = np.linalg.norm(x, axis=axis, keepdims=True)
        return (x / norm).astype(np.float32, copy=False)
    out = np.empty(x.shape, dtype=np.float32)
    for start, stop in row_chunks(*x.shape):
        block = x[start:stop]
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))  # float32 dot products: 5x np.linalg.norm's speed
        np.divide(block, norms[:, None], out=out[start:stop])
    return out


def unit_rows(x: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """``x`` itself when it is float32 and every row already has unit norm (within ``tol``), else
    :func:`l2_normalize` of it. For inputs that are usually normalised already (a session's vectors):
    checking costs one read and no copy."""
    x = np.asarray(x)
    if x.dtype == np.float32 and x.ndim == 2:
        for start, stop in row_chunks(*x.shape):
            block = x[start:stop]
            sq = np.einsum("ij,ij->i", block, block)  # float32: plenty for a 1e-4 tolerance, and fast
            if not np.all(np.abs(sq - 1.0) <= tol):
                return l2_normalize(x)
        return x
    return l2_normalize(x)


def pair_shape(image, text) -> tuple[np.ndarray, np.ndarray]:
    """Shapes-only check of an aligned pair: ``as_pair(image, text, check_values=False)``.

    Numeric 2-D arrays of one shape [n, d], n, d >= 1, WITHOUT reading their values (O(1), no copy of a
    float32 C-contiguous or memory-mapped array). For callers that use only some rows (tiles, zoomed
    views): they validate the rows they read with :func:`as_matrix`. Returns the two arrays.
    """
    return as_pair(image, text, check_values=False)


def finite_number(value, name: str) -> float:
    """``value`` as a finite float; :class:`EmbeddingError` naming ``name`` otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{name} must be a finite number, got {value!r}") from exc
    if not np.isfinite(number):
        raise EmbeddingError(f"{name} must be a finite number, got {value!r}")
    return number
