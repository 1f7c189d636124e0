"""The Explorer's interpolation side: "set as start/end" writes the session's ends, Explorer.strip()
shares the session, and the shown path is drawn where the scatter draws the same vectors' points
(PCA, gap closed, a filtered view), refused with a note for t-SNE and another model's path."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis.projection import Projection
from amumo_ng.session.interpolation import ShownPath
from amumo_ng.widgets.path_overlay import spec_label, text_share
from helpers_widgets import make_embeddings, unit


def points(ex):
    return np.frombuffer(ex.points, np.float32).reshape(-1, 2)


def path_xy(ex):
    return np.frombuffer(ex.path_xy, np.float32).reshape(-1, 2)


def publish(session, vectors, modality="mixed", labels=("caption 0: x", "image 0"), key=None):
    vectors = unit(vectors).astype(np.float32)
    t = np.linspace(0, 1, len(vectors))
    session.path_shown = ShownPath(vectors, t, modality, key or session.data_key(), "lerp", labels)


def test_set_path_end_writes_the_session_and_labels_the_ends():
    emb = make_embeddings(40, 12)
    ex = amumo_ng.Explorer(emb)
    reply, _ = ex.handle_set_path_end({"type": "set_path_end", "which": "start", "modality": "image", "pair": 3, "req": 7})
    assert reply == {"type": "set_path_end", "req": 7, "which": "start", "spec": {"image": 3}}
    ex.handle_set_path_end({"which": "end", "modality": "text", "pair": 5})
    assert ex.session.path_start == {"image": 3} and ex.session.path_end == {"caption": 5}
    assert ex.path_ends == {"start": "image 3", "end": f"caption 5: {emb.captions[5]}"}
    for bad in ({"which": "middle", "modality": "image", "pair": 1}, {"which": "start", "modality": "pair", "pair": 1},
                {"which": "start", "modality": "image", "pair": 40}, {"which": "start", "modality": "image", "pair": True}):
        with pytest.raises(ValueError):
            ex.handle_set_path_end(bad)
    assert ex.session.path_start == {"image": 3}  # a refused request changes nothing
    ex.session.set_path_end("start", {"text": "a red star"})
    assert ex.path_ends["start"] == "“a red star”"


def test_strip_shares_the_session_and_starts_from_the_ends_set():
    emb = make_embeddings(40, 12)
    ex = amumo_ng.Explorer(emb)
    ex.session.set_path_end("start", {"caption": 2})
    ex.session.set_path_end("end", {"image": 9})
    strip = ex.strip(steps=4)
    assert isinstance(strip, amumo_ng.widgets.InterpolationStrip)
    assert strip.session is ex.session and strip.link_group == ex.link_group
    assert strip.start_spec == {"caption": 2} and strip.end_spec == {"image": 9}


def test_path_through_dataset_rows_lands_on_their_points_pca_and_gap_closed():
    emb = make_embeddings(40, 12)
    ex = amumo_ng.Explorer(emb)
    n = emb.n
    publish(ex.session, np.vstack([emb.text[0], emb.image[0], emb.image[7]]), "mixed", ("caption 0: a", "image 7"))
    assert ex.path_info["k"] == 3 and ex.path_note == ""
    xy = path_xy(ex)
    np.testing.assert_allclose(xy[0], points(ex)[n + 0], atol=1e-5)  # text 0
    np.testing.assert_allclose(xy[2], points(ex)[7], atol=1e-5)      # image 7
    seq = ex.path_info["seq"]
    # the gap closed over a filtered view: the layout is refitted and rescaled; the path follows
    ex.session.filter_pattern = "red"
    ex.session.gap_closed = True
    xy = path_xy(ex)
    assert ex.path_info["seq"] > seq
    # text share 1 at t=0 (caption end), 0 at t=1 (image end): the ends are shifted like the rows
    np.testing.assert_allclose(xy[0], points(ex)[n + 0], atol=1e-5)
    np.testing.assert_allclose(xy[2], points(ex)[7], atol=1e-5)


def test_path_in_the_numpy_pca_layout_and_view_scaling():
    emb = make_embeddings(40, 12)
    ex = amumo_ng.Explorer(emb)
    frames = np.random.default_rng(4).normal(size=(5, 12))
    publish(ex.session, frames, "text", ("“a”", "“b”"))
    rows = np.vstack([unit(emb.image), unit(emb.text)])
    mean = rows.mean(axis=0)
    axes = np.linalg.svd(rows - mean, full_matrices=False)[2][:2].T
    raw_rows, raw_path = (rows - mean) @ axes, (unit(frames) - mean) @ axes
    # the scatter scaled its points by one affine map (bounding box, < 200 points): invert it on them
    pts = points(ex).astype(np.float64)
    lo, hi = raw_rows.min(axis=0), raw_rows.max(axis=0)
    signs = np.sign(np.sum((raw_rows - (lo + hi) / 2) * pts, axis=0))
    lo_s, hi_s = (raw_rows * signs).min(axis=0), (raw_rows * signs).max(axis=0)
    factor = 0.95 / (np.max(hi_s - lo_s) / 2)
    np.testing.assert_allclose(pts, (raw_rows * signs - (lo_s + hi_s) / 2) * factor, atol=1e-5)
    np.testing.assert_allclose(path_xy(ex), (raw_path * signs - (lo_s + hi_s) / 2) * factor, atol=1e-5)


def test_tsne_another_models_path_and_clearing_give_notes():
    emb = make_embeddings(40, 12)
    ex = amumo_ng.Explorer({"a": emb, "b": make_embeddings(40, 12, seed=1, model_id="b")})
    publish(ex.session, np.vstack([emb.text[0], emb.text[1]]), "text")
    assert ex.path_info["k"] == 2
    tsne = Projection(np.zeros((40, 2), np.float32), np.ones((40, 2), np.float32), None, "tsne")
    ex.session._cache.put(ex.session.projection_key("tsne"), tsne)
    ex.session.projection = "tsne"
    assert ex.path_xy == b"" and "t-SNE" in ex.path_note and "cannot place" in ex.path_note
    ex.session.projection = "pca"
    assert ex.path_info["k"] == 2 and ex.path_note == ""
    ex.session.model = "b"
    assert ex.path_xy == b"" and "'a'" in ex.path_note
    ex.session.model = "a"
    assert ex.path_info["k"] == 2
    ex.session.path_shown = None
    assert ex.path_xy == b"" and ex.path_note == "" and ex.path_info == {}


def test_text_share_and_labels():
    t = np.linspace(0, 1, 3)
    mk = lambda mod, labels: ShownPath(np.zeros((3, 2)), t, mod, ("m", ""), "slerp", labels)
    np.testing.assert_allclose(text_share(mk("text", ("a", "b"))), [1, 1, 1])
    np.testing.assert_allclose(text_share(mk("image", ("image 1", "image 2"))), [0, 0, 0])
    np.testing.assert_allclose(text_share(mk("mixed", ("image 1", "caption 2: x"))), [0, 0.5, 1])
    np.testing.assert_allclose(text_share(mk("mixed", ("text 'a'", "image 2"))), [1, 0.5, 0])
    assert spec_label({}) == "" and spec_label({"image": 4}) == "image 4"
    assert spec_label({"caption": 1}, ["x" * 80, "short"]) == "caption 1: short"
    assert spec_label({"caption": 0}, ["x" * 80]).endswith("…")
