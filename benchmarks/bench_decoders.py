"""Time of the decoders (printed, not asserted).

1. RetrievalDecoder over n synthetic pairs (default 100,000) × d (64 and 512): the chunked exact
   search per frame of a k-frame strip (default k = 50), against a brute-force numpy baseline in the
   same run (normalise both n × d matrices, dense [n, k] cosines, argmax). Also the one-off set-up
   (row norms) and the tracemalloc peak of each. The two must find the same rows.
2. The tiny random Stable Diffusion / Stable unCLIP pipelines (amumo_ng.decoders.tiny, 16 × 16 px):
   seconds per image at 2 and 25 denoising steps on this machine's device (the plumbing's overhead,
   not the cost of a real model).
3. The shipped toy unCLIP (amumo_ng.decoders.ToyUnCLIPDecoder, 64 x 64 px) on CPU: a strip of 10 frames
   (slerp between two toy-clip captions), painted, against retrieval of the same 10 frames over the
   1,000 toy pairs in the same run; also with the prior (text vectors).

Run by hand:  .venv/bin/python benchmarks/bench_decoders.py [--n 100000] [--dims 64 512] [--frames 50]
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np


def measure(fn, repeat: int = 1):
    """(best seconds of ``repeat`` calls, tracemalloc peak MiB of the first, result of the last)."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    best = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for _ in range(repeat - 1):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, peak / 2**20, result


def synthetic(n: int, d: int, seed: int = 0):
    from amumo_ng.store import Embeddings

    rng = np.random.default_rng(seed)
    image = (rng.normal(size=(n, d)) + 0.5).astype(np.float32)
    text = (rng.normal(size=(n, d)) - 0.5).astype(np.float32)
    return Embeddings.from_arrays(image, text, captions=[f"caption {i}" for i in range(n)])


def brute_force(emb, queries):
    """Dense baseline: normalised copies of both modalities, [n, k] cosines, argmax."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    out = {}
    for name in ("image", "text"):
        rows = getattr(emb, name)
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        cos = unit @ q.T
        out[name] = (cos.argmax(axis=0), cos.max(axis=0))
    return out


def bench_retrieval(n: int, dims, frames: int) -> None:
    from amumo_ng.decoders import RetrievalDecoder

    print(f"RetrievalDecoder: {n:,} pairs, a strip of {frames} frames (exact; both modalities searched)")
    print(f"{'d':>5} {'set-up s':>9} {'ms/frame':>9} {'peak MiB':>9} | {'brute ms/frame':>14} {'peak MiB':>9} | "
          f"{'ratio':>6} same")
    for d in dims:
        emb = synthetic(n, d)
        queries = np.random.default_rng(1).normal(size=(frames, d)).astype(np.float32)
        setup, _, decoder = measure(lambda: RetrievalDecoder(emb))
        ours, ours_peak, found = measure(lambda: decoder.nearest(queries), repeat=3)
        base, base_peak, ref = measure(lambda: brute_force(emb, queries), repeat=3)
        same = (np.array_equal(found["image_index"], ref["image"][0])
                and np.array_equal(found["caption_index"], ref["text"][0]))
        print(f"{d:>5} {setup:>9.3f} {1e3 * ours / frames:>9.2f} {ours_peak:>9.1f} | {1e3 * base / frames:>14.2f} "
              f"{base_peak:>9.1f} | {base / ours:>6.2f} {'yes' if same else 'NO'}")
        decode_s, _, _ = measure(lambda: decoder.decode(queries, progress=False), repeat=3)
        print(f"{'':>5} decode() with frames built: {1e3 * decode_s / frames:.2f} ms/frame")
        del emb, decoder
        gc.collect()


def bench_tiny_pipelines(images: int) -> None:
    import torch

    from amumo_ng.decoders import StableDiffusionDecoder, StableUnCLIPDecoder
    from amumo_ng.decoders.tiny import tiny_stable_diffusion, tiny_stable_unclip

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"\nTiny random pipelines (16 x 16 px) on {device}, {images} images per run, best of 2 runs")
    sd_pipe, unclip_pipe = tiny_stable_diffusion(), tiny_stable_unclip()
    if device == "cuda":
        sd_pipe, unclip_pipe = sd_pipe.to(device, torch.float16), unclip_pipe.to(device, torch.float16)
    for steps in (2, 25):
        sd = StableDiffusionDecoder(sd_pipe, num_inference_steps=steps)
        t = np.linspace(0, 1, images)
        sd.decode_prompts("a red circle", "a blue square", t[:1], progress=False)  # warm-up
        sd_s, _, _ = measure(lambda: sd.decode_prompts("a red circle", "a blue square", t, progress=False), repeat=2)
        unclip = StableUnCLIPDecoder(unclip_pipe, num_inference_steps=steps)
        embeds = np.random.default_rng(2).normal(size=(images, unclip.dim)).astype(np.float32)
        unclip.decode(embeds[:1], progress=False)
        un_s, _, _ = measure(lambda: unclip.decode(embeds, progress=False), repeat=2)
        print(f"  {steps:>2} steps: StableDiffusionDecoder.decode_prompts {1e3 * sd_s / images:7.1f} ms/image, "
              f"StableUnCLIPDecoder.decode {1e3 * un_s / images:7.1f} ms/image")


def bench_toy_unclip(frames: int = 10) -> None:
    import torch

    import amumo_ng
    from amumo_ng.analysis import interpolation_path
    from amumo_ng.decoders import RetrievalDecoder, ToyUnCLIPDecoder, shipped_toy_unclips

    if "toy-clip" not in shipped_toy_unclips():
        print("\nToy unCLIP: not shipped in this checkout (train it: python -m amumo_ng.zoo.train_unclip)")
        return
    emb = amumo_ng.embed("shapes", "toy-clip", n=1000, progress=False)
    path = interpolation_path(emb.text[3], emb.text[8], frames, "slerp")
    load_s, _, decoder = measure(lambda: ToyUnCLIPDecoder.load("toy-clip"))
    retrieval = RetrievalDecoder(emb)
    print(f"\nToy unCLIP of toy-clip on CPU ({torch.get_num_threads()} torch threads), a strip of {frames} frames, best of 5")
    ours, peak, _ = measure(lambda: decoder.decode(path.vectors, progress=False), repeat=5)
    prior = decoder.with_prior(True)
    with_prior, _, _ = measure(lambda: prior.decode(path.vectors, progress=False), repeat=5)
    base, _, _ = measure(lambda: retrieval.decode(path.vectors, progress=False), repeat=5)
    print(f"  load {load_s:.3f} s; decode {1e3 * ours:.1f} ms per strip ({1e3 * ours / frames:.2f} ms/frame, peak "
          f"{peak:.1f} MiB); with the prior {1e3 * with_prior:.1f} ms; retrieval over 1,000 pairs "
          f"{1e3 * base:.1f} ms: ratio toy/retrieval {ours / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--images", type=int, default=10, help="images per tiny-pipeline run")
    parser.add_argument("--skip-diffusion", action="store_true")
    args = parser.parse_args()
    bench_retrieval(args.n, args.dims, args.frames)
    if not args.skip_diffusion:
        bench_tiny_pipelines(args.images)
    bench_toy_unclip()


if __name__ == "__main__":
    main()
