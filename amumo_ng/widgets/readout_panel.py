"""The Explorer's gap/loss readout: computed in the background with progress, cancellable.

Small views (up to :data:`READOUT_SYNC_LIMIT` pairs) are read out before the Explorer returns.
Larger ones are computed in a worker thread: ``gap_readout`` first holds ``{"pending": True, "n"}``,
then the gap distances (O(n·d), at once) with ``progress`` (fraction of loss batches done) and
``stage``, and finally the whole readout. A new view cancels the readout of the old one; the
browser's "stop" sends ``{"type": "cancel_readout"}``.

The first background readout of :data:`FIRST_PAINT_GATE_PAIRS` pairs or more waits for the views'
first paint (:mod:`.first_paint`): started with the widget, it took the CPU from the server
relaying the views and from the browser drawing them.
"""
from __future__ import annotations

import math
import threading
import time

import traitlets as t

from .first_paint import FirstPaintGate

#: Up to this many pairs the gap/loss readout is computed before the Explorer returns.
READOUT_SYNC_LIMIT = 2000
#: From this many pairs the first background readout waits for the views' first paint
#: (:mod:`.first_paint`). Below, the views paint in about a second and the readout starts with the
#: widget (at 100k pairs the readout ended 5.1-5.8 s after the cell either way, within run-to-run
#: noise); at 1M, started with the widget, it delayed the first paint by seconds.
FIRST_PAINT_GATE_PAIRS = 250_000
#: Least seconds between two partial readouts sent to the browser.
PROGRESS_INTERVAL = 0.2


def _clean(value):
    """JSON-safe value (NaN -> None)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class ReadoutPanelMixin(t.HasTraits):
    """``gap_readout`` trait and its life cycle; needs ``self.session``."""

    gap_readout = t.Dict().tag(sync=True)

    def _init_readout(self) -> None:
        self._first_paint = FirstPaintGate()
        self._readout_cancel = threading.Event()
        self._readout_thread = None
        self.session.observe(self._refresh_readout, names=["model", "data_version", "indices", "gap_scope", "gap_closed", "gap_fraction"])
        self._refresh_readout(None)

    def _readout_key(self) -> tuple:
        return self.session.readouts_key()

    def _refresh_readout(self, _change) -> None:
        """Gap/loss readout of the pairs :meth:`Session.gap_pairs` names: at once for small sets,
        else in a worker thread with partial results; a readout that finishes after the view
        changed again is dropped (and its computation cancelled)."""
        session, key = self.session, self._readout_key()
        if key == getattr(self, "_readout_shown", None):
            return
        self._readout_shown = key
        self._readout_cancel.set()  # the previous view's readout, if still running
        scope, idx = session.gap_pairs()
        n = session.n_total if idx is None else int(idx.size)
        if n <= READOUT_SYNC_LIMIT:
            self.gap_readout = {k: _clean(v) for k, v in session.readouts().items()}
            return
        cancel = self._readout_cancel = threading.Event()
        last = [0.0]

        def progress(partial):
            now = time.monotonic()
            if cancel.is_set() or self._readout_key() != key or now - last[0] < PROGRESS_INTERVAL:
                return
            last[0] = now
            self.gap_readout = {**{k: _clean(v) for k, v in partial.items()}, "pending": True}

        def publish():
            from ..session.readouts import ReadoutCancelled

            try:
                if n >= FIRST_PAINT_GATE_PAIRS and not self._first_paint.wait(cancel):
                    raise ReadoutCancelled("a new view asked for its own readout")
                readouts = session.readouts(progress=progress, cancel=cancel)
            except ReadoutCancelled:
                if self._readout_key() == key:
                    self.gap_readout = {"cancelled": True, "n": n, "scope": scope, "n_total": session.n_total}
                return
            if self._readout_key() == key and not cancel.is_set():
                self.gap_readout = {k: _clean(v) for k, v in readouts.items()}

        self.gap_readout = {"pending": True, "n": n, "scope": scope, "n_total": session.n_total, "progress": 0.0}
        self._readout_thread = threading.Thread(target=publish, name="amumo-readout", daemon=True)
        self._readout_thread.start()

    def cancel_readout(self) -> bool:
        """Stop the readout being computed (True when one was running)."""
        thread = self._readout_thread
        running = thread is not None and thread.is_alive()
        self._readout_cancel.set()
        if running:
            self._readout_shown = None  # the same view asked again later computes it anew
        return running

    def handle_view_rendering(self, content) -> tuple[dict, list]:
        """``{"type": "view_rendering"}``: a view of this widget started rendering."""
        self._first_paint.view_rendering()
        return super().handle_view_rendering(content)

    def handle_view_painted(self, content) -> tuple[dict, list]:
        """``{"type": "view_painted"}``: a view drew its heatmap and scatter; background work may start."""
        self._first_paint.view_painted()
        return {"type": "view_painted", "req": content.get("req")}, []

    def _repr_mimebundle_(self, **kwargs):
        self._first_paint.displayed()
        return super()._repr_mimebundle_(**kwargs)

    def handle_cancel_readout(self, content) -> tuple[dict, list]:
        """``{"type": "cancel_readout"}``: stop the readout being computed."""
        return {"type": "cancel_readout", "req": content.get("req"), "cancelled": self.cancel_readout()}, []

    def wait_readout(self, timeout: float = None) -> dict:
        """Block until the gap/loss readout is computed (or cancelled); returns it. A readout still
        waiting for the views' first paint starts at once."""
        self._first_paint.release()
        thread = self._readout_thread
        if thread is not None:
            thread.join(timeout)
        return self.gap_readout
