"""How strongly a modality's raw features co-vary: off-diagonal dominance (Levi & Gilboa, Eq. 6, Fig. 5).

ODD(ℓ) = Σ_{k≠ℓ} |ℂ_ℓk| / ℂ_ℓℓ for the covariance ℂ (ddof=1) of one modality's RAW vectors. A
diagonally dominant covariance has ODD(ℓ) < 1 for every ℓ; values above 1 mean feature ℓ is more
correlated with the others together than it varies alone: a tilted ellipsoid (Property 4).
Dimensionless. The variances ℂ_ℓℓ (raw units²) are returned with it (Fig. 5, left: their long tail
makes the shell an ellipsoid, Property 3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import _covariance
from .validation import EmbeddingError, as_matrix, as_pair

__all__ = ["FeatureCorrelation", "off_diagonal_dominance", "modality_correlations"]


@dataclass(frozen=True)
class FeatureCorrelation:
    """ODD of one modality, float64 [d] each.

    ``odd`` ODD(ℓ) (NaN for a feature of zero variance, which has no ratio: listed in
    ``zero_variance`` int64); ``variance`` ℂ_ℓℓ (raw units²); ``diagonally_dominant``: every defined
    ODD(ℓ) < 1.
    """

    odd: np.ndarray
    variance: np.ndarray
    zero_variance: np.ndarray

    @property
    def diagonally_dominant(self) -> bool:
        defined = self.odd[np.isfinite(self.odd)]
        return bool(np.all(defined < 1.0))


def off_diagonal_dominance(x) -> FeatureCorrelation:
    """:class:`FeatureCorrelation` of raw vectors ``x`` [n, d] (one modality; n >= 2, zero rows allowed).

    Cost O(n·d²) (the covariance, accumulated in float64 row chunks). Raises :class:`EmbeddingError`
    when every row is equal (a constant modality: every ℂ_ℓℓ = 0, no ODD is defined).
    """
    x = as_matrix(x, "vectors", min_rows=2, allow_zero_rows=True)
    cov = _covariance(x, x.mean(axis=0, dtype=np.float64))
    variance = np.clip(np.diag(cov).copy(), 0.0, None)
    zero = np.flatnonzero(variance == 0)
    if zero.size == x.shape[1]:
        raise EmbeddingError("every row is equal (a constant modality): all variances are 0, ODD is undefined")
    off = np.abs(cov).sum(axis=1) - np.abs(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        odd = off / variance
    odd[zero] = np.nan
    return FeatureCorrelation(odd=odd, variance=variance, zero_variance=zero.astype(np.int64))


def modality_correlations(image, text) -> tuple[FeatureCorrelation, FeatureCorrelation]:
    """(:func:`off_diagonal_dominance` of ``image`` [n_i, d], of ``text`` [n_t, d]); counts may differ."""
    img, txt = as_pair(image, text, min_rows=2, same_n=False, allow_zero_rows=True)
    return off_diagonal_dominance(img), off_diagonal_dominance(txt)
