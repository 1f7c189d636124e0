"""Pure analysis functions on embedding arrays (numpy/torch in, arrays or dataclasses out).

Public names of every analysis module are available here, imported lazily on first use so that
``import amumo_ng.analysis`` loads no scipy/sklearn/torch/umap:

- similarity: cosine matrices, stacked-matrix tiles and block-mean levels of detail
- gap: modality gap, closing and shifting it, loss-vs-shift curve
- difference: in-modal difference (CyCLIP symmetry)
- ordering: cluster orderings and cluster labels
- projection: PCA/UMAP/t-SNE projections, cache, background jobs
- filter: caption search
- geometry: per-modality raw geometry (double ellipsoid), conformity
- interpolation: lerp / slerp / vslerp
- losses, retrieval: contrastive losses and top-k retrieval accuracy
- validation: input checks and :class:`EmbeddingError`
"""
from __future__ import annotations

import importlib

_NAMES = {
    "validation": ("EmbeddingError", "as_matrix", "as_pair", "l2_normalize"),
    "similarity": ("cosine_similarity", "similarity_blocks", "SimilarityBlocks", "similarity_tile",
                   "block_mean_similarity", "level_of_detail_tile", "LevelOfDetail"),
    "gap": ("modality_gap", "ModalityGap", "close_gap", "shift_gap", "gap_loss_curve", "GapCurve",
            "DEFAULT_DELTAS"),
    "difference": ("in_modal_difference", "InModalDifference"),
    "ordering": ("cluster_order", "Ordering", "cluster_labels", "order_stacked"),
    "projection": ("project", "Projection", "ProjectionCache", "ProjectionJob", "project_async",
                   "Cancelled", "fingerprint"),
    "filter": ("filter_captions", "FilterError"),
    "geometry": ("modality_geometry", "ModalityGeometry", "double_ellipsoid", "DoubleEllipsoid",
                 "conformity"),
    "interpolation": ("lerp", "slerp", "vslerp"),
    "losses": ("contrastive_loss",),
    "retrieval": ("topk_accuracy",),
}

#: Modules whose full public API (their ``__all__`` or non-underscore names) is re-exported too.
_OPEN_MODULES = ("losses", "retrieval")

_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
    return list(names)


def _open_module(short: str):
    """Import losses/retrieval if present; ``None`` while they do not exist yet."""
    try:
        return importlib.import_module(f"{__name__}.{short}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{short}":
            raise
        return None


def __getattr__(name: str):
    short = _MODULE_OF.get(name)
    if short is not None:
        value = getattr(importlib.import_module(f"{__name__}.{short}"), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        for short in _OPEN_MODULES:
            module = _open_module(short)
            if module is not None and name in _public_names(module):
                value = getattr(module, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    names = set(_MODULE_OF)
    for short in _OPEN_MODULES:
        module = _open_module(short)
        if module is not None:
            names.update(_public_names(module))
    return sorted(names)


__all__ = sorted(_MODULE_OF)
