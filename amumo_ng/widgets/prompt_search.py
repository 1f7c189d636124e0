"""Typed prompt search in the Explorer: CLIP retrieval, shown in every view.

``explorer.search_prompt("a red circle", k=5)`` (or the prompt box, through a ``prompt_search``
request) encodes the prompt with the current model's text encoder, finds its ``k`` nearest images
and ``k`` nearest texts among the pairs in view (cosine, exact: :func:`amumo_ng.analysis.retrieval.top_k`)
and marks the prompt in the scatter (placed as the path is: :mod:`amumo_ng.session.placement`).
With the gap closed the prompt is shifted like the texts (+Δ/2) and searched among the gap-closed
vectors the views show, so toggling the gap shows what it does to retrieval.

The browser gets ``prompt_hits`` (binary int32 [k_img + k_txt]: the image hits' pairs, then the
text hits'), ``prompt_hit_cosines`` (float32, same order), ``prompt_result`` (prompt, k_images,
k_texts, searched, gap_closed, model, seq), ``prompt_xy`` (float32 [2] in the scatter's view units,
b'' when not placed), ``prompt_note`` (why it is not placed) and ``prompt_error`` (why there is no
result: an empty prompt, no encoder; the last result is kept then).
"""
from __future__ import annotations

import numpy as np
import traitlets as t

from ..analysis.retrieval import top_k
from ..session.placement import layout_vectors
from .placed_marks import Placer

__all__ = ["PromptSearchMixin", "session_encoder", "MAX_K"]

#: Most hits per modality.
MAX_K = 50


def session_encoder(session):
    """The current model's encoder: the one its embeddings carry, else one given to the session
    (``Explorer(encoders=...)``), else None."""
    emb = session.embeddings
    encoder = getattr(emb, "encoder", None)
    if encoder is None:
        encoder = (getattr(session, "_encoders", None) or {}).get(session.model)
    return encoder


class PromptSearchMixin(t.HasTraits):
    """Prompt search traits, :meth:`search_prompt` and the ``prompt_search`` request."""

    prompt = t.Unicode("", help="the prompt searched ('' none)").tag(sync=True)
    prompt_k = t.Int(5, help="hits per modality").tag(sync=True)
    prompt_result = t.Dict(help="what the hits are: prompt, k_images, k_texts, searched, gap_closed, model, seq").tag(sync=True)
    prompt_hits = t.Bytes(b"", help="int32 [k_images + k_texts]: pairs of the image hits, then of the text hits").tag(sync=True)
    prompt_hit_cosines = t.Bytes(b"", help="float32 [k_images + k_texts]: their cosines to the prompt").tag(sync=True)
    prompt_xy = t.Bytes(b"", help="float32 [2]: the prompt in the scatter's view units (b'' not placed)").tag(sync=True)
    prompt_note = t.Unicode("", help="why the prompt is not placed in the scatter ('' when it is)").tag(sync=True)
    prompt_error = t.Unicode("", help="why the last prompt gave no result ('' when fine)").tag(sync=True)

    def _init_prompt_search(self) -> None:
        self._prompt_placer = Placer(self.session)
        self._prompt_vectors: dict = {}  # (data key, prompt) -> raw float32 [d]
        self._prompt_seq = 0
        self.session.observe(self._refresh_prompt, names=["model", "data_version", "indices", "gap_closed", "gap_fraction", "gap_scope"])
        self.session.observe(self._place_prompt, names=["projection", "projection_scope"])

    def _show(self, projection) -> None:  # the scatter shows a layout: place the prompt in it
        super()._show(projection)
        if hasattr(self, "_prompt_placer"):
            self._place_prompt(None)

    def _encode_prompt(self, prompt: str) -> np.ndarray:
        """Raw float32 [d] of ``prompt`` by the current model (cached per model and data)."""
        session = self.session
        key = (session.data_key(), prompt)
        if key not in self._prompt_vectors:
            encoder = session_encoder(session)
            if encoder is None:
                raise ValueError(f"model {session.model!r} has no text encoder (precomputed arrays): make its "
                                 "embeddings with amumo_ng.embed, or give Explorer(encoders={name: encoder})")
            vec = np.asarray(encoder.encode_texts([prompt]), dtype=np.float32)
            if vec.shape != (1, session.embeddings.dim):
                raise ValueError(f"the encoder returned shape {vec.shape}, expected (1, {session.embeddings.dim})")
            if len(self._prompt_vectors) > 64:
                self._prompt_vectors.clear()
            self._prompt_vectors[key] = vec[0]
        return self._prompt_vectors[key]

    def search_prompt(self, prompt: str, k: int = None):
        """Search ``prompt``: its ``k`` (default ``prompt_k``) nearest images and texts among the pairs
        in view, highlighted in every view; returns a pandas DataFrame (modality, rank, pair, cosine,
        caption). Raises ValueError for an empty prompt, a bad k or a model without encoder; what was
        shown stays then (``prompt_error`` says why)."""
        prompt = "" if prompt is None else str(prompt)
        try:
            if not prompt.strip():
                raise ValueError("the prompt is empty: type a few words, e.g. 'a red circle'")
            k = self.prompt_k if k is None else k
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
                raise ValueError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
            self._encode_prompt(prompt)
        except ValueError as exc:
            self.prompt_error = str(exc)
            raise
        with self.hold_sync():
            self.prompt_k, self.prompt = int(k), prompt
            self._refresh_prompt(None)
        if self.prompt_error:
            raise ValueError(self.prompt_error)
        return self.prompt_table()

    def clear_prompt(self) -> None:
        """Forget the prompt: no hits, no mark."""
        self._prompt_placer.cancel()
        with self.hold_sync():
            self.prompt, self.prompt_error, self.prompt_note = "", "", ""
            self.prompt_result, self.prompt_hits, self.prompt_hit_cosines, self.prompt_xy = {}, b"", b"", b""

    def _refresh_prompt(self, _change) -> None:
        """Search the current prompt again in the data and view shown now."""
        if not self.prompt:
            return
        session = self.session
        try:
            raw = self._encode_prompt(self.prompt)
        except ValueError as exc:  # e.g. switched to a model without encoder
            with self.hold_sync():
                self.prompt_error = str(exc)
                self.prompt_result, self.prompt_hits, self.prompt_hit_cosines, self.prompt_xy = {}, b"", b"", b""
            return
        query = layout_vectors(session, raw, 1.0).astype(np.float32)  # as the texts shown (gap-closed or not)
        img, txt = session.vectors()
        idx = session.indices
        everything = idx.size == session.n_total
        pairs, cosines = [], []
        for rows in (img, txt):
            if idx.size == 0:
                found, sims = np.zeros((1, 0), np.int64), np.zeros((1, 0), np.float32)
            else:
                found, sims = top_k(query, rows if everything else rows[idx], self.prompt_k)
            pairs.append(found[0] if everything else idx[found[0]])
            cosines.append(sims[0])
        self._prompt_seq += 1
        with self.hold_sync():
            self.prompt_hits = np.concatenate(pairs).astype(np.int32).tobytes()
            self.prompt_hit_cosines = np.concatenate(cosines).astype(np.float32).tobytes()
            self.prompt_result = {"prompt": self.prompt, "k_images": int(pairs[0].size), "k_texts": int(pairs[1].size),
                                  "searched": int(idx.size), "gap_closed": bool(session.gap_closed),
                                  "model": session.model, "seq": self._prompt_seq}
            self.prompt_error = ""
        self._place_prompt(None)

    def _place_prompt(self, _change) -> None:
        if not self.prompt or self.prompt_error:
            return
        raw = self._prompt_vectors.get((self.session.data_key(), self.prompt))
        if raw is None:
            return

        def done(xy, note):
            with self.hold_sync():
                self.prompt_xy = b"" if xy is None else np.ascontiguousarray(xy[0], np.float32).tobytes()
                self.prompt_note = note

        self._prompt_placer.place(raw[None, :], 1.0, done)

    def prompt_table(self):
        """The hits shown as a pandas DataFrame: modality, rank, pair, cosine, caption."""
        import pandas as pd

        pairs = np.frombuffer(self.prompt_hits, dtype=np.int32)
        cosines = np.frombuffer(self.prompt_hit_cosines, dtype=np.float32)
        k_img = int(self.prompt_result.get("k_images", 0))
        captions = self.session.embeddings.captions
        modality = ["image"] * k_img + ["text"] * (len(pairs) - k_img)
        rank = list(range(1, k_img + 1)) + list(range(1, len(pairs) - k_img + 1))
        return pd.DataFrame({"modality": modality, "rank": rank, "pair": pairs.astype(np.int64),
                             "cosine": cosines, "caption": [captions[int(p)] for p in pairs]})

    def handle_prompt_search(self, content) -> tuple[dict, list]:
        """``{"type": "prompt_search", "prompt": str, "k": int}``: search it (see :meth:`search_prompt`);
        an empty prompt with ``"clear": true`` forgets the prompt. Errors come back as ``error``."""
        reply = {"type": "prompt_search", "req": content.get("req")}
        if content.get("clear"):
            self.clear_prompt()
            return {**reply, "cleared": True}, []
        k = content.get("k")
        self.search_prompt(content.get("prompt", ""), None if k is None else int(k))
        return {**reply, "seq": self._prompt_seq}, []

    def wait_prompt(self, timeout: float = 60.0) -> bytes:
        """Block until a prompt placement running in a thread (UMAP) is done; returns ``prompt_xy``."""
        self._prompt_placer.wait(timeout)
        return self.prompt_xy
