"""InterpolationStrip: what lies between two embeddings, decoded by retrieval (nearest image and caption).

A path of ``steps`` vectors (:func:`~amumo_ng.analysis.interpolation_paths.interpolation_path`) between
two ends resolved against the session's current model (:func:`~amumo_ng.analysis.interpolation_paths.
path_endpoints`) is decoded by :class:`~amumo_ng.decoders.RetrievalDecoder`: every frame shows the
nearest dataset image and the nearest caption (cosine similarity). The browser gets

- ``frames``: one dict per frame, ``{"t", "caption", "caption_index", "caption_similarity",
  "image_index", "image_similarity", "image_caption", "image_mime"}`` (t in [0, 1], cosines in [−1, 1]);
- ``frame_images`` (binary): the nearest images' thumbnails (PNG, JPEG for photos), concatenated;
  ``frame_image_offsets``: uint32 [steps + 1] byte offsets, thumbnail i is
  ``frame_images[offsets[i]:offsets[i + 1]]`` (empty without images), as :func:`~.base.pack_strings`.

End specs: ``{"text": prompt}``, ``{"caption": i}``, ``{"image": i}`` and, here only, ``{"vector":
[d floats], "modality": "image"|"text"}``; a string is parsed as the browser's text box does
(:func:`parse_spec`: ``"#12"`` caption 12, ``"i12"`` image 12, anything else a prompt).
Bad input sets ``strip_error`` (the library's message) and leaves every other result trait as it was.
"""
from __future__ import annotations

import re
import threading
import time
from typing import Optional

import numpy as np
import traitlets as t

from ..analysis.interpolation_paths import (MAX_STEPS, PATH_METHODS, PathEndpoints, interpolation_path,
                                           modality_mean, path_endpoints)
from ..analysis.validation import EmbeddingError
from ..decoders.base import DecoderCancelled, DecoderError
from .base import SHARED_TRAITS, SessionWidget
from .thumbnails import thumbnail

__all__ = ["InterpolationStrip", "parse_spec", "format_spec", "BACKGROUND_STEPS", "BACKGROUND_PAIRS"]

#: Paths of more steps than this, or datasets of at least BACKGROUND_PAIRS pairs, decode in a thread.
BACKGROUND_STEPS, BACKGROUND_PAIRS = 50, 50_000
#: Longest side of a frame's thumbnail (px).
STRIP_THUMB = 128
_CAPTION, _IMAGE = re.compile(r"^\s*#\s*(\d+)\s*$"), re.compile(r"^\s*[iI]\s*(\d+)\s*$")


def parse_spec(value) -> dict:
    """An end spec from what is typed: ``"#12"`` → ``{"caption": 12}``, ``"i12"`` → ``{"image": 12}``,
    other text → ``{"text": value}``; a dict is returned as a copy (checked when the path is built)."""
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str):
        raise TypeError(f"an end is a spec dict or a string (prompt, '#i' or 'ii'), got {type(value).__name__}")
    for key, pattern in (("caption", _CAPTION), ("image", _IMAGE)):
        m = pattern.match(value)
        if m:
            return {key: int(m.group(1))}
    return {"text": value}


def format_spec(spec: dict) -> str:
    """What the text box shows for ``spec`` (the inverse of :func:`parse_spec`)."""
    if "caption" in spec:
        return f"#{spec['caption']}"
    if "image" in spec:
        return f"i{spec['image']}"
    return str(spec.get("text", "(vector)"))


def _is_vector(spec) -> bool:
    return isinstance(spec, dict) and "vector" in spec


def _vector_end(spec: dict, which: str) -> tuple[np.ndarray, str]:
    modality = spec.get("modality", "text")
    if set(spec) - {"vector", "modality"} or modality not in ("image", "text"):
        raise EmbeddingError(f"{which}: a vector spec is {{'vector': [d floats], 'modality': 'image' or 'text'}}, "
                             f"got keys {sorted(spec)} and modality {modality!r}")
    try:
        vec = np.asarray(spec["vector"], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{which}: the vector is not numeric ({exc})") from None
    return vec, modality


def resolve_ends(embeddings, start: dict, end: dict) -> tuple[PathEndpoints, bool]:
    """(:class:`PathEndpoints`, whether an end is a raw vector spec) of two specs against ``embeddings``.

    Vector specs are resolved here; the others by :func:`path_endpoints` (a vector end stands in as
    caption 0 there, then is replaced)."""
    vec_start, vec_end = _is_vector(start), _is_vector(end)
    ends = path_endpoints(embeddings, {"caption": 0} if vec_start else start, {"caption": 0} if vec_end else end)
    fields = dict(start=ends.start, end=ends.end, start_modality=ends.start_modality, end_modality=ends.end_modality,
                  start_label=ends.start_label, end_label=ends.end_label, model_id=ends.model_id)
    for which, spec, used in (("start", start, vec_start), ("end", end, vec_end)):
        if used:
            vec, modality = _vector_end(spec, which)
            fields.update({which: vec, f"{which}_modality": modality, f"{which}_label": f"{modality} vector"})
    return PathEndpoints(**fields), vec_start or vec_end


def text_weights(ends: PathEndpoints, t_values: np.ndarray) -> np.ndarray:
    """How much of each frame is a text vector, float64 [steps] in [0, 1]: 1 for text→text, 0 for
    image→image, linear in t for a mixed path (1 at its text end) — the share of the gap to shift by."""
    a, b = float(ends.start_modality == "text"), float(ends.end_modality == "text")
    return (1.0 - t_values) * a + t_values * b


class InterpolationStrip(SessionWidget):
    """A strip of the frames between two ends: nearest image (thumbnail) and nearest caption per t.

    Parameters
    ----------
    data, session : see :class:`~.base.SessionWidget`.
    start, end : spec dict or str
        The ends (see the module docstring); default caption 0 → image 0.
    steps : int
        Frames, both ends included (2..512; 50 = the latent-space study's strips).
    method : str
        ``"lerp"``, ``"slerp"`` or ``"vslerp"`` (lifted by ``alpha`` × the modality mean).
    alpha : float
        vSLERP's α (used by ``"vslerp"`` only).
    close_gap : bool
        Find the nearest IMAGES of text vectors shifted by the session's gap vector Δ = mean(Î) − mean(T̂)
        (of :meth:`Session.gap_pairs`): query = normalise(v̂ + w·Δ), w = :func:`text_weights`; captions
        are always found with the path's own vectors.
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
    close_gap = t.Bool(False, help="shift text vectors by the gap vector before finding images").tag(sync=True)
    frames = t.List(t.Dict(), help="one dict per frame (see the module docstring)").tag(sync=True)
    frame_images = t.Bytes(b"", help="thumbnails of the frames' nearest images, concatenated").tag(sync=True)
    frame_image_offsets = t.Bytes(b"", help="uint32 [steps + 1] byte offsets into frame_images").tag(sync=True)
    strip_info = t.Dict(help="what the frames show: labels, modality, method, model, steps").tag(sync=True)
    strip_error = t.Unicode("", help="why the last input was refused ('' when fine)").tag(sync=True)
    strip_status = t.Unicode("", help="what is decoding, or what is shown").tag(sync=True)
    strip_busy = t.Bool(False).tag(sync=True)

    def __init__(self, data=None, *, session=None, start=None, end=None, steps: int = 10, method: str = "slerp",
                 alpha: float = 0.0, close_gap: bool = False, **kwargs):
        self._job: Optional[tuple[threading.Thread, threading.Event]] = None
        self._generation = 0
        self._decoders: dict = {}   # data key -> RetrievalDecoder (its row norms are computed once)
        self._thumbs: dict = {}     # (data key, pair) -> Thumbnail
        self._path = None           # (InterpolationPath, data key) of the frames shown
        self._summary = ""          # strip_status of the frames shown
        super().__init__(data, session=session, **kwargs)
        self.start_spec = parse_spec({"caption": 0} if start is None else start)
        self.end_spec = parse_spec({"image": 0} if end is None else end)
        self.steps, self.method, self.alpha, self.close_gap = steps, method, alpha, close_gap
        self.observe(self._on_input, names=["start_spec", "end_spec", "steps", "method", "alpha", "close_gap"])
        self.session.observe(self._on_data, names=["model", "data_version"])
        self.session.observe(self._on_gap, names=["indices", "gap_scope"])
        self.compute()

    def _on_input(self, _change) -> None:
        self.compute()

    def _on_data(self, _change) -> None:
        self._thumbs.clear()
        self.compute()

    def _on_gap(self, _change) -> None:
        if self.close_gap:  # the gap vector is that of the pairs in view (or of all, gap_scope)
            self.compute()

    def close(self) -> None:
        """Stop decoding and stop following the session, then close the widget."""
        job, self._job = getattr(self, "_job", None), None
        if job is not None:
            job[1].set()
        session = getattr(self, "session", None)
        for handler, names in ((self._on_data, ["model", "data_version"]), (self._on_gap, ["indices", "gap_scope"])):
            try:
                if session is not None:
                    session.unobserve(handler, names=names)
            except ValueError:  # never observed (a failed __init__) or already closed
                pass
        super().close()

    # -- the path ------------------------------------------------------------------------------
    def _decoder(self, emb):
        from ..decoders.retrieval import RetrievalDecoder

        key = self.session.data_key()
        if key not in self._decoders or self._decoders[key].embeddings is not emb:
            self._decoders = {key: RetrievalDecoder(emb)}
        return self._decoders[key]

    def _gap_vector(self, emb) -> np.ndarray:
        """The session's gap vector Δ float32 [d] over :meth:`Session.gap_pairs` (all pairs when none in view)."""
        from ..analysis.gap import modality_gap

        _scope, idx = self.session.gap_pairs()
        if idx is None or idx.size == 0:
            return modality_gap(emb.image, emb.text).vector
        return modality_gap(emb.image[idx], emb.text[idx]).vector

    def _plan(self) -> dict:
        """Resolve, build and check the path (kernel thread: every refusal is raised here)."""
        emb = self.session.embeddings
        ends, has_vector = resolve_ends(emb, self.start_spec, self.end_spec)
        mean, alpha = None, 0.0
        if self.method == "vslerp":
            alpha = self.alpha
            mean = (modality_mean(emb, ends.modality) if ends.modality != "mixed"
                    else (modality_mean(emb, "image") + modality_mean(emb, "text")) / 2)
        path = interpolation_path(ends.start, ends.end, self.steps, self.method, mean=mean, alpha=alpha)
        decoder = self._decoder(emb)
        vectors = decoder.check(path.vectors, None if has_vector else ends.model_id, modality=ends.modality)
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1, keepdims=True)
        if np.any(norms == 0):
            raise DecoderError(f"frame {int(np.flatnonzero(norms[:, 0] == 0)[0])} is the zero vector: no direction")
        unit = vectors / norms
        queries = None
        if self.close_gap and ends.start_modality + ends.end_modality != "imageimage":
            shifted = unit + text_weights(ends, path.t)[:, None] * self._gap_vector(emb).astype(np.float64)
            lengths = np.linalg.norm(shifted, axis=1, keepdims=True)
            if np.any(lengths < 1e-6):
                raise EmbeddingError("closing the gap moved a frame onto the origin: it has no direction")
            queries = (shifted / lengths).astype(np.float32)
        return {"emb": emb, "key": self.session.data_key(), "ends": ends, "path": path, "decoder": decoder,
                "vectors": unit.astype(np.float32), "image_queries": queries}

    def _decode(self, plan: dict, cancel, report=None) -> dict:
        """Nearest captions and images of the planned path, and the thumbnails (any thread)."""
        k = plan["vectors"].shape[0]
        queries = plan["vectors"]
        if plan["image_queries"] is not None:  # one search: captions of the path, images of the shifted path
            queries = np.vstack([queries, plan["image_queries"]])
        found = plan["decoder"].nearest(queries, cancel=cancel)
        img_rows = slice(0, k) if plan["image_queries"] is None else slice(k, 2 * k)
        column = plan["emb"].meta["caption"]

        def caption_of(i: int) -> str:
            return str(column.iat[i])

        frames, blobs = [], []
        for j in range(k):
            if cancel.is_set():
                raise DecoderCancelled(f"decoding cancelled after {j} of {k} frame(s)")
            ci, ii = int(found["caption_index"][j]), int(found["image_index"][img_rows][j])
            thumb = None
            if plan["emb"].image_source is not None:
                thumb = self._thumbs.get((plan["key"], ii))
                if thumb is None:
                    if len(self._thumbs) > 4096:  # bounded: the frames of a few strips
                        self._thumbs.clear()
                    thumb = self._thumbs.setdefault((plan["key"], ii), thumbnail(plan["emb"], ii, STRIP_THUMB))
            blobs.append(thumb.data if thumb is not None else b"")
            frames.append({"t": float(plan["path"].t[j]), "caption": caption_of(ci), "caption_index": ci,
                           "caption_similarity": float(found["caption_similarity"][j]), "image_index": ii,
                           "image_similarity": float(found["image_similarity"][img_rows][j]),
                           "image_caption": caption_of(ii), "image_mime": thumb.mime if thumb is not None else ""})
            if report is not None:
                report(j + 1, k)
        offsets = np.zeros(k + 1, dtype=np.uint32)
        offsets[1:] = np.cumsum([len(b) for b in blobs])
        return {"frames": frames, "images": b"".join(blobs), "offsets": offsets.tobytes()}

    # -- life cycle ----------------------------------------------------------------------------
    def compute(self, *, background: Optional[bool] = None) -> bool:
        """Build and decode the path of the current specs, steps and method on the session's model.

        ``background``: None = in a worker thread when steps > 50 or the model has ≥ 50,000 pairs
        (``strip_status`` says so); a newer call cancels it. Returns False (and sets ``strip_error``,
        leaving the frames as they were) when the input is refused, else True.
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
        k, n = plan["vectors"].shape[0], plan["emb"].n
        if background is None:
            background = k > BACKGROUND_STEPS or n >= BACKGROUND_PAIRS
        cancel = threading.Event()
        if not background:
            self._finish(generation, plan, cancel)
            return True
        what = f"decoding {k} frames against {n:,} pairs…"
        with self.hold_sync():
            self.strip_busy, self.strip_status = True, what
        last = [0.0]

        def report(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 0.25:
                last[0] = time.monotonic()
                with self._refresh_lock:
                    if generation == self._generation and not cancel.is_set():
                        self.strip_status = f"{what} {done}/{total}"

        worker = threading.Thread(target=self._finish, args=(generation, plan, cancel, report),
                                  name="amumo-strip", daemon=True)
        with self._refresh_lock:
            if generation == self._generation:
                self._job = (worker, cancel)
        worker.start()
        return True

    def _finish(self, generation: int, plan: dict, cancel, report=None) -> None:
        try:
            result = self._decode(plan, cancel, report)
        except DecoderCancelled:
            return
        except Exception as exc:  # shown in the widget; it stays usable
            self._refuse(generation, exc)
            return
        ends, path = plan["ends"], plan["path"]
        with self._refresh_lock:
            if generation != self._generation or cancel.is_set():
                return
            self._path = (path, plan["key"])
            with self.hold_sync():
                self.frames = result["frames"]
                self.frame_images, self.frame_image_offsets = result["images"], result["offsets"]
                self.strip_info = {"start_label": ends.start_label, "end_label": ends.end_label,
                                   "modality": ends.modality, "method": path.method, "steps": path.steps,
                                   "model": self.session.model, "close_gap": plan["image_queries"] is not None}
                self.strip_error, self.strip_busy = "", False
                self._summary = f"{path.steps} frames, {ends.start_label} → {ends.end_label} ({path.method})"
                self.strip_status = self._summary

    def _refuse(self, generation: int, exc: Exception) -> bool:
        message = str(exc) if isinstance(exc, (EmbeddingError, DecoderError)) else f"{type(exc).__name__}: {exc}"
        with self._refresh_lock:
            if generation == self._generation:
                with self.hold_sync():
                    # the status keeps describing the frames still shown (a refused input changes nothing)
                    self.strip_error, self.strip_busy, self.strip_status = message, False, self._summary
        return False

    def cancel(self) -> None:
        """Stop a background decoding (the frames shown stay)."""
        with self._refresh_lock:
            self._generation += 1
            if self._job is not None:
                self._job[1].set()
                self._job = None
            self.strip_busy, self.strip_status = False, self._summary

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
