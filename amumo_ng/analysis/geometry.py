"""Per-modality geometry of RAW embeddings: the "double ellipsoid" view (Levi & Gilboa, 2024).

CLIP's image and text embeddings each fill a thin, off-centre ellipsoidal shell. This module
describes each modality by its mean vector (the shell's offset from the origin), per-dimension
spread and principal axes and the thin-shell statistics of its mean-subtracted norms (Property 2 of
the paper), with the per-sample norms behind its histograms and an optional whitening.

Related modules (one concept each): :mod:`.separability` (Sep per feature, the two-feature SVM),
:mod:`.feature_correlation` (off-diagonal dominance), :mod:`.conformity_stats` (conformity, its
estimate from the mean, KL of the modalities' conformity distributions), :mod:`.mean_shift` (loss
as the image ellipsoid is moved towards the origin).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import EmbeddingError, as_matrix, as_pair, finite_number

__all__ = ["ModalityGeometry", "DoubleEllipsoid", "modality_geometry", "double_ellipsoid", "SampleNorms",
           "sample_norms", "Whitening", "whiten"]

_CHUNK_ROWS = 8192


@dataclass(frozen=True)
class ModalityGeometry:
    """Shape of one modality's raw vectors [n, d] (units: the encoder's raw output units).

    ``mean``: float32 [d]; ``mean_norm``: ‖mean‖; ``std``: float32 [d] per-dimension standard deviation
    (ddof=1); ``axes``: float32 [k, d] unit principal directions (rows, decreasing variance, sign fixed so
    the largest entry is positive); ``variances``: float64 [k] variance along each axis;
    ``total_variance``: sum of all d covariance eigenvalues (= sum of std²); ``norm_mean``/``norm_std``:
    mean and standard deviation (ddof=1) of the RAW sample norms ‖v_i‖.

    Thin shell (Levi & Gilboa, Sec. 3.2.1, Eq. 3-4 and Property 2), on the MEAN-SUBTRACTED vectors
    x_i = v_i − mean, whose norm is written ‖x‖ = μ_norm + y with E[y] = 0:
    ``centered_norm_mean`` μ_norm = mean_i ‖x_i‖; ``centered_norm_var`` var(y) = var_i ‖x_i‖ with
    ddof=0 (population moments, so that E‖x‖² = μ_norm² + var(y) holds exactly);
    ``rms_centered_norm`` √E‖x‖² = √(mean_i ‖x_i‖²) (= √((n−1)/n · total_variance));
    ``thin_shell_error`` (√E‖x‖² − μ_norm) / μ_norm, the relative error of approximating the mean norm
    by √tr(C) (the paper reports 0.18 % for MS-COCO images; 0.0 when every x_i is 0). A small error
    means the mass sits in a thin shell of radius ≈ μ_norm around the mean, none near the mean.
    """

    mean: np.ndarray
    mean_norm: float
    std: np.ndarray
    axes: np.ndarray
    variances: np.ndarray
    total_variance: float
    norm_mean: float
    norm_std: float
    centered_norm_mean: float
    centered_norm_var: float
    rms_centered_norm: float
    thin_shell_error: float

    @property
    def offset_ratio(self) -> float:
        """‖m‖ / ‖σ‖: the shell's offset from the origin relative to its size (Levi & Gilboa, Property 5;
        0.94 for MS-COCO images, 1.03 for texts with CLIP ViT-B/32). inf when every row is equal
        (σ = 0) and the mean is not zero, 0.0 when both are zero."""
        spread = float(np.linalg.norm(self.std.astype(np.float64)))
        if spread == 0.0:
            return float("inf") if self.mean_norm > 0 else 0.0
        return self.mean_norm / spread

    @property
    def sqrt_trace_error(self) -> float:
        """Relative error of Eq. 4's approximation μ_norm ≈ √tr ℂ with the sample covariance (ddof=1):
        (√tr ℂ − μ_norm) / μ_norm (0.0 when μ_norm = 0). Compare :attr:`thin_shell_error`, the same with
        the population moment √E‖x‖², for which E‖x‖² = μ_norm² + var(y) holds exactly."""
        mu = self.centered_norm_mean
        return (float(np.sqrt(self.total_variance)) - mu) / mu if mu > 0 else 0.0

    @property
    def explained_ratio(self) -> np.ndarray:
        """Share of the total variance along each principal axis, float64 [k]."""
        if self.total_variance <= 0:
            return np.zeros_like(self.variances)
        return self.variances / self.total_variance


def _covariance(x: np.ndarray, mean64: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof=1) of rows ``x`` [n, d], float64 [d, d], accumulated in row chunks."""
    d = x.shape[1]
    acc = np.zeros((d, d), dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        centered = x[start:start + _CHUNK_ROWS].astype(np.float64) - mean64
        acc += centered.T @ centered
    return acc / (x.shape[0] - 1)


def _centered_norms(x: np.ndarray, mean64: np.ndarray) -> np.ndarray:
    """‖x_i − mean‖ of every row, float64 [n], in row chunks."""
    out = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        out[start:start + _CHUNK_ROWS] = np.linalg.norm(x[start:start + _CHUNK_ROWS].astype(np.float64) - mean64, axis=1)
    return out


def modality_geometry(x, n_axes: int = 10) -> ModalityGeometry:
    """Mean, spread and the ``n_axes`` leading principal axes of raw vectors ``x`` [n, d], n >= 2.

    Zero rows are allowed here (raw geometry needs no direction). Cost O(n·d² + d³).
    """
    x = as_matrix(x, "vectors", min_rows=2, allow_zero_rows=True)
    if int(n_axes) != n_axes or n_axes < 1:
        raise EmbeddingError(f"n_axes must be a positive integer, got {n_axes!r}")
    mean64 = x.mean(axis=0, dtype=np.float64)
    cov = _covariance(x, mean64)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.argsort(eigenvalues)[::-1][: min(int(n_axes), x.shape[1])]
    axes = eigenvectors[:, order].T
    signs = np.sign(axes[np.arange(axes.shape[0]), np.abs(axes).argmax(axis=1)])
    signs[signs == 0] = 1.0
    norms = np.linalg.norm(x, axis=1).astype(np.float64)
    centered = _centered_norms(x, mean64)
    mu_norm = float(centered.mean())
    rms = float(np.sqrt(np.mean(centered ** 2)))
    return ModalityGeometry(
        mean=mean64.astype(np.float32),
        mean_norm=float(np.linalg.norm(mean64)),
        std=np.sqrt(np.clip(np.diag(cov), 0.0, None)).astype(np.float32),
        axes=(axes * signs[:, None]).astype(np.float32),
        variances=np.clip(eigenvalues[order], 0.0, None),
        total_variance=float(np.trace(cov)),
        norm_mean=float(norms.mean()),
        norm_std=float(norms.std(ddof=1)),
        centered_norm_mean=mu_norm,
        centered_norm_var=float(centered.var(ddof=0)),
        rms_centered_norm=rms,
        thin_shell_error=(rms - mu_norm) / mu_norm if mu_norm > 0 else 0.0,
    )


@dataclass(frozen=True)
class DoubleEllipsoid:
    """Both modalities' geometry plus how their centres relate.

    ``mean_distance``: ‖mean(I) − mean(T)‖ of the raw means; ``mean_cosine``: cosine of the angle between
    the two raw mean vectors (raw units; compare :func:`amumo_ng.analysis.gap.modality_gap`, which uses
    normalised rows).
    """

    image: ModalityGeometry
    text: ModalityGeometry
    mean_distance: float
    mean_cosine: float


def double_ellipsoid(image, text, n_axes: int = 10) -> DoubleEllipsoid:
    """:func:`modality_geometry` of ``image`` [n_i, d] and ``text`` [n_t, d] (counts may differ).

    Raises :class:`EmbeddingError` for unequal d or a zero mean vector (no angle).
    """
    img, txt = as_pair(image, text, min_rows=2, same_n=False, allow_zero_rows=True)
    geo_i, geo_t = modality_geometry(img, n_axes), modality_geometry(txt, n_axes)
    mi, mt = geo_i.mean.astype(np.float64), geo_t.mean.astype(np.float64)
    if geo_i.mean_norm == 0 or geo_t.mean_norm == 0:
        raise EmbeddingError("a modality's mean vector is zero; the angle between the means is undefined")
    return DoubleEllipsoid(
        image=geo_i,
        text=geo_t,
        mean_distance=float(np.linalg.norm(mi - mt)),
        mean_cosine=float(mi @ mt / (np.linalg.norm(mi) * np.linalg.norm(mt))),
    )


@dataclass(frozen=True)
class SampleNorms:
    """Per-sample norms of one modality's raw vectors [n, d] (raw units), float64 [n] each:
    ``raw`` ‖v_j‖ and ``centered`` ‖v_j − m‖ (m the modality mean; the thin shell of Fig. 4)."""

    raw: np.ndarray
    centered: np.ndarray


def sample_norms(x) -> SampleNorms:
    """:class:`SampleNorms` of raw vectors ``x`` [n, d], n >= 2 (zero rows allowed). O(n·d), in row chunks."""
    x = as_matrix(x, "vectors", min_rows=2, allow_zero_rows=True)
    mean64 = x.mean(axis=0, dtype=np.float64)
    raw = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        raw[start:start + _CHUNK_ROWS] = np.linalg.norm(x[start:start + _CHUNK_ROWS].astype(np.float64), axis=1)
    return SampleNorms(raw=raw, centered=_centered_norms(x, mean64))


@dataclass(frozen=True)
class Whitening:
    """A whitening transform of raw vectors [n, d]: ``apply(y) = (y − mean) @ matrix`` has identity
    sample covariance (ddof=1) on the kept directions.

    ``mean`` float64 [d]; ``matrix`` float64 [d, r] (r = ``rank``: covariance eigenvalues above
    ``eps`` · the largest are kept, the others dropped); ``method`` "zca" (r = d rotated back:
    Σ^-1/2, the whitened data stays closest to the original) or "pca" (the r principal coordinates,
    each scaled to unit variance); ``whitened`` float32 [n, r] the transformed input rows.
    """

    mean: np.ndarray
    matrix: np.ndarray
    rank: int
    method: str
    whitened: np.ndarray

    def apply(self, y) -> np.ndarray:
        """Whiten other rows ``y`` [m, d] with this transform: float32 [m, r]."""
        y = as_matrix(y, "vectors", allow_zero_rows=True)
        if y.shape[1] != self.mean.size:
            raise EmbeddingError(f"vectors have d = {y.shape[1]}; the whitening was fitted on d = {self.mean.size}")
        return ((y.astype(np.float64) - self.mean) @ self.matrix).astype(np.float32)


def whiten(x, method: str = "zca", eps: float = 1e-6) -> Whitening:
    """Whitening of raw vectors ``x`` [n, d], n >= 3 (Levi & Gilboa, Sec. 4: the ellipsoid made a sphere).

    Σ = sample covariance (ddof=1) = U diag(λ) Uᵀ; eigen-directions with λ ≤ ``eps``·max λ are dropped
    (a rank-deficient covariance, e.g. n ≤ d, has no inverse there). "pca": W = U_r diag(λ_r^-1/2);
    "zca": W = U_r diag(λ_r^-1/2) U_rᵀ (only when r = d, else :class:`EmbeddingError`, use "pca").
    Raises :class:`EmbeddingError` when every row is equal (no direction has variance). Cost O(n·d² + d³).
    """
    x = as_matrix(x, "vectors", min_rows=3, allow_zero_rows=True)
    if method not in ("zca", "pca"):
        raise EmbeddingError(f'method must be "zca" or "pca", got {method!r}')
    eps = finite_number(eps, "eps")
    if not 0 < eps < 1:
        raise EmbeddingError(f"eps must lie in (0, 1), got {eps}")
    mean64 = x.mean(axis=0, dtype=np.float64)
    values, vectors = np.linalg.eigh(_covariance(x, mean64))
    top = float(values.max())
    if top <= 0:
        raise EmbeddingError("every row is equal: the covariance is zero and nothing can be whitened")
    keep = np.flatnonzero(values > eps * top)[::-1]  # decreasing variance
    if method == "zca" and keep.size < x.shape[1]:
        raise EmbeddingError(f"the covariance has rank {keep.size} < d = {x.shape[1]} (e.g. n <= d): "
                             'ZCA needs full rank; use method="pca", which drops the null directions')
    matrix = vectors[:, keep] / np.sqrt(values[keep])
    if method == "zca":
        matrix = matrix @ vectors[:, keep].T
    whitened = np.empty((x.shape[0], matrix.shape[1]), dtype=np.float32)
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        whitened[start:start + _CHUNK_ROWS] = (x[start:start + _CHUNK_ROWS].astype(np.float64) - mean64) @ matrix
    return Whitening(mean=mean64, matrix=matrix, rank=int(keep.size), method=method, whitened=whitened)
