"""2-D projections (deduplicated UMAP/t-SNE fits, staged progress) and background projection jobs."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from amumo_ng.analysis import projection
from amumo_ng.analysis.projection import (
    Cancelled,
    ProjectionJob,
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


def unit32(x):
    """Rows scaled to unit norm in float32 (what the projections fit)."""
    x = np.asarray(x, dtype=np.float32)
    # the same float32 dot products as the library's normaliser (UMAP is sensitive to the last bit)
    return x / np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]


def representatives(x):
    """(indices of the distinct rows of x in order of first occurrence, representative number of each row)."""
    first, reps, rep_of = {}, [], []
    for i, row in enumerate(x):
        key = row.tobytes()
        if key not in first:
            first[key] = len(reps)
            reps.append(i)
        rep_of.append(first[key])
    return np.array(reps), np.array(rep_of)


def duplicated_pairs(n=40, d=8, captions=6, seed=0):
    """Distinct images except image 1 == image 0; texts drawn from ``captions`` distinct vectors (as
    ``shapes``' repeated captions), text 1 == text 0, so pair 1 duplicates pair 0. Images and texts
    lie on opposite sides of a gap."""
    rng = np.random.default_rng(seed)
    shift = np.zeros(d, np.float32)
    shift[0] = 3.0
    image = rng.normal(size=(n, d)).astype(np.float32) + shift
    image[1] = image[0]
    kinds = rng.integers(0, captions, size=n)
    kinds[1] = kinds[0]
    text = (rng.normal(size=(captions, d)).astype(np.float32) - shift)[kinds]
    return image, text


def assert_duplicates_on_their_representative(xy, rows):
    reps, rep_of = representatives(rows)
    assert len(reps) < len(rows)  # the test data has duplicates
    np.testing.assert_array_equal(xy, xy[reps][rep_of])
    return reps


@pytest.mark.slow
def test_umap_fits_the_distinct_rows_once():
    # one test for every UMAP fit: the numba compilation (10-40 s per process) dominates the time
    def reference(rows):
        import umap

        return umap.UMAP(n_components=2, metric="cosine", n_neighbors=5, random_state=0, n_jobs=1,
                         init="spectral", n_epochs=30).fit(rows)

    image, text = duplicated_pairs()
    stages = []
    stacked = project(image, text, "umap", n_neighbors=5, n_epochs=30, progress=lambda f, s: stages.append(s))
    rows = np.vstack([unit32(image), unit32(text)])
    xy = np.vstack([stacked.image_xy, stacked.text_xy])
    reps = assert_duplicates_on_their_representative(xy, rows)
    np.testing.assert_allclose(xy[reps], reference(rows[reps]).embedding_, atol=1e-5)
    assert "deduplicating 80 points (images and texts)" in stages
    assert (f"fitting UMAP on {len(reps)} unique points (images and texts) "
            f"({80 - len(reps)} duplicates share their representative's position)") in stages
    assert stacked.params == {"random_state": 0, "n_neighbors": 5, "n_epochs": 30}
    # the gap separates the modalities: on the stacked map they form two groups
    centre_gap = np.linalg.norm(stacked.image_xy.mean(0) - stacked.text_xy.mean(0))
    spread = np.mean([stacked.image_xy.std(0).mean(), stacked.text_xy.std(0).mean()])
    assert centre_gap > spread

    # out of sample: fitted on the distinct images, the distinct texts transformed
    oos = project(image, text, "umap-oos", n_neighbors=5, n_epochs=30)
    image_reps = assert_duplicates_on_their_representative(oos.image_xy, unit32(image))
    text_reps = assert_duplicates_on_their_representative(oos.text_xy, unit32(text))
    model = reference(unit32(image)[image_reps])
    np.testing.assert_allclose(oos.image_xy[image_reps], model.embedding_, atol=1e-5)
    np.testing.assert_allclose(oos.text_xy[text_reps], model.transform(unit32(text)[text_reps]), atol=1e-5)

    joint = project(image, text, "joint", joint_method="umap", n_neighbors=5, n_epochs=30)
    assert_duplicates_on_their_representative(joint.pair_xy, np.hstack([unit32(image), unit32(text)]))


def test_tsne_fits_the_distinct_rows_once():
    from sklearn.manifold import TSNE

    image, text = duplicated_pairs(n=25)
    result = project(image, text, "tsne", perplexity=30)
    rows = np.vstack([unit32(image), unit32(text)])
    xy = np.vstack([result.image_xy, result.text_xy])
    reps = assert_duplicates_on_their_representative(xy, rows)
    perplexity = min(30.0, (len(reps) - 1) / 3.0)  # capped at a third of the distinct points
    expected = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                    random_state=0).fit_transform(rows[reps])
    np.testing.assert_allclose(xy[reps], expected, atol=1e-4)


def test_all_rows_equal_go_to_one_point_without_a_fit():
    image = np.tile(np.float32([[1.0, 2.0, 3.0]]), (4, 1))
    result = project(image, image.copy(), "tsne")
    np.testing.assert_array_equal(result.image_xy, np.zeros((4, 2)))
    np.testing.assert_array_equal(result.text_xy, np.zeros((4, 2)))


class FakeUMAP:
    """Stands in for umap.UMAP: records calls, places row i at (i, 0)."""

    def __init__(self, calls, on_fit=None):
        self.calls, self.on_fit = calls, on_fit

    def fit_transform(self, x):
        self.calls.append(("fit", len(x)))
        if self.on_fit is not None:
            self.on_fit()
        return np.stack([np.arange(len(x)), np.zeros(len(x))], axis=1)

    def transform(self, x):
        self.calls.append(("transform", len(x)))
        return np.stack([np.arange(len(x)), np.ones(len(x))], axis=1)


def test_out_of_sample_umap_reports_its_stages(monkeypatch):
    calls, reports = [], []
    monkeypatch.setattr(projection, "_umap_model", lambda *a, **k: FakeUMAP(calls))
    image, text = duplicated_pairs(n=20, captions=4)
    result = project(image, text, "umap-oos", progress=lambda f, s: reports.append((f, s)))
    n_images = len(representatives(unit32(image))[0])
    n_texts = len(representatives(unit32(text))[0])
    assert calls == [("fit", n_images), ("transform", n_texts)] and n_images == 19
    assert [s for _, s in reports] == [
        "normalising",
        "deduplicating 20 images and 20 texts",
        f"fitting UMAP on {n_images} unique images",
        f"transforming: placing {n_texts} unique texts in the image map",
        "done",
    ]
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    np.testing.assert_array_equal(result.text_xy[:, 1], 1.0)


def test_cancel_during_a_fit_stops_at_the_next_stage_boundary(monkeypatch):
    cancel, calls, reports = threading.Event(), [], []
    monkeypatch.setattr(projection, "_umap_model", lambda *a, **k: FakeUMAP(calls, on_fit=cancel.set))
    image, text = duplicated_pairs(n=10)
    with pytest.raises(Cancelled):
        project(image, text, "umap-oos", progress=lambda f, s: reports.append(s), cancel=cancel)
    assert [c for c, _ in calls] == ["fit"]  # the texts were never transformed
    assert reports[-1].startswith("fitting UMAP on")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_warm_up_fills_the_numba_cache_under_the_amumo_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["AMUMO_NG_CACHE"] = str(tmp_path)
    code = ("import os; from amumo_ng.analysis.projection import warm_up_umap; warm_up_umap(); "
            "print(os.environ['NUMBA_CACHE_DIR'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(tmp_path / "numba")
    names = [p.name for p in (tmp_path / "numba").rglob("*.nbi")]
    assert any(n.startswith("pynndescent_.") or n.startswith("rp_trees.") for n in names)
    # umap-learn's own functions are compiled without cache=True: caching them is ours
    assert any(n.startswith("umap_.") or n.startswith("layouts.") for n in names)


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
    reports = []
    job = project_async(image, text, "pca", on_progress=lambda f, s: reports.append(s))
    assert entered.wait(10)
    job.cancel()
    gate.set()
    with pytest.raises(Cancelled):
        job.result(timeout=10)
    assert job.cancelled and job.done()
    assert reports[-1] == "fitting PCA on 18 points (images and texts)"  # stopped at the next boundary


def test_job_reports_errors_through_result():
    job = ProjectionJob(np.ones((3, 2)), np.ones((3, 3)), "pca")
    with pytest.raises(EmbeddingError, match="dimension"):
        job.result(timeout=10)
