"""The Explorer's gap/loss readout (``session.readouts.gap_readout``) against its own earlier forms.

Two forms of the same readout run in turn, ``--repeats`` times each, in this one process:
  - now: loss batches on 2 workers, one BLAS thread per product;
  - shared BLAS pool: the same, but each worker's products use the whole BLAS pool (before stop 22).
The medians are printed with ratio = shared / now (> 1: the shared pool is slower). The two forms
compute the same batches and must agree: the largest difference of their losses is printed.

(Cache-sized row chunks of 1M logits instead of one 16 MB chunk per batch were tried too: 0.8-1.05x
in three runs, within the noise, and left out.)

Run by hand:  .venv/bin/python benchmarks/bench_readout.py [--sizes 10000 100000] [--d 64 512]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np


def synthetic_unit_pairs(n: int, d: int, seed: int = 0):
    """Unit float32 (image, text) [n, d]: shared content plus a modality offset, text noisier."""
    rng = np.random.default_rng(seed)
    content = rng.standard_normal((n, d), dtype=np.float32)
    offset = np.zeros(d, np.float32)
    offset[0] = 3.0
    image = content + offset
    text = content - offset + 0.7 * rng.standard_normal((n, d), dtype=np.float32)
    return (image / np.linalg.norm(image, axis=1, keepdims=True),
            text / np.linalg.norm(text, axis=1, keepdims=True))


@contextlib.contextmanager
def form(name: str):
    """Patch the readout into one of its earlier forms for the body."""
    import amumo_ng.session.readouts as readouts

    saved = readouts._one_blas_thread
    if name == "shared BLAS pool":
        readouts._one_blas_thread = lambda device: contextlib.nullcontext()
    try:
        yield
    finally:
        readouts._one_blas_thread = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--d", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from amumo_ng.session.readouts import gap_readout

    forms = ("now", "shared BLAS pool")
    print(f"{'n':>8} {'d':>4}  " + "  ".join(f"{f:>18}" for f in forms) + "   max |Δ loss| nats")
    for n in args.sizes:
        for d in args.d:
            image, text = synthetic_unit_pairs(n, d)
            times = {f: [] for f in forms}
            losses_seen = {}
            gap_readout(image[:4096], text[:4096], 100.0, device=None)  # warm up
            for _ in range(args.repeats):
                for f in forms:
                    with form(f):
                        start = time.perf_counter()
                        out = gap_readout(image, text, 100.0, device=None)
                        times[f].append(time.perf_counter() - start)
                    losses_seen[f] = np.array([out["loss_before"], out["loss_after"]])
            now = statistics.median(times["now"])
            cells = [f"{now:>8.2f} s ×1.00   "]
            cells += [f"{statistics.median(times[f]):>8.2f} s ×{statistics.median(times[f]) / now:.2f}   "
                      for f in forms[1:]]
            spread = max(float(np.abs(losses_seen[f] - losses_seen["now"]).max()) for f in forms)
            print(f"{n:>8} {d:>4}  " + "".join(cells) + f"  {spread:.1e}", flush=True)


if __name__ == "__main__":
    main()
