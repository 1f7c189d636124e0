"""What the session knows of an interpolation: its two ends, and the path a strip shows.

The ends are shared by every view of a session: an Explorer's hover panel ("set as start/end") writes
them, an :class:`~amumo_ng.widgets.InterpolationStrip` on the same session reads and writes them, and
the path the strip decoded is published here so an Explorer can draw it in its scatter.

- ``path_start`` / ``path_end``: end specs (``{"text": prompt}``, ``{"caption": i}``, ``{"image": i}``,
  or ``{}`` for unset), pair indices in the numbering of the current data.
- ``path_shown``: None, or a :class:`ShownPath` (the unit frame vectors of the current model).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import traitlets as t

__all__ = ["InterpolationMixin", "ShownPath"]


@dataclass(frozen=True, eq=False)
class ShownPath:
    """A decoded path: ``vectors`` unit float32 [k, d] (the frames in the model's space, before any gap
    shift), ``t`` float64 [k] in [0, 1], ``modality`` ("image", "text" or "mixed"), ``key`` the
    session's :meth:`data_key` it belongs to, ``method`` ("lerp" / "slerp" / "vslerp") and ``labels``
    (start, end) as the strip shows them."""

    vectors: np.ndarray
    t: np.ndarray
    modality: str
    key: tuple
    method: str
    labels: tuple


class InterpolationMixin(t.HasTraits):
    """Traits ``path_start``, ``path_end`` and ``path_shown``; mixed into the Session."""

    path_start = t.Dict(help="start of the interpolation shared by the views ({} = unset)")
    path_end = t.Dict(help="end of the interpolation shared by the views ({} = unset)")
    path_shown = t.Any(None, allow_none=True, help="the ShownPath a strip decoded last (None: none)")

    def set_path_end(self, which: str, spec: dict) -> None:
        """Set the ``"start"`` or ``"end"`` of the shared interpolation to ``spec`` (a copy)."""
        if which not in ("start", "end"):
            raise ValueError(f"which must be 'start' or 'end', got {which!r}")
        if not isinstance(spec, dict):
            raise TypeError(f"an end is a spec dict, got {type(spec).__name__}")
        setattr(self, f"path_{which}", dict(spec))

    def shown_path(self):
        """The published path if it belongs to the data shown now, else None."""
        path = self.path_shown
        if path is None or path.key != self.data_key():
            return None
        return path
