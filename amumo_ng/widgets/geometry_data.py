"""What the :class:`~amumo_ng.widgets.geometry_panel.GeometryPanel` draws for one model: the
double-ellipsoid analysis of its RAW vectors (all pairs), and which pairs a per-sample figure draws.

Statistics always use every pair; only the drawing subsamples (:func:`drawn_pairs`). Each piece is
computed on its own, so a piece that the data cannot support (say, a constant modality has no
conformity fit) carries its message in ``errors`` while the others are drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..analysis.validation import EmbeddingError

#: Per-sample figures draw at most this many pairs (a seeded random subset; statistics use all).
MAX_DRAWN = 2000
#: Histogram bins of the feature / norm histograms (equal width over both modalities' joint range).
HIST_BINS = 40


@dataclass
class GeometryData:
    """The analysis of one model's pairs. Fields are the analysis functions' results (None where a
    piece failed: its message is in ``errors[piece]``); ``loss_batch`` is the stated batch of the
    loss curve (None: the whole set is one batch); ``drawn`` int64 [k] the pairs the per-sample
    figures draw."""

    model: str
    n: int
    d: int
    logit_scale: float
    geometry: object = None        # DoubleEllipsoid
    norms: tuple = None            # (SampleNorms image, SampleNorms text)
    separability: object = None    # FeatureSeparability
    svm: object = None             # SeparatingLine
    odd: tuple = None              # (FeatureCorrelation image, FeatureCorrelation text)
    estimate: tuple = None         # (ConformityEstimate image, ConformityEstimate text)
    kl: object = None              # ConformityKL
    loss: object = None            # MeanShiftCurve
    loss_batch: int | None = None
    drawn: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    errors: dict = field(default_factory=dict)


def drawn_pairs(n: int, max_points: int = MAX_DRAWN, seed: int = 0) -> np.ndarray:
    """The pairs a per-sample figure draws: all n when n <= ``max_points``, else a seeded random
    subset of ``max_points`` of them, ascending (int64)."""
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(max_points), replace=False)).astype(np.int64)


def geometry_data(model: str, emb, *, alphas=None, bins: int = 50, loss_batch_limit: int | None = None,
                  max_points: int = MAX_DRAWN) -> GeometryData:
    """:class:`GeometryData` of ``emb`` (an :class:`~amumo_ng.store.Embeddings`, raw vectors [n, d]).

    ``alphas``: the mean-shift grid (default −1..1 step 0.1); ``bins``: the KL histogram bins;
    ``loss_batch_limit``: above this many pairs the loss curve uses consecutive batches of this size
    (default the session's :data:`~amumo_ng.session.readouts.LOSS_FULL_BATCH_LIMIT`); at or below it
    the whole set is one exact batch.
    """
    from .. import analysis as A
    from ..session.readouts import LOSS_FULL_BATCH_LIMIT

    image, text = np.asarray(emb.image), np.asarray(emb.text)
    limit = LOSS_FULL_BATCH_LIMIT if loss_batch_limit is None else int(loss_batch_limit)
    n = int(image.shape[0])
    data = GeometryData(model=model, n=n, d=int(image.shape[1]), logit_scale=float(emb.logit_scale),
                        loss_batch=None if n <= limit else limit, drawn=drawn_pairs(n, max_points))

    def piece(name, make):
        try:
            setattr(data, name, make())
        except EmbeddingError as exc:
            data.errors[name] = str(exc)

    piece("geometry", lambda: A.double_ellipsoid(image, text))
    piece("norms", lambda: (A.sample_norms(image), A.sample_norms(text)))
    piece("separability", lambda: A.feature_separability(image, text))
    if data.separability is not None:
        piece("svm", lambda: A.separating_svm(image, text, separability=data.separability))
    else:
        data.errors["svm"] = data.errors["separability"]
    piece("odd", lambda: A.modality_correlations(image, text))
    piece("estimate", lambda: (A.estimated_conformity(image), A.estimated_conformity(text)))
    piece("kl", lambda: A.conformity_kl_curve(image, text, alphas=alphas, bins=bins))
    piece("loss", lambda: A.mean_shift_loss(image, text, emb.logit_scale, alphas=alphas,
                                            batch_size=data.loss_batch))
    return data


def density_histogram(values, edges) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres [B], density [B]) of ``values`` over ``edges`` [B + 1]: counts / (N · bin width),
    so the bars integrate to 1 (the paper's "normalised histograms")."""
    values = np.asarray(values, dtype=np.float64)
    counts, _ = np.histogram(values, edges)
    widths = np.diff(edges)
    return 0.5 * (edges[:-1] + edges[1:]), counts / (max(values.size, 1) * widths)


def joint_edges(*samples, bins: int = HIST_BINS) -> np.ndarray:
    """``bins`` equal-width bin edges over the joint range of 1-D ``samples`` (± 0.5 when constant)."""
    lo = min(float(np.min(s)) for s in samples)
    hi = max(float(np.max(s)) for s in samples)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, int(bins) + 1)
