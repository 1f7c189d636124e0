"""PromptSpace: UMAP (cosine) of caption vectors, transform = the fitted model's transform, the fit
cached on disk by the vectors' digest and the parameters, sampling above max_fit, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.prompt_space import PromptSpace
from amumo_ng.analysis.validation import EmbeddingError, l2_normalize

pytestmark = pytest.mark.slow  # UMAP: numba compiles once per process


def corpus(n=150, d=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 3
    return (centres[np.arange(n) % 3] + rng.normal(size=(n, d))).astype(np.float32)


def test_fit_transform_cache_and_sampling(tmp_path):
    x = corpus()
    new = np.random.default_rng(7).normal(size=(5, x.shape[1]))
    space = PromptSpace(n_epochs=30, max_fit=100, cache_dir=tmp_path).fit(x)
    assert not space.from_cache_ and space.embedding_.shape == (100, 2) and space.embedding_.dtype == np.float32
    assert space.fit_rows_.size == 100 and np.all(np.diff(space.fit_rows_) > 0)  # a seeded sample, in order
    assert space.model_.metric == "cosine"
    placed = space.transform(new)
    # the same fitted model's transform of the same unit rows (UMAP's transform is sensitive to the last bit)
    np.testing.assert_allclose(placed, space.model_.transform(l2_normalize(new)), atol=1e-5)
    # one vector [d]: UMAP optimises a batch together (seeded), so compare with the model on that batch
    np.testing.assert_allclose(space.transform(new[0]), space.model_.transform(l2_normalize(new[:1])), atol=1e-5)
    # a second space with the same parameters loads the fit from disk: the same map, the same placements
    again = PromptSpace(n_epochs=30, max_fit=100, cache_dir=tmp_path).fit(x)
    assert again.from_cache_ and again.key_ == space.key_
    np.testing.assert_array_equal(again.embedding_, space.embedding_)
    np.testing.assert_allclose(again.transform(new), placed, atol=1e-6)
    # other parameters or other vectors: another key
    assert PromptSpace(n_epochs=31, max_fit=100).cache_key(x) != space.key_
    assert PromptSpace(n_epochs=30, max_fit=100).cache_key(x * 1.01 + 0.1) != space.key_
    assert PromptSpace(n_epochs=30, max_fit=100).cache_key(x * 2) == space.key_  # unit rows: scale-free
    # fit_transform: fitted rows from the fit, the others placed
    both = again.fit_transform(x)
    np.testing.assert_array_equal(both[again.fit_rows_], again.embedding_)
    rest = np.setdiff1d(np.arange(len(x)), again.fit_rows_)
    np.testing.assert_allclose(both[rest], again.transform(x[rest]), atol=1e-5)
    # a damaged cache entry is fitted again
    (tmp_path / space.key_ / "model.pkl").write_bytes(b"not a pickle")
    refit = PromptSpace(n_epochs=30, max_fit=100, cache_dir=tmp_path).fit(x)
    assert not refit.from_cache_ and (tmp_path / space.key_ / "model.pkl").stat().st_size > 100


def test_bad_input_is_refused(tmp_path):
    space = PromptSpace(cache_dir=tmp_path)
    with pytest.raises(EmbeddingError, match="not fitted"):
        space.transform(np.ones((1, 4)))
    with pytest.raises(EmbeddingError, match="at least 3"):
        space.fit(np.ones((2, 4)))
    bad = corpus(10, 4)
    bad[3, 1] = np.nan
    with pytest.raises(EmbeddingError, match="NaN"):
        space.fit(bad)
    with pytest.raises(EmbeddingError, match="distinct"):
        space.fit(np.ones((5, 4)))
    with pytest.raises(EmbeddingError, match="max_fit"):
        PromptSpace(max_fit=2)
    fitted = PromptSpace(n_epochs=20, cache_dir=tmp_path).fit(corpus(40, 4))
    with pytest.raises(EmbeddingError, match="4-d"):
        fitted.transform(np.ones((1, 5)))
