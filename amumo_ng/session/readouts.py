"""The gap/loss readout of a :class:`~amumo_ng.session.Session`: the numbers of the pairs it is about.

By default (``gap_scope == "view"``) the readout, like the Amumo article, describes the pairs in
view (e.g. the captions containing "dog"): their gap vector, their loss, and both after closing
*their* gap. With ``gap_scope == "all"`` it describes every pair of the model.
"""
from __future__ import annotations

import numpy as np

#: Above this many pairs the contrastive loss readout uses batches of this size.
LOSS_FULL_BATCH_LIMIT = 4096


def gap_readout(image: np.ndarray, text: np.ndarray, logit_scale: float) -> dict:
    """Gap distance and contrastive loss (symmetric and Amumo-compat) of aligned pairs
    ``image``, ``text`` (raw float [n, d]), before and after closing their gap.

    Distances are Euclidean norms of the gap vector between unit-vector means (unitless);
    losses are mean cross-entropy in nats at ``logit_scale``, exact over all n pairs up to
    :data:`LOSS_FULL_BATCH_LIMIT` and in batches of that size above (``loss_batch_size``).
    A compat loss that is undefined (fewer pairs than one batch of 50) is NaN."""
    from ..analysis.gap import close_gap, modality_gap
    from ..analysis.losses import contrastive_loss

    n = int(image.shape[0])
    img_c, txt_c = close_gap(image, text)
    batch = None if n <= LOSS_FULL_BATCH_LIMIT else LOSS_FULL_BATCH_LIMIT

    def losses(a, b):
        out = []
        for kwargs in ({"batch_size": batch}, {"compat": "amumo"}):
            try:
                out.append(float(contrastive_loss(a, b, logit_scale, **kwargs)))
            except (ValueError, ZeroDivisionError):  # e.g. fewer pairs than one compat batch
                out.append(float("nan"))
        return out

    before, after = losses(image, text), losses(img_c, txt_c)
    return {
        "n": n,
        "loss_batch_size": batch,
        "distance_before": float(modality_gap(image, text).distance),
        "distance_after": float(modality_gap(img_c, txt_c).distance),
        "loss_before": before[0],
        "loss_compat_before": before[1],
        "loss_after": after[0],
        "loss_compat_after": after[1],
    }


class ReadoutsMixin:
    """:meth:`readouts` for :class:`~amumo_ng.session.Session` (needs ``gap_pairs()``, ``_cache``)."""

    def readouts(self) -> dict:
        """:func:`gap_readout` of the pairs :meth:`gap_pairs` names (the pairs in view, or all of
        the model's), plus ``scope`` ("view" or "all"), ``n_total`` and ``model``. Cached per
        model and pair set. An empty view gives ``{"n": 0, ...}`` with no numbers."""
        scope, idx = self.gap_pairs()
        key = ("readouts", self.data_key(), scope if idx is None else self.indices_key())
        emb = self.embeddings

        def make():
            base = {"scope": scope, "n_total": emb.n, "model": self.model}
            if idx is not None and idx.size == 0:
                return {**base, "n": 0, "loss_batch_size": None}
            image = emb.image if idx is None else emb.image[idx]
            text = emb.text if idx is None else emb.text[idx]
            return {**base, **gap_readout(image, text, emb.logit_scale)}

        return self._cache.get(key, make)
