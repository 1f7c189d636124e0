"""The code paths that keep a million pairs interactive, against brute force.

- PCA of [Î; T̂] from one pass of float32 chunk statistics equals an eigen-decomposition of the
  float64 covariance of the stacked rows (up to float32 rounding);
- UMAP / t-SNE above the fit limit: fitted on a seeded sample, the others placed (UMAP transform,
  or the mean of the nearest sample points, checked against an explicit loop);
- the view's vectors in draw order (GatheredRows) slice exactly like ``base[order]``, and the
  heatmap's block means and tiles computed through them equal those of the reordered copy;
- captions packed from Arrow buffers equal the per-string packing.
"""
import numpy as np
import pandas as pd
import pytest

from amumo_ng.analysis import sampled_fit
from amumo_ng.analysis.projection import _pca_2d, project
from amumo_ng.analysis.similarity import block_mean_similarity, level_of_detail_tile, similarity_tile
from amumo_ng.session.row_view import GatheredRows, in_order
from amumo_ng.widgets.base import pack_strings


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def pairs():
    rng = np.random.default_rng(7)
    img = unit(rng.normal(size=(700, 12)) + 1.5).astype(np.float32)
    txt = unit(rng.normal(size=(700, 12)) - 1.5).astype(np.float32)
    return img, txt


def test_chunked_pca_equals_the_float64_eigendecomposition(monkeypatch, pairs):
    import amumo_ng.analysis.projection as projection

    img, txt = pairs
    monkeypatch.setattr(projection, "row_chunks", lambda n, d: [(s, min(n, s + 97)) for s in range(0, n, 97)])
    scores, mean, comps = _pca_2d((img, txt), return_fit=True)
    x = np.vstack([img, txt]).astype(np.float64)
    mu = x.mean(0)
    cov = (x - mu).T @ (x - mu) / (len(x) - 1)
    vals, vecs = np.linalg.eigh(cov)
    top = vecs[:, np.argsort(vals)[::-1][:2]]
    top *= np.sign(top[np.abs(top).argmax(axis=0), np.arange(2)])
    np.testing.assert_allclose(mean, mu, atol=1e-6)
    np.testing.assert_allclose(comps, top, atol=1e-5)
    np.testing.assert_allclose(scores, (x - mu) @ top, atol=1e-5)


def test_neighbour_placement_is_the_weighted_mean_of_the_nearest_sample_points():
    rng = np.random.default_rng(2)
    sample = unit(rng.normal(size=(40, 5))).astype(np.float32)
    sample_xy = rng.normal(size=(40, 2)).astype(np.float32)
    rows = unit(rng.normal(size=(9, 5))).astype(np.float32)
    got = sampled_fit.place_by_neighbours(sample, sample_xy, rows, k=4)
    for i, r in enumerate(rows):  # explicit loop: sort by similarity, weights above the 5th
        sims = sample @ r
        order = np.argsort(-sims)
        w = np.maximum(sims[order[:4]] - sims[order[4]], 0) + 1e-6
        np.testing.assert_allclose(got[i], (w[:, None] * sample_xy[order[:4]]).sum(0) / w.sum(), atol=1e-5)
    # a point equal to a sample point lands on it
    np.testing.assert_allclose(sampled_fit.place_by_neighbours(sample, sample_xy, sample[3:4], k=4)[0],
                               sample_xy[3], atol=1e-3)


def test_tsne_above_the_limit_fits_a_sample_and_places_the_rest(monkeypatch, pairs):
    img, txt = pairs
    fitted = []

    def fake_tsne(x, perplexity, random_state):  # records what was fitted; a stand-in layout
        fitted.append(len(x))
        return np.asarray(x[:, :2] * 10, dtype=np.float32)

    import amumo_ng.analysis.projection as projection

    monkeypatch.setattr(projection, "_tsne", fake_tsne)
    stages = []
    proj = project(img, txt, "tsne", max_fit_points=300, progress=lambda f, s: stages.append(s))
    assert fitted == [300]  # a sample of 300 of the 1,400 points (no duplicates here)
    assert proj.params["fit_points"] == 300 and proj.params["placed_by"] == "neighbour-mean"
    assert any("random sample of 300 of the 1,400" in s for s in stages)
    sample = sampled_fit.sample_points(1400, 300, 0)
    both = np.vstack([proj.image_xy, proj.text_xy])
    rows = np.vstack([img, txt])
    np.testing.assert_allclose(both[sample], rows[sample][:, :2] * 10, atol=1e-5)  # the fit itself
    rest = np.setdiff1d(np.arange(1400), sample)
    np.testing.assert_allclose(both[rest], sampled_fit.place_by_neighbours(rows[sample], both[sample], rows[rest]),
                               atol=1e-5)


def test_umap_above_the_limit_transforms_the_rest(monkeypatch, pairs):
    img, txt = pairs

    class FakeUMAP:
        def fit_transform(self, x):
            self.fitted = len(x)
            return x[:, :2]

        def transform(self, x):
            return -x[:, :2]

    model = FakeUMAP()
    import amumo_ng.analysis.projection as projection

    monkeypatch.setattr(projection, "_umap_model", lambda *a, **k: model)
    proj = project(img, txt, "umap", max_fit_points=500)
    assert model.fitted == 500 and proj.params["placed_by"] == "umap-transform"
    sample = sampled_fit.sample_points(1400, 500, 0)
    rest = np.setdiff1d(np.arange(1400), sample)
    both, rows = np.vstack([proj.image_xy, proj.text_xy]), np.vstack([img, txt])
    np.testing.assert_allclose(both[rest], -rows[rest][:, :2], atol=1e-6)
    np.testing.assert_allclose(both[sample], rows[sample][:, :2], atol=1e-6)


def test_gathered_rows_equal_the_reordered_copy(pairs):
    img, txt = pairs
    order = np.random.default_rng(1).permutation(700)[:500]
    g_img, g_txt = GatheredRows(img, order), GatheredRows(txt, order)
    assert g_img.shape == (500, 12) and g_img.size == 6000
    np.testing.assert_array_equal(g_img[10:20], img[order[10:20]])
    np.testing.assert_array_equal(np.asarray(g_txt), txt[order])
    assert in_order(img, np.arange(700)) is img  # nothing to reorder: the array itself
    c_img, c_txt = img[order], txt[order]
    for unit_rows in (True, False):
        a = block_mean_similarity(g_img, g_txt, 64, unit=unit_rows)
        b = block_mean_similarity(c_img, c_txt, 64)
        np.testing.assert_allclose(a.values, b.values, atol=1e-6)
        np.testing.assert_array_equal(a.edges, b.edges)
    np.testing.assert_allclose(similarity_tile(g_img, g_txt, 490, 520, 3, 9, unit=True),
                               similarity_tile(c_img, c_txt, 490, 520, 3, 9), atol=1e-6)
    np.testing.assert_allclose(level_of_detail_tile(g_img, g_txt, (100, 700), (450, 1000), 32, unit=True).values,
                               level_of_detail_tile(c_img, c_txt, (100, 700), (450, 1000), 32).values, atol=1e-6)


def test_captions_packed_from_arrow_equal_the_string_packing():
    caps = [f"pair {i} · é ✓ {'x' * (i % 5)}" for i in range(300)]
    expected = pack_strings(caps)
    assert pack_strings(pd.Series(caps)) == expected
    assert pack_strings(pd.Series(caps, dtype="string[pyarrow]")) == expected
    sliced = pd.Series(caps, dtype="string[pyarrow]").iloc[17:]
    assert pack_strings(sliced) == pack_strings(caps[17:])
    data, offsets = pack_strings(pd.Series(caps))
    off = np.frombuffer(offsets, np.uint32)
    assert data[off[5]:off[6]].decode() == caps[5]
    assert pack_strings(pd.Series(["a", None, "b"])) == pack_strings(pd.Series(["a", None, "b"]).astype(str).tolist())
