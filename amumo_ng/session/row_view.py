"""Rows of an array in another order, without copying them: the view's vectors in draw order.

A session draws its pairs in an order (clustered, filtered). Copying the unit vectors into that
order would cost one more full-size array per view; :class:`GatheredRows` instead gathers the rows
a caller slices (a tile, a chunk of block means), so a million pairs in a clustered order cost
only the int64 order. It is array-like enough for the similarity functions: ``shape``, ``ndim``,
``dtype``, ``size``, slicing by rows and ``np.asarray`` (which does copy everything: avoid it on
large views).
"""
from __future__ import annotations

import numpy as np


class GatheredRows:
    """``base[order]`` [k, d] on demand. ``base``: float32 [n, d] (possibly memory-mapped);
    ``order``: int64 [k] row indices into ``base`` (any order, repeats allowed)."""

    def __init__(self, base: np.ndarray, order: np.ndarray):
        self.base = base
        self.order = np.asarray(order, dtype=np.int64)
        self.shape = (int(self.order.size), int(base.shape[1]))
        self.ndim = 2
        self.dtype = base.dtype

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, rest = key[0], key[1:]
            return self.base[self.order[rows]][(slice(None),) + rest] if rest else self.base[self.order[rows]]
        return self.base[self.order[key]]

    def __array__(self, dtype=None, copy=None):
        out = self.base[self.order]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"GatheredRows(shape={self.shape}, dtype={self.dtype})"


def in_order(base: np.ndarray, order: np.ndarray):
    """``base`` itself when ``order`` is ``0..n-1`` (nothing to reorder), else :class:`GatheredRows`."""
    order = np.asarray(order, dtype=np.int64)
    n = base.shape[0]
    if order.size == n and (n == 0 or (order[0] == 0 and order[-1] == n - 1 and np.all(np.diff(order) == 1))):
        return base
    return GatheredRows(base, order)
