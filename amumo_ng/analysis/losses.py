"""Contrastive objectives of CLIP-like models: CLIP (InfoNCE), CyCLIP and CLOOB.

Two kinds of functions live here:

* Training objectives (:func:`clip_loss`, :func:`cyclip_loss`, :func:`cloob_loss` and their
  parts :func:`hopfield_retrieval`, :func:`info_loob`; CLOOB's InfoLOOB is scaled by τ = 1/inv_tau
  as in the reference code ml-jku/cloob). Given ``torch`` tensors they return a
  differentiable scalar tensor; given numpy arrays they return a Python float (computed with
  torch in float64). Inputs are raw embeddings [n, d]; every function L2-normalises rows first.
* The evaluation figure :func:`contrastive_loss` (numpy in, float out), which also reproduces
  the published Amumo / Liang et al. procedure with ``compat="amumo"``.

Losses are in nats (natural log), averaged over pairs (InfoLOOB: nats times τ).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validation import EmbeddingError, as_pair

__all__ = [
    "clip_loss",
    "cyclip_loss",
    "hopfield_retrieval",
    "info_loob",
    "cloob_loss",
    "contrastive_loss",
    "contrastive_terms",
    "ContrastiveTerms",
]


# -- helpers ----------------------------------------------------------------------------
def _to_torch(image, text, same_n: bool = True, names=("image embeddings", "text embeddings")):
    """(image, text, was_numpy): torch tensors, checked by :func:`as_pair`.

    Tensors are checked for shape only (they stay on their device, in the autograd graph); numpy
    input is fully validated (finite, no zero rows) and computed in float64 from the original values.
    """
    import torch

    if isinstance(image, torch.Tensor) and isinstance(text, torch.Tensor):
        as_pair(image, text, same_n=same_n, check_values=False, names=names)
        return image, text, False
    as_pair(image, text, same_n=same_n, names=names)  # validation only
    img = np.array(image, dtype=np.float64)
    txt = np.array(text, dtype=np.float64)
    return torch.from_numpy(img), torch.from_numpy(txt), True


def _normalize(x):
    return x / x.norm(dim=-1, keepdim=True)


def _check_scale(scale, name="logit_scale"):
    import torch

    value = float(scale.detach()) if isinstance(scale, torch.Tensor) else float(scale)
    if not math.isfinite(value) or value <= 0:
        raise EmbeddingError(f"{name} must be a positive finite number, got {value}")


def _out(loss, was_numpy):
    return float(loss) if was_numpy else loss


def _symmetric_infonce(img, txt, scale):
    """Mean of the image->text and text->image cross-entropies, rows already unit norm [n, d]."""
    import torch
    import torch.nn.functional as F

    logits = scale * img @ txt.T
    target = torch.arange(img.shape[0], device=img.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


# -- CLIP / CyCLIP ----------------------------------------------------------------------
def clip_loss(image, text, logit_scale):
    """Symmetric InfoNCE of CLIP.

    ``image``, ``text``: [n, d] raw embeddings of n aligned pairs (row i of each is pair i);
    ``logit_scale``: the multiplicative temperature s (e.g. 100; a tensor keeps it learnable).
    Returns ``0.5 * (CE_i->t + CE_t->i)`` with logits ``s * I_hat @ T_hat.T`` on unit rows.
    """
    _check_scale(logit_scale)
    img, txt, was_numpy = _to_torch(image, text)
    return _out(_symmetric_infonce(_normalize(img), _normalize(txt), logit_scale), was_numpy)


def cyclip_loss(image, text, logit_scale, lambda_in: float = 0.25, lambda_cross: float = 0.25):
    """CyCLIP (Goel et al. 2022): CLIP loss plus two cyclic-consistency regularisers.

    On unit rows I, T [n, d]::

        in_modal    = (1/n) * sum_jk (<I_j, I_k> - <T_j, T_k>)^2
        cross_modal = (1/n) * sum_jk (<I_j, T_k> - <I_k, T_j>)^2
        loss = clip_loss + lambda_in * in_modal + lambda_cross * cross_modal
    """
    _check_scale(logit_scale)
    img, txt, was_numpy = _to_torch(image, text)
    img, txt = _normalize(img), _normalize(txt)
    n = img.shape[0]
    clip = _symmetric_infonce(img, txt, logit_scale)
    in_modal = ((img @ img.T - txt @ txt.T) ** 2).sum() / n
    cross = img @ txt.T
    cross_modal = ((cross - cross.T) ** 2).sum() / n
    return _out(clip + lambda_in * in_modal + lambda_cross * cross_modal, was_numpy)


# -- CLOOB ------------------------------------------------------------------------------
def hopfield_retrieval(state, memory, beta: float):
    """Modern-Hopfield retrieval of CLOOB: ``U = normalise(softmax(beta * X @ M.T) @ M)``.

    ``state`` X [n, d] are the query patterns, ``memory`` M [m, d] the stored patterns (both
    L2-normalised first); the softmax runs over the m stored patterns. Returns unit rows [n, d].
    """
    import torch

    if not (math.isfinite(float(beta)) and float(beta) > 0):
        raise EmbeddingError(f"beta must be a positive finite number, got {beta}")
    x, m, was_numpy = _to_torch(state, memory, same_n=False, names=("state", "memory"))
    x, m = _normalize(x), _normalize(m)
    u = _normalize(torch.softmax(beta * x @ m.T, dim=-1) @ m)
    return u.numpy() if was_numpy else u


def info_loob(anchor, other, inv_tau: float):
    """InfoLOOB ("leave one out bound") of CLOOB, scaled by τ as in the CLOOB reference code.

    ``anchor`` A, ``other`` B [n, d] (L2-normalised first), τ = 1 / ``inv_tau``::

        loss = τ · (1/n) · sum_i [ log sum_{j != i} exp(inv_tau · <A_i, B_j>) − inv_tau · <A_i, B_i> ]

    The positive is left out of the denominator. This is ``infoLOOB_loss(x, y, i, inv_tau)`` of
    ml-jku/cloob (``src/training/methods.py``), which returns ``tau * (positives + negatives)``; the
    reference masks the positive with a logit of −1000 instead of −∞, the same value for
    inv_tau < ~1000. Without the factor τ (amumo-ng before this fix) the value is inv_tau times
    larger; the gradient direction is the same. Needs n >= 2.
    """
    import torch

    _check_scale(inv_tau, "inv_tau")
    a, b, was_numpy = _to_torch(anchor, other, names=("anchor", "other"))
    n = a.shape[0]
    if n < 2:
        raise EmbeddingError("InfoLOOB needs at least 2 pairs (the denominator leaves the positive out)")
    a, b = _normalize(a), _normalize(b)
    logits = inv_tau * a @ b.T
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    positives = logits.diagonal()
    negatives = torch.logsumexp(logits.masked_fill(eye, float("-inf")), dim=1)
    return _out((negatives - positives).mean() / inv_tau, was_numpy)


def cloob_loss(image, text, inv_tau: float = 30.0, beta: float = 8.0):
    """CLOOB (Fürst et al. 2022): InfoLOOB on Hopfield-retrieved embeddings, as the reference code.

    With X = images, Y = texts (unit rows, [n, d]) and retrieval R(state, memory)::

        U_x = R(X, X), U_y = R(Y, X)   # from the image memory
        V_x = R(X, Y), V_y = R(Y, Y)   # from the text memory
        loss = info_loob(U_x, U_y, inv_tau) + info_loob(V_y, V_x, inv_tau)

    i.e. the SUM of the two directions, each scaled by τ = 1/inv_tau (``cloob()`` of ml-jku/cloob,
    ``src/training/methods.py``: ``loss_img + loss_txt``). ``inv_tau`` is the fixed inverse
    temperature (30 in the paper), ``beta`` the Hopfield inverse temperature (8 in the paper).
    """
    img, txt, was_numpy = _to_torch(image, text)
    u_x = hopfield_retrieval(img, img, beta)
    u_y = hopfield_retrieval(txt, img, beta)
    v_x = hopfield_retrieval(img, txt, beta)
    v_y = hopfield_retrieval(txt, txt, beta)
    return _out(info_loob(u_x, u_y, inv_tau) + info_loob(v_y, v_x, inv_tau), was_numpy)


# -- evaluation -------------------------------------------------------------------------
def contrastive_loss(image, text, scale: float, batch_size: int | None = None, compat: str | None = None) -> float:
    """CLIP's contrastive loss of a set of pairs, as an evaluation figure (numpy in, float out).

    ``image``, ``text``: [n, d] raw embeddings (rows are L2-normalised here); ``scale``: the
    logit scale s (e.g. ``Embeddings.logit_scale``).

    ``compat=None`` (symmetric, correct): the mean of the image->text and text->image
    cross-entropies of ``s * I_hat @ T_hat.T``, over the whole set (``batch_size=None``) or
    per consecutive batch of ``batch_size`` pairs (the last, shorter batch included), averaged
    over pairs.

    ``compat="amumo"`` reproduces the published procedure of Amumo / Liang et al. (2022) exactly:
    consecutive batches of ``batch_size`` pairs (default 50), the remainder *dropped*; per batch
    ``logits_per_image = s * I @ T.T``, ``logits_per_text = s * T @ I.T``, and the loss
    ``(CE(logits_per_image) + CE(logits_per_text.T)) / 2``. Since ``logits_per_text.T`` *is*
    ``logits_per_image``, the "text" term repeats the image->text cross-entropy: the published
    figure is the image->text loss counted twice and never looks at text->image retrieval. That
    is its flaw; it is offered only to compare with published numbers. Batch losses are averaged.
    """
    img, txt = as_pair(image, text)
    s = float(scale)
    if not math.isfinite(s) or s <= 0:
        raise EmbeddingError(f"scale must be a positive finite number, got {scale}")
    n = img.shape[0]
    if batch_size is not None:
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise EmbeddingError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
    img = img.astype(np.float64)
    txt = txt.astype(np.float64)
    img /= np.linalg.norm(img, axis=1, keepdims=True)
    txt /= np.linalg.norm(txt, axis=1, keepdims=True)

    if compat is None:
        bs = n if batch_size is None else batch_size
        total = 0.0
        for start in range(0, n, bs):
            i_b, t_b = img[start:start + bs], txt[start:start + bs]
            total += 0.5 * sum(_symmetric_ce_sums(i_b, t_b, s))
        return float(total / n)
    if compat == "amumo":
        bs = 50 if batch_size is None else batch_size
        if bs > n:
            raise EmbeddingError(
                f'compat="amumo" uses whole batches of {bs} pairs and drops the remainder; '
                f"only {n} pairs were given (pass a smaller batch_size)"
            )
        k = n // bs
        d = img.shape[1]
        batches_i, batches_t = img[:k * bs].reshape(k, bs, d), txt[:k * bs].reshape(k, bs, d)
        losses = []
        step = max(1, (1 << 21) // (bs * bs))  # batches per stacked product (about 16 MB of logits)
        for b0 in range(0, k, step):
            i_b, t_b = batches_i[b0:b0 + step], batches_t[b0:b0 + step]
            logits_per_image = s * i_b @ t_b.transpose(0, 2, 1)
            logits_per_text = s * t_b @ i_b.transpose(0, 2, 1)
            losses.append(0.5 * (_ce_rows(logits_per_image) / bs
                                 + _ce_rows(logits_per_text.transpose(0, 2, 1)) / bs))
        return float(np.mean(np.concatenate(losses)))
    raise EmbeddingError(f'compat must be None or "amumo", got {compat!r}')


def _symmetric_ce_sums(image: np.ndarray, text: np.ndarray, scale: float, max_cells: int = 1 << 23,
                       device=None) -> tuple[float, float]:
    """(sum over i of CE(image i -> texts, target i), sum over i of CE(text i -> images, target i))
    of one batch of unit rows: :func:`symmetric_lse` (one exponential per logit, no n x n matrix).
    ``device``: None (numpy) or a torch device the batch is moved to; Python floats either way."""
    pos, row_lse, col_lse = symmetric_lse(image, text, scale, max_cells=max_cells, device=device)
    return float(row_lse.sum() - pos.sum()), float(col_lse.sum() - pos.sum())


#: A column whose maximum lies more than this below the largest row maximum of a chunk is summed
#: on its own (see :func:`symmetric_lse`); terms more than 40 below a column's maximum are < e^-40
#: of it, and float32 exponentials underflow below e^-87, so 87 - 40 = 47 keeps every term that counts.
_COLUMN_SAFE_SPAN = 47.0


def symmetric_lse(image_unit: np.ndarray, text_unit: np.ndarray, scale: float,
                  max_cells: int = 1 << 23, device=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positives, row log-sum-exps, column log-sum-exps), float64 [n] each, of the logits
    L = scale · Î Tᵀ of one batch of UNIT rows [n, d] (nats; the symmetric InfoNCE of pair k is
    ½(row_lse[k] + col_lse[k]) − positives[k]).

    One float32 exponential per logit: per row chunk, E = exp(L − m) with m the row maxima gives
    the row sums, and the column sums are the product w·E with w = exp(m − max m) (one matrix-vector
    product), combined across chunks with ``logaddexp``. A column whose maximum lies more than
    :data:`_COLUMN_SAFE_SPAN` below max m could have lost terms to float32 underflow; it is summed
    again on its own, shifted by its own maximum, so the result is exact to float32 rounding for
    any scale. Sums, logs and the combination in float64.

    ``device``: None (numpy, this code) or a torch device string
    (:func:`~amumo_ng.analysis.backend.array_device`): the batch is moved there and
    :func:`amumo_ng.analysis.backend.symmetric_lse` computes the same values (each row and column
    shifted by its own maximum), returned as float64 numpy arrays."""
    if device is not None:
        from .backend import symmetric_lse as device_symmetric_lse

        return device_symmetric_lse(image_unit, text_unit, scale, max_cells, device)
    n = image_unit.shape[0]
    rows = max(1, min(n, int(max_cells) // max(1, n)))
    img32 = np.ascontiguousarray(image_unit, dtype=np.float32) * np.float32(scale)
    txt32 = np.ascontiguousarray(text_unit, dtype=np.float32)
    positives = np.einsum("ij,ij->i", img32.astype(np.float64), txt32.astype(np.float64))
    row_lse = np.empty(n)
    col_lse = np.full(n, -np.inf)
    work = np.empty((rows, n), dtype=np.float32)
    for start in range(0, n, rows):
        logits = img32[start:start + rows] @ txt32.T
        r = logits.shape[0]
        e = work[:r]
        m = logits.max(axis=1)
        col_max = logits.max(axis=0)
        np.subtract(logits, m[:, None], out=e)
        np.exp(e, out=e)
        row_lse[start:start + r] = m.astype(np.float64) + np.log(e.sum(axis=1).astype(np.float64))
        top = float(m.max())
        w = np.exp(m.astype(np.float64) - top).astype(np.float32)
        with np.errstate(divide="ignore"):
            chunk_lse = top + np.log((w @ e).astype(np.float64))
        unsafe = np.flatnonzero(top - col_max > _COLUMN_SAFE_SPAN)
        if unsafe.size:
            cols = logits[:, unsafe] - col_max[unsafe][None, :]
            chunk_lse[unsafe] = col_max[unsafe].astype(np.float64) + np.log(
                np.exp(cols).sum(axis=0, dtype=np.float64))
        np.logaddexp(col_lse, chunk_lse, out=col_lse)
    return positives, row_lse, col_lse


@dataclass(frozen=True)
class ContrastiveTerms:
    """Per-pair pieces of CLIP's symmetric InfoNCE over ONE batch of n pairs, float64 [n] each (nats).

    With logits L = s · Î Tᵀ (unit rows, s = 1/τ the logit scale):
    ``positives[k]`` = L[k, k] = cos(i_k, t_k)/τ; ``image_lse[k]`` = log Σ_j exp L[k, j] (image k
    against every text); ``text_lse[k]`` = log Σ_j exp L[j, k] (text k against every image);
    ``correct[k]`` (bool): image k retrieves text k first, i.e. no other text scores at least as high
    (ties count as errors, as :func:`~amumo_ng.analysis.retrieval.topk_accuracy`).
    The loss of pair k is ``0.5·(image_lse + text_lse) − positives``: uniformity minus alignment.
    """

    positives: np.ndarray
    image_lse: np.ndarray
    text_lse: np.ndarray
    correct: np.ndarray

    @property
    def alignment(self) -> np.ndarray:
        """−cos(i_k, t_k)/τ per pair [n] (Wang & Isola's alignment term of the loss)."""
        return -self.positives

    @property
    def uniformity(self) -> np.ndarray:
        """½·(image_lse + text_lse) per pair [n] (the two log-sum-exp halves)."""
        return 0.5 * (self.image_lse + self.text_lse)

    @property
    def loss(self) -> np.ndarray:
        """Per-pair symmetric cross-entropy [n]; its mean is :func:`contrastive_loss` of the batch."""
        return self.uniformity + self.alignment


def contrastive_terms(image_unit: np.ndarray, text_unit: np.ndarray, scale: float,
                      max_cells: int = 1 << 23, with_correct: bool = True) -> ContrastiveTerms:
    """:class:`ContrastiveTerms` of one batch of UNIT rows ``image_unit``, ``text_unit`` [n, d].

    One pass over row chunks of the logits ``scale * image @ text.T`` (at most ``max_cells`` logits
    at a time, default 8M = 32 MB of float32): row log-sum-exps directly, column log-sum-exps with an
    online (running max, rescaled sum) update, so the whole-set terms at n = 10,000-100,000 need no
    n x n matrix and one matrix product. Products, shifts and exponentials in float32 (each shifted
    by its row's or column's running maximum, so nothing overflows; |error| < 1e-6 * scale per
    logit), sums and logs in float64. ``with_correct=False`` skips the top-1 test (``correct`` is
    then all False) for callers that only need the loss. Callers validate and normalise (see
    :func:`contrastive_loss`).
    """
    n = image_unit.shape[0]
    rows = max(1, min(n, int(max_cells) // max(1, n)))
    img32 = np.ascontiguousarray(image_unit, dtype=np.float32)
    txt32 = np.ascontiguousarray(text_unit, dtype=np.float32)
    s32 = np.float32(scale)
    col_max = np.full(n, -np.inf)
    col_sum = np.zeros(n)
    positives = np.empty(n)
    image_lse = np.empty(n)
    correct = np.zeros(n, dtype=bool)
    work = np.empty((rows, n), dtype=np.float32)
    for start in range(0, n, rows):
        logits = img32[start:start + rows] @ txt32.T
        logits *= s32
        r = logits.shape[0]
        shifted = work[:r]
        pos = logits[np.arange(r), np.arange(start, start + r)]
        m = logits.max(axis=1)
        np.subtract(logits, m[:, None], out=shifted)
        np.exp(shifted, out=shifted)
        image_lse[start:start + r] = m.astype(np.float64) + np.log(shifted.sum(axis=1, dtype=np.float64))
        positives[start:start + r] = pos
        if with_correct:
            correct[start:start + r] = (logits >= pos[:, None]).sum(axis=1) == 1
        new_max = np.maximum(col_max, logits.max(axis=0).astype(np.float64))
        np.subtract(logits, new_max.astype(np.float32)[None, :], out=shifted)
        np.exp(shifted, out=shifted)
        col_sum = col_sum * np.exp(col_max - new_max) + shifted.sum(axis=0, dtype=np.float64)
        col_max = new_max
    return ContrastiveTerms(positives=positives, image_lse=image_lse, text_lse=col_max + np.log(col_sum),
                            correct=correct)


def _ce_rows(logits: np.ndarray) -> np.ndarray:
    """Per batch b of ``logits`` [k, m, m]: sum over rows i of CE(row i, target i) (float64 [k])."""
    m = logits.max(axis=2, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=2))
    return (lse - np.diagonal(logits, axis1=1, axis2=2)).sum(axis=1)
