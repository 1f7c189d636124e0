"""Pair lines by cosine, a Scatter with its own projection, and VisualClosing, without a browser.

Expected values come from numpy on the raw vectors (cosines, the gap closed by hand), from scikit-learn's
KMeans and explicit loops over pairs (same-cluster shares), not from the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest
import traitlets as t

from amumo_ng.session import Session
from amumo_ng.widgets.line_colors import ROBUST_MIN_PAIRS, cosine_line_lut, cosine_line_range
from amumo_ng.widgets.scatter import Scatter
from amumo_ng.widgets.visual_closing import VisualClosing, same_cluster_table

from helpers_widgets import make_embeddings, unit


def pair_cos(image, text) -> np.ndarray:
    """cos(image_i, text_i) by a loop over pairs (float64)."""
    a, b = unit(image), unit(text)
    return np.array([float(np.dot(a[i], b[i])) for i in range(len(a))])


def closed_by_hand(image, text, idx=None):
    """Amumo's closed gap: normalise(Î − Δ/2), normalise(T̂ + Δ/2), Δ = mean Î − mean T̂ over ``idx``."""
    a, b = unit(image), unit(text)
    sub = slice(None) if idx is None else idx
    gap = a[sub].mean(0) - b[sub].mean(0)
    return unit(a - gap / 2), unit(b + gap / 2)


def brute_share(image_xy, text_xy, k, random_state=0):
    """(share, chance) of one layout: sklearn KMeans on the 2n points, then loops over pairs."""
    from sklearn.cluster import KMeans

    n = len(image_xy)
    labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(
        np.vstack([image_xy, text_xy]).astype(np.float64))
    same = sum(1 for i in range(n) if labels[i] == labels[n + i])
    chance = sum(np.sum(labels[:n] == c) * np.sum(labels[n:] == c) for c in range(k)) / n ** 2
    return same / n, chance


def cosines_of(widget) -> np.ndarray:
    return np.frombuffer(widget.pair_cosines, np.float32)


# -- line colours ------------------------------------------------------------------------------

def test_lines_are_grey_by_default_and_the_cosine_map_is_sent():
    sc = Scatter(make_embeddings(30))
    assert sc.line_color == "grey" and sc.line_color_range == []
    assert [v for v, _ in sc.line_color_options] == ["grey", "cosine"]
    lut = np.frombuffer(sc.line_colormap, np.uint8).reshape(256, 3)
    np.testing.assert_array_equal(lut, cosine_line_lut())
    # a diverging map: the low end red, the high end blue, the middle grey
    assert lut[0, 0] > lut[0, 2] + 100 and lut[255, 2] > lut[255, 0] + 100
    assert np.ptp(lut[128].astype(int)) < 10
    with pytest.raises(t.TraitError):
        sc.line_color = "rainbow"


def test_cosine_buffer_is_the_pair_cosine_of_the_vectors_and_sets_the_range():
    emb = make_embeddings(40, seed=3)
    sc = Scatter(emb, line_color="cosine")
    cos = pair_cos(emb.image, emb.text)
    np.testing.assert_allclose(cosines_of(sc), cos, atol=1e-5)
    assert len(sc.pair_cosines) == 4 * emb.n  # float32 [n], binary
    # fewer than ROBUST_MIN_PAIRS pairs: the range is min..max of the cosines
    assert sc.line_color_range == pytest.approx([cos.min(), cos.max()], abs=1e-5)
    sc.line_color = "grey"
    assert sc.line_color_range == []


def test_closing_the_gap_changes_the_cosines_as_closed_by_hand():
    emb = make_embeddings(40, seed=4, shift=2.0)
    sc = Scatter(emb, line_color="cosine")
    before = cosines_of(sc).copy()
    sc.session.gap_closed = True
    a, b = closed_by_hand(emb.image, emb.text)
    expected = np.einsum("ij,ij->i", a, b)
    np.testing.assert_allclose(cosines_of(sc), expected, atol=1e-5)
    assert cosines_of(sc).mean() > before.mean() + 0.05  # closing the gap brings the pairs closer
    assert sc.line_color_range == pytest.approx([expected.min(), expected.max()], abs=1e-5)


def test_the_range_follows_the_pairs_in_view():
    emb = make_embeddings(40, seed=5)
    sc = Scatter(emb, line_color="cosine")
    cos = pair_cos(emb.image, emb.text)
    sc.session.filter_pattern = "red circle"  # pairs 0, 4, 8, ...
    idx = [i for i, c in enumerate(emb.captions) if "red circle" in c]
    assert idx == list(range(0, 40, 4))
    assert sc.line_color_range == pytest.approx([cos[idx].min(), cos[idx].max()], abs=1e-5)


def test_range_rule_percentiles_from_many_pairs():
    rng = np.random.default_rng(0)
    many = rng.normal(size=ROBUST_MIN_PAIRS + 50)
    lo, hi = cosine_line_range(many)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(many, [1, 99])))
    assert cosine_line_range([0.3, 0.3]) == pytest.approx((0.25, 0.35))
    assert cosine_line_range([np.nan]) == (-1.0, 1.0)
    assert cosine_line_range([0.1, 0.9, 0.5], indices=[0, 2]) == pytest.approx((0.1, 0.5))


# -- a scatter with its own projection ----------------------------------------------------------

def test_own_projection_leaves_the_session_alone():
    emb = make_embeddings(30)
    follower = Scatter(emb)
    pca_points = follower.points
    own = Scatter(session=follower.session, projection="joint", own_projection=True)
    own.wait_projection(60)
    assert follower.session.projection == "pca" and follower.projection == "pca"
    assert own.projection == "joint" and own.point_kind == "pair" and follower.point_kind == "modality"
    assert len(own.points) == emb.n * 2 * 4 and len(follower.points) == 2 * emb.n * 2 * 4  # float32 [m, 2]
    follower.session.projection = "joint"  # the follower follows; the other keeps its own
    follower.wait_projection(60)
    assert follower.point_kind == "pair"
    own.projection = "pca"
    own.wait_projection(60)
    assert own.point_kind == "modality" and follower.session.projection == "joint"
    assert own.points == pca_points  # its own PCA is the one the follower showed
    with pytest.raises(t.TraitError, match="unknown projection"):
        own.projection = "mds-of-nowhere"


def test_following_scatter_projection_kwarg_still_sets_the_session():
    emb = make_embeddings(20)
    sc = Scatter(emb, projection="joint")
    sc.wait_projection(60)
    assert sc.session.projection == "joint" and sc.point_kind == "pair"


# -- VisualClosing ------------------------------------------------------------------------------

def test_visual_closing_titles_state_the_same_cluster_share():
    emb = make_embeddings(60, seed=1)
    vc = VisualClosing(emb, projections=("pca", "joint"), n_clusters=4).wait(60)
    left, right = vc.scatters
    assert left.link_group == right.link_group  # hover linked
    assert left.line_color == right.line_color == "cosine"
    assert vc.session.projection == "pca"  # the session's projection is not touched by the joint side
    assert right.point_kind == "pair" and right.color_by == "pair-cosine"
    np.testing.assert_array_equal(np.frombuffer(right.colormap, np.uint8).reshape(256, 3), cosine_line_lut())
    projection = vc.session.cached_projection("pca")
    share, chance = brute_share(projection.image_xy, projection.text_xy, 4)
    agreement = vc.agreements["pca"]
    assert agreement.share == pytest.approx(share) and agreement.baseline == pytest.approx(chance)
    assert left.plot_title.startswith("PCA: ")
    assert f"{100 * share:.0f}% of 60 pairs" in left.plot_title and f"chance {100 * chance:.0f}%" in left.plot_title
    assert "k = 4" in left.plot_title
    assert vc.agreements["joint"] is None and "one point per pair" in right.plot_title
    # the gap closed: the layout changes and the title is measured again on it
    vc.session.gap_closed = True
    vc.wait(60)
    closed = vc.session.cached_projection("pca")
    share2, _ = brute_share(closed.image_xy, closed.text_xy, 4)
    assert vc.agreements["pca"].share == pytest.approx(share2)
    assert f"{100 * share2:.0f}% of 60 pairs" in left.plot_title


def test_visual_closing_k_from_a_meta_column():
    import pandas as pd
    from amumo_ng.store import Embeddings

    base = make_embeddings(40, seed=2)
    meta = pd.DataFrame({"kind": [c.split(" number")[0] for c in base.captions]})
    emb = Embeddings.from_arrays(base.image, base.text, captions=base.captions, meta=meta)
    vc = VisualClosing(emb, projections=("pca", "joint"), n_clusters="kind").wait(60)
    assert vc.agreements["pca"].n_clusters == 4


@pytest.mark.slow  # UMAP (numba) compiles once per process
def test_visual_closing_umap_out_of_sample_fits_the_images_only():
    emb = make_embeddings(48, seed=6)
    vc = VisualClosing(emb, n_clusters=4).wait(240)  # default projections: umap-oos | joint
    assert [s.projection for s in vc.scatters] == ["umap-oos", "joint"]
    projection = vc.session.cached_projection("umap-oos")
    # out-of-sample: the UMAP fit holds the 48 images (their positions are its embedding); the
    # texts are not in it, so they were placed by transform
    assert projection.umap_model.embedding_.shape == (48, 2)
    np.testing.assert_allclose(projection.umap_model.embedding_, projection.image_xy, atol=1e-6)
    assert projection.text_xy.shape == (48, 2) and np.isfinite(projection.text_xy).all()
    share, chance = brute_share(projection.image_xy, projection.text_xy, 4)
    assert vc.agreements["umap-oos"].share == pytest.approx(share)
    assert vc.scatters[0].plot_title.startswith("UMAP out-of-sample: ")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(projections=("pca",)), ValueError, r"two projections side by side, got 1"),
    (dict(projections=("pca", "mds")), ValueError, r"unknown projection 'mds'"),
    (dict(n_clusters="nope"), ValueError, r"n_clusters='nope': no such meta column"),
    (dict(n_clusters=1), ValueError, r"at least 2 clusters"),
])
def test_visual_closing_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        VisualClosing(make_embeddings(12), **kwargs)


def test_visual_closing_needs_data_or_session():
    with pytest.raises(TypeError, match="either"):
        VisualClosing()


def test_too_many_clusters_for_the_layout_is_said_in_the_title():
    emb = make_embeddings(3)
    vc = VisualClosing(emb, projections=("pca", "joint"), n_clusters=7).wait(60)
    assert "no same-cluster share" in vc.scatters[0].plot_title and "distinct points" in vc.scatters[0].plot_title


# -- the table ----------------------------------------------------------------------------------

def test_same_cluster_table_per_model_and_projection():
    a, b = make_embeddings(50, seed=7, model_id="a"), make_embeddings(50, seed=8, model_id="b", shift=3.0)
    session = Session({"a": a, "b": b}, gap_closed=True)
    table = same_cluster_table(session, projections=("pca", "joint"), n_clusters=3)
    assert session.model == "a" and session.gap_closed  # the session itself is not switched
    assert list(table[["model", "projection"]].itertuples(index=False, name=None)) == [
        ("a", "pca"), ("a", "joint"), ("b", "pca"), ("b", "joint")]
    for name, emb in (("a", a), ("b", b)):
        from amumo_ng.analysis.projection import project

        img, txt = closed_by_hand(emb.image, emb.text)  # the gap closed over all pairs in view
        ref = project(img, txt, "pca")
        share, chance = brute_share(ref.image_xy, ref.text_xy, 3)
        row = table[(table.model == name) & (table.projection == "pca")].iloc[0]
        assert row.same_cluster == pytest.approx(share) and row.chance == pytest.approx(chance)
        assert row.excess == pytest.approx((share - chance) / (1 - chance))
        assert row.k == 3 and row.n_pairs == 50
        joint = table[(table.model == name) & (table.projection == "joint")].iloc[0]
        assert np.isnan(joint.same_cluster) and "one point per pair" in joint.note


def test_same_cluster_table_bad_input():
    emb = make_embeddings(12)
    with pytest.raises(ValueError, match="unknown projections"):
        same_cluster_table(emb, projections=("pca", "spiral"))
    with pytest.raises(KeyError, match="no model 'nope'"):
        same_cluster_table(emb, models=["nope"])


def test_explorer_visual_closing_shares_its_session_and_link_group():
    from amumo_ng.widgets.explorer import Explorer

    ex = Explorer(make_embeddings(30))
    vc = ex.visual_closing(projections=("pca", "joint"), n_clusters=3).wait(60)
    assert all(s.session is ex.session and s.link_group == ex.link_group for s in vc.scatters)
    assert ex.projection == "pca" and [s.projection for s in vc.scatters] == ["pca", "joint"]
    ex.session.hover = 5  # hover is the session's: every view sees it
    assert all(s.hover == 5 for s in vc.scatters)
