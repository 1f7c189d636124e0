"""2-D projections, the projection cache and background projection jobs."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from amumo_ng.analysis import projection
from amumo_ng.analysis.projection import (
    Cancelled,
    ProjectionCache,
    ProjectionJob,
    fingerprint,
    project,
    project_async,
)
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def svd_scores(x):
    """Reference PCA scores by SVD of the centred data (sign per axis is arbitrary)."""
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2]


def assert_equal_up_to_axis_sign(actual, expected, atol=1e-4):
    for k in range(2):
        sign = np.sign(actual[:, k] @ expected[:, k])
        np.testing.assert_allclose(actual[:, k], sign * expected[:, k], atol=atol)


def test_pca_fits_the_stacked_unit_rows():
    image, text = make_pairs(15, 6)
    result = project(image, text, "pca")
    assert result.image_xy.shape == result.text_xy.shape == (15, 2) and result.pair_xy is None
    assert result.image_xy.dtype == np.float32 and result.method == "pca" and result.params == {}
    both = np.vstack([result.image_xy, result.text_xy])
    assert_equal_up_to_axis_sign(both, svd_scores(np.vstack([unit(image), unit(text)])))


def test_joint_projects_the_concatenated_pairs():
    image, text = make_pairs(12, 4)
    result = project(image, text, "joint")
    assert result.image_xy is None and result.text_xy is None and result.pair_xy.shape == (12, 2)
    assert_equal_up_to_axis_sign(result.pair_xy, svd_scores(np.hstack([unit(image), unit(text)])))
    assert result.params == {"joint_method": "pca"}


def test_tsne_gives_finite_coordinates_for_both_modalities():
    image, text = make_pairs(10, 4)
    result = project(image, text, "tsne", perplexity=30)
    assert result.image_xy.shape == result.text_xy.shape == (10, 2)
    assert np.all(np.isfinite(result.image_xy)) and np.all(np.isfinite(result.text_xy))
    assert result.params == {"random_state": 0, "perplexity": 30.0}


@pytest.mark.slow
def test_umap_and_out_of_sample_umap():
    # two small fits in total: UMAP's numba compilation dominates the time
    image, text = make_pairs(25, 5, offset=3.0)
    stacked = project(image, text, "umap", n_neighbors=5)
    oos = project(image, text, "umap-oos", n_neighbors=5)
    for result in (stacked, oos):
        assert result.image_xy.shape == result.text_xy.shape == (25, 2)
        assert np.all(np.isfinite(result.image_xy)) and np.all(np.isfinite(result.text_xy))
    # the gap separates the modalities: on the stacked map they form two groups
    centre_gap = np.linalg.norm(stacked.image_xy.mean(0) - stacked.text_xy.mean(0))
    spread = np.mean([stacked.image_xy.std(0).mean(), stacked.text_xy.std(0).mean()])
    assert centre_gap > spread


def test_progress_and_cancel():
    image, text = make_pairs(6, 3)
    stages = []
    project(image, text, "pca", progress=lambda f, s: stages.append((f, s)))
    assert stages[0][0] == 0.0 and stages[-1] == (1.0, "done")
    with pytest.raises(Cancelled):
        project(image, text, "pca", cancel=lambda: True)
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        project(image, text, "pca", cancel=event)


def test_bad_input(bad_pair):
    with pytest.raises(EmbeddingError):
        project(*bad_pair, "pca")


def test_bad_method_and_too_few_pairs():
    image, text = make_pairs(5, 3)
    with pytest.raises(ValueError, match="method"):
        project(image, text, "mds")
    with pytest.raises(ValueError, match="joint_method"):
        project(image, text, "joint", joint_method="mds")
    with pytest.raises(EmbeddingError, match="at least 2"):
        project(image[:1], text[:1], "pca")


def test_fingerprint_tracks_content_shape_and_dtype():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert fingerprint(x) == fingerprint(x.copy())
    changed = x.copy()
    changed[2, 3] += 1e-3
    assert fingerprint(changed) != fingerprint(x)
    assert fingerprint(x.reshape(4, 3)) != fingerprint(x)
    assert fingerprint(x.astype(np.float64)) != fingerprint(x)
    assert fingerprint(np.asfortranarray(x)) == fingerprint(x)


@pytest.fixture
def fit_counter(monkeypatch):
    """Replaces the fitting step of :func:`project` by a fast stand-in that counts its calls."""
    calls = []

    def counted(x, method, *args):
        calls.append(method)
        return np.full((x.shape[0], 2), len(calls), dtype=np.float32)

    monkeypatch.setattr(projection, "_fit_2d", counted)
    return calls


def test_cache_fits_once_per_input_and_relevant_parameters(fit_counter):
    image, text = make_pairs(10, 4)
    cache = ProjectionCache(maxsize=4)
    first = cache.project(image, text, "pca")
    second = cache.project(image.copy(), text.copy(), "pca", perplexity=5)  # irrelevant to PCA
    assert second is first and fit_counter == ["pca"]
    assert (cache.hits, cache.misses) == (1, 1)
    cache.project(image, text, "joint")
    other = image.copy()
    other[0, 0] += 1.0
    cache.project(other, text, "pca")
    assert fit_counter == ["pca", "pca", "pca"] and len(cache) == 3
    cache.project(image, text, "tsne", perplexity=3)
    cache.project(image, text, "tsne", perplexity=3)
    cache.project(image, text, "tsne", perplexity=4)
    assert fit_counter.count("tsne") == 2


def test_cache_evicts_the_least_recently_used(fit_counter):
    image, text = make_pairs(8, 3)
    cache = ProjectionCache(maxsize=1)
    cache.project(image, text, "pca")
    cache.project(image, text, "joint")
    cache.project(image, text, "pca")
    assert len(fit_counter) == 3 and len(cache) == 1
    with pytest.raises(ValueError, match="maxsize"):
        ProjectionCache(maxsize=0)


def test_cache_validates_before_hashing():
    cache = ProjectionCache()
    with pytest.raises(EmbeddingError):
        cache.project(np.array([["a", "b"]] * 3), np.ones((3, 2)), "pca")


@pytest.fixture
def gated_fit(monkeypatch):
    """Make the fitting step wait for a gate, so a test controls when a job can finish."""
    gate, entered = threading.Event(), threading.Event()
    real = projection._fit_2d

    def waiting(*args):
        entered.set()
        assert gate.wait(10), "test never opened the gate"
        return real(*args)

    monkeypatch.setattr(projection, "_fit_2d", waiting)
    return gate, entered


def test_job_runs_in_the_background_and_reports_progress(gated_fit):
    gate, entered = gated_fit
    image, text = make_pairs(9, 3)
    reports, finished = [], []
    job = ProjectionJob(image, text, method="pca", on_progress=lambda f, s: reports.append((f, s)))
    job.add_done_callback(finished.append)
    assert entered.wait(10)
    assert not job.done() and finished == []  # the caller was not blocked
    assert job.stage.startswith("fitting")
    gate.set()
    result = job.result(timeout=10)
    expected = project(image, text, "pca")
    np.testing.assert_array_equal(result.image_xy, expected.image_xy)
    assert reports[-1] == (1.0, "done") and job.progress == 1.0
    assert finished == [job]


def test_cancelled_job_raises_cancelled(gated_fit):
    gate, entered = gated_fit
    image, text = make_pairs(9, 3)
    job = project_async(image, text, "pca")
    assert entered.wait(10)
    job.cancel()
    gate.set()
    with pytest.raises(Cancelled):
        job.result(timeout=10)
    assert job.cancelled and job.done()


def test_job_reports_errors_through_result():
    job = ProjectionJob(np.ones((3, 2)), np.ones((3, 3)), "pca")
    with pytest.raises(EmbeddingError, match="dimension"):
        job.result(timeout=10)


def test_job_uses_the_cache(fit_counter):
    image, text = make_pairs(7, 3)
    cache = ProjectionCache()
    first = ProjectionJob(image, text, "pca", cache=cache).result(timeout=10)
    second = ProjectionJob(image, text, "pca", cache=cache).result(timeout=10)
    assert second is first and fit_counter == ["pca"]
