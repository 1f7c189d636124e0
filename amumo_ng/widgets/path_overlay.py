"""The Explorer's side of an interpolation: "set as start / end" and the path drawn in the scatter.

- The hover panel's buttons send ``{"type": "set_path_end", "which": "start"|"end", "modality":
  "image"|"text", "pair": i}``: the session's ``path_start`` / ``path_end`` become ``{"image": i}`` or
  ``{"caption": i}``, which an :class:`~amumo_ng.widgets.InterpolationStrip` on the same session
  reads (:meth:`PathOverlayMixin.strip` makes one). ``path_ends`` labels the ends for the panel.
- The path a strip published (:meth:`Session.shown_path`) is placed in the scatter's layout
  (:mod:`amumo_ng.session.placement`: PCA exactly, UMAP through ``transform``; t-SNE cannot) and sent
  as ``path_xy`` (binary float32 [k, 2], the scatter's view units), ``path_info`` (labels, method,
  modality, k, ``seq``) and ``path_note`` (why no path is drawn, '' otherwise).
"""
from __future__ import annotations

import numpy as np
import traitlets as t

from .placed_marks import Placer

__all__ = ["PathOverlayMixin", "spec_label", "text_share"]

#: Longest caption quoted in an end's label.
LABEL_CHARS = 48


def spec_label(spec: dict, captions=None) -> str:
    """A short label of an end spec: ``image 3``, ``caption 3: a red circle``, ``"a blue square"``."""
    if not spec:
        return ""
    key, value = next(iter(spec.items()))
    if key == "text":
        return f"“{value}”"
    if key == "caption" and captions is not None and isinstance(value, int) and 0 <= value < len(captions):
        caption = str(captions[value])
        caption = caption if len(caption) <= LABEL_CHARS else caption[: LABEL_CHARS - 1] + "…"
        return f"caption {value}: {caption}"
    if key in ("image", "caption"):
        return f"{key} {value}"
    return f"{key} vector" if key == "vector" else str(spec)


def text_share(path) -> np.ndarray:
    """float64 [k] in [0, 1]: how much of each frame of a :class:`~amumo_ng.session.interpolation.ShownPath`
    is a text vector (1 text, 0 image): by its modality, and for a mixed path linear in t between its
    ends (the end whose label names an image is the image end). A ``text_share`` the path carries wins."""
    given = getattr(path, "text_share", None)
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    tt = np.asarray(path.t, dtype=np.float64)
    if path.modality in ("text", "image"):
        return np.full(tt.shape, 1.0 if path.modality == "text" else 0.0)
    labels = tuple(path.labels) + ("", "")
    a, b = (0.0 if str(label).startswith("image") else 1.0 for label in labels[:2])
    return (1.0 - tt) * a + tt * b


class PathOverlayMixin(t.HasTraits):
    """Traits ``path_ends``, ``path_xy``, ``path_info``, ``path_note``; the ``set_path_end`` request
    and :meth:`strip`. Mixed into the Explorer before the scatter mixin (its ``_show`` places the path
    in every layout the scatter shows)."""

    path_ends = t.Dict(help="labels of the session's interpolation ends: {'start': str, 'end': str}").tag(sync=True)
    path_xy = t.Bytes(b"", help="float32 [k, 2]: the shown path in the scatter's view units (b'' none)").tag(sync=True)
    path_info = t.Dict(help="the path drawn: labels, method, modality, k, seq ({} none)").tag(sync=True)
    path_note = t.Unicode("", help="why the shown path is not drawn ('' when drawn or none)").tag(sync=True)

    def _init_path_overlay(self) -> None:
        self._path_placer = Placer(self.session)
        self._path_seq = 0
        self.session.observe(self._on_path_ends, names=["path_start", "path_end", "model", "data_version"])
        self.session.observe(self._refresh_path, names=["path_shown", "model", "data_version", "projection",
                                                         "projection_scope", "gap_closed", "gap_fraction", "gap_scope"])
        self._on_path_ends(None)
        self._refresh_path(None)

    def _show(self, projection) -> None:  # the scatter shows a layout: place the path in it
        super()._show(projection)
        if hasattr(self, "_path_placer"):
            self._refresh_path(None)

    def _on_path_ends(self, _change) -> None:
        session, captions = self.session, self.session.embeddings.captions
        self.path_ends = {"start": spec_label(session.path_start, captions),
                          "end": spec_label(session.path_end, captions)}

    def _refresh_path(self, _change) -> None:
        """Place the session's shown path in the layout shown now (or say why not)."""
        path = self.session.shown_path()
        if path is None:
            other = self.session.path_shown
            self._path_placer.cancel()
            note = "" if other is None else (f"the path shown by the strip belongs to {other.key[0]!r} "
                                             f"{'(another set of pairs) ' if other.key[0] == self.session.model else ''}"
                                             f"— not drawn for {self.session.model!r}")
            self._send_path(None, note, None)
            return
        self._path_placer.place(path.vectors, text_share(path), lambda xy, note: self._send_path(xy, note, path))

    def _send_path(self, xy, note: str, path) -> None:
        with self.hold_sync():
            if xy is None:
                self.path_xy, self.path_info = b"", {}
            else:
                self._path_seq += 1
                self.path_info = {"labels": [str(x) for x in path.labels], "method": path.method,
                                  "modality": path.modality, "k": int(len(xy)), "model": self.session.model,
                                  "seq": self._path_seq}
                self.path_xy = np.ascontiguousarray(xy, dtype=np.float32).tobytes()
            self.path_note = note

    def wait_path(self, timeout: float = 60.0) -> bytes:
        """Block until a path placement running in a thread (UMAP) is done; returns ``path_xy``."""
        self._path_placer.wait(timeout)
        return self.path_xy

    def handle_set_path_end(self, content) -> tuple[dict, list]:
        """``{"type": "set_path_end", "which": "start"|"end", "modality": "image"|"text", "pair": i}``:
        the session's interpolation end becomes ``{"image": i}`` or ``{"caption": i}``."""
        which, modality = content.get("which"), content.get("modality")
        pair = content.get("pair")
        if which not in ("start", "end"):
            raise ValueError(f"which must be 'start' or 'end', got {which!r}")
        if modality not in ("image", "text"):
            raise ValueError(f"modality must be 'image' or 'text', got {modality!r}")
        n = self.session.n_total
        if isinstance(pair, bool) or not isinstance(pair, int) or not 0 <= pair < n:
            raise ValueError(f"pair must be an index in [0, {n}), got {pair!r}")
        spec = {"image": pair} if modality == "image" else {"caption": pair}
        self.session.set_path_end(which, spec)
        return {"type": "set_path_end", "req": content.get("req"), "which": which, "spec": spec}, []

    def strip(self, **kwargs):
        """An :class:`~amumo_ng.widgets.InterpolationStrip` on this Explorer's session (same link group):
        the ends set here are its ends, and the path it shows is drawn in this scatter. ``start`` /
        ``end`` default to the ends set in the Explorer (when set)."""
        from .interpolation_strip import InterpolationStrip

        session = self.session
        for which in ("start", "end"):
            spec = getattr(session, f"path_{which}")
            if spec and which not in kwargs:
                kwargs[which] = dict(spec)
        kwargs.setdefault("link_group", self.link_group)
        return InterpolationStrip(session=session, **kwargs)
