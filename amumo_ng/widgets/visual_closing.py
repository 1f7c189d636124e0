"""Visual gap closing side by side: two projections of the same pairs, and how often a pair's line stays in one cluster.

The Amumo article closes the modality gap *visually*, without changing the vectors: (i) UMAP fitted
on one modality (the images) with the other placed by ``transform`` (out-of-sample, "umap-oos"),
(ii) one point per pair from the concatenated vectors ("joint"). :class:`VisualClosing` shows two
such layouts of one session next to each other (hover linked), lines coloured by each pair's cosine,
so a long line reads as "the model keeps this pair apart" (red: low cosine) or "the projection
distorts" (blue: high cosine), and titles each with its same-cluster share
(:func:`~amumo_ng.analysis.layout_agreement.same_cluster_share`): k-means with k clusters on all 2n
points of the layout, the share of pairs whose image and text share a cluster, against chance.

k (``n_clusters``) is the caller's: a number, or the name of a ``meta`` column whose number of
distinct values is used (a ground-truth class count, e.g. ``"shape"`` for ``shapes``: 6). The
default, 10, is the heatmap clustering's most clusters. The joint layout has one point per pair,
so it has no lines and no share; its points are coloured by the pair cosine instead.

:func:`same_cluster_table` measures the share per model and projection (a DataFrame for a notebook).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import ipywidgets as ipw
import numpy as np

from ..lru import LRUCache
from ..session import PROJECTIONS, Session
from .line_colors import cosine_line_lut

#: Default k: the heatmap clustering's most clusters (Session.ordering uses max_clusters=10).
DEFAULT_CLUSTERS = 10
#: Above this many pairs in view the share is measured on a seeded sample of them (k-means cost).
MAX_AGREEMENT_PAIRS = 20_000
PROJECTION_LABELS = dict(PROJECTIONS)

__all__ = ["VisualClosing", "same_cluster_table", "projection_agreement", "resolve_clusters", "DEFAULT_CLUSTERS",
           "MAX_AGREEMENT_PAIRS"]


def resolve_clusters(session: Session, n_clusters: Union[int, str]) -> int:
    """k for the current model: ``n_clusters`` itself, or the number of distinct values of the
    ``meta`` column it names. ValueError for a missing column or k < 2."""
    if isinstance(n_clusters, str):
        meta = session.embeddings.meta
        if n_clusters not in meta.columns:
            raise ValueError(f"n_clusters={n_clusters!r}: no such meta column; columns: {', '.join(map(str, meta.columns))}")
        k = int(meta[n_clusters].nunique(dropna=True))
    else:
        k = int(n_clusters)
    if k < 2:
        raise ValueError(f"n_clusters must give at least 2 clusters, got {k}")
    return k


def projection_agreement(session: Session, projection, n_clusters: Union[int, str] = DEFAULT_CLUSTERS, *,
                     random_state: int = 0, max_pairs: int = MAX_AGREEMENT_PAIRS):
    """The :class:`~amumo_ng.analysis.layout_agreement.PairAgreement` of ``projection`` (a
    :class:`~amumo_ng.analysis.projection.Projection` of the session's current model) over the pairs
    in view, or None for a joint layout (one point per pair). More than ``max_pairs`` pairs in
    view: a seeded sample of ``max_pairs`` of them (``n_pairs`` says how many were measured)."""
    from ..analysis.layout_agreement import same_cluster_share

    if projection.image_xy is None:
        return None
    idx = session.indices
    if idx.size > max_pairs:
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(idx, size=int(max_pairs), replace=False))
    image_xy = np.asarray(projection.image_xy)[idx]
    text_xy = np.asarray(projection.text_xy)[idx]
    return same_cluster_share(image_xy, text_xy, resolve_clusters(session, n_clusters), random_state=random_state)


def _title(method: str, agreement, total: int) -> str:
    label = PROJECTION_LABELS.get(method, method)
    if agreement is None:
        return f"{label}: one point per pair (no pair lines), coloured by pair cosine"
    sampled = f" (a sample of {agreement.n_pairs:,} of {total:,})" if agreement.n_pairs < total else ""
    return (f"{label}: {100 * agreement.share:.0f}% of {agreement.n_pairs:,} pairs{sampled} in one cluster "
            f"(chance {100 * agreement.baseline:.0f}%, k = {agreement.n_clusters})")


def _as_session(data) -> Session:
    return data if isinstance(data, Session) else Session(data)


def _private_copy(session: Session, models: Sequence[str]) -> Session:
    """A new Session of the same models' embeddings and view state (gap, filter, projection scope),
    so measuring every model never switches the model of a session on screen."""
    state = {name: getattr(session, name) for name in ("gap_closed", "gap_scope", "filter_pattern", "filter_regex",
                                                        "projection_scope", "selection", "selection_filter")}
    return Session({name: session.embeddings_of(name) for name in models}, **state)


def same_cluster_table(data, *, models: Optional[Sequence[str]] = None,
                       projections: Sequence[str] = ("pca", "umap-oos", "joint"),
                       n_clusters: Union[int, str] = DEFAULT_CLUSTERS, random_state: int = 0,
                       max_pairs: int = MAX_AGREEMENT_PAIRS):
    """pandas DataFrame, one row per (model, projection): ``same_cluster`` (share of the pairs in
    view whose image and text share a k-means cluster of the layout), ``chance`` (the share if text
    clusters were independent of image clusters), ``excess`` ((share − chance) / (1 − chance)),
    ``n_pairs``, ``k`` and a ``note`` (why a value is missing: the joint layout has one point per pair).

    ``data``: Embeddings, a dict of them, or a Session (its gap, filter and projection scope are
    used; the session itself is not changed). ``models``: default all. Projections are computed as
    the session computes them (UMAP compiles numba on first use in a process)."""
    import pandas as pd
    from tqdm.auto import tqdm

    source = _as_session(data)
    models = list(source.models if models is None else models)
    for name in models:
        source.embeddings_of(name)  # KeyError naming the models
    unknown = [p for p in projections if p not in PROJECTION_LABELS]
    if unknown:
        raise ValueError(f"unknown projections {unknown}; choose from {list(PROJECTION_LABELS)}")
    session = _private_copy(source, models)
    rows = []
    with tqdm(total=len(models) * len(projections), desc="same-cluster share") as bar:
        for name in models:
            session.model = name
            for method in projections:
                bar.set_postfix_str(f"{name} {method}")
                projection = session.compute_projection(method)
                agreement = projection_agreement(session, projection, n_clusters, random_state=random_state,
                                             max_pairs=max_pairs)
                if agreement is None:
                    rows.append(dict(model=name, projection=method, same_cluster=np.nan, chance=np.nan, excess=np.nan,
                                     n_pairs=session.k, k=resolve_clusters(session, n_clusters),
                                     note="one point per pair: no pair lines to measure"))
                else:
                    rows.append(dict(model=name, projection=method, same_cluster=agreement.share,
                                     chance=agreement.baseline, excess=agreement.excess, n_pairs=agreement.n_pairs,
                                     k=agreement.n_clusters, note=""))
                bar.update(1)
    return pd.DataFrame(rows, columns=["model", "projection", "same_cluster", "chance", "excess", "n_pairs", "k", "note"])


class VisualClosing(ipw.HBox):
    """Two scatters of one session's pairs, each with its own projection, hover linked.

    ``VisualClosing(embeddings_or_session, projections=("umap-oos", "joint"))``; an
    :class:`~amumo_ng.widgets.Explorer`'s ``visual_closing()`` passes its session (hover then links
    with the Explorer too). ``scatters``: the two :class:`~amumo_ng.widgets.Scatter` widgets
    (``own_projection=True``: the session's projection is left alone). Lines are coloured by pair
    cosine (``line_color``); a joint layout's points are coloured by pair cosine on the same map.
    Each plot's title states its same-cluster share with ``n_clusters`` (see the module doc),
    measured when its points land; :attr:`agreements` holds them (None for a joint layout).
    """

    def __init__(self, data=None, *, session: Optional[Session] = None,
                 projections: Sequence[str] = ("umap-oos", "joint"), n_clusters: Union[int, str] = DEFAULT_CLUSTERS,
                 line_color: str = "cosine", view_size: int = 360, random_state: int = 0,
                 link_group: Optional[str] = None):
        from .scatter import Scatter

        if (data is None) == (session is None):
            raise TypeError("give either embeddings / a Session (data=...) or session=..., not both or neither")
        session = session if session is not None else _as_session(data)
        projections = list(projections)
        if len(projections) != 2:
            raise ValueError(f"VisualClosing shows two projections side by side, got {len(projections)}: {projections}")
        for method in projections:
            if method not in PROJECTION_LABELS:
                raise ValueError(f"unknown projection {method!r}; choose from {list(PROJECTION_LABELS)}")
        resolve_clusters(session, n_clusters)  # a bad k fails here, not in a background thread
        self.session = session
        self.n_clusters = n_clusters
        self.random_state = int(random_state)
        self.agreements: dict = {}
        self._measured = LRUCache(16)  # PairAgreement by (projection key, pairs in view)
        self.scatters = []
        for method in projections:
            extra = {}
            if method == "joint":  # no lines: the points carry the pair cosine, on the lines' map
                extra = dict(color_by="pair-cosine", colormap=cosine_line_lut().tobytes())
            scatter = Scatter(session=session, projection=method, own_projection=True, line_color=line_color,
                              view_size=int(view_size), link_group=link_group, **extra)
            scatter.observe(lambda change, s=scatter: self._retitle(s), names=["points"])
            self._retitle(scatter)
            self.scatters.append(scatter)
        super().__init__(self.scatters, layout=ipw.Layout(width="100%", flex_flow="row wrap"))

    def _retitle(self, scatter) -> None:
        """Measure the same-cluster share of the layout ``scatter`` shows now and put it in its title."""
        session, method = self.session, scatter.method
        projection = session.cached_projection(method)
        if projection is None:
            scatter.plot_title = f"{PROJECTION_LABELS.get(method, method)}: computing…"
            return
        key = (session.projection_key(method), session.indices_key())
        try:
            agreement = self._measured.get(key, lambda: projection_agreement(
                session, projection, self.n_clusters, random_state=self.random_state))
        except ValueError as exc:  # too few distinct points for k clusters, ...
            scatter.plot_title = f"{PROJECTION_LABELS.get(method, method)}: no same-cluster share ({exc})"
            return
        self.agreements[method] = agreement
        scatter.plot_title = _title(method, agreement, session.k)

    def wait(self, timeout: float = None) -> "VisualClosing":
        """Block until both projections are shown (and titled); returns self."""
        for scatter in self.scatters:
            scatter.wait_projection(timeout)
        return self
