"""analysis.clustering and analysis.dec: DEC's kernel and target against the formulas written out here,
ARI / NMI / silhouette against hand-checked labelings and loops, every method on separated blobs,
HDBSCAN's only-noise case reported, and the bad-input catalogue."""
from __future__ import annotations

from math import comb, log

import numpy as np
import pytest
import torch

from amumo_ng.analysis import EmbeddingError
from amumo_ng.analysis.clustering import (cluster_names, cluster_vectors, clustering_input, clustering_quality,
                                          compare_clusterings)
from amumo_ng.analysis.dec import fit_dec, student_t_assignment, target_distribution
from amumo_ng.analysis.gap import close_gap

from conftest import make_pairs

FAST_DEC = {"pretrain_epochs": 15, "max_iterations": 150, "update_interval": 25, "hidden": (32,), "latent_dim": 4,
            "n_init": 3}


def _blobs(n_per=30, k=4, d=8, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:k] * 3.0
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(k), n_per)


def _ari_by_formula(a, b):
    """Hubert & Arabie's adjusted Rand index from the contingency table, written out."""
    ua, ub = sorted(set(a)), sorted(set(b))
    table = [[sum(1 for x, y in zip(a, b) if x == i and y == j) for j in ub] for i in ua]
    index = sum(comb(v, 2) for row in table for v in row)
    rows = sum(comb(sum(row), 2) for row in table)
    cols = sum(comb(sum(table[i][j] for i in range(len(ua))), 2) for j in range(len(ub)))
    expected = rows * cols / comb(len(a), 2)
    return (index - expected) / (0.5 * (rows + cols) - expected)


def _nmi_by_formula(a, b):
    """I(A; B) / ((H(A) + H(B)) / 2) in nats, written out."""
    n = len(a)
    pa = {v: a.count(v) / n for v in set(a)}
    pb = {v: b.count(v) / n for v in set(b)}
    mi = 0.0
    for i in pa:
        for j in pb:
            p = sum(1 for x, y in zip(a, b) if x == i and y == j) / n
            if p > 0:
                mi += p * log(p / (pa[i] * pb[j]))
    h = lambda ps: -sum(p * log(p) for p in ps.values())  # noqa: E731
    return mi / (0.5 * (h(pa) + h(pb)))


def test_student_t_assignment_is_the_written_out_kernel():
    rng = np.random.default_rng(0)
    z, mu = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    for alpha in (1.0, 2.5):
        kernel = np.array([[(1 + np.sum((z[i] - mu[j]) ** 2) / alpha) ** (-(alpha + 1) / 2) for j in range(4)]
                           for i in range(5)])
        expected = kernel / kernel.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(student_t_assignment(z, mu, alpha), expected, rtol=1e-12)
        tensor = student_t_assignment(torch.tensor(z), torch.tensor(mu), alpha)
        np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-12)


def test_target_distribution_is_the_sharpened_written_out_target():
    q = np.random.default_rng(1).dirichlet(np.ones(3), size=6)
    f = [sum(q[i, j] for i in range(6)) for j in range(3)]
    expected = np.array([[q[i, j] ** 2 / f[j] for j in range(3)] for i in range(6)])
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(target_distribution(q), expected, rtol=1e-12)
    np.testing.assert_allclose(target_distribution(torch.tensor(q)).numpy(), expected, rtol=1e-12)
    # sharper than q: each row's largest share grows
    assert np.all(expected.max(axis=1) >= q.max(axis=1) - 1e-12)


def test_dec_recovers_separated_blobs_and_a_seed_repeats():
    x, truth = _blobs()
    result = fit_dec(x, 4, seed=3, **FAST_DEC)
    np.testing.assert_allclose(result.q.sum(axis=1), 1.0, atol=1e-5)
    assert clustering_quality(result.labels, truth).nmi == pytest.approx(1.0)
    assert result.codes.shape == (120, 4) and result.centroids.shape == (4, 4)
    assert result.reconstruction_loss[-1] < result.reconstruction_loss[0]
    again = fit_dec(x, 4, seed=3, **FAST_DEC)
    np.testing.assert_array_equal(result.labels, again.labels)
    np.testing.assert_array_equal(result.q, again.q)


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "dec"])
def test_methods_recover_blobs(method):
    x, truth = _blobs(seed=1)
    run = cluster_vectors(x, method, 4, seed=0, dec_options=FAST_DEC)
    assert run.k == 4 and run.labels.shape == (120,) and run.n_noise == 0
    quality = clustering_quality(run.labels, truth, x)
    assert quality.ari == pytest.approx(1.0) and quality.nmi == pytest.approx(1.0)
    assert quality.silhouette > 0.9 and quality.n_scored == 120 and quality.n_classes == 4
    assert sorted(run.sizes) == [30, 30, 30, 30]


def test_hdbscan_finds_blobs_with_noise_label():
    x, truth = _blobs(n_per=40, k=3, seed=2)
    outlier = np.full((1, 8), 40.0, dtype=np.float32)
    run = cluster_vectors(np.concatenate([x, outlier]), "hdbscan", min_cluster_size=10)
    assert run.k == 3 and run.labels[-1] == -1 and run.n_noise >= 1
    assert clustering_quality(run.labels[:-1], truth).ari == pytest.approx(1.0)


def test_hdbscan_finding_only_noise_is_reported_not_raised():
    x = np.random.default_rng(5).uniform(size=(30, 50)).astype(np.float32)
    run = cluster_vectors(x, "hdbscan", min_cluster_size=15)
    assert run.k == 0 and run.n_noise == 30 and "only noise" in run.note
    quality = clustering_quality(run.labels, ["a", "b"] * 15, x)
    assert np.isnan(quality.ari) and np.isnan(quality.nmi) and np.isnan(quality.silhouette)
    assert "only noise" in quality.note
    table, _ = compare_clusterings(x, ["a", "b"] * 15, methods=["hdbscan"], min_cluster_size=15)
    assert table.loc[0, "k"] == 0 and "only noise" in table.loc[0, "note"]


def test_ari_and_nmi_against_hand_checked_labelings():
    perfect = clustering_quality(np.array([1, 1, 0, 0]), ["x", "x", "y", "y"])
    assert perfect.ari == pytest.approx(1.0) and perfect.nmi == pytest.approx(1.0)
    crossed = clustering_quality(np.array([0, 1, 0, 1]), ["x", "x", "y", "y"])
    assert crossed.ari == pytest.approx(-0.5) and crossed.nmi == pytest.approx(0.0, abs=1e-12)
    truth = ["a", "a", "a", "b", "b", "c", "c", "c"]
    pred = [0, 0, 1, 1, 1, 2, 2, 0]
    codes = [{"a": 0, "b": 1, "c": 2}[t] for t in truth]
    quality = clustering_quality(np.array(pred), truth)
    assert quality.ari == pytest.approx(_ari_by_formula(codes, pred))
    assert quality.nmi == pytest.approx(_nmi_by_formula(codes, pred))


def test_unknown_truth_rows_are_left_out_and_noise_counts_as_a_group():
    quality = clustering_quality(np.array([0, 0, 1, 1, 1]), ["x", "x", "y", "y", None])
    assert quality.n_scored == 4 and quality.ari == pytest.approx(1.0)
    with_noise = clustering_quality(np.array([0, -1, 1, 1]), ["x", "x", "y", "y"])
    assert with_noise.ari == pytest.approx(_ari_by_formula([0, 0, 1, 1], [0, -1, 1, 1]))


def test_silhouette_equals_a_cosine_loop():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 5)).astype(np.float32)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    dist = 1 - unit @ unit.T
    scores = []
    for i in range(12):
        own = [dist[i, j] for j in range(12) if labels[j] == labels[i] and j != i]
        a = np.mean(own)
        b = min(np.mean([dist[i, j] for j in range(12) if labels[j] == c]) for c in set(labels) if c != labels[i])
        scores.append((b - a) / max(a, b))
    assert clustering_quality(labels, x=x).silhouette == pytest.approx(np.mean(scores), abs=1e-5)


def test_clustering_input_views():
    image, text = make_pairs(10, 4)
    unit_img = image / np.linalg.norm(image, axis=1, keepdims=True)
    unit_txt = text / np.linalg.norm(text, axis=1, keepdims=True)
    np.testing.assert_allclose(clustering_input(image, text, "image"), unit_img, atol=1e-6)
    joint = clustering_input(image, text, "joint")
    np.testing.assert_allclose(joint, np.concatenate([unit_img, unit_txt], axis=1) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(joint, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(clustering_input(image, text, "text", gap_closed=True), close_gap(image, text)[1], atol=1e-6)
    with pytest.raises(EmbeddingError, match="unknown clustering input"):
        clustering_input(image, text, "both")


def test_cluster_names_from_captions_skip_noise():
    captions = ["a red circle", "red circle small", "a red circle big", "blue square", "a blue square", "blue square x",
                "noise words"]
    names = cluster_names(captions, np.array([0, 0, 0, 1, 1, 1, -1]))
    assert set(names) == {0, 1}
    assert "red" in names[0] and "blue" in names[1]
    assert cluster_names(captions, np.full(7, -1)) == {}


def test_bad_input_catalogue():
    x, truth = _blobs(n_per=3, k=2)
    with pytest.raises(EmbeddingError, match="k must be an integer in 1..n = 6"):
        cluster_vectors(x, "kmeans", 7)
    with pytest.raises(EmbeddingError, match="k must be an integer in 1..n = 6"):
        cluster_vectors(x, "dec", 0)
    with pytest.raises(EmbeddingError, match="k must be an integer in 1..n = 6"):
        fit_dec(x, 9)
    nan = x.copy()
    nan[2, 3] = np.nan
    with pytest.raises(EmbeddingError, match="NaN"):
        cluster_vectors(nan, "kmeans", 2)
    with pytest.raises(EmbeddingError, match="NaN"):
        clustering_input(nan, x, "image")
    with pytest.raises(EmbeddingError, match="1 class"):
        clustering_quality(np.array([0, 1, 0, 1]), ["same"] * 4)
    with pytest.raises(EmbeddingError, match="unknown clustering method"):
        cluster_vectors(x, "spectral", 2)
    with pytest.raises(EmbeddingError, match="unknown linkage"):
        cluster_vectors(x, "agglomerative", 2, linkage="centroid")
    with pytest.raises(EmbeddingError, match="4 values for 3 labels"):
        clustering_quality(np.array([0, 1, 0]), ["a", "b", "a", "b"])
    with pytest.raises(EmbeddingError, match="min_cluster_size"):
        cluster_vectors(x, "hdbscan", min_cluster_size=50)
