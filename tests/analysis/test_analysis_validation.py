"""Input validation shared by the analysis functions."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.validation import EmbeddingError, as_matrix, as_pair, l2_normalize, pair_shape


def test_as_matrix_converts_and_checks():
    out = as_matrix([[1, 2], [3, 4]])
    assert out.dtype == np.float32 and out.flags.c_contiguous
    with pytest.raises(EmbeddingError, match="2-D"):
        as_matrix(np.ones(3))
    with pytest.raises(EmbeddingError, match="at least 3"):
        as_matrix(np.ones((2, 2)), min_rows=3)
    with pytest.raises(EmbeddingError, match="dimension is 0"):
        as_matrix(np.ones((2, 0)))
    with pytest.raises(EmbeddingError, match="row 1"):
        as_matrix([[1.0, 0.0], [np.inf, 0.0]])
    with pytest.raises(EmbeddingError, match="all-zero"):
        as_matrix([[1.0, 0.0], [0.0, 0.0]])
    assert as_matrix([[1.0, 0.0], [0.0, 0.0]], allow_zero_rows=True).shape == (2, 2)


def test_as_pair_and_l2_normalize():
    image, text = as_pair([[3.0, 4.0]], [[0.0, 2.0]])
    np.testing.assert_allclose(l2_normalize(image), [[0.6, 0.8]])
    with pytest.raises(EmbeddingError, match="counts differ"):
        as_pair(np.ones((2, 2)), np.ones((3, 2)))
    assert as_pair(np.ones((2, 2)), np.ones((3, 2)), same_n=False)[1].shape == (3, 2)


def test_pair_shape_checks_shapes_without_reading_values():
    image = np.full((4, 3), np.nan, dtype=np.float32)  # values are the caller's business
    text = np.ones((4, 3), dtype=np.float32)
    got_image, got_text = pair_shape(image, text)
    assert got_image is image and got_text is text  # no copy
    with pytest.raises(EmbeddingError, match="dimension"):
        pair_shape(image, np.ones((4, 2)))
    with pytest.raises(EmbeddingError, match="counts differ"):
        pair_shape(image, np.ones((5, 3)))
    with pytest.raises(EmbeddingError, match="2-D"):
        pair_shape(image[0], text[0])
    with pytest.raises(EmbeddingError, match="numeric"):
        pair_shape(np.array([["a"]]), np.array([["b"]]))
    with pytest.raises(EmbeddingError, match="at least one row"):
        pair_shape(np.ones((0, 3)), np.ones((0, 3)))


def test_as_pair_is_the_one_pair_check():
    import torch
    a, b = torch.ones(3, 2, requires_grad=True), torch.full((3, 2), float("nan"))
    got_a, got_b = as_pair(a, b, check_values=False)
    assert got_a is a and got_b is b  # shapes only, tensors unchanged (device, autograd graph)
    with pytest.raises(EmbeddingError, match="floating-point"):
        as_pair(torch.ones(3, 2, dtype=torch.int64), b, check_values=False)
    with pytest.raises(EmbeddingError, match="counts differ"):
        as_pair(a, torch.ones(4, 2), check_values=False)
    with pytest.raises(EmbeddingError, match="rows and cols differ in dimension"):
        as_pair(np.ones((3, 2)), np.ones((3, 4)), names=("rows", "cols"), same_n=False)
    with pytest.raises(EmbeddingError, match="needs at least 2"):
        as_pair(np.ones((1, 2)), np.ones((1, 2)), min_rows=2, check_values=False)
    with pytest.raises(EmbeddingError, match="all-zero"):
        as_pair(np.zeros((2, 2)), np.ones((2, 2)))
    assert as_pair(np.zeros((2, 2)), np.ones((2, 2)), allow_zero_rows=True)[0].shape == (2, 2)
    with pytest.raises(EmbeddingError, match="1 images vs 2 texts"):
        as_pair(np.ones((1, 2)), np.ones((2, 2)))
