"""What the scatter's points are coloured by: modality, a ``meta`` column, cluster, pair cosine, conformity.

:func:`point_colors` turns a colour-by choice into one uint8 code per drawn point plus the legend
that explains it. Categorical choices give category indices into :data:`CATEGORY_COLORS` (the
same palette the heatmap's cluster bands use); numeric ones give 0..255 indices into the
heatmap's colour map over a stated range. Points follow the scatter's layout: ``2n`` points
(images ``0..n-1``, then texts) for ``point_kind == "modality"``, ``n`` for ``"pair"``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .colormap import quantize

#: Category colours (Tableau 20 order: the 10 strong colours first); index i colours category i.
CATEGORY_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)
#: A categorical column with more categories keeps the most frequent ones and pools the rest.
MAX_CATEGORIES = len(CATEGORY_COLORS)
#: Colour of points that have no category (pairs outside the clustering, missing values).
NO_CATEGORY_COLOR = "#d0d0d0"
#: Numeric columns with at most this many distinct values are treated as categories.
FEW_DISTINCT = 12
#: Meta columns never offered (identifiers and free text).
SKIPPED_COLUMNS = ("id", "caption")
#: Conformity colour-by choices (value, label); values as the session's ``conformity_values`` kinds.
CONFORMITY_OPTIONS = (
    ("image-conformity", "image conformity"),
    ("text-conformity", "text conformity"),
    ("conformity-difference", "image − text conformity"),
)
_CONFORMITY_TITLES = {
    "image-conformity": "image conformity (mean cos to all other images, raw vectors)",
    "text-conformity": "text conformity (mean cos to all other texts, raw vectors)",
    "conformity-difference": "image − text conformity of each pair (raw vectors)",
}


@dataclass(frozen=True)
class PointColors:
    """``kind``: "categorical" or "numeric"; ``codes``: uint8 [m], one per drawn point;
    ``legend``: [(label, "#rrggbb")] for categorical (code i = entry i, and code 255 = "none"
    when ``has_none``), or [] for numeric; ``vmin``/``vmax``: the values codes 0 and 255 stand
    for (numeric); ``title``: what the colour shows."""

    kind: str
    codes: np.ndarray
    legend: list = field(default_factory=list)
    vmin: Optional[float] = None
    vmax: Optional[float] = None
    title: str = ""
    has_none: bool = False


def color_options(embeddings) -> list[list[str]]:
    """[value, label] of every colour-by choice for these embeddings, in menu order."""
    options = [["modality", "modality"], ["cluster", "cluster"], ["pair-cosine", "pair cosine (image·text)"]]
    if embeddings.n >= 3:  # conformity needs a sample among at least two others
        options += [[value, label] for value, label in CONFORMITY_OPTIONS]
    from pandas.api.types import is_numeric_dtype

    meta = embeddings.meta
    for col in meta.columns:
        if col in SKIPPED_COLUMNS:
            continue
        series = meta[col]
        if not is_numeric_dtype(series.dtype) and series.nunique(dropna=True) > 200:
            continue  # free text, not a category
        options.append([f"meta:{col}", str(col)])
    return options


def _per_point(pair_codes: np.ndarray, point_kind: str) -> np.ndarray:
    codes = np.asarray(pair_codes, dtype=np.uint8)
    return codes if point_kind == "pair" else np.concatenate([codes, codes])


def _categorical(values, point_kind: str, title: str) -> PointColors:
    """Codes of a per-pair categorical array (None/NaN = no category); rare categories pooled."""
    import pandas as pd

    series = pd.Series(values)
    missing = series.isna().to_numpy()
    counts = series[~missing].value_counts(sort=True)
    cats = list(counts.index)
    try:  # a natural order (numbers, names) reads better than frequency, when it exists
        cats = sorted(cats)
    except TypeError:
        pass
    pooled = len(cats) > MAX_CATEGORIES
    if pooled:
        keep = set(counts.index[: MAX_CATEGORIES - 1])
        cats = [c for c in cats if c in keep]
    index = {c: i for i, c in enumerate(cats)}
    other = len(cats) if pooled else None
    codes = np.full(len(series), 255, dtype=np.uint8)
    for i, (value, miss) in enumerate(zip(series.tolist(), missing)):
        if not miss:
            codes[i] = index.get(value, other)
    legend = [(str(c), CATEGORY_COLORS[i]) for i, c in enumerate(cats)]
    if pooled:
        legend.append((f"other ({len(counts) - len(cats)} values)", CATEGORY_COLORS[len(cats)]))
    return PointColors("categorical", _per_point(codes, point_kind), legend, title=title,
                       has_none=bool(missing.any()))


def _numeric(values: np.ndarray, point_kind: str, title: str) -> PointColors:
    """Codes 0..255 of per-pair numbers over their 1st..99th percentile (outside: clipped)."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return PointColors("numeric", _per_point(np.zeros(v.size), point_kind), [], 0.0, 1.0, title)
    lo, hi = np.percentile(v[finite], [1, 99]) if finite.sum() >= 100 else (v[finite].min(), v[finite].max())
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    codes = quantize(np.where(finite, v, lo).astype(np.float32), float(lo), float(hi))
    return PointColors("numeric", _per_point(codes, point_kind), [], float(lo), float(hi), title)


def point_colors(session, option: str, point_kind: str) -> PointColors:
    """The colours of the scatter's points for ``option`` (a value of :func:`color_options`).

    "modality": images / texts (a joint projection draws one point per pair: one "pair" entry);
    "cluster": the heatmap's clusters of the pairs in view (pairs outside the view or no
    clustering: no category); "pair-cosine": cos(image_i, text_i) of the vectors shown (gap-closed
    when the gap is closed); "image-conformity" / "text-conformity" / "conformity-difference":
    the pair's conformity C_i, C_t or C_i − C_t on the RAW vectors within all n pairs (the same
    with the gap open or closed, cached per data: :mod:`amumo_ng.session.conformity_order`), both
    points of a pair in its colour; "meta:COL": a meta column, numeric with many values as a colour
    ramp, otherwise as categories."""
    n = session.n_total
    if option == "modality":
        if point_kind == "pair":
            return PointColors("categorical", np.zeros(n, np.uint8), [("pair (image ⊕ text)", "#555555")],
                               title="joint point of each pair")
        codes = np.concatenate([np.zeros(n, np.uint8), np.ones(n, np.uint8)])
        return PointColors("categorical", codes, [("image", CATEGORY_COLORS[0]), ("text", CATEGORY_COLORS[1])],
                           title="modality")
    if option == "cluster":
        ordering = session.ordering()
        codes = np.full(n, 255, dtype=np.uint8)  # 255: not in the clustering
        legend = []
        if ordering is not None:
            names = session.cluster_names()
            labels = np.asarray(ordering.labels, dtype=np.int64)
            # cluster c (numbered in draw order) gets colour c, as the heatmap's cluster bands
            codes[session.indices] = np.minimum(labels, MAX_CATEGORIES - 1)
            legend = [(f"{c + 1}: {names[c]}" if c < len(names) and names[c] else f"cluster {c + 1}",
                       CATEGORY_COLORS[min(c, MAX_CATEGORIES - 1)]) for c in range(ordering.n_clusters)]
        title = "cluster of the heatmap" if ordering is not None else "cluster (turn on clustering)"
        return PointColors("categorical", _per_point(codes, point_kind), legend, title=title,
                           has_none=bool((codes == 255).any()))
    if option == "pair-cosine":
        img, txt = session.vectors()
        cos = np.einsum("ij,ij->i", img, txt)
        return _numeric(cos, point_kind, "cosine of each pair's image and text")
    if option in _CONFORMITY_TITLES:
        try:
            values = session.conformity_values(option)
        except ValueError as exc:  # EmbeddingError: fewer than 3 pairs
            raise ValueError(f"cannot colour by {option}: {exc}") from exc
        return _numeric(values, point_kind, _CONFORMITY_TITLES[option])
    if option.startswith("meta:"):
        col = option[5:]
        meta = session.embeddings.meta
        if col not in meta.columns or col in SKIPPED_COLUMNS:
            raise ValueError(f"no meta column {col!r} to colour by; columns: {', '.join(map(str, meta.columns))}")
        series = meta[col]
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        numeric = is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)
        if numeric and series.nunique(dropna=True) > FEW_DISTINCT:
            return _numeric(series.to_numpy(dtype=np.float64), point_kind, str(col))
        return _categorical(series.to_numpy(dtype=object), point_kind, str(col))
    raise ValueError(f"unknown colour-by {option!r}; choose modality, cluster, pair-cosine, "
                     f"{', '.join(v for v, _ in CONFORMITY_OPTIONS)} or meta:COLUMN")
