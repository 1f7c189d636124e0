"""analysis.reduction / reduction_methods: each map against an independent computation (numpy SVD,
the JL distortion of a random projection, brute-force retrieval loops) and the bad-input catalogue."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amumo_ng.analysis import EmbeddingError
from amumo_ng.analysis.losses import clip_loss
from amumo_ng.analysis.reduction import (REDUCTION_METHODS, ReductionSweep, default_dims, fit_reduction,
                                         reduced_embeddings, reduction_sweep, split_pairs)
from amumo_ng.analysis.reduction_methods import fit_contrastive_linear, fit_pca, fit_random_projection, fit_svd

from conftest import make_pairs


def _unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _low_rank_pairs(n=120, d=16, rank=4, noise=0.02, seed=0):
    """Pairs whose content lies in a ``rank``-dimensional subspace of R^d (plus small noise)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, rank)))[0].T  # [rank, d], orthonormal rows
    z = rng.normal(size=(n, rank))
    image = z @ basis + noise * rng.normal(size=(n, d))
    text = z @ basis + noise * rng.normal(size=(n, d))
    return image.astype(np.float32), text.astype(np.float32)


def _aligned(a, b):
    """b with each column's sign flipped to match a's (principal axes are defined up to sign)."""
    signs = np.sign(np.sum(a * b, axis=0))
    return b * np.where(signs == 0, 1, signs)


def _brute_force_topk(queries, candidates, k):
    """Share of queries i whose candidate i is among the k best by cosine (ties pessimistic), by loops."""
    q, c = _unit(queries), _unit(candidates)
    hits = 0
    for i in range(q.shape[0]):
        sims = [float(q[i] @ c[j]) for j in range(c.shape[0])]
        better = sum(1 for j in range(c.shape[0]) if j != i and sims[j] >= sims[i])
        hits += better < k
    return hits / q.shape[0]


def test_pca_matches_numpy_svd_of_the_centred_stacked_unit_rows():
    image, text = make_pairs(40, 8, seed=1)
    rows = np.concatenate([_unit(image), _unit(text)])
    centred = rows - rows.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    fitted = fit_pca(image, text, 3)
    np.testing.assert_allclose(fitted.mean, rows.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(_aligned(vt[:3].T, fitted.components), vt[:3].T, atol=1e-5)
    expected = (_unit(image) - rows.mean(axis=0)) @ vt[:3].T
    np.testing.assert_allclose(_aligned(expected, fitted.transform(image)), expected, atol=1e-5)
    # raw and unit input reduce alike (rows are normalised first)
    np.testing.assert_allclose(fitted.transform(image * 7.0), fitted.transform(_unit(image)), atol=1e-6)


def test_svd_is_uncentred_and_matches_numpy_svd():
    image, text = make_pairs(30, 6, seed=2)
    rows = np.concatenate([_unit(image), _unit(text)])
    _, _, vt = np.linalg.svd(rows, full_matrices=False)
    fitted = fit_svd(image, text, 2)
    assert not fitted.mean.any()
    np.testing.assert_allclose(_aligned(vt[:2].T, fitted.components), vt[:2].T, atol=1e-5)
    np.testing.assert_allclose(fitted.components.T @ fitted.components, np.eye(2), atol=1e-5)


def test_random_projection_keeps_distances_within_johnson_lindenstrauss_distortion():
    rng = np.random.default_rng(3)
    points = _unit(rng.normal(size=(40, 512)))
    i, j = np.triu_indices(40, 1)
    original = np.sum((points[i] - points[j]) ** 2, axis=1)

    def distortion(dim):
        reduced = fit_random_projection(512, dim, seed=5).transform(points)
        ratio = np.sum((reduced[i] - reduced[j]) ** 2, axis=1) / original
        return ratio

    small, large = distortion(32), distortion(256)
    # E ratio = 1; the spread is about sqrt(2 / D') (chi-square with D' degrees of freedom / D')
    assert abs(np.mean(large) - 1.0) < 0.05
    assert np.max(np.abs(large - 1.0)) < 0.5
    assert np.std(large) < np.std(small)
    assert np.std(large) == pytest.approx(np.sqrt(2 / 256), rel=0.35)
    components = fit_random_projection(512, 64, seed=1).components
    assert components.var() == pytest.approx(1 / 64, rel=0.05)
    np.testing.assert_array_equal(components, fit_random_projection(512, 64, seed=1).components)


def test_sweep_retrieval_equals_brute_force_loops_full_and_reduced():
    image, text = _low_rank_pairs(n=60, d=12, rank=3, noise=0.3, seed=4)
    sweep = reduction_sweep(image, text, dims=[2, 5], methods=["pca", "svd"], test_fraction=0.5, seed=1,
                            keep_fits=True, progress=False)
    test = sweep.test
    assert sweep.full["i2t@1"] == pytest.approx(_brute_force_topk(image[test], text[test], 1))
    assert sweep.full["t2i@5"] == pytest.approx(_brute_force_topk(text[test], image[test], 5))
    # the PCA row at D' = 2 against a PCA recomputed with numpy's SVD on the training pairs
    train = sweep.train
    rows = np.concatenate([_unit(image[train]), _unit(text[train])])
    mean = rows.mean(axis=0)
    vt = np.linalg.svd(rows - mean, full_matrices=False)[2][:2]
    red_img, red_txt = (_unit(image[test]) - mean) @ vt.T, (_unit(text[test]) - mean) @ vt.T
    row = sweep.table.query("method == 'pca' and dim == 2").iloc[0]
    assert row["i2t@1"] == pytest.approx(_brute_force_topk(red_img, red_txt, 1))
    assert row["t2i@5"] == pytest.approx(_brute_force_topk(red_txt, red_img, 5))
    assert set(sweep.fits) == {("pca", 2), ("pca", 5), ("svd", 2), ("svd", 5)}
    assert len(np.intersect1d(sweep.train, sweep.test)) == 0 and len(sweep.train) + len(sweep.test) == 60


def test_a_low_rank_signal_is_kept_at_its_rank_and_lost_below():
    image, text = _low_rank_pairs(n=200, d=16, rank=4, noise=0.02)
    sweep = reduction_sweep(image, text, dims=[1, 2, 4, 8, 16], methods=["pca", "svd"], progress=False)
    smallest = sweep.smallest_dims().set_index("method")
    assert sweep.full["i2t@1"] > 0.9
    assert smallest.loc["pca", "smallest_dim"] == 4
    dims, acc = sweep.curve("pca", "i2t@1")
    assert list(dims) == [1, 2, 4, 8, 16] and acc[0] < acc[2]


def test_smallest_dims_rule_on_a_hand_made_table():
    table = pd.DataFrame([
        {"method": "a", "dim": 2, "i2t@1": 0.50, "t2i@1": 0.70},
        {"method": "a", "dim": 4, "i2t@1": 0.795, "t2i@1": 0.695},  # both within one point
        {"method": "a", "dim": 8, "i2t@1": 0.80, "t2i@1": 0.70},
        {"method": "b", "dim": 4, "i2t@1": 0.80, "t2i@1": 0.68},  # t2i 2 points short
        {"method": "b", "dim": 8, "i2t@1": 0.78, "t2i@1": 0.71},  # i2t 2 points short
    ])
    sweep = ReductionSweep(table, {"i2t@1": 0.80, "t2i@1": 0.70}, 8, np.arange(2), np.arange(2), (1,))
    out = sweep.smallest_dims().set_index("method")
    assert out.loc["a", "smallest_dim"] == 4 and out.loc["a", "i2t@1"] == pytest.approx(0.795)
    assert pd.isna(out.loc["b", "smallest_dim"])
    assert sweep.smallest_dims(tolerance=0.025).set_index("method").loc["b", "smallest_dim"] == 4


def test_contrastive_map_lowers_the_clip_loss_of_its_start_and_is_deterministic():
    image, text = make_pairs(64, 8, seed=6)
    start = fit_svd(image, text, 3)
    trained = fit_contrastive_linear(image, text, 3, logit_scale=10.0, epochs=15, batch_size=32, lr=1e-2, seed=2)
    loss = lambda m: clip_loss(m.transform(image), m.transform(text), 10.0)  # noqa: E731
    assert loss(trained) < loss(start) - 0.05
    again = fit_contrastive_linear(image, text, 3, logit_scale=10.0, epochs=15, batch_size=32, lr=1e-2, seed=2)
    np.testing.assert_array_equal(trained.components, again.components)


@pytest.mark.parametrize("method", REDUCTION_METHODS)
def test_every_method_reduces_to_the_asked_dimension(method):
    image, text = make_pairs(30, 6, seed=7)
    options = {"epochs": 2} if method in ("contrastive", "nmds-isometric", "nmds-isotonic") else {}
    fitted = fit_reduction(image, text, 3, method, **options)
    out = fitted.transform(text)
    assert out.shape == (30, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    assert fitted.dim == 3 and fitted.input_dim == 6


@pytest.mark.parametrize("dim", [0, -1, 7, 2.5, True, "3"])
def test_bad_target_dimension_is_refused(dim):
    image, text = make_pairs(10, 6)
    with pytest.raises(EmbeddingError, match="D′ must be an integer in 1..D = 6"):
        fit_reduction(image, text, dim, "pca")
    with pytest.raises(EmbeddingError, match="D′"):
        reduction_sweep(image, text, dims=[2, dim], methods=["pca"], progress=False)


def test_bad_input_catalogue():
    image, text = make_pairs(10, 6)
    nan = image.copy()
    nan[3, 2] = np.nan
    with pytest.raises(EmbeddingError, match="NaN"):
        reduction_sweep(nan, text, dims=[2], progress=False)
    with pytest.raises(EmbeddingError, match="unknown reduction method"):
        fit_reduction(image, text, 2, "umap")
    with pytest.raises(EmbeddingError, match="unknown reduction method"):
        reduction_sweep(image, text, dims=[2], methods=["pca", "tsne"], progress=False)
    with pytest.raises(EmbeddingError, match="test_fraction"):
        split_pairs(10, 1.0)
    with pytest.raises(EmbeddingError, match="cannot be split"):
        split_pairs(3, 0.5)
    with pytest.raises(EmbeddingError, match="reduces D = 6"):
        fit_pca(image, text, 2).transform(image[:, :5])
    with pytest.raises(EmbeddingError, match="counts differ"):
        fit_reduction(image, text[:9], 2)


def test_default_dims_grid():
    assert default_dims(64) == [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
    assert default_dims(5) == [1, 2, 3, 4, 5]


def test_reduced_embeddings_become_a_model_of_a_session():
    from amumo_ng.session import Session
    from amumo_ng.store.embeddings import Embeddings

    image, text = make_pairs(20, 6, seed=8)
    emb = Embeddings.from_arrays(image, text, captions=[f"c{i}" for i in range(20)], model_id="toy")
    emb.meta["colour"] = ["red", "blue"] * 10
    fitted = fit_pca(image, text, 3)
    reduced = reduced_embeddings(emb, fitted)
    assert reduced.dim == 3 and reduced.n == 20 and reduced.captions == emb.captions
    assert list(reduced.meta["colour"]) == list(emb.meta["colour"])
    assert reduced.model_id == "toy | pca D′=3" and reduced.encoder is None
    np.testing.assert_allclose(reduced.image, fitted.transform(image), atol=1e-6)
    session = Session({"full": emb})
    session.add_model("PCA 3", reduced)
    session.model = "PCA 3"
    assert session.vectors()[0].shape == (20, 3)
    with pytest.raises(EmbeddingError, match="Embeddings"):
        reduced_embeddings(image, fitted)
