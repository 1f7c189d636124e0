"""The view's unit vectors sent to the browser (``heat_vectors``) for local exact hover values."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis.gap import close_gap
from amumo_ng.widgets import SimilarityHeatmap
from helpers_widgets import brute_stacked, make_embeddings


def decode_vectors(w) -> np.ndarray:
    """heat_vectors as float32 [2k, d], checked against heat_dims and n_view."""
    vec = np.frombuffer(w.heat_vectors, dtype=np.float32)
    assert w.heat_dims > 0 and vec.size == 2 * w.n_view * w.heat_dims
    return vec.reshape(2 * w.n_view, w.heat_dims)


def js_dot(vec: np.ndarray, r: int, c: int) -> float:
    """What the browser computes: a float64 loop over float32 entries, clipped to [-1, 1]."""
    total = 0.0
    for a, b in zip(vec[r].tolist(), vec[c].tolist()):
        total += a * b
    return float(np.float32(min(1.0, max(-1.0, total))))


def random_cells(k2: int, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(int(r), int(c)) for r, c in rng.integers(0, k2, size=(count, 2))]


def assert_matches_tile(w, count: int = 40, seed: int = 0) -> np.ndarray:
    vec = decode_vectors(w)
    for r, c in random_cells(2 * w.n_view, count, seed):
        want = float(w.session.tile(r, r + 1, c, c + 1)[0, 0])
        got = js_dot(vec, r, c)
        assert abs(got - want) < 5e-6, (r, c, got, want)
        assert f"{got:.4f}" == f"{want:.4f}" or abs(got - want) < 1e-6
    return vec


def test_block_mean_view_sends_vectors_whose_dots_are_the_exact_values():
    emb = make_embeddings(60, d=10)
    w = SimilarityHeatmap(emb)
    w.grid = 16  # 120 rows on 16 cells: block means, exact values must come from somewhere
    assert not w.heat_exact and w.heat_values == b""
    vec = assert_matches_tile(w)
    # independent of the session: brute force over the raw embeddings (no filter: draw order = index order)
    brute = brute_stacked(emb.image, emb.text)
    for r, c in random_cells(120, 40, seed=1):
        assert js_dot(vec, r, c) == pytest.approx(brute[r, c], abs=1e-5)
    assert np.allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)


def test_vectors_follow_filter_gap_and_clustering():
    emb = make_embeddings(40, d=12)
    ex = amumo_ng.Explorer(emb)
    ex.grid = 8
    ex.filter_pattern = "triangle"
    assert ex.n_view == 10
    vec = assert_matches_tile(ex, seed=2)
    order = np.frombuffer(ex.order, dtype=np.int32)
    brute = brute_stacked(emb.image[order], emb.text[order])
    for r, c in random_cells(20, 30, seed=3):
        assert js_dot(vec, r, c) == pytest.approx(brute[r, c], abs=1e-5)

    ex.filter_pattern = ""
    ex.gap_closed = True
    assert ex.n_view == 40
    vec = assert_matches_tile(ex, seed=4)
    img_c, txt_c = close_gap(emb.image, emb.text)
    brute = brute_stacked(np.asarray(img_c), np.asarray(txt_c))
    for r, c in random_cells(80, 30, seed=5):
        assert js_dot(vec, r, c) == pytest.approx(brute[r, c], abs=1e-5)
    # closing the gap changes the image-text values: the old vectors would be wrong now
    open_brute = brute_stacked(emb.image, emb.text)
    assert not np.allclose(brute[:40, 40:], open_brute[:40, 40:], atol=1e-3)

    ex.gap_closed = False
    ex.cluster = True
    ex.session.wait_ordering()
    order = np.frombuffer(ex.order, dtype=np.int32)
    assert not np.array_equal(order, np.arange(40))  # the clustering reordered the view
    vec = assert_matches_tile(ex, seed=6)
    brute = brute_stacked(emb.image[order], emb.text[order])
    for r, c in random_cells(80, 30, seed=7):
        assert js_dot(vec, r, c) == pytest.approx(brute[r, c], abs=1e-5)


def test_over_budget_or_empty_view_sends_no_vectors():
    emb = make_embeddings(30, d=8)
    w = SimilarityHeatmap(emb)
    need = 2 * 30 * 8 * 4
    w.vector_budget = need  # exactly fits
    assert len(w.heat_vectors) == need and w.heat_dims == 8
    w.vector_budget = need - 1
    assert w.heat_vectors == b"" and w.heat_dims == 0
    # the kernel request stays the fallback and still answers
    reply, _ = w.handle_value({"type": "value", "row": 3, "col": 40})
    assert reply["value"] == pytest.approx(brute_stacked(emb.image, emb.text)[3, 40], abs=1e-5)

    ex = amumo_ng.Explorer(emb)
    ex.filter_pattern = "no caption has this"
    assert ex.n_view == 0 and ex.heat_vectors == b"" and ex.heat_dims == 0
    ex.filter_pattern = ""
    assert decode_vectors(ex).shape == (60, 8)
