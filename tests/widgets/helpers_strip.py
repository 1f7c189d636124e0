"""Helpers of the strip decoder tests: shapes + toy-clip, random-net toy decoders, independent references."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import amumo_ng


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """200 shapes pairs embedded with toy-clip (its encoder attached, so prompts work)."""
    ds = amumo_ng.datasets.load("shapes", n=200, seed=0)
    return amumo_ng.embed(ds, "toy-clip", cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def random_toy(dim: int, model_id, *, prior: bool = False, seed: int = 0, image_size: int = 64):
    """A ToyUnCLIPDecoder with random networks (torch.manual_seed(seed)) for vectors of ``model_id``."""
    import torch

    from amumo_ng.decoders import ToyUnCLIPDecoder
    from amumo_ng.decoders.toy_nets import EmbeddingImageDecoder, RegressionPrior

    torch.manual_seed(seed)
    return ToyUnCLIPDecoder(EmbeddingImageDecoder(dim, image_size=image_size), RegressionPrior(dim),
                            model_id=model_id, prior=prior)


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def numpy_slerp(a, b, steps):
    """Great circle between the directions of a and b, written out (rows [steps, d])."""
    a, b = unit(a), unit(b)
    theta = np.arccos(np.clip(a @ b, -1, 1))
    t = np.linspace(0, 1, steps)[:, None]
    return (np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / np.sin(theta)


def hand_gap(emb):
    """Δ = mean of the unit image rows − mean of the unit text rows (all pairs), float64 [d]."""
    return unit(emb.image).mean(0) - unit(emb.text).mean(0)


def nearest_captions(path, emb):
    """Index of the nearest caption row of each path vector, by cosine, in a loop."""
    rows = unit(emb.text)
    return [int(np.argmax(rows @ q)) for q in unit(path)]


def pictures(strip) -> list[np.ndarray]:
    """The frames' pictures as int16 arrays [H, W, 3] (decoded from frame_images)."""
    off = np.frombuffer(strip.frame_image_offsets, np.uint32)
    return [np.asarray(Image.open(io.BytesIO(strip.frame_images[a:b])).convert("RGB"), dtype=np.int16)
            for a, b in zip(off[:-1], off[1:])]


def direct(decoder, vectors) -> list[np.ndarray]:
    """decoder.decode(vectors) pictures as int16 arrays, computed here."""
    return [np.asarray(f.image.convert("RGB"), dtype=np.int16) for f in decoder.decode(vectors, progress=False)]


def assert_same_pictures(got, want, tol: int = 1):
    """Equal pictures, up to ``tol`` grey levels (float rounding of two computations of one path)."""
    assert len(got) == len(want)
    for j, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, j
        assert int(np.abs(g - w).max()) <= tol, (j, int(np.abs(g - w).max()))


def snapshot(strip):
    """What a refused input must leave as it was."""
    return (list(strip.frames), strip.frame_images, strip.frame_image_offsets, dict(strip.strip_info),
            strip.strip_status)
