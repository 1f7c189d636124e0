"""Explorer, Scatter and Comparison: state shared with the Session, thumbnails, projections."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

import amumo_ng
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.store import Embeddings
from amumo_ng.widgets import Comparison, Explorer, Scatter
from amumo_ng.widgets.bundle import STATIC_DIR, BundleMissingError, bundle_source
from amumo_ng.widgets.scatter import normalize_points
from helpers_widgets import make_embeddings, unit


def test_explorer_controls_drive_the_session_and_the_readout():
    emb = make_embeddings(32)
    ex = amumo_ng.Explorer(emb)
    assert ex.n_total == 32 and ex.n_view == 32 and ex.models == ["toy"]
    ex.filter_pattern = "triangle"  # as the browser would set it
    assert ex.session.filter_pattern == "triangle" and ex.n_view == 8
    ex.filter_regex = True
    ex.filter_pattern = "tri[angle"
    assert ex.filter_error and ex.n_view == 8
    ex.filter_pattern = ""
    assert ex.filter_error == "" and ex.n_view == 32
    i_u, t_u = unit(emb.image), unit(emb.text)
    assert ex.gap_readout["distance_before"] == pytest.approx(np.linalg.norm(i_u.mean(0) - t_u.mean(0)), rel=1e-5)
    before_pixels = ex.heat_pixels
    ex.gap_closed = True
    assert ex.session.gap_closed and ex.heat_pixels != before_pixels
    assert ex.gap_readout["distance_after"] < ex.gap_readout["distance_before"]


def test_explorer_initial_state_keywords_and_model_dropdown():
    a, b = make_embeddings(12, model_id="a"), make_embeddings(12, seed=3, model_id="b")
    ex = amumo_ng.Explorer({"clip": a, "cyclip": b}, cluster=True, filter_pattern="red", title="t")
    assert ex.models == ["clip", "cyclip"] and ex.model == "clip" and ex.cluster and ex.n_view == 6
    assert ex.session.cluster and ex.title == "t"
    readout_a = dict(ex.gap_readout)
    ex.model = "cyclip"
    assert synced_captions(ex) == b.captions and ex.gap_readout != readout_a
    assert ex.points_model == "cyclip"


def synced_captions(widget) -> list[str]:
    """The captions as the browser receives them (UTF-8 blob + uint32 offsets), decoded by hand."""
    blob, raw = widget.captions_utf8, widget.caption_offsets
    offsets = [int.from_bytes(raw[4 * i:4 * i + 4], "little") for i in range(len(raw) // 4)]
    return [blob[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:])]


def test_captions_pass_through_untouched_as_data():
    nasty = ['<img src=x onerror="alert(1)">', "<script>alert('x')</script>", "a & b < c", "ünï €"]
    emb = Embeddings.from_arrays(np.eye(4) + 0.1, np.eye(4) + 0.2, captions=nasty)
    ex = amumo_ng.Explorer(emb)
    # escaping is the browser's job (textContent), data stays as is
    assert ex.captions == nasty and synced_captions(ex) == nasty


def test_captions_reach_the_browser_as_binary_not_json():
    from ipywidgets.widgets.widget import _remove_buffers

    captions = [f"pair {i} — ünïcode {'x' * (i % 7)}" for i in range(300)] + [""]
    emb = Embeddings.from_arrays(np.random.default_rng(0).normal(size=(301, 8)),
                                 np.random.default_rng(1).normal(size=(301, 8)), captions=captions)
    ex = amumo_ng.Explorer(emb)
    state, _paths, buffers = _remove_buffers(ex.get_state())
    assert "captions" not in state and not isinstance(state.get("captions_utf8"), (str, list))
    assert len(ex.caption_offsets) == 4 * 302
    assert sum(memoryview(b).nbytes for b in buffers) >= sum(len(c.encode()) for c in captions)
    assert synced_captions(ex) == captions


def test_pack_strings_round_trip_and_empty():
    from amumo_ng.widgets.base import pack_strings

    assert pack_strings([]) == (b"", b"\x00\x00\x00\x00")
    blob, raw = pack_strings(["ab", "", "€"])
    assert blob == b"ab\xe2\x82\xac" and np.frombuffer(raw, np.uint32).tolist() == [0, 2, 2, 5]


def test_selection_from_the_browser_reaches_python_and_can_filter_the_heatmap():
    ex = amumo_ng.Explorer(make_embeddings(20))
    ex.selection = [9, 2, 5]  # what the lasso handler sends
    assert ex.selection == [2, 5, 9] and ex.session.selection == [2, 5, 9]
    assert ex.n_view == 20
    ex.selection_filter = True
    assert ex.n_view == 3 and np.frombuffer(ex.order, np.int32).tolist() == [2, 5, 9] and ex.heat_rows == 6


def test_one_pair_explorer():
    ex = amumo_ng.Explorer(make_embeddings(1))
    assert ex.heat_rows == 2 and ex.n_view == 1
    assert ex.gap_readout["loss_compat_before"] is None  # NaN is sent as null
    xy = np.frombuffer(ex.points, np.float32).reshape(-1, 2)
    assert xy.shape == (2, 2) and np.isfinite(xy).all()


def test_thumbnail_request_returns_an_image_and_missing_images_warn():
    emb = make_embeddings(6, images=True)
    ex = amumo_ng.Explorer(emb)
    reply, buffers = ex.handle_thumb({"type": "thumb", "req": 2, "pair": 4})
    assert reply["ok"] and reply["mime"] in ("image/png", "image/jpeg") and len(buffers) == 1
    img = Image.open(io.BytesIO(buffers[0]))
    assert max(img.size) <= 160 and img.getpixel((0, 0))[0] == 40

    def source(i):
        if i == 1:
            raise FileNotFoundError("/data/missing.jpg")
        return Image.new("RGB", (8, 8))

    broken = Embeddings.from_arrays(np.eye(3) + 0.1, np.eye(3), images=source)
    ex2 = amumo_ng.Explorer(broken)
    with pytest.warns(UserWarning, match="missing.jpg"):
        reply, buffers = ex2.handle_thumb({"type": "thumb", "pair": 1})
    assert not reply["ok"] and buffers == [] and "missing.jpg" in reply["warning"]
    reply, buffers = amumo_ng.Explorer(make_embeddings(3)).handle_thumb({"type": "thumb", "pair": 0})
    assert not reply["ok"] and "no images" in reply["warning"]


def test_normalize_points_keeps_ratios_inside_unit_square():
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 2.0]])
    out = normalize_points(xy)
    assert out.dtype == np.float32 and np.abs(out).max() == pytest.approx(0.95)
    d = lambda a, i, j: np.linalg.norm(a[i] - a[j])  # noqa: E731
    assert d(out, 0, 1) / d(out, 1, 2) == pytest.approx(2.0)
    assert np.allclose(normalize_points(np.ones((3, 2))), 0)
    with pytest.raises(ValueError):
        normalize_points(np.array([[np.nan, 0.0]]))


def test_scatter_pca_points_are_binary_float32_in_stacked_order():
    emb = make_embeddings(30)
    sc = Scatter(emb)
    xy = np.frombuffer(sc.points, np.float32).reshape(-1, 2)
    assert xy.shape == (60, 2) and sc.point_kind == "modality" and np.abs(xy).max() <= 0.95 + 1e-6
    # independent PCA (SVD of the centred stacked unit vectors): the same layout up to
    # sign and one common scale, so all pairwise distances have one ratio
    stacked = np.concatenate([unit(emb.image), unit(emb.text)])
    centred = stacked - stacked.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    ref = u[:, :2] * s[:2]
    dist = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)[np.triu_indices(60, 1)]  # noqa: E731
    ratio = dist(xy) / dist(ref)
    assert np.allclose(ratio, ratio.mean(), rtol=1e-3)


def test_scatter_async_projection_and_joint_layout():
    emb = make_embeddings(25)
    sc = Scatter(emb)
    pca = sc.points
    sc.session.projection = "joint"  # runs in a ProjectionJob thread
    sc.wait_projection(timeout=60)
    for _ in range(100):
        if sc.projection_status == "":
            break
        import time
        time.sleep(0.05)
    assert sc.point_kind == "pair" and len(sc.points) == 25 * 2 * 4 and sc.projection_status == ""
    sc.session.projection = "pca"  # cached: no job
    assert sc.points == pca and sc._job is None


def test_comparison_links_two_explorers_and_checks_pairs():
    a, b = make_embeddings(10, model_id="a"), make_embeddings(10, seed=5, model_id="b")
    cmp = Comparison({"A": a, "B": b}, gap_closed=True)
    assert cmp.left.link_group == cmp.right.link_group != ""
    assert cmp.left.title == "A" and cmp.right.gap_closed
    assert amumo_ng.Explorer.compare(a, b).right.title == "b"
    assert amumo_ng.Explorer.compare({"A": a, "B": b}).left.title == "A"
    with pytest.raises(EmbeddingError):
        Comparison(a, make_embeddings(9))


def test_bundle_carries_the_dom_contract():
    src = bundle_source("explorer")
    for attr in ["explorer", "heatmap", "heatmap-canvas", "hover-panel", "hover-caption", "hover-value",
                 "filter-input", "filter-regex", "filter-count", "filter-error", "gap-toggle", "gap-readout",
                 "cluster-toggle", "cluster-quadrant", "projection", "model", "scatter", "lasso"]:
        assert re.search(r'["\']' + re.escape(attr) + r'["\']', src), attr
    for token in ["data-highlight-row", "data-rows", "data-order", "amumoPointToClient"]:
        assert token in src, token
    # nothing is fetched at run time: no import from a URL
    assert not re.search(r'(import\s*\(\s*|from\s*)["\']https?://', src)


def test_missing_bundle_is_a_clear_error(monkeypatch, tmp_path):
    import amumo_ng.widgets.bundle as bundle

    monkeypatch.setattr(bundle, "STATIC_DIR", tmp_path)
    with pytest.raises(BundleMissingError, match="npm .* run build"):
        bundle.bundle_source("explorer")
    assert STATIC_DIR.name == "static"


def test_explorer_needs_data_or_session():
    with pytest.raises(TypeError):
        amumo_ng.Explorer()
    ex = amumo_ng.Explorer(make_embeddings(5))
    twin = amumo_ng.Explorer(session=ex.session)
    assert twin.link_group == ex.link_group
    twin.filter_pattern = "red"
    reds = sum("red" in c for c in ex.captions)
    assert 0 < reds < 5 and ex.n_view == twin.n_view == reds


def test_large_readout_is_computed_in_the_background(monkeypatch):
    import amumo_ng.widgets.readout_panel as readout_panel

    monkeypatch.setattr(readout_panel, "READOUT_SYNC_LIMIT", 10)
    emb = make_embeddings(30)
    ex = amumo_ng.Explorer(emb)
    readout = ex.wait_readout(timeout=60)
    assert "pending" not in readout
    i_u, t_u = unit(emb.image), unit(emb.text)
    assert readout["distance_before"] == pytest.approx(np.linalg.norm(i_u.mean(0) - t_u.mean(0)), rel=1e-5)


def test_views_of_one_session_share_one_projection_job(monkeypatch):
    import amumo_ng.analysis.projection as projection

    fits = []
    original = projection.project

    def counting(*args, **kwargs):
        fits.append(args[2] if len(args) > 2 else kwargs.get("method"))
        return original(*args, **kwargs)

    monkeypatch.setattr(projection, "project", counting)
    ex = amumo_ng.Explorer(make_embeddings(20))
    sc = Scatter(session=ex.session)
    ex.projection = "joint"  # both views want it
    assert sc.projection == "joint"
    ex.wait_projection(timeout=60)
    sc.wait_projection(timeout=60)
    import time
    for _ in range(100):
        if ex.point_kind == sc.point_kind == "pair":
            break
        time.sleep(0.05)
    assert fits.count("joint") == 1 and ex.points == sc.points and ex.point_kind == "pair"


def test_selected_returns_the_selection_as_a_dataframe():
    emb = make_embeddings(20)
    ex = Explorer(emb)
    ex.selection = [9, 2, 5]
    frame = ex.selected()
    assert frame["index"].tolist() == [2, 5, 9]
    assert frame["caption"].tolist() == [emb.captions[i] for i in (2, 5, 9)]
    assert "id" in frame.columns
    i_u = emb.image / np.linalg.norm(emb.image, axis=1, keepdims=True)
    t_u = emb.text / np.linalg.norm(emb.text, axis=1, keepdims=True)
    expected = [float(i_u[i] @ t_u[i]) for i in (2, 5, 9)]
    assert np.allclose(frame["pair_cosine"].to_numpy(), expected, atol=1e-5)
    ex.selection = []
    assert len(ex.selected()) == 0 and list(ex.selected().columns) == list(frame.columns)


def test_readout_follows_the_filter_and_names_its_pairs():
    emb = make_embeddings(40)
    ex = Explorer(emb)
    assert ex.gap_readout["scope"] == "view" and ex.gap_readout["n"] == 40
    ex.session.filter_pattern = "blue"
    assert ex.gap_readout["n"] == ex.session.k == 10
    ex.session.gap_scope = "all"
    assert ex.gap_readout["scope"] == "all" and ex.gap_readout["n"] == 40


def test_scatter_fits_the_pairs_in_view_and_notes_the_one_pair_case():
    from amumo_ng.widgets.point_layout import scale_to_view

    emb = make_embeddings(40)
    ex = Explorer(emb)
    ex.session.filter_pattern = "number 7"  # only pair 7: its two points fill the view
    idx = ex.session.indices
    proj = ex.session.cached_projection()
    both = np.concatenate([proj.image_xy, proj.text_xy])
    expected, _ = scale_to_view(both, np.concatenate([idx, 40 + idx]))
    assert np.allclose(np.frombuffer(ex.points, np.float32).reshape(-1, 2), expected, atol=1e-6)
    one = Explorer(make_embeddings(1))
    assert one.projection_status == "" and "one pair" in one.projection_note


def test_cancel_projection_returns_to_the_method_on_screen(monkeypatch):
    import threading

    import amumo_ng.analysis.projection as projection

    release = threading.Event()
    real = projection.project

    def slow(image, text, method="pca", **kw):
        if method == "tsne":
            release.wait(30)
        return real(image, text, method, **kw)

    monkeypatch.setattr(projection, "project", slow)
    ex = Explorer(make_embeddings(30))
    ex.session.projection = "tsne"
    assert ex.projection_status.startswith("computing")
    reply, _ = ex.handle_cancel_projection({"type": "cancel_projection", "req": 1})
    release.set()
    assert reply["cancelled"] is True
    assert ex.session.projection == "pca" and ex.projection == "pca"
    assert ex.projection_status == "" and ex.projection_note == "t-SNE cancelled"
    reply, _ = ex.handle_cancel_projection({"type": "cancel_projection", "req": 2})
    assert reply["cancelled"] is False


def test_model_switch_during_an_uncomputed_projection_computes_the_new_models():
    """A model switch fires both 'indices' and 'model': the new model's projection must be
    computed once, not cancelled by the second notification."""
    a, b = make_embeddings(30, model_id="a"), make_embeddings(24, seed=5, model_id="b")
    ex = Explorer({"A": a, "B": b}, projection="joint")
    ex.wait_projection(timeout=60)
    ex.session.model = "B"
    result = ex.wait_projection(timeout=60)
    assert result is not None and "failed" not in ex.projection_status
    assert ex.points_model == "B" and len(np.frombuffer(ex.points, np.float32)) == 2 * 24
    assert ex.n_total == 24
