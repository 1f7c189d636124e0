"""Placing new vectors in the session's layout: PCA against a numpy SVD, gap-closed rows land on their
points, UMAP through the same fitted model's transform, refusals (t-SNE, joint, wrong d, no layout)."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.projection import Projection
from amumo_ng.session import Session
from amumo_ng.session.placement import PlacementError, can_place, gap_vector, layout_vectors, place_vectors
from amumo_ng.store import Embeddings


def make_embeddings(n=60, d=10, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, d)) * 2
    labels = np.arange(n) % 3
    img = centers[labels] + 0.3 * rng.normal(size=(n, d))
    txt = centers[labels] + 0.3 * rng.normal(size=(n, d))
    img[:, 0] += 1.5
    txt[:, 0] -= 1.5
    return Embeddings.from_arrays(img, txt, captions=[f"c{i}" for i in range(n)], model_id="toy")


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def numpy_pca_2d(rows):
    """(mean, axes [d, 2]) by SVD of the centred rows; axes' signs left to the caller."""
    mean = rows.mean(axis=0)
    _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
    return mean, vt[:2].T


def test_pca_placement_is_the_numpy_svd_pca_and_rows_land_on_their_points():
    emb = make_embeddings()
    session = Session(emb)
    proj = session.compute_projection("pca")
    rng = np.random.default_rng(5)
    new = rng.normal(size=(7, emb.dim))
    xy = place_vectors(session, new, 1.0)
    mean, axes = numpy_pca_2d(np.vstack([unit(emb.image), unit(emb.text)]))
    ref = (unit(new) - mean) @ axes
    signs = np.sign(np.sum(ref * xy, axis=0))  # PCA axes are defined up to their sign
    np.testing.assert_allclose(xy, ref * signs, atol=1e-5)
    # a dataset row placed as a new vector lands exactly on its point
    np.testing.assert_allclose(place_vectors(session, emb.text[3], 1.0)[0], proj.text_xy[3], atol=1e-5)
    np.testing.assert_allclose(place_vectors(session, emb.image[8], 0.0)[0], proj.image_xy[8], atol=1e-5)


def test_gap_closed_vectors_are_shifted_like_the_rows_of_their_modality():
    emb = make_embeddings()
    session = Session(emb, gap_closed=True, filter_pattern="c1")  # gap of the pairs in view
    idx = session.indices
    delta = unit(emb.image[idx]).mean(axis=0) - unit(emb.text[idx]).mean(axis=0)
    np.testing.assert_allclose(gap_vector(session), delta, atol=1e-6)
    proj = session.compute_projection("pca")
    # text share 1 / 0 / ½: shifted by +Δ/2, −Δ/2, not at all
    np.testing.assert_allclose(layout_vectors(session, emb.text[2], 1.0)[0], unit(unit(emb.text[2]) + delta / 2), atol=1e-6)
    np.testing.assert_allclose(layout_vectors(session, emb.image[2], 0.0)[0], unit(unit(emb.image[2]) - delta / 2), atol=1e-6)
    np.testing.assert_allclose(layout_vectors(session, emb.image[2], 0.5)[0], unit(emb.image[2]), atol=1e-6)
    for i in (0, 11, 59):
        np.testing.assert_allclose(place_vectors(session, emb.text[i], 1.0)[0], proj.text_xy[i], atol=1e-5)
        np.testing.assert_allclose(place_vectors(session, emb.image[i], 0.0)[0], proj.image_xy[i], atol=1e-5)
    # per-frame shares of a mixed path
    both = place_vectors(session, np.vstack([emb.image[4], emb.text[4]]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(both, np.vstack([proj.image_xy[4], proj.text_xy[4]]), atol=1e-5)


@pytest.mark.slow
def test_umap_placement_is_the_fitted_models_transform():
    emb = make_embeddings(n=40)
    session = Session(emb, projection="umap")
    proj = session.compute_projection()
    assert proj.umap_model is not None
    new = np.random.default_rng(9).normal(size=(3, emb.dim))
    xy = place_vectors(session, new, 1.0)
    ref = proj.umap_model.transform(unit(new).astype(np.float32))
    np.testing.assert_allclose(xy, ref, atol=1e-4)
    assert xy.shape == (3, 2) and xy.dtype == np.float32
    # out-of-sample UMAP keeps its image model too
    oos = session.compute_projection("umap-oos")
    assert oos.umap_model is not None and can_place(oos) == (True, "")


def test_refusals_say_why():
    emb = make_embeddings(n=12)
    session = Session(emb)
    with pytest.raises(PlacementError, match="still being computed"):
        place_vectors(session, emb.text[0], 1.0)  # nothing computed yet
    session.compute_projection("pca")
    with pytest.raises(PlacementError, match=r"\[m, 10\]"):
        place_vectors(session, np.ones(4), 1.0)
    with pytest.raises(PlacementError, match="zero"):
        place_vectors(session, np.zeros(10), 1.0)
    xy = np.zeros((12, 2), np.float32)
    ok, why = can_place(Projection(xy, xy, None, "tsne"))
    assert not ok and "t-SNE" in why and "cannot place" in why
    with pytest.raises(PlacementError, match="t-SNE"):
        place_vectors(session, emb.text[0], 1.0, projection=Projection(xy, xy, None, "tsne"))
    assert not can_place(Projection(None, None, xy, "joint"))[0]
    assert "no fitted model" in can_place(Projection(xy, xy, None, "umap"))[1]
