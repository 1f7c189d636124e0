"""ClusterPanel: cluster the Explorer's current model, colour its scatter by the clusters, select one.

Controls: method (k-means, agglomerative, HDBSCAN, DEC), what is clustered (image, text or joint
pair vectors, gap open or closed over all pairs), k, and a ground-truth ``meta`` column to score
against. "cluster" runs :func:`~amumo_ng.analysis.clustering.cluster_vectors` on ALL pairs of the
current model, writes the labels as the meta column ``cluster (<method>, <input>)`` (values
"NN: <caption n-grams>", "noise" for HDBSCAN's −1; :func:`~amumo_ng.session.meta_columns.add_meta_column`),
switches the Explorer's colour-by to it, and lists the clusters with their sizes; picking one sets
the session's selection to its pairs ("only the selected cluster" also restricts the heatmap to them).
The quality line gives ARI / NMI against the chosen column, or the cosine silhouette without one.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..analysis.clustering import (CLUSTER_INPUTS, CLUSTER_METHODS, cluster_names, cluster_vectors,
                                   clustering_input, clustering_quality)
from ..session.meta_columns import PROTECTED, add_meta_column

__all__ = ["ClusterPanel"]

NO_TRUTH = "(none: silhouette)"


def _truth_columns(meta) -> list[str]:
    """Meta columns that can be ground truth: not id/caption, not free text, not our own cluster columns."""
    out = []
    for col in meta.columns:
        if col in PROTECTED or str(col).startswith("cluster ("):
            continue
        if 2 <= meta[col].nunique(dropna=True) <= 200:
            out.append(str(col))
    return out


class ClusterPanel:
    """``ClusterPanel(explorer_or_session, method="kmeans", k=8, which="image", truth=None)``.

    ``dec_options`` go to :func:`~amumo_ng.analysis.dec.fit_dec`; ``min_cluster_size`` to HDBSCAN.
    ``widget``: what to display; ``run()`` clusters (the button does the same) and returns the
    :class:`~amumo_ng.analysis.clustering.Clustering`; ``select(c)`` selects cluster c's pairs
    (``None``: clears). After a run: ``clustering``, ``quality``
    (:class:`~amumo_ng.analysis.clustering.ClusterQuality`), ``column`` (the meta column written),
    ``names`` ({cluster: caption label}).
    """

    def __init__(self, source, method: str = "kmeans", k: int = 8, which: str = "image", truth: Optional[str] = None,
                 gap_closed: bool = False, seed: int = 0, dec_options: Optional[dict] = None,
                 min_cluster_size: Optional[int] = None):
        import ipywidgets as ipw

        self.session = getattr(source, "session", source)
        self.explorer = source if hasattr(source, "color_by") else None
        self.seed, self.dec_options, self.min_cluster_size = int(seed), dec_options, min_cluster_size
        self.clustering = self.quality = None
        self.column, self.names = "", {}
        columns = _truth_columns(self.session.embeddings.meta)
        self.method = ipw.Dropdown(options=list(CLUSTER_METHODS), value=method, description="method")
        self.which = ipw.Dropdown(options=list(CLUSTER_INPUTS), value=which, description="vectors")
        self.gap = ipw.Checkbox(value=bool(gap_closed), description="gap closed", indent=False)
        self.k = ipw.BoundedIntText(value=int(k), min=1, max=max(1, self.session.n_total), description="k")
        self.truth = ipw.Dropdown(options=[NO_TRUTH, *columns], value=truth if truth in columns else NO_TRUTH,
                                  description="truth")
        self.button = ipw.Button(description="cluster", button_style="primary")
        self.status = ipw.HTML("")
        self.clusters = ipw.Select(options=[], rows=8, description="clusters", layout=ipw.Layout(width="95%"))
        self.only = ipw.Checkbox(value=False, description="only the selected cluster in the heatmap", indent=False)
        self.button.on_click(lambda _b: self._run_safely())
        self.clusters.observe(self._on_pick, names="value")
        self.only.observe(lambda change: setattr(self.session, "selection_filter", bool(change["new"])), names="value")
        self.widget = ipw.VBox([ipw.HBox([self.method, self.which, self.gap]), ipw.HBox([self.k, self.truth, self.button]),
                                self.status, self.clusters, self.only])

    def _run_safely(self) -> None:
        try:
            self.run()
        except ValueError as exc:  # bad k, a one-class truth column: shown, not raised into the event loop
            self.status.value = f"<span style='color:#b00'>{exc}</span>"

    def run(self):
        """Cluster all pairs of the current model with the panel's settings; see the module docstring."""
        session, method, which = self.session, self.method.value, self.which.value
        emb = session.embeddings
        self.status.value = f"clustering {emb.n:,} {which} vectors by {method}…"
        x = clustering_input(emb.image, emb.text, which, gap_closed=self.gap.value)
        run = cluster_vectors(x, method, int(self.k.value), seed=self.seed, dec_options=self.dec_options,
                              min_cluster_size=self.min_cluster_size)
        truth = None if self.truth.value == NO_TRUTH else emb.meta[self.truth.value]
        quality = clustering_quality(run.labels, truth, x)
        names = cluster_names(emb.captions, run.labels) if run.k else {}
        width = len(str(run.k))
        label_of = {c: f"{c + 1:0{width}d}: {names.get(c, '')}".rstrip(": ") for c in range(run.k)}
        values = np.array([label_of[c] if c >= 0 else "noise" for c in run.labels.tolist()], dtype=object)
        column = f"cluster ({method}, {which}{', gap closed' if self.gap.value else ''})"
        add_meta_column(session, column, values)
        self.clustering, self.quality, self.column, self.names = run, quality, column, names
        if self.explorer is not None:
            self.explorer.color_by = f"meta:{column}"
        sizes = run.sizes
        self.clusters.unobserve(self._on_pick, names="value")
        self.clusters.options = [(f"{label_of[c]} ({sizes[c]} pairs)", c) for c in range(run.k)] + (
            [(f"noise ({run.n_noise} pairs)", -1)] if run.n_noise else [])
        self.clusters.value = None
        self.clusters.observe(self._on_pick, names="value")
        self.status.value = self._summary(run, quality)
        return run

    @staticmethod
    def _summary(run, quality) -> str:
        if run.k == 0:
            return f"<b>{run.note}</b>"
        parts = [f"{run.k} clusters"]
        if not np.isnan(quality.ari):
            parts.append(f"ARI {quality.ari:.3f} · NMI {quality.nmi:.3f} vs truth ({quality.n_classes} classes, "
                         f"{quality.n_scored} pairs)")
        if not np.isnan(quality.silhouette):
            parts.append(f"silhouette {quality.silhouette:.3f} (cosine)")
        if run.note:
            parts.append(run.note)
        return " · ".join(parts)

    def _on_pick(self, change) -> None:
        self.select(change["new"])

    def select(self, cluster: Optional[int]) -> list[int]:
        """Set the session's selection to the pairs of ``cluster`` (−1: the noise; None: clear). Returns it."""
        if self.clustering is None:
            raise ValueError("run the clustering first")
        if cluster is None:
            self.session.selection = []
            return []
        cluster = int(cluster)
        if not -1 <= cluster < self.clustering.k:
            raise ValueError(f"no cluster {cluster}; there are {self.clustering.k} (and -1 for noise)")
        members = np.flatnonzero(self.clustering.labels == cluster).tolist()
        self.session.selection = members
        if self.clusters.value != cluster:
            self.clusters.value = cluster
        return members
