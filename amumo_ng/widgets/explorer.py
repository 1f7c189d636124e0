"""The Explorer: heatmap, scatter, controls and hover panel of one Session in one widget.

All views live in one anywidget so hover highlighting is browser-side; Explorers that share
a ``link_group`` (see :class:`~amumo_ng.widgets.comparison.Comparison`) also share hover
through a window-level event bus.
"""
from __future__ import annotations

import math
import threading

import traitlets as t

from ..session import QUADRANTS
from .base import SessionWidget
from .heatmap import HeatmapMixin
from .scatter import ScatterMixin

#: Up to this many pairs the gap/loss readout is computed before the Explorer returns.
READOUT_SYNC_LIMIT = 2000

#: Session traits the Explorer's controls set (two-way linked).
CONTROL_TRAITS = (
    "model", "filter_pattern", "filter_regex", "gap_closed", "cluster", "cluster_quadrant",
    "selection_filter",
)


def _clean(value: float):
    """JSON-safe float (NaN -> None)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class Explorer(HeatmapMixin, ScatterMixin, SessionWidget):
    """Linked similarity heatmap, projection scatter and hover panel with controls.

    Parameters
    ----------
    data : Embeddings or dict[str, Embeddings]
        One model's embeddings, or several keyed by name (a model dropdown).
    session : Session, optional
        Drive this Explorer from an existing session instead.
    title : str, optional
        Shown above the views.
    **kwargs
        Initial state, e.g. ``gap_closed=True``, ``cluster=True``, ``projection="umap"``,
        ``filter_pattern="red"``, ``grid=512``.

    Attributes
    ----------
    selection : list[int]
        Pair indices selected by lasso in the scatter (sorted).
    session : Session
        The state and derived data behind the views.
    """

    _bundle_name = "explorer"
    _synced_session_traits = CONTROL_TRAITS

    title = t.Unicode("").tag(sync=True)
    filter_pattern = t.Unicode("").tag(sync=True)
    filter_regex = t.Bool(False).tag(sync=True)
    filter_error = t.Unicode("").tag(sync=True)
    gap_closed = t.Bool(False).tag(sync=True)
    gap_readout = t.Dict().tag(sync=True)
    cluster = t.Bool(False).tag(sync=True)
    cluster_quadrant = t.Unicode("image-image").tag(sync=True)
    quadrants = t.List(t.List(t.Unicode()), [list(q) for q in QUADRANTS]).tag(sync=True)
    selection_filter = t.Bool(False).tag(sync=True)

    def __init__(self, data=None, *, session=None, link_group=None, title: str = "", **state):
        session_state = {k: state.pop(k) for k in list(state) if k in CONTROL_TRAITS + ("projection",)}
        super().__init__(data, session=session, link_group=link_group, title=title, **state)
        t.dlink((self.session, "filter_error"), (self, "filter_error"))
        for name, value in session_state.items():
            setattr(self.session, name, value)
        self.session.observe(self._refresh_readout, names="model")
        self._refresh_readout(None)
        self._init_heatmap()
        self._init_scatter()

    def _refresh_readout(self, _change) -> None:
        """Gap/loss readout of the current model: at once for small sets, else in a worker
        thread (the loss costs O(n²·d)); ``{"pending": True}`` meanwhile."""
        session, model = self.session, self.session.model

        def publish():
            readouts = session.readouts()
            if session.model == model:
                self.gap_readout = {k: _clean(v) for k, v in readouts.items()}

        if session.n_total <= READOUT_SYNC_LIMIT:
            publish()
            return
        self.gap_readout = {"pending": True, "n": session.n_total}
        self._readout_thread = threading.Thread(target=publish, name="amumo-readout", daemon=True)
        self._readout_thread.start()

    def wait_readout(self, timeout: float = None) -> dict:
        """Block until the gap/loss readout is computed; returns it."""
        thread = getattr(self, "_readout_thread", None)
        if thread is not None:
            thread.join(timeout)
        return self.gap_readout

    @classmethod
    def compare(cls, left, right=None, **kwargs):
        """Two models side by side with synchronised hover: ``compare(emb_a, emb_b)`` or
        ``compare({"clip": a, "cyclip": b})``; see :class:`~amumo_ng.widgets.comparison.Comparison`."""
        from .comparison import Comparison

        return Comparison(left, right, **kwargs)
