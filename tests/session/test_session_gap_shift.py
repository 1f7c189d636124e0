"""The applied gap shift and the loss-vs-shift curve against a brute-force reference.

The reference shifts with the analysis library's ``shift_gap`` (Liang et al.'s formula), then
computes whole logit matrices and cross-entropies with scipy's logsumexp.
"""
import threading

import numpy as np
import pytest
from scipy.special import logsumexp

import amumo_ng.session.readouts as readouts_module
from amumo_ng.analysis.gap import shift_gap
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.session import Session
from amumo_ng.session.gap_shift import SHIFT_RANGE, loss_at_shifts, shift_grid
from amumo_ng.session.readouts import ReadoutCancelled
from amumo_ng.store.embeddings import Embeddings

from test_session_readouts import brute_compat, brute_symmetric


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_embeddings(n=160, d=12, seed=1, scale=20.0):
    rng = np.random.default_rng(seed)
    content = rng.normal(size=(n, d))
    gap = np.zeros(d)
    gap[0] = 2.0
    img = (content + 0.4 * rng.normal(size=(n, d)) + gap).astype(np.float32)
    txt = (content + 0.4 * rng.normal(size=(n, d)) - gap).astype(np.float32)
    return Embeddings.from_arrays(img, txt, captions=[f"pair {i}" for i in range(n)], logit_scale=scale)


def test_shift_grid_spans_twice_the_gap_to_swapped_and_hits_zero_and_closed():
    grid = shift_grid(0.8, 31)
    assert grid[0] == pytest.approx(SHIFT_RANGE[0] * 0.8) and grid[-1] == pytest.approx(SHIFT_RANGE[1] * 0.8)
    assert 0.0 in grid and pytest.approx(0.8) == grid[20]
    with pytest.raises(EmbeddingError):
        shift_grid(0.0)


def test_curve_matches_brute_force_at_every_shift():
    emb = make_embeddings()
    session = Session(emb)
    deltas = np.array([-0.5, 0.0, 0.7, 1.9, 3.0])
    curve = session.gap_shift_curve(deltas)
    i_u, t_u = unit(emb.image), unit(emb.text)
    g = i_u.mean(0) - t_u.mean(0)
    assert curve.gap_distance == pytest.approx(np.linalg.norm(g), abs=1e-6)
    for k, delta in enumerate(deltas):
        a, b = (np.asarray(x, np.float64) for x in shift_gap(emb.image, emb.text, delta))
        assert curve.losses[k] == pytest.approx(brute_symmetric(a, b, 20.0, len(a)), rel=1e-4)
        assert curve.compat_losses[k] == pytest.approx(brute_compat(a, b, 20.0), rel=1e-4)
        after = a.mean(0) - b.mean(0)
        assert curve.distances[k] == pytest.approx(np.sign(after @ g) * np.linalg.norm(after), abs=1e-5)
    assert curve.distances[-1] < 0 < curve.distances[0]  # swapped sides at the far end


def test_curve_is_exact_per_batch_above_the_limit(monkeypatch):
    emb = make_embeddings(n=130)
    monkeypatch.setattr(readouts_module, "LOSS_FULL_BATCH_LIMIT", 40)
    i_u, t_u = unit(emb.image).astype(np.float32), unit(emb.text).astype(np.float32)
    _, _, losses, _, batch = loss_at_shifts(i_u, t_u, 20.0, [0.0, 1.0])
    assert batch == 40
    a, b = shift_gap(emb.image, emb.text, 1.0)
    assert losses[1] == pytest.approx(brute_symmetric(np.asarray(a, np.float64), np.asarray(b, np.float64), 20.0, 40), rel=1e-4)


def test_apply_shift_moves_the_views_and_the_readout():
    emb = make_embeddings()
    session = Session(emb)
    curve = session.gap_shift_curve()
    delta = float(curve.deltas[13])
    session.apply_shift(delta)
    assert session.gap_closed and session.applied_shift() == pytest.approx(delta)
    img, txt = session.vectors()
    want_img, want_txt = shift_gap(emb.image, emb.text, delta)
    np.testing.assert_allclose(img, want_img, atol=1e-5)
    np.testing.assert_allclose(txt, want_txt, atol=1e-5)
    readout = session.readouts()
    assert readout["shift"] == pytest.approx(delta) and readout["loss_after"] == pytest.approx(curve.losses[13], rel=1e-6)
    session.apply_shift(0.0)
    assert not session.gap_closed and session.gap_fraction == 1.0  # the next "close" is the whole closing
    session.gap_closed = True
    assert session.readouts()["shift"] == pytest.approx(curve.gap_distance)


def test_curve_progress_and_cancel():
    emb = make_embeddings(n=60)
    session = Session(emb)
    seen = []
    session.gap_shift_curve(steps=5, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ReadoutCancelled):
        session.gap_shift_curve(steps=7, cancel=cancel)


def test_one_pair_and_no_gap_are_refused():
    one = Embeddings.from_arrays(np.ones((1, 4), np.float32), np.eye(1, 4, 1, dtype=np.float32), captions=["a"])
    with pytest.raises(EmbeddingError, match="at least 2 pairs"):
        Session(one).gap_shift_curve()
    same = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    session = Session(Embeddings.from_arrays(same, same.copy(), captions=list("abcde")))
    with pytest.raises(EmbeddingError, match="Δ = 0"):
        session.gap_shift_curve()
    with pytest.raises(EmbeddingError, match="Δ = 0"):
        session.apply_shift(0.5)
    with pytest.raises(EmbeddingError, match="finite"):
        Session(make_embeddings(n=20)).apply_shift(float("nan"))
