"""Conformity in the Explorer without a browser: the outlier list, the heatmap's conformity order and
colour by conformity, against conformities and cosines computed here by explicit loops."""
from __future__ import annotations

import math

import numpy as np
import pytest
import traitlets as t

from amumo_ng.analysis import outliers as outliers_module
from amumo_ng.session import Session
from amumo_ng.widgets import Explorer
from amumo_ng.widgets.color_by import color_options, point_colors
from amumo_ng.widgets.colormap import quantize
from helpers_widgets import make_embeddings


def cos(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(sum(a * b) / (math.sqrt(sum(a * a)) * math.sqrt(sum(b * b))))


def loop_conformity(x) -> np.ndarray:
    n = len(x)
    return np.array([sum(cos(x[j], x[k]) for k in range(n) if k != j) / (n - 1) for j in range(n)])


def loop_ranking(scores, candidates) -> list[int]:
    return sorted(candidates, key=lambda j: (-scores[j], j))


@pytest.fixture(scope="module")
def emb():
    return make_embeddings(40, seed=3)


@pytest.fixture(scope="module")
def truth(emb):
    ci, ct = loop_conformity(emb.image), loop_conformity(emb.text)
    pair = np.array([cos(emb.image[j], emb.text[j]) for j in range(emb.n)])
    return {"image": ci, "text": ct, "pair": pair}


def test_the_list_is_the_loop_ranking_and_a_filter_only_narrows_it(emb, truth):
    ex = Explorer(emb)
    assert ex.outlier_by == "pair-cosine" and ex.outlier_k == 10
    expected = loop_ranking(-truth["pair"], range(40))[:10]
    assert [e["pair"] for e in ex.outlier_entries] == expected
    np.testing.assert_allclose([e["value"] for e in ex.outlier_entries], truth["pair"][expected], atol=2e-6)
    assert ex.outlier_entries[0]["caption"] == emb.captions[expected[0]]
    assert ex.outlier_info["k"] == 10 and ex.outlier_info["ranked"] == 40 and ex.outlier_error == ""
    ex.session.filter_pattern = "square"  # 10 pairs in view; conformity still within all 40
    view = [i for i, c in enumerate(emb.captions) if "square" in c]
    ex.outliers("image-conformity", 4)
    assert [e["pair"] for e in ex.outlier_entries] == loop_ranking(-truth["image"], view)[:4]
    np.testing.assert_allclose([e["value"] for e in ex.outlier_entries], truth["image"][[e["pair"] for e in ex.outlier_entries]], atol=2e-6)
    assert ex.outlier_info["ranked"] == len(view)
    ex.outlier_k = 50  # more than in view: every pair in view, ranked
    assert len(ex.outlier_entries) == len(view)


@pytest.mark.parametrize("by, score", [
    ("text-conformity", lambda tr: -tr["text"]),
    ("text-conformity-high", lambda tr: tr["text"]),
    ("conformity-difference", lambda tr: np.abs(tr["image"] - tr["text"])),
])
def test_every_ranking_from_the_browser_trait(emb, truth, by, score):
    ex = Explorer(emb)
    ex.outlier_by = by  # as the browser's select sets it
    assert [e["pair"] for e in ex.outlier_entries] == loop_ranking(score(truth), range(40))[:10]
    table = ex.outlier_table()
    assert table["pair"].tolist() == [e["pair"] for e in ex.outlier_entries] and table["rank"].tolist()[0] == 1
    np.testing.assert_allclose(table["score"], score(truth)[table["pair"]], atol=2e-6)


def test_the_gap_toggle_changes_nothing_and_the_statistics_are_computed_once_per_data(emb, monkeypatch):
    calls = []
    real = outliers_module.pair_statistics
    monkeypatch.setattr(outliers_module, "pair_statistics", lambda i, x: calls.append(1) or real(i, x))
    other = make_embeddings(40, seed=9, model_id="other")
    ex = Explorer({"a": emb, "b": other}, color_by="image-conformity")
    ex.color_by = "image-conformity"
    before = list(ex.outlier_entries)
    colours = ex.point_colors
    ex.session.gap_closed = True
    ex.session.filter_pattern = "red"
    ex.session.filter_pattern = ""
    ex.session.order_by = "text-conformity"
    assert ex.outlier_entries == before and ex.point_colors == colours
    assert len(calls) == 1
    ex.session.model = "b"
    assert len(calls) == 2 and ex.outlier_info["model"] == "b"
    ex.session.model = "a"  # cached
    assert len(calls) == 2 and ex.outlier_entries == before


def test_order_by_conformity_sorts_the_view_lowest_first(emb, truth):
    s = Session(emb)
    assert s.order_by == "none" and s.order.tolist() == list(range(40))
    s.order_by = "image-conformity"
    assert s.order.tolist() == sorted(range(40), key=lambda j: (truth["image"][j], j))
    s.order_by = "conformity-difference"
    diff = truth["image"] - truth["text"]
    assert s.order.tolist() == sorted(range(40), key=lambda j: (diff[j], j))
    s.filter_pattern = "circle"
    view = [i for i, c in enumerate(emb.captions) if "circle" in c]
    assert s.order.tolist() == sorted(view, key=lambda j: (diff[j], j))
    s.order_by = "none"
    assert s.order.tolist() == view


def test_with_clustering_the_clusters_stay_and_their_members_are_sorted(emb, truth):
    s = Session(emb, cluster=True)
    clustered = s.order.tolist()
    bounds = np.asarray(s.ordering().boundaries)
    s.order_by = "text-conformity"
    ordered = s.order.tolist()
    assert np.array_equal(np.asarray(s.ordering().boundaries), bounds)
    for a, b in zip(bounds[:-1], bounds[1:]):
        members = clustered[a:b]
        assert ordered[a:b] == sorted(members, key=lambda j: (truth["text"][j], j))


def test_the_explorer_sends_the_conformity_order_and_links_the_control(emb, truth):
    ex = Explorer(emb, order_by="text-conformity")
    assert ex.session.order_by == "text-conformity"
    assert np.frombuffer(ex.order, np.int32).tolist() == sorted(range(40), key=lambda j: (truth["text"][j], j))
    assert ["image-conformity", "image conformity ↑"] in ex.order_options
    ex.order_by = "none"  # the browser's select
    assert ex.session.order_by == "none" and np.frombuffer(ex.order, np.int32).tolist() == list(range(40))
    with pytest.raises(t.TraitError):
        ex.session.order_by = "sideways"


def test_colour_by_conformity_is_the_quantized_loop_values(emb, truth):
    s = Session(emb)
    values = [v for v, _ in color_options(emb)]
    assert {"image-conformity", "text-conformity", "conformity-difference"} <= set(values)
    for option, expected in (("image-conformity", truth["image"]), ("text-conformity", truth["text"]),
                             ("conformity-difference", truth["image"] - truth["text"])):
        c = point_colors(s, option, "modality")
        assert c.kind == "numeric" and c.codes.shape == (80,)
        # fewer than 100 pairs: the ramp spans min..max
        assert c.vmin == pytest.approx(expected.min(), abs=2e-6) and c.vmax == pytest.approx(expected.max(), abs=2e-6)
        codes = quantize(expected.astype(np.float32), c.vmin, c.vmax)
        assert np.abs(c.codes[:40].astype(int) - codes).max() <= 1 and np.array_equal(c.codes[:40], c.codes[40:])
        assert point_colors(s, option, "pair").codes.shape == (40,)
    s.gap_closed = True  # raw conformity: the colours do not move
    np.testing.assert_array_equal(point_colors(s, "image-conformity", "pair").codes,
                                  point_colors(Session(emb), "image-conformity", "pair").codes)


def test_two_pairs_have_no_conformity_and_say_so():
    tiny = make_embeddings(2)
    ex = Explorer(tiny, order_by="image-conformity")
    assert ex.outlier_entries == [] and "at least 3" in ex.outlier_error
    assert np.frombuffer(ex.order, np.int32).tolist() == [0, 1]  # nothing to sort by
    assert "image-conformity" not in [v for v, _ in ex.color_options]
    ex.color_by = "image-conformity"  # from Python: modality colours and a message
    assert "cannot colour by image-conformity" in ex.color_error and ex.color_kind == "categorical"
    with pytest.raises(ValueError, match="at least 3"):
        ex.outliers()


def test_the_menu_offers_every_ranking_in_order():
    from amumo_ng.analysis.outliers import OUTLIER_RANKINGS

    ex = Explorer(make_embeddings(12))
    assert [v for v, _ in ex.outlier_options] == list(OUTLIER_RANKINGS)
    assert ex.outlier_info["description"] == OUTLIER_RANKINGS["pair-cosine"][1]


def test_bad_choices_are_refused():
    ex = Explorer(make_embeddings(12))
    with pytest.raises(ValueError, match="unknown outlier ranking"):
        ex.outliers("nope")
    with pytest.raises(ValueError, match="k must be an integer from 1 to 50"):
        ex.outliers(k=0)
    with pytest.raises(t.TraitError):
        ex.outlier_k = 51
    ex.outlier_by = "nope"  # a bad value from the browser: no list, a message
    assert ex.outlier_entries == [] and "unknown outlier ranking" in ex.outlier_error
    ex.outlier_by = "pair-cosine"
    assert len(ex.outlier_entries) == 10 and ex.outlier_error == ""
    ex.session.filter_pattern = "no such caption"
    assert ex.outlier_entries == [] and "no pairs in view" in ex.outlier_error
