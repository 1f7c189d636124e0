"""The gap/loss readout: batched exactly, gap closed batch by batch, progress, cancel.

Reference values are computed here by brute force: whole logit matrices per batch, Amumo's
close-the-gap written out, cross-entropies by scipy's logsumexp.
"""
import threading

import numpy as np
import pytest
from scipy.special import logsumexp

import amumo_ng.session.readouts as readouts_module
from amumo_ng.session.readouts import ReadoutCancelled, gap_readout


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_symmetric(img, txt, s, batch):
    """Mean over pairs of ½(CE image→text + CE text→image), per consecutive batch."""
    total = 0.0
    for b0 in range(0, len(img), batch):
        logits = s * unit(img[b0:b0 + batch]) @ unit(txt[b0:b0 + batch]).T
        pos = np.diag(logits)
        total += 0.5 * ((logsumexp(logits, axis=1) - pos).sum() + (logsumexp(logits, axis=0) - pos).sum())
    return total / len(img)


def brute_compat(img, txt, s):
    """Amumo's published loss: batches of 50, remainder dropped, image→text CE counted twice."""
    losses = []
    for b0 in range(0, len(img) - 49, 50):
        logits = s * unit(img[b0:b0 + 50]) @ unit(txt[b0:b0 + 50]).T
        losses.append(np.mean(logsumexp(logits, axis=1) - np.diag(logits)))
    return float(np.mean(losses))


def brute_closed(img, txt):
    i_u, t_u = unit(img), unit(txt)
    half = (i_u.mean(0) - t_u.mean(0)) / 2
    return unit(i_u - half), unit(t_u + half)


@pytest.fixture
def pairs():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 16))
    lab = rng.integers(0, 6, 530)
    img = (centres[lab] + 0.7 * rng.normal(size=(530, 16)) + 0.8).astype(np.float32)
    txt = (centres[lab] + 0.7 * rng.normal(size=(530, 16)) - 0.8).astype(np.float32)
    return img, txt


def test_batched_readout_matches_brute_force_before_and_after_closing(monkeypatch, pairs):
    img, txt = pairs
    monkeypatch.setattr(readouts_module, "LOSS_FULL_BATCH_LIMIT", 128)
    monkeypatch.setattr(readouts_module, "_CHUNK_ROWS", 100)  # compat and distance in several chunks
    out = gap_readout(img, txt, 30.0)
    img_c, txt_c = brute_closed(img, txt)
    assert out["loss_batch_size"] == 128
    assert out["distance_before"] == pytest.approx(np.linalg.norm(unit(img).mean(0) - unit(txt).mean(0)), rel=1e-5)
    assert out["distance_after"] == pytest.approx(np.linalg.norm(img_c.mean(0) - txt_c.mean(0)), rel=1e-4)
    assert out["loss_before"] == pytest.approx(brute_symmetric(img, txt, 30.0, 128), rel=1e-5)
    assert out["loss_after"] == pytest.approx(brute_symmetric(img_c, txt_c, 30.0, 128), rel=1e-5)
    assert out["loss_compat_before"] == pytest.approx(brute_compat(img, txt, 30.0), rel=1e-5)
    assert out["loss_compat_after"] == pytest.approx(brute_compat(img_c, txt_c, 30.0), rel=1e-5)


def test_whole_set_readout_below_the_limit(pairs):
    img, txt = pairs
    out = gap_readout(img[:300], txt[:300], 100.0)
    assert out["loss_batch_size"] is None
    assert out["loss_before"] == pytest.approx(brute_symmetric(img[:300], txt[:300], 100.0, 300), rel=1e-5)


def test_progress_reports_distances_first_then_every_batch(monkeypatch, pairs):
    img, txt = pairs
    monkeypatch.setattr(readouts_module, "LOSS_FULL_BATCH_LIMIT", 100)
    seen = []
    out = gap_readout(img, txt, 20.0, progress=seen.append)
    assert "distance_before" in seen[0] and "loss_before" not in seen[0] and seen[0]["progress"] == 0.0
    fractions = [p["progress"] for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert len(seen) == 1 + 2 * 6  # 530 pairs in batches of 100: 6 batches, before and after
    assert any("in batches of 100" in p["stage"] for p in seen[1:])
    assert "loss_after" in out


def test_cancel_stops_between_batches(monkeypatch, pairs):
    img, txt = pairs
    monkeypatch.setattr(readouts_module, "LOSS_FULL_BATCH_LIMIT", 50)
    cancel = threading.Event()
    seen = []

    def progress(partial):
        seen.append(partial)
        if len(seen) == 3:
            cancel.set()

    with pytest.raises(ReadoutCancelled):
        gap_readout(img, txt, 20.0, progress=progress, cancel=cancel)
    assert len(seen) < 1 + 2 * 11  # stopped well before the 22 batches


def test_unit_inputs_are_read_without_a_copy(pairs):
    from amumo_ng.analysis.validation import unit_rows

    img = unit(pairs[0]).astype(np.float32)
    assert unit_rows(img) is img
    raw = pairs[0]
    assert unit_rows(raw) is not raw and np.allclose(np.linalg.norm(unit_rows(raw), axis=1), 1, atol=1e-6)


def test_session_reads_stored_unit_vectors_without_copies_and_gathers_the_view():
    from amumo_ng.session import Session
    from amumo_ng.store.embeddings import Embeddings

    rng = np.random.default_rng(4)
    img = unit(rng.normal(size=(200, 6))).astype(np.float32)
    txt = unit(rng.normal(size=(200, 6))).astype(np.float32)
    s = Session(Embeddings.from_arrays(img, txt, captions=[f"c{i % 7}" for i in range(200)]))
    a, b = s.vectors()
    assert np.shares_memory(a, s.embeddings.image) and np.shares_memory(b, s.embeddings.text)
    v_img, _ = s.view_vectors()
    assert v_img is a  # every pair in index order: the arrays themselves
    s.filter_pattern = "c3"
    v_img, v_txt = s.view_vectors()
    np.testing.assert_array_equal(np.asarray(v_img), a[s.order])
    np.testing.assert_allclose(s.tile(0, 2, s.k, s.k + 3), np.asarray(v_img)[:2] @ np.asarray(v_txt)[:3].T, atol=1e-6)



def _blas_threads() -> set:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_loss_batches_run_on_one_blas_thread_and_the_pool_is_given_back(monkeypatch, pairs):
    """As in the Explorer, the readout runs in a thread of its own: while its loss workers compute,
    the BLAS library itself reports one thread; afterwards the count it had before."""
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    img, txt = pairs
    seen = []
    real = readouts_module._closed

    def spy(img_u, txt_u, half):
        if threading.current_thread().name.startswith("amumo-loss"):
            seen.append(_blas_threads())
        return real(img_u, txt_u, half)

    monkeypatch.setattr(readouts_module, "LOSS_FULL_BATCH_LIMIT", 100)
    monkeypatch.setattr(readouts_module, "_closed", spy)
    before = _blas_threads()
    if before == {1}:
        pytest.skip("BLAS already uses one thread on this machine: a limit to one would not show")
    out = {}
    worker = threading.Thread(target=lambda: out.update(gap_readout(img, txt, 20.0, device=None)), name="amumo-readout")
    worker.start()
    worker.join(60)
    assert len(seen) == 2 * 6 and all(s == {1} for s in seen)  # 6 batches of 100, before and after
    assert _blas_threads() == before
    assert out["loss_before"] == pytest.approx(brute_symmetric(img, txt, 20.0, 100), rel=1e-5)
