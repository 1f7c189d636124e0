"""The CLIP loss as the image ellipsoid is moved along its mean (Levi & Gilboa, Eq. 7-9, Fig. 6).

Images are shifted v_i' = v_i − α·m_i (m_i the mean RAW image vector; α = 0 is the trained model,
α = 1 centres the image shell on the origin, α < 0 pushes it further out), texts are unchanged. Each
shifted set is L2-normalised and its symmetric InfoNCE (logit scale s = 1/τ) is split into
alignment −E[cos(i_k, t_k)/τ] and uniformity E[½ log Σ_j e^{L_kj} + ½ log Σ_j e^{L_jk}], and the pairs
into those that top-1 image→text retrieval gets right and wrong. Losses are in nats per pair.
The whole set is ONE batch by default (as the paper's 5k MS-COCO batch), computed exactly in row
chunks with no n×n matrix (:func:`~amumo_ng.analysis.losses.contrastive_terms`); ``batch_size``
states consecutive batches instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .losses import contrastive_terms
from .validation import EmbeddingError, as_matrix, as_pair, finite_number, l2_normalize

__all__ = ["DEFAULT_ALPHAS", "shift_modality", "MeanShiftCurve", "mean_shift_loss"]

#: Default α grid: −1..1 in steps of 0.1 (21 values, α = 0 included exactly).
DEFAULT_ALPHAS = np.round(np.linspace(-1.0, 1.0, 21), 10)


def _alphas(alphas) -> np.ndarray:
    a = DEFAULT_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise EmbeddingError(f"alphas must be a non-empty 1-D array of finite numbers, got {alphas!r}")
    return a.copy()


def shift_modality(x, alpha: float, mean=None) -> np.ndarray:
    """v − α·m for raw vectors ``x`` [n, d] (float32 [n, d], raw units): ``mean`` m [d] defaults to the
    mean of ``x``. Raises :class:`EmbeddingError` when the shift puts a row on the origin (‖v − α·m‖ ≤
    1e-6·|α|·‖m‖, float32 precision: it would have no direction for a cosine)."""
    x = as_matrix(x, "vectors", allow_zero_rows=True)
    alpha = finite_number(alpha, "alpha")
    m = x.mean(axis=0, dtype=np.float64) if mean is None else np.asarray(mean, dtype=np.float64)
    if m.shape != (x.shape[1],):
        raise EmbeddingError(f"mean has shape {m.shape}; the vectors have d = {x.shape[1]}")
    out = (x.astype(np.float64) - alpha * m).astype(np.float32)
    # a row that coincides with α·m to float32 precision lands on the origin
    floor = 1e-6 * abs(alpha) * float(np.linalg.norm(m))
    zero = np.flatnonzero(np.linalg.norm(out, axis=1) <= floor)
    if zero.size:
        raise EmbeddingError(f"the shift by alpha = {alpha:g} puts {zero.size} row(s) on the origin "
                             f"(first: row {zero[0]}); they have no direction")
    return out


@dataclass(frozen=True)
class MeanShiftCurve:
    """Loss of the image-shifted pairs for each α, float64 [k] per field (nats per pair).

    ``total``/``alignment``/``uniformity``: over all n pairs (total = alignment + uniformity, with
    alignment = −E[cos/τ] ≤ 0 for positive cosines); ``correct_*`` / ``misclassified_*``: the same
    means over the pairs that top-1 image→text retrieval gets right / wrong (ties count as wrong).
    The split is made once at α = 0 (``split="fixed"``: the same pairs on every α, the paper's reading)
    or at each α (``split="each"``); a mean over an empty subset is NaN (``n_correct`` tells).
    ``accuracy``: top-1 image→text accuracy at each α; ``n_correct`` int64 [k]: size of the correct
    subset used at each α. ``batch_size``: None when the whole set was one batch, else the stated
    batch (consecutive, the last one shorter). ``logit_scale`` s = 1/τ.
    """

    alphas: np.ndarray
    total: np.ndarray
    alignment: np.ndarray
    uniformity: np.ndarray
    correct: np.ndarray
    correct_alignment: np.ndarray
    correct_uniformity: np.ndarray
    misclassified: np.ndarray
    misclassified_alignment: np.ndarray
    misclassified_uniformity: np.ndarray
    accuracy: np.ndarray
    n_correct: np.ndarray
    n: int
    split: str
    batch_size: int | None
    logit_scale: float

    @property
    def best_alpha(self) -> float:
        """α of the lowest total loss on the grid."""
        return float(self.alphas[int(np.argmin(self.total))])


def _terms(img_u: np.ndarray, txt_u: np.ndarray, scale: float, batch: int | None, max_cells: int):
    """(alignment, uniformity, correct) per pair [n], batch by batch (one batch when ``batch`` is None)."""
    n = img_u.shape[0]
    bs = n if batch is None else batch
    align, unif, correct = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    for start in range(0, n, bs):
        t = contrastive_terms(img_u[start:start + bs], txt_u[start:start + bs], scale, max_cells=max_cells)
        sl = slice(start, start + t.positives.size)
        align[sl], unif[sl], correct[sl] = t.alignment, t.uniformity, t.correct
    return align, unif, correct


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else float("nan")


def mean_shift_loss(image, text, logit_scale: float, alphas=None, *, split: str = "fixed",
                    batch_size: int | None = None, max_cells: int = 1 << 23) -> MeanShiftCurve:
    """:class:`MeanShiftCurve` of raw aligned pairs ``image``, ``text`` [n, d] (n >= 3, no zero rows).

    ``logit_scale``: s = 1/τ (e.g. ``Embeddings.logit_scale``; CLIP ViT-B/32: 100); ``alphas``: 1-D
    finite floats (default :data:`DEFAULT_ALPHAS`, −1..1 step 0.1); ``split``: "fixed" (classify at
    α = 0) or "each"; ``batch_size``: None (whole set, exact) or a positive int; ``max_cells``: logits
    held at once (memory ≈ 8 bytes × max_cells). Cost O(k·n²·d) for k alphas (O(k·n·batch·d) batched).
    """
    img, txt = as_pair(image, text, min_rows=3)
    s = finite_number(logit_scale, "logit_scale")
    if s <= 0:
        raise EmbeddingError(f"logit_scale must be positive, got {logit_scale}")
    alphas = _alphas(alphas)
    if split not in ("fixed", "each"):
        raise EmbeddingError(f'split must be "fixed" or "each", got {split!r}')
    if batch_size is not None:
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 2:
            raise EmbeddingError(f"batch_size must be an integer >= 2 or None, got {batch_size!r}")
        batch_size = None if int(batch_size) >= img.shape[0] else int(batch_size)
    mean = img.mean(axis=0, dtype=np.float64)
    txt_u = l2_normalize(txt)
    fixed = None
    if split == "fixed":
        fixed = _terms(l2_normalize(img), txt_u, s, batch_size, max_cells)[2]
    fields = {name: np.empty(alphas.size) for name in (
        "total", "alignment", "uniformity", "correct", "correct_alignment", "correct_uniformity",
        "misclassified", "misclassified_alignment", "misclassified_uniformity", "accuracy")}
    n_correct = np.empty(alphas.size, dtype=np.int64)
    for k, alpha in enumerate(alphas):
        shifted = shift_modality(img, alpha, mean)
        align, unif, correct_now = _terms(l2_normalize(shifted), txt_u, s, batch_size, max_cells)
        correct = fixed if fixed is not None else correct_now
        loss = align + unif
        every = np.ones(loss.size, dtype=bool)
        for prefix, mask in (("", every), ("correct", correct), ("misclassified", ~correct)):
            fields[prefix or "total"][k] = _mean(loss, mask)
            fields[f"{prefix}_alignment" if prefix else "alignment"][k] = _mean(align, mask)
            fields[f"{prefix}_uniformity" if prefix else "uniformity"][k] = _mean(unif, mask)
        fields["accuracy"][k] = float(correct_now.mean())
        n_correct[k] = int(correct.sum())
    return MeanShiftCurve(alphas=alphas, n_correct=n_correct, n=int(img.shape[0]), split=split,
                          batch_size=batch_size, logit_scale=s, **fields)
