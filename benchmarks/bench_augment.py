"""Augmented-set benchmarks (augmentation explorer). Prints figures; never asserts.

1. Build + encode one 100-step ``rotate`` set with each toy model: cold (fresh cache folder, the
   model already in memory) and warm (the same call again, answered from the cache).
2. The Explorer: from choosing an augmentation (the ``augment`` request) to every view's state
   recomputed for the new set (heatmap pixels, scatter points, readout, colours), with three models,
   cold (sets encoded) and warm (cached), against the same Explorer's refresh for a model switch.
3. ``amumo_ng.analysis.robustness`` over P pairs x S steps x the toy models (default 20 x 100 x 3,
   ``--full`` for 200 pairs), in pairs per second, against a bare loop over the same images
   measured in the same run: torchvision ``rotate`` of the source image, the model's preprocess and
   ``model.encode_image`` in the encoder's batches, nothing else (no dataset object, no curves, no validation).

Usage: python benchmarks/bench_augment.py [--pairs 20 | --full] [--steps 100] [--n 1000] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

MODELS = ("toy-clip", "toy-cyclip", "toy-cloob")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_one_set(ds, encoders: dict, steps: int, index: int = 0) -> None:
    import amumo_ng
    from amumo_ng.datasets import augment

    print(f"one {steps}-step rotate set of {ds.id} pair {index} ({ds.image_size}px), median of 3")
    print(f"  {'model':12s} {'cold (fresh cache)':>20s} {'warm (cached)':>15s} {'cold/warm':>10s}")
    for name, enc in encoders.items():
        cold, warm = [], []
        for _ in range(3):
            with tempfile.TemporaryDirectory() as tmp:
                def run():
                    return amumo_ng.embed(augment(ds, index, "rotate", steps), enc, cache_dir=tmp, progress=False)

                cold.append(timed(run)[0])
                warm.append(timed(run)[0])
        c, w = statistics.median(cold), statistics.median(warm)
        print(f"  {name:12s} {c:18.3f} s {w:13.4f} s {c / w:9.0f}x")


def bench_explorer(embeddings: dict, steps: int, index: int = 0) -> None:
    """Kernel-side time from an augment request to the views' new state, cold and warm."""
    import amumo_ng

    ex = amumo_ng.Explorer(embeddings)
    first, second = list(embeddings)[:2]

    def augment():
        ex.session.augment("rotate", index, steps)  # synchronous: encode, swap, every view refreshes
        assert ex.n_total == steps and ex.heat_rows == 2 * steps

    def restore():
        ex.session.restore()

    print(f"explorer with {len(embeddings)} models: augment request -> all views' state for the new set")
    cold, _ = timed(augment)
    restore()
    warm = statistics.median(timed(lambda: (augment(), restore()))[0] for _ in range(3))
    switch = statistics.median(timed(lambda: (setattr(ex.session, "model", second),
                                              setattr(ex.session, "model", first)))[0] / 2 for _ in range(3))
    print(f"  cold (encode {steps} images x {len(embeddings)} models) {cold:.3f} s; warm (cached, augment + restore) "
          f"{warm:.3f} s; a model switch of the same Explorer {switch:.3f} s (ratio warm/switch {warm / switch:.1f})")


def bare_loop(ds, encoders: dict, indices, steps: int) -> float:
    """Rotate with torchvision and run the model's forward pass on the same images, in the encoder's
    own batch size; returns seconds."""
    import torch
    import torchvision.transforms.functional as F

    angles = 360.0 * np.arange(steps) / steps
    t0 = time.perf_counter()
    with torch.inference_mode():
        for enc in encoders.values():
            model, pre, batch = enc.model, enc._preprocess, enc.batch_size
            for index in indices:
                src = ds.image(int(index))
                images = [F.rotate(src, float(a)) for a in angles]
                for s in range(0, steps, batch):
                    x = torch.stack([pre(im) for im in images[s:s + batch]])
                    model.encode_image(x, normalize=False).float().numpy()
    return time.perf_counter() - t0


def bench_robustness(ds, encoders: dict, embeddings: dict, pairs: int, steps: int, repeat: int = 3) -> None:
    import amumo_ng.analysis as analysis

    indices = np.random.default_rng(0).choice(len(ds), size=pairs, replace=False)

    def ours(name):
        return analysis.robustness({name: embeddings[name]}, ds, "rotate", indices, steps,
                                   encoders={name: encoders[name]}, progress=False)

    bare_loop(ds, encoders, indices[:2], steps)  # warm-up of both paths
    analysis.robustness(embeddings, ds, "rotate", indices[:2], steps, encoders=encoders, progress=False)
    print(f"robustness: {pairs} pairs x {steps} steps per model, rotate; per model interleaved with the bare "
          f"loop, best of {repeat}")
    print(f"  {'model':12s} {'bare loop':>10s} {'robustness':>11s} {'pairs/s':>8s} {'ratio':>6s}")
    total_bare = total_ours = 0.0
    for name in encoders:
        t_bare, t_ours = [], []
        for _ in range(repeat):  # interleaved, so a load change on the machine hits both alike
            t_bare.append(bare_loop(ds, {name: encoders[name]}, indices, steps))
            t_ours.append(timed(lambda: ours(name))[0])
        tb, to = min(t_bare), min(t_ours)
        total_bare, total_ours = total_bare + tb, total_ours + to
        print(f"  {name:12s} {tb:8.2f} s {to:9.2f} s {pairs / to:8.1f} {to / tb:6.2f}")
    work = pairs * len(encoders)
    print(f"  {'all':12s} {total_bare:8.2f} s {total_ours:9.2f} s {work / total_ours:8.1f} {total_ours / total_bare:6.2f}"
          f"   ({work * steps:,} images; bare loop {work / total_bare:.1f} pairs/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="200 pairs")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--n", type=int, default=1000, help="shapes pairs (the caption bank)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steadier figures on a shared machine)")
    args = parser.parse_args()

    import torch

    import amumo_ng
    from amumo_ng.datasets import load as load_dataset
    from amumo_ng.models import load as load_model

    torch.set_num_threads(args.threads)
    try:  # numpy's BLAS too, so its threads do not contend with torch's on a small machine
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    ds = load_dataset("shapes", n=args.n, seed=0)
    encoders = {}
    for name in MODELS:
        enc = load_model(name)
        t, _ = timed(lambda: enc.encode_images([ds.image(0)]))
        print(f"load {name}: {t:.2f} s (weights + first forward)")
        encoders[name] = enc
    bench_one_set(ds, encoders, args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        t, embeddings = timed(lambda: {m: amumo_ng.embed(ds, e, cache_dir=tmp, progress=False)
                                       for m, e in encoders.items()})
        print(f"embed {ds.id} with {len(encoders)} models (the caption banks): {t:.1f} s")
        import os

        os.environ["AMUMO_NG_CACHE"] = os.path.join(tmp, "augmented")  # cold: a fresh cache for the sets
        bench_explorer(embeddings, args.steps)
        bench_robustness(ds, encoders, embeddings, 200 if args.full else args.pairs, args.steps)


if __name__ == "__main__":
    main()
