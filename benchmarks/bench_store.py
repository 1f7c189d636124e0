"""Embedding-store benchmarks (issue 2). Prints figures; never asserts.

1. Cached reload of N pairs x D float32 (default 100,000 x 512): `EmbeddingCache.load` (manifest,
   checksum verification of every file, memory-mapped arrays, Parquet metadata) against `np.load` of
   the same two arrays (a full read, no verification). Target: <= 0.2 s.
2. Encoding overhead of `amumo_ng.embed` against a bare forward loop over the same batches with the
   same model (image rendering, preprocessing and tokenising are in both). Target: <= 10 %.

Usage: python benchmarks/bench_store.py [--n 100000] [--dim 512] [--encode-n 512]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_reload(n: int, dim: int) -> None:
    from amumo_ng.store.cache import EmbeddingCache

    rng = np.random.default_rng(0)
    image = rng.standard_normal((n, dim), dtype=np.float32)
    text = rng.standard_normal((n, dim), dtype=np.float32)
    meta = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "caption": [f"a caption number {i}" for i in range(n)]})
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(tmp)
        key = "b" * 64
        path = cache.write(key, image, text, meta, {"model_id": "bench", "dataset_id": "bench", "logit_scale": 100.0})

        def reload():
            emb = cache.load(key)
            float(emb.image[-1, -1]) + float(emb.text[-1, -1])

        def baseline():
            a = np.load(Path(path) / "image.npy")
            b = np.load(Path(path) / "text.npy")
            float(a[-1, -1]) + float(b[-1, -1])

        reload()  # warm the page cache for both
        t_cache, t_np = best_of(reload), best_of(baseline)
        mib = 2 * n * dim * 4 / 2**20
        print(f"cached reload {n:,} x {dim} float32 x2 ({mib:.0f} MiB), warm page cache, best of 5")
        print(f"  {'amumo cache.load (verified, mmap, + meta)':45s} {t_cache:8.3f} s")
        print(f"  {'np.load of the same two arrays (baseline)':45s} {t_np:8.3f} s")
        print(f"  ratio cache/np.load = {t_cache / t_np:.2f}   target <= 0.2 s: {'met' if t_cache <= 0.2 else 'MISSED'}")


def bench_encode(n: int) -> None:
    import torch

    import amumo_ng
    from amumo_ng.datasets import load as load_dataset
    from amumo_ng.models import load as load_model

    torch.set_num_threads(2)
    ds = load_dataset("shapes", n=n, seed=123)
    try:
        enc = load_model("toy-clip")
        name = "toy-clip"
    except Exception:
        from amumo_ng.models.open_clip_encoder import OpenCLIPEncoder
        from amumo_ng.zoo.configs import register_toy_configs

        register_toy_configs()
        enc, name = OpenCLIPEncoder("amumo-toy-vit", None), "amumo-toy-vit (random init)"
    enc.batch_size = 64
    model = enc.model  # load once, outside both timings
    pre, tok = enc._preprocess, enc._tokenizer
    captions = ds.captions
    chunk = 2048

    def bare():
        with torch.inference_mode():
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                ims = ds.images(range(start, stop))
                for b in range(0, stop - start, enc.batch_size):
                    x = torch.stack([pre(im.convert("RGB")) for im in ims[b:b + enc.batch_size]])
                    model.encode_image(x, normalize=False).float().numpy()
                for b in range(start, stop, enc.batch_size):
                    model.encode_text(tok(captions[b:min(b + enc.batch_size, stop)]), normalize=False).float().numpy()

    def ours():
        with tempfile.TemporaryDirectory() as tmp:
            amumo_ng.embed(ds, enc, cache_dir=tmp, progress=False, chunk_size=chunk)

    bare()  # warm-up
    t_bare, t_ours = [], []
    for _ in range(3):  # interleaved, so a load change on the machine hits both alike
        t_bare.append(best_of(bare, 1))
        t_ours.append(best_of(ours, 1))
    t_bare, t_ours = statistics.median(t_bare), statistics.median(t_ours)
    print(f"encoding {n} shapes pairs with {name}, batch {enc.batch_size}, median of 3 interleaved runs")
    print(f"  {'bare forward loop (baseline)':45s} {t_bare:8.3f} s")
    print(f"  {'amumo_ng.embed (validate, chunks, cache)':45s} {t_ours:8.3f} s")
    print(f"  overhead = {100 * (t_ours / t_bare - 1):+.1f} %   target <= 10 %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--encode-n", type=int, default=512)
    args = parser.parse_args()
    bench_reload(args.n, args.dim)
    bench_encode(args.encode_n)


if __name__ == "__main__":
    main()
