"""Common base of the amumo-ng anywidgets: a Session, a link group, custom-message dispatch.

Requests from the browser are custom messages ``{"type": ..., "req": id, ...}``; each type
has a handler method ``handle_<type>(content) -> (reply, buffers)`` that tests can call
directly. The reply carries the same ``type`` and ``req`` (or ``error`` on failure).
"""
from __future__ import annotations

import functools
import threading
import uuid
from typing import Optional

import anywidget
import numpy as np
import traitlets as t

from ..fingerprint import array_digest
from ..session import Session
from .bundle import bundle_source
from .thumbnails import thumbnail

def pack_strings(strings) -> tuple[bytes, bytes]:
    """Pack strings for the browser as one binary buffer instead of a JSON list.

    Returns ``(utf8, offsets)``: the UTF-8 bytes of all strings concatenated, and uint32
    [len(strings) + 1] byte offsets, so string i is ``utf8[offsets[i]:offsets[i + 1]]``.
    ``strings``: any sequence of str, or a pandas Series / pyarrow array of strings, which are
    packed from their Arrow buffers (no Python string per row: ~50x faster at a million captions).
    """
    packed = _pack_arrow(strings)
    if packed is not None:
        return packed
    encoded = [str(s).encode("utf-8") for s in strings]
    ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.uint64, count=len(encoded)))
    if ends.size and ends[-1] >= 2 ** 32:
        raise ValueError(f"the strings take {int(ends[-1]):,} bytes of UTF-8: more than uint32 offsets address")
    offsets = np.zeros(len(encoded) + 1, dtype=np.uint32)
    offsets[1:] = ends
    return b"".join(encoded), offsets.tobytes()


def _pack_arrow(strings):
    """:func:`pack_strings` of a pandas Series or pyarrow (chunked) array via Arrow's own UTF-8 and
    offset buffers; None for other inputs (or when a value is missing)."""
    try:
        import pandas as pd
        import pyarrow as pa
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    if isinstance(strings, pd.Series):
        if strings.isna().any():  # missing values are written as str() writes them, like astype(str)
            strings = strings.astype(object).map(str)
        arr = pa.array(strings, type=pa.large_string())
    elif isinstance(strings, (pa.Array, pa.ChunkedArray)):
        arr = strings
    else:
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        return None
    arr = arr.cast(pa.large_string())
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    first, last = int(offsets[0]), int(offsets[-1])
    if last - first >= 2 ** 32:
        raise ValueError(f"the strings take {last - first:,} bytes of UTF-8: more than uint32 offsets address")
    data = memoryview(data_buf)[first:last].tobytes() if data_buf is not None else b""
    return data, (offsets - first).astype(np.uint32).tobytes()


def serialized(method):
    """Run a refresh method under the widget's refresh lock: refreshes triggered from worker
    threads (background clustering, projections) and from the kernel thread never interleave,
    so a stale result cannot overwrite a fresh one."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._refresh_lock:
            return method(self, *args, **kwargs)

    return wrapper


#: The traits of the packed captions (see SessionWidget._defer_captions).
_CAPTION_TRAITS = ("captions_utf8", "caption_offsets")
#: Seconds after its constructor at which a widget deferring its captions sends them without a view
#: (for a client that never says ``view_rendering``; every view of this package's bundle does). Not
#: less: at a million pairs a view may start rendering seconds after the constructor (the state is
#: relayed and decoded first), and with 3 s the 25 MB of captions went out ahead of its first paint.
CAPTIONS_FALLBACK_S = 20.0

#: Session traits mirrored two-way by every widget (the browser may set them).
SHARED_TRAITS = ("model",)


class SessionWidget(anywidget.AnyWidget):
    """An anywidget driven by a :class:`~amumo_ng.session.Session`.

    Parameters
    ----------
    data : Embeddings or dict[str, Embeddings], optional
        Builds a new Session; give either this or ``session``.
    session : Session, optional
        Share the state (and so the linked hover) of another widget.
    link_group : str, optional
        Views with equal link groups share hover highlighting in the browser (default: one
        group per session).
    """

    _bundle_name = "explorer"
    _synced_session_traits: tuple = SHARED_TRAITS

    widget_id = t.Unicode("").tag(sync=True)
    link_group = t.Unicode("").tag(sync=True)
    models = t.List(t.Unicode()).tag(sync=True)
    model = t.Unicode("").tag(sync=True)
    n_total = t.Int(0).tag(sync=True)
    n_view = t.Int(0).tag(sync=True)
    has_images = t.Bool(False, help="the current model's pairs have images (thumbnails)").tag(sync=True)
    #: UTF-8 of every caption, concatenated (binary); caption i is
    #: ``captions_utf8[caption_offsets[i]:caption_offsets[i + 1]]``.
    captions_utf8 = t.Bytes(b"").tag(sync=True)
    #: uint32 [n + 1]: byte offsets of the captions in ``captions_utf8`` (binary).
    caption_offsets = t.Bytes(b"").tag(sync=True)
    #: int32 [k]: pair indices in view, in draw order (binary).
    order = t.Bytes(b"").tag(sync=True)
    order_hash = t.Unicode("").tag(sync=True)
    status = t.Unicode("", help="background work of the session, e.g. clustering").tag(sync=True)
    view_size = t.Int(400, help="CSS px of the heatmap and scatter views (square)").tag(sync=True)
    hover = t.Int(-1).tag(sync=True)
    selection = t.List(t.Int()).tag(sync=True)

    def __init__(self, data=None, *, session: Optional[Session] = None,
                 link_group: Optional[str] = None, **kwargs):
        if (data is None) == (session is None):
            raise TypeError("give either embeddings (data=...) or session=..., not both or neither")
        session = session if session is not None else Session(data)
        self._esm = bundle_source(self._bundle_name)
        self._refresh_lock = threading.RLock()
        self._captions_unsent = self._defer_captions  # held back until a view renders (see below)
        self.session = session
        super().__init__(**kwargs)
        self.widget_id = uuid.uuid4().hex[:12]
        self.link_group = link_group or f"session-{id(session):x}"
        t.dlink((session, "models"), (self, "models"))
        for name in self._synced_session_traits + ("hover", "selection"):
            t.link((session, name), (self, name))
        session.observe(self._on_model, names=["model", "data_version"])
        session.observe(self._on_indices, names=["indices", "cluster", "cluster_quadrant", "cluster_leaf_order",
                                                 "order_by", "gap_closed", "gap_fraction", "gap_scope", "ordering_version"])
        t.dlink((session, "status"), (self, "status"))
        self._on_model(None)
        self.on_msg(self._dispatch)

    @property
    def captions(self) -> list[str]:
        """Captions of the current model's pairs (the browser gets them packed as UTF-8)."""
        return self.session.embeddings.captions

    @t.validate("selection")
    def _check_selection(self, proposal):
        # the lasso may send duplicates in any order; keep the widget equal to the session
        session = getattr(self, "session", None)
        return proposal["value"] if session is None else session.clean_selection(proposal["value"])

    # -- state pushed to the browser ---------------------------------------------------
    #: A subclass whose first view needs no captions (the Explorer) sends them only once a view
    #: of it renders (``{"type": "view_rendering"}``), or :data:`CAPTIONS_FALLBACK_S` after its
    #: constructor: 25 MB at a million pairs, they were the largest message ahead of the views'
    #: first paint. The traits hold them all along (Python code reading them sees no difference).
    _defer_captions = False

    @serialized
    def _on_model(self, _change) -> None:
        emb = self.session.embeddings
        with self.hold_sync():
            self.n_total = emb.n
            self.has_images = emb.image_source is not None
            self.captions_utf8, self.caption_offsets = pack_strings(emb.meta["caption"])
            self._on_indices(None)

    def _should_send_property(self, key, value):
        if key in _CAPTION_TRAITS and self._captions_unsent:
            return False
        return super()._should_send_property(key, value)

    def _captions_deferred_until_rendering(self) -> None:
        """Call at the end of a constructor with ``_defer_captions``: the captions go out when a view
        renders, or after :data:`CAPTIONS_FALLBACK_S` seconds at the latest."""
        timer = threading.Timer(CAPTIONS_FALLBACK_S, self._send_deferred_captions)
        timer.daemon = True
        timer.start()

    @serialized
    def _send_deferred_captions(self) -> None:
        if self._captions_unsent:
            self._captions_unsent = False
            if self.comm is not None:
                self.send_state(list(_CAPTION_TRAITS))

    def handle_view_rendering(self, content) -> tuple[dict, list]:
        """``{"type": "view_rendering"}``: a view of this widget started rendering."""
        self._send_deferred_captions()
        return {"type": "view_rendering", "req": content.get("req")}, []

    @serialized
    def _on_indices(self, _change) -> None:
        """Push the draw order and everything drawn in it (:meth:`_refresh_view`) in ONE state
        message, so the browser never pairs a new order with the old pixels."""
        with self.hold_sync():
            # a background clustering may land while the view is computed: the view must be drawn
            # in the order it is sent with, so recompute until the order held still throughout
            for _attempt in range(4):
                order = np.asarray(self.session.order, dtype=np.int32)
                self.n_total = self.session.n_total  # a model switch reaches here before _on_model
                self.n_view = int(order.size)
                self.order = order.tobytes()
                self.order_hash = f"{order.size}-{array_digest(order, digest_size=4)}"
                self._refresh_view()
                if np.array_equal(np.asarray(self.session.order, dtype=np.int32), order):
                    break

    def _refresh_view(self) -> None:
        """Hook: recompute the traits drawn in the view's order (the heatmap image); called
        inside :meth:`_on_indices`'s ``hold_sync``. Nothing to do in the base widget."""

    # -- custom messages -------------------------------------------------------------------
    def _dispatch(self, _widget, content, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = getattr(self, f"handle_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            self.send({"type": kind, "req": content.get("req") if isinstance(content, dict) else None,
                       "error": f"unknown request type {kind!r}"})
            return
        try:
            reply, out_buffers = handler(content)
        except Exception as exc:  # the browser shows the message; the kernel keeps running
            reply, out_buffers = {"type": kind, "req": content.get("req"), "error": f"{type(exc).__name__}: {exc}"}, []
        self.send(reply, out_buffers)

    def handle_thumb(self, content) -> tuple[dict, list]:
        """``{"type": "thumb", "pair": i}`` -> the image of pair i as PNG/JPEG bytes in one buffer
        (none and a ``warning`` when it cannot be loaded)."""
        thumb = thumbnail(self.session.embeddings, int(content["pair"]))
        reply = {"type": "thumb", "req": content.get("req"), "pair": thumb.pair,
                 "model": self.session.model, "ok": thumb.ok, "mime": thumb.mime,
                 "warning": thumb.warning}
        return reply, ([thumb.data] if thumb.ok else [])
