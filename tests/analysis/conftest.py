"""Fixtures of the analysis tests: random aligned pairs with a modality gap, and a catalogue of bad pairs."""
from __future__ import annotations

import numpy as np
import pytest


def make_pairs(n: int = 12, d: int = 6, seed: int = 0, offset: float = 1.5):
    """Raw float32 (image, text) [n, d]: shared content plus opposite offsets, so there is a gap."""
    rng = np.random.default_rng(seed)
    content = rng.normal(size=(n, d))
    shift = np.zeros(d)
    shift[0] = offset
    image = (content + 0.3 * rng.normal(size=(n, d)) + shift) * rng.uniform(0.5, 3.0, size=(n, 1))
    text = (content + 0.3 * rng.normal(size=(n, d)) - shift) * rng.uniform(0.5, 3.0, size=(n, 1))
    return image.astype(np.float32), text.astype(np.float32)


def _bad_pairs() -> dict:
    image, text = make_pairs(5, 4)
    nan_image = image.copy()
    nan_image[2, 1] = np.nan
    inf_text = text.copy()
    inf_text[3, 0] = np.inf
    zero_image = image.copy()
    zero_image[1] = 0.0
    return {
        "mismatched-n": (image, make_pairs(6, 4)[1]),
        "mismatched-d": (image, make_pairs(5, 3)[1]),
        "nan": (nan_image, text),
        "inf": (image, inf_text),
        "zero-row": (zero_image, text),
        "one-dimensional": (image[0], text[0]),
        "strings": (np.array([["a", "b"], ["c", "d"]]), np.array([["a", "b"], ["c", "d"]])),
    }


BAD_PAIRS = _bad_pairs()


@pytest.fixture
def pairs():
    """The factory :func:`make_pairs`."""
    return make_pairs


@pytest.fixture(params=sorted(BAD_PAIRS))
def bad_pair(request):
    """(image, text) that every pair function must reject with EmbeddingError."""
    image, text = BAD_PAIRS[request.param]
    return image.copy(), text.copy()


def brute_cosine(a, b) -> np.ndarray:
    """Cosine similarity by explicit loops in float64 (the independent reference)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.empty((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i, j] = sum(p * q for p, q in zip(x, y)) / (np.sqrt(sum(p * p for p in x)) * np.sqrt(sum(q * q for q in y)))
    return out


@pytest.fixture
def cosine_reference():
    return brute_cosine
