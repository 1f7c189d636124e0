"""Structure of a rotation set's similarity matrix: Amumo's anti-diagonal and 90° checkerboard.

A set of ``n`` rotations of one image by 360°·i/n (``amumo_ng.datasets.augment(..., "rotate")``)
gives an n×n cosine matrix S of the rotated images' embeddings. Amumo reads two patterns off it:

- an anti-diagonal: S[i, n − i] (θ against 360° − θ, the mirror image of a mirror-symmetric
  shape) higher than other pairs at the same angular distance — flip invariance;
- a checkerboard at multiples of 90°: similarity higher at 90° and 180° apart than at 45° and 135°
  — typical of CNN towers (and of black corners, which only multiples of 90° avoid).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import EmbeddingError

__all__ = ["circular_profile", "rotation_structure", "RotationStructure"]


def _square(S) -> np.ndarray:
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 4:
        raise EmbeddingError(f"expected a square similarity matrix of at least 4 steps, got shape {S.shape}")
    if not np.isfinite(S).all():
        raise EmbeddingError("the similarity matrix contains NaN or inf")
    return S


def circular_profile(S) -> np.ndarray:
    """Mean of S[a, (a + k) mod n] over a, for each step distance k = 0 .. n // 2: float64 [n // 2 + 1]
    (the mean similarity of two rotations k·360°/n apart)."""
    S = _square(S)
    n = S.shape[0]
    a = np.arange(n)
    return np.array([S[a, (a + k) % n].mean() for k in range(n // 2 + 1)])


@dataclass(frozen=True)
class RotationStructure:
    """``antidiagonal``: mean S[i, n − i] (i ≠ 0, n/2); ``excess``: its mean excess over the mean
    similarity at the same angular distance (> 0: the mirror pairs stand out); ``off_diagonal``: mean of
    S off the diagonal; ``at_45``..``at_180``: mean similarity of rotations that far apart (linear
    interpolation between steps); ``checkerboard``: at_90 > at_45 and at_180 > at_135."""

    antidiagonal: float
    excess: float
    off_diagonal: float
    at_45: float
    at_90: float
    at_135: float
    at_180: float

    @property
    def checkerboard(self) -> bool:
        return self.at_90 > self.at_45 and self.at_180 > self.at_135


def rotation_structure(S) -> RotationStructure:
    """:class:`RotationStructure` of the cosine matrix S [n, n] of n rotations by 360°·i/n."""
    S = _square(S)
    n = S.shape[0]
    profile = circular_profile(S)
    i = np.array([k for k in range(1, n) if 2 * k != n])
    j = (n - i) % n
    dist = np.minimum(np.abs(i - j), n - np.abs(i - j))

    def at(degrees: float) -> float:
        return float(np.interp(degrees / 360.0 * n, np.arange(profile.size), profile))

    return RotationStructure(
        antidiagonal=float(S[i, j].mean()), excess=float((S[i, j] - profile[dist]).mean()),
        off_diagonal=float(S[~np.eye(n, dtype=bool)].mean()),
        at_45=at(45), at_90=at(90), at_135=at(135), at_180=at(180))
