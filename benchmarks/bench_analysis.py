"""Time and peak memory of the analysis library at n = 1,000 / 10,000 / 100,000 pairs (d = 512).

Each row compares an amumo-ng function with a naive baseline measured in the same run (where the
baseline fits): ratio = baseline / amumo-ng (> 1 means amumo-ng is faster / smaller). Peak memory
is the tracemalloc peak of Python and numpy allocations during the call (BLAS scratch not counted).
Cases whose estimated memory exceeds ``--max-gb`` (default 8) or whose estimated time exceeds about
a minute are skipped and printed as such.

Run by hand:  .venv/bin/python benchmarks/bench_analysis.py [--sizes 1000 10000 100000] [--d 512]
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np

#: Effective float64 matrix-product rate (flop/s) on a 2-core machine, for skip estimates only.
FLOPS = 8e9


def measure(fn):
    """(seconds, peak MiB) of one call of ``fn``."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    gc.collect()
    return seconds, peak / 2**20


def synthetic_pairs(n: int, d: int, seed: int = 0):
    """Raw float32 (image, text) [n, d] with a modality gap (opposite offsets) and shared content."""
    rng = np.random.default_rng(seed)
    content = rng.standard_normal((n, d), dtype=np.float32)
    offset = np.zeros(d, np.float32)
    offset[:8] = 2.0
    image = content + 0.5 * rng.standard_normal((n, d), dtype=np.float32) + offset
    text = content + 0.5 * rng.standard_normal((n, d), dtype=np.float32) - offset
    return image, text


# -- naive baselines ------------------------------------------------------------------------
def naive_blocks(image, text):
    """Normalise in float64 and take three full products (the textbook way)."""
    i = image / np.linalg.norm(image.astype(np.float64), axis=1, keepdims=True)
    t = text / np.linalg.norm(text.astype(np.float64), axis=1, keepdims=True)
    return i @ i.T, t @ t.T, i @ t.T


def naive_lod(image, text, grid):
    """Build the full stacked matrix, then average it over the blocks."""
    from amumo_ng.analysis.similarity import similarity_blocks

    n = image.shape[0]
    half = grid // 2
    part = (np.arange(1, half + 1) * n) // half
    edges = np.concatenate([[0], part, n + part])
    blocks = similarity_blocks(image, text)
    full = blocks.stacked()
    del blocks
    sums = np.add.reduceat(np.add.reduceat(full, edges[:-1], axis=0), edges[:-1], axis=1)
    sizes = np.diff(edges)
    return sums / np.outer(sizes, sizes)


def naive_tile(image, text, r0, r1, c0, c1):
    """Normalise every row of the stacked matrix, then slice and multiply."""
    stacked = np.vstack([image, text]).astype(np.float64)
    stacked /= np.linalg.norm(stacked, axis=1, keepdims=True)
    return stacked[r0:r1] @ stacked[c0:c1].T


def naive_amumo_order(vectors, max_clusters=10):
    """Amumo's published procedure: complete linkage on the rows of the full distance matrix."""
    from scipy.cluster.hierarchy import fcluster, leaves_list, linkage

    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    tree = linkage(1.0 - unit @ unit.T, method="complete")
    return leaves_list(tree), fcluster(tree, t=max_clusters, criterion="maxclust")


def naive_gap(image, text):
    i = image.astype(np.float64)
    t = text.astype(np.float64)
    i /= np.linalg.norm(i, axis=1, keepdims=True)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    delta = i.mean(0) - t.mean(0)
    ci, ct = i - delta / 2, t + delta / 2
    return ci / np.linalg.norm(ci, axis=1, keepdims=True), ct / np.linalg.norm(ct, axis=1, keepdims=True)


# -- cases ----------------------------------------------------------------------------------
def cases(n: int, d: int, grid: int):
    """(name, estimated GB, estimated s, amumo-ng call, baseline call or None, baseline GB) per case."""
    from amumo_ng.analysis.gap import close_gap, gap_loss_curve, modality_gap
    from amumo_ng.analysis.ordering import cluster_order
    from amumo_ng.analysis.similarity import (
        block_mean_similarity,
        level_of_detail_tile,
        similarity_blocks,
        similarity_tile,
    )

    image, text = synthetic_pairs(n, d)
    gb_nn32 = 4 * n * n / 1e9
    yield ("similarity_blocks", 3 * gb_nn32, 3 * 2 * n * n * d / (4 * FLOPS),
           lambda: similarity_blocks(image, text), lambda: naive_blocks(image, text), 6 * 2 * gb_nn32)
    yield (f"block_mean_similarity grid={grid}", 2 * 4 * n * d / 1e9, 0.1 + n * d / 2e8,
           lambda: block_mean_similarity(image, text, grid), lambda: naive_lod(image, text, grid), 7 * gb_nn32)
    yield ("similarity_tile 256x256 (hover)", 0.01, 0.01,
           lambda: similarity_tile(image, text, n - 128, n + 128, 0, 256),
           lambda: naive_tile(image, text, n - 128, n + 128, 0, 256), 2 * 4 * n * d / 1e9)
    yield (f"level_of_detail_tile I-T grid={grid}", 2 * 4 * n * d / 1e9, 0.1 + n * d / 2e8,
           lambda: level_of_detail_tile(image, text, (0, n), (n, 2 * n), grid), None, 0)
    yield ("cluster_order amumo", 0.5 + 8 * 2000**2 * 3 / 1e9, 2 + n / 3000,
           lambda: cluster_order(image, "amumo"),
           (lambda: naive_amumo_order(image)) if n <= 2000 else None, 3 * 8 * n * n / 1e9)
    yield ("cluster_order average", 0.5, 2 + n / 3000, lambda: cluster_order(image, "average"), None, 0)
    yield ("modality_gap + close_gap", 4 * 4 * n * d / 1e9, n * d / 1e8,
           lambda: (modality_gap(image, text), close_gap(image, text)),
           lambda: naive_gap(image, text), 6 * 8 * n * d / 1e9)

    def loss(batch):
        from amumo_ng.analysis.losses import contrastive_loss

        return contrastive_loss(image, text, 100.0, batch_size=batch)

    batch = None if n <= 10_000 else 1000
    yield (f"contrastive_loss batch={batch}", 3 * 8 * (batch or n) ** 2 / 1e9 + 8 * 2 * n * d / 1e9,
           2 * n * (batch or n) * d / FLOPS, lambda: loss(batch), None, 0)
    deltas = np.arange(-5.0, 5.01, 0.25)
    yield (f"gap_loss_curve {deltas.size} deltas", 3 * 8 * min(n, 1000) ** 2 / 1e9 + 8 * 4 * n * d / 1e9,
           deltas.size * 2 * n * min(n, 1000) * d / FLOPS,
           lambda: gap_loss_curve(image, text, 100.0, deltas=deltas, batch_size=min(n, 1000)), None, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--grid", type=int, default=1000)
    parser.add_argument("--max-gb", type=float, default=8.0)
    parser.add_argument("--max-s", type=float, default=60.0)
    args = parser.parse_args()

    for _name, _gb, _s, fn, baseline, _bgb in cases(200, args.d, 100):  # warm up imports/JIT
        fn()
        if baseline is not None:
            baseline()

    header = f"{'n':>7}  {'case':<34} {'time s':>8} {'peak MiB':>9} | {'base s':>8} {'base MiB':>9} | {'t ratio':>7} {'m ratio':>7}"
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        for name, est_gb, est_s, fn, baseline, base_gb in cases(n, args.d, args.grid):
            if est_gb > args.max_gb or est_s > args.max_s:
                print(f"{n:>7}  {name:<34} skipped (estimated {est_gb:.1f} GB, {est_s:.0f} s)")
                continue
            seconds, peak = measure(fn)
            row = f"{n:>7}  {name:<34} {seconds:>8.3f} {peak:>9.1f} | "
            if baseline is not None and base_gb <= args.max_gb:
                b_seconds, b_peak = measure(baseline)
                row += f"{b_seconds:>8.3f} {b_peak:>9.1f} | {b_seconds / seconds:>7.2f} {b_peak / max(peak, 1e-9):>7.2f}"
            else:
                row += f"{'-':>8} {'-':>9} | {'-':>7} {'-':>7}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
