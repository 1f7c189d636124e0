"""InterpolationStrip: what lies between two embeddings, decoded by retrieval or a generative decoder.

A path of ``steps`` vectors between two ends resolved against the session's current model
(:mod:`.strip_plan`) is decoded by the chosen decoder (:mod:`.strip_decoders`: ``"retrieval"``, the
shipped toy unCLIP, Stable Diffusion / unCLIP pipelines, any :class:`~amumo_ng.decoders.base.Decoder`)
into frames (:mod:`.strip_decoding`). The browser gets

- ``frames``: one dict per frame (t in [0, 1], nearest caption and its cosine, nearest dataset image,
  ``generated``; see :mod:`.strip_decoding`);
- ``frame_images`` (binary): the frames' pictures (PNG, JPEG for photos), concatenated;
  ``frame_image_offsets``: uint32 [steps + 1] byte offsets, picture i is
  ``frame_images[offsets[i]:offsets[i + 1]]`` (empty without images), as :func:`~.base.pack_strings`.

End specs: see :mod:`.strip_specs`. The ends are shared with the session (``path_start`` /
``path_end``) both ways, and every decoded path is published as ``session.path_shown``. Bad input sets
``strip_error`` (a clear message) and leaves every other result trait as it was. Generative decoders
run in a worker thread (progress in ``strip_status`` / ``strip_progress``, ``cancel()``); a newer input
cancels the running one.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np
import traitlets as t

from ..analysis.interpolation_paths import MAX_STEPS, PATH_METHODS
from ..analysis.validation import EmbeddingError
from ..decoders.base import DecoderCancelled, DecoderError
from .base import SHARED_TRAITS, SessionWidget
from .strip_decoders import RETRIEVAL, DecoderMenu, decoder_kind
from .strip_decoding import STRIP_THUMB, decode_strip
from .strip_plan import decoder_plan, session_plan
from .strip_specs import format_spec, is_vector_spec, parse_spec, resolve_ends

__all__ = ["InterpolationStrip", "parse_spec", "format_spec", "resolve_ends", "BACKGROUND_STEPS", "BACKGROUND_PAIRS",
           "STRIP_THUMB"]

#: Retrieval paths of more steps than this, or datasets of at least BACKGROUND_PAIRS pairs, decode in a thread.
BACKGROUND_STEPS, BACKGROUND_PAIRS = 50, 50_000
_SESSION_ENDS = ("path_start", "path_end")


class InterpolationStrip(SessionWidget):
    """A strip of the frames between two ends: a picture (nearest dataset image, or generated), t and the
    nearest caption with its cosine.

    Parameters
    ----------
    data, session : see :class:`~.base.SessionWidget`.
    start, end : spec dict or str
        The ends (see :mod:`.strip_specs`). Given, they are written to the session's shared ends;
        omitted, the session's ends are used when set, else caption 0 → image 0.
    steps : int
        Frames, both ends included (2..512; 50 = the latent-space study's strips).
    method : str
        ``"lerp"``, ``"slerp"`` or ``"vslerp"`` (lifted by ``alpha`` × the modality mean).
    alpha : float
        vSLERP's α (used by ``"vslerp"`` only).
    close_gap : bool
        "Close gap before decoding": the text share w of each frame (:func:`~amumo_ng.analysis.
        interpolation_paths.text_weights`) is moved by the session's gap vector Δ = mean(Î) − mean(T̂)
        (of :meth:`Session.gap_pairs`), query = normalise(û + w·Δ), before the nearest images are found
        and before an image decoder paints it; captions are always found with the path's own vectors.
    decoder : str
        The name of the decoder (one of ``decoders``).
    decoders : dict, optional
        Extra decoders ``name -> Decoder | callable | str`` (see :mod:`.strip_decoders`).
    """

    _bundle_name = "strip"
    _synced_session_traits = SHARED_TRAITS

    start_spec = t.Dict(help="{'text': s} | {'caption': i} | {'image': i} | {'vector': [...]}").tag(sync=True)
    end_spec = t.Dict(help="end spec (as start_spec)").tag(sync=True)
    steps = t.Int(10, help="frames, both ends included (2..512)").tag(sync=True)
    method = t.Unicode("slerp").tag(sync=True)
    methods = t.List(t.Unicode(), list(PATH_METHODS), read_only=True).tag(sync=True)
    max_steps = t.Int(MAX_STEPS, read_only=True).tag(sync=True)
    alpha = t.Float(0.0, help="vSLERP's alpha (vslerp only)").tag(sync=True)
    close_gap = t.Bool(False, help="shift the text share of each frame by the gap vector before decoding"
                       ).tag(sync=True)
    decoder = t.Unicode(RETRIEVAL, help="name of the decoder (one of decoders)").tag(sync=True)
    decoders = t.List(t.Unicode(), [RETRIEVAL], read_only=True, help="decoder names offered").tag(sync=True)
    frames = t.List(t.Dict(), help="one dict per frame (see the module docstring)").tag(sync=True)
    frame_images = t.Bytes(b"", help="the frames' pictures, concatenated").tag(sync=True)
    frame_image_offsets = t.Bytes(b"", help="uint32 [steps + 1] byte offsets into frame_images").tag(sync=True)
    strip_info = t.Dict(help="what the frames show: labels, modality, method, model, steps, decoder").tag(sync=True)
    strip_error = t.Unicode("", help="why the last input was refused ('' when fine)").tag(sync=True)
    strip_status = t.Unicode("", help="what is decoding, or what is shown").tag(sync=True)
    strip_busy = t.Bool(False).tag(sync=True)
    strip_progress = t.Float(-1.0, help="fraction of the running decoding done (0..1; -1: unknown)").tag(sync=True)

    def __init__(self, data=None, *, session=None, start=None, end=None, steps: int = 10, method: str = "slerp",
                 alpha: float = 0.0, close_gap: bool = False, decoder: str = RETRIEVAL,
                 decoders: Optional[dict] = None, **kwargs):
        self._job: Optional[tuple[threading.Thread, threading.Event]] = None
        self._generation = 0
        self._menu = DecoderMenu(decoders)
        self._decode_lock = threading.Lock()  # one generative decoding at a time (pipelines keep state)
        self._thumbs: dict = {}     # (data key, pair) -> Thumbnail
        self._path = None           # (InterpolationPath, data key) of the frames shown
        self._summary = ""          # strip_status of the frames shown
        super().__init__(data, session=session, **kwargs)
        shared = {name: dict(getattr(self.session, name)) for name in _SESSION_ENDS}
        self.start_spec = parse_spec(start) if start is not None else (shared["path_start"] or {"caption": 0})
        self.end_spec = parse_spec(end) if end is not None else (shared["path_end"] or {"image": 0})
        self.steps, self.method, self.alpha, self.close_gap = steps, method, alpha, close_gap
        self.decoder = decoder
        self._offer()
        for given, which in ((start, "start"), (end, "end")):
            if given is not None:
                self._share_end(which)
        self.observe(self._on_input, names=["start_spec", "end_spec", "steps", "method", "alpha", "close_gap",
                                            "decoder"])
        self.observe(self._on_own_end, names=["start_spec", "end_spec"])
        self.session.observe(self._on_data, names=["model", "data_version"])
        self.session.observe(self._on_gap, names=["indices", "gap_scope"])
        self.session.observe(self._on_session_end, names=list(_SESSION_ENDS))
        self.compute()

    # -- following the session -----------------------------------------------------------------
    def _on_input(self, _change) -> None:
        self.compute()

    def _on_data(self, _change) -> None:
        self._thumbs.clear()
        self._offer()
        self.compute()

    def _on_gap(self, _change) -> None:
        if self.close_gap:  # the gap vector is that of the pairs in view (or of all, gap_scope)
            self.compute()

    def _share_end(self, which: str) -> None:
        spec = getattr(self, f"{which}_spec")
        if not is_vector_spec(spec):  # a raw vector has no place among the session's ends
            setattr(self.session, f"path_{which}", dict(spec))

    def _on_own_end(self, change) -> None:
        self._share_end("start" if change["name"] == "start_spec" else "end")

    def _on_session_end(self, change) -> None:
        """Another view set a shared end: adopt it (the strip recomputes); ``{}`` (unset) is ignored."""
        spec = change["new"]
        name = "start_spec" if change["name"] == "path_start" else "end_spec"
        if spec and dict(spec) != getattr(self, name):
            setattr(self, name, parse_spec(dict(spec)))

    def _offer(self) -> None:
        self.set_trait("decoders", self._menu.names(str(self.session.embeddings.model_id)))

    def add_decoder(self, name: str, decoder) -> None:
        """Offer ``decoder`` (a Decoder, a callable building one, or a pipeline folder / hub id) as ``name``."""
        self._menu.add(name, decoder)
        self._offer()
        if name == self.decoder:
            self.compute()

    def close(self) -> None:
        """Stop decoding and stop following the session, then close the widget."""
        job, self._job = getattr(self, "_job", None), None
        if job is not None:
            job[1].set()
        session = getattr(self, "session", None)
        for handler, names in ((self._on_data, ["model", "data_version"]), (self._on_gap, ["indices", "gap_scope"]),
                               (self._on_session_end, list(_SESSION_ENDS))):
            try:
                if session is not None:
                    session.unobserve(handler, names=names)
            except ValueError:  # never observed (a failed __init__) or already closed
                pass
        super().close()

    # -- the path ------------------------------------------------------------------------------
    def _gap_vector(self, emb) -> np.ndarray:
        """The session's gap vector Δ float32 [d] over :meth:`Session.gap_pairs` (all pairs when none in view)."""
        from ..analysis.gap import modality_gap

        _scope, idx = self.session.gap_pairs()
        if idx is None or idx.size == 0:
            return modality_gap(emb.image, emb.text).vector
        return modality_gap(emb.image[idx], emb.text[idx]).vector

    def _plan(self):
        """The planned strip (kernel thread: every refusal is raised here, or, for a decoder not built
        yet, by the worker once it is built)."""
        emb, key = self.session.embeddings, self.session.data_key()
        decoder = self._menu.ready(self.decoder, emb, key)  # an unknown name is refused here
        plan = session_plan(emb, key, self.start_spec, self.end_spec, self.steps, self.method, self.alpha,
                            self._menu.ready(RETRIEVAL, emb, key), self.decoder,
                            gap_vector=(lambda: self._gap_vector(emb)) if self.close_gap else None)
        return decoder_plan(plan, decoder, decoder_kind(decoder)) if decoder is not None else plan

    def _decode(self, plan, cancel, report=None) -> dict:
        """Build the decoder if needed, then decode the plan (any thread; see :func:`decode_strip`)."""
        if plan.decoder is None:
            decoder = self._menu.build(plan.decoder_name, plan.emb, plan.key)
            plan = decoder_plan(plan, decoder, decoder_kind(decoder))
        result = decode_strip(plan, cancel, report, self._thumbs,
                              image_mean=lambda dec, c: self._menu.image_mean(dec, plan.emb, plan.key, c))
        result["plan"] = plan
        return result

    # -- life cycle ----------------------------------------------------------------------------
    def compute(self, *, background: Optional[bool] = None) -> bool:
        """Build and decode the path of the current specs, steps, method and decoder on the session's model.

        ``background``: None = in a worker thread for any decoder but retrieval, and for retrieval when
        steps > 50 or the model has ≥ 50,000 pairs (``strip_status`` says so); a newer call cancels it.
        Returns False (and sets ``strip_error``, leaving the frames as they were) when the input is
        refused, else True (a worker may still refuse it: see ``strip_error`` after :meth:`wait`).
        """
        with self._refresh_lock:
            self._generation += 1
            generation = self._generation
            if self._job is not None:
                self._job[1].set()
                self._job = None
        try:
            plan = self._plan()
        except Exception as exc:  # refused: the message is shown, the frames stay, the widget stays usable
            return self._refuse(generation, exc)
        k, n, generative = plan.steps, plan.emb.n, plan.kind != "retrieval"
        if background is None:
            background = generative or k > BACKGROUND_STEPS or n >= BACKGROUND_PAIRS
        cancel = threading.Event()
        if not background:
            self._finish(generation, plan, cancel)
            return True
        what = (f"decoding {k} frames with {plan.decoder_name}…" if generative
                else f"decoding {k} frames against {n:,} pairs…")
        if plan.decoder is None:
            what = f"building the decoder {plan.decoder_name!r}, then {what}"
        with self.hold_sync():
            self.strip_busy, self.strip_status, self.strip_progress = True, what, 0.0
        last = [0.0]

        def report(done: int, total: int) -> None:
            if done == total or time.monotonic() - last[0] > 0.25:
                last[0] = time.monotonic()
                with self._refresh_lock:
                    if generation == self._generation and not cancel.is_set():
                        with self.hold_sync():
                            self.strip_status, self.strip_progress = f"{what} {done}/{total}", done / max(total, 1)

        worker = threading.Thread(target=self._finish, args=(generation, plan, cancel, report),
                                  name="amumo-strip", daemon=True)
        with self._refresh_lock:
            if generation == self._generation:
                self._job = (worker, cancel)
        worker.start()
        return True

    def _finish(self, generation: int, plan, cancel, report=None) -> None:
        try:
            if plan.kind == "retrieval":  # stateless: never waits for a generative decoding to stop
                result = self._decode(plan, cancel, report)
            else:
                with self._decode_lock:
                    if cancel.is_set():
                        return
                    result = self._decode(plan, cancel, report)
        except DecoderCancelled:
            return
        except Exception as exc:  # shown in the widget; it stays usable
            self._refuse(generation, exc)
            return
        plan = result["plan"]
        ends, path = plan.ends, plan.path
        with self._refresh_lock:
            if generation != self._generation or cancel.is_set():
                return
            self._path = (path, plan.key)
            summary = f"{path.steps} frames, {ends.start_label} → {ends.end_label} ({path.method})"
            if plan.kind != "retrieval":
                summary += f", painted by {plan.decoder_name}"
            self._summary = summary + (f"; {plan.note}" if plan.note else "")
            with self.hold_sync():
                self.frames = result["frames"]
                self.frame_images, self.frame_image_offsets = result["images"], result["offsets"]
                self.strip_info = {"start_label": ends.start_label, "end_label": ends.end_label,
                                   "modality": ends.modality, "method": path.method, "steps": path.steps,
                                   "model": self.session.model, "close_gap": plan.gap_closed,
                                   "decoder": plan.decoder_name, "decoder_kind": plan.kind,
                                   "generated": plan.kind != "retrieval", "note": plan.note}
                self.strip_error, self.strip_busy, self.strip_progress = "", False, -1.0
                self.strip_status = self._summary
        self._publish(generation, plan)

    def _publish(self, generation: int, plan) -> None:
        """``session.path_shown`` = the decoded path (outside the widget's lock: the session's observers,
        an Explorer drawing the path, run here and may take their own locks)."""
        from ..session.interpolation import ShownPath

        if generation != self._generation:
            return
        self.session.path_shown = ShownPath(
            vectors=plan.unit.copy(), t=plan.path.t.copy(), modality=plan.ends.modality, key=plan.key,
            method=plan.path.method, labels=(plan.ends.start_label, plan.ends.end_label))

    def _refuse(self, generation: int, exc: Exception) -> bool:
        message = str(exc) if isinstance(exc, (EmbeddingError, DecoderError)) else f"{type(exc).__name__}: {exc}"
        with self._refresh_lock:
            if generation == self._generation:
                with self.hold_sync():
                    # the status keeps describing the frames still shown (a refused input changes nothing)
                    self.strip_error, self.strip_busy, self.strip_status = message, False, self._summary
                    self.strip_progress = -1.0
        return False

    def cancel(self) -> None:
        """Stop a background decoding (the frames shown stay; the status says it was cancelled)."""
        with self._refresh_lock:
            self._generation += 1
            running = self._job is not None
            if running:
                self._job[1].set()
                self._job = None
            with self.hold_sync():
                self.strip_busy, self.strip_progress = False, -1.0
                self.strip_status = (f"decoding cancelled; shown: {self._summary or 'nothing yet'}" if running
                                     else self._summary)

    def handle_cancel(self, content) -> tuple[dict, list]:
        """``{"type": "cancel"}`` (the browser's cancel button) → :meth:`cancel`."""
        self.cancel()
        return {"type": "cancel", "req": content.get("req"), "ok": True}, []

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until a background decoding finishes; True when none is running any more."""
        job = self._job
        if job is not None:
            job[0].join(timeout)
            return not job[0].is_alive()
        return True

    # -- the path in the scatter's layout ------------------------------------------------------
    def path_xy(self, method: Optional[str] = None) -> np.ndarray:
        """The frames' path in the session's PCA layout: float32 [steps, 2], the units of
        ``Projection.image_xy`` (before the scatter scales the view).

        PCA is linear, so this is exact: each frame's unit vector u lands at ``(u − mean) @
        components`` of the PCA the session fitted (a frame equal to a dataset row's direction lands
        on that row's point). With ``gap_closed`` the layout's rows were shifted, the path is not.
        ``method``: default the session's projection; anything but ``"pca"`` is refused.
        """
        method = method or self.session.projection
        if method == "tsne":
            raise ValueError("t-SNE has no transform: new vectors (the path) cannot be placed in a t-SNE layout; "
                             "switch the projection to 'pca' (or call path_xy('pca'))")
        if method != "pca":
            raise ValueError(f"path_xy places the path in the PCA layout only, not {method!r} (the session keeps "
                             "no UMAP model to transform with, a joint layout has one point per pair); "
                             "call path_xy('pca')")
        if self._path is None:
            raise ValueError(f"no path is shown yet ({self.strip_error or 'compute() first'})")
        path, key = self._path
        if key != self.session.data_key():
            raise ValueError(f"the path shown belongs to {key[0]!r}, the session shows {self.session.model!r}: "
                             "compute() first")
        proj = self.session.cached_projection("pca") or self.session.compute_projection("pca")
        if proj.pca_mean is None or proj.pca_components is None:
            raise ValueError("this PCA projection keeps no linear map (computed before pca_mean was kept)")
        u = path.vectors.astype(np.float64)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return ((u - proj.pca_mean) @ proj.pca_components).astype(np.float32)
