"""analysis.neural_mds: the stresses against formulas written out here, the isotonic disparities
against a pool-adjacent-violators loop, training lowers the stress, seeded runs repeat."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from amumo_ng.analysis import EmbeddingError
from amumo_ng.analysis.neural_mds import (cosine_distances, fit_neural_mds, isometric_stress,
                                          isotonic_disparities, isotonic_stress)

from conftest import make_pairs


def _pav(y):
    """Least-squares non-decreasing fit of y by pool-adjacent-violators, written as a plain loop."""
    blocks = []  # [sum, count]
    for value in y:
        blocks.append([float(value), 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    return np.concatenate([[s / c] * c for s, c in blocks])


def _pairs_of(matrix):
    b = matrix.shape[0]
    return np.array([matrix[i, j] for i in range(b) for j in range(i + 1, b)])


def test_cosine_distances_are_one_minus_cosine():
    z = torch.tensor(np.random.default_rng(0).normal(size=(5, 3)))
    d = cosine_distances(z).numpy()
    zn = z.numpy() / np.linalg.norm(z.numpy(), axis=1, keepdims=True)
    for i in range(5):
        for j in range(5):
            assert d[i, j] == pytest.approx(1 - zn[i] @ zn[j], abs=1e-9)


def test_isometric_stress_formula():
    rng = np.random.default_rng(1)
    d_in, d_out = rng.uniform(0, 2, (6, 6)), rng.uniform(0, 2, (6, 6))
    a, b = _pairs_of(d_in), _pairs_of(d_out)
    expected = np.sum((b - a) ** 2) / np.sum(a ** 2)
    assert float(isometric_stress(torch.tensor(d_in), torch.tensor(d_out))) == pytest.approx(expected)
    assert float(isometric_stress(torch.tensor(d_in), torch.tensor(d_in))) == 0.0


def test_isotonic_disparities_equal_a_pav_loop_in_the_order_of_the_input_distances():
    rng = np.random.default_rng(2)
    d_in, d_out = rng.uniform(0, 2, 40), rng.uniform(0, 2, 40)
    order = np.argsort(d_in, kind="stable")
    expected = np.empty(40)
    expected[order] = _pav(d_out[order])
    np.testing.assert_allclose(isotonic_disparities(d_in, d_out), expected, atol=1e-12)
    assert np.all(np.diff(isotonic_disparities(d_in, d_out)[order]) >= -1e-12)


def test_isotonic_stress_is_kruskal_stress_and_zero_for_a_monotone_map():
    rng = np.random.default_rng(3)
    d_in = rng.uniform(0, 2, (7, 7))
    d_in = (d_in + d_in.T) / 2
    monotone = d_in ** 3 + 0.1  # keeps the rank order, changes every value
    assert float(isotonic_stress(torch.tensor(d_in), torch.tensor(monotone))) == pytest.approx(0.0, abs=1e-12)
    d_out = rng.uniform(0, 2, (7, 7))
    a, b = _pairs_of(d_in), _pairs_of(d_out)
    order = np.argsort(a, kind="stable")
    hat = np.empty_like(b)
    hat[order] = _pav(b[order])
    expected = np.sum((b - hat) ** 2) / np.sum(b ** 2)
    assert float(isotonic_stress(torch.tensor(d_in), torch.tensor(d_out))) == pytest.approx(expected)
    # only the rank of d_in matters
    assert float(isotonic_stress(torch.tensor(np.exp(d_in)), torch.tensor(d_out))) == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["isometric", "isotonic"])
def test_training_lowers_the_stress_and_a_seed_repeats(kind):
    image, text = make_pairs(48, 8, seed=4)
    fitted = fit_neural_mds(image, text, 3, kind, hidden=32, epochs=12, batch_size=32, lr=3e-3, seed=1)
    assert fitted.losses.shape == (12,) and fitted.losses[-1] < fitted.losses[0]
    assert fitted.method == f"nmds-{kind}"
    again = fit_neural_mds(image, text, 3, kind, hidden=32, epochs=12, batch_size=32, lr=3e-3, seed=1)
    np.testing.assert_array_equal(fitted.transform(image), again.transform(image))
    before = torch.random.get_rng_state()
    fit_neural_mds(image, text, 3, kind, hidden=8, epochs=1, seed=9)
    assert torch.equal(before, torch.random.get_rng_state())  # the global generator is left as it was


def test_neural_mds_bad_input():
    image, text = make_pairs(10, 6)
    with pytest.raises(EmbeddingError, match="unknown neural MDS kind"):
        fit_neural_mds(image, text, 2, "ordinal")
    with pytest.raises(EmbeddingError, match="D′ must be an integer in 1..D = 6"):
        fit_neural_mds(image, text, 9)
    with pytest.raises(EmbeddingError, match="reduces D = 6"):
        fit_neural_mds(image, text, 2, epochs=1).transform(image[:, :4])


def test_fits_train_on_the_asked_threads_and_restore_torch_setting():
    from amumo_ng.analysis.reduction_torch import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    image, text = make_pairs(20, 6)
    fit_neural_mds(image, text, 2, epochs=1, threads=1)
    assert torch.get_num_threads() == before
