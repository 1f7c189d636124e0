"""Background work of a :class:`~amumo_ng.session.Session`: projections and large clusterings.

Both run in worker threads so the views stay responsive; results land in the session's LRU
cache under the same key a synchronous call would use, so a view asking again is answered
from the cache. Views of one session asking for the same projection share one job; the job is
cancelled when no view waits for it any more.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import numpy as np


class _SharedJob:
    """One ProjectionJob and the views waiting for it (a view that subscribes after the job
    finished is answered at once)."""

    _PENDING = object()

    def __init__(self):
        self.job = None
        self._lock = threading.Lock()
        self._subscribers: dict = {}
        self._result = self._PENDING
        self.subset = None  # int64 [k] pairs the job projects, or None for all pairs

    def subscribe(self, on_done, on_progress) -> "ProjectionTicket":
        ticket = ProjectionTicket(self)
        with self._lock:
            result = self._result
            if result is self._PENDING:
                self._subscribers[ticket] = (on_done, on_progress)
        if result is not self._PENDING and on_done is not None:
            on_done(result)
        return ticket

    def unsubscribe(self, ticket) -> None:
        with self._lock:
            waited = self._subscribers.pop(ticket, None) is not None
            orphaned = waited and not self._subscribers and self._result is self._PENDING
        if orphaned:  # nobody waits any more: stop the work
            self.job.cancel()

    def progress(self, fraction, stage=""):
        with self._lock:
            callbacks = [p for _, p in self._subscribers.values() if p is not None]
        for cb in callbacks:
            cb(fraction, stage)

    def finish(self, result) -> None:
        with self._lock:
            self._result = result
            callbacks = [d for d, _ in self._subscribers.values() if d is not None]
            self._subscribers.clear()
        for cb in callbacks:
            cb(result)


class ProjectionTicket:
    """A view's claim on a (possibly shared) projection job."""

    def __init__(self, shared: _SharedJob):
        self._shared = shared

    def cancel(self) -> None:
        """Stop waiting; the job itself is cancelled when no other view waits for it."""
        self._shared.unsubscribe(self)

    def done(self) -> bool:
        return self._shared.job.done()

    def result(self, timeout: Optional[float] = None):
        """Wait for the projection (raises what the job raised, e.g. Cancelled)."""
        return self._shared.job.result(timeout)


def expand_projection(projection, indices: np.ndarray, n: int):
    """A projection of the pairs ``indices`` (k of n) laid out for all n pairs.

    Pairs not in ``indices`` are placed at the centroid of the projected points: the views draw
    only the pairs in view, and the scaling uses only those. Returns a
    :class:`~amumo_ng.analysis.projection.Projection` with [n, 2] arrays."""
    from dataclasses import replace

    def spread(xy):
        if xy is None:
            return None
        xy = np.asarray(xy, dtype=np.float32)
        out = np.empty((n, 2), dtype=np.float32)
        out[:] = xy.mean(axis=0)
        out[indices] = xy
        return out

    params = dict(projection.params, fitted_on=int(indices.size))
    return replace(projection, image_xy=spread(projection.image_xy), text_xy=spread(projection.text_xy),
                   pair_xy=spread(projection.pair_xy), params=params)


class JobsMixin:
    """Projections and background clusterings; mixed into :class:`~amumo_ng.session.Session`.

    Needs ``self._cache`` (an :class:`~amumo_ng.lru.LRUCache`), ``self._jobs``/``self._jobs_lock``,
    ``vectors()``, ``vectors_key()``, ``indices``, ``projection`` and ``projection_scope``."""

    # -- background clusterings -------------------------------------------------------------
    def _start_background(self, key, label: str, make: Callable[[], object]) -> None:
        """Compute ``make()`` into the cache under ``key`` in a worker thread (at most one per key).

        ``status`` shows ``label`` meanwhile (and an error message if it fails);
        ``ordering_version`` increments when it is done, so views refresh from the cache."""
        with self._jobs_lock:
            if key in self._jobs:
                return
            self._jobs[key] = "ordering"
        self.status = label

        def work():
            try:
                self._cache.get(key, make)
                message = ""
            except Exception as exc:  # shown in the widget; the unclustered view stays
                message = f"clustering failed: {type(exc).__name__}: {exc}"
            self.status = message
            self.ordering_version += 1  # the views refresh here, from the cache
            with self._jobs_lock:  # only now may wait_ordering() return
                self._jobs.pop(key, None)

        threading.Thread(target=work, name="amumo-ordering", daemon=True).start()

    def wait_ordering(self, timeout: float = 60.0):
        """Block until a background clustering (if any) finishes; returns :meth:`ordering`."""
        deadline = time.monotonic() + timeout
        while any(v == "ordering" for v in list(self._jobs.values())) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.ordering()

    # -- projections ----------------------------------------------------------------------
    def projection_key(self, method: Optional[str] = None) -> tuple:
        """Cache key of the projection for ``method`` (default: the current one) of the vectors
        shown now, fitted on all pairs or on the pairs in view (``projection_scope``)."""
        scope = self.projection_scope
        subset = self.indices_key() if scope == "view" and 2 <= self.k < self.n_total else "all"
        return ("projection", self.vectors_key(), method or self.projection, subset)

    def _projection_inputs(self) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(image, text, indices or None): the unit vectors a projection is fitted on."""
        img, txt = self.vectors()
        if self.projection_key()[3] == "all":
            return img, txt, None
        idx = self.indices
        return img[idx], txt[idx], idx

    def cached_projection(self, method: Optional[str] = None):
        """The finished projection for the current state and ``method``, or None."""
        return self._cache.peek(self.projection_key(method))

    def compute_projection(self, method: Optional[str] = None, progress=None, cancel=None):
        """Compute (or fetch) the projection synchronously; see :meth:`start_projection`."""
        key = self.projection_key(method)
        img, txt, idx = self._projection_inputs()
        n = self.n_total

        def make():
            from ..analysis.projection import project

            result = project(img, txt, method=key[2], progress=progress, cancel=cancel)
            return result if idx is None else expand_projection(result, idx, n)

        return self._cache.get(key, make)

    def start_projection(self, method: Optional[str] = None, on_done=None, on_progress=None):
        """Run the projection in a worker thread (:class:`~amumo_ng.analysis.projection.ProjectionJob`).

        Views of one session asking for the same projection share one job. Returns a
        :class:`ProjectionTicket` (``cancel()``, ``result(timeout)``), or None when the result is
        cached (``on_done(projection)`` is then called at once). ``on_done(projection_or_exception)``
        and ``on_progress(fraction, stage)`` run in the worker thread."""
        key = self.projection_key(method)
        cached = self._cache.peek(key)
        if cached is not None:
            if on_done is not None:
                on_done(cached)
            return None
        with self._jobs_lock:
            shared = self._jobs.get(key)
            # a cancelled job still running is not joined: it would answer "cancelled"
            new = shared is None or shared.job.done() or shared.job.cancelled
            if new:
                from ..analysis.projection import ProjectionJob

                shared = _SharedJob()
                img, txt, idx = self._projection_inputs()
                shared.job = ProjectionJob(img, txt, method=key[2], on_progress=shared.progress)
                shared.subset = idx
                self._jobs[key] = shared
            ticket = shared.subscribe(on_done, on_progress)
        if new:
            n = self.n_total

            def finished(done_job, _key=key, _shared=shared):
                try:
                    result = done_job.result()
                    if _shared.subset is not None:
                        result = expand_projection(result, _shared.subset, n)
                except BaseException as exc:  # cancelled or failed: report, do not cache
                    result = exc
                else:
                    self._cache.put(_key, result)
                with self._jobs_lock:
                    if self._jobs.get(_key) is _shared:
                        del self._jobs[_key]
                _shared.finish(result)

            # outside the lock: a job that is already done runs the callback right here
            shared.job.add_done_callback(finished)
        return ticket
