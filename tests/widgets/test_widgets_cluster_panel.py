"""ClusterPanel and session.meta_columns: the clusters land as a meta column the Explorer colours by,
picking a cluster selects exactly its pairs, scores match the analysis functions, bad input is shown;
reduced vectors join the Explorer as another model."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis import EmbeddingError
from amumo_ng.analysis.clustering import cluster_vectors, clustering_input, clustering_quality
from amumo_ng.analysis.reduction import fit_reduction, reduced_embeddings
from amumo_ng.session import Session
from amumo_ng.session.meta_columns import add_meta_column
from amumo_ng.widgets.cluster_panel import ClusterPanel
from amumo_ng.widgets.color_by import point_colors
from amumo_ng.widgets.explorer import Explorer

from helpers_widgets import WORDS, make_embeddings


def _labelled(n=40):
    emb = make_embeddings(n, d=8, seed=2)
    emb.meta["word"] = [WORDS[i % 4] for i in range(n)]  # the generator's cluster of each pair
    return emb


def test_add_meta_column_replaces_the_models_embeddings_and_bumps_data_version():
    emb = _labelled(12)
    session = Session({"a": emb, "b": make_embeddings(12, d=8, seed=3)})
    version = session.data_version
    labelled = add_meta_column(session, "mine", list("xy") * 6)
    assert session.embeddings is labelled and list(labelled.meta["mine"]) == list("xy") * 6
    assert "mine" not in emb.meta.columns  # the caller's embeddings are left as they were
    assert labelled.image is emb.image  # vectors shared, not copied
    assert session.data_version == version + 1
    add_meta_column(session, "other", range(12), model="b")  # not the current model: no reload
    assert session.data_version == version + 1 and "other" in session.embeddings_of("b").meta
    with pytest.raises(EmbeddingError, match="11 values for the 12 pairs"):
        add_meta_column(session, "mine", range(11))
    with pytest.raises(EmbeddingError, match="id / caption"):
        add_meta_column(session, "caption", range(12))


def test_panel_clusters_colours_the_explorer_and_selects_a_cluster():
    emb = _labelled()
    ex = Explorer({"toy": emb})
    panel = ClusterPanel(ex, method="kmeans", k=4, which="image", truth="word")
    run = panel.run()
    expected = cluster_vectors(clustering_input(emb.image, emb.text, "image"), "kmeans", 4)
    np.testing.assert_array_equal(run.labels, expected.labels)
    quality = clustering_quality(expected.labels, emb.meta["word"])
    assert panel.quality.ari == pytest.approx(quality.ari) and panel.quality.nmi == pytest.approx(quality.nmi)
    assert "ARI" in panel.status.value
    column = "cluster (kmeans, image)"
    assert panel.column == column and ex.color_by == f"meta:{column}"
    assert [f"meta:{column}", column] in ex.color_options
    colors = point_colors(ex.session, ex.color_by, "modality")
    codes = colors.codes[:emb.n]
    # one colour per cluster: pairs share a code exactly when they share a cluster
    for i in range(emb.n):
        for j in range(emb.n):
            assert (codes[i] == codes[j]) == (run.labels[i] == run.labels[j])
    assert len(panel.clusters.options) == 4
    panel.clusters.value = 2  # picking in the list
    assert ex.session.selection == np.flatnonzero(run.labels == 2).tolist()
    assert ex.selection == ex.session.selection
    panel.only.value = True
    assert ex.session.selection_filter and ex.session.k == int((run.labels == 2).sum())
    assert panel.select(None) == [] and ex.session.selection == []


def test_panel_reports_hdbscan_noise_and_bad_input_without_raising():
    rng = np.random.default_rng(0)
    from amumo_ng.store import Embeddings

    emb = Embeddings.from_arrays(rng.uniform(size=(30, 40)), rng.uniform(size=(30, 40)))
    session = Session(emb)
    panel = ClusterPanel(session, method="hdbscan", min_cluster_size=15)
    run = panel.run()
    assert run.k == 0 and "only noise" in panel.status.value
    assert set(session.embeddings.meta["cluster (hdbscan, image)"]) == {"noise"}
    assert panel.clusters.options == (("noise (30 pairs)", -1),)
    panel.method.value = "kmeans"
    panel.k.max = 100
    panel.k.value = 31  # k > n
    panel._run_safely()
    assert "k must be an integer in 1..n = 30" in panel.status.value


def test_reduced_vectors_join_the_explorer_as_a_model():
    emb = _labelled()
    ex = Explorer({"toy": emb})
    fitted = fit_reduction(emb.image, emb.text, 3, "pca")
    ex.session.add_model("toy PCA 3", reduced_embeddings(emb, fitted))
    assert ex.models == ["toy", "toy PCA 3"]
    ex.session.model = "toy PCA 3"
    img, _ = ex.session.vectors()
    assert img.shape == (40, 3) and ex.n_total == 40
