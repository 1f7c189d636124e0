"""Heatmap colour scales: per view, fixed [-1, 1], locked, and shared across a Comparison."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.widgets import Comparison, Explorer
from amumo_ng.widgets.colormap import quantize
from helpers_widgets import brute_stacked, make_embeddings


def pixels(widget):
    rows = widget.heat_rows
    return np.frombuffer(widget.heat_pixels, np.uint8).reshape(rows, rows)


def test_per_view_scale_spans_the_view_and_fixed_spans_minus_one_to_one():
    emb = make_embeddings(20)
    ex = Explorer(emb)
    full = brute_stacked(emb.image, emb.text)
    assert ex.vmin == pytest.approx(full.min(), abs=1e-5) and ex.vmax == pytest.approx(full.max(), abs=1e-5)
    assert ex.color_scale_label == "scale: per view"
    ex.color_scale = "fixed"
    assert (ex.vmin, ex.vmax) == (-1.0, 1.0)
    assert np.array_equal(pixels(ex), quantize(full.astype(np.float32), -1.0, 1.0))
    assert "fixed" in ex.color_scale_label


def test_locked_scale_keeps_a_cell_colour_across_filter_clustering_and_gap():
    emb = make_embeddings(24)
    ex = Explorer(emb)
    ex.color_scale = "locked"
    lo, hi = ex.locked_range
    assert (lo, hi) == (ex.vmin, ex.vmax)
    k = ex.session.k
    cell = pixels(ex)[0, k]  # image 0 vs text 0
    ex.session.filter_pattern = "red"  # pair 0 is a red circle
    order = np.frombuffer(ex.order, np.int32)
    p = int(np.flatnonzero(order == 0)[0])
    k = ex.session.k
    assert (ex.vmin, ex.vmax) == (lo, hi)
    assert pixels(ex)[p, k + p] == cell
    ex.session.cluster = True
    order = np.frombuffer(ex.order, np.int32)
    p = int(np.flatnonzero(order == 0)[0])
    assert pixels(ex)[p, k + p] == cell
    # a zoomed region is not widened under a locked scale
    reply, _ = ex.handle_region({"type": "region", "r0": 0, "r1": 4, "c0": 0, "c1": 4})
    assert (reply["vmin"], reply["vmax"]) == (lo, hi)
    ex.color_scale = "view"
    assert ex.vmin != lo or ex.vmax != hi


def test_lock_scale_rejects_an_empty_range():
    ex = Explorer(make_embeddings(8))
    with pytest.raises(ValueError, match="vmin < vmax"):
        ex.lock_scale(0.5, 0.5)
    assert ex.color_scale == "view"  # nothing changed


def test_comparison_puts_both_models_on_one_scale():
    a, b = make_embeddings(16, model_id="a"), make_embeddings(16, seed=3, model_id="b", shift=2.0)
    sa, sb = brute_stacked(a.image, a.text), brute_stacked(b.image, b.text)
    cmp_ = Comparison({"A": a, "B": b})
    lo, hi = min(sa.min(), sb.min()), max(sa.max(), sb.max())
    for side in (cmp_.left, cmp_.right):
        assert side.color_scale == "locked"
        assert side.vmin == pytest.approx(lo, abs=1e-5) and side.vmax == pytest.approx(hi, abs=1e-5)
        assert "shared by both models" in side.color_scale_label
    own = Comparison({"A": a, "B": b}, shared_scale=False)
    assert own.left.vmax == pytest.approx(sa.max(), abs=1e-5) and own.right.vmax == pytest.approx(sb.max(), abs=1e-5)
    assert own.left.color_scale_label == "scale: per view"
