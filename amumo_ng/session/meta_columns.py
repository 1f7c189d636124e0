"""New ``meta`` columns of a session's pairs (cluster labels, predictions), so that every view can use them.

:func:`add_meta_column` gives one model's pairs another meta column: the session's
:class:`~amumo_ng.store.Embeddings` of that model is replaced by a copy whose meta holds the column
(the vectors, images and encoder are shared, not copied; the caller's Embeddings is left unchanged).
When it is the current model, ``data_version`` is incremented so the views reload as on a model
switch (their colour-by menus then offer ``meta:<column>``); derived data is cached by model and
data source, which a new column does not change, so nothing is recomputed.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from ..analysis.validation import EmbeddingError

__all__ = ["add_meta_column"]

#: Columns the Embeddings needs for itself.
PROTECTED = ("id", "caption")


def add_meta_column(session, column: str, values, model: Optional[str] = None):
    """Set meta column ``column`` (a str, not "id" or "caption"; an existing one is overwritten) of
    model ``model`` (default: the current one) to ``values`` (one per pair). Returns the new Embeddings."""
    column = str(column)
    if not column or column in PROTECTED:
        raise EmbeddingError(f"cannot set the meta column {column!r}: choose a name other than id / caption")
    name = session.model if model is None else str(model)
    emb = session.embeddings_of(name)
    values = np.asarray(values, dtype=object) if not hasattr(values, "__array__") else np.asarray(values)
    if values.ndim != 1 or values.shape[0] != emb.n:
        raise EmbeddingError(f"{values.shape[0] if values.ndim == 1 else values.shape} values for the "
                             f"{emb.n} pairs of model {name!r}")
    meta = emb.meta.copy()
    meta[column] = values
    labelled = replace(emb, meta=meta, trusted=True)  # vectors already validated: no rescan
    with session.hold_trait_notifications():
        session._models[name] = labelled  # the session's own dict, swapped as its augmentation does
        if name == session.model:
            session.data_version += 1
    return labelled
