"""Cosine matrices, exact tiles and block-mean levels of detail against brute-force loops."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amumo_ng.analysis import similarity
from amumo_ng.analysis.similarity import (
    block_mean_similarity,
    cosine_similarity,
    level_of_detail_tile,
    similarity_blocks,
    similarity_tile,
)
from amumo_ng.analysis.validation import EmbeddingError

from conftest import brute_cosine, make_pairs


def brute_stacked(image, text):
    return brute_cosine(np.vstack([image, text]), np.vstack([image, text]))


def brute_block_means(full, row_edges, col_edges):
    out = np.empty((len(row_edges) - 1, len(col_edges) - 1))
    for k in range(len(row_edges) - 1):
        for m in range(len(col_edges) - 1):
            block = full[row_edges[k]:row_edges[k + 1], col_edges[m]:col_edges[m + 1]]
            out[k, m] = sum(block.ravel()) / block.size
    return out


def test_cosine_similarity_matches_loop_and_ignores_row_scale():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 3)).astype(np.float32)
    b = rng.normal(size=(4, 3)).astype(np.float32)
    result = cosine_similarity(a, b)
    assert result.dtype == np.float32 and result.shape == (5, 4)
    np.testing.assert_allclose(result, brute_cosine(a, b), atol=1e-6)
    scaled = cosine_similarity(a * np.array([[2.0], [0.1], [7.0], [1.0], [3.0]], np.float32), b * 5)
    np.testing.assert_allclose(scaled, result, atol=1e-6)


def test_cosine_similarity_hand_values():
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([[0.0, 2.0], [-3.0, 0.0], [5.0, 5.0]])
    expected = np.array([[0.0, -1.0, 1 / np.sqrt(2)], [1 / np.sqrt(2), -1 / np.sqrt(2), 1.0]])
    np.testing.assert_allclose(cosine_similarity(a, b), expected, atol=1e-6)


def test_chunked_fill_equals_single_product(monkeypatch):
    image, text = make_pairs(37, 5)
    whole = cosine_similarity(image, text)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 4 * 37 * 3)  # 3 rows per chunk
    np.testing.assert_allclose(cosine_similarity(image, text), whole, atol=1e-6)
    blocks = similarity_blocks(image, text)
    np.testing.assert_allclose(blocks.image_text, whole, atol=1e-6)


def test_similarity_blocks_are_the_quadrants_of_the_stacked_matrix():
    image, text = make_pairs(7, 4)
    blocks = similarity_blocks(image, text)
    full = brute_stacked(image, text)
    np.testing.assert_allclose(blocks.image_image, full[:7, :7], atol=1e-6)
    np.testing.assert_allclose(blocks.text_text, full[7:, 7:], atol=1e-6)
    np.testing.assert_allclose(blocks.image_text, full[:7, 7:], atol=1e-6)
    np.testing.assert_allclose(blocks.stacked(), full, atol=1e-6)
    assert all(b.dtype == np.float32 for b in (blocks.image_image, blocks.text_text, blocks.image_text))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), data=st.data())
def test_tile_equals_the_stacked_matrix_slice(n, data):
    image, text = make_pairs(n, 3, seed=n)
    full = brute_stacked(image, text)
    r0 = data.draw(st.integers(0, 2 * n - 1))
    r1 = data.draw(st.integers(r0 + 1, 2 * n))
    c0 = data.draw(st.integers(0, 2 * n - 1))
    c1 = data.draw(st.integers(c0 + 1, 2 * n))
    tile = similarity_tile(image, text, r0, r1, c0, c1)
    assert tile.dtype == np.float32
    np.testing.assert_allclose(tile, full[r0:r1, c0:c1], atol=1e-6)


@pytest.mark.parametrize("bounds", [(0, 0, 0, 1), (3, 2, 0, 1), (-1, 2, 0, 1), (0, 13, 0, 1), (0, 1, 5, 13)])
def test_tile_rejects_empty_or_outside_ranges(bounds):
    image, text = make_pairs(6, 3)
    with pytest.raises(EmbeddingError, match="range"):
        similarity_tile(image, text, *bounds)


def test_block_means_are_exact_when_the_matrix_fits():
    image, text = make_pairs(5, 4)
    lod = block_mean_similarity(image, text, grid=10)
    assert lod.exact and lod.values.shape == (10, 10)
    np.testing.assert_array_equal(lod.edges, np.arange(11))
    np.testing.assert_allclose(lod.values, brute_stacked(image, text), atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 23), grid=st.integers(2, 30))
def test_block_means_equal_brute_force_means_over_blocks(n, grid):
    image, text = make_pairs(n, 4, seed=grid)
    lod = block_mean_similarity(image, text, grid)
    edges = lod.edges
    assert edges.dtype == np.int64 and edges[0] == 0 and edges[-1] == 2 * n
    assert np.all(np.diff(edges) >= 1)
    assert n in edges  # no block straddles the image/text border
    if 2 * n <= grid:
        assert lod.exact and len(edges) == 2 * n + 1
    else:
        half = grid // 2
        assert lod.values.shape == (2 * half, 2 * half) and not lod.exact
        assert list(edges).index(n) == half  # P/2 bins per modality
        for part in (np.diff(edges[: half + 1]), np.diff(edges[half:])):
            assert part.max() - part.min() <= 1
    np.testing.assert_array_equal(lod.col_edges, edges)
    np.testing.assert_allclose(lod.values, brute_block_means(brute_stacked(image, text), edges, edges), atol=2e-6)


def test_block_means_survive_chunking(monkeypatch):
    image, text = make_pairs(50, 4)
    reference = block_mean_similarity(image, text, 16)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 4 * 4 * 5)  # 5 rows per normalised chunk
    chunked = block_mean_similarity(image, text, 16)
    np.testing.assert_array_equal(chunked.edges, reference.edges)
    np.testing.assert_allclose(chunked.values, reference.values, atol=1e-6)


def test_block_means_of_unit_rows_stack_nothing(monkeypatch):
    """Unit rows (a session's) are summed where they lie: the traced peak stays far below a copy of
    the rows even when a chunk would span both modalities (it once stacked them: 1.5 n rows here)."""
    import tracemalloc

    from amumo_ng.analysis.validation import l2_normalize

    n, d, grid = 20_000, 32, 100
    image, text = make_pairs(n, d, seed=5)
    image, text = l2_normalize(image), l2_normalize(text)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 3 * n * d * 4 // 2)  # one chunk would cover 1.5 n rows
    tracemalloc.start()
    lod = block_mean_similarity(image, text, grid, unit=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < (2 * n * d * 4) / 4  # a quarter of one copy of all rows
    means = np.stack([np.vstack([image, text])[a:b].astype(np.float64).mean(0) for a, b in zip(lod.edges[:-1], lod.edges[1:])])
    np.testing.assert_allclose(lod.values, means @ means.T, atol=2e-6)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 15), grid=st.integers(2, 12), data=st.data())
def test_level_of_detail_tile_equals_brute_force(n, grid, data):
    image, text = make_pairs(n, 3, seed=n + grid)
    r0 = data.draw(st.integers(0, 2 * n - 1))
    r1 = data.draw(st.integers(r0 + 1, 2 * n))
    c0 = data.draw(st.integers(0, 2 * n - 1))
    c1 = data.draw(st.integers(c0 + 1, 2 * n))
    lod = level_of_detail_tile(image, text, (r0, r1), (c0, c1), grid)
    for edges, (lo, hi) in ((lod.edges, (r0, r1)), (lod.col_edges, (c0, c1))):
        assert edges[0] == lo and edges[-1] == hi and np.all(np.diff(edges) >= 1)
        assert len(edges) - 1 <= max(grid, 1)
        assert not np.any((edges[:-1] < n) & (edges[1:] > n))  # no bin straddles the border
    assert lod.exact == (r1 - r0 <= grid and c1 - c0 <= grid)
    full = brute_stacked(image, text)
    np.testing.assert_allclose(lod.values, brute_block_means(full, lod.edges, lod.col_edges), atol=2e-6)


def test_level_of_detail_tile_of_everything_matches_the_full_level():
    image, text = make_pairs(30, 4)
    whole = block_mean_similarity(image, text, 12)
    tile = level_of_detail_tile(image, text, (0, 60), (0, 60), 12)
    np.testing.assert_array_equal(tile.edges, whole.edges)
    np.testing.assert_allclose(tile.values, whole.values, atol=1e-6)


@pytest.mark.parametrize("grid", [1, 0, -4, 2.5, "8", None])
def test_bad_grid_is_rejected(grid):
    image, text = make_pairs(4, 3)
    with pytest.raises(EmbeddingError, match="grid"):
        block_mean_similarity(image, text, grid)


def test_bad_tile_ranges_are_rejected():
    image, text = make_pairs(4, 3)
    with pytest.raises(EmbeddingError, match="pair"):
        level_of_detail_tile(image, text, 3, (0, 2), 4)
    with pytest.raises(EmbeddingError, match="outside"):
        level_of_detail_tile(image, text, (0, 9), (0, 2), 4)


@pytest.mark.parametrize("call", [
    lambda i, t: similarity_blocks(i, t),
    lambda i, t: similarity_tile(i, t, 0, 2 * len(i), 0, 2 * len(i)),
    lambda i, t: block_mean_similarity(i, t, 4),
    lambda i, t: level_of_detail_tile(i, t, (0, 2 * len(i)), (0, 2 * len(i)), 4),
], ids=["blocks", "tile", "block-mean", "lod-tile"])
def test_pair_functions_reject_bad_pairs(call, bad_pair):
    with pytest.raises(EmbeddingError):
        call(*bad_pair)


def test_cosine_similarity_rejects_bad_input():
    good = np.ones((3, 4))
    with pytest.raises(EmbeddingError, match="dimension"):
        cosine_similarity(good, np.ones((3, 5)))
    with pytest.raises(EmbeddingError, match="all-zero"):
        cosine_similarity(good, np.zeros((2, 4)))
    with pytest.raises(EmbeddingError, match="NaN"):
        cosine_similarity(np.array([[np.nan, 1.0, 0, 0]]), good)


def test_tiles_read_and_validate_only_the_rows_they_use():
    image, text = make_pairs(6, 3)
    text[4, 1] = np.nan  # stacked row 10
    full = brute_stacked(image, np.where(np.isnan(text), 0.0, text))
    np.testing.assert_allclose(similarity_tile(image, text, 0, 10, 0, 6), full[:10, :6], atol=1e-6)
    lod = level_of_detail_tile(image, text, (0, 6), (11, 12), 4)
    np.testing.assert_allclose(lod.values, brute_block_means(full, lod.edges, lod.col_edges), atol=1e-6)
    with pytest.raises(EmbeddingError, match=r"text embeddings \(rows 4\.\.5\).*NaN"):
        similarity_tile(image, text, 0, 2, 10, 12)
    with pytest.raises(EmbeddingError, match="NaN"):
        level_of_detail_tile(image, text, (0, 12), (0, 2), 4)
    with pytest.raises(EmbeddingError, match="NaN"):
        block_mean_similarity(image, text, 4)
