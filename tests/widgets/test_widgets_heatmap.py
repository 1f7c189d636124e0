"""Heatmap payloads and request handlers, checked against brute-force matrices."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.widgets import SimilarityHeatmap
from amumo_ng.widgets.colormap import dequantize, quantize, viridis_lut
from helpers_widgets import brute_stacked, make_embeddings


def decode_full(w):
    rows = w.heat_rows
    pixels = np.frombuffer(w.heat_pixels, dtype=np.uint8).reshape(rows, rows)
    edges = np.frombuffer(w.heat_edges, dtype=np.int32)
    values = np.frombuffer(w.heat_values, dtype=np.float32).reshape(rows, rows) if w.heat_values else None
    return pixels, edges, values


def block_means(full, row_edges, col_edges):
    out = np.empty((len(row_edges) - 1, len(col_edges) - 1))
    for a in range(len(row_edges) - 1):
        for b in range(len(col_edges) - 1):
            out[a, b] = full[row_edges[a]:row_edges[a + 1], col_edges[b]:col_edges[b + 1]].mean()
    return out


def test_quantize_maps_range_to_0_255_and_clips():
    q = quantize(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), 0.0, 1.0)
    assert q.tolist() == [0, 0, 128, 255, 255]
    assert quantize(np.array([3.0]), 1.0, 1.0).tolist() == [128]
    assert np.allclose(dequantize(np.array([0, 255]), -0.5, 1.5), [-0.5, 1.5])
    lut = viridis_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert lut[0].tolist() == [68, 1, 84] and lut[255].tolist() == [253, 231, 37]


def test_small_view_is_exact_with_float_values():
    emb = make_embeddings(20)
    w = SimilarityHeatmap(emb)
    pixels, edges, values = decode_full(w)
    full = brute_stacked(emb.image, emb.text)
    assert w.heat_rows == 40 and w.heat_exact
    assert edges.tolist() == list(range(41))
    assert np.allclose(values, full, atol=1e-5)
    assert w.vmin == pytest.approx(full.min(), abs=1e-5) and w.vmax == pytest.approx(full.max(), abs=1e-5)
    # the colour indices are the quantised values
    expected = np.clip(np.rint((full - w.vmin) * 255 / (w.vmax - w.vmin)), 0, 255)
    assert np.abs(pixels.astype(int) - expected).max() <= 1


def test_large_view_sends_block_means_on_the_grid():
    emb = make_embeddings(50)
    w = SimilarityHeatmap(emb, grid=20)
    pixels, edges, values = decode_full(w)
    assert w.heat_rows == 20 and pixels.shape == (20, 20) and not w.heat_exact
    assert values is None  # no exact floats for a block view
    assert edges[0] == 0 and edges[-1] == 100 and 50 in edges.tolist()  # no block straddles the border
    full = brute_stacked(emb.image, emb.text)
    means = block_means(full, edges, edges)
    decoded = dequantize(pixels, w.vmin, w.vmax)
    assert np.abs(decoded - means).max() <= (w.vmax - w.vmin) / 255 + 1e-5
    assert len(w.heat_pixels) == 20 * 20  # one byte per cell: the payload is bounded by the grid


def test_region_request_exact_tile_matches_brute_force():
    emb = make_embeddings(30)
    w = SimilarityHeatmap(emb, grid=16)
    reply, buffers = w.handle_region({"type": "region", "req": 7, "r0": 3, "r1": 13, "c0": 35, "c1": 47})
    assert reply["req"] == 7 and reply["exact"] and reply["has_values"]
    assert (reply["rows"], reply["cols"]) == (10, 12)
    pixels = np.frombuffer(buffers[0], np.uint8).reshape(10, 12)
    row_edges, col_edges = np.frombuffer(buffers[1], np.int32), np.frombuffer(buffers[2], np.int32)
    values = np.frombuffer(buffers[3], np.float32).reshape(10, 12)
    full = brute_stacked(emb.image, emb.text)
    assert np.allclose(values, full[3:13, 35:47], atol=1e-5)
    assert row_edges.tolist() == list(range(3, 14)) and col_edges.tolist() == list(range(35, 48))
    assert pixels.dtype == np.uint8


def test_region_request_large_region_is_block_means():
    emb = make_embeddings(40)
    w = SimilarityHeatmap(emb, grid=8)
    reply, buffers = w.handle_region({"type": "region", "r0": 10, "r1": 70, "c0": 0, "c1": 80})
    assert not reply["exact"] and not reply["has_values"] and len(buffers) == 3
    row_edges, col_edges = np.frombuffer(buffers[1], np.int32), np.frombuffer(buffers[2], np.int32)
    assert row_edges[0] == 10 and row_edges[-1] == 70 and 40 in row_edges.tolist()
    pixels = np.frombuffer(buffers[0], np.uint8).reshape(reply["rows"], reply["cols"])
    means = block_means(brute_stacked(emb.image, emb.text), row_edges, col_edges)
    lo, hi = reply["vmin"], reply["vmax"]  # the whole view's range, widened to the region's means
    assert lo <= min(w.vmin, means.min()) + 1e-6 and hi >= max(w.vmax, means.max()) - 1e-6
    assert np.abs(dequantize(pixels, lo, hi) - means).max() <= (hi - lo) / 255 + 1e-5


def test_value_request_is_exact_and_names_the_items():
    emb = make_embeddings(25)
    w = SimilarityHeatmap(emb, grid=10)
    w.session.filter_pattern = "square"
    order = np.frombuffer(w.order, np.int32)
    k = w.n_view
    reply, buffers = w.handle_value({"type": "value", "req": 1, "row": 2, "col": k + 4})
    sub = brute_stacked(emb.image[order], emb.text[order])
    assert reply["value"] == pytest.approx(sub[2, k + 4], abs=1e-5)
    assert reply["row_item"] == ["image", int(order[2])] and reply["col_item"] == ["text", int(order[4])]
    assert buffers == []


def test_bad_requests_reply_with_an_error(monkeypatch):
    w = SimilarityHeatmap(make_embeddings(5))
    sent = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append((content, buffers)))
    w._dispatch(w, {"type": "region", "req": 3, "r0": 0, "r1": 99, "c0": 0, "c1": 1}, [])
    w._dispatch(w, {"type": "nonsense", "req": 4}, [])
    w._dispatch(w, {"type": "value", "req": 5, "row": 0}, [])
    assert [c["req"] for c, _ in sent] == [3, 4, 5]
    assert all("error" in c for c, _ in sent)
    assert "outside" in sent[0][0]["error"] and "unknown request" in sent[1][0]["error"]


def test_filter_cluster_and_gap_update_the_heatmap():
    emb = make_embeddings(24)
    w = SimilarityHeatmap(emb)
    first_pixels, first_hash = w.heat_pixels, w.order_hash
    w.session.filter_pattern = "circle"
    assert w.n_view == 6 and w.heat_rows == 12
    w.session.filter_pattern = "zzz"
    assert w.n_view == 0 and w.heat_rows == 0 and w.heat_pixels == b""  # empty state
    w.session.filter_pattern = ""
    assert w.heat_pixels == first_pixels
    w.session.cluster = True
    assert w.order_hash != first_hash and len(w.cluster_bounds) >= 2
    _, _, values = decode_full(w)
    order = np.frombuffer(w.order, np.int32)
    assert np.allclose(values, brute_stacked(emb.image[order], emb.text[order]), atol=1e-5)
    w.session.cluster = False
    w.session.gap_closed = True
    _, _, closed = decode_full(w)
    img_c, txt_c = w.session.vectors()
    assert np.allclose(closed, brute_stacked(img_c, txt_c), atol=1e-5)
    assert not np.allclose(closed, decode_full(SimilarityHeatmap(emb))[2], atol=1e-3)


def test_one_pair_heatmap():
    emb = make_embeddings(1)
    w = SimilarityHeatmap(emb)
    _, _, values = decode_full(w)
    assert w.heat_rows == 2 and np.allclose(values, brute_stacked(emb.image, emb.text), atol=1e-5)


def test_large_clustering_runs_in_the_background_then_reorders(monkeypatch):
    import amumo_ng.session as session_module

    monkeypatch.setattr(session_module, "ORDER_SYNC_LIMIT", 10)
    emb = make_embeddings(40)
    w = SimilarityHeatmap(emb)
    unclustered = w.order_hash
    w.session.cluster = True  # returns at once: the view keeps its order meanwhile
    assert w.session.wait_ordering(timeout=60) is not None
    assert w.status == "" and w.order_hash != unclustered and len(w.cluster_bounds) >= 2
    order = np.frombuffer(w.order, np.int32)
    assert sorted(order.tolist()) == list(range(40))
    _, _, values = decode_full(w)
    assert np.allclose(values, brute_stacked(emb.image[order], emb.text[order]), atol=1e-5)


def record_state_messages(w):
    """Wrap ``w.send_state`` and keep, per state message the browser would get, the synced trait
    names it carries and a snapshot of the browser's copy of order / heat_values after it."""
    messages, browser = [], {"order": w.order, "heat_values": w.heat_values, "heat_rows": w.heat_rows}
    original = w.send_state

    def send_state(key=None):
        keys = set(w.get_state(key))
        for name in keys & set(browser):
            browser[name] = getattr(w, name)
        messages.append((keys, dict(browser)))
        return original(key)

    w.send_state = send_state
    return messages


def assert_browser_pairs_order_with_its_pixels(emb, messages):
    """After every message, the exact values the browser holds are those of ITS order (brute force)."""
    assert messages, "no state message was sent"
    for keys, state in messages:
        if "order" in keys:
            assert "heat_pixels" in keys and "heat_values" in keys, f"order sent without the image: {sorted(keys)}"
        order = np.frombuffer(state["order"], np.int32)
        values = np.frombuffer(state["heat_values"], np.float32).reshape(2 * order.size, 2 * order.size)
        assert np.allclose(values, brute_stacked(emb.image[order], emb.text[order]), atol=1e-5)


def test_new_order_and_new_image_leave_in_one_message():
    emb = make_embeddings(24)
    w = SimilarityHeatmap(emb)
    messages = record_state_messages(w)
    w.session.cluster = True
    w.session.cluster_quadrant = "text-text"
    w.session.filter_pattern = "red"
    w.session.cluster = False
    assert_browser_pairs_order_with_its_pixels(emb, messages)
    assert sum("order" in keys for keys, _ in messages) >= 3  # each of those changes sent a new order


def test_background_clustering_sends_order_and_image_together(monkeypatch):
    import amumo_ng.session as session_module

    monkeypatch.setattr(session_module, "ORDER_SYNC_LIMIT", 10)
    emb = make_embeddings(30)
    w = SimilarityHeatmap(emb)
    messages = record_state_messages(w)
    w.session.cluster = True
    assert w.session.wait_ordering(timeout=60) is not None
    w.session.cluster_quadrant = "image-text"
    assert w.session.wait_ordering(timeout=60) is not None
    assert_browser_pairs_order_with_its_pixels(emb, messages)
    assert any("order" in keys for keys, _ in messages)


def test_zoomed_exact_region_is_coloured_over_its_own_range_not_clipped_to_the_block_means():
    emb = make_embeddings(40)
    w = SimilarityHeatmap(emb, grid=8)  # 80 x 80 stacked matrix on 8 x 8 block means
    assert not w.heat_exact
    full = brute_stacked(emb.image, emb.text)
    reply, buffers = w.handle_region({"type": "region", "r0": 0, "r1": 6, "c0": 0, "c1": 6})
    assert reply["exact"]
    values = full[0:6, 0:6]
    # the diagonal (1.0) lies above every block mean of the whole view
    assert values.max() > w.vmax
    assert reply["vmin"] == pytest.approx(min(w.vmin, values.min()), abs=1e-6)
    assert reply["vmax"] == pytest.approx(max(w.vmax, values.max()), abs=1e-6)
    pixels = np.frombuffer(buffers[0], np.uint8).reshape(6, 6)
    decoded = dequantize(pixels, reply["vmin"], reply["vmax"])
    assert np.abs(decoded - values).max() <= (reply["vmax"] - reply["vmin"]) / 255 + 1e-5  # nothing clipped
