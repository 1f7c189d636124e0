"""Placing new vectors (an interpolation path, a typed prompt) into the session's current 2-D layout.

The scatter shows a :class:`~amumo_ng.analysis.projection.Projection` fitted on the vectors the
session shows (:meth:`Session.vectors`: unit, gap-closed when ``gap_closed``). A new unit vector u
[d] of the current model is placed in it the way its rows were:

1. as the layout's rows were made (:func:`layout_vectors`): with the gap closed, the rows were
   ``normalise(Î − Δ/2)`` and ``normalise(T̂ + Δ/2)``, so u is shifted by ``(w − ½)·Δ`` and
   normalised again, w in [0, 1] its text share (1 a text, 0 an image, in between for the frames of
   a mixed image→text path); Δ is the session's gap vector (:func:`gap_vector`);
2. into the projection (:func:`place_in_projection`): PCA exactly, ``(u − pca_mean) @
   pca_components``; UMAP (also UMAP out-of-sample) through the fitted model's ``transform``;
   t-SNE and the joint layout (one point per pair) cannot place a new vector: :class:`PlacementError`.

Positions are in the projection's own units (``Projection.image_xy``); the scatter scales them into
its view square (:func:`amumo_ng.widgets.point_layout.view_transform`).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["PlacementError", "gap_vector", "layout_vectors", "place_in_projection", "place_vectors", "can_place"]


class PlacementError(ValueError):
    """A vector cannot be placed in this layout (the message says why, for the view's note)."""


def gap_vector(session) -> np.ndarray:
    """Δ float64 [d]: the modality gap (mean unit image − mean unit text) of the pairs
    :meth:`Session.gap_pairs` names (all pairs when none is in view), as :meth:`Session.vectors`
    closes it. Cached per data and view."""
    from ..analysis.gap import modality_gap

    scope, idx = session.gap_pairs()
    key = ("gap-vector", session.data_key(), "all" if idx is None or idx.size == 0 else session.indices_key())
    emb = session.embeddings

    def make():
        if idx is None or idx.size == 0:
            return np.asarray(modality_gap(emb.image, emb.text).vector, np.float64)
        return np.asarray(modality_gap(emb.image[idx], emb.text[idx]).vector, np.float64)

    return session._cache.get(key, make)


def _unit_rows(vectors, dim: int) -> np.ndarray:
    u = np.asarray(vectors, dtype=np.float64)
    if u.ndim == 1:
        u = u[None, :]
    if u.ndim != 2 or u.shape[1] != dim:
        raise PlacementError(f"expected vectors [m, {dim}] of the current model, got shape {u.shape}")
    if not np.isfinite(u).all():
        raise PlacementError("the vectors contain NaN or inf")
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise PlacementError(f"vector {int(np.flatnonzero(norms[:, 0] == 0)[0])} is zero: it has no direction")
    return u / norms


def layout_vectors(session, vectors, text_share) -> np.ndarray:
    """Unit float64 [m, d]: ``vectors`` [m, d] (raw or unit, the current model's space) as the
    layout's rows were made: normalised, and with ``gap_closed`` shifted by ``(w − ½)·f·Δ`` (f the
    session's ``gap_fraction``) and
    normalised again. ``text_share``: a float or float [m] in [0, 1] (1 text, 0 image)."""
    u = _unit_rows(vectors, session.embeddings.dim)
    if not session.gap_closed:
        return u
    w = np.broadcast_to(np.asarray(text_share, dtype=np.float64), (u.shape[0],))
    shifted = u + (w[:, None] - 0.5) * float(session.gap_fraction) * gap_vector(session)[None, :]
    lengths = np.linalg.norm(shifted, axis=1, keepdims=True)
    if np.any(lengths < 1e-6):
        raise PlacementError("closing the gap moved a vector onto the origin: it has no direction")
    return shifted / lengths


def can_place(projection) -> tuple[bool, str]:
    """(True, "") when new vectors can be placed in ``projection``, else (False, why)."""
    method = projection.method
    if method == "tsne":
        return False, ("t-SNE has no transform: it cannot place new vectors (the path, a prompt); "
                       "switch to PCA or UMAP to see them")
    if method == "joint":
        return False, "the joint layout has one point per pair (image | text): a single vector has no place in it"
    if method == "pca" and (projection.pca_mean is None or projection.pca_components is None):
        return False, "this PCA layout keeps no linear map to place new vectors with"
    if method in ("umap", "umap-oos") and getattr(projection, "umap_model", None) is None:
        return False, "this UMAP layout keeps no fitted model (too few distinct points were laid out by PCA)"
    return True, ""


def place_in_projection(projection, unit) -> np.ndarray:
    """float32 [m, 2]: unit vectors ``unit`` [m, d] (already as :func:`layout_vectors` makes them)
    placed in ``projection``, in its units. Raises :class:`PlacementError` (see :func:`can_place`)."""
    ok, why = can_place(projection)
    if not ok:
        raise PlacementError(why)
    unit = np.asarray(unit, dtype=np.float64)
    if projection.method == "pca":
        mean = np.asarray(projection.pca_mean, np.float64)
        if mean.shape[0] != unit.shape[1]:
            raise PlacementError(f"the layout was fitted on {mean.shape[0]}-d vectors, these have d = {unit.shape[1]}")
        return ((unit - mean) @ np.asarray(projection.pca_components, np.float64)).astype(np.float32)
    xy = projection.umap_model.transform(unit.astype(np.float32))
    return np.asarray(xy, dtype=np.float32)


def place_vectors(session, vectors, text_share, projection: Optional[object] = None) -> np.ndarray:
    """float32 [m, 2]: ``vectors`` [m, d] of the current model placed in the session's current
    layout (``projection`` default: the finished projection shown now), in the projection's units.

    ``text_share`` (float or [m] in [0, 1]): see :func:`layout_vectors`. UMAP's ``transform`` can
    take a second or more (numba): call it from a worker thread in interactive code.
    Raises :class:`PlacementError` when the layout cannot place them or is not computed yet."""
    projection = projection if projection is not None else session.cached_projection()
    if projection is None:
        raise PlacementError("the layout is still being computed")
    return place_in_projection(projection, layout_vectors(session, vectors, text_share))
