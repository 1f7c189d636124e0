"""Robustness curves of the augmented set shown: against a direct computation, one line per model."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.session import Session
from amumo_ng.widgets.robustness_figure import RobustnessFigure, session_curves


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    ds = amumo_ng.datasets.load("shapes", n=10, seed=1)
    return ds, {"clip": amumo_ng.embed(ds, "toy-clip", cache_dir=cache, progress=False),
                "cloob": amumo_ng.embed(ds, "toy-cloob", cache_dir=cache, progress=False)}


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_curves_match_a_direct_computation(models):
    ds, embs = models
    s = Session(embs)
    assert session_curves(s) == {}
    s.augment("blur", 4, steps=6)
    curves = session_curves(s)
    assert list(curves) == ["clip", "cloob"]
    for name, (param, c) in curves.items():
        base, aug = embs[name], s.embeddings_of(name)
        assert np.allclose(param, aug.meta["param"].to_numpy())
        assert np.allclose(c.image_cosine, unit(aug.image) @ unit(base.image[4]), atol=1e-6)
        assert np.allclose(c.caption_cosine, unit(aug.image) @ unit(base.text[4]), atol=1e-6)
        # rank among the distinct captions, by a loop
        distinct = {}
        for i, cap in enumerate(base.captions):
            distinct.setdefault(cap, i)
        bank = unit(base.text[list(distinct.values())])
        for step in range(6):
            sims = bank @ unit(aug.image[step])
            true = sims[list(distinct).index(base.captions[4])]
            assert c.caption_rank[step] == int((sims >= true).sum())


def test_figure_has_one_line_per_model_and_panel_and_hover_shows_the_step(models):
    from amumo_ng.widgets import RobustnessFigure as exported

    assert exported is RobustnessFigure
    ds, embs = models
    s = Session(embs)
    fig = RobustnessFigure(s)
    assert len(fig.figure.data) == 0
    s.augment("rotate", 1, steps=5)
    assert len(fig.figure.data) == 2 * 3
    assert {t.name for t in fig.figure.data} == {"clip", "cloob"}
    fig.show_step(3)
    assert fig.image.value[:8] == b"\x89PNG\r\n\x1a\n" and "step 3" in fig.caption.value
    s.restore()
    assert len(fig.figure.data) == 0
