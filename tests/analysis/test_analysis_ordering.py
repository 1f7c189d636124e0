"""Cluster orderings (in-modal and cross-modal, exact and micro-clustered, dendrogram and Amumo's argsort
order), cluster labels and stacked permutations, against scipy references computed here."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import pdist

from amumo_ng.analysis import cross_modal_ordering
from amumo_ng.analysis.cross_modal_ordering import cross_modal_order
from amumo_ng.analysis.ordering import cluster_labels, cluster_order, order_stacked
from amumo_ng.analysis.validation import EmbeddingError

from conftest import brute_cosine


def assert_valid_ordering(ordering, n, max_clusters):
    perm, labels, bounds = ordering.permutation, ordering.labels, ordering.boundaries
    assert perm.dtype == labels.dtype == bounds.dtype == np.int64
    assert sorted(perm.tolist()) == list(range(n))  # a permutation
    assert bounds[0] == 0 and bounds[-1] == n and np.all(np.diff(bounds) > 0)
    assert 1 <= ordering.n_clusters <= max_clusters
    for c in range(ordering.n_clusters):  # cluster c is exactly the block bounds[c]..bounds[c+1]
        block = perm[bounds[c]:bounds[c + 1]]
        assert set(labels[block].tolist()) == {c}
    assert sorted(set(labels.tolist())) == list(range(ordering.n_clusters))


def same_partition(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a[:, None] == a[None, :], b[:, None] == b[None, :])


def blobs(n_per, centers, d=8, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    basis = np.eye(d)[:centers] * 4.0 + 1.0
    rows = [basis[c] + spread * rng.normal(size=d) for c in range(centers) for _ in range(n_per)]
    truth = np.repeat(np.arange(centers), n_per)
    order = rng.permutation(len(rows))
    return np.array(rows)[order].astype(np.float32), truth[order]


def test_amumo_method_reproduces_scipy_on_the_distance_matrix_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 6))
    distance = 1.0 - brute_cosine(x, x)
    tree = linkage(distance, method="complete")  # Amumo passes the square matrix: rows are observations
    expected_labels = fcluster(tree, t=5, criterion="maxclust")
    ordering = cluster_order(x, "amumo", max_clusters=5)
    assert_valid_ordering(ordering, 40, 5)
    assert same_partition(ordering.labels, expected_labels)
    np.testing.assert_array_equal(ordering.permutation, leaves_list(tree))


def test_amumo_argsort_leaf_order_reproduces_amumo_exactly():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 6))
    tree = linkage(1.0 - brute_cosine(x, x), method="complete")
    ids = fcluster(tree, t=5, criterion="maxclust")
    ordering = cluster_order(x, "amumo", max_clusters=5, leaf_order="amumo-argsort")
    assert_valid_ordering(ordering, 60, 5)
    np.testing.assert_array_equal(ordering.permutation, np.argsort(ids))  # Amumo's get_cluster_sorting
    np.testing.assert_array_equal(ordering.labels, ids - 1)  # clusters shown in fcluster-id order
    default = cluster_order(x, "amumo", max_clusters=5)
    assert same_partition(default.labels, ordering.labels)
    assert not np.array_equal(default.permutation, ordering.permutation)


def test_average_method_reproduces_scipy_optimal_ordering():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(35, 5))
    tree = linkage(pdist(x, "cosine"), method="average", optimal_ordering=True)
    ordering = cluster_order(x, "average", max_clusters=4)
    assert_valid_ordering(ordering, 35, 4)
    assert same_partition(ordering.labels, fcluster(tree, t=4, criterion="maxclust"))
    np.testing.assert_array_equal(ordering.permutation, leaves_list(tree))


@pytest.mark.parametrize("method", ["amumo", "average"])
@pytest.mark.parametrize("exact_threshold", [None, 30], ids=["exact", "micro-clusters"])
def test_separated_blobs_are_recovered(method, exact_threshold):
    x, truth = blobs(40, 4)
    ordering = cluster_order(x, method, max_clusters=4, exact_threshold=exact_threshold, n_micro=20)
    assert_valid_ordering(ordering, len(x), 4)
    assert same_partition(ordering.labels, truth)


def test_micro_cluster_members_follow_similarity_to_their_centroid():
    x, _ = blobs(30, 3, spread=0.3, seed=2)
    stages = []
    ordering = cluster_order(x, "amumo", max_clusters=3, exact_threshold=20, n_micro=3,
                             progress=lambda fraction, stage: stages.append((fraction, stage)))
    assert_valid_ordering(ordering, 90, 3)
    assert stages[0][0] == 0.0 and stages[-1] == (1.0, "done")
    assert [f for f, _ in stages] == sorted(f for f, _ in stages)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    for c in range(3):  # with 3 micro-clusters, each cluster is one micro-cluster
        members = ordering.permutation[ordering.boundaries[c]:ordering.boundaries[c + 1]]
        centroid = unit[members].mean(axis=0)
        closeness = unit[members] @ (centroid / np.linalg.norm(centroid))
        assert np.all(np.diff(closeness) <= 1e-6)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(1, 12), method=st.sampled_from(["amumo", "average"]),
       seed=st.integers(0, 1000), threshold=st.sampled_from([None, 10]))
def test_any_input_gives_a_valid_ordering(n, k, method, seed, threshold):
    x = np.random.default_rng(seed).normal(size=(n, 3))
    ordering = cluster_order(x, method, max_clusters=k, exact_threshold=threshold, n_micro=6)
    assert_valid_ordering(ordering, n, k)


def test_duplicate_rows_are_fine():
    x = np.repeat(np.array([[1.0, 0.0], [0.0, 1.0]]), 5, axis=0)
    for threshold in (None, 4):
        assert_valid_ordering(cluster_order(x, "amumo", max_clusters=10, exact_threshold=threshold, n_micro=4), 10, 10)
        ordering = cluster_order(x, "amumo", max_clusters=2, exact_threshold=threshold, n_micro=4)
        assert_valid_ordering(ordering, 10, 2)
        assert same_partition(ordering.labels, [0] * 5 + [1] * 5)


def test_bad_input():
    with pytest.raises(EmbeddingError, match="at least 2"):
        cluster_order(np.ones((1, 3)))
    with pytest.raises(EmbeddingError, match="NaN"):
        cluster_order(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(EmbeddingError, match="all-zero"):
        cluster_order(np.array([[1.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="method"):
        cluster_order(np.eye(3), method="ward")
    with pytest.raises(ValueError, match="max_clusters"):
        cluster_order(np.eye(3), max_clusters=0)
    with pytest.raises(ValueError, match="leaf_order"):
        cluster_order(np.eye(3), leaf_order="leaves")


def test_cluster_labels_pick_distinctive_ngrams():
    captions = [
        "a red circle on a white shape", "the red circle shape", "red circle in the middle", "big red circle",
        "a blue square with a shape", "blue square at the top", "small blue square", "blue square with shape",
    ]
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    names = cluster_labels(captions, labels, top=3)
    assert len(names) == 2
    assert names[0].split(", ")[0] == "red circle"
    assert names[1].split(", ")[0] == "blue square"
    assert names == ["red circle", "blue square"]  # nothing else is both frequent and distinctive
    for name in names:  # "shape" is in both clusters (not distinctive); stop words never appear
        words = " ".join(name.split(", ")).split()
        assert "shape" not in words and "a" not in words and "the" not in words
        assert "red" not in name.split(", ") and "blue" not in name.split(", ")  # covered by the bigram


def test_cluster_labels_single_cluster_and_empty_cluster():
    captions = ["dog park", "dog beach", "cat"]
    assert cluster_labels(captions, [0, 0, 0], top=1) == ["dog"]
    names = cluster_labels(captions, [0, 0, 2], top=2)
    assert names[1] == "" and names[2] == "cat"


def test_cluster_labels_bad_input():
    with pytest.raises(ValueError, match="one id per caption"):
        cluster_labels(["a", "b"], [0])
    with pytest.raises(ValueError, match="non-negative"):
        cluster_labels(["a", "b"], [0, -1])
    with pytest.raises(ValueError, match="top"):
        cluster_labels(["a"], [0], top=0)


def test_order_stacked():
    np.testing.assert_array_equal(order_stacked([2, 0, 1]), [2, 0, 1, 5, 3, 4])
    np.testing.assert_array_equal(order_stacked([2, 0, 1], [0, 2, 1]), [2, 0, 1, 3, 5, 4])
    full = np.arange(36).reshape(6, 6)
    perm = order_stacked([1, 0, 2])
    assert full[np.ix_(perm, perm)][0, 3] == full[1, 4]
    with pytest.raises(ValueError, match="permutation"):
        order_stacked([0, 0, 1])
    with pytest.raises(ValueError, match="differ in length"):
        order_stacked([0, 1], [0, 1, 2])


@pytest.mark.parametrize("fit_rows", [1000, 50], ids=["all-rows", "sampled"])
def test_micro_clusters_assign_each_row_to_its_most_similar_centroid(fit_rows):
    from amumo_ng.analysis.ordering import _micro_clusters

    x, truth = blobs(40, 5, spread=0.5, seed=7)
    unit = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    assignment, centroids, closeness = _micro_clusters(unit, 5, random_state=1, fit_rows=fit_rows)
    np.testing.assert_allclose(closeness, np.einsum("ij,ij->i", unit, centroids[assignment]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-6)
    for i, row in enumerate(unit):
        sims = [float(row @ c) for c in centroids]
        assert sims[assignment[i]] == pytest.approx(max(sims), abs=1e-6)
    if fit_rows >= len(x):  # converged on all rows: each centroid is its members' normalised mean
        for c in np.unique(assignment):
            mean = unit[assignment == c].mean(axis=0)
            np.testing.assert_allclose(centroids[c], mean / np.linalg.norm(mean), atol=1e-5)
    assert same_partition(assignment, truth)


# -- cross-modal orderings -----------------------------------------------------------------
def unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def disagreeing(n_per=10, n_texts=20, seed=0):
    """Images whose in-modal groups (A/B, sign of a large e1 part) differ from their cross-modal groups
    (C/D, sign of a small e2 part): the texts span e0 and e2 only, so they cannot see e1.

    Returns (images [4·n_per, 5], texts [n_texts, 5], A/B labels, C/D labels)."""
    rng = np.random.default_rng(seed)
    ab = np.repeat([0, 0, 1, 1], n_per)
    cd = np.repeat([0, 1, 0, 1], n_per)
    images = np.zeros((ab.size, 5))
    images[:, 0] = 2.0
    images[:, 1] = np.where(ab == 0, 3.0, -3.0)
    images[:, 2] = np.where(cd == 0, 1.0, -1.0)
    images[:, 3:] = 0.05 * rng.normal(size=(ab.size, 2))
    texts = np.zeros((n_texts, 5))
    texts[:, 0] = 1.0 + 0.05 * rng.normal(size=n_texts)
    texts[:, 2] = np.linspace(-2.0, 2.0, n_texts) + 0.05 * rng.normal(size=n_texts)
    order = rng.permutation(ab.size)
    return images[order].astype(np.float32), texts.astype(np.float32), ab[order], cd[order]


@pytest.mark.parametrize("method", ["amumo", "average"])
def test_cross_modal_and_in_modal_structure_can_disagree(method):
    images, texts, ab, cd = disagreeing()
    in_modal = cluster_order(images, method, max_clusters=2)
    cross = cross_modal_order(images, texts, method, max_clusters=2)
    assert_valid_ordering(cross, len(images), 2)
    assert same_partition(in_modal.labels, ab)  # image-image: the large e1 part
    assert same_partition(cross.labels, cd)  # image-text: what the texts see
    assert not same_partition(in_modal.labels, cross.labels)
    # the old "image-text" ordering, the concatenation [I | T] of aligned pairs, keeps the in-modal split
    paired_texts = texts[np.arange(len(images)) % len(texts)]
    concatenated = cluster_order(np.concatenate([unit_rows(images), unit_rows(paired_texts)], axis=1), method, 2)
    assert not same_partition(concatenated.labels, cd)


@pytest.mark.parametrize("n_cols", [25, 4], ids=["more-cols-than-d", "fewer-cols-than-d"])
def test_cross_modal_amumo_equals_scipy_on_the_rows_of_one_minus_the_block(n_cols):
    rng = np.random.default_rng(11)
    images, texts = rng.normal(size=(30, 6)) + 0.5, rng.normal(size=(n_cols, 6)) - 0.5
    for rows, cols in ((images, texts), (texts, images)):  # "image-text" and "text-image"
        block = 1.0 - unit_rows(rows) @ unit_rows(cols).T
        tree = linkage(pdist(block, "euclidean"), "complete")
        ids = fcluster(tree, t=5, criterion="maxclust")
        ordering = cross_modal_order(rows, cols, "amumo", max_clusters=5)
        assert_valid_ordering(ordering, len(rows), 5)
        assert same_partition(ordering.labels, ids)
        np.testing.assert_array_equal(ordering.permutation, leaves_list(tree))
        amumo = cross_modal_order(rows, cols, "amumo", max_clusters=5, leaf_order="amumo-argsort")
        np.testing.assert_array_equal(amumo.permutation, np.argsort(ids))
        np.testing.assert_array_equal(amumo.labels, ids - 1)


def test_cross_modal_average_is_average_linkage_on_cosine_between_profiles():
    rng = np.random.default_rng(12)
    images, texts = rng.normal(size=(28, 5)), rng.normal(size=(40, 5))
    profiles = unit_rows(images) @ unit_rows(texts).T
    tree = linkage(pdist(profiles, "cosine"), "average", optimal_ordering=True)
    ordering = cross_modal_order(images, texts, "average", max_clusters=4)
    assert_valid_ordering(ordering, 28, 4)
    assert same_partition(ordering.labels, fcluster(tree, t=4, criterion="maxclust"))
    np.testing.assert_array_equal(ordering.permutation, leaves_list(tree))


@pytest.mark.parametrize("method", ["amumo", "average"])
def test_cross_modal_micro_clusters_keep_the_cross_modal_partition(method, monkeypatch):
    images, texts, ab, cd = disagreeing(n_per=60, n_texts=30, seed=4)
    distances = cross_modal_ordering._profile_distances
    sizes = []

    def spy(y, m):  # never an n x n matrix above the threshold: only the centroids are linked
        sizes.append(len(y))
        return distances(y, m)

    monkeypatch.setattr(cross_modal_ordering, "_profile_distances", spy)
    stages = []
    ordering = cross_modal_order(images, texts, method, max_clusters=2, exact_threshold=50, n_micro=16,
                                 progress=lambda fraction, stage: stages.append((fraction, stage)))
    assert_valid_ordering(ordering, 240, 2)
    assert same_partition(ordering.labels, cd) and not same_partition(ordering.labels, ab)
    assert sizes and max(sizes) <= 16
    assert stages[-1] == (1.0, "done") and [f for f, _ in stages] == sorted(f for f, _ in stages)
    argsorted = cross_modal_order(images, texts, method, max_clusters=2, exact_threshold=50, n_micro=16,
                                  leaf_order="amumo-argsort")
    assert same_partition(argsorted.labels, cd)
    # Amumo's order of the rows' fcluster ids (those of their micro-clusters, numbered 1..k in display order)
    np.testing.assert_array_equal(argsorted.permutation, np.argsort((argsorted.labels + 1).astype(np.int32)))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 30), m=st.integers(1, 12), k=st.integers(1, 8), method=st.sampled_from(["amumo", "average"]),
       leaf_order=st.sampled_from(["dendrogram", "amumo-argsort"]), threshold=st.sampled_from([None, 8]),
       seed=st.integers(0, 1000))
def test_cross_modal_any_input_gives_a_valid_ordering(n, m, k, method, leaf_order, threshold, seed):
    rng = np.random.default_rng(seed)
    ordering = cross_modal_order(rng.normal(size=(n, 4)), rng.normal(size=(m, 4)), method, max_clusters=k,
                                 leaf_order=leaf_order, exact_threshold=threshold, n_micro=5)
    assert_valid_ordering(ordering, n, k)


def test_cross_modal_bad_input():
    images, texts, _, _ = disagreeing()
    with pytest.raises(EmbeddingError, match="at least 2"):
        cross_modal_order(images[:1], texts)
    with pytest.raises(EmbeddingError, match="dimension"):
        cross_modal_order(images, texts[:, :3])
    with pytest.raises(EmbeddingError, match="NaN"):
        cross_modal_order(images, np.where(np.arange(texts.size).reshape(texts.shape) == 3, np.nan, texts))
    with pytest.raises(EmbeddingError, match="all-zero"):
        cross_modal_order(images, np.zeros_like(texts))
    with pytest.raises(ValueError, match="method"):
        cross_modal_order(images, texts, "ward")
    with pytest.raises(ValueError, match="leaf_order"):
        cross_modal_order(images, texts, leaf_order="dendrogram-reversed")
