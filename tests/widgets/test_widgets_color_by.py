"""Colour-by choices of the scatter: codes per drawn point and legends, against direct computations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amumo_ng.session import Session
from amumo_ng.store import Embeddings
from amumo_ng.widgets.color_by import CATEGORY_COLORS, MAX_CATEGORIES, color_options, point_colors
from amumo_ng.widgets.colormap import quantize
from helpers_widgets import make_embeddings, unit


def with_meta(emb, **columns):
    meta = emb.meta.copy()
    for name, values in columns.items():
        meta[name] = values
    return Embeddings(emb.image, emb.text, meta, logit_scale=emb.logit_scale)


def test_modality_codes_and_the_joint_legend_matches_what_is_drawn():
    s = Session(make_embeddings(10))
    c = point_colors(s, "modality", "modality")
    assert c.codes.tolist() == [0] * 10 + [1] * 10
    assert [label for label, _ in c.legend] == ["image", "text"]
    joint = point_colors(s, "modality", "pair")
    assert joint.codes.shape == (10,) and len(joint.legend) == 1 and "pair" in joint.legend[0][0]


def test_a_categorical_meta_column_gives_one_legend_entry_per_category():
    emb = make_embeddings(12)
    shape = ["circle", "square", "star"] * 4
    s = Session(with_meta(emb, shape=shape))
    assert ["meta:shape", "shape"] in color_options(s.embeddings)
    c = point_colors(s, "meta:shape", "modality")
    assert [label for label, _ in c.legend] == ["circle", "square", "star"]
    expected = [["circle", "square", "star"].index(v) for v in shape]
    assert c.codes.tolist() == expected + expected


def test_many_categories_are_pooled_and_missing_values_have_none():
    emb = make_embeddings(60)
    values = [f"c{i:02d}" for i in range(30)] * 2
    values[0] = None
    s = Session(with_meta(emb, tag=values))
    c = point_colors(s, "meta:tag", "pair")
    assert len(c.legend) == MAX_CATEGORIES and c.legend[-1][0].startswith("other")
    assert c.codes[0] == 255 and c.has_none


def test_a_numeric_column_is_a_ramp_over_its_range():
    emb = make_embeddings(30)
    size = np.linspace(2.0, 9.0, 30)
    s = Session(with_meta(emb, size=size))
    c = point_colors(s, "meta:size", "pair")
    assert c.kind == "numeric" and (c.vmin, c.vmax) == (2.0, 9.0)
    assert np.array_equal(c.codes, quantize(size.astype(np.float32), 2.0, 9.0))


def test_pair_cosine_follows_the_vectors_shown():
    emb = make_embeddings(20)
    s = Session(emb)
    c = point_colors(s, "pair-cosine", "modality")
    cos = np.sum(unit(emb.image) * unit(emb.text), axis=1)
    lo, hi = cos.min(), cos.max()
    assert c.vmin == pytest.approx(lo, abs=1e-6) and c.vmax == pytest.approx(hi, abs=1e-6)
    assert np.array_equal(c.codes[:20], c.codes[20:])
    assert np.abs(c.codes[:20].astype(int) - np.rint((cos - lo) / (hi - lo) * 255)).max() <= 1


def test_cluster_colours_are_the_heatmap_clusters():
    s = Session(make_embeddings(40), cluster=True, filter_pattern="number")
    c = point_colors(s, "cluster", "modality")
    ordering = s.ordering()
    assert len(c.legend) == ordering.n_clusters
    assert c.codes[:40][s.indices].tolist() == ordering.labels.tolist()
    assert c.legend[0][1] == CATEGORY_COLORS[0]
    s.cluster = False
    off = point_colors(s, "cluster", "modality")
    assert off.legend == [] and (off.codes == 255).all() and "turn on" in off.title


def test_unknown_choices_are_refused_with_the_columns():
    s = Session(make_embeddings(5))
    with pytest.raises(ValueError, match="no meta column 'nope'"):
        point_colors(s, "meta:nope", "pair")
    with pytest.raises(ValueError, match="unknown colour-by"):
        point_colors(s, "rainbow", "pair")
