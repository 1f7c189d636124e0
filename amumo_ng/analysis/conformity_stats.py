"""Conformity: how typical a sample is within its set (Levi & Gilboa, Sec. 6-7, Eq. 10-11, Fig. 9, 11, 13).

Conformity C(v_j) = mean over k ≠ j of cos(v_j, v_k) within a set S of n raw vectors (dimensionless,
in [−1, 1]; high = a common theme, low = an unusual one). Computed exactly in O(n·d) from the sum of
the unit vectors û: Σ_k cos(v_j, v_k) = û_j · Σ_k û_k, so C(v_j) = (û_j · Σ_k û_k − 1) / (n − 1).

Estimated conformity Ĉ(v_j) = a·cos(m, v_j) + b with m the set's mean (raw, as the paper), a and b
fitted by least squares. With m = the mean of the UNIT vectors ū instead, the identity above makes the
relation exact: C = n‖ū‖/(n−1) · cos(ū, v_j) − 1/(n−1) (``mean="unit"``, Pearson 1).

The module is named ``conformity_stats`` so that its function :func:`conformity` keeps its name in
the lazily exported :mod:`amumo_ng.analysis` namespace.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .mean_shift import _alphas, shift_modality
from .validation import EmbeddingError, as_matrix, as_pair, finite_number

__all__ = ["conformity", "conformity_to", "ConformityEstimate", "estimated_conformity", "histogram_kl",
           "ConformityKL", "conformity_kl_curve", "SetConformity", "mean_conformity", "grouped_conformity"]

_CHUNK_ROWS = 8192


def _unit_sum(x: np.ndarray) -> np.ndarray:
    """Σ_k x̂_k, float64 [d], normalising in float64 row chunks (no float64 copy of x)."""
    total = np.zeros(x.shape[1])
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        c = x[start:start + _CHUNK_ROWS].astype(np.float64)
        total += (c / np.linalg.norm(c, axis=1, keepdims=True)).sum(axis=0)
    return total


def _dot_units(x: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """x̂_j · vector for every row, float64 [n], in row chunks."""
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        c = x[start:start + _CHUNK_ROWS].astype(np.float64)
        out[start:start + c.shape[0]] = (c @ vector) / np.linalg.norm(c, axis=1)
    return out


def conformity(x, device="auto") -> np.ndarray:
    """Exact conformity of raw vectors ``x`` [n, d] (n >= 2, no zero rows) within their set: float32 [n].

    C_j = (x̂_j · Σ_k x̂_k − 1) / (n − 1), O(n·d) time and O(chunk·d) extra memory; unit vectors, sums
    and dots in float64 (error ≲ 1e-12 before the float32 result), clipped to [−1, 1].
    ``device``: where the chunks are summed (:func:`~amumo_ng.analysis.backend.array_device`;
    "auto": CUDA when present, else numpy; the same float64 arithmetic either way).
    """
    from .backend import array_device

    x = as_matrix(x, "vectors", min_rows=2)
    dev = array_device(device, x.size)
    if dev is None:
        scores = (_dot_units(x, _unit_sum(x)) - 1.0) / (x.shape[0] - 1)
    else:
        from .backend import dot_units, unit_sum

        total = unit_sum(x, dev, _CHUNK_ROWS)
        scores = (dot_units(x, total, dev, _CHUNK_ROWS) - 1.0) / (x.shape[0] - 1)
    return np.clip(scores, -1.0, 1.0).astype(np.float32)


def conformity_to(x, reference) -> np.ndarray:
    """Conformity of raw vectors ``x`` [n, d] to another set ``reference`` [m, d]: float32 [n],
    mean over ALL k of cos(x_j, r_k) = x̂_j · Σ_k r̂_k / m (for a sample of the reference itself use
    :func:`conformity`, which leaves it out). O((n + m)·d). No zero rows."""
    x, ref = as_pair(x, reference, same_n=False, names=("vectors", "reference"))
    return np.clip(_dot_units(x, _unit_sum(ref)) / ref.shape[0], -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ConformityEstimate:
    """Ĉ = a·cos(m, v) + b fitted to the exact C of one set (float64 [n] arrays, dimensionless).

    ``conformity`` C; ``cos_to_mean`` cos(m, v_j); ``estimate`` Ĉ; ``a``, ``b`` the least-squares line;
    ``pearson`` r(C, Ĉ) (= r(C, cos(m, v)) as a > 0 in practice); ``rmse`` √mean (C − Ĉ)²;
    ``mean_kind`` "raw" (m = E[v], the paper) or "unit" (m = E[v̂], exact).
    """

    conformity: np.ndarray
    cos_to_mean: np.ndarray
    estimate: np.ndarray
    a: float
    b: float
    pearson: float
    rmse: float
    mean_kind: str


def estimated_conformity(x, mean: str = "raw") -> ConformityEstimate:
    """:class:`ConformityEstimate` of raw vectors ``x`` [n, d], n >= 3, no zero rows. O(n·d).

    Raises :class:`EmbeddingError` when the mean vector is zero (no angle) or cos(m, v) or C is the
    same for every sample (a constant set: the line and Pearson are undefined).
    """
    x = as_matrix(x, "vectors", min_rows=3)
    if mean not in ("raw", "unit"):
        raise EmbeddingError(f'mean must be "raw" or "unit", got {mean!r}')
    exact = conformity(x).astype(np.float64)
    m = x.mean(axis=0, dtype=np.float64) if mean == "raw" else _unit_sum(x) / x.shape[0]
    norm = float(np.linalg.norm(m))
    if norm == 0.0:
        raise EmbeddingError("the mean vector is zero: cos(m, v) is undefined")
    cos = _dot_units(x, m / norm)
    dc, dC = cos - cos.mean(), exact - exact.mean()
    var_c, var_C = float(dc @ dc), float(dC @ dC)
    if var_c <= 1e-24 * x.shape[0] or var_C <= 1e-24 * x.shape[0]:
        raise EmbeddingError("cos(m, v) or the conformity is the same for every sample (a constant set): "
                             "the fit and its Pearson correlation are undefined")
    a = float(dc @ dC) / var_c
    b = float(exact.mean() - a * cos.mean())
    estimate = a * cos + b
    pearson = float(np.clip((dc @ dC) / np.sqrt(var_c * var_C) * np.sign(a), -1.0, 1.0))
    return ConformityEstimate(conformity=exact, cos_to_mean=cos, estimate=estimate, a=a, b=b, pearson=pearson,
                              rmse=float(np.sqrt(np.mean((exact - estimate) ** 2))), mean_kind=mean)


def histogram_kl(p_samples, q_samples, bins: int = 50, smoothing: float = 0.5, edges=None) -> tuple[float, np.ndarray]:
    """KL(P ‖ Q) in nats of the histograms of two 1-D samples, and the bin edges used (float64 [B + 1]).

    Bins: ``edges`` if given, else ``bins`` equal-width bins over the joint range [min, max] of both
    samples (values outside given edges are dropped). Smoothing: a pseudo-count λ = ``smoothing`` is
    added to every bin of both histograms, p_b = (c_b + λ) / (N + λ·B) (λ = 0.5: the
    Krichevsky–Trofimov estimator), so a bin empty in Q keeps the divergence finite. λ > 0 required.
    """
    p = np.asarray(p_samples, dtype=np.float64).ravel()
    q = np.asarray(q_samples, dtype=np.float64).ravel()
    if p.size == 0 or q.size == 0 or not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise EmbeddingError("histogram_kl needs two non-empty samples of finite numbers")
    lam = finite_number(smoothing, "smoothing")
    if lam <= 0:
        raise EmbeddingError(f"smoothing must be a positive pseudo-count (empty bins need mass), got {smoothing}")
    if edges is None:
        if isinstance(bins, bool) or int(bins) != bins or bins < 1:
            raise EmbeddingError(f"bins must be a positive integer, got {bins!r}")
        lo, hi = float(min(p.min(), q.min())), float(max(p.max(), q.max()))
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5  # every value equal: one bin around it
        edges = np.linspace(lo, hi, int(bins) + 1)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise EmbeddingError("edges must be a 1-D increasing array of at least 2 values")
    cp, _ = np.histogram(p, edges)
    cq, _ = np.histogram(q, edges)
    nb = edges.size - 1
    pp = (cp + lam) / (cp.sum() + lam * nb)
    qq = (cq + lam) / (cq.sum() + lam * nb)
    return float(np.sum(pp * np.log(pp / qq))), edges


@dataclass(frozen=True)
class ConformityKL:
    """KL divergence of the image vs text conformity distributions as the images are shifted by α.

    ``alphas`` float64 [k]; ``kl`` KL(P_image ‖ P_text) and ``kl_reverse`` KL(P_text ‖ P_image) in nats
    [k]; ``edges`` float64 [k, bins + 1] the bins of each α (``bins`` equal-width bins over the joint
    range of both conformities at that α); ``smoothing`` the pseudo-count λ of :func:`histogram_kl`.
    Image conformity is recomputed within the shifted image set (``image_conformity`` float32
    [k, n_i], row k at α_k); text conformity is fixed (``text_conformity`` float32 [n_t]).
    """

    alphas: np.ndarray
    kl: np.ndarray
    kl_reverse: np.ndarray
    edges: np.ndarray
    bins: int
    smoothing: float
    image_conformity: np.ndarray
    text_conformity: np.ndarray


def conformity_kl_curve(image, text, alphas=None, bins: int = 50, smoothing: float = 0.5) -> ConformityKL:
    """:class:`ConformityKL` of raw ``image`` [n_i, d] and ``text`` [n_t, d] (n >= 3 each, no zero rows),
    images shifted v − α·m_i (:func:`~amumo_ng.analysis.mean_shift.shift_modality`) for each α of
    ``alphas`` (default −1..1 step 0.1). O(k·(n_i + n_t)·d)."""
    img, txt = as_pair(image, text, min_rows=3, same_n=False)
    alphas = _alphas(alphas)
    mean = img.mean(axis=0, dtype=np.float64)
    c_text = conformity(txt)
    kl, rev, edges = np.empty(alphas.size), np.empty(alphas.size), []
    c_images = np.empty((alphas.size, img.shape[0]), dtype=np.float32)
    for k, alpha in enumerate(alphas):
        c_img = c_images[k] = conformity(shift_modality(img, alpha, mean))
        kl[k], e = histogram_kl(c_img, c_text, bins, smoothing)
        rev[k], _ = histogram_kl(c_text, c_img, edges=e, smoothing=smoothing)
        edges.append(e)
    return ConformityKL(alphas=alphas, kl=kl, kl_reverse=rev, edges=np.stack(edges), bins=int(bins),
                        smoothing=float(smoothing), image_conformity=c_images, text_conformity=c_text)


@dataclass(frozen=True)
class SetConformity:
    """Summary of one set's conformity values (dimensionless): ``name``, ``n``, ``mean``, ``std``
    (ddof=0), ``median``; ``values`` float32 [n] the per-sample conformities summarised."""

    name: str
    n: int
    mean: float
    std: float
    median: float
    values: np.ndarray


def _summary(name: str, values: np.ndarray) -> SetConformity:
    v = np.asarray(values, dtype=np.float32)
    return SetConformity(name=str(name), n=int(v.size), mean=float(v.mean(dtype=np.float64)),
                         std=float(v.std(dtype=np.float64)), median=float(np.median(v)), values=v)


def mean_conformity(sets: Mapping[str, object], reference=None) -> list[SetConformity]:
    """Mean conformity of several embedding sets of ONE model (one modality each), the paper's ranking
    of generators and captioners (Fig. 13). ``sets``: name -> raw vectors [n_s, d].

    ``reference`` None: each set's own :func:`conformity` (n_s >= 2); else [m, d] raw vectors, e.g. the
    real images: :func:`conformity_to` that reference, so every set is measured against one yardstick.
    Returns one :class:`SetConformity` per set, in the order given.
    """
    if not isinstance(sets, Mapping) or not sets:
        raise EmbeddingError("sets must be a non-empty mapping name -> vectors [n, d]")
    out = []
    for name, x in sets.items():
        out.append(_summary(name, conformity(x) if reference is None else conformity_to(x, reference)))
    return out


def grouped_conformity(x, labels: Sequence) -> list[SetConformity]:
    """Conformity of every row of raw ``x`` [n, d] within the WHOLE set, summarised per label
    (``labels`` [n], e.g. ``meta["anomaly"]`` of ``shapes``): which kinds of samples are typical.
    One :class:`SetConformity` per distinct label, in order of first appearance."""
    x = as_matrix(x, "vectors", min_rows=2)
    labels = np.asarray(labels, dtype=object)
    if labels.shape != (x.shape[0],):
        raise EmbeddingError(f"labels must have one entry per row ({x.shape[0]}), got shape {labels.shape}")
    values = conformity(x)
    seen = dict.fromkeys(labels.tolist())
    return [_summary(label, values[labels == label]) for label in seen]
