"""Shifting the modalities along the gap: the session's applied shift and its loss curve.

Liang et al.'s (and Amumo's) gap-shift experiment moves both modalities along the gap direction
ĝ = Δ/‖Δ‖ of the pairs the readout is about (:meth:`Session.gap_pairs`): with a signed shift δ
(unit-sphere units), I' = normalise(Î − δ/2·ĝ) and T' = normalise(T̂ + δ/2·ĝ). δ = ‖Δ‖ is Amumo's
"close the gap", δ = 0 the model as trained, δ < 0 widens the gap.

The session applies a shift as ``gap_closed`` with ``gap_fraction`` = δ/‖Δ‖ (so the closing the
views already know is the fraction 1). :meth:`GapShiftMixin.gap_shift_curve` is the loss at a grid
of shifts, the symmetric loss exact per batch of :data:`~.readouts.LOSS_FULL_BATCH_LIMIT` pairs
(the batch is stated), Amumo's compat loss as published (batches of 50), with progress and a
cancel check between shifts and batches: at 100,000 pairs it runs in the background.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import traitlets as t

from ..analysis.validation import EmbeddingError

#: Shifts of the default grid, as multiples of the gap distance ‖Δ‖: from twice the gap (−1) through
#: the model (0) and the closed gap (1) to the modalities swapped by as much as they were apart
#: (2). Past about 2‖Δ‖ both modalities have collapsed onto ±ĝ and the curve carries no information.
SHIFT_RANGE = (-1.0, 2.0)
#: Points of the default grid (a step of 0.1·‖Δ‖: 0 and ‖Δ‖ are grid points).
SHIFT_STEPS = 31


@dataclass(frozen=True)
class GapShiftCurve:
    """Loss of the pairs read out against the signed shift δ along their gap direction.

    ``deltas``: float64 [k] shifts (unit-sphere units); ``distances``: float64 [k] signed gap after
    the shift, sign(⟨Δ', ĝ⟩)·‖Δ'‖ (negative once the modalities swapped sides); ``losses``: float64 [k]
    symmetric InfoNCE (nats), exact over all pairs or per consecutive batch of ``loss_batch_size``;
    ``compat_losses``: float64 [k] Amumo's published procedure (batches of 50, remainder dropped;
    NaN below 50 pairs); ``gap_distance``: ‖Δ‖ before any shift; ``n``: pairs.
    """

    deltas: np.ndarray
    distances: np.ndarray
    losses: np.ndarray
    compat_losses: np.ndarray
    gap_distance: float
    n: int
    loss_batch_size: Optional[int]
    model: str


def shift_grid(gap_distance: float, steps: int = SHIFT_STEPS) -> np.ndarray:
    """float64 [steps]: ``gap_distance``·linspace(*SHIFT_RANGE, steps), rounded so that 0 and
    ``gap_distance`` land exactly on the grid when the step allows."""
    if not (np.isfinite(gap_distance) and gap_distance > 0):
        raise EmbeddingError(f"the gap distance must be a positive number, got {gap_distance!r}")
    if int(steps) < 2:
        raise EmbeddingError(f"a shift grid needs at least 2 points, got {steps!r}")
    fractions = np.round(np.linspace(*SHIFT_RANGE, int(steps)), 12)
    return fractions * float(gap_distance)


def _signed_gap(img_u, txt_u, half: np.ndarray, direction: np.ndarray) -> float:
    """sign(⟨Δ', ĝ⟩)·‖Δ'‖ of the rows shifted by ``half`` (chunked, no shifted copy of all rows)."""
    from .readouts import _closed_gap_vector

    vector = _closed_gap_vector(img_u, txt_u, half)
    return float(np.sign(vector @ direction) * np.linalg.norm(vector))


def loss_at_shifts(img_u, txt_u, logit_scale: float, deltas, *,
                   progress: Optional[Callable[[int, int], None]] = None,
                   cancel: Optional[threading.Event] = None) -> tuple:
    """(gap distance, signed distances [k], symmetric losses [k], compat losses [k], batch) of aligned
    unit rows ``img_u``, ``txt_u`` [n, d] (n >= 2) at each shift of ``deltas`` [k] (see the module
    docstring). ``progress(done, total)`` after each shift; ``cancel`` stops between batches
    with :class:`~.readouts.ReadoutCancelled`."""
    from ..analysis.gap import modality_gap
    from .readouts import LOSS_FULL_BATCH_LIMIT, ReadoutCancelled, _compat_chunked, _symmetric_batched

    n = int(img_u.shape[0])
    if n < 2:
        raise EmbeddingError(f"the gap-shift chart needs at least 2 pairs (a loss over 1 pair is always 0), got {n}")
    deltas = np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 1 or deltas.size == 0 or not np.all(np.isfinite(deltas)):
        raise EmbeddingError(f"shifts must be a non-empty 1-D array of finite numbers, got {deltas!r}")
    gap = modality_gap(img_u, txt_u)
    if not gap.distance > 0:
        raise EmbeddingError("the modalities' means coincide (Δ = 0): there is no gap direction to shift along")
    direction = np.asarray(gap.direction, np.float32)
    batch = None if n <= LOSS_FULL_BATCH_LIMIT else LOSS_FULL_BATCH_LIMIT

    def tick():
        if cancel is not None and cancel.is_set():
            raise ReadoutCancelled("gap-shift curve cancelled")

    out = np.full((3, deltas.size), np.nan)
    for k, delta in enumerate(deltas):
        half = np.float32(delta / 2.0) * direction
        out[0, k] = _signed_gap(img_u, txt_u, half, direction)
        out[1, k] = _symmetric_batched(img_u, txt_u, float(logit_scale), batch, half, tick)
        if n >= 50:
            out[2, k] = _compat_chunked(img_u, txt_u, float(logit_scale), half)
        if progress is not None:
            progress(k + 1, deltas.size)
    return float(gap.distance), out[0], out[1], out[2], batch


class GapShiftMixin(t.HasTraits):
    """The applied gap shift and the loss-vs-shift curve of a :class:`~amumo_ng.session.Session`."""

    @t.observe("gap_closed")
    def _reset_fraction(self, change) -> None:
        # opening the gap forgets a partial shift: the next "close the gap" is Amumo's whole closing
        if not change["new"] and self.gap_fraction != 1.0:
            self.gap_fraction = 1.0

    def gap_distance(self) -> float:
        """‖Δ‖ of the pairs :meth:`gap_pairs` names (unit-vector means, gap open)."""
        from ..analysis.gap import modality_gap

        img, txt = self._gap_rows()
        return float(modality_gap(img, txt).distance)

    def _gap_rows(self):
        scope, idx = self.gap_pairs()
        img, txt = self.unit_vectors()
        if idx is not None and idx.size == 0:
            raise EmbeddingError("no pairs in view: there is no gap to shift")
        return (img, txt) if idx is None else (img[idx], txt[idx])

    def applied_shift(self) -> float:
        """The shift δ the views show now: gap_fraction·‖Δ‖ with the gap closed, else 0."""
        return float(self.gap_fraction) * self.gap_distance() if self.gap_closed else 0.0

    def apply_shift(self, delta: float) -> None:
        """Show the views shifted by δ along the gap direction (δ = 0: the model as trained)."""
        delta = float(delta)
        if not np.isfinite(delta):
            raise EmbeddingError(f"a shift must be a finite number, got {delta!r}")
        distance = self.gap_distance()
        if not distance > 0:
            raise EmbeddingError("the modalities' means coincide (Δ = 0): there is no gap direction to shift along")
        with self.hold_trait_notifications():
            if delta == 0.0:
                self.gap_closed = False
            else:
                self.gap_fraction = delta / distance
                self.gap_closed = True

    def _curve_plan(self, deltas, steps: int) -> tuple:
        """(image rows, text rows, shift grid [k], cache key) of a curve of the pairs read out;
        :class:`EmbeddingError` when there are none or Δ = 0."""
        from ..analysis.gap import modality_gap

        img, txt = self._gap_rows()
        distance = modality_gap(img, txt).distance
        if not distance > 0:
            raise EmbeddingError("the modalities' means coincide (Δ = 0): there is no gap direction to shift along")
        grid = shift_grid(distance, steps) if deltas is None else np.asarray(deltas, np.float64)
        return img, txt, grid, ("gap-shift", self.readout_pairs_key(), grid.tobytes())

    def gap_shift_curve(self, deltas=None, steps: int = SHIFT_STEPS, progress=None, cancel=None) -> GapShiftCurve:
        """:class:`GapShiftCurve` of the pairs the readout is about, at ``deltas`` (default
        :func:`shift_grid` of their gap with ``steps`` points). Cached per model, pair set and grid
        (a cancelled curve is not); ``progress(done, total)``, ``cancel``: see :func:`loss_at_shifts`."""
        img, txt, grid, key = self._curve_plan(deltas, steps)
        emb, model = self.embeddings, self.model

        def make():
            distance, signed, losses, compat, batch = loss_at_shifts(
                img, txt, emb.logit_scale, grid, progress=progress, cancel=cancel)
            return GapShiftCurve(deltas=grid, distances=signed, losses=losses, compat_losses=compat,
                                 gap_distance=distance, n=int(img.shape[0]), loss_batch_size=batch, model=model)

        return self._cache.get(key, make)

    def cached_gap_shift_curve(self, steps: int = SHIFT_STEPS) -> Optional[GapShiftCurve]:
        """The default-grid curve when it is computed already, else None (never computes)."""
        try:
            key = self._curve_plan(None, steps)[3]
        except EmbeddingError:
            return None
        return self._cache.peek(key)
