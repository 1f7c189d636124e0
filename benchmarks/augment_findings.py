"""Amumo's augmentation anecdotes, measured on ``shapes`` with the shipped toy models. Prints tables; never asserts.

1. Rotation (100 steps, 3.6 degrees a step) of single, centred shapes on a plain background. From
   the cosine matrix S [100, 100] of the rotated images' embeddings:
   - anti-diagonal: S[i, 100 - i] (theta vs 360 - theta, i.e. a mirror image for a mirror-symmetric
     shape) against the mean of S at the same angular distance (``excess`` > 0: it stands out);
   - 90-degree checkerboard: the mean of S at an angular distance of 45, 90, 135, 180 degrees; a
     checkerboard shows as 90 > 45 and 180 > 135.
   Run twice: ``fill=0`` (black corners, Amumo's and torchvision's default) and ``fill=228`` (the
   background grey, so no corner artefact: rotations by multiples of 90 degrees are the only ones
   without black corners, which alone could make a checkerboard).
2. Noise and blur over P random clean pairs (``analysis.robustness``): the level where the mean
   cosine to the original falls below half its range, where the median rank of the true caption
   (among the distinct captions of the dataset) exceeds 10, and where recall@10 falls below half
   of its value at step 0.
3. "All images look alike" past that level: for a few pairs, the mean cosine between the images of
   *different* source pairs at the same step, before and after the level.

Usage: python benchmarks/augment_findings.py [--pairs 20] [--n 1000] [--cache-dir DIR] [--threads 1]
"""
from __future__ import annotations

import argparse

import numpy as np

MODELS = ("toy-clip", "toy-cyclip", "toy-cloob")
SHAPES = ("circle", "square", "star", "heart", "cross", "triangle")


def unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def rotation_structure(S: np.ndarray) -> dict:
    """The library's :func:`amumo_ng.analysis.rotation_structure` as the dict this table prints."""
    from amumo_ng.analysis import rotation_structure as structure

    r = structure(S)
    return {"anti": r.antidiagonal, "excess": r.excess, "off": r.off_diagonal,
            "d45": r.at_45, "d90": r.at_90, "d135": r.at_135, "d180": r.at_180}


def pick_pairs(meta) -> dict:
    """First single, centred, plain-background, clean pair of each shape: {shape: index}."""
    ok = (meta["count"] == 1) & (meta["position"] == "centre") & (meta["background"] == "plain") & (
        meta["anomaly"] == "none")
    out = {}
    for shape in SHAPES:
        rows = np.flatnonzero(ok & (meta["shape"] == shape))
        if rows.size:
            out[shape] = int(rows[0])
    return out


def set_vectors(aug, encoder, cache_dir) -> np.ndarray:
    import amumo_ng

    return unit(amumo_ng.embed(aug, encoder, cache_dir=cache_dir, progress=False).image)


def rotation_table(ds, encoders, cache_dir) -> None:
    from amumo_ng.datasets import augment

    pairs = pick_pairs(ds.meta)
    print("1. rotation, 100 steps: cosine matrix of the rotated images")
    print(f"   {'model':10s} {'shape':8s} {'fill':>4s} {'anti':>6s} {'off':>6s} {'excess':>7s} "
          f"{'45deg':>6s} {'90deg':>6s} {'135deg':>6s} {'180deg':>6s}  checker")
    summary = {}
    for name, enc in encoders.items():
        for shape, index in pairs.items():
            for fill in (0, 228):
                S = (lambda v: v @ v.T)(set_vectors(augment(ds, index, "rotate", 100, fill=fill), enc, cache_dir))
                r = rotation_structure(S)
                checker = r["d90"] > r["d45"] and r["d180"] > r["d135"]
                summary.setdefault((name, fill), []).append((r["excess"], checker))
                print(f"   {name:10s} {shape:8s} {fill:4d} {r['anti']:6.3f} {r['off']:6.3f} {r['excess']:+7.3f} "
                      f"{r['d45']:6.3f} {r['d90']:6.3f} {r['d135']:6.3f} {r['d180']:6.3f}  {'yes' if checker else 'no'}")
    print("   summary (per model and fill: mean anti-diagonal excess; shapes with a 90-degree checkerboard)")
    for (name, fill), rows in summary.items():
        ex = np.mean([e for e, _ in rows])
        print(f"   {name:10s} fill={fill:3d}  excess {ex:+.3f}  checkerboard {sum(c for _, c in rows)}/{len(rows)}")


def level(param, i) -> str:
    return "never" if i is None else f"{param[i]:.3g}"


def collapse_table(ds, encoders, embeddings, pairs: int, cache_dir) -> dict:
    import amumo_ng.analysis as analysis

    clean = np.flatnonzero(ds.meta["anomaly"].to_numpy() == "none")
    indices = np.random.default_rng(1).choice(clean, size=pairs, replace=False)
    print(f"\n2. collapse under noise and blur: {pairs} random clean pairs x 100 steps")
    print(f"   {'kind':6s} {'model':10s} {'unit':>9s} {'cos<half':>8s} {'rank>10':>8s} {'R@10<half':>9s} "
          f"{'R@10(0)':>7s} {'rank(0)':>7s} {'cos(end)':>8s}")
    levels = {}
    for kind in ("noise", "blur"):
        res = analysis.robustness(embeddings, ds, kind, indices, 100, encoders=encoders, progress=False)
        for name, m in res.models.items():
            cos = m.image_cosine.mean
            half_cos = analysis.first_crossing(cos, cos[0] - 0.5 * (cos[0] - cos.min()))
            rank10 = analysis.first_crossing(m.caption_rank.median, 10, below=False)
            r10 = m.recall_at(10)
            half_r10 = analysis.first_crossing(r10, 0.5 * r10[0])
            levels[(kind, name)] = half_cos
            print(f"   {kind:6s} {name:10s} {res.param_unit:>9s} {level(m.param, half_cos):>8s} "
                  f"{level(m.param, rank10):>8s} {level(m.param, half_r10):>9s} {r10[0]:7.2f} "
                  f"{m.caption_rank.median[0]:7.0f} {cos[-1]:8.3f}")
    return levels


def alike_table(ds, encoders, levels: dict, cache_dir) -> None:
    from amumo_ng.datasets import augment

    pairs = list(pick_pairs(ds.meta).values())[:4]
    print(f"\n3. do the images look alike past the level? {len(pairs)} source pairs ({', '.join(map(str, pairs))}),"
          " 100 steps")
    print(f"   {'kind':6s} {'model':10s} {'from':>6s} {'in-set before':>13s} {'in-set after':>12s} "
          f"{'across before':>13s} {'across after':>12s}")
    for kind in ("noise", "blur"):
        for name, enc in encoders.items():
            cut = levels.get((kind, name))
            if cut is None or cut < 2:
                continue
            sets = [set_vectors(augment(ds, i, kind, 100), enc, cache_dir) for i in pairs]
            within = lambda v, sl: (lambda S: S[~np.eye(len(S), dtype=bool)].mean())(v[sl] @ v[sl].T)  # noqa: E731
            across = lambda sl: np.mean([np.sum(a[sl] * b[sl], axis=1).mean()  # noqa: E731
                                         for k, a in enumerate(sets) for b in sets[k + 1:]])
            before, after = slice(0, cut), slice(cut, 100)
            print(f"   {kind:6s} {name:10s} {augment(ds, pairs[0], kind, 100).param[cut]:6.3g} "
                  f"{np.mean([within(v, before) for v in sets]):13.3f} {np.mean([within(v, after) for v in sets]):12.3f} "
                  f"{across(before):13.3f} {across(after):12.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--cache-dir", default=None, help="embedding cache (default: amumo_ng's)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    import amumo_ng
    from amumo_ng.datasets import load as load_dataset
    from amumo_ng.models import load as load_model

    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    ds = load_dataset("shapes", n=args.n, seed=0)
    encoders = {name: load_model(name) for name in MODELS}
    embeddings = {name: amumo_ng.embed(ds, enc, cache_dir=args.cache_dir, progress=False)
                  for name, enc in encoders.items()}
    rotation_table(ds, encoders, args.cache_dir)
    levels = collapse_table(ds, encoders, embeddings, args.pairs, args.cache_dir)
    alike_table(ds, encoders, levels, args.cache_dir)


if __name__ == "__main__":
    main()
