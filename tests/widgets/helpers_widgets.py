"""Small embeddings for the widget tests (no model, no browser)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from amumo_ng.store import Embeddings

WORDS = ["red circle", "blue square", "green triangle", "red star"]


def make_embeddings(n: int = 40, d: int = 12, seed: int = 0, images: bool = False, model_id: str = "toy",
                    shift: float = 1.0) -> Embeddings:
    """n pairs in 4 clusters; texts offset by ``shift`` along one axis (a modality gap)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(4, d)) * 2
    labels = np.arange(n) % 4
    img = centers[labels] + 0.3 * rng.normal(size=(n, d))
    txt = centers[labels] + 0.3 * rng.normal(size=(n, d))
    img[:, 0] += shift
    txt[:, 0] -= shift
    captions = [f"{WORDS[l]} number {i}" for i, l in enumerate(labels)]
    source = None
    if images:
        def source(i):
            return Image.new("RGB", (48, 32), (10 * (i % 25), 100, 200))
    return Embeddings.from_arrays(img, txt, captions=captions, images=source, model_id=model_id, logit_scale=50.0)


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_stacked(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    """The stacked cosine-similarity matrix [[I·I, I·T], [T·I, T·T]] by an explicit double loop."""
    rows = np.concatenate([unit(image), unit(text)])
    m = rows.shape[0]
    out = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            out[i, j] = float(np.dot(rows[i], rows[j]))
    return out
