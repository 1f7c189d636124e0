"""Embeddings.from_arrays: validation of precomputed vectors and the derived views."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from amumo_ng import Embeddings
from amumo_ng.analysis.validation import EmbeddingError


def test_from_arrays_keeps_raw_vectors_and_normalises_on_demand():
    img = np.array([[3.0, 4.0], [1.0, 0.0]])
    txt = np.array([[0.0, 2.0], [5.0, 5.0]])
    emb = Embeddings.from_arrays(img, txt, captions=["a", "b"])
    assert emb.image.dtype == np.float32 and emb.image.tolist() == [[3.0, 4.0], [1.0, 0.0]]
    nrm = emb.normalized()
    np.testing.assert_allclose(nrm.image, [[0.6, 0.8], [1.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(nrm.text, [[0.0, 1.0], [2 ** -0.5, 2 ** -0.5]], rtol=1e-6)
    assert nrm.is_normalized and not emb.is_normalized
    assert emb.captions == ["a", "b"] and emb.ids == ["0", "1"]


def test_subset_keeps_alignment_and_images():
    rng = np.random.default_rng(0)
    img, txt = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    pics = [Image.new("RGB", (2, 2), (i * 40, 0, 0)) for i in range(5)]
    emb = Embeddings.from_arrays(img, txt, captions=list("abcde"), images=pics)
    sub = emb.subset([4, 1])
    assert sub.captions == ["e", "b"]
    np.testing.assert_allclose(sub.image, img[[4, 1]].astype(np.float32))
    assert sub.get_image(0).getpixel((0, 0)) == (160, 0, 0)
    assert emb.subset(np.array([True, False, False, False, True])).captions == ["a", "e"]
    with pytest.raises(EmbeddingError):
        emb.subset([])


@pytest.mark.parametrize(
    "img, txt, match",
    [
        (np.ones((3, 4)), np.ones((2, 4)), "counts differ"),
        (np.ones((3, 4)), np.ones((3, 5)), "dimension"),
        (np.array([[1.0, np.nan], [1.0, 1.0]]), np.ones((2, 2)), "NaN"),
        (np.array([[1.0, np.inf], [1.0, 1.0]]), np.ones((2, 2)), "inf"),
        (np.array([[0.0, 0.0], [1.0, 1.0]]), np.ones((2, 2)), "all-zero"),
        (np.ones(4), np.ones(4), "2-D"),
        (np.ones((0, 4)), np.ones((0, 4)), "at least 1"),
        (np.array([["a", "b"]]), np.ones((1, 2)), "numeric"),
    ],
)
def test_bad_arrays_are_rejected(img, txt, match):
    with pytest.raises(EmbeddingError, match=match):
        Embeddings.from_arrays(img, txt)


def test_bad_captions_and_images_counts():
    with pytest.raises(EmbeddingError, match="2 captions for 3 pairs"):
        Embeddings.from_arrays(np.ones((3, 2)), np.ones((3, 2)), captions=["a", "b"])
    with pytest.raises(EmbeddingError, match="1 images for 3 pairs"):
        Embeddings.from_arrays(np.ones((3, 2)), np.ones((3, 2)), images=[Image.new("RGB", (1, 1))])
    with pytest.raises(EmbeddingError, match="logit_scale"):
        Embeddings.from_arrays(np.ones((3, 2)), np.ones((3, 2)), logit_scale=float("nan"))


def test_image_paths_are_opened_lazily(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (3, 3), (0, 200, 0)).save(path)
    emb = Embeddings.from_arrays(np.ones((1, 2)), np.ones((1, 2)), images=[path])
    assert emb.get_image(0).getpixel((1, 1)) == (0, 200, 0)
    assert Embeddings.from_arrays(np.ones((1, 2)), np.ones((1, 2))).get_image(0) is None
