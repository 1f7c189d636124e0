"""Raw per-modality geometry (offsets, thin shell, sample norms, whitening) against hand values and loops.

Conformity moved to conformity_stats (tests/analysis/test_analysis_conformity.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng.analysis import geometry
from amumo_ng.analysis.geometry import double_ellipsoid, modality_geometry, sample_norms, whiten
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs

CROSS = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + np.array([5.0, 5.0])


def test_geometry_of_a_hand_checked_cross():
    geo = modality_geometry(CROSS)
    np.testing.assert_allclose(geo.mean, [5.0, 5.0])
    assert geo.mean_norm == pytest.approx(np.sqrt(50.0))
    # covariance = diag(18, 2) / 3
    np.testing.assert_allclose(geo.variances, [6.0, 2.0 / 3.0])
    np.testing.assert_allclose(geo.std, np.sqrt([6.0, 2.0 / 3.0]), rtol=1e-6)
    np.testing.assert_allclose(geo.axes, [[1.0, 0.0], [0.0, 1.0]], atol=1e-7)
    assert geo.total_variance == pytest.approx(6.0 + 2.0 / 3.0)
    np.testing.assert_allclose(geo.explained_ratio, [0.9, 0.1])
    norms = np.linalg.norm(CROSS, axis=1)
    assert geo.norm_mean == pytest.approx(norms.mean()) and geo.norm_std == pytest.approx(norms.std(ddof=1))


def test_geometry_matches_numpy_on_random_data(monkeypatch):
    x, _ = make_pairs(60, 5)
    monkeypatch.setattr(geometry, "_CHUNK_ROWS", 7)  # covariance accumulated over several chunks
    geo = modality_geometry(x, n_axes=3)
    cov = np.cov(x.astype(np.float64), rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    np.testing.assert_allclose(geo.variances, values[::-1][:3], rtol=1e-5)
    for axis, reference in zip(geo.axes, vectors[:, ::-1].T):
        assert abs(float(axis @ reference)) == pytest.approx(1.0, abs=1e-5)
        assert axis[np.abs(axis).argmax()] > 0
    np.testing.assert_allclose(geo.std, x.std(axis=0, ddof=1), rtol=1e-5)


def test_double_ellipsoid_relates_the_means():
    text = CROSS * np.array([1.0, -1.0])  # reflected cross; its first 3 rows are the texts
    result = double_ellipsoid(CROSS, text[:3])
    mean_t = text[:3].mean(axis=0)
    expected_cos = (np.array([5.0, 5.0]) @ mean_t) / (np.sqrt(50) * np.linalg.norm(mean_t))
    assert result.mean_cosine == pytest.approx(expected_cos)
    assert result.mean_distance == pytest.approx(np.linalg.norm(np.array([5.0, 5.0]) - mean_t))
    assert result.image.mean_norm == pytest.approx(np.sqrt(50))


def test_bad_input():
    with pytest.raises(EmbeddingError, match="at least 2"):
        modality_geometry(np.ones((1, 3)))
    with pytest.raises(EmbeddingError, match="NaN"):
        modality_geometry(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(EmbeddingError, match="dimension"):
        double_ellipsoid(CROSS, np.ones((3, 3)))
    with pytest.raises(EmbeddingError, match="mean vector is zero"):
        double_ellipsoid(CROSS, CROSS - 5.0)
    with pytest.raises(EmbeddingError, match="n_axes"):
        modality_geometry(CROSS, n_axes=0)


def test_zero_rows_are_allowed_for_raw_geometry():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    geo = modality_geometry(x)
    np.testing.assert_allclose(geo.mean, [2 / 3, 2 / 3], rtol=1e-6)


# -- thin shell (Levi & Gilboa, Eq. 3-4, Property 2) -------------------------------------------
def brute_thin_shell(x):
    """(mu_norm, var(y) with ddof=0, sqrt(E||x||^2), relative error) of mean-subtracted rows, by loops."""
    rows = [[float(v) for v in r] for r in np.asarray(x, dtype=np.float64)]
    n, d = len(rows), len(rows[0])
    mean = [sum(r[k] for r in rows) / n for k in range(d)]
    norms = [math.sqrt(sum((r[k] - mean[k]) ** 2 for k in range(d))) for r in rows]
    mu = sum(norms) / n
    var = sum((v - mu) ** 2 for v in norms) / n
    rms = math.sqrt(sum(v * v for v in norms) / n)
    return mu, var, rms, (rms - mu) / mu


def test_thin_shell_of_the_hand_checked_cross():
    # centred rows (±3, 0), (0, ±1): norms 3, 3, 1, 1 -> mu 2, var 1, rms sqrt(5)
    geo = modality_geometry(CROSS)
    assert geo.centered_norm_mean == pytest.approx(2.0)
    assert geo.centered_norm_var == pytest.approx(1.0)
    assert geo.rms_centered_norm == pytest.approx(np.sqrt(5.0))
    assert geo.thin_shell_error == pytest.approx((np.sqrt(5.0) - 2.0) / 2.0)
    # the raw norms are another thing: rows are off-centre
    assert geo.norm_mean == pytest.approx(np.linalg.norm(CROSS, axis=1).mean())


@pytest.mark.parametrize("seed,d", [(0, 5), (1, 40)])
def test_thin_shell_matches_loops_and_the_moment_identity(seed, d, monkeypatch):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(70, d)) * rng.uniform(0.2, 2.0, size=d) + 3.0).astype(np.float32)
    monkeypatch.setattr(geometry, "_CHUNK_ROWS", 16)  # norms accumulated over several chunks
    geo = modality_geometry(x)
    mu, var, rms, error = brute_thin_shell(x)
    assert geo.centered_norm_mean == pytest.approx(mu, rel=1e-6)
    assert geo.centered_norm_var == pytest.approx(var, rel=1e-5)
    assert geo.rms_centered_norm == pytest.approx(rms, rel=1e-6)
    assert geo.thin_shell_error == pytest.approx(error, rel=1e-4)
    # E||x||^2 = mu_norm^2 + var(y) (ddof=0), and E||x||^2 = trace of the ddof=0 covariance
    assert geo.rms_centered_norm ** 2 == pytest.approx(geo.centered_norm_mean ** 2 + geo.centered_norm_var, rel=1e-12)
    assert geo.rms_centered_norm ** 2 == pytest.approx(geo.total_variance * (len(x) - 1) / len(x), rel=1e-5)


def test_thin_shell_is_thin_in_high_dimension_only():
    rng = np.random.default_rng(5)
    high = modality_geometry(rng.normal(size=(400, 256)) + 1.0)
    low = modality_geometry(rng.normal(size=(4000, 2)) + 1.0)
    # isotropic Gaussian: rms = sqrt(d); in 2-D the norm is Rayleigh: mean sqrt(pi/2), rms sqrt(2)
    assert high.thin_shell_error < 0.005
    assert low.thin_shell_error == pytest.approx(np.sqrt(2) / np.sqrt(np.pi / 2) - 1, abs=0.02)


def test_thin_shell_of_identical_rows_is_degenerate_not_nan():
    geo = modality_geometry(np.ones((3, 4)))
    assert geo.centered_norm_mean == 0.0 and geo.rms_centered_norm == 0.0 and geo.thin_shell_error == 0.0


# -- ||m|| / ||sigma||, sqrt(tr C), sample norms, whitening -----------------------------------
def test_offset_ratio_and_sqrt_trace_error_by_loops():
    x, _ = make_pairs(30, 6, seed=3)
    geo = modality_geometry(x)
    rows = x.astype(np.float64)
    mean = [sum(r[k] for r in rows) / len(rows) for k in range(6)]
    std = [math.sqrt(sum((r[k] - mean[k]) ** 2 for r in rows) / (len(rows) - 1)) for k in range(6)]
    assert geo.offset_ratio == pytest.approx(math.sqrt(sum(m * m for m in mean)) / math.sqrt(sum(s * s for s in std)), rel=1e-5)
    mu, _, _, _ = brute_thin_shell(x)
    assert geo.sqrt_trace_error == pytest.approx((math.sqrt(sum(s * s for s in std)) - mu) / mu, rel=1e-4)
    # the offset ratio of a constant set: inf (a point off the origin) or 0 (the origin)
    assert modality_geometry(np.ones((3, 2))).offset_ratio == float("inf")
    assert modality_geometry(np.zeros((3, 2))).offset_ratio == 0.0


def test_sample_norms_by_loops(monkeypatch):
    x, _ = make_pairs(25, 5, seed=4)
    monkeypatch.setattr(geometry, "_CHUNK_ROWS", 6)
    norms = sample_norms(x)
    rows = x.astype(np.float64)
    mean = rows.sum(axis=0) / len(rows)
    for j, r in enumerate(rows):
        assert norms.raw[j] == pytest.approx(math.sqrt(sum(v * v for v in r)), rel=1e-6)
        assert norms.centered[j] == pytest.approx(math.sqrt(sum((v - m) ** 2 for v, m in zip(r, mean))), rel=1e-6)
    with pytest.raises(EmbeddingError, match="at least 2"):
        sample_norms(np.ones((1, 3)))


@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whitening_gives_identity_covariance(method, monkeypatch):
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4)) + 3.0).astype(np.float32)
    monkeypatch.setattr(geometry, "_CHUNK_ROWS", 64)
    w = whiten(x, method=method)
    assert w.rank == 4 and w.whitened.shape == (200, 4)
    np.testing.assert_allclose(np.cov(w.whitened.astype(np.float64), rowvar=False), np.eye(4), atol=1e-4)
    np.testing.assert_allclose(w.apply(x), w.whitened, atol=1e-5)
    if method == "zca":  # ZCA: W = C^-1/2 is symmetric
        np.testing.assert_allclose(w.matrix, w.matrix.T, atol=1e-8)


def test_whitening_bad_input():
    flat = np.zeros((10, 3))
    flat[:, 0] = np.arange(10)  # rank 1
    with pytest.raises(EmbeddingError, match="rank 1 < d = 3"):
        whiten(flat)
    assert whiten(flat, method="pca").rank == 1
    with pytest.raises(EmbeddingError, match="every row is equal"):
        whiten(np.ones((5, 3)))
    with pytest.raises(EmbeddingError, match="at least 3"):
        whiten(np.ones((2, 3)))
    with pytest.raises(EmbeddingError, match="method"):
        whiten(CROSS, method="nope")
    with pytest.raises(EmbeddingError, match="fitted on d = 2"):
        whiten(np.vstack([CROSS, CROSS * 2])).apply(np.ones((2, 3)))
