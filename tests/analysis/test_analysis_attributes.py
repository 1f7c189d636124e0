"""analysis.attribute_directions: directions vs explicit group means, the probe on a constructed separable
set, the cosine matrix vs explicit dot products, interventions vs a nearest-neighbour loop, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amumo_ng.analysis import EmbeddingError
from amumo_ng.analysis.attribute_directions import (attribute_direction, column_directions, direction_cosines,
                                                    intervention_effect, move_along)


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _factor_set(n=120, seed=0):
    """Rows with two independent binary attributes on orthogonal axes (colour on axis 0, shape on 1)
    plus noise on the other axes; meta holds both."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "blue"], size=n)
    shape = rng.choice(["circle", "square"], size=n)
    x = 0.3 * rng.normal(size=(n, 6))
    x[:, 0] += np.where(colour == "red", 1.0, -1.0)
    x[:, 1] += np.where(shape == "circle", 1.0, -1.0)
    x[:, 2] += 2.0  # a common offset so rows are far from the origin
    return x.astype(np.float32), pd.DataFrame({"colour": colour, "shape": shape})


def test_mean_difference_equals_explicit_group_means_of_unit_rows():
    x, meta = _factor_set()
    unit = _unit(x.astype(np.float64))
    d = attribute_direction(x, meta["colour"], "red", "blue", column="colour")
    red = [unit[i] for i in range(len(meta)) if meta["colour"][i] == "red"]
    blue = [unit[i] for i in range(len(meta)) if meta["colour"][i] == "blue"]
    np.testing.assert_allclose(d.mean_difference, np.mean(red, axis=0) - np.mean(blue, axis=0), atol=1e-6)
    assert (d.n_positive, d.n_negative) == (len(red), len(blue)) and d.name == "colour=red vs blue"
    rest = attribute_direction(x, meta["colour"], "red", column="colour")
    np.testing.assert_allclose(rest.mean_difference, d.mean_difference, atol=1e-6)  # two values: rest is blue
    assert rest.name == "colour=red"


def test_probe_reads_a_separable_attribute_perfectly_and_a_random_one_at_chance():
    rng = np.random.default_rng(1)
    groups = np.repeat(["yes", "no"], 40)
    x = rng.normal(size=(80, 5))
    x[:, 3] += np.where(groups == "yes", 4.0, -4.0)  # a margin of ~8 on axis 3
    x[:, 0] += 10.0
    d = attribute_direction(x, groups, "yes", folds=4)
    assert d.probe_accuracy == 1.0 and d.folds == 4
    assert np.linalg.norm(d.probe_normal) == pytest.approx(1.0, abs=1e-6)
    assert d.probe_normal[3] > 0.9  # points from "no" to "yes" along axis 3
    random_labels = rng.permutation(groups)
    assert 0.25 < attribute_direction(x, random_labels, "yes").probe_accuracy < 0.75


def test_cosines_between_directions_equal_explicit_dot_products():
    x, meta = _factor_set(n=400, seed=2)
    dirs = column_directions(x, meta, ["colour", ("shape", "circle", "square")])
    assert [d.name for d in dirs] == ["colour=blue", "colour=red", "shape=circle vs square"]
    cos = direction_cosines(dirs)
    units = [d.mean_difference / np.linalg.norm(d.mean_difference) for d in dirs]
    for i in range(3):
        for j in range(3):
            assert cos.iloc[i, j] == pytest.approx(float(units[i] @ units[j]), abs=1e-6)
    assert cos.loc["colour=blue", "colour=red"] == pytest.approx(-1.0, abs=1e-6)  # opposite sides of one split
    assert abs(cos.loc["colour=red", "shape=circle vs square"]) < 0.2  # independent attributes: near orthogonal
    probe = direction_cosines(dirs, kind="probe")
    assert np.allclose(np.diag(probe), 1.0)


def test_move_along_is_normalised_translation():
    x, meta = _factor_set(n=20)
    step = np.array([0.5, 0, 0, 0, 0, -0.2], dtype=np.float32)
    moved = move_along(x, step, 2.0)
    expected = _unit(_unit(x.astype(np.float64)) + 2.0 * step)
    np.testing.assert_allclose(moved, expected, atol=1e-6)
    np.testing.assert_allclose(move_along(x, step, 0.0), _unit(x.astype(np.float64)), atol=1e-6)
    with pytest.raises(EmbeddingError, match="onto the origin"):
        move_along(np.array([[1.0, 0.0]]), np.array([-1.0, 0.0]), 1.0)
    with pytest.raises(EmbeddingError, match="length d = 6"):
        move_along(x, step[:3], 1.0)


def test_intervention_changes_the_attribute_keeps_the_other_and_equals_a_nearest_loop():
    x, meta = _factor_set(n=200, seed=3)
    d = attribute_direction(x, meta["colour"], "blue", "red", column="colour")
    red = np.flatnonzero(meta["colour"].to_numpy() == "red")
    queries, query_meta = x[red], meta.iloc[red].reset_index(drop=True)
    effect = intervention_effect(queries, x, d, [0.0, 1.0, 2.0], meta, query_meta, keep=["shape"])
    assert list(effect["strength"]) == [0.0, 1.0, 2.0]
    assert effect.loc[0, "to_positive"] == 0.0 and effect.loc[0, "from_negative"] == 1.0
    assert effect.loc[2, "to_positive"] > 0.9 and effect.loc[2, "keep_shape"] > 0.8
    # strength 1 by a plain loop: nearest row by cosine of each moved query
    unit, step = _unit(x.astype(np.float64)), d.mean_difference.astype(np.float64)
    hits = []
    for i in red:
        moved = unit[i] + step
        moved /= np.linalg.norm(moved)
        hits.append(int(np.argmax([moved @ unit[j] for j in range(len(x))])))
    assert effect.loc[1, "to_positive"] == pytest.approx(np.mean(meta["colour"].to_numpy()[hits] == "blue"))
    assert effect.loc[1, "keep_shape"] == pytest.approx(np.mean(meta["shape"].to_numpy()[hits] == query_meta["shape"].to_numpy()))
    assert effect["cos_to_start"].is_monotonic_decreasing
    probe = intervention_effect(queries, x, d, [2.0], meta, kind="probe")
    assert probe.loc[0, "to_positive"] > 0.9


def test_bad_input_catalogue():
    x, meta = _factor_set(n=30)
    with pytest.raises(EmbeddingError, match="1 class"):
        attribute_direction(x, ["same"] * 30, "same")
    with pytest.raises(EmbeddingError, match="the positive group \\('green'\\) has 0 row"):
        attribute_direction(x, meta["colour"], "green")
    with pytest.raises(EmbeddingError, match="30 rows"):
        attribute_direction(x, meta["colour"][:20], "red")
    with pytest.raises(EmbeddingError, match="no meta column 'size'"):
        column_directions(x, meta, ["size"])
    nan = x.copy()
    nan[4, 1] = np.nan
    with pytest.raises(EmbeddingError, match="NaN"):
        attribute_direction(nan, meta["colour"], "red")
    d = attribute_direction(x, meta["colour"], "red")
    with pytest.raises(EmbeddingError, match="keep needs query_meta"):
        intervention_effect(x, x, d, [1.0], meta, keep=["shape"])
    with pytest.raises(EmbeddingError, match="kind must be"):
        d.unit("median")
