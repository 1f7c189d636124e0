"""The gap/loss readout of a :class:`~amumo_ng.session.Session`: the numbers of the pairs it is about.

By default (``gap_scope == "view"``) the readout, like the Amumo article, describes the pairs in
view (e.g. the captions containing "dog"): their gap vector, their loss, and both after closing
*their* gap. With ``gap_scope == "all"`` it describes every pair of the model.

The gap distances cost O(n·d) and come first; the symmetric loss is exact over all n pairs up to
:data:`LOSS_FULL_BATCH_LIMIT` and, above, exact per consecutive batch of that many pairs (the batch
is stated as ``loss_batch_size``), computed batch by batch on :data:`LOSS_WORKERS` threads with
progress and a cancel check between batches, each product on one BLAS thread (see
:func:`_one_blas_thread`).
"""
from __future__ import annotations

import contextlib
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

import numpy as np

#: Above this many pairs the contrastive loss readout uses batches of this size (2048: CLIP-scale
#: batches whose loss is exact per batch; 100,000 pairs at d = 64 are read out in about 2.2 s on 2 cores).
LOSS_FULL_BATCH_LIMIT = 2048
#: Threads that compute loss batches (numpy releases the GIL in its products and exponentials).
LOSS_WORKERS = 2


class ReadoutCancelled(Exception):
    """Raised by :func:`gap_readout` when its ``cancel`` event was set."""


#: Rows per chunk of the compat loss and of the closed-gap distance (a multiple of compat's 50).
_CHUNK_ROWS = 4000


def _closed(img_u: np.ndarray, txt_u: np.ndarray, half: Optional[np.ndarray]):
    """Rows as shown with the gap closed by ``half`` = Δ/2 (None: unchanged): Amumo's
    normalise(Î − Δ/2), normalise(T̂ + Δ/2), computed for these rows only (a batch)."""
    if half is None:
        return img_u, txt_u
    from ..analysis.gap import _shift_units

    return _shift_units(np.asarray(img_u, np.float32), np.asarray(txt_u, np.float32), half)


def _one_blas_thread(device):
    """Context in which numpy's BLAS uses one thread per product (``device`` None), else nothing.

    OpenBLAS keeps one pool of as many threads as cores for the whole process, and its idle threads
    spin after each product. With :data:`LOSS_WORKERS` workers each asking for the whole pool while
    the other's exponentials need the same 2 cores, the 100,000-pair readout took 1.35-1.8x as long
    (``benchmarks/bench_readout.py``). The limit is threadpoolctl's: set and restored by the calling
    thread; while another thread holds a BLAS limit of its own, threadpoolctl leaves that one in
    place and this does nothing (the readout is then only slower)."""
    if device is not None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _symmetric_batched(img_u, txt_u, scale: float, batch: Optional[int], half, tick, device=None) -> float:
    """Mean symmetric InfoNCE (nats) of unit rows (gap closed by ``half`` when given) over
    consecutive batches (the whole set when ``batch`` is None); ``tick()`` after each batch.
    ``device``: None (numpy) or a torch device each batch is moved to (results as Python floats)."""
    from ..analysis.losses import _symmetric_ce_sums

    n = img_u.shape[0]
    bs = n if batch is None else int(batch)
    starts = list(range(0, n, bs))

    def one(start):
        a, b = _closed(img_u[start:start + bs], txt_u[start:start + bs], half)
        i2t, t2i = _symmetric_ce_sums(a, b, scale, device=device)
        tick()
        return 0.5 * (i2t + t2i)

    if len(starts) == 1:
        return one(0) / n
    with _one_blas_thread(device), ThreadPoolExecutor(LOSS_WORKERS, thread_name_prefix="amumo-loss") as pool:
        return float(sum(pool.map(one, starts)) / n)


def _compat_chunked(img_u, txt_u, scale: float, half) -> float:
    """Amumo's compat loss (batches of 50, remainder dropped, batch losses averaged) over chunks
    of :data:`_CHUNK_ROWS` rows, each closed by ``half`` on the fly: the same batches as one call."""
    from ..analysis.losses import contrastive_loss

    n = img_u.shape[0]
    total, count = 0.0, 0
    for start in range(0, n - 50 + 1, _CHUNK_ROWS):
        a, b = _closed(img_u[start:start + _CHUNK_ROWS], txt_u[start:start + _CHUNK_ROWS], half)
        k = a.shape[0] // 50
        total += float(contrastive_loss(a[:50 * k], b[:50 * k], scale, compat="amumo")) * k
        count += k
    if count == 0:
        raise ValueError("fewer pairs than one compat batch of 50")
    return total / count


def _closed_gap_vector(img_u, txt_u, half) -> np.ndarray:
    """float64 [d]: mean(I') − mean(T') of the rows shifted by ``half``, accumulated over chunks
    (no shifted copy of all rows)."""
    d = img_u.shape[1]
    s_i, s_t = np.zeros(d), np.zeros(d)
    for start in range(0, img_u.shape[0], _CHUNK_ROWS):
        a, b = _closed(img_u[start:start + _CHUNK_ROWS], txt_u[start:start + _CHUNK_ROWS], half)
        s_i += a.sum(axis=0, dtype=np.float64)
        s_t += b.sum(axis=0, dtype=np.float64)
    return (s_i - s_t) / img_u.shape[0]


def _closed_distance(img_u, txt_u, half) -> float:
    """‖mean(I') − mean(T')‖ of the gap-closed rows (see :func:`_closed_gap_vector`)."""
    return float(np.linalg.norm(_closed_gap_vector(img_u, txt_u, half)))


def gap_readout(image: np.ndarray, text: np.ndarray, logit_scale: float,
                progress: Optional[Callable[[dict], None]] = None,
                cancel: Optional[threading.Event] = None, fraction: float = 1.0, device="auto") -> dict:
    """Gap distance and contrastive loss (symmetric and Amumo-compat) of aligned pairs
    ``image``, ``text`` (raw float [n, d], or unit rows, which are used without a copy), before
    and after closing their gap (Amumo: both modalities moved by half the gap vector Δ of these
    pairs, then re-normalised; the closed rows are made batch by batch, never all at once).

    Distances are Euclidean norms of the gap vector between unit-vector means (unitless);
    losses are mean cross-entropy in nats at ``logit_scale``, exact over all n pairs up to
    :data:`LOSS_FULL_BATCH_LIMIT` and per batch of that size above (``loss_batch_size``).
    A compat loss that is undefined (fewer pairs than one batch of 50) is NaN.

    ``progress(partial)`` is called with the readout so far (the distances first, then each loss as
    it is done) plus ``progress`` (fraction done) and ``stage``; ``cancel`` (an Event) stops it
    between batches with :class:`ReadoutCancelled`.

    ``fraction``: how much of the closing "after" means (each modality moved by fraction·Δ/2, i.e.
    a shift δ = fraction·‖Δ‖ along the gap direction; 1 is Amumo's closing). The readout states it
    as ``fraction`` and ``shift`` (δ).

    ``device``: where the loss batches run (:func:`~amumo_ng.analysis.backend.array_device`;
    "auto": CUDA when present, else numpy)."""
    from ..analysis.backend import array_device
    from ..analysis.gap import modality_gap
    from ..analysis.validation import as_pair, unit_rows

    img, txt = as_pair(image, text)
    n = int(img.shape[0])
    img_u, txt_u = unit_rows(img), unit_rows(txt)
    gap = modality_gap(img_u, txt_u)
    fraction = float(fraction)
    half = np.asarray(gap.vector, np.float32) * np.float32(fraction / 2.0)
    batch = None if n <= LOSS_FULL_BATCH_LIMIT else LOSS_FULL_BATCH_LIMIT
    loss_device = array_device(device, n * min(n, LOSS_FULL_BATCH_LIMIT))  # logits computed
    out = {"n": n, "loss_batch_size": batch, "distance_before": float(gap.distance),
           "fraction": fraction, "shift": fraction * float(gap.distance),
           "distance_after": _closed_distance(img_u, txt_u, half)}
    batches = 2 * math.ceil(n / (batch or n))
    done = [0]
    lock = threading.Lock()

    def report(stage: str) -> None:
        if progress is not None:
            progress({**out, "progress": done[0] / batches, "stage": stage})

    def tick() -> None:
        if cancel is not None and cancel.is_set():
            raise ReadoutCancelled("readout cancelled")
        with lock:
            done[0] += 1
        report(f"loss of {n:,} pairs" + (f" in batches of {batch:,}" if batch else "") +
               f": {done[0]}/{batches} batches")

    report("gap measured; computing the loss")
    scale = float(logit_scale)
    for name, shift in (("before", None), ("after", half)):
        out[f"loss_{name}"] = _symmetric_batched(img_u, txt_u, scale, batch, shift, tick, loss_device)
        try:
            out[f"loss_compat_{name}"] = _compat_chunked(img_u, txt_u, scale, shift)
        except (ValueError, ZeroDivisionError):  # e.g. fewer pairs than one compat batch
            out[f"loss_compat_{name}"] = float("nan")
    return out


class ReadoutsMixin:
    """:meth:`readouts` for :class:`~amumo_ng.session.Session` (needs ``gap_pairs()``, ``_cache``)."""

    def readout_pairs_key(self) -> tuple:
        """(model, data source, the pairs read out): what the readout and the gap-shift curve describe."""
        scope, idx = self.gap_pairs()
        return ("readouts", self.data_key(), scope if idx is None else self.indices_key())

    def readouts_key(self) -> tuple:
        """Cache key of :meth:`readouts`: :meth:`readout_pairs_key` and the closing's ``gap_fraction``."""
        return self.readout_pairs_key() + (float(self.gap_fraction),)

    def readouts(self, progress=None, cancel=None) -> dict:
        """:func:`gap_readout` of the pairs :meth:`gap_pairs` names (the pairs in view, or all of
        the model's), plus ``scope`` ("view" or "all"), ``n_total`` and ``model``. Cached per
        model and pair set (a cancelled readout is not). An empty view gives ``{"n": 0, ...}``
        with no numbers. ``progress``, ``cancel``: see :func:`gap_readout` (partial readouts
        carry ``scope``, ``n_total`` and ``model`` too)."""
        scope, idx = self.gap_pairs()
        emb = self.embeddings
        base = {"scope": scope, "n_total": emb.n, "model": self.model}
        fraction = float(self.gap_fraction)

        def make():
            if idx is not None and idx.size == 0:
                return {**base, "n": 0, "loss_batch_size": None}
            unit_img, unit_txt = self.unit_vectors()  # the session's unit copy, not another one
            image = unit_img if idx is None else unit_img[idx]
            text = unit_txt if idx is None else unit_txt[idx]
            relay = None if progress is None else (lambda partial: progress({**base, **partial}))
            return {**base, **gap_readout(image, text, emb.logit_scale, progress=relay, cancel=cancel,
                                          fraction=fraction)}

        return self._cache.get(self.readouts_key(), make)
