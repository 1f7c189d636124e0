"""The gap-shift chart (Amumo's modality-gap widget): the loss against the shift along the gap.

A plotly FigureWidget on a :class:`~amumo_ng.session.Session`: the symmetric contrastive loss and
Amumo's compat loss (its published procedure: batches of 50) of the pairs the readout is about,
against the signed shift δ along their gap direction (see :mod:`amumo_ng.session.gap_shift`), with
the shift the views show now marked. Clicking a point applies that shift to every view of the
session (heatmap, scatter, readout). Above :data:`SYNC_PAIRS` pairs the curve is computed in a
worker thread, shift by shift with progress; a new view cancels it.
"""
from __future__ import annotations

import math
import threading

import numpy as np

#: Up to this many pairs the curve is computed before the chart returns; above, in the background.
SYNC_PAIRS = 1000
SYMMETRIC_COLOR, COMPAT_COLOR, MARK_COLOR = "#1f77b4", "#ff7f0e", "#d62728"
_WATCHED = ["model", "data_version", "indices", "gap_scope"]


class GapShiftChart:
    """``GapShiftChart(explorer_or_session, steps=31, deltas=None)``: ``widget`` to display,
    ``figure`` (plotly FigureWidget), ``status`` (ipywidgets HTML), ``curve`` (the
    :class:`~amumo_ng.session.gap_shift.GapShiftCurve` drawn, or None), ``error`` ('' or why
    there is no curve, e.g. a one-pair view). :meth:`apply` does what a click does."""

    def __init__(self, source, steps: int = 31, deltas=None, sync_pairs: int = SYNC_PAIRS):
        import ipywidgets as ipw
        import plotly.graph_objects as go

        self.session = getattr(source, "session", source)
        self.steps, self.deltas, self.sync_pairs = int(steps), deltas, int(sync_pairs)
        self.curve, self.error, self.shown_shift = None, "", 0.0
        self._cancel = threading.Event()
        self._thread = None
        self._lock = threading.RLock()
        fig = go.FigureWidget()
        fig.add_scatter(name="symmetric loss", mode="lines+markers", line=dict(color=SYMMETRIC_COLOR),
                        hovertemplate="δ = %{x:.3f}<br>loss = %{y:.4f}<br>%{text}<extra>symmetric</extra>")
        fig.add_scatter(name="compat (Amumo's published procedure: batches of 50)", mode="lines+markers",
                        line=dict(color=COMPAT_COLOR, dash="dash"),
                        hovertemplate="δ = %{x:.3f}<br>loss = %{y:.4f}<br>%{text}<extra>compat</extra>")
        fig.update_layout(height=320, margin=dict(l=55, r=15, t=40, b=45), hovermode="closest",
                          xaxis_title="shift δ along the gap direction (unit-sphere units; δ = ‖Δ‖ closes the gap)",
                          yaxis_title="contrastive loss (nats)", legend=dict(orientation="h", y=-0.3),
                          title=dict(text="loss vs gap shift — click a point to apply it", font=dict(size=13)))
        for trace in fig.data:
            trace.on_click(self._on_click)
        self.figure = fig
        self.status = ipw.HTML("")
        self.widget = ipw.VBox([self.status, fig])
        self.session.observe(self._refresh, names=_WATCHED)
        self.session.observe(self._mark, names=["gap_closed", "gap_fraction"])
        self._refresh(None)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop following the session (a running curve is cancelled) and close the widgets."""
        self._cancel.set()
        self.session.unobserve(self._refresh, names=_WATCHED)
        self.session.unobserve(self._mark, names=["gap_closed", "gap_fraction"])
        self.widget.close()

    def wait(self, timeout: float = None):
        """Block until the curve being computed is drawn; returns :attr:`curve`."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.curve

    def apply(self, delta: float) -> None:
        """Show every view of the session shifted by δ (what clicking the point at δ does)."""
        self.session.apply_shift(delta)

    def _on_click(self, trace, points, _state) -> None:
        if points.point_inds:
            self.apply(float(trace.x[points.point_inds[0]]))

    # -- the curve ----------------------------------------------------------------------------
    def _refresh(self, _change) -> None:
        from ..analysis.validation import EmbeddingError

        self._cancel.set()
        cancel = self._cancel = threading.Event()
        session = self.session
        scope, idx = session.gap_pairs()
        n = session.n_total if idx is None else int(idx.size)
        self.curve = None
        try:
            if n < 2:
                raise EmbeddingError(f"the gap-shift chart needs at least 2 pairs (a loss over {n} pair"
                                     f"{'' if n == 1 else 's'} says nothing); widen the filter")
            cached = session.cached_gap_shift_curve(self.steps) if self.deltas is None else None
            if cached is not None or n <= self.sync_pairs:
                self._draw(cached or session.gap_shift_curve(self.deltas, self.steps))
                return
        except EmbeddingError as exc:
            self._show_error(str(exc))
            return
        self._draw_empty(f"computing the loss at {self.steps if self.deltas is None else len(self.deltas)} shifts "
                         f"of {n:,} pairs…")

        def progress(done, total):
            if not cancel.is_set():
                self.status.value = self._header(n) + f" · computing the loss: {done}/{total} shifts"

        def work():
            from ..session.readouts import ReadoutCancelled

            try:
                curve = session.gap_shift_curve(self.deltas, self.steps, progress=progress, cancel=cancel)
            except ReadoutCancelled:
                return
            except EmbeddingError as exc:
                if not cancel.is_set():
                    self._show_error(str(exc))
                return
            if not cancel.is_set():
                self._draw(curve)

        self._thread = threading.Thread(target=work, name="amumo-gap-shift", daemon=True)
        self._thread.start()

    def _header(self, n: int) -> str:
        scope, _ = self.session.gap_pairs()
        where = "all pairs" if scope == "all" else "pairs in view"
        return f"<b>{self.session.model}</b>: {n:,} {where}"

    def _show_error(self, message: str) -> None:
        self.error = message
        self._draw_empty("")
        self.status.value = f"<span style='color:#b00'>{message}</span>"

    def _draw_empty(self, note: str) -> None:
        with self._lock, self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y, trace.text = [], [], []
            self.figure.layout.shapes, self.figure.layout.annotations = [], []
        if note:
            self.status.value = self._header(self.session.k) + " · " + note

    def _draw(self, curve) -> None:
        self.error, self.curve = "", curve
        text = [f"signed gap after the shift: {d:.3f}" for d in curve.distances]
        with self._lock, self.figure.batch_update():
            sym, compat = self.figure.data
            sym.x, sym.y, sym.text = curve.deltas, curve.losses, text
            has_compat = bool(np.isfinite(curve.compat_losses).any())
            compat.x = curve.deltas if has_compat else []
            compat.y = [None if math.isnan(v) else float(v) for v in curve.compat_losses] if has_compat else []
            compat.text = text if has_compat else []
        batch = "exact over all pairs" if curve.loss_batch_size is None else \
            f"exact per batch of {curve.loss_batch_size:,} pairs"
        compat_note = "" if has_compat else " · compat needs at least 50 pairs"
        self.status.value = (self._header(curve.n) + f" · ‖Δ‖ = {curve.gap_distance:.4f} · symmetric loss "
                             f"{batch}{compat_note} · click a point to apply its shift")
        self._mark(None)

    def _mark(self, _change) -> None:
        """Vertical lines at δ = 0 (as trained), δ = ‖Δ‖ (closed) and the shift shown now."""
        curve = self.curve
        if curve is None:
            return
        shown = float(self.session.gap_fraction) * curve.gap_distance if self.session.gap_closed else 0.0
        lines = [(0.0, "as trained", "#888", "dot"), (curve.gap_distance, "gap closed", "#888", "dot"),
                 (shown, "shown now", MARK_COLOR, "solid")]
        shapes = [dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                       line=dict(color=color, dash=dash, width=2 if name == "shown now" else 1))
                  for x, name, color, dash in lines]
        notes = [dict(x=x, y=1.0 if name == "shown now" else 0.92, xref="x", yref="paper", text=name,
                      showarrow=False, font=dict(size=10, color=color), yanchor="bottom")
                 for x, name, color, _ in lines]
        with self._lock, self.figure.batch_update():
            self.figure.layout.shapes, self.figure.layout.annotations = shapes, notes
        self.shown_shift = shown
