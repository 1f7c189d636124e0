"""numpy vs the torch array path (amumo_ng.analysis.backend) on synthetic unit pairs.

Times, in one process, each piece of large array work the device path covers, once with numpy
(``device=None``) and once through torch on a device, and prints the ratio numpy / device (> 1: the
device is faster) and the largest difference of the results:

- the level of detail of the stacked similarity matrix (``block_mean_similarity``, ``--grid``) at
  ``--n`` pairs (default 1,000,000 × ``--d`` 512: 4 GB of float32 vectors);
- exact conformity of the ``--n`` images (float64 chunks);
- the readout's symmetric losses (``gap_readout``: before and after closing the gap, batches of 2,048)
  at ``--loss-n`` pairs (default 100,000).

With CUDA the device is "cuda" (a first untimed call warms it up; the times include the transfers).
Without CUDA the torch path is timed on the CPU ("cpu", the code CUDA runs, used by the tests) and the
script says there is nothing to compare: numpy stays the default there. Printed only, never asserted.

Run by hand:  .venv/bin/python benchmarks/bench_gpu.py [--n 1000000] [--d 512] [--loss-n 100000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def unit_pairs(n: int, d: int, seed: int = 0, chunk: int = 65536):
    """float32 unit (image, text) [n, d] with a gap: text = image direction + noise − offset."""
    rng = np.random.default_rng(seed)
    img, txt = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    offset = np.zeros(d, np.float32)
    offset[0] = 0.6
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        base = rng.standard_normal((stop - start, d), dtype=np.float32)
        img[start:stop] = base + offset
        txt[start:stop] = base + 0.7 * rng.standard_normal((stop - start, d), dtype=np.float32) - offset
        for x in (img, txt):
            x[start:stop] /= np.linalg.norm(x[start:stop], axis=1, keepdims=True)
    return img, txt


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def largest_difference(a, b) -> float:
    if isinstance(a, dict):
        return max(abs(a[k] - b[k]) for k in ("loss_before", "loss_after"))
    a = getattr(a, "values", a)
    b = getattr(b, "values", b)
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="pairs for the level of detail and conformity")
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--grid", type=int, default=512, help="level-of-detail grid P")
    parser.add_argument("--loss-n", type=int, default=100_000, help="pairs for the readout losses")
    args = parser.parse_args()

    import torch

    from amumo_ng.analysis.conformity_stats import conformity
    from amumo_ng.analysis.similarity import block_mean_similarity
    from amumo_ng.session.readouts import gap_readout

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    print(f"torch {torch.__version__}; device path: {device}"
          + (f" ({torch.cuda.get_device_name(0)})" if cuda else " (no CUDA: torch on the CPU)"))
    img, txt = unit_pairs(args.n, args.d)
    loss_img, loss_txt = img[:args.loss_n], txt[:args.loss_n]
    work = {
        f"level of detail, {args.n:,} pairs, P={args.grid}":
            lambda dev: block_mean_similarity(img, txt, args.grid, unit=True, device=dev),
        f"conformity, {args.n:,} vectors":
            lambda dev: conformity(img, device=dev),
        f"readout losses, {args.loss_n:,} pairs":
            lambda dev: gap_readout(loss_img, loss_txt, 100.0, device=dev),
    }
    print(f"{'work':<44} {'numpy s':>9} {device + ' s':>9} {'ratio':>7} {'max |diff|':>11}")
    for name, run in work.items():
        if cuda:
            run("cuda")  # warm-up: CUDA context, kernels, allocator
        t_numpy, ref = timed(lambda: run(None))
        t_device, got = timed(lambda: run(device))
        print(f"{name:<44} {t_numpy:9.3f} {t_device:9.3f} {t_numpy / t_device:7.2f} "
              f"{largest_difference(ref, got):11.2e}")
    if not cuda:
        print("no CUDA: nothing to compare (numpy stays the default; the torch-CPU column is the "
              "tests' path, not a faster one)")


if __name__ == "__main__":
    main()
