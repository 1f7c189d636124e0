"""PromptSpaceFigure: the corpus is the fitted map of the distinct captions, the prompts and the
session's shown path are that map's transform of their vectors; an empty prompt is refused."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.session.interpolation import ShownPath
from amumo_ng.widgets import PromptSpaceFigure

pytestmark = pytest.mark.slow  # UMAP (numba) compiles once per process


def test_corpus_prompts_and_path_are_placed_by_the_fitted_map(tmp_path):
    emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n=120, seed=0), "toy-clip", cache_dir=tmp_path,
                         progress=False)
    ex = amumo_ng.Explorer(emb)
    fig = PromptSpaceFigure(ex, n_epochs=30).wait()
    space = fig.space
    assert space is not None and space.model_.metric == "cosine"
    distinct = list(dict.fromkeys(emb.captions))
    corpus = fig.figure.data[0]
    assert len(corpus.x) == len(distinct) and list(corpus.hovertext) == distinct
    np.testing.assert_allclose(np.c_[corpus.x, corpus.y], space.embedding_, atol=1e-6)
    fig.add_prompt("a red circle")
    ex.search_prompt("a blue square", k=3)
    vectors = emb.text[:2] / np.linalg.norm(emb.text[:2], axis=1, keepdims=True)
    ex.session.path_shown = ShownPath(vectors.astype(np.float32), np.array([0.0, 1.0]), "text", ex.session.data_key(),
                                      "slerp", ("caption 0", "caption 1"))
    fig.wait()
    prompts = fig.figure.data[1]
    assert list(prompts.text) == ["a red circle", "a blue square"]
    ref = space.transform(emb.encoder.encode_texts(["a red circle", "a blue square"]))
    np.testing.assert_allclose(np.c_[prompts.x, prompts.y], ref, atol=1e-4)
    path = fig.figure.data[2]
    np.testing.assert_allclose(np.c_[path.x, path.y], space.transform(vectors), atol=1e-4)
    assert "2 prompts" in fig.status.value and "path of 2 frames" in fig.status.value
    with pytest.raises(ValueError, match="empty"):
        fig.add_prompt("  ")
    # a second figure of the same corpus loads the fit from the disk cache
    again = PromptSpaceFigure(ex.session, n_epochs=30).wait()
    assert again.space.from_cache_ and "loaded from the cache" in again.status.value
    fig.close()
    again.close()
