"""Robust scaling of scatter positions: percentile box, clamped and flagged outliers, the pairs in view."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.projection import Projection
from amumo_ng.widgets.point_layout import ROBUST_MIN_POINTS, scale_to_view
from amumo_ng.widgets.scatter import layout_points, normalize_points


def cloud(m, seed=0, stretch=(3.0, 1.0)):
    return np.random.default_rng(seed).normal(size=(m, 2)) * np.asarray(stretch) + np.array([10.0, -4.0])


def ratio(out, xy, i=0, j=1):
    """The scale applied between rows i and j (output distance / input distance)."""
    return np.linalg.norm(out[i] - out[j]) / np.linalg.norm(xy[i] - xy[j])


def test_one_far_outlier_does_not_change_the_scale_of_the_rest():
    rest = cloud(1000)
    xy = np.vstack([rest, [[1e4, 1e4]]])
    out, clamped = scale_to_view(xy)
    # bounding box scale (what the outlier would force) vs the 0.5-99.5 percentile box, by hand
    bbox_scale = 0.95 / ((xy.max(0) - xy.min(0)).max() / 2)
    lo, hi = np.percentile(xy, 0.5, axis=0), np.percentile(xy, 99.5, axis=0)
    robust_scale = 0.95 / ((hi - lo).max() / 2)
    assert ratio(out, xy) == pytest.approx(robust_scale, rel=1e-5)
    assert robust_scale > 500 * bbox_scale
    # the scale of the rest is (nearly) what it is without the outlier
    alone, _ = scale_to_view(rest)
    assert ratio(out, xy) == pytest.approx(ratio(alone, rest), rel=0.02)
    # one scale for both axes about the box centre (aspect kept) for every point not clamped
    inside = ~clamped.astype(bool)
    np.testing.assert_allclose(out[inside], ((xy - (lo + hi) / 2) * robust_scale)[inside], atol=1e-5)
    assert clamped[-1] == 1


def test_the_outlier_is_flagged_and_clamped_to_the_edge():
    xy = np.vstack([cloud(999, seed=1), [[1e4, -50.0]]])
    out, clamped = scale_to_view(xy)
    assert clamped.dtype == np.uint8 and clamped.shape == (1000,)
    assert clamped[-1] == 1 and out[-1, 0] == pytest.approx(0.95) and out[-1, 1] == pytest.approx(-0.95)
    assert np.abs(out).max() <= 0.95 + 1e-7 and out.dtype == np.float32
    # exactly the points outside the square are flagged (a few of the cloud's own tail beyond the percentiles)
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    raw = (xy - (lo + hi) / 2) * (0.95 / ((hi - lo).max() / 2))
    np.testing.assert_array_equal(clamped, (np.abs(raw) > 0.95).any(axis=1).astype(np.uint8))
    assert 1 <= clamped.sum() <= 0.02 * len(xy)


def test_small_sets_use_the_bounding_box_exactly():
    xy = cloud(ROBUST_MIN_POINTS - 1, seed=2)
    xy[-1] = [500.0, 20.0]  # a far point among fewer than 200: the box includes it
    out, clamped = scale_to_view(xy)
    lo, hi = xy.min(0), xy.max(0)
    expected = (xy - (lo + hi) / 2) * (0.95 / ((hi - lo).max() / 2))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert clamped.sum() == 0 and np.abs(out).max() == pytest.approx(0.95)
    assert np.allclose(normalize_points(np.ones((3, 2))), 0)  # all equal: the origin
    with pytest.raises(ValueError, match="NaN"):
        normalize_points(np.array([[np.nan, 0.0]]))


def test_layout_fits_the_scale_to_the_pairs_in_view():
    n = 50
    rng = np.random.default_rng(3)
    image, text = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 3.0
    image[30] = [40.0, 40.0]  # a far image of a pair not in view
    view = np.arange(0, 20)
    result = layout_points(Projection(image, text, None, "pca"), indices=view)
    assert result.kind == "modality" and result.positions.shape == (2 * n, 2) and result.clamped.shape == (2 * n,)
    both = np.vstack([image, text])
    rows = np.concatenate([view, view + n])  # images and texts of the pairs in view
    lo, hi = both[rows].min(0), both[rows].max(0)  # fewer than 200 points: their bounding box
    scaled = (both - (lo + hi) / 2) * (0.95 / ((hi - lo).max() / 2))
    # the pairs in view fill the square; the others are context where they lie (within +-10)
    in_view = np.zeros(2 * n, bool)
    in_view[rows] = True
    expected = np.where(in_view[:, None], np.clip(scaled, -0.95, 0.95), np.clip(scaled, -10, 10))
    np.testing.assert_allclose(result.positions, expected, atol=1e-5)
    assert 0.95 < result.positions[30].max() <= 10.0  # far out of view: off the square, bounded
    assert result.clamped.sum() == 0  # only points in view are ever clamped (none here)
    assert np.abs(result.positions[rows]).max() == pytest.approx(0.95)
    # without indices every point counts (the far image widens the box, nothing is clamped)
    everything = layout_points(Projection(image, text, None, "pca"))
    assert everything.clamped.sum() == 0 and everything.positions[30].max() == pytest.approx(0.95)


def test_joint_layout_with_indices_and_bad_indices():
    pair_xy = np.random.default_rng(4).normal(size=(30, 2))
    pair_xy[0] = [100.0, 0.0]
    result = layout_points(Projection(None, None, pair_xy, "joint"), indices=[1, 2, 3, 4, 5])
    sub = pair_xy[1:6]
    lo, hi = sub.min(0), sub.max(0)
    scaled = (pair_xy - (lo + hi) / 2) * (0.95 / ((hi - lo).max() / 2))
    in_view = np.isin(np.arange(30), [1, 2, 3, 4, 5])
    expected = np.where(in_view[:, None], np.clip(scaled, -0.95, 0.95), np.clip(scaled, -10, 10))
    assert result.kind == "pair"
    np.testing.assert_allclose(result.positions, expected, atol=1e-5)
    assert result.clamped.sum() == 0 and result.positions[0, 0] == pytest.approx(10.0)
    # a far point IN view is clamped to the edge and flagged
    flagged = layout_points(Projection(None, None, pair_xy, "joint"), indices=np.arange(30))
    assert flagged.clamped[0] == 0  # under 200 points: the bounding box holds it
    many = np.random.default_rng(5).normal(size=(400, 2))
    many[7] = [50.0, 0.0]
    robust = layout_points(Projection(None, None, many, "joint"), indices=np.arange(400))
    assert robust.clamped[7] == 1 and robust.positions[7, 0] == pytest.approx(0.95)
    assert robust.clamped.sum() <= 8  # the 0.5-99.5 percentile box leaves few outside
    with pytest.raises(IndexError):
        layout_points(Projection(None, None, pair_xy, "joint"), indices=[30])
    # one pair in view has no extent: the box of all points is used
    single = layout_points(Projection(None, None, pair_xy, "joint"), indices=[3])
    np.testing.assert_allclose(single.positions, scale_to_view(pair_xy)[0])
