"""Outlier rankings (pair cosine, conformity low/high, image−text conformity difference) and precision
at k, against explicit loops over the pairs (O(n²) cosine means for conformity) and hand-made cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng import analysis
from amumo_ng.analysis.outliers import (OUTLIER_RANKINGS, anomaly_precision, best_precision_at_k, outlier_scores,
                                        pair_statistics, precision_at_k, rank_outliers, rank_statistics)
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs


def cos(a, b) -> float:
    a, b = [float(x) for x in a], [float(x) for x in b]
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def brute_conformity(x) -> list[float]:
    n = len(x)
    return [sum(cos(x[j], x[k]) for k in range(n) if k != j) / (n - 1) for j in range(n)]


def brute_scores(image, text, by) -> list[float]:
    """Outlier scores (higher = more outlying) by loops, from the definitions."""
    n = len(image)
    if by == "pair-cosine":
        return [-cos(image[j], text[j]) for j in range(n)]
    ci, ct = brute_conformity(image), brute_conformity(text)
    if by == "image-conformity":
        return [-c for c in ci]
    if by == "text-conformity":
        return [-c for c in ct]
    if by == "text-conformity-high":
        return list(ct)
    return [abs(a - b) for a, b in zip(ci, ct)]


def brute_ranking(scores, candidates=None) -> list[int]:
    candidates = range(len(scores)) if candidates is None else candidates
    return sorted(candidates, key=lambda j: (-scores[j], j))


@pytest.mark.parametrize("by", list(OUTLIER_RANKINGS))
def test_scores_and_full_ranking_equal_the_loops(by):
    image, text = make_pairs(17, 5, seed=4)
    expected = brute_scores(image, text, by)
    got = outlier_scores(image, text, by=by)
    assert got.dtype == np.float32 and got.shape == (17,)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    ranking = rank_outliers(image, text, by=by, k=17)
    assert ranking.indices.tolist() == brute_ranking(expected)
    assert ranking.by == by and ranking.n == 17 and ranking.statistic == OUTLIER_RANKINGS[by][0]
    np.testing.assert_allclose(ranking.scores, [expected[j] for j in ranking.indices], atol=2e-6)
    assert np.all(np.diff(ranking.scores) <= 0)


def test_statistics_and_values_are_the_cosine_and_conformities():
    image, text = make_pairs(9, 4, seed=1)
    stats = pair_statistics(image, text)
    np.testing.assert_allclose(stats["pair_cosine"], [cos(image[j], text[j]) for j in range(9)], atol=2e-6)
    np.testing.assert_allclose(stats["image_conformity"], brute_conformity(image), atol=2e-6)
    np.testing.assert_allclose(stats["text_conformity"], brute_conformity(text), atol=2e-6)
    ci, ct = brute_conformity(image), brute_conformity(text)
    diff = rank_outliers(image, text, by="conformity-difference", k=4)
    np.testing.assert_allclose(diff.values, [ci[j] - ct[j] for j in diff.indices], atol=2e-6)  # signed
    low = rank_outliers(image, text, by="pair-cosine", k=3)
    np.testing.assert_allclose(low.values, [cos(image[j], text[j]) for j in low.indices], atol=2e-6)


def test_hand_checked_three_pairs():
    image = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 5.0]])  # C_i = 0.5, 0.5, 0
    text = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]])   # C_t = 0, 0.5, 0.5; pair cosines 1, 0, 1
    expect = {"pair-cosine": [1, 0, 2], "image-conformity": [2, 0, 1], "text-conformity": [0, 1, 2],
              "text-conformity-high": [1, 2, 0], "conformity-difference": [0, 2, 1]}
    for by, order in expect.items():
        assert rank_outliers(image, text, by=by, k=3).indices.tolist() == order, by
    np.testing.assert_allclose(rank_outliers(image, text, by="conformity-difference", k=3).values, [0.5, -0.5, 0.0])
    np.testing.assert_allclose(outlier_scores(image, text, by="pair-cosine"), [-1.0, 0.0, -1.0], atol=1e-7)


def test_scale_free_and_among_restricts_the_list_not_the_statistics():
    image, text = make_pairs(20, 6, seed=7)
    scale = np.linspace(0.2, 5.0, 20)[:, None]
    for by in OUTLIER_RANKINGS:
        np.testing.assert_allclose(outlier_scores(image * scale, text / scale, by=by), outlier_scores(image, text, by=by),
                                   atol=2e-6)
    among = [3, 5, 8, 13, 19, 2]
    expected = brute_scores(image, text, "image-conformity")  # conformity within all 20 images
    got = rank_outliers(image, text, by="image-conformity", k=4, among=among)
    assert got.indices.tolist() == brute_ranking(expected, sorted(among))[:4]


def test_ranking_precomputed_statistics_needs_no_vectors():
    image, text = make_pairs(12, 4, seed=3)
    stats = pair_statistics(image, text)
    for by in OUTLIER_RANKINGS:
        a, b = rank_statistics(stats, by=by, k=5, among=range(2, 12)), rank_outliers(image, text, by=by, k=5, among=range(2, 12))
        assert a.indices.tolist() == b.indices.tolist() == brute_ranking(brute_scores(image, text, by), range(2, 12))[:5]
    with pytest.raises(EmbeddingError, match="statistics must hold"):
        rank_statistics({"pair_cosine": stats["pair_cosine"]}, k=2)
    with pytest.raises(EmbeddingError, match="statistics must hold"):
        rank_statistics({key: v[:2] for key, v in stats.items()}, k=1)


def test_precision_at_k_by_hand_and_on_a_ranking():
    assert precision_at_k([3, 1, 0, 2], [True, False, False, True], 2) == 0.5
    assert precision_at_k(np.array([3, 0, 1]), np.array([1, 0, 0, 1]), 1) == 1.0
    assert best_precision_at_k([True, False, True, False, False], 4) == 0.5
    assert best_precision_at_k([True] * 6 + [False] * 4, 5) == 1.0
    # a planted mismatch: its pair cosine is the lowest, so it is ranked first
    image, text = make_pairs(30, 6, seed=2)
    text[11] = -image[11]
    flags = np.zeros(30, bool)
    flags[11] = True
    top = rank_outliers(image, text, by="pair-cosine", k=5).indices
    assert top[0] == 11 and precision_at_k(top, flags, 5) == pytest.approx(0.2)


def test_anomaly_precision_equals_counting_the_top_k_by_hand():
    image, text = make_pairs(40, 6, seed=5)
    labels = np.array(["none"] * 40, dtype=object)
    labels[[1, 7, 9, 30]] = "blurred"
    labels[[4, 22]] = "vague_caption"
    table = anomaly_precision(image, text, labels, k=8)
    assert list(table) == list(OUTLIER_RANKINGS) + ["best possible"]
    assert list(table["pair-cosine"]) == ["blurred", "vague_caption"]
    for by in OUTLIER_RANKINGS:
        top = brute_ranking(brute_scores(image, text, by))[:8]
        for kind in ("blurred", "vague_caption"):
            assert table[by][kind] == pytest.approx(sum(labels[j] == kind for j in top) / 8), (by, kind)
    assert table["best possible"] == {"blurred": 4 / 8, "vague_caption": 2 / 8}


def test_lazy_exports():
    assert analysis.rank_outliers is rank_outliers and analysis.precision_at_k is precision_at_k


@pytest.mark.parametrize("case", ["n<3", "zero-image-row", "zero-text-row", "nan", "mismatched-n"])
def test_bad_pairs_are_refused(case):
    image, text = make_pairs(6, 4, seed=0)
    if case == "n<3":
        image, text = image[:2], text[:2]
    elif case == "zero-image-row":
        image[2] = 0.0
    elif case == "zero-text-row":
        text[4] = 0.0
    elif case == "nan":
        text[1, 1] = np.nan
    else:
        text = text[:5]
    for call in (lambda: outlier_scores(image, text), lambda: rank_outliers(image, text, k=2),
                 lambda: pair_statistics(image, text)):
        with pytest.raises(EmbeddingError):
            call()


def test_bad_options_are_refused_with_clear_messages():
    image, text = make_pairs(6, 4, seed=0)
    with pytest.raises(EmbeddingError, match="unknown outlier ranking"):
        outlier_scores(image, text, by="conformity")
    with pytest.raises(EmbeddingError, match="unknown outlier ranking"):
        rank_outliers(image, text, by="nope")
    for k in (0, 7, -1, 2.0, True, "3"):
        with pytest.raises(EmbeddingError, match="k must be an integer from 1 to 6"):
            rank_outliers(image, text, k=k)
    with pytest.raises(EmbeddingError, match="from 1 to 2"):
        rank_outliers(image, text, k=3, among=[0, 4])
    with pytest.raises(EmbeddingError, match=r"\[0, 6\)"):
        rank_outliers(image, text, k=1, among=[0, 6])
    with pytest.raises(EmbeddingError, match="empty"):
        rank_outliers(image, text, k=1, among=[])
    with pytest.raises(EmbeddingError, match="k must be"):
        precision_at_k([0, 1], [True, False, True], 3)
    with pytest.raises(EmbeddingError, match="repeats"):
        precision_at_k([1, 1, 2], [True, False, True], 2)
    with pytest.raises(EmbeddingError, match=r"\[0, 3\)"):
        precision_at_k([5, 1], [True, False, True], 2)
    with pytest.raises(EmbeddingError, match="booleans"):
        precision_at_k([0, 1], [0.5, 1.0, 0.0], 1)
    with pytest.raises(EmbeddingError, match="pair indices"):
        precision_at_k([0.0, 1.0], [True, False], 1)
    with pytest.raises(EmbeddingError, match="one entry per pair"):
        anomaly_precision(image, text, ["none"] * 5, k=2)
    with pytest.raises(EmbeddingError, match="k must be"):
        best_precision_at_k([True, False], 3)
