"""Sep per feature and the two-feature linear SVM against loops and hand-made separable data."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng.analysis import separability
from amumo_ng.analysis.separability import feature_separability, separating_svm
from amumo_ng.analysis.validation import EmbeddingError

from conftest import make_pairs


def brute_sep(image, text):
    """Sep(l) = |m_i - m_t| / sqrt(var_i + var_t) (ddof=1) by explicit loops."""
    out = []
    for l in range(image.shape[1]):
        a = [float(v) for v in image[:, l]]
        b = [float(v) for v in text[:, l]]
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        va = sum((v - ma) ** 2 for v in a) / (len(a) - 1)
        vb = sum((v - mb) ** 2 for v in b) / (len(b) - 1)
        out.append(abs(ma - mb) / math.sqrt(va + vb))
    return np.array(out)


def test_sep_matches_loops_with_unequal_counts(monkeypatch):
    image, _ = make_pairs(23, 7, seed=1)
    _, text = make_pairs(17, 7, seed=2)
    monkeypatch.setattr(separability, "_CHUNK_ROWS", 5)
    sep = feature_separability(image, text)
    expected = brute_sep(image, text)
    np.testing.assert_allclose(sep.sep, expected, rtol=1e-6)
    assert list(sep.order) == sorted(range(7), key=lambda l: (-expected[l], l))
    assert list(sep.top(3)) == list(sep.order[:3])
    np.testing.assert_allclose(sep.image_std, image.std(axis=0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(sep.offset_ratio("text"), np.abs(text.mean(axis=0)) / text.std(axis=0, ddof=1), rtol=1e-5)
    # the shifted feature 0 (the conftest gap) separates best
    assert sep.order[0] == 0


def test_a_feature_constant_in_both_modalities_is_undefined_not_ranked():
    image, text = make_pairs(10, 4, seed=0)
    image[:, 2] = 1.0
    text[:, 2] = 3.0
    sep = feature_separability(image, text)
    assert list(sep.undefined) == [2] and np.isnan(sep.sep[2]) and 2 not in sep.order
    # one modality constant in a feature is fine: the other's variance is the denominator
    text[:, 2] = np.arange(10)
    assert np.isfinite(feature_separability(image, text).sep[2])


def two_blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(n, 5))
    text = rng.normal(size=(n, 5))
    image[:, 3] += 6.0   # feature 3 and 1 separate the modalities
    image[:, 1] -= 4.0
    return image.astype(np.float32), text.astype(np.float32)


def test_svm_on_the_two_most_separating_features_separates_two_blobs():
    image, text = two_blobs()
    line = separating_svm(image, text)
    assert line.features == (3, 1)
    assert line.accuracy == 1.0 and line.image_accuracy == 1.0 and line.text_accuracy == 1.0
    # the decision is positive on the image side, and line_y lies on the line
    assert np.all(line.decision(image[:, [3, 1]]) > 0) and np.all(line.decision(text[:, [3, 1]]) < 0)
    xs = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(line.decision(np.c_[xs, line.line_y(xs)]), 0.0, atol=1e-9)


def test_svm_line_in_raw_units_agrees_with_scikit_learn_on_standardised_features():
    from sklearn.svm import LinearSVC

    image, text = make_pairs(40, 4, seed=5, offset=0.8)
    line = separating_svm(image, text, features=(0, 2))
    xy = np.concatenate([image[:, [0, 2]], text[:, [0, 2]]]).astype(np.float64)
    labels = np.r_[np.ones(40), np.zeros(40)]
    z = (xy - xy.mean(axis=0)) / xy.std(axis=0)
    svm = LinearSVC(C=1.0, max_iter=10000, dual="auto").fit(z, labels)
    assert np.array_equal(line.decision(xy) > 0, svm.decision_function(z) > 0)
    assert line.accuracy == pytest.approx(float((svm.predict(z) == labels).mean()))


def test_bad_input():
    image, text = two_blobs()
    with pytest.raises(EmbeddingError, match="at least 2"):
        feature_separability(image[:1], text)
    with pytest.raises(EmbeddingError, match="both modalities are constant"):
        feature_separability(np.ones((4, 3)), np.ones((5, 3)))
    with pytest.raises(EmbeddingError, match="two distinct indices"):
        separating_svm(image, text, features=(1, 1))
    with pytest.raises(EmbeddingError, match="two distinct indices"):
        separating_svm(image, text, features=(0, 9))
    flat_i, flat_t = image.copy(), text.copy()
    flat_i[:, :2] = 2.0
    flat_t[:, :2] = 2.0
    with pytest.raises(EmbeddingError, match="constant over both"):
        separating_svm(flat_i, flat_t, features=(0, 1))
    with pytest.raises(EmbeddingError, match="positive integer"):
        feature_separability(image, text).top(0)
    with pytest.raises(EmbeddingError, match="dimension"):
        feature_separability(image, text[:, :3])
