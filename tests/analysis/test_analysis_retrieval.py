"""Top-k retrieval accuracy against a brute-force ranking loop."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng.analysis.retrieval import topk_accuracy
from amumo_ng.analysis.validation import EmbeddingError


def brute_topk(queries, candidates, k):
    """Pair i is a hit when fewer than k other candidates have a cosine >= the correct one's."""
    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    hits = 0
    for i, q in enumerate(queries):
        correct = cos(q, candidates[i])
        better = sum(1 for j, c in enumerate(candidates) if j != i and cos(q, c) >= correct)
        hits += better < k
    return hits / len(queries)


@pytest.mark.parametrize("seed,chunk", [(0, 2048), (1, 7), (2, 1)])
def test_matches_brute_force(seed, chunk):
    rng = np.random.default_rng(seed)
    img = rng.normal(size=(40, 6))
    txt = img + rng.normal(scale=1.2, size=(40, 6))
    got = topk_accuracy(img, txt, ks=(1, 3, 5, 40), chunk=chunk)
    for k in (1, 3, 5, 40):
        assert got["image_to_text"][k] == pytest.approx(brute_topk(img.tolist(), txt.tolist(), k))
        assert got["text_to_image"][k] == pytest.approx(brute_topk(txt.tolist(), img.tolist(), k))
    assert got["image_to_text"][40] == 1.0


def test_ties_count_against_the_query():
    # text 1 duplicates text 0: both images see a tie between the correct text and a wrong one
    img = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    txt = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    got = topk_accuracy(img, txt, ks=(1, 2))
    assert got["image_to_text"][1] == pytest.approx(1 / 3)  # only image 2 is a sure top-1 hit
    assert got["image_to_text"][2] == pytest.approx(1.0)
    assert got["image_to_text"][1] == pytest.approx(brute_topk(img.tolist(), txt.tolist(), 1))


def test_scale_of_rows_does_not_matter():
    rng = np.random.default_rng(3)
    img, txt = rng.normal(size=(30, 4)), rng.normal(size=(30, 4))
    scaled = img * rng.uniform(0.1, 10, size=(30, 1))
    assert topk_accuracy(img, txt) == topk_accuracy(scaled, txt)


@pytest.mark.parametrize("ks", [(), (0,), (1.5,), (True,)])
def test_bad_ks(ks):
    with pytest.raises(EmbeddingError, match="ks"):
        topk_accuracy(np.eye(3), np.eye(3), ks=ks)


def test_bad_arrays():
    with pytest.raises(EmbeddingError, match="counts differ"):
        topk_accuracy(np.eye(3), np.eye(4)[:2, :3])
    with pytest.raises(EmbeddingError, match="NaN"):
        topk_accuracy(np.array([[np.nan, 1.0], [1.0, 0.0]]), np.eye(2))
