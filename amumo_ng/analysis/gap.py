"""The modality gap: its vector, closing it (Amumo) and shifting along it (Liang et al., 2022).

All functions take raw float arrays ``image``, ``text`` [n, d] (aligned pairs) and work on their
L2-normalised rows: the gap vector is ``Δ = mean(Î) − mean(T̂)`` and its length is the gap distance
(unitless, in the embedding's unit-sphere coordinates). Shifted embeddings are returned re-normalised.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .validation import EmbeddingError, as_pair, finite_number, l2_normalize, row_chunks, unit_rows

#: Default δ grid of :func:`gap_loss_curve`: −5..5 in steps of 0.25 (41 values).
DEFAULT_DELTAS = np.round(np.arange(-5.0, 5.0 + 1e-9, 0.25), 10)

#: Shifted rows shorter than this have no usable direction.
_MIN_NORM = 1e-6


@dataclass(frozen=True)
class ModalityGap:
    """``vector``: Δ = mean(Î) − mean(T̂), float32 [d]; ``distance``: ‖Δ‖ (float, 0 ≤ distance ≤ 2)."""

    vector: np.ndarray
    distance: float

    @property
    def direction(self) -> np.ndarray:
        """ĝ = Δ / ‖Δ‖, float32 [d]; raises :class:`EmbeddingError` when the gap is zero."""
        if self.distance <= 0.0:
            raise EmbeddingError("the modality gap is zero: it has no direction to shift along")
        return (self.vector / np.float32(self.distance)).astype(np.float32)


def _gap_of_units(img_u: np.ndarray, txt_u: np.ndarray) -> ModalityGap:
    """Gap of already-normalised rows (means accumulated in float64)."""
    vector = img_u.mean(axis=0, dtype=np.float64) - txt_u.mean(axis=0, dtype=np.float64)
    return ModalityGap(vector=vector.astype(np.float32), distance=float(np.linalg.norm(vector)))


def modality_gap(image, text) -> ModalityGap:
    """The modality gap of aligned pairs: Δ = mean(normalised image rows) − mean(normalised text rows).

    ``image``, ``text``: raw float arrays [n, d], n >= 1. Returns :class:`ModalityGap`.
    """
    img, txt = as_pair(image, text)
    return _gap_of_units(unit_rows(img), unit_rows(txt))  # unit rows are read without a copy


def _renormalize(x: np.ndarray, what: str) -> np.ndarray:
    """L2-normalise shifted rows IN PLACE (float32 ``x``; blocks of rows, no temporaries of its
    size), refusing rows that the shift collapsed to (near) zero."""
    x = np.asarray(x, dtype=np.float32)
    for start, stop in row_chunks(*x.shape):
        block = x[start:stop]
        norms = np.linalg.norm(block, axis=1)
        if np.any(norms < _MIN_NORM):
            row = start + int(np.flatnonzero(norms < _MIN_NORM)[0])
            raise EmbeddingError(f"{what}: the shift moved row {row} onto the origin; it has no direction")
        block /= norms[:, None]
    return x


def _shift_units(img_u: np.ndarray, txt_u: np.ndarray, offset: np.ndarray,
                 inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(normalise(Î − offset), normalise(T̂ + offset))`` for a float32 offset [d]; ``inplace``
    overwrites the (caller-owned float32) inputs instead of allocating two new arrays."""
    if inplace:
        np.subtract(img_u, offset, out=img_u)
        np.add(txt_u, offset, out=txt_u)
        return _renormalize(img_u, "image embeddings"), _renormalize(txt_u, "text embeddings")
    return (_renormalize(img_u - offset, "image embeddings"),
            _renormalize(txt_u + offset, "text embeddings"))


def close_gap(image, text, gap: Optional[ModalityGap] = None) -> tuple[np.ndarray, np.ndarray]:
    """Amumo's "close the gap": I' = normalise(Î − Δ/2), T' = normalise(T̂ + Δ/2).

    Moves both modalities half the gap towards each other, then back onto the unit sphere; the
    re-normalisation leaves a residual gap, ``modality_gap(*close_gap(i, t)).distance``, that is
    much smaller than the original one but usually not zero.
    ``image``, ``text``: raw float arrays [n, d]. ``gap``: the :class:`ModalityGap` whose Δ is
    applied; default: the gap of these pairs. Pass the gap of a subset (Amumo closes the gap of
    the pairs shown) to shift every pair by that subset's Δ. Returns two unit float32 arrays [n, d].
    """
    img, txt = as_pair(image, text)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    if gap is None:
        gap = _gap_of_units(img_u, txt_u)
    vector = np.asarray(gap.vector, dtype=np.float32)
    if vector.shape != (img.shape[1],):
        raise EmbeddingError(f"gap vector has shape {vector.shape}; the embeddings have d = {img.shape[1]}")
    return _shift_units(img_u, txt_u, vector / np.float32(2.0), inplace=True)


def shift_gap(image, text, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Liang et al.'s shift along the gap direction ĝ = Δ/‖Δ‖ by a distance ``delta``.

    I' = normalise(Î − δ/2·ĝ), T' = normalise(T̂ + δ/2·ĝ). δ > 0 moves the modalities towards each
    other (and past each other for large δ), δ < 0 apart, δ = 0 only normalises.
    ``image``, ``text``: raw float arrays [n, d]; ``delta``: finite float (unit-sphere units).
    Returns two unit float32 arrays [n, d]. Raises :class:`EmbeddingError` when Δ = 0.
    """
    img, txt = as_pair(image, text)
    delta = _check_delta(delta)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    direction = _gap_of_units(img_u, txt_u).direction
    return _shift_units(img_u, txt_u, np.float32(delta / 2.0) * direction, inplace=True)


def _check_delta(delta) -> float:
    return finite_number(delta, "delta")


@dataclass(frozen=True)
class GapCurve:
    """Contrastive loss as the modalities are shifted along the gap direction.

    ``deltas``: float64 [k] shift distances δ; ``distances``: float64 [k] *signed* gap distance after
    the shift, ``sign(⟨Δ', ĝ⟩)·‖Δ'‖`` (negative once the modalities have swapped sides);
    ``losses``: float64 [k] loss of the shifted embeddings.
    """

    deltas: np.ndarray
    distances: np.ndarray
    losses: np.ndarray


def gap_loss_curve(
    image,
    text,
    scale: float,
    deltas=None,
    batch_size: Optional[int] = None,
    compat: Optional[str] = None,
    *,
    loss_fn: Optional[Callable[[np.ndarray, np.ndarray], float]] = None,
    progress: bool = False,
) -> GapCurve:
    """Loss and signed gap distance for each shift δ of :func:`shift_gap` (Liang et al., Fig. 3).

    ``image``, ``text``: raw float arrays [n, d]; ``scale``: the logit scale (temperature⁻¹) passed to
    :func:`amumo_ng.analysis.losses.contrastive_loss` together with ``batch_size`` and ``compat``;
    ``deltas``: 1-D finite floats (default :data:`DEFAULT_DELTAS`, −5..5 step 0.25).
    ``loss_fn(image_unit, text_unit) -> float`` replaces the contrastive loss when given (then
    ``scale``, ``batch_size`` and ``compat`` are unused). ``progress`` shows a tqdm bar.
    """
    img, txt = as_pair(image, text)
    deltas = DEFAULT_DELTAS if deltas is None else np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 1 or deltas.size == 0 or not np.all(np.isfinite(deltas)):
        raise EmbeddingError(f"deltas must be a non-empty 1-D array of finite numbers, got {deltas!r}")
    if loss_fn is None:
        from .losses import contrastive_loss

        def loss_fn(i_unit, t_unit):
            return contrastive_loss(i_unit, t_unit, scale, batch_size=batch_size, compat=compat)

    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    direction = _gap_of_units(img_u, txt_u).direction
    distances = np.empty(deltas.size)
    losses = np.empty(deltas.size)
    from tqdm.auto import tqdm

    for k, delta in enumerate(tqdm(deltas, desc="gap shift", disable=not progress)):
        shifted_img, shifted_txt = _shift_units(img_u, txt_u, np.float32(delta / 2.0) * direction)
        gap = _gap_of_units(shifted_img, shifted_txt)
        distances[k] = np.sign(float(gap.vector.astype(np.float64) @ direction)) * gap.distance
        losses[k] = float(loss_fn(shifted_img, shifted_txt))
    return GapCurve(deltas=deltas.copy(), distances=distances, losses=losses)
