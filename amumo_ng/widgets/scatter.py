"""The projection scatter plot: point positions shipped as binary float32, computed off-thread.

Points are laid out in the stacked convention: ``0..n-1`` the images of pairs ``0..n-1``,
``n..2n-1`` their texts (``point_kind == "modality"``); a joint projection has one point per
pair (``point_kind == "pair"``). Positions are scaled into [-0.95, 0.95] keeping the aspect ratio,
by a robust box (outliers clamped to the edge and flagged in ``point_clamped``).

Pair lines are grey, or coloured by each pair's cosine (``line_color = "cosine"``, see
:mod:`.line_colors`). A standalone :class:`Scatter` follows the session's projection, or shows its
own (``own_projection=True``: two scatters of one session side by side, see :mod:`.visual_closing`).
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import traitlets as t

from ..session import PROJECTION_SCOPES, PROJECTIONS
from .base import SessionWidget, serialized
from .colormap import viridis_lut
from .line_colors import LINE_COLOR_OPTIONS, cosine_line_lut, cosine_line_range
from .scatter_colors import ColorByMixin
from .point_layout import point_rows, scale_to_view

PROJECTION_LABELS = dict(PROJECTIONS)
#: Above this many pairs the pair lines start switched off; turned on, the browser draws the lines of
#: the pairs in view (when at most 20,000) or of the selection instead of all of them.
LINES_DEFAULT_LIMIT = 100_000


def normalize_points(xy: np.ndarray, fit_rows=None) -> np.ndarray:
    """float32 [m, 2] in [-0.95, 0.95], one scale for both axes (distances keep their ratios):
    the robust box of the rows ``fit_rows`` (all when None) fills the square, points outside it are
    clamped to the edge (see :func:`~amumo_ng.widgets.point_layout.scale_to_view`, which also
    returns which points were clamped). Fewer than 200 points: the bounding box. A single point
    (or all equal) goes to the origin."""
    return scale_to_view(xy, fit_rows)[0]


class PointLayout(NamedTuple):
    """``positions`` float32 [m, 2] in [-0.95, 0.95]; ``kind`` "modality" or "pair"; ``clamped``
    uint8 [m], 1 where a point lay outside the robust box and was moved to the edge."""

    positions: np.ndarray
    kind: str
    clamped: np.ndarray


def layout_points(projection, indices=None) -> PointLayout:
    """The scatter layout of a :class:`~amumo_ng.analysis.projection.Projection`.

    ``indices`` (pair indices, e.g. the pairs in view): the scale is fitted to their points only
    (image ``i`` and text ``n + i`` of each pair, or pair ``i`` of a joint projection); all points
    are laid out. None: fitted to every point."""
    if getattr(projection, "pair_xy", None) is not None and projection.image_xy is None:
        xy, kind = np.asarray(projection.pair_xy), "pair"
    else:
        xy = np.concatenate([np.asarray(projection.image_xy), np.asarray(projection.text_xy)])
        kind = "modality"
    n_pairs = len(xy) if kind == "pair" else len(xy) // 2
    every = indices is None or len(indices) == n_pairs  # session indices are sorted and unique
    rows = None if every else point_rows(indices, n_pairs, kind)
    positions, clamped = scale_to_view(xy, rows)
    return PointLayout(positions, kind, clamped)


class ScatterMixin(t.HasTraits):
    """Scatter traits and the projection life cycle; mixed into :class:`Scatter` and the Explorer."""

    projection = t.Unicode("pca").tag(sync=True)
    projections = t.List(t.List(t.Unicode()), [list(p) for p in PROJECTIONS]).tag(sync=True)
    points = t.Bytes(b"", help="float32 [m, 2] positions in [-1, 1]").tag(sync=True)
    point_clamped = t.Bytes(b"", help="uint8 [m]: 1 where a point lay outside the robust box of the "
                            "points and was clamped to the edge").tag(sync=True)
    point_kind = t.Unicode("modality").tag(sync=True)
    points_model = t.Unicode("", help="model whose pairs the points show").tag(sync=True)
    show_lines = t.Bool(True, help="connect the two members of each pair").tag(sync=True)
    projection_scope = t.Unicode("all", help="'all': fit all pairs, dim those not in view; "
                                             "'view': re-project the pairs in view").tag(sync=True)
    projection_scopes = t.List(t.List(t.Unicode()), [list(p) for p in PROJECTION_SCOPES]).tag(sync=True)
    projection_status = t.Unicode("", help="what is being computed ('' when idle)").tag(sync=True)
    projection_progress = t.Float(0.0).tag(sync=True)
    projection_note = t.Unicode("", help="a remark on the points shown that is not work in progress").tag(sync=True)
    line_color = t.Enum([v for v, _ in LINE_COLOR_OPTIONS], default_value="grey",
                        help="pair lines: 'grey', or 'cosine' (each line coloured by its pair's cosine)").tag(sync=True)
    line_color_options = t.List(t.List(t.Unicode()), [list(o) for o in LINE_COLOR_OPTIONS]).tag(sync=True)
    line_colormap = t.Bytes(cosine_line_lut().tobytes(), help="uint8 [256, 3] RGB of the cosine line colours "
                            "(0: the range's low end, 255: its high end)").tag(sync=True)
    line_color_range = t.List(t.Float(), [], help="(low, high) pair cosines of the line colour map's ends, "
                              "over the pairs in view ([] while lines are grey)").tag(sync=True)

    #: True: the scatter shows its own ``projection`` instead of following the session's.
    _own_projection = False

    @t.validate("projection")
    def _check_projection(self, proposal):
        if proposal["value"] not in PROJECTION_LABELS:
            raise t.TraitError(f"unknown projection {proposal['value']!r}; choose one of {list(PROJECTION_LABELS)}")
        return proposal["value"]

    @property
    def method(self) -> str:
        """The projection method this scatter shows (its own, or the session's)."""
        return self.projection if self._own_projection else self.session.projection

    def _init_scatter(self) -> None:
        self._job = None
        self._job_token = None
        self._job_lock = threading.Lock()
        if self.session.n_total > LINES_DEFAULT_LIMIT:  # 2n spline lines cost more than the points
            self.show_lines = False
        watched = ["projection_scope", "gap_closed", "gap_fraction", "gap_scope", "model", "data_version", "indices"]
        if self._own_projection:
            self.observe(self._refresh_scatter, names=["projection"])
        else:
            t.link((self.session, "projection"), (self, "projection"))
            watched.append("projection")
        t.link((self.session, "projection_scope"), (self, "projection_scope"))
        self._shown_key = None
        self._drawn = None  # (model, method) of the points on screen
        self.session.observe(self._refresh_scatter, names=watched)
        self.observe(self._refresh_line_range, names=["line_color", "pair_cosines"])
        self.session.observe(self._refresh_line_range, names=["indices"])
        self._refresh_scatter(None)

    def _refresh_line_range(self, _change) -> None:
        """``line_color_range`` of the pair cosines of the pairs in view ([] with grey lines)."""
        cosines = np.frombuffer(getattr(self, "pair_cosines", b"") or b"", dtype=np.float32)
        if self.line_color != "cosine" or cosines.size != self.session.n_total:
            self.line_color_range = []
            return
        every = self.session.k == cosines.size
        self.line_color_range = list(cosine_line_range(cosines, None if every else self.session.indices))

    @serialized
    def _show(self, projection) -> None:
        """Lay ``projection`` out scaled to the pairs in view (robust box) and send it."""
        xy, kind, clamped = layout_points(projection, self.session.indices)
        fitted = projection.params.get("fitted_on")
        self._drawn = (self.session.model, projection.method)
        with self.hold_sync():
            self.projection_note = f"fitted on the {fitted:,} pairs in view" if fitted else ""
            self.point_kind = kind
            self.points = np.ascontiguousarray(xy).tobytes()
            self.point_clamped = np.ascontiguousarray(clamped, dtype=np.uint8).tobytes()
            self.points_model = self.session.model
            self.projection_status = ""
            self.projection_progress = 1.0

    def cancel_projection(self) -> None:
        """Cancel a running projection job (its result is dropped)."""
        with self._job_lock:
            job, self._job, self._job_token = self._job, None, None
        if job is not None:
            job.cancel()

    def handle_cancel_projection(self, content) -> tuple[dict, list]:
        """``{"type": "cancel_projection"}``: stop the projection being computed and go back to the
        method whose points are on screen (the menu then shows what is drawn)."""
        running = self._job is not None and not self._job.done()
        self.cancel_projection()
        if running and self._drawn is not None and self._drawn[0] == self.session.model:
            label = PROJECTION_LABELS.get(self.method, self.method)
            if self._own_projection:
                self.projection = self._drawn[1]
            else:
                self.session.projection = self._drawn[1]
            self.projection_note = f"{label} cancelled"
        with self.hold_sync():
            self.projection_status = ""
            self.projection_progress = 1.0
        return {"type": "cancel_projection", "req": content.get("req"), "cancelled": running}, []

    def _refresh_scatter(self, change) -> None:
        session = self.session
        # a new view (filter, selection) changes the projection only when it is fitted on the view
        # or the gap is closed over the view; otherwise the projection shown stays and is only
        # scaled again to fit the pairs now in view
        method = self.method
        key = (session.model, session.projection_key(method))
        if change is not None and key == self._shown_key:
            # one user action can fire several changes (a model switch changes the indices too):
            # a projection already shown or being computed for this key is neither restarted nor
            # cancelled; only a new view of shown points is scaled again
            if self._job is None or self._job.done():
                cached = session.cached_projection(method)
                if cached is not None:
                    self._show(cached)
            return
        self._shown_key = key
        self.cancel_projection()
        if session.n_total < 2:  # nothing to project: image left, text right
            with self.hold_sync():
                self.point_kind = "modality"
                self.points = np.array([[-0.5, 0.0], [0.5, 0.0]], np.float32).tobytes()
                self.point_clamped = bytes(2)
                self.points_model = session.model
                self.projection_status = ""
                self.projection_note = "one pair: nothing to project"
                self.projection_progress = 1.0
            return
        cached = session.cached_projection(method)
        if cached is not None:
            self._show(cached)
            return
        if method == "pca":  # milliseconds: no thread needed
            self._show(session.compute_projection(method))
            return
        token = object()
        landed = self._landed = threading.Event()  # set once the result is shown (or dropped)
        label = PROJECTION_LABELS.get(method, method)
        with self.hold_sync():
            self.projection_status = f"computing {label}…"
            self.projection_progress = 0.0

        def on_progress(fraction, message=""):
            if self._job_token is token:
                self.projection_progress = float(fraction)
                self.projection_status = f"computing {label}… {message}".strip()

        def on_done(result):
            try:
                if self._job_token is not token:
                    return  # superseded or cancelled
                if isinstance(result, BaseException):
                    self.projection_status = f"{label} failed: {type(result).__name__}: {result}"
                    return
                self._show(result)
            finally:
                landed.set()

        with self._job_lock:
            self._job_token = token
        job = session.start_projection(method, on_done=on_done, on_progress=on_progress)
        with self._job_lock:
            if self._job_token is token:
                self._job = job

    def wait_projection(self, timeout: float = None):
        """Block until the running projection (if any) finishes and its points are sent (or its
        failure shown); returns its result or None."""
        job, landed = self._job, getattr(self, "_landed", None)
        if job is None:
            return None
        result = job.result(timeout)
        if landed is not None:
            landed.wait(timeout)
        return result


class Scatter(ScatterMixin, ColorByMixin, SessionWidget):
    """2-D projection of both modalities of one model's pairs, on its own.

    Images and texts are coloured per modality; lines join the two members of a pair
    (``show_lines``), grey or coloured by the pair's cosine (``line_color="cosine"``). Shift+drag
    (or the lasso button) selects; ``.selection`` holds the pair indices.
    ``Scatter(embeddings, projection="umap")`` or ``Scatter(session=...)``.

    By default the scatter follows the session's projection (``projection`` sets the session's).
    ``own_projection=True`` gives it a projection of its own (``projection``, default "pca"): the
    session's stays as it is, so two scatters of one session (and one link group: hover is
    linked) can show two projections of the same pairs side by side. ``plot_title`` is shown above
    the plot when not empty.
    """

    _bundle_name = "scatter"

    plot_title = t.Unicode("", help="a line shown above the plot ('' for none)").tag(sync=True)
    colormap = t.Bytes(viridis_lut().tobytes(), help="uint8 [256, 3] RGB ramp of numeric colour-by choices "
                       "(the heatmap's viridis, as in the Explorer)").tag(sync=True)

    def __init__(self, data=None, *, projection: str = None, own_projection: bool = False, **kwargs):
        self._own_projection = bool(own_projection)
        super().__init__(data, **kwargs)
        if self._own_projection:
            self.projection = projection or "pca"
        elif projection is not None:
            self.session.projection = projection
        self._init_scatter()
        self._init_colors()

    def save_png(self, path, *, scale: int = 1, legend: bool = True, lines=None):
        """Save the scatter as the browser first draws it to a PNG file (``view_size`` x ``scale``
        px, the legend under it; ``lines``: pair lines, default ``show_lines``). Returns the path;
        see :func:`amumo_ng.widgets.export_png.scatter_image`."""
        from .export_png import save_scatter_png

        return save_scatter_png(self, path, scale=scale, legend=legend, lines=lines)
