"""The Explorer: heatmap, scatter, controls and hover panel of one Session in one widget.

All views live in one anywidget so hover highlighting is browser-side; Explorers that share
a ``link_group`` (see :class:`~amumo_ng.widgets.comparison.Comparison`) also share hover
through a window-level event bus.
"""
from __future__ import annotations

import threading

import numpy as np

import traitlets as t

from ..session import GAP_SCOPES, QUADRANTS
from .base import SessionWidget
from .augment_control import AugmentControlMixin
from .heatmap import HeatmapMixin
from .path_overlay import PathOverlayMixin
from .prompt_search import PromptSearchMixin
from .readout_panel import READOUT_SYNC_LIMIT, ReadoutPanelMixin  # noqa: F401 (re-exported)
from .scatter import ScatterMixin
from .scatter_colors import ColorByMixin
from .outlier_list import OutlierListMixin
from .search import SearchMixin


#: From this many pairs the Explorer computes the PCA and the heatmap side by side (two threads).
PREFETCH_PAIRS = 50_000

#: Session traits the Explorer's controls set (two-way linked).
CONTROL_TRAITS = (
    "model", "filter_pattern", "filter_regex", "gap_closed", "gap_scope", "cluster", "cluster_quadrant",
    "cluster_leaf_order", "selection_filter", "order_by",
)


class Explorer(PathOverlayMixin, PromptSearchMixin, HeatmapMixin, ScatterMixin, ColorByMixin, SearchMixin,
               AugmentControlMixin, OutlierListMixin, ReadoutPanelMixin, SessionWidget):
    """Linked similarity heatmap, projection scatter and hover panel with controls.

    Parameters
    ----------
    data : Embeddings or dict[str, Embeddings]
        One model's embeddings, or several keyed by name (a model dropdown).
    session : Session, optional
        Drive this Explorer from an existing session instead.
    title : str, optional
        Shown above the views.
    encoders : dict[str, encoder], optional
        Encoders by model name for embeddings that do not carry theirs (precomputed arrays), so the
        augmentation control can encode transformed images.
    **kwargs
        Initial state, e.g. ``gap_closed=True``, ``cluster=True``, ``projection="umap"``,
        ``filter_pattern="red"``, ``grid=512``.

    Interpolation and retrieval: the hover panel sets the session's ``path_start`` / ``path_end``,
    :meth:`strip` makes an InterpolationStrip on the same session whose path the scatter draws, and
    :meth:`search_prompt` highlights a typed prompt's nearest images and texts in every view.

    Attributes
    ----------
    selection : list[int]
        Pair indices selected by lasso in the scatter (sorted).
    session : Session
        The state and derived data behind the views.
    """

    _bundle_name = "explorer"
    _synced_session_traits = CONTROL_TRAITS
    _defer_captions = True  # sent once a view renders (see SessionWidget._defer_captions)

    title = t.Unicode("").tag(sync=True)
    filter_pattern = t.Unicode("").tag(sync=True)
    filter_regex = t.Bool(False).tag(sync=True)
    filter_error = t.Unicode("").tag(sync=True)
    gap_closed = t.Bool(False).tag(sync=True)
    gap_scope = t.Unicode("view", help="pairs the gap is closed and read out on: 'view' or 'all'").tag(sync=True)
    gap_scopes = t.List(t.List(t.Unicode()), [list(g) for g in GAP_SCOPES]).tag(sync=True)
    cluster = t.Bool(False).tag(sync=True)
    cluster_quadrant = t.Unicode("image-image").tag(sync=True)
    quadrants = t.List(t.List(t.Unicode()), [list(q) for q in QUADRANTS]).tag(sync=True)
    cluster_leaf_order = t.Unicode("dendrogram").tag(sync=True)
    selection_filter = t.Bool(False).tag(sync=True)

    def __init__(self, data=None, *, session=None, link_group=None, title: str = "", encoders=None, **state):
        session_state = {k: state.pop(k) for k in list(state)
                         if k in CONTROL_TRAITS + ("projection", "projection_scope")}
        super().__init__(data, session=session, link_group=link_group, title=title, **state)
        t.dlink((self.session, "filter_error"), (self, "filter_error"))
        for name, value in session_state.items():
            setattr(self.session, name, value)
        prefetch = self._prefetch_projection()
        self._init_heatmap()
        if prefetch is not None:
            prefetch.join()
        self._init_scatter()
        self._init_colors()
        self._init_augment(encoders)
        self._init_prompt_search()
        self._init_path_overlay()
        self._captions_deferred_until_rendering()
        # background work last: the views are built first, with the cores to themselves
        self._init_readout()
        self._init_outliers()
        self._warm_up_clustering()

    def _warm_up_clustering(self) -> None:
        """Import what the first clustering needs (scipy's hierarchy, scikit-learn's stop words for the
        cluster names: about 1.2 s together) in a worker thread once the readout is done, so the first
        click on "cluster" does not pay for the imports. Nothing is computed."""
        def work():
            readout = getattr(self, "_readout_thread", None)
            if readout is not None:  # the readout first: it owns the cores
                readout.join()
            import scipy.cluster.hierarchy  # noqa: F401
            import sklearn.feature_extraction.text  # noqa: F401

        threading.Thread(target=work, name="amumo-warm-up", daemon=True).start()

    def _prefetch_projection(self):
        """Above PREFETCH_PAIRS pairs, a thread that computes (and caches) the PCA the scatter will
        show while the heatmap's levels of detail are computed (both O(n·d), numpy releases the GIL),
        so the first paint waits for the longer of the two, not their sum. None below."""
        session = self.session
        if session.n_total < PREFETCH_PAIRS or session.projection != "pca" or session.cached_projection() is not None:
            return None
        session.vectors()  # the unit vectors both need, made once (here) before they split
        thread = threading.Thread(target=session.compute_projection, name="amumo-pca", daemon=True)
        thread.start()
        return thread

    def selected(self):
        """The lasso selection as a pandas DataFrame, one row per selected pair: ``index`` (pair
        index), ``caption``, the ``meta`` columns, and ``pair_cosine`` (cosine similarity of the
        pair's image and text vectors as shown: gap-closed when the gap is closed)."""
        import pandas as pd

        session = self.session
        idx = np.asarray(session.selection, dtype=np.int64)
        img, txt = session.vectors()
        emb = session.embeddings
        frame = pd.DataFrame({"index": idx, "caption": [emb.captions[i] for i in idx],
                              "pair_cosine": np.einsum("ij,ij->i", img[idx], txt[idx]).astype(np.float32)})
        meta = getattr(emb, "meta", None)
        if meta is not None and len(meta.columns):
            extra = meta.iloc[idx].reset_index(drop=True)
            extra = extra[[c for c in extra.columns if c not in frame.columns]]
            frame = pd.concat([frame[["index", "caption"]], extra, frame[["pair_cosine"]]], axis=1)
        return frame

    def save_png(self, path, *, views=("heatmap", "scatter"), scale: int = 1, legend: bool = True) -> dict:
        """Save the views as PNG files beside ``path``: ``ex.png`` -> ``ex-heatmap.png`` and
        ``ex-scatter.png`` (see :meth:`SimilarityHeatmap.save_png`, :meth:`Scatter.save_png`).
        Returns {view: path}."""
        from .export_png import save_explorer_png

        return save_explorer_png(self, path, views=views, scale=scale, legend=legend)

    def to_html(self, path, **options):
        """Write these views as ONE self-contained HTML file (opens from ``file://``, offline, no
        kernel): hover, zoom and pan work from what it carries. ``options``: ``max_bytes``,
        ``thumb_size``, ``vectors``, ``strict`` of :func:`amumo_ng.widgets.export_html.to_html`.
        Returns an :class:`~amumo_ng.widgets.export_html.HtmlExport` saying what was carried and dropped."""
        from .export_html import to_html

        return to_html(self, path, **options)

    def gap_shift_chart(self, **kwargs):
        """The loss against the shift along the gap on this Explorer's session; clicking a point
        applies its shift to these views (see :class:`~amumo_ng.widgets.gap_shift_chart.GapShiftChart`)."""
        from .gap_shift_chart import GapShiftChart

        return GapShiftChart(self, **kwargs)

    def visual_closing(self, projections=("umap-oos", "joint"), **kwargs):
        """Two projections of this Explorer's pairs side by side (hover linked with these views),
        lines coloured by pair cosine, each titled with its same-cluster share; the Explorer's own
        projection is left alone. See :class:`~amumo_ng.widgets.visual_closing.VisualClosing`."""
        from .visual_closing import VisualClosing

        return VisualClosing(session=self.session, projections=projections, link_group=self.link_group, **kwargs)

    @classmethod
    def compare(cls, left, right=None, **kwargs):
        """Two models side by side with synchronised hover: ``compare(emb_a, emb_b)`` or
        ``compare({"clip": a, "cyclip": b})``; see :class:`~amumo_ng.widgets.comparison.Comparison`."""
        from .comparison import Comparison

        return Comparison(left, right, **kwargs)
