"""Background work that waits for a widget's first paint.

On a 2-core machine, a background readout (tens of seconds of losses at a million pairs) started
with the widget takes the CPU from the Jupyter server relaying the views' buffers and from the
browser drawing them: the views' first paint at 1M pairs went from 7.4 s to 11–14 s in a probe.
So an Explorer's first background readout waits until one of its views says it has painted:

- the browser sends ``{"type": "view_rendering"}`` when a view starts rendering and
  ``{"type": "view_painted"}`` once its heatmap and scatter have drawn the first time;
- a widget that was displayed (its ``_repr_mimebundle_``) or has a view rendering waits up to
  ``paint_wait`` seconds for the paint (the display message reaches the browser after the views'
  buffers, seconds at a million pairs; a hidden output never paints);
- a widget neither displayed nor rendering (a script; a widget shown inside a container, whose
  view then says it renders) waits ``render_wait`` seconds from the gate's creation;
- anyone waiting for the result (``wait_readout``) opens it at once.

The gate opens once, for good: later work (a new filter, a model switch) starts immediately.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

#: Seconds from the gate's creation after which the work of a widget neither displayed nor rendering starts.
RENDER_WAIT_S = 2.0
#: Seconds from the display (or a view's rendering) without a paint after which the work starts.
PAINT_WAIT_S = 20.0
#: Seconds between two looks at the cancel event while waiting.
POLL_S = 0.05


class FirstPaintGate:
    """Opens when a view painted, when released, or when the waits above ran out (see module)."""

    def __init__(self, render_wait: float = RENDER_WAIT_S, paint_wait: float = PAINT_WAIT_S):
        if render_wait < 0 or paint_wait < 0:
            raise ValueError("waits must be >= 0 seconds")
        self.render_wait, self.paint_wait = float(render_wait), float(paint_wait)
        self._created = time.monotonic()
        self._shown_at: Optional[float] = None  # displayed, or a view rendering: waits for the paint
        self._open = threading.Event()
        self.opened_by = ""  # "painted", "released", "no view", "paint timeout"

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def displayed(self) -> None:
        """The widget was displayed: wait for a view's paint (up to ``paint_wait`` s from now)."""
        self.view_rendering()

    def view_rendering(self) -> None:
        """A view started rendering: wait for its paint (up to ``paint_wait`` s from the first display
        or rendering)."""
        if self._shown_at is None:
            self._shown_at = time.monotonic()

    def view_painted(self) -> None:
        """A view drew its first picture: open."""
        self._open_as("painted")

    def release(self) -> None:
        """Someone waits for the background result: open now."""
        self._open_as("released")

    def _open_as(self, why: str) -> None:
        if not self._open.is_set():
            self.opened_by = why
            self._open.set()

    def wait(self, cancel: Optional[threading.Event] = None) -> bool:
        """Block until the gate is open (True) or ``cancel`` is set (False)."""
        while not self._open.is_set():
            if cancel is not None and cancel.is_set():
                return False
            now = time.monotonic()
            shown = self._shown_at
            if shown is None and now - self._created >= self.render_wait:
                self._open_as("no view")
            elif shown is not None and now - shown >= self.paint_wait:
                self._open_as("paint timeout")
            else:
                self._open.wait(POLL_S)
        return True


__all__ = ["FirstPaintGate", "RENDER_WAIT_S", "PAINT_WAIT_S"]
