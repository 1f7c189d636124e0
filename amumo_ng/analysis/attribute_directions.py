"""Attribute directions: the direction in embedding space that changes one property (a ``meta`` column),
how well a linear probe reads the property, how entangled the directions are, and moving along one.

For a column and two groups of rows (``positive`` vs ``negative``, or vs the rest), on unit rows:

- the **mean difference** m₊ − m₋ (the difference of the groups' mean unit vectors, length kept);
- the **probe normal**: the unit normal of a logistic-regression probe (scikit-learn, balanced class
  weights) separating the groups, with its balanced accuracy on held-out folds (stratified k-fold
  cross-validation; chance is 0.5);
- :func:`direction_cosines`: the cosine matrix between directions (0 = independent, ±1 = entangled).

An intervention (:func:`move_along`) adds ``strength`` × step to unit rows and re-normalises; the step
is the mean difference (``kind="mean"``) or its component along the probe normal (``kind="probe"``),
so strength 1 moves a row by the distance between the group means. :func:`intervention_effect`
measures it by retrieval: the top-1 candidate of each moved query, and whether it has the positive
value, still the negative one, and the query's own value of every other column named in ``keep``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .validation import EmbeddingError, as_matrix, finite_number, l2_normalize

__all__ = ["AttributeDirection", "attribute_direction", "column_directions", "direction_cosines",
           "move_along", "intervention_effect"]

REST = "rest"


@dataclass(frozen=True)
class AttributeDirection:
    """``column`` = ``positive`` vs ``negative`` (a value, or "rest"); ``mean_difference`` float32 [d]
    (m₊ − m₋ of unit rows); ``probe_normal`` float32 [d] (unit, pointing to the positive group);
    ``probe_accuracy``: held-out balanced accuracy in [0, 1] over ``folds`` folds; ``n_positive`` /
    ``n_negative`` rows."""

    column: str
    positive: object
    negative: object
    mean_difference: np.ndarray
    probe_normal: np.ndarray
    probe_accuracy: float
    folds: int
    n_positive: int
    n_negative: int

    @property
    def name(self) -> str:
        return f"{self.column}={self.positive}" + ("" if self.negative == REST else f" vs {self.negative}")

    def unit(self, kind: str = "mean") -> np.ndarray:
        """The unit direction: the normalised mean difference (``"mean"``) or the probe normal (``"probe"``)."""
        if kind == "probe":
            return self.probe_normal
        if kind != "mean":
            raise EmbeddingError(f"kind must be 'mean' or 'probe', got {kind!r}")
        norm = float(np.linalg.norm(self.mean_difference))
        if norm == 0.0:
            raise EmbeddingError(f"{self.name}: the group means coincide; the mean difference has no direction")
        return (self.mean_difference / norm).astype(np.float32)

    def step(self, kind: str = "mean") -> np.ndarray:
        """What strength 1 adds: the mean difference, or its projection on the probe normal."""
        if kind == "mean":
            return self.mean_difference
        normal = self.unit("probe")
        return (float(self.mean_difference @ normal) * normal).astype(np.float32)


def _groups(values, positive, negative, n: int):
    import pandas as pd

    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy())
    if len(series) != n:
        raise EmbeddingError(f"{len(series)} attribute values for {n} rows")
    known = ~series.isna().to_numpy()
    pos = known & (series == positive).to_numpy()
    neg = known & ((series != positive).to_numpy() if negative is None else (series == negative).to_numpy())
    classes = series[known].unique()
    if len(classes) < 2:
        raise EmbeddingError(f"the column has {len(classes)} class(es); a direction needs two groups")
    for label, mask, value in (("positive", pos, positive), ("negative", neg, REST if negative is None else negative)):
        if mask.sum() < 2:
            raise EmbeddingError(f"the {label} group ({value!r}) has {int(mask.sum())} row(s); it needs at least 2 "
                                 f"(values: {', '.join(map(str, classes[:12]))})")
    return pos, neg


def attribute_direction(x, values, positive, negative=None, *, column: str = "", folds: int = 5,
                        seed: int = 0, C: float = 1.0) -> AttributeDirection:
    """The direction of ``positive`` vs ``negative`` (None: every other known value) of ``values``
    [n] (a meta column; None/NaN rows left out) in the rows ``x`` [n, d] (raw or unit; normalised
    here). ``folds``: cross-validation folds of the probe (at most the smaller group's size, at
    least 2); ``C``: its inverse regularisation. Returns :class:`AttributeDirection`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    unit = l2_normalize(as_matrix(x, "vectors"))
    pos, neg = _groups(values, positive, negative, unit.shape[0])
    mean_difference = (unit[pos].mean(axis=0, dtype=np.float64) - unit[neg].mean(axis=0, dtype=np.float64))
    rows = np.concatenate([unit[pos], unit[neg]])
    target = np.concatenate([np.ones(int(pos.sum()), np.int64), np.zeros(int(neg.sum()), np.int64)])
    folds = max(2, min(int(folds), int(pos.sum()), int(neg.sum())))
    probe = LogisticRegression(C=float(C), class_weight="balanced", max_iter=2000)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed))
    accuracy = float(np.mean(cross_val_score(probe, rows, target, cv=splitter, scoring="balanced_accuracy")))
    weight = probe.fit(rows, target).coef_[0].astype(np.float64)
    norm = float(np.linalg.norm(weight))
    normal = weight / norm if norm > 0 else weight
    return AttributeDirection(str(column), positive, REST if negative is None else negative,
                              mean_difference.astype(np.float32), normal.astype(np.float32), accuracy, folds,
                              int(pos.sum()), int(neg.sum()))


def column_directions(x, meta, columns: Sequence = (), **options) -> list:
    """Directions for several attributes of the rows ``x`` [n, d] and their ``meta`` DataFrame.

    ``columns``: entries ``"col"`` (one direction per value of the column, each vs the rest) or
    ``(col, positive, negative)`` (negative None = the rest). ``options`` go to
    :func:`attribute_direction`. Returns a list of :class:`AttributeDirection`."""
    if not len(columns):
        raise EmbeddingError("name at least one meta column")
    out = []
    for spec in columns:
        if isinstance(spec, str):
            if spec not in meta.columns:
                raise EmbeddingError(f"no meta column {spec!r}; columns: {', '.join(map(str, meta.columns))}")
            values = meta[spec].dropna().unique()
            try:
                values = sorted(values)
            except TypeError:
                pass
            out += [attribute_direction(x, meta[spec], v, None, column=spec, **options) for v in values]
        else:
            col, positive, negative = spec
            if col not in meta.columns:
                raise EmbeddingError(f"no meta column {col!r}; columns: {', '.join(map(str, meta.columns))}")
            out.append(attribute_direction(x, meta[col], positive, negative, column=col, **options))
    return out


def direction_cosines(directions: Sequence[AttributeDirection], kind: str = "mean"):
    """DataFrame [m, m] of cosines between the unit directions (``kind`` "mean" or "probe"),
    indexed by each direction's ``name``."""
    import pandas as pd

    if not len(directions):
        raise EmbeddingError("no directions to compare")
    units = np.stack([d.unit(kind) for d in directions]).astype(np.float64)
    names = [d.name for d in directions]
    return pd.DataFrame(np.clip(units @ units.T, -1.0, 1.0), index=names, columns=names)


def move_along(x, step, strength: float = 1.0) -> np.ndarray:
    """Unit rows of x̂ + ``strength`` · ``step`` (``x`` [n, d] raw or unit, ``step`` [d], e.g.
    :meth:`AttributeDirection.step`), float32 [n, d]. A row moved onto the origin is refused."""
    unit = l2_normalize(as_matrix(x, "vectors to move"))
    step = np.asarray(step, dtype=np.float32)
    if step.shape != (unit.shape[1],) or not np.all(np.isfinite(step)):
        raise EmbeddingError(f"the step must be a finite vector of length d = {unit.shape[1]}, got shape {step.shape}")
    moved = unit + np.float32(finite_number(strength, "strength")) * step
    norms = np.linalg.norm(moved, axis=1)
    if np.any(norms < 1e-6):
        raise EmbeddingError(f"strength {strength} moves row {int(np.argmin(norms))} onto the origin")
    return (moved / norms[:, None]).astype(np.float32)


def intervention_effect(queries, candidates, direction: AttributeDirection, strengths, candidate_meta,
                        query_meta=None, keep: Sequence[str] = (), kind: str = "mean"):
    """Retrieval read-out of moving ``queries`` [q, d] along ``direction`` (see :func:`move_along`).

    For each strength the top-1 of each moved query among ``candidates`` [m, d] (cosine, exact,
    :func:`~.retrieval.top_k`) is looked up in ``candidate_meta`` (m rows): ``to_positive`` is the
    share of hits whose ``direction.column`` is the positive value, ``from_negative`` the share still
    of the negative value (or, vs the rest, not positive), ``keep_<col>`` the share whose ``col``
    equals the query's own (``query_meta``, q rows) and ``cos_to_start`` the mean cosine of the
    moved queries to their start. Returns a DataFrame, one row per strength."""
    import pandas as pd

    from .retrieval import top_k

    start = l2_normalize(as_matrix(queries, "queries"))
    cand = as_matrix(candidates, "candidates")
    if len(candidate_meta) != cand.shape[0]:
        raise EmbeddingError(f"candidate_meta has {len(candidate_meta)} rows for {cand.shape[0]} candidates")
    if keep and (query_meta is None or len(query_meta) != start.shape[0]):
        raise EmbeddingError("keep needs query_meta with one row per query")
    values = candidate_meta[direction.column].to_numpy(dtype=object)
    step = direction.step(kind)
    rows = []
    for strength in strengths:
        moved = move_along(start, step, strength)
        hit = top_k(moved, cand, 1)[0][:, 0]
        got = values[hit]
        row = {"strength": float(strength), "to_positive": float(np.mean(got == direction.positive)),
               "from_negative": float(np.mean(got != direction.positive) if direction.negative == REST
                                      else np.mean(got == direction.negative)),
               "cos_to_start": float(np.mean(np.einsum("ij,ij->i", moved, start)))}
        for col in keep:
            own = query_meta[col].to_numpy(dtype=object)
            row[f"keep_{col}"] = float(np.mean(candidate_meta[col].to_numpy(dtype=object)[hit] == own))
        rows.append(row)
    return pd.DataFrame(rows)
