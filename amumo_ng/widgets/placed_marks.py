"""New vectors drawn over the scatter's points: where they land in the view, and when to place them.

Shared by the interpolation path (:mod:`.path_overlay`) and the typed prompt (:mod:`.prompt_search`):
:func:`view_map` is the scaling the scatter applied to its points (:mod:`.point_layout`), and
:class:`Placer` places vectors with :func:`amumo_ng.session.placement.place_vectors` at once for PCA
and in a worker thread for UMAP (its ``transform`` may compile numba code for seconds), dropping a
result that a newer request superseded.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

import numpy as np

from ..session.placement import PlacementError, can_place, place_vectors
from .point_layout import point_rows, view_transform

__all__ = ["view_map", "to_view", "Placer"]


def view_map(projection, indices) -> tuple[np.ndarray, float]:
    """(centre float64 [2], factor) of the scatter's layout of ``projection`` scaled to the pairs
    ``indices`` (as :func:`~amumo_ng.widgets.scatter.layout_points` does): a position p in the
    projection's units is drawn at ``(p − centre) · factor`` (view units, the points in [-0.95, 0.95])."""
    xy = np.concatenate([np.asarray(projection.image_xy), np.asarray(projection.text_xy)])
    rows = None if indices is None else point_rows(indices, len(xy) // 2, "modality")
    return view_transform(xy, rows)


def to_view(projection, indices, xy) -> np.ndarray:
    """float32 [m, 2]: positions ``xy`` [m, 2] (projection units) in the scatter's view units, not
    clamped (a path may leave the box the points fill; the browser clips what is off the plot)."""
    centre, factor = view_map(projection, indices)
    return ((np.asarray(xy, np.float64) - centre) * factor).astype(np.float32)


class Placer:
    """Places vectors in a session's current layout for one kind of mark; newest request wins.

    ``place(vectors, text_share, on_done)``: ``on_done(view_xy float32 [m, 2] or None, note)`` is
    called with the positions in view units, or None and why they cannot be placed (t-SNE, the
    layout still computing, ...). PCA answers at once (in the caller's thread); UMAP in a daemon
    thread, whose answer is dropped when another ``place``/``cancel`` came after it."""

    def __init__(self, session):
        self.session = session
        self._generation = 0
        self._lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None

    def cancel(self) -> None:
        """Drop the answer of a placement still running."""
        with self._lock:
            self._generation += 1

    def place(self, vectors, text_share, on_done: Callable[[Optional[np.ndarray], str], None]) -> None:
        session = self.session
        with self._lock:
            self._generation += 1
            mine = self._generation
        projection = session.cached_projection()
        if projection is None:
            on_done(None, "")  # the layout is being computed: placed when it is shown
            return
        ok, why = can_place(projection)
        if not ok:
            on_done(None, why)
            return
        indices = session.indices

        def work():
            try:
                xy = place_vectors(session, vectors, text_share, projection)
                result, note = to_view(projection, indices, xy), ""
            except PlacementError as exc:
                result, note = None, str(exc)
            except Exception as exc:  # a failing transform must not take the view with it
                result, note = None, f"could not place: {type(exc).__name__}: {exc}"
            with self._lock:
                current = mine == self._generation
            if current:
                on_done(result, note)

        if projection.method == "pca":
            work()
            return
        self.thread = threading.Thread(target=work, name="amumo-placement", daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 60.0) -> None:
        """Block until a placement running in a thread (if any) is done (tests, scripts)."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
