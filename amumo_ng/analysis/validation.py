"""Input validation shared by the analysis functions and the embedding store.

Every public analysis function validates its arrays here so that bad input
gives a clear :class:`EmbeddingError` and never a silent NaN.
"""
from __future__ import annotations

import numpy as np


class EmbeddingError(ValueError):
    """Raised for embedding arrays that cannot be analysed (shape, NaN/inf, zero rows, ...)."""


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
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=1))
        raise EmbeddingError(
            f"{name}: {bad.size} row(s) contain NaN or inf (first: row {bad[0]})"
        )
    if not allow_zero_rows:
        zero = np.flatnonzero(~arr.any(axis=1))
        if zero.size:
            raise EmbeddingError(
                f"{name}: {zero.size} all-zero row(s) have no direction (first: row {zero[0]})"
            )
    return arr


def as_pair(image, text, *, min_rows: int = 1, same_n: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate an (image, text) pair of matrices: each as :func:`as_matrix`, equal d, and
    (when ``same_n``) equal n. Returns float32 copies/views [n, d]."""
    img = as_matrix(image, "image embeddings", min_rows=min_rows)
    txt = as_matrix(text, "text embeddings", min_rows=min_rows)
    if img.shape[1] != txt.shape[1]:
        raise EmbeddingError(
            f"image and text embeddings differ in dimension: {img.shape[1]} vs {txt.shape[1]}"
        )
    if same_n and img.shape[0] != txt.shape[0]:
        raise EmbeddingError(
            f"image and text counts differ: {img.shape[0]} images vs {txt.shape[0]} texts "
            "(pairs must be aligned row by row)"
        )
    return img, txt


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32). Callers validate first: zero rows are rejected there."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / norm).astype(np.float32, copy=False)


def pair_shape(image, text) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``image`` and ``text`` are numeric 2-D arrays of one shape [n, d] with n, d >= 1,
    WITHOUT reading their values (O(1), no copy of a float32 C-contiguous or memory-mapped array).

    For callers that use only some rows (tiles, zoomed views): they validate the rows they read with
    :func:`as_matrix`. Returns the two arrays (``np.asarray`` views).
    """
    arrays = []
    for value, name in ((image, "image embeddings"), (text, "text embeddings")):
        arr = np.asarray(value)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise EmbeddingError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise EmbeddingError(f"{name}: expected a 2-D array [n, d], got shape {arr.shape}")
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise EmbeddingError(f"{name}: expected at least one row and one column, got shape {arr.shape}")
        arrays.append(arr)
    img, txt = arrays
    if img.shape[1] != txt.shape[1]:
        raise EmbeddingError(f"image and text embeddings differ in dimension: {img.shape[1]} vs {txt.shape[1]}")
    if img.shape[0] != txt.shape[0]:
        raise EmbeddingError(
            f"image and text counts differ: {img.shape[0]} images vs {txt.shape[0]} texts "
            "(pairs must be aligned row by row)"
        )
    return img, txt
