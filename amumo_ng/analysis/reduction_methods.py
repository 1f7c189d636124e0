"""Linear maps from D to D′ < D dimensions, fitted on training pairs: PCA, truncated SVD, a Gaussian
random projection and a linear map trained with the CLIP contrastive loss.

Every map is fitted on the L2-normalised rows of the training vectors (retrieval compares cosines) and
its :meth:`LinearReduction.transform` normalises the rows it is given before projecting, so raw and
unit vectors give the same result. One map serves both modalities: image and text rows are projected
by the same matrix, otherwise their cosines in the reduced space would mean nothing.

- ``pca``: the top D′ eigenvectors of the covariance of the stacked training rows [Î; T̂] [2n, D]
  (rows centred on their joint mean, which is subtracted again before projecting).
- ``svd``: truncated SVD without centring: the top D′ right singular vectors of [Î; T̂] (the
  eigenvectors of the uncentred second moment), as scikit-learn's ``TruncatedSVD``.
- ``random``: a Gaussian random projection, entries N(0, 1/D′) (Johnson–Lindenstrauss; the
  training rows are not used, only the seed).
- ``contrastive``: a matrix W [D, D′] trained by Adam on the symmetric InfoNCE (CLIP) loss of the
  projected training pairs, started from the uncentred PCA (``svd``) basis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reduction_torch import TRAIN_THREADS, torch_threads
from .validation import EmbeddingError, as_matrix, l2_normalize, row_chunks

__all__ = ["LinearReduction", "fit_pca", "fit_svd", "fit_random_projection", "fit_contrastive_linear",
           "check_dim"]


@dataclass(frozen=True)
class LinearReduction:
    """``x ↦ (x̂ − mean) @ components``: ``components`` float32 [D, D′] (orthonormal columns for
    pca/svd), ``mean`` float32 [D] (zeros unless ``pca``), ``method`` the name it was fitted by."""

    method: str
    components: np.ndarray
    mean: np.ndarray

    @property
    def dim(self) -> int:
        """D′, the reduced dimension."""
        return int(self.components.shape[1])

    @property
    def input_dim(self) -> int:
        """D, the dimension of the vectors it reduces."""
        return int(self.components.shape[0])

    def transform(self, x) -> np.ndarray:
        """Reduce ``x`` [n, D] (raw or unit; rows are L2-normalised first) to float32 [n, D′]."""
        x = as_matrix(x, "vectors to reduce")
        if x.shape[1] != self.input_dim:
            raise EmbeddingError(f"this {self.method} map reduces D = {self.input_dim} vectors, got D = {x.shape[1]}")
        out = np.empty((x.shape[0], self.dim), dtype=np.float32)
        for start, stop in row_chunks(*x.shape):
            out[start:stop] = (l2_normalize(x[start:stop]) - self.mean) @ self.components
        return out


def check_dim(dim, input_dim: int) -> int:
    """``dim`` as an int in 1..``input_dim``; :class:`EmbeddingError` naming D′ and D otherwise."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= int(dim) <= int(input_dim):
        raise EmbeddingError(f"D′ must be an integer in 1..D = {input_dim}, got {dim!r}")
    return int(dim)


def _second_moment(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(1/m) Σ (r − mean)(r − mean)ᵀ [D, D]: float32 products of row blocks (unit rows: entries <= 1),
    summed in float64."""
    d = rows.shape[1]
    moment = np.zeros((d, d), dtype=np.float64)
    centre = mean.astype(np.float32)
    for start, stop in row_chunks(*rows.shape, chunk_bytes=8 * 2**20):
        block = rows[start:stop] - centre
        moment += block.T @ block
    return moment / rows.shape[0]


def _top_eigenvectors(moment: np.ndarray, dim: int) -> np.ndarray:
    """The ``dim`` eigenvectors of largest eigenvalue, float32 [D, dim], each signed so that its
    entry of largest magnitude is positive (a deterministic sign)."""
    from scipy.linalg import eigh

    d = moment.shape[0]
    values, vectors = eigh(moment, subset_by_index=[d - dim, d - 1], driver="evr")  # only the top dim
    top = vectors[:, np.argsort(values)[::-1]]
    signs = np.sign(top[np.argmax(np.abs(top), axis=0), np.arange(dim)])
    return (top * np.where(signs == 0, 1.0, signs)).astype(np.float32)


def _stacked_units(image, text) -> np.ndarray:
    rows = [l2_normalize(as_matrix(m, name)) for m, name in ((image, "image embeddings"), (text, "text embeddings"))]
    if rows[0].shape[1] != rows[1].shape[1]:
        raise EmbeddingError(f"image and text embeddings differ in dimension: {rows[0].shape[1]} vs {rows[1].shape[1]}")
    return np.concatenate(rows)


def fit_pca(image, text, dim: int) -> LinearReduction:
    """PCA of the stacked unit training rows [Î; T̂]: the top ``dim`` principal axes, centred on
    their joint mean. ``image``, ``text``: [n, D] (n >= 1 each, 2n >= 2)."""
    rows = _stacked_units(image, text)
    dim = check_dim(dim, rows.shape[1])
    mean = rows.mean(axis=0, dtype=np.float64)
    components = _top_eigenvectors(_second_moment(rows, mean), dim)
    return LinearReduction("pca", components, mean.astype(np.float32))


def fit_svd(image, text, dim: int) -> LinearReduction:
    """Truncated SVD of the stacked unit training rows [Î; T̂] WITHOUT centring: the top ``dim``
    right singular vectors (eigenvectors of Σ r rᵀ), so the modality mean stays in the map."""
    rows = _stacked_units(image, text)
    dim = check_dim(dim, rows.shape[1])
    zero = np.zeros(rows.shape[1], dtype=np.float64)
    return LinearReduction("svd", _top_eigenvectors(_second_moment(rows, zero), dim), zero.astype(np.float32))


def fit_random_projection(input_dim: int, dim: int, seed: int = 0) -> LinearReduction:
    """A Gaussian random projection D → ``dim``: entries drawn i.i.d. N(0, 1/dim) from
    ``numpy.random.default_rng(seed)``, so squared lengths are kept in expectation (JL lemma)."""
    if isinstance(input_dim, bool) or int(input_dim) != input_dim or input_dim < 1:
        raise EmbeddingError(f"the input dimension D must be a positive integer, got {input_dim!r}")
    dim = check_dim(dim, int(input_dim))
    rng = np.random.default_rng(seed)
    components = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(int(input_dim), dim)).astype(np.float32)
    return LinearReduction("random", components, np.zeros(int(input_dim), dtype=np.float32))


def fit_contrastive_linear(image, text, dim: int, *, logit_scale: float = 30.0, epochs: int = 20,
                           batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
                           threads: int = TRAIN_THREADS) -> LinearReduction:
    """A linear map W [D, dim] trained on the CLIP loss of the projected pairs (Î W, T̂ W).

    Starts from the :func:`fit_svd` basis; Adam (``lr``) over ``epochs`` passes of shuffled batches
    of ``batch_size`` pairs (torch on the CPU, generator seeded by ``seed``, float32).
    ``logit_scale``: the fixed multiplicative temperature of the loss (the model's own is a good
    choice); ``threads``: torch intra-op threads while it trains (:func:`~.reduction_torch.torch_threads`).
    ``image``, ``text``: aligned training pairs [n, D], n >= 2.
    """
    import torch

    from .losses import clip_loss

    img = l2_normalize(as_matrix(image, "image embeddings", min_rows=2))
    txt = l2_normalize(as_matrix(text, "text embeddings", min_rows=2))
    if img.shape != txt.shape:
        raise EmbeddingError(f"aligned pairs need equal shapes, got {img.shape} and {txt.shape}")
    dim = check_dim(dim, img.shape[1])
    if not np.isfinite(logit_scale) or logit_scale <= 0:
        raise EmbeddingError(f"logit_scale must be a positive finite number, got {logit_scale!r}")
    start = fit_svd(img, txt, dim).components
    generator = torch.Generator().manual_seed(int(seed))
    weight = torch.nn.Parameter(torch.from_numpy(start.copy()))
    optimizer = torch.optim.Adam([weight], lr=lr)
    img_t, txt_t = torch.from_numpy(img), torch.from_numpy(txt)
    n = img.shape[0]
    with torch_threads(threads):
        for _ in range(int(epochs)):
            order = torch.randperm(n, generator=generator)
            for s in range(0, n, int(batch_size)):
                batch = order[s:s + int(batch_size)]
                if batch.numel() < 2:
                    continue
                loss = clip_loss(img_t[batch] @ weight, txt_t[batch] @ weight, float(logit_scale))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return LinearReduction("contrastive", weight.detach().numpy().astype(np.float32),
                           np.zeros(img.shape[1], dtype=np.float32))
