"""Time and peak memory of the double-ellipsoid statistics at 10,000 and 100,000 pairs × 512 (synthetic).

Every statistic of issue 13 on one synthetic pair set per size (two off-centre, anisotropic, tilted
Gaussian shells): the raw geometry, sample norms, ZCA whitening, Sep + the two-feature SVM, ODD,
exact conformity, its estimate, KL of the conformity distributions vs α, and the loss vs α. Exact
conformity (O(n·d), from the sum of unit vectors) is compared in the same run with the brute-force
O(n²·d) mean of the cosine matrix (row chunks, never an n×n matrix), where it fits (default: up to
20,000 pairs; above, its time is extrapolated from the measured n² rate and marked "est.").
ratio = baseline / amumo-ng (> 1: amumo-ng faster). Peak memory: tracemalloc peak of Python/numpy
allocations during the call (BLAS scratch not counted). Printed only, never asserted.

The loss vs α is exact over the whole set as one batch at n <= ``--full-batch`` (default 10,000), with
the α grid of ``--alphas`` values; above, it uses the stated batch ``--batch`` (default 4,096, the
session's LOSS_FULL_BATCH_LIMIT) with 3 α values, and the whole-batch time is extrapolated.

Run by hand:  .venv/bin/python benchmarks/bench_geometry.py [--sizes 10000 100000] [--d 512]
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np


def measure(fn):
    """(seconds, peak MiB, result) of one call of ``fn``."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, result


def synthetic_shells(n: int, d: int, seed: int = 0):
    """Raw float32 (image, text) [n, d]: shared content, a long-tailed spread per feature, a random
    tilt, and two means off the origin (a few "tag" features tell the modalities apart)."""
    rng = np.random.default_rng(seed)
    scale = rng.lognormal(0.0, 0.5, size=d).astype(np.float32)
    tilt = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
    centre_i = (0.05 * rng.standard_normal(d)).astype(np.float32)
    centre_t = (0.05 * rng.standard_normal(d)).astype(np.float32)
    centre_i[:4] += 1.5
    centre_t[:4] -= 1.5
    content = rng.standard_normal((n, d), dtype=np.float32) * scale

    def shell(centre):
        return ((content + 0.4 * rng.standard_normal((n, d), dtype=np.float32)) @ tilt / np.sqrt(d) * 8 + centre
                ).astype(np.float32)

    return shell(centre_i), shell(centre_t)


def brute_conformity(x: np.ndarray, rows: int = 2048) -> np.ndarray:
    """Conformity by the cosine matrix: (row sums of Û Ûᵀ − 1) / (n − 1), O(n²·d), ``rows`` at a time."""
    unit = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], rows):
        out[start:start + rows] = (unit[start:start + rows] @ unit.T).sum(axis=1, dtype=np.float64)
    return (out - 1.0) / (x.shape[0] - 1)


def run_size(n: int, d: int, args) -> list[dict]:
    from amumo_ng import analysis as A

    image, text = synthetic_shells(n, d)
    rows = []

    def row(name, fn, note="", baseline=None):
        seconds, mib, result = measure(fn)
        rows.append({"statistic": name, "n": n, "s": seconds, "MiB": mib, "note": note, "baseline": baseline})
        return result

    row("double_ellipsoid (m, σ, axes, thin shell; both)", lambda: A.double_ellipsoid(image, text))
    row("sample_norms ‖v‖, ‖v − m‖ (both)", lambda: (A.sample_norms(image), A.sample_norms(text)))
    row("whiten (ZCA, images)", lambda: A.whiten(image).rank)
    sep = row("feature_separability (Sep, both)", lambda: A.feature_separability(image, text))
    svm = row("separating_svm (2 features, LinearSVC)", lambda: A.separating_svm(image, text, separability=sep))
    rows[-1]["note"] = f"accuracy {svm.accuracy:.3f}"
    row("off_diagonal_dominance (both)", lambda: A.modality_correlations(image, text))
    exact = row("conformity exact O(n·d) (images)", lambda: A.conformity(image))
    if n <= args.brute_max:
        seconds, mib, brute = measure(lambda: brute_conformity(image))
        err = float(np.max(np.abs(brute - exact)))
        rows.append({"statistic": "  brute force O(n²·d) (images)", "n": n, "s": seconds, "MiB": mib,
                     "note": f"max |Δ| {err:.1e}", "baseline": None})
        rows[-2]["baseline"] = seconds
        args.brute_rate = seconds / n ** 2
    elif getattr(args, "brute_rate", None):
        rows[-1]["baseline"] = args.brute_rate * n ** 2
        rows[-1]["note"] = "baseline est. from the measured n² rate"
    est = row("estimated_conformity (a, b, Pearson; images)", lambda: A.estimated_conformity(image))
    rows[-1]["note"] = f"Pearson {est.pearson:.4f}"
    alphas = np.linspace(-1, 1, args.alphas)
    row(f"conformity_kl_curve ({args.alphas} α, 50 bins)", lambda: A.conformity_kl_curve(image, text, alphas=alphas))
    if n <= args.full_batch:
        row(f"mean_shift_loss ({args.alphas} α, whole set one batch)",
            lambda: A.mean_shift_loss(image, text, 100.0, alphas=alphas))
        args.loss_rate = rows[-1]["s"] / (args.alphas * n ** 2)
    else:
        row(f"mean_shift_loss (3 α, batches of {args.batch})",
            lambda: A.mean_shift_loss(image, text, 100.0, alphas=[-1.0, 0.0, 1.0], batch_size=args.batch))
        if getattr(args, "loss_rate", None):
            rows[-1]["note"] = (f"whole set one batch est. {args.loss_rate * 3 * n ** 2:,.0f} s "
                                f"({args.loss_rate * args.alphas * n ** 2:,.0f} s for {args.alphas} α)")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--alphas", type=int, default=21, help="α grid size of the KL and whole-set loss curves")
    parser.add_argument("--full-batch", type=int, default=10_000, help="largest n whose loss curve is one batch")
    parser.add_argument("--batch", type=int, default=4096, help="stated batch of the loss curve above --full-batch")
    parser.add_argument("--brute-max", type=int, default=20_000, help="largest n of the brute-force conformity")
    args = parser.parse_args(argv)
    run_size(200, 16, argparse.Namespace(**{**vars(args), "brute_max": 0}))  # warm-up: imports (scikit-learn) untimed
    print(f"{'statistic':52s} {'n':>8s} {'seconds':>9s} {'peak MiB':>9s} {'baseline s':>11s} {'ratio':>8s}  note")
    for n in sorted(args.sizes):
        for r in run_size(n, args.d, args):
            base = "" if r["baseline"] is None else f"{r['baseline']:11.3f}"
            ratio = "" if r["baseline"] is None else f"{r['baseline'] / r['s']:8.1f}"
            print(f"{r['statistic']:52s} {r['n']:8,d} {r['s']:9.3f} {r['MiB']:9.1f} {base:>11s} {ratio:>8s}  {r['note']}",
                  flush=True)


if __name__ == "__main__":
    main()
