"""Prompt search in the Explorer: hits against a brute-force argsort over the pairs in view, the gap
toggle searches the gap-closed vectors shown, the prompt lands where its vector's point would, and
an empty prompt / a model without encoder give a message and keep what was shown."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from helpers_widgets import make_embeddings, unit


class TableEncoder:
    """Prompts -> fixed vectors (the tests know each prompt's vector exactly)."""

    id = "table-encoder"

    def __init__(self, table):
        self.table = table

    def encode_texts(self, texts):
        return np.stack([self.table[t] for t in texts]).astype(np.float32)

    def encode_images(self, images):
        raise NotImplementedError


def brute_hits(query, rows, pairs, k):
    sims = unit(rows[pairs]) @ unit(query[None, :])[0]
    order = np.lexsort((pairs, -sims))[:k]
    return pairs[order], sims[order]


def hits(ex):
    pairs = np.frombuffer(ex.prompt_hits, np.int32)
    cos = np.frombuffer(ex.prompt_hit_cosines, np.float32)
    k = ex.prompt_result["k_images"]
    return (pairs[:k], cos[:k]), (pairs[k:], cos[k:])


@pytest.fixture()
def explorer():
    emb = make_embeddings(60, 12)
    rng = np.random.default_rng(3)
    table = {"a red star": emb.text[3] + 0.2 * rng.normal(size=12), "caption seven": np.array(emb.text[7])}
    return amumo_ng.Explorer(emb, encoders={"toy": TableEncoder(table)}), emb, table


def test_hits_are_the_brute_force_nearest_among_the_pairs_in_view(explorer):
    ex, emb, table = explorer
    frame = ex.search_prompt("a red star", k=4)
    q = table["a red star"]
    every = np.arange(emb.n)
    (ip, ic), (tp, tc) = hits(ex)
    ref_i, ref_ic = brute_hits(q, emb.image, every, 4)
    ref_t, ref_tc = brute_hits(q, emb.text, every, 4)
    np.testing.assert_array_equal(ip, ref_i)
    np.testing.assert_array_equal(tp, ref_t)
    np.testing.assert_allclose(ic, ref_ic, atol=1e-5)
    np.testing.assert_allclose(tc, ref_tc, atol=1e-5)
    assert list(frame["modality"]) == ["image"] * 4 + ["text"] * 4
    assert list(frame["pair"]) == list(ref_i) + list(ref_t)
    assert frame["caption"][0] == emb.captions[ref_i[0]]
    assert ex.prompt_result["searched"] == 60 and ex.prompt_error == ""
    # a filtered view: only pairs in view are searched (and searched again when the view changes)
    ex.session.filter_pattern = "blue"
    view = ex.session.indices
    (ip, _), (tp, _) = hits(ex)
    np.testing.assert_array_equal(ip, brute_hits(q, emb.image, view, 4)[0])
    np.testing.assert_array_equal(tp, brute_hits(q, emb.text, view, 4)[0])
    assert ex.prompt_result["searched"] == view.size


def test_gap_closed_searches_the_gap_closed_vectors_shown(explorer):
    ex, emb, table = explorer
    ex.session.gap_closed = True
    ex.search_prompt("a red star", k=5)
    img, txt = ex.session.vectors()
    delta = unit(emb.image).mean(axis=0) - unit(emb.text).mean(axis=0)
    q = unit(unit(table["a red star"][None, :]) + delta / 2)[0]  # the prompt shifted like the texts
    every = np.arange(emb.n)
    (ip, ic), (tp, tc) = hits(ex)
    np.testing.assert_array_equal(ip, brute_hits(q, img, every, 5)[0])
    np.testing.assert_allclose(ic, brute_hits(q, img, every, 5)[1], atol=1e-5)
    np.testing.assert_array_equal(tp, brute_hits(q, txt, every, 5)[0])
    assert ex.prompt_result["gap_closed"] is True
    closed = ic.copy()
    ex.session.gap_closed = False  # toggling back searches the open vectors again
    (_, ic_open), _ = hits(ex)
    assert ex.prompt_result["gap_closed"] is False and not np.allclose(ic_open, closed)


def test_the_prompt_is_placed_where_its_vector_is_drawn(explorer):
    ex, emb, _ = explorer
    ex.search_prompt("caption seven", k=3)  # the prompt's vector IS text 7's
    pts = np.frombuffer(ex.points, np.float32).reshape(-1, 2)
    np.testing.assert_allclose(np.frombuffer(ex.prompt_xy, np.float32), pts[emb.n + 7], atol=1e-5)
    (_, _), (tp, tc) = hits(ex)
    assert tp[0] == 7 and abs(tc[0] - 1) < 1e-5
    ex.session.gap_closed = True  # shifted like text 7: still on its point
    pts = np.frombuffer(ex.points, np.float32).reshape(-1, 2)
    np.testing.assert_allclose(np.frombuffer(ex.prompt_xy, np.float32), pts[emb.n + 7], atol=1e-5)


def test_empty_prompt_bad_k_and_no_encoder_keep_what_was_shown(explorer):
    ex, emb, _ = explorer
    ex.search_prompt("a red star", k=3)
    shown = (ex.prompt_hits, ex.prompt_result)
    for bad, match in (("", "empty"), ("   ", "empty")):
        with pytest.raises(ValueError, match=match):
            ex.search_prompt(bad)
        assert (ex.prompt_hits, ex.prompt_result) == shown and "empty" in ex.prompt_error
    with pytest.raises(ValueError, match="k must be"):
        ex.search_prompt("a red star", k=0)
    reply, _ = ex.handle_prompt_search({"type": "prompt_search", "prompt": "a red star", "k": 2, "req": 1})
    assert reply["req"] == 1 and ex.prompt_result["k_images"] == 2 and ex.prompt_error == ""
    ex.handle_prompt_search({"type": "prompt_search", "clear": True})
    assert ex.prompt_hits == b"" and ex.prompt_result == {} and ex.prompt == ""
    plain = amumo_ng.Explorer(emb)  # precomputed arrays, no encoder
    with pytest.raises(ValueError, match="no text encoder"):
        plain.search_prompt("a red star")
    assert "no text encoder" in plain.prompt_error and plain.prompt_hits == b""


def test_tsne_layout_says_it_cannot_place_the_prompt_but_still_lists_hits(explorer):
    from amumo_ng.analysis.projection import Projection

    ex, emb, _ = explorer
    tsne = Projection(np.zeros((60, 2), np.float32), np.ones((60, 2), np.float32), None, "tsne")
    ex.session._cache.put(ex.session.projection_key("tsne"), tsne)
    ex.session.projection = "tsne"
    ex.search_prompt("a red star", k=2)
    assert ex.prompt_xy == b"" and "t-SNE" in ex.prompt_note
    assert ex.prompt_result["k_texts"] == 2


@pytest.mark.slow
def test_toy_clip_prompt_finds_red_circles(tmp_path):
    ds = amumo_ng.datasets.load("shapes", n=200, seed=0)
    emb = amumo_ng.embed(ds, "toy-clip", cache_dir=tmp_path, progress=False)
    ex = amumo_ng.Explorer(emb)
    frame = ex.search_prompt("a red circle", k=5)
    texts = frame[frame.modality == "text"]
    top = list(texts.caption)
    assert "red" in top[0] and "circle" in top[0], top  # the toy model's nearest caption (its top 5 mix in
    assert sum("red" in c or "circle" in c for c in top) >= 4, top  # purple circles, red hearts)
