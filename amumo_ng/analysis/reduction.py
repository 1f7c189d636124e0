"""Dimensionality reduction that keeps cross-modal retrieval: is there a D′ < D with the same top-1?

Each method is fitted on a training split of the pairs and evaluated on the held-out pairs: image and
text vectors of the held-out pairs are reduced by the SAME map and retrieval (cosine, top-1 and top-5,
image→text and text→image, :func:`~amumo_ng.analysis.retrieval.topk_accuracy`) is measured in the
reduced space, next to the full-dimension retrieval of the same held-out pairs.

Methods (:data:`REDUCTION_METHODS`): ``pca``, ``svd`` (truncated, uncentred), ``random`` (Gaussian
projection), ``contrastive`` (linear map trained with the CLIP loss) — see
:mod:`.reduction_methods` — and ``nmds-isometric`` / ``nmds-isotonic`` (neural MDS, :mod:`.neural_mds`).

:func:`reduction_sweep` runs methods × D′ and :meth:`ReductionSweep.smallest_dims` reports, per method,
the smallest D′ of the grid whose top-1 is within ``tolerance`` (default 1 point, 0.01) of the full
dimension's in both directions. :func:`reduced_embeddings` turns a fitted map into an
:class:`~amumo_ng.store.Embeddings` that an Explorer shows as another model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from .reduction_methods import (check_dim, fit_contrastive_linear, fit_pca, fit_random_projection,
                                fit_svd)
from .validation import EmbeddingError, as_pair

__all__ = ["REDUCTION_METHODS", "fit_reduction", "split_pairs", "reduction_sweep", "ReductionSweep",
           "reduced_embeddings", "default_dims"]

REDUCTION_METHODS = ("pca", "svd", "random", "contrastive", "nmds-isometric", "nmds-isotonic")
#: Top-1 columns of the sweep table that "keeps retrieval" is judged on (both directions).
TOP1_COLUMNS = ("i2t@1", "t2i@1")


def fit_reduction(image, text, dim: int, method: str = "pca", *, seed: int = 0, **options):
    """Fit ``method`` (one of :data:`REDUCTION_METHODS`) on training pairs ``image``, ``text`` [n, D]
    to ``dim`` = D′ dimensions (1 <= D′ <= D). ``options`` go to the method's fit function
    (``epochs``, ``lr``, ``batch_size``, ``logit_scale`` for contrastive, ``hidden`` for neural MDS).
    Returns an object with ``transform(x) -> float32 [m, D′]``, ``method``, ``dim``, ``input_dim``."""
    img, txt = as_pair(image, text)
    dim = check_dim(dim, img.shape[1])
    if method == "pca":
        return fit_pca(img, txt, dim)
    if method == "svd":
        return fit_svd(img, txt, dim)
    if method == "random":
        return fit_random_projection(img.shape[1], dim, seed=seed)
    if method == "contrastive":
        return fit_contrastive_linear(img, txt, dim, seed=seed, **options)
    if method in ("nmds-isometric", "nmds-isotonic"):
        from .neural_mds import fit_neural_mds

        return fit_neural_mds(img, txt, dim, kind=method.split("-", 1)[1], seed=seed, **options)
    raise EmbeddingError(f"unknown reduction method {method!r}; choose one of {', '.join(REDUCTION_METHODS)}")


def split_pairs(n: int, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test): sorted int64 pair indices, a seeded random split of ``range(n)`` with
    ``round(test_fraction * n)`` test pairs (at least 2 of each)."""
    if not 0.0 < float(test_fraction) < 1.0:
        raise EmbeddingError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    n_test = int(round(float(test_fraction) * n))
    if n_test < 2 or n - n_test < 2:
        raise EmbeddingError(f"{n} pairs cannot be split into >= 2 training and >= 2 held-out pairs "
                             f"at test_fraction={test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]).astype(np.int64), np.sort(perm[:n_test]).astype(np.int64)


def default_dims(input_dim: int) -> list[int]:
    """The D′ grid of a sweep: 1, 2, 4, 8, … up to D, plus the midpoints 3·2^k, and D itself."""
    grid = {int(input_dim)}
    power = 1
    while power < input_dim:
        grid.update(v for v in (power, 3 * power // 2) if 1 <= v < input_dim)
        power *= 2
    return sorted(grid)


def _retrieval_row(img: np.ndarray, txt: np.ndarray, ks) -> dict:
    from .retrieval import topk_accuracy

    acc = topk_accuracy(img, txt, ks=ks)
    row = {}
    for key, short in (("image_to_text", "i2t"), ("text_to_image", "t2i")):
        row.update({f"{short}@{k}": acc[key][k] for k in ks})
    return row


@dataclass(frozen=True)
class ReductionSweep:
    """Retrieval of held-out pairs after each reduction.

    ``table``: DataFrame, one row per (method, dim): ``i2t@k`` / ``t2i@k`` accuracies in [0, 1] for each
    k of ``ks``, and ``fit_seconds`` (fit + transform); ``full``: the same accuracies at full dimension
    (unreduced unit vectors of the held-out pairs); ``input_dim`` D; ``train`` / ``test``: the pair
    indices fitted on / evaluated on; ``fits``: (method, dim) -> the fitted map."""

    table: object
    full: dict
    input_dim: int
    train: np.ndarray
    test: np.ndarray
    ks: tuple
    fits: dict = field(repr=False, default_factory=dict)

    def smallest_dims(self, tolerance: float = 0.01) -> object:
        """Per method, the smallest D′ of the grid whose top-1 i→t AND t→i are both at least the
        full dimension's minus ``tolerance`` (0.01 = one percentage point). DataFrame with
        ``method``, ``smallest_dim`` (None when no D′ of the grid keeps retrieval), its ``i2t@1`` /
        ``t2i@1``, the ``full_i2t@1`` / ``full_t2i@1`` and ``D``."""
        import pandas as pd

        rows = []
        for method, group in self.table.groupby("method", sort=False):
            keeps = np.ones(len(group), dtype=bool)
            for col in TOP1_COLUMNS:
                keeps &= group[col].to_numpy() >= self.full[col] - float(tolerance) - 1e-12
            ok = group[keeps].sort_values("dim")
            best = ok.iloc[0] if len(ok) else None
            rows.append({"method": method,
                         "smallest_dim": None if best is None else int(best["dim"]),
                         **{col: (np.nan if best is None else float(best[col])) for col in TOP1_COLUMNS},
                         **{f"full_{col}": self.full[col] for col in TOP1_COLUMNS},
                         "D": self.input_dim})
        out = pd.DataFrame(rows)
        out["smallest_dim"] = out["smallest_dim"].astype("Int64")  # <NA> where no D′ of the grid keeps it
        return out

    def curve(self, method: str, column: str = "i2t@1") -> tuple[np.ndarray, np.ndarray]:
        """(dims, accuracies) of one method's row of the table, dims ascending."""
        group = self.table[self.table["method"] == method].sort_values("dim")
        if group.empty:
            raise KeyError(f"no method {method!r} in this sweep; methods: {', '.join(self.table['method'].unique())}")
        return group["dim"].to_numpy(), group[column].to_numpy()


def reduction_sweep(image, text, dims: Optional[Sequence[int]] = None, methods: Sequence[str] = REDUCTION_METHODS,
                    *, test_fraction: float = 0.3, seed: int = 0, ks: Sequence[int] = (1, 5),
                    train=None, test=None, options: Optional[Mapping[str, dict]] = None,
                    keep_fits: bool = False, progress: bool = True) -> ReductionSweep:
    """Fit every method at every D′ of ``dims`` on the training pairs and measure held-out retrieval.

    ``image``, ``text``: raw or unit [n, D] aligned pairs. ``dims``: the D′ grid (default
    :func:`default_dims`; each 1 <= D′ <= D). Split: ``train`` / ``test`` index arrays, or a seeded
    :func:`split_pairs` with ``test_fraction``. ``options``: method -> keyword options of its fit
    (e.g. ``{"nmds-isotonic": {"epochs": 10}}``). ``keep_fits`` keeps each fitted map in ``fits``.
    A tqdm bar counts the fits when ``progress``. Returns :class:`ReductionSweep`.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from .validation import l2_normalize

    img, txt = as_pair(image, text, min_rows=4)
    n, d = img.shape
    dims = default_dims(d) if dims is None else [check_dim(v, d) for v in dims]
    if not dims:
        raise EmbeddingError("the D′ grid is empty")
    methods = list(methods)
    unknown = [m for m in methods if m not in REDUCTION_METHODS]
    if not methods or unknown:
        raise EmbeddingError(f"unknown reduction method(s) {unknown or methods!r}; choose from {', '.join(REDUCTION_METHODS)}")
    if train is None or test is None:
        train, test = split_pairs(n, test_fraction, seed)
    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    if train.size < 2 or test.size < 2 or min(train.min(), test.min()) < 0 or max(train.max(), test.max()) >= n:
        raise EmbeddingError(f"train and test must each hold >= 2 pair indices in [0, {n})")
    ks = tuple(int(k) for k in ks)
    img_u, txt_u = l2_normalize(img), l2_normalize(txt)
    full = _retrieval_row(img_u[test], txt_u[test], ks)
    options = dict(options or {})
    rows, fits = [], {}
    bar = tqdm(total=len(methods) * len(dims), desc="reduction sweep", disable=not progress)
    for method in methods:
        for dim in dims:
            started = time.perf_counter()
            fitted = fit_reduction(img_u[train], txt_u[train], dim, method, seed=seed, **options.get(method, {}))
            reduced_img, reduced_txt = fitted.transform(img_u[test]), fitted.transform(txt_u[test])
            seconds = time.perf_counter() - started
            rows.append({"method": method, "dim": dim, **_retrieval_row(reduced_img, reduced_txt, ks),
                         "fit_seconds": seconds})
            if keep_fits:
                fits[(method, dim)] = fitted
            bar.update(1)
    bar.close()
    return ReductionSweep(pd.DataFrame(rows), full, d, train, test, ks, fits)


def reduced_embeddings(embeddings, reduction, name: Optional[str] = None):
    """``embeddings`` (an :class:`~amumo_ng.store.Embeddings`) with every pair's image and text
    vectors reduced by the fitted map ``reduction`` (float32 [n, D′]; rows unit-normalised before
    the map): a new Embeddings with the same meta, images and logit scale, ``model_id`` ``name``
    (default "<model_id> | <method> D′=<dim>"), and no encoder (its space is not the encoder's).
    Give it to an Explorer as another model: ``ex.session.add_model("PCA 8", reduced)``."""
    from ..store.embeddings import Embeddings

    if not isinstance(embeddings, Embeddings):
        raise EmbeddingError(f"expected an amumo_ng Embeddings, got {type(embeddings).__name__}")
    img, txt = reduction.transform(embeddings.image), reduction.transform(embeddings.text)
    for label, rows in (("image", img), ("text", txt)):
        zero = np.flatnonzero(~rows.any(axis=1))
        if zero.size:
            raise EmbeddingError(f"the {reduction.method} map sends {zero.size} {label} row(s) to zero "
                                 f"(first: row {zero[0]}); they have no direction in D′ = {reduction.dim}")
    return Embeddings.from_arrays(
        img, txt, meta=embeddings.meta, images=embeddings.image_source, logit_scale=embeddings.logit_scale,
        model_id=name or f"{embeddings.model_id} | {reduction.method} D′={reduction.dim}",
        dataset_id=embeddings.dataset_id)
