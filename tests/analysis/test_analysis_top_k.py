"""top_k: exact chunked cosine top-k against a brute-force argsort (ties included)."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.retrieval import top_k
from amumo_ng.analysis.validation import EmbeddingError


def brute(queries, candidates, k):
    """Full similarity matrix, each row sorted by (-cosine, index)."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    c = candidates / np.linalg.norm(candidates, axis=1, keepdims=True)
    sims = q.astype(np.float64) @ c.astype(np.float64).T
    idx = np.stack([np.lexsort((np.arange(len(c)), -row))[:k] for row in sims])
    return idx, np.take_along_axis(sims, idx, axis=1)


def tied_vectors(n, d, rng):
    """Unit vectors with four entries of ±0.5: every cosine is a multiple of 1/4, computed exactly."""
    out = np.zeros((n, d), np.float32)
    for row in out:
        cols = rng.choice(d, 4, replace=False)
        row[cols] = rng.choice([-0.5, 0.5], 4)
    return out


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_ties_are_broken_by_index_exactly_as_a_sorted_brute_force(chunk):
    rng = np.random.default_rng(0)
    cand, queries = tied_vectors(300, 8, rng), tied_vectors(5, 8, rng)
    for k in (1, 5, 37):
        idx, sims = top_k(queries, cand, k, chunk=chunk)
        ref_idx, ref_sims = brute(queries, cand, k)
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_allclose(sims, ref_sims, atol=1e-6)


def test_random_raw_vectors_many_chunks():
    rng = np.random.default_rng(1)
    cand = rng.normal(size=(5000, 32)) * rng.uniform(0.5, 3, size=(5000, 1))  # raw: not unit
    queries = rng.normal(size=(3, 32))
    idx, sims = top_k(queries, cand, 10, chunk=333)
    ref_idx, ref_sims = brute(queries, cand, 10)
    np.testing.assert_allclose(sims, ref_sims, atol=2e-6)
    np.testing.assert_array_equal(idx, ref_idx)
    assert idx.dtype == np.int64 and sims.dtype == np.float32 and idx.shape == (3, 10)


def test_one_query_vector_k_larger_than_n_and_bad_input():
    rng = np.random.default_rng(2)
    cand = rng.normal(size=(4, 6))
    idx, sims = top_k(cand[2], cand, 10)
    assert idx.shape == (1, 4) and idx[0, 0] == 2 and abs(sims[0, 0] - 1) < 1e-6
    assert np.all(np.diff(sims[0]) <= 0)
    with pytest.raises(EmbeddingError, match="k must be"):
        top_k(cand[0], cand, 0)
    with pytest.raises(EmbeddingError, match="share d"):
        top_k(np.ones(5), cand, 1)
    with pytest.raises(EmbeddingError, match="no candidates"):
        top_k(np.ones(6), np.zeros((0, 6)), 1)


@pytest.mark.slow
def test_100k_candidates_match_the_brute_force():
    rng = np.random.default_rng(3)
    cand = rng.normal(size=(100_000, 64)).astype(np.float32)
    q = rng.normal(size=(2, 64)).astype(np.float32)
    idx, sims = top_k(q, cand, 20)
    ref_idx, ref_sims = brute(q, cand, 20)
    np.testing.assert_allclose(sims, ref_sims, atol=2e-6)
    np.testing.assert_array_equal(idx, ref_idx)
