"""Same-cluster share of pair lines against loops on hand-built layouts, its chance baseline, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.layout_agreement import (PairAgreement, cluster_layout, pair_label_agreement,
                                                same_cluster_share)
from amumo_ng.analysis.validation import EmbeddingError

CENTRES = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])


def blobs(members, seed=0, spread=0.5):
    """float [len(members), 2]: point i near CENTRES[members[i]] (blobs far apart: k-means recovers them)."""
    rng = np.random.default_rng(seed)
    members = np.asarray(members)
    return CENTRES[members] + spread * rng.normal(size=(members.size, 2))


def brute_share(image_labels, text_labels):
    same = 0
    for a, b in zip(image_labels, text_labels):
        if a == b:
            same += 1
    return same / len(image_labels)


def brute_baseline(image_labels, text_labels):
    """Chance agreement as the mean, over every (image i, text j) combination, of label_i == label_j:
    what the share would be if each text were matched to an image drawn independently."""
    hits = 0
    for a in image_labels:
        for b in text_labels:
            hits += a == b
    return hits / (len(image_labels) * len(text_labels))


def same_partition(labels, truth):
    """The clustering equals the ground truth up to renaming the clusters."""
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth)}
    return len(pairs) == len(set(truth)) == len(set(int(a) for a in labels))


def test_pairs_on_top_of_each_other_all_agree():
    truth = np.repeat([0, 1, 2], [5, 8, 3])
    xy = blobs(truth)
    agreement = same_cluster_share(xy, xy.copy(), 3)
    assert isinstance(agreement, PairAgreement)
    assert agreement.share == 1.0 and agreement.n_pairs == 16 and agreement.n_clusters == 3
    assert same_partition(agreement.image_labels, truth)
    assert agreement.baseline == pytest.approx((5 / 16) ** 2 + (8 / 16) ** 2 + (3 / 16) ** 2)
    assert agreement.baseline == pytest.approx(brute_baseline(agreement.image_labels, agreement.text_labels))
    assert agreement.excess == pytest.approx(1.0)
    assert agreement.same_cluster.all()


def test_texts_moved_into_other_clusters_give_the_known_share():
    image_truth = np.repeat([0, 1, 2], 10)  # 30 pairs, 10 per blob
    text_truth = image_truth.copy()
    text_truth[:4] = 1     # 4 texts of blob 0 land in blob 1
    text_truth[10:13] = 2  # 3 texts of blob 1 land in blob 2
    image_xy, text_xy = blobs(image_truth, seed=1), blobs(text_truth, seed=2)
    agreement = same_cluster_share(image_xy, text_xy, 3, random_state=4)
    assert agreement.share == pytest.approx((30 - 7) / 30)
    assert agreement.share == pytest.approx(brute_share(agreement.image_labels, agreement.text_labels))
    # the clusters are the blobs, and the pairs that disagree are exactly the moved ones
    labels = np.concatenate([agreement.image_labels, agreement.text_labels])
    assert same_partition(labels, np.concatenate([image_truth, text_truth]))
    assert np.flatnonzero(~agreement.same_cluster).tolist() == [0, 1, 2, 3, 10, 11, 12]
    # chance: images 10/10/10 per blob, texts 6/11/13
    assert agreement.baseline == pytest.approx((10 * 6 + 10 * 11 + 10 * 13) / 30 ** 2)
    assert agreement.baseline == pytest.approx(brute_baseline(agreement.image_labels, agreement.text_labels))


def test_every_text_in_another_cluster_scores_zero_below_chance():
    image_truth = np.repeat([0, 1, 2], 6)
    text_truth = (image_truth + 1) % 3
    agreement = same_cluster_share(blobs(image_truth), blobs(text_truth, seed=3), 3)
    assert agreement.share == 0.0
    assert agreement.baseline == pytest.approx(1 / 3)
    assert agreement.excess == pytest.approx(-0.5)  # (0 - 1/3) / (1 - 1/3)


def test_label_agreement_matches_loops_and_cohens_kappa():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(7)
    image_labels = rng.integers(0, 5, 41)
    text_labels = np.where(rng.random(41) < 0.6, image_labels, rng.integers(0, 5, 41))
    agreement = pair_label_agreement(image_labels, text_labels)
    assert agreement.method == "labels" and agreement.n_clusters == int(max(image_labels.max(), text_labels.max())) + 1
    assert agreement.share == pytest.approx(brute_share(image_labels, text_labels))
    assert agreement.baseline == pytest.approx(brute_baseline(image_labels, text_labels))
    assert agreement.excess == pytest.approx(cohen_kappa_score(image_labels, text_labels))


def test_label_agreement_counts_empty_clusters_in_k():
    agreement = pair_label_agreement([0, 0, 1], [0, 1, 1], n_clusters=4)
    assert agreement.n_clusters == 4
    assert agreement.share == pytest.approx(2 / 3)
    assert agreement.baseline == pytest.approx((2 / 3) * (1 / 3) + (1 / 3) * (2 / 3))


def test_single_cluster_of_labels_has_no_excess():
    agreement = pair_label_agreement([0, 0, 0], [0, 0, 0])
    assert agreement.share == 1.0 and agreement.baseline == 1.0
    assert np.isnan(agreement.excess)


def test_seeded_clustering_is_deterministic_and_units_do_not_matter():
    rng = np.random.default_rng(3)
    image_xy, text_xy = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    a = same_cluster_share(image_xy, text_xy, 4, random_state=1)
    b = same_cluster_share(image_xy, text_xy, 4, random_state=1)
    c = same_cluster_share(1000 * image_xy + 7, 1000 * text_xy + 7, 4, random_state=1)
    assert a.share == b.share == c.share
    np.testing.assert_array_equal(a.image_labels, b.image_labels)


def test_cluster_layout_labels_every_point():
    truth = np.repeat([0, 1, 2], 4)
    labels = cluster_layout(blobs(truth), 3)
    assert labels.dtype == np.int64 and labels.shape == (12,)
    assert same_partition(labels, truth)


@pytest.mark.parametrize("make, match", [
    (lambda: same_cluster_share(blobs([0, 1]), blobs([0, 1], seed=1), 5), r"n_clusters=5 is more than the 4 distinct"),
    (lambda: same_cluster_share(np.zeros((3, 2)), np.zeros((3, 2)), 2), r"more than the 1 distinct"),
    (lambda: same_cluster_share([[0.0, np.nan], [1, 1]], [[0, 0], [1, 1]], 2), r"image_xy has NaN or inf.*row 0"),
    (lambda: same_cluster_share([[0, 0], [1, 1]], [[0, 0], [np.inf, 1]], 2), r"text_xy has NaN or inf.*row 1"),
    (lambda: same_cluster_share([[0, 0]], [[1, 1]], 2), r"at least 2 pairs.*got 1"),
    (lambda: same_cluster_share(np.zeros((4, 3)), np.zeros((4, 3)), 2), r"image_xy must be 2-D positions \[n, 2\]"),
    (lambda: same_cluster_share(blobs([0, 1, 2]), blobs([0, 1]), 2), r"one position per pair.*3 and 2"),
    (lambda: same_cluster_share(blobs([0, 1, 2]), blobs([0, 1, 2]), 1), r"at least 2"),
    (lambda: pair_label_agreement([0, 1], [0]), r"one label per pair each"),
    (lambda: pair_label_agreement([], []), r"no pairs"),
    (lambda: pair_label_agreement([0, -1], [0, 0]), r"labels >= 0"),
    (lambda: pair_label_agreement([0.5, 1], [0, 0]), r"integer cluster labels"),
    (lambda: pair_label_agreement([0, 3], [0, 0], n_clusters=2), r"labels must lie in \[0, n_clusters\)"),
])
def test_bad_input_is_named(make, match):
    with pytest.raises(EmbeddingError, match=match):
        make()


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match=r"unknown clustering method 'dbscan'"):
        same_cluster_share(blobs([0, 1, 2]), blobs([0, 1, 2]), 2, method="dbscan")
