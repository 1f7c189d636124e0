"""The in-modal difference view of a :class:`~amumo_ng.session.Session` (CyCLIP's symmetry check).

D = Î·Îᵀ − T̂·T̂ᵀ of the pairs in view, in draw order: entry (i, j) is how much more similar images i
and j are than captions i and j (cosines as shown: gap-shifted when the gap is closed). The heatmap's
difference mode draws it with the same levels of detail, zoom and clustering as the similarities.
"""
from __future__ import annotations

import numpy as np

#: Mean |D| is exact up to this many pairs; above, it is taken over sampled rows costing about
#: this many multiply-adds (rows·n·d), at least :data:`MIN_SAMPLE_ROWS` rows.
DIFFERENCE_FLOP_BUDGET = 4e8
MIN_SAMPLE_ROWS = 256


class DifferenceViewMixin:
    """Levels of detail, exact cells and the summary of the in-modal difference of the view."""

    def difference_level_of_detail(self, grid: int, rows=None, cols=None):
        """Block means of D over view positions ``rows`` x ``cols`` (``(start, stop)``, default the
        whole view) on at most ``grid`` cells a side
        (:func:`~amumo_ng.analysis.difference.difference_level_of_detail`); cached for the whole view."""
        from ..analysis.difference import difference_level_of_detail

        k = self.k
        rows = (0, k) if rows is None else (int(rows[0]), int(rows[1]))
        cols = (0, k) if cols is None else (int(cols[0]), int(cols[1]))
        whole = rows == (0, k) and cols == (0, k)

        def make():
            img, txt = self.view_vectors()
            return difference_level_of_detail(img, txt, rows, cols, int(grid))

        if not whole:
            return make()
        from .state import _array_key

        return self._cache.get(("diff-lod", self.vectors_key(), _array_key(self.order), int(grid)), make)

    def difference_cell(self, row: int, col: int) -> tuple[float, float, float]:
        """(D, Î_row·Î_col, T̂_row·T̂_col) of view positions ``row``, ``col`` (float32 arithmetic,
        as the browser computes it from the view vectors)."""
        k = self.k
        if not (0 <= row < k and 0 <= col < k):
            raise ValueError(f"cell ({row}, {col}) outside the {k}x{k} difference matrix in view")
        img, txt = self.view_vectors()
        ii = float(np.clip(np.dot(img[row], img[col]), -1, 1))
        tt = float(np.clip(np.dot(txt[row], txt[col]), -1, 1))
        return float(np.float32(ii) - np.float32(tt)), ii, tt

    def difference_summary(self):
        """:class:`~amumo_ng.analysis.difference.DifferenceSummary` of the pairs in view (mean |D|
        over every entry up to 4,096 pairs, over sampled rows above; mean, std and RMS exact)."""
        from ..analysis.difference import DIFFERENCE_EXACT_ROWS, difference_summary

        idx = self.indices
        k, d = int(idx.size), self.embeddings.dim
        rows = k if k <= DIFFERENCE_EXACT_ROWS else max(MIN_SAMPLE_ROWS, int(DIFFERENCE_FLOP_BUDGET // (k * d)))

        def make():
            img, txt = self.vectors()
            return difference_summary(img[idx], txt[idx], sample_rows=min(rows, k))

        return self._cache.get(("diff-summary", self.vectors_key(), self.indices_key(), rows), make)
