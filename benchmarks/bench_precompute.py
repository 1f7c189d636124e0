"""Precompute throughput (issue 16): pairs/s encoding the same `shapes` pairs with toy-clip.

Rows, all in one process and one run, the ratio against the first:

1. a bare open_clip forward loop over the same batches (rendering, preprocessing and tokenising
   included, nothing written): the baseline;
2. `amumo_ng.embed(..., engine="local")`: this process, torch on every core;
3. `engine="ray"` with 1 actor (all the cluster's CPUs) and with 2 actors (half each), on a
   local Ray cluster started once beforehand (its start-up time is printed, not counted); each
   Ray run includes starting its actors and loading the model in them (that fixed cost is printed
   too: the time of a Ray run of 64 pairs).

Usage: python benchmarks/bench_precompute.py [--n 20000] [--cpus 2] [--chunk 2048]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def bare_loop(ds, enc) -> None:
    """The baseline: each batch of pairs rendered, preprocessed, tokenised and through the model; nothing kept."""
    import torch

    model, pre, tok, batch = enc.model, enc._preprocess, enc._tokenizer, enc.batch_size
    captions = ds.captions
    with torch.inference_mode():
        for first in range(0, len(ds), batch):
            pairs = range(first, min(first + batch, len(ds)))
            pixels = torch.stack([pre(ds.image(i).convert("RGB")) for i in pairs])
            model.encode_image(pixels, normalize=False).float().numpy()
            model.encode_text(tok([captions[i] for i in pairs]), normalize=False).float().numpy()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--cpus", type=int, default=min(2, os.cpu_count() or 1), help="CPUs for torch and for Ray")
    parser.add_argument("--chunk", type=int, default=2048, help="pairs per shard")
    args = parser.parse_args()

    import ray
    import torch

    import amumo_ng
    from amumo_ng.store.ray_engine import RayEngine

    torch.set_num_threads(args.cpus)
    ds = amumo_ng.datasets.load("shapes", n=args.n, seed=0)
    enc = amumo_ng.models.load("toy-clip")
    enc.model  # loaded once here, outside the timings of the first two rows
    bare_loop(amumo_ng.datasets.load("shapes", n=256, seed=1), enc)  # warm-up

    rows = [("bare open_clip forward loop (baseline)", timed(lambda: bare_loop(ds, enc)))]

    def local():
        with tempfile.TemporaryDirectory() as tmp:
            amumo_ng.embed(ds, enc, cache_dir=tmp, chunk_size=args.chunk, progress=False)

    rows.append((f"embed, engine='local' ({args.cpus} torch threads)", timed(local)))

    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="warning")
    startup = time.perf_counter() - t0
    try:
        small = amumo_ng.datasets.load("shapes", n=64, seed=2)

        def fixed_cost():
            with tempfile.TemporaryDirectory() as tmp:
                amumo_ng.embed(small, amumo_ng.models.load("toy-clip"), cache_dir=tmp, engine=RayEngine(actors=1),
                               progress=False)

        overhead = timed(fixed_cost)
        for actors in (1, 2):
            engine = RayEngine(actors=actors, cpus_per_actor=args.cpus / actors)

            def on_ray():
                with tempfile.TemporaryDirectory() as tmp:
                    amumo_ng.embed(ds, amumo_ng.models.load("toy-clip"), cache_dir=tmp, chunk_size=args.chunk,
                                   engine=engine, progress=False)

            rows.append((f"embed, engine='ray', {actors} actor{'s' if actors > 1 else ''} x "
                         f"{args.cpus / actors:g} CPU", timed(on_ray)))
    finally:
        ray.shutdown()

    base = rows[0][1]
    print(f"precompute of {args.n:,} shapes pairs with toy-clip, {args.cpus} CPUs, shards of {args.chunk}, one run each")
    print(f"  {'':52s} {'seconds':>9s} {'pairs/s':>9s} {'vs bare':>8s}")
    for name, seconds in rows:
        print(f"  {name:52s} {seconds:9.2f} {args.n / seconds:9.0f} {base / seconds:8.2f}")
    print(f"  (local Ray cluster start-up, not counted above: {startup:.1f} s; a Ray run's fixed cost, "
          f"starting an actor and loading the model, measured as the run of 64 pairs: {overhead:.1f} s)")


if __name__ == "__main__":
    main()
