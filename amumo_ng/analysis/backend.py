"""Where the large array work runs: numpy on the CPU, or torch on a device (CUDA when present).

:func:`array_device` turns a ``device`` argument into ``None`` (numpy, the default without a GPU)
or a torch device string. ``"auto"`` picks ``"cuda"`` only when torch is installed and
``torch.cuda.is_available()``, and only for work of at least :data:`AUTO_MIN_ELEMENTS` array
elements (smaller work is faster in numpy than a transfer); otherwise numpy. A GPU is never
required. ``"cpu"`` runs the same torch code on the CPU: it exists to test the torch path
against numpy and is not faster than numpy. Nothing is imported or initialised at import time,
and ``"auto"`` does not import torch on a machine without an NVIDIA driver.

The torch kernels below mirror the numpy code of :mod:`.similarity` (block-mean sums and the
grid × grid product), :mod:`.conformity_stats` (unit-vector sums and dots, float64) and
:mod:`.losses` (row and column log-sum-exps of a batch of logits, float32 products and
exponentials, float64 sums). Inputs are numpy arrays moved to the device chunk by chunk; results
come back as numpy arrays on the CPU.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from typing import Optional

import numpy as np

from .validation import EmbeddingError

__all__ = ["array_device", "AUTO_MIN_ELEMENTS"]

#: ``"auto"`` uses CUDA only for work on at least this many array elements (1M float32 = 4 MB).
AUTO_MIN_ELEMENTS = 1 << 20

_NUMPY_NAMES = (None, "numpy", "np")


def _nvidia_driver_present() -> bool:
    """A cheap sign of an NVIDIA GPU (a loaded driver) that imports nothing."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def _cuda_available() -> bool:
    """torch is installed and reports CUDA. torch is imported only when it already is, or when an
    NVIDIA driver is present (so ``"auto"`` costs no torch import on a CPU-only machine)."""
    if "torch" not in sys.modules:
        if importlib.util.find_spec("torch") is None or not _nvidia_driver_present():
            return False
    import torch

    return bool(torch.cuda.is_available())


def array_device(preference="auto", elements: Optional[int] = None) -> Optional[str]:
    """The device for array work: ``None`` means numpy, otherwise a torch device string.

    ``preference``: ``"auto"`` ("cuda" when available and ``elements`` is None or at least
    :data:`AUTO_MIN_ELEMENTS`, else numpy), ``None`` / ``"numpy"`` (numpy), ``"cpu"`` (torch on the
    CPU; needs torch), ``"cuda"`` or ``"cuda:<k>"`` (needs a CUDA device). ``elements``: the size of
    the work (e.g. ``n * d``), consulted by ``"auto"`` only. Raises :class:`EmbeddingError` for an
    unknown name, ``"cpu"`` without torch, or ``"cuda"`` without CUDA.
    """
    if preference in _NUMPY_NAMES:
        return None
    if not isinstance(preference, str):
        raise EmbeddingError(f'device must be "auto", None/"numpy", "cpu" or "cuda[:k]", got {preference!r}')
    name = preference.strip().lower()
    if name == "auto":
        if elements is not None and int(elements) < AUTO_MIN_ELEMENTS:
            return None
        return "cuda" if _cuda_available() else None
    if name == "cpu":
        if importlib.util.find_spec("torch") is None:
            raise EmbeddingError('device="cpu" runs the torch path and needs torch; use device=None for numpy')
        return "cpu"
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not _cuda_available():
            raise EmbeddingError(f"device={preference!r} was asked for but CUDA is not available "
                                 '(use device="auto" or None: numpy on the CPU)')
        return name
    raise EmbeddingError(f'device must be "auto", None/"numpy", "cpu" or "cuda[:k]", got {preference!r}')


def _tensor(array: np.ndarray, device: str, dtype):
    """``array`` as a torch tensor of ``dtype`` on ``device`` (no copy on the CPU when it already
    has that dtype; read-only input such as a memory map is fine: kernels never write to it)."""
    import torch

    arr = np.ascontiguousarray(array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "non-writable array": never written
        return torch.from_numpy(arr).to(device=device, dtype=dtype)


# -- similarity: block means -----------------------------------------------------------------
def bin_sums(rows: np.ndarray, bounds: np.ndarray, device: str) -> np.ndarray:
    """Sums of consecutive row bins: float32 [len(bounds)-1, d], bin j = rows ``bounds[j]:bounds[j+1]``
    of ``rows`` [m, d] (``bounds`` int, increasing, from 0 to m). Accumulated in float64 on ``device``."""
    import torch

    x = _tensor(rows, device, torch.float64)
    sizes = torch.as_tensor(np.diff(np.asarray(bounds, dtype=np.int64)), device=device)
    ids = torch.repeat_interleave(torch.arange(sizes.numel(), device=device), sizes)
    out = torch.zeros((sizes.numel(), x.shape[1]), dtype=torch.float64, device=device)
    out.index_add_(0, ids, x[int(bounds[0]):int(bounds[-1])])
    return out.to(torch.float32).cpu().numpy()


def clipped_product(a: np.ndarray, b: np.ndarray, device: str) -> np.ndarray:
    """``a @ b.T`` of float32 [k, d] and [l, d] on ``device``, clipped to [-1, 1]: float32 [k, l]."""
    import torch

    ta = _tensor(a, device, torch.float32)
    tb = ta if b is a else _tensor(b, device, torch.float32)
    return torch.clamp(ta @ tb.T, -1.0, 1.0).cpu().numpy()


# -- conformity: unit-vector sums and dots (float64) ---------------------------------------------
def unit_sum(x: np.ndarray, device: str, chunk_rows: int) -> np.ndarray:
    """Σ_k x̂_k of raw rows ``x`` [n, d] (no zero rows): float64 [d], normalised in float64 chunks."""
    import torch

    total = torch.zeros(x.shape[1], dtype=torch.float64, device=device)
    for start in range(0, x.shape[0], chunk_rows):
        c = _tensor(x[start:start + chunk_rows], device, torch.float64)
        total += (c / torch.linalg.vector_norm(c, dim=1, keepdim=True)).sum(dim=0)
    return total.cpu().numpy()


def dot_units(x: np.ndarray, vector: np.ndarray, device: str, chunk_rows: int) -> np.ndarray:
    """x̂_j · ``vector`` for every raw row of ``x`` [n, d]: float64 [n], in float64 chunks."""
    import torch

    v = _tensor(np.asarray(vector, dtype=np.float64), device, torch.float64)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], chunk_rows):
        c = _tensor(x[start:start + chunk_rows], device, torch.float64)
        out[start:start + c.shape[0]] = ((c @ v) / torch.linalg.vector_norm(c, dim=1)).cpu().numpy()
    return out


def pair_cosines(a: np.ndarray, b: np.ndarray, device: str, chunk_rows: int) -> np.ndarray:
    """cos(a_j, b_j) of aligned raw rows [n, d] (no zero rows): float64 [n], in float64 chunks."""
    import torch

    out = np.empty(a.shape[0])
    for start in range(0, a.shape[0], chunk_rows):
        x = _tensor(a[start:start + chunk_rows], device, torch.float64)
        y = _tensor(b[start:start + chunk_rows], device, torch.float64)
        cos = (x * y).sum(dim=1) / (torch.linalg.vector_norm(x, dim=1) * torch.linalg.vector_norm(y, dim=1))
        out[start:start + x.shape[0]] = cos.cpu().numpy()
    return out


# -- losses: log-sum-exps of a batch of logits ----------------------------------------------------
def _lse(logits, dim: int):
    """float64 log Σ exp(logits) along ``dim``: float32 shifts and exponentials, float64 sum."""
    import torch

    m = logits.amax(dim=dim, keepdim=True)
    total = torch.exp(logits - m).sum(dim=dim, dtype=torch.float64)
    return m.squeeze(dim).to(torch.float64) + torch.log(total)


def symmetric_lse(image_unit: np.ndarray, text_unit: np.ndarray, scale: float, max_cells: int,
                  device: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positives, row log-sum-exps, column log-sum-exps), float64 [n] each, of L = scale · Î Tᵀ for
    one batch of unit rows [n, d] on ``device`` (see :func:`amumo_ng.analysis.losses.symmetric_lse`).

    Per row chunk of at most ``max_cells`` logits (float32 product), each row and each column is
    shifted by its own maximum before the float32 exponential (so nothing under- or overflows for
    any scale), summed in float64; column parts are combined across chunks with ``logaddexp``."""
    import torch

    n = image_unit.shape[0]
    rows = max(1, min(n, int(max_cells) // max(1, n)))
    img = _tensor(image_unit, device, torch.float32) * float(np.float32(scale))
    txt = _tensor(text_unit, device, torch.float32)
    positives = (img.to(torch.float64) * txt.to(torch.float64)).sum(dim=1)
    row_lse = torch.empty(n, dtype=torch.float64, device=device)
    col_lse = torch.full((n,), -np.inf, dtype=torch.float64, device=device)
    for start in range(0, n, rows):
        logits = img[start:start + rows] @ txt.T
        row_lse[start:start + logits.shape[0]] = _lse(logits, 1)
        col_lse = torch.logaddexp(col_lse, _lse(logits, 0))
    return positives.cpu().numpy(), row_lse.cpu().numpy(), col_lse.cpu().numpy()
