"""Fixtures of the decoder tests: tiny random-weight pipelines (built offline) and synthetic pairs."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_sd():
    """A tiny random StableDiffusionPipeline (16 × 16 px, text width 32), CPU, fp32. Do not mutate."""
    from amumo_ng.decoders.tiny import tiny_stable_diffusion

    return tiny_stable_diffusion(seed=0)


@pytest.fixture(scope="session")
def tiny_unclip():
    """A tiny random StableUnCLIPImg2ImgPipeline (image embeddings of size 32), CPU, fp32. Do not mutate."""
    from amumo_ng.decoders.tiny import tiny_stable_unclip

    return tiny_stable_unclip(seed=0)


def synthetic_embeddings(n: int, d: int, seed: int = 0, images: bool = False, model_id: str = "synthetic"):
    """Embeddings of n random pairs (image rows offset from text rows), captions "caption i"."""
    from PIL import Image

    from amumo_ng.store import Embeddings

    rng = np.random.default_rng(seed)
    image = (rng.normal(size=(n, d)) + 0.5).astype(np.float32) * rng.uniform(0.5, 2.0, size=(n, 1)).astype(np.float32)
    text = (rng.normal(size=(n, d)) - 0.5).astype(np.float32)
    source = (lambda i: Image.new("RGB", (4, 4), (i % 256, (7 * i) % 256, 3))) if images else None
    return Embeddings.from_arrays(image, text, captions=[f"caption {i}" for i in range(n)], images=source,
                                  model_id=model_id)


@pytest.fixture
def synthetic():
    return synthetic_embeddings
