"""The heatmap's difference mode and the gap-shift chart, against brute-force matrices and losses."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.gap import shift_gap
from amumo_ng.store import Embeddings
from amumo_ng.widgets import Explorer, GapShiftChart, SimilarityHeatmap
from amumo_ng.widgets.colormap import diverging_lut, quantize
from helpers_widgets import make_embeddings, unit


def brute_difference(emb, order):
    i_u, t_u = unit(emb.image)[order], unit(emb.text)[order]
    return np.array([[float(i_u[a] @ i_u[b] - t_u[a] @ t_u[b]) for b in range(len(order))] for a in range(len(order))])


def test_difference_mode_ships_the_exact_matrix_on_a_centred_scale():
    emb = make_embeddings(30)
    w = SimilarityHeatmap(emb, heat_mode="difference")
    d = brute_difference(emb, np.arange(30))
    assert w.heat_rows == 30 and w.heat_exact
    values = np.frombuffer(w.heat_values, np.float32).reshape(30, 30)
    np.testing.assert_allclose(values, d, atol=1e-5)
    assert w.vmin == pytest.approx(-w.vmax) and w.vmax == pytest.approx(np.abs(d).max(), abs=1e-5)
    pixels = np.frombuffer(w.heat_pixels, np.uint8).reshape(30, 30)
    np.testing.assert_array_equal(pixels, quantize(values, w.vmin, w.vmax))
    assert pixels[0, 0] in (127, 128)  # D_ii = 0 sits on the white centre of the diverging map
    assert w.heat_lut().tolist() == diverging_lut().tolist() and diverging_lut()[127:129].min() >= 240  # white
    off = d[~np.eye(30, dtype=bool)]
    r = w.difference_readout
    assert r["exact"] and r["mean_abs"] == pytest.approx(np.abs(off).mean(), abs=1e-6)
    assert r["std"] == pytest.approx(off.std(), abs=1e-6)
    assert "mean |Δ|" in w.color_scale_label
    w.heat_mode = "similarity"
    assert w.heat_rows == 60 and w.difference_readout == {}


def test_difference_levels_of_detail_zoom_and_values_follow_the_clustered_order():
    emb = make_embeddings(80)
    w = Explorer(emb, heat_mode="difference", cluster=True, grid=16)
    order = np.frombuffer(w.order, np.int32)
    assert not np.array_equal(order, np.arange(80))  # clustered: positions are draw order
    d = brute_difference(emb, order)
    edges = np.frombuffer(w.heat_edges, np.int32)
    values = np.frombuffer(w.heat_pixels, np.uint8).reshape(w.heat_rows, w.heat_rows)
    assert w.heat_rows == 16 and not w.heat_exact and edges[-1] == 80
    means = np.array([[d[edges[a]:edges[a + 1], edges[b]:edges[b + 1]].mean() for b in range(16)] for a in range(16)])
    np.testing.assert_array_equal(values, quantize(means.astype(np.float32), w.vmin, w.vmax))
    reply, buffers = w.handle_region({"r0": 10, "r1": 20, "c0": 40, "c1": 52})
    assert reply["exact"] and (reply["rows"], reply["cols"]) == (10, 12)
    np.testing.assert_allclose(np.frombuffer(buffers[3], np.float32).reshape(10, 12), d[10:20, 40:52], atol=1e-5)
    reply, _ = w.handle_value({"row": 7, "col": 61})
    i_u, t_u = unit(emb.image)[order], unit(emb.text)[order]
    assert reply["value"] == pytest.approx(d[7, 61], abs=1e-5)
    assert reply["parts"] == pytest.approx([i_u[7] @ i_u[61], t_u[7] @ t_u[61]], abs=1e-5)
    assert reply["row_item"] == ["pair", int(order[7])]
    with pytest.raises(ValueError, match="outside"):
        w.handle_region({"r0": 0, "r1": 81, "c0": 0, "c1": 10})


def test_difference_follows_the_gap_shift():
    emb = make_embeddings(24)
    w = Explorer(emb, heat_mode="difference")
    w.session.apply_shift(0.6)
    a, b = shift_gap(emb.image, emb.text, 0.6)
    want = np.asarray(a) @ np.asarray(a).T - np.asarray(b) @ np.asarray(b).T
    np.testing.assert_allclose(np.frombuffer(w.heat_values, np.float32).reshape(24, 24), want, atol=1e-5)


def test_gap_shift_chart_draws_the_curve_and_clicks_apply_the_shift():
    emb = make_embeddings(120)
    ex = Explorer(emb)
    chart = ex.gap_shift_chart(steps=11)
    curve = chart.curve
    sym, compat = chart.figure.data
    np.testing.assert_allclose(sym.x, curve.deltas)
    np.testing.assert_allclose(sym.y, curve.losses)
    np.testing.assert_allclose(compat.y, curve.compat_losses)
    assert chart.shown_shift == 0.0 and "exact over all pairs" in chart.status.value

    class Points:  # what plotly passes to on_click
        point_inds = [7]

    chart._on_click(sym, Points(), None)
    delta = float(curve.deltas[7])
    assert ex.gap_closed and chart.shown_shift == pytest.approx(delta)
    assert ex.gap_readout["shift"] == pytest.approx(delta)
    assert ex.gap_readout["loss_after"] == pytest.approx(curve.losses[7], rel=1e-6)
    shown = [s.x0 for s in chart.figure.layout.shapes if s.line.color == "#d62728"]
    assert shown == [pytest.approx(delta)]
    ex.gap_closed = False
    assert chart.shown_shift == 0.0 and ex.gap_readout["fraction"] == 1.0


def test_gap_shift_chart_in_the_background_and_on_a_new_view():
    emb = make_embeddings(90)
    ex = Explorer(emb)
    chart = GapShiftChart(ex, steps=5, sync_pairs=10)
    curve = chart.wait(60)
    assert curve is not None and curve.n == 90
    ex.filter_pattern = "red"
    curve = chart.wait(60)
    assert curve.n == ex.session.k < 90


def test_gap_shift_chart_of_one_pair_says_why():
    ex = Explorer(make_embeddings(40), filter_pattern="number 7$", filter_regex=True)
    assert ex.session.k == 1
    chart = ex.gap_shift_chart()
    assert chart.curve is None and "at least 2 pairs" in chart.error and "at least 2 pairs" in chart.status.value
    assert chart.figure.data[0].x in (None, ())
    ex.filter_pattern = ""
    assert chart.curve is not None and chart.error == ""


def test_modalities_of_different_dimensions_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(Exception, match="dimension|same shape|d ="):
        Embeddings.from_arrays(rng.normal(size=(5, 8)), rng.normal(size=(5, 6)), captions=list("abcde"))
