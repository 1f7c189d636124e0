"""text_weights, gap_shifted and path_mean (the strip's close-gap shift) against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.interpolation_paths import gap_shifted, path_mean, text_weights
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.store import Embeddings


def test_text_weights_are_the_text_share_of_each_frame():
    t = np.array([0.0, 0.25, 1.0])
    assert text_weights("text", "text", t).tolist() == [1.0, 1.0, 1.0]
    assert text_weights("image", "image", t).tolist() == [0.0, 0.0, 0.0]
    assert text_weights("image", "text", t).tolist() == [0.0, 0.25, 1.0]
    assert text_weights("text", "image", t).tolist() == [1.0, 0.75, 0.0]
    with pytest.raises(EmbeddingError, match="'image' or 'text'"):
        text_weights("mixed", "text", t)


def test_gap_shifted_moves_each_frame_by_its_share_of_the_gap():
    u = np.array([[1.0, 0.0], [0.0, 1.0]])
    gap = np.array([0.0, 1.0])
    out = gap_shifted(u, [1.0, 0.5], gap)
    # (1, 0) + (0, 1) = (1, 1) / √2; (0, 1) + (0, 0.5) = (0, 1.5) / 1.5
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[2 ** -0.5, 2 ** -0.5], [0.0, 1.0]], atol=1e-7)
    with pytest.raises(EmbeddingError, match="onto the origin"):
        gap_shifted([[0.0, -1.0]], [1.0], gap)
    with pytest.raises(EmbeddingError, match="do not match"):
        gap_shifted(u, [1.0], gap)


def test_path_mean_of_a_mixed_path_is_the_average_of_both_means():
    image = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    text = np.array([[1.0, 0.0], [1.0, -2.0]], np.float32)
    emb = Embeddings.from_arrays(image, text, captions=["a", "b"], model_id="m")
    np.testing.assert_allclose(path_mean(emb, "image"), [2.0, 3.0])
    np.testing.assert_allclose(path_mean(emb, "text"), [1.0, -1.0])
    np.testing.assert_allclose(path_mean(emb, "mixed"), [1.5, 1.0])
