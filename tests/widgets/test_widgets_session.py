"""Session state: filter, selection, models, gap-closed vectors, orderings, readouts."""
from __future__ import annotations

import numpy as np
import pytest
import traitlets

from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.session import Session
from helpers_widgets import brute_stacked, make_embeddings, unit


def test_filter_substring_and_regex_change_the_pairs_in_view():
    emb = make_embeddings(40)
    s = Session(emb)
    assert s.k == 40 and np.array_equal(s.indices, np.arange(40))
    s.filter_pattern = "RED"  # case-insensitive substring
    expected = [i for i, c in enumerate(emb.captions) if "red" in c.lower()]
    assert s.indices.tolist() == expected and s.k == 20
    s.filter_regex = True
    s.filter_pattern = r"number (1|2)$"
    assert s.indices.tolist() == [1, 2]
    assert s.filter_error == ""


def test_bad_regex_keeps_last_view_and_reports_message():
    s = Session(make_embeddings(12))
    s.filter_pattern = "circle"
    before = s.indices.copy()
    s.filter_regex = True
    s.filter_pattern = "circle("
    assert "circle(" in s.filter_error or "unterminated" in s.filter_error
    assert np.array_equal(s.indices, before)  # nothing lost
    s.filter_pattern = "circle"
    assert s.filter_error == ""


def test_empty_filter_result_is_an_empty_view_not_an_error():
    s = Session(make_embeddings(12))
    s.filter_pattern = "no caption has this"
    assert s.k == 0 and s.order.size == 0 and s.filter_error == ""
    assert s.ordering() is None


def test_selection_validated_sorted_and_filters_heatmap_on_request():
    s = Session(make_embeddings(20))
    s.selection = [7, 3, 3, 12]
    assert s.selection == [3, 7, 12]
    assert s.k == 20  # selection alone does not filter
    s.selection_filter = True
    assert s.indices.tolist() == [3, 7, 12]
    s.filter_pattern = "red"  # filter and selection combine: the red pairs among the selected
    reds = {i for i, c in enumerate(s.embeddings.captions) if "red" in c}
    assert s.indices.tolist() == sorted(reds & {3, 7, 12})
    with pytest.raises(traitlets.TraitError):
        s.selection = [25]


def test_models_switch_and_unknown_model():
    a, b = make_embeddings(10, model_id="a"), make_embeddings(6, seed=1, model_id="b")
    s = Session({"A": a, "B": b})
    assert s.models == ["A", "B"] and s.model == "A"
    s.selection = [8]
    s.model = "B"
    assert s.n_total == 6 and s.k == 6 and s.selection == []  # index 8 means nothing for B
    with pytest.raises(traitlets.TraitError):
        s.model = "C"


def test_bad_constructor_input():
    with pytest.raises(EmbeddingError):
        Session({})
    with pytest.raises(EmbeddingError):
        Session({"x": np.zeros((3, 3))})
    with pytest.raises(EmbeddingError):
        Session([1, 2, 3])


def test_gap_closed_vectors_match_amumo_formula():
    emb = make_embeddings(30)
    s = Session(emb)
    i_u, t_u = unit(emb.image), unit(emb.text)
    delta = i_u.mean(0) - t_u.mean(0)
    img, txt = s.vectors()
    assert np.allclose(img, i_u, atol=1e-6) and np.allclose(txt, t_u, atol=1e-6)
    s.gap_closed = True
    img_c, txt_c = s.vectors()
    assert np.allclose(img_c, unit(i_u - delta / 2), atol=1e-5)
    assert np.allclose(txt_c, unit(t_u + delta / 2), atol=1e-5)


def test_readouts_match_an_independent_computation():
    emb = make_embeddings(60)
    r = Session(emb).readouts()
    i_u, t_u = unit(emb.image), unit(emb.text)
    delta = i_u.mean(0) - t_u.mean(0)
    assert r["distance_before"] == pytest.approx(np.linalg.norm(delta), rel=1e-5)
    i_c, t_c = unit(i_u - delta / 2), unit(t_u + delta / 2)
    assert r["distance_after"] == pytest.approx(np.linalg.norm(i_c.mean(0) - t_c.mean(0)), rel=1e-4, abs=1e-6)
    assert r["distance_after"] < r["distance_before"]

    def sym_loss(a, b, s):
        logits = s * a @ b.T
        def ce(l):
            return np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(l)])
        return 0.5 * (ce(logits) + ce(logits.T))

    assert r["loss_before"] == pytest.approx(sym_loss(i_u, t_u, 50.0), rel=1e-5)
    assert r["loss_after"] == pytest.approx(sym_loss(i_c, t_c, 50.0), rel=1e-4)
    # compat: batches of 50 with the remainder dropped, image->text counted twice
    ce_it = np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(50.0 * i_u[:50] @ t_u[:50].T)])
    assert r["loss_compat_before"] == pytest.approx(ce_it, rel=1e-5)


def test_clustered_order_is_a_permutation_of_the_view_with_contiguous_clusters():
    emb = make_embeddings(40)
    s = Session(emb, filter_pattern="number")  # all 40
    s.cluster = True
    order = s.order
    assert sorted(order.tolist()) == list(range(40))
    ordering = s.ordering()
    labels = np.asarray(ordering.labels)[np.asarray(ordering.permutation)]
    # labels along the draw order change only at the boundaries
    changes = np.flatnonzero(np.diff(labels)) + 1
    assert set(changes.tolist()) <= set(np.asarray(ordering.boundaries).tolist())
    # the 4 planted clusters are recovered: each drawn cluster holds one caption kind
    for a, b in zip(ordering.boundaries[:-1], ordering.boundaries[1:]):
        kinds = {emb.captions[i].split(" number")[0] for i in order[a:b]}
        assert len(kinds) == 1
    s.cluster_quadrant = "text-text"
    assert sorted(s.order.tolist()) == list(range(40))
    s.cluster = False
    assert s.order.tolist() == list(range(40))


def test_tile_is_exact_against_brute_force_in_draw_order():
    emb = make_embeddings(16)
    s = Session(emb, filter_pattern="red")  # a subset (red circles and red stars)
    s.cluster = True
    order = s.order
    full = brute_stacked(emb.image[order], emb.text[order])
    k = s.k
    tile = s.tile(1, k + 2, k - 1, 2 * k)
    assert tile.dtype == np.float32 and tile.shape == (k + 1, k + 1)
    assert np.allclose(tile, full[1:k + 2, k - 1:2 * k], atol=1e-5)
    assert s.item(0) == ("image", int(order[0]))
    assert s.item(k + 1) == ("text", int(order[1]))
    with pytest.raises(ValueError):
        s.tile(0, 2 * k + 1, 0, 1)


def test_one_pair_dataset():
    emb = make_embeddings(1)
    s = Session(emb)
    assert s.k == 1
    assert np.allclose(s.tile(0, 2, 0, 2), brute_stacked(emb.image, emb.text), atol=1e-5)
    r = s.readouts()
    assert r["n"] == 1 and np.isnan(r["loss_compat_before"])  # no whole batch of 50
    s.cluster = True
    assert s.ordering() is None and s.order.tolist() == [0]


def test_derived_data_is_cached_by_parameters(monkeypatch):
    import amumo_ng.analysis.similarity as sim

    calls = []
    original = sim.block_mean_similarity

    def counting(*a, **kw):
        calls.append(1)
        return original(*a, **kw)

    monkeypatch.setattr(sim, "block_mean_similarity", counting)
    s = Session(make_embeddings(30))
    s.level_of_detail(16)
    s.gap_closed = True
    s.level_of_detail(16)
    s.gap_closed = False
    s.level_of_detail(16)  # back to the first state: cached
    assert len(calls) == 2


def test_bad_regex_keeps_the_last_valid_filter_while_the_selection_changes():
    s = Session(make_embeddings(20), selection_filter=True)
    s.filter_pattern = "red"
    reds = [i for i, c in enumerate(s.embeddings.captions) if "red" in c]
    s.filter_regex = True
    s.filter_pattern = "red("
    assert s.filter_error
    s.selection = reds[:3] + [1]  # 1 is not red: the kept filter still applies
    assert s.indices.tolist() == reds[:3]
    s.selection_filter = False
    assert s.indices.tolist() == reds


@pytest.mark.timeout(60)
def test_projection_job_that_finishes_at_once_reports_without_deadlock(monkeypatch):
    """A job already done when the session attaches its callback (fast PCA) must still reach
    every waiting view, and later views get the cached result."""
    from concurrent.futures import Future

    import amumo_ng.analysis.projection as projection

    class InstantJob:
        def __init__(self, image, text, method="pca", on_progress=None, **kw):
            self.future = Future()
            self.future.set_result(projection.project(image, text, method))

        def done(self):
            return True

        def result(self, timeout=None):
            return self.future.result(timeout)

        def cancel(self):
            pass

        def add_done_callback(self, fn):
            self.future.add_done_callback(lambda _f: fn(self))

    monkeypatch.setattr(projection, "ProjectionJob", InstantJob)
    s = Session(make_embeddings(12))
    got = []
    ticket = s.start_projection("tsne", on_done=got.append)
    assert ticket is not None and len(got) == 1 and got[0].method == "tsne"
    again = []
    assert s.start_projection("tsne", on_done=again.append) is None  # cached now
    assert again == got


def test_cross_modal_quadrants_cluster_the_rows_of_the_cross_modal_block():
    """'image-text' clusters each image by its similarities to all texts in view (Amumo), not the
    concatenated pair vectors: compare with scipy on the rows of 1 - Î·T̂ᵀ."""
    from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
    from scipy.spatial.distance import pdist
    from sklearn.metrics import adjusted_rand_score

    emb = make_embeddings(30, seed=4)
    s = Session(emb, cluster=True, cluster_quadrant="image-text")
    i_u, t_u = unit(emb.image), unit(emb.text)
    for quadrant, rows, cols in (("image-text", i_u, t_u), ("text-image", t_u, i_u)):
        s.cluster_quadrant = quadrant
        tree = linkage(pdist(1.0 - rows @ cols.T, "euclidean"), "complete")
        ref = fcluster(tree, t=10, criterion="maxclust")
        ordering = s.ordering()
        assert adjusted_rand_score(ref, ordering.labels) == pytest.approx(1.0)
        # dendrogram leaves, made contiguous per cluster: the leaf order restricted to each cluster
        leaves = leaves_list(tree)
        for a, b in zip(ordering.boundaries[:-1], ordering.boundaries[1:]):
            members = ordering.permutation[a:b]
            assert members.tolist() == [i for i in leaves if i in set(members.tolist())]
    s.cluster_leaf_order = "amumo-argsort"
    s.cluster_quadrant = "image-text"
    ref = fcluster(linkage(pdist(1.0 - i_u @ t_u.T, "euclidean"), "complete"), t=10, criterion="maxclust")
    assert adjusted_rand_score(ref, s.ordering().labels) == pytest.approx(1.0)
