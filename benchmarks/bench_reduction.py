"""Time and peak memory of the reduction sweep and of DEC vs k-means at 10,000 pairs × 512 (synthetic).

Synthetic pairs: a content vector in a 48-dimensional subspace of R^512 (long-tailed spread), image
and text = content + independent noise + opposite offsets (a modality gap), so retrieval is far from
perfect at full dimension and a D′ near the content's rank keeps it.

- Reduction: each method of ``analysis.reduction`` swept over ``--dims`` (fit on 70 % of the pairs,
  retrieval of the 30 % held out), seconds per method and per fit; ratio = method / PCA (the
  baseline, measured in the same run; > 1: slower than PCA). Neural MDS and the contrastive map run
  ``--epochs`` (default 5, stated in the table with the seconds per epoch, so a fit of the default
  epochs costs that times its epochs).
- Clustering: DEC (autoencoder pretraining + KL phase) vs k-means (scikit-learn, 10 restarts) of the
  unit image rows, k = ``--k``; ratio = DEC / k-means.
- Each row is timed after a warm-up call on 200 pairs (imports and first calls not counted).
- Peak memory: tracemalloc peak of Python/numpy allocations during the call (torch's CPU allocator
  and BLAS scratch are not traced), and the growth of the process's peak RSS (ru_maxrss) during it
  (0 when an earlier step already reached a higher peak).

Printed only, never asserted.  Run by hand:  .venv/bin/python benchmarks/bench_reduction.py [--n 10000 --d 512]
"""
from __future__ import annotations

import argparse
import resource

import numpy as np


def measure(fn):
    """(seconds, tracemalloc peak MiB, RSS peak growth MiB, result) of one call of ``fn`` (the traced
    part is bench_geometry's measure)."""
    from bench_geometry import measure as traced

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, peak, result = traced(fn)
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024  # KiB on Linux
    return seconds, peak, rss_growth, result


def synthetic_pairs(n: int, d: int, rank: int = 48, seed: int = 0):
    rank = min(rank, max(1, d // 2))
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, rank)))[0].T.astype(np.float32)
    content = (rng.standard_normal((n, rank)) * rng.lognormal(0.0, 0.5, rank)).astype(np.float32) @ basis
    offset = np.zeros(d, np.float32)
    offset[:4] = 0.6
    noise = lambda: 0.6 * rng.standard_normal((n, d), dtype=np.float32)  # noqa: E731
    return content + noise() + offset, content + noise() - offset, rng.integers(0, 10, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--dims", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the contrastive map and neural MDS "
                        "(their defaults: 20 and 30; the time per epoch is printed, so a full fit is that x epochs)")
    args = parser.parse_args()

    from amumo_ng.analysis.clustering import cluster_vectors, clustering_input
    from amumo_ng.analysis.reduction import REDUCTION_METHODS, reduction_sweep

    image, text, _ = synthetic_pairs(args.n, args.d)
    print(f"reduction sweep: {args.n:,} pairs x {args.d}, D' in {args.dims}, 70/30 split")
    print(f"{'method':16s} {'seconds':>9s} {'s/fit':>8s} {'vs PCA':>8s} {'traced MiB':>11s} {'RSS +MiB':>9s}  "
          f"top-1 i2t at each D' (full dimension first)")
    baseline = None
    for method in REDUCTION_METHODS:
        trained = method in ("contrastive", "nmds-isometric", "nmds-isotonic")
        options = {method: {"epochs": args.epochs}} if trained else {}
        reduction_sweep(image[:200], text[:200], [2], [method], progress=False,  # warm-up: imports, first calls
                        options={method: {"epochs": 1}} if trained else {})
        seconds, traced, rss, sweep = measure(lambda: reduction_sweep(image, text, args.dims, [method], progress=False,
                                                                      options=options))
        baseline = seconds if method == "pca" else baseline
        curve = " ".join(f"{v:.3f}" for v in sweep.curve(method)[1])
        print(f"{method:16s} {seconds:9.2f} {seconds / len(args.dims):8.2f} {seconds / baseline:8.1f}x "
              f"{traced:11.1f} {rss:9.1f}  {sweep.full['i2t@1']:.3f} | {curve}"
              + (f"  ({args.epochs} epochs: {seconds / len(args.dims) / args.epochs:.2f} s/epoch/fit)" if trained else ""))

    x = clustering_input(image, text, "image")
    print(f"\nclustering {args.n:,} unit image rows x {args.d}, k = {args.k}")
    print(f"{'method':16s} {'seconds':>9s} {'vs k-means':>11s} {'traced MiB':>11s} {'RSS +MiB':>9s}  note")
    base = None
    for method in ("kmeans", "dec"):
        cluster_vectors(x[:200], method, 2, dec_options={"pretrain_epochs": 1, "max_iterations": 2})  # warm-up
        seconds, traced, rss, run = measure(lambda: cluster_vectors(x, method, args.k))
        base = seconds if method == "kmeans" else base
        note = run.note or (f"{run.details.iterations} KL steps" if run.details is not None else "")
        print(f"{method:16s} {seconds:9.2f} {seconds / base:10.1f}x {traced:11.1f} {rss:9.1f}  {note}")


if __name__ == "__main__":
    main()
