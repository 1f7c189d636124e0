"""The gap of what the user looks at: gap closing, readouts and projections of the pairs in view."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.session import Session
from helpers_widgets import make_embeddings, unit


def brute_readout(image, text, scale):
    """Gap distance and symmetric InfoNCE of pairs, by explicit loops (float64)."""
    i_u, t_u = unit(image), unit(text)
    delta = i_u.mean(0) - t_u.mean(0)

    def sym_loss(a, b):
        logits = scale * a @ b.T

        def ce(l):
            return np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(l)])
        return 0.5 * (ce(logits) + ce(logits.T))

    i_c, t_c = unit(i_u - delta / 2), unit(t_u + delta / 2)
    return {"distance_before": np.linalg.norm(delta), "loss_before": sym_loss(i_u, t_u),
            "distance_after": np.linalg.norm(i_c.mean(0) - t_c.mean(0)), "loss_after": sym_loss(i_c, t_c)}


def test_gap_of_the_pairs_in_view_is_the_default():
    emb = make_embeddings(40)
    s = Session(emb, filter_pattern="red")
    idx = s.indices
    assert 0 < idx.size < 40
    r = s.readouts()
    assert r["scope"] == "view" and r["n"] == idx.size and r["n_total"] == 40
    ref = brute_readout(emb.image[idx], emb.text[idx], 50.0)
    for name, value in ref.items():
        assert r[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    # closing the gap shifts EVERY pair by the view's gap vector
    s.gap_closed = True
    img, txt = s.vectors()
    i_u, t_u = unit(emb.image), unit(emb.text)
    delta_view = unit(emb.image[idx]).mean(0) - unit(emb.text[idx]).mean(0)
    assert np.allclose(img, unit(i_u - delta_view / 2), atol=1e-5)
    assert np.allclose(txt, unit(t_u + delta_view / 2), atol=1e-5)
    delta_all = i_u.mean(0) - t_u.mean(0)
    assert not np.allclose(img, unit(i_u - delta_all / 2), atol=1e-3)  # not the all-pairs gap


def test_gap_of_all_pairs_on_request():
    emb = make_embeddings(40)
    s = Session(emb, filter_pattern="red", gap_scope="all", gap_closed=True)
    r = s.readouts()
    assert r["scope"] == "all" and r["n"] == 40
    ref = brute_readout(emb.image, emb.text, 50.0)
    assert r["distance_before"] == pytest.approx(ref["distance_before"], rel=1e-5)
    img, _ = s.vectors()
    i_u, t_u = unit(emb.image), unit(emb.text)
    assert np.allclose(img, unit(i_u - (i_u.mean(0) - t_u.mean(0)) / 2), atol=1e-5)


def test_view_gap_follows_the_filter_and_is_cached_per_view():
    emb = make_embeddings(40)
    s = Session(emb, gap_closed=True)
    all_view = s.vectors()
    s.filter_pattern = "blue"
    blue = s.vectors()
    assert not np.allclose(all_view[0], blue[0])
    s.filter_pattern = ""
    assert s.vectors()[0] is all_view[0]  # back to the whole set: from the cache
    s.filter_pattern = "no such caption"  # an empty view has no gap of its own: all pairs'
    assert np.allclose(s.vectors()[0], all_view[0])
    assert s.readouts()["n"] == 0


def test_heatmap_tiles_use_the_view_gap():
    emb = make_embeddings(24)
    s = Session(emb, filter_pattern="square", gap_closed=True)
    idx = s.indices
    i_u, t_u = unit(emb.image), unit(emb.text)
    delta = unit(emb.image[idx]).mean(0) - unit(emb.text[idx]).mean(0)
    i_c, t_c = unit(i_u[idx] - delta / 2), unit(t_u[idx] + delta / 2)
    k = s.k
    assert np.allclose(s.tile(0, k, k, 2 * k), i_c @ t_c.T, atol=1e-5)


def test_projection_scope_reprojects_the_pairs_in_view():
    from amumo_ng.analysis.projection import project

    emb = make_embeddings(40)
    s = Session(emb, filter_pattern="green", projection_scope="view")
    idx = s.indices
    proj = s.compute_projection("pca")
    img, txt = s.vectors()
    ref = project(img[idx], txt[idx], "pca")
    assert proj.image_xy.shape == (40, 2)  # laid out for all pairs; only those in view are drawn
    assert np.allclose(proj.image_xy[idx], ref.image_xy, atol=1e-5)
    assert np.allclose(proj.text_xy[idx], ref.text_xy, atol=1e-5)
    assert proj.params["fitted_on"] == idx.size
    s.projection_scope = "all"
    whole = s.compute_projection("pca")
    assert np.allclose(whole.image_xy, project(img, txt, "pca").image_xy, atol=1e-5)


def test_add_model_extends_the_menu_and_refuses_a_taken_name():
    a, b = make_embeddings(10, model_id="a"), make_embeddings(10, seed=2, model_id="b")
    s = Session({"A": a})
    seen = []
    s.observe(lambda ch: seen.append(ch["new"]), names="models")
    s.add_model("B", b)
    assert s.models == ["A", "B"] and seen == [["A", "B"]]
    s.model = "B"
    assert s.embeddings is b
    with pytest.raises(EmbeddingError, match="exists already"):
        s.add_model("A", b)
    with pytest.raises(EmbeddingError):
        s.add_model("C", np.zeros((3, 3)))
