"""What a strip decodes: the path in the session model's space, and what its decoder is fed.

:func:`session_plan` (kernel thread, every refusal of the input raised here) resolves the two ends
against the session's current model, builds the path (:func:`~amumo_ng.analysis.interpolation_paths.
interpolation_path`) and checks it against retrieval, which always gives each frame its nearest caption.
:func:`decoder_plan` adds what the chosen decoder needs and refuses what it cannot decode:

- retrieval / an image decoder of the session's space, text or mixed path, ``close_gap``: the text
  share of each frame is moved by the session's gap vector (:func:`~amumo_ng.analysis.
  interpolation_paths.gap_shifted`, the ONE implementation) before the images are found / painted;
  without ``close_gap`` an image decoder paints the text vectors as they are, and the plan's ``note``
  says so;
- a text decoder (the toy prior): text paths only;
- Stable Diffusion: two text ends (prompts or captions), slerp or lerp of its own per-token states;
- Stable unCLIP: two dataset images, encoded by its own image encoder (lerp / slerp / vslerp).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..analysis.interpolation_paths import (InterpolationPath, PathEndpoints, gap_shifted, interpolation_path,
                                           path_mean, text_weights)
from ..decoders.base import DecoderError
from .strip_specs import resolve_ends, spec_image, spec_prompt

__all__ = ["StripPlan", "session_plan", "decoder_plan"]


@dataclass(frozen=True, eq=False)
class StripPlan:
    """One strip to decode.

    ``emb``/``key``: the session's embeddings and data key; ``ends``/``path``: the path in that model's
    space (``path.vectors`` raw or unit as the method defines), ``unit`` its unit rows float32 [k, d];
    ``retrieval``: the RetrievalDecoder giving the captions; ``gap``: the session's gap vector float64 [d]
    when close_gap was asked for a path with a text share (else None); ``decoder_name``; then, filled by
    :func:`decoder_plan`: ``decoder``, ``kind``, ``image_queries`` (unit float32 [k, d], what the nearest
    dataset images are found with), ``decode_vectors`` ([k, d], what a "vectors" decoder paints),
    ``prompts`` (two texts, "prompts"), ``image_pairs`` (two pair indices, "images"), ``gap_closed``
    (the shift was applied) and ``note`` (how the path was decoded, '' when plain).
    """

    emb: Any
    key: tuple
    specs: tuple
    ends: PathEndpoints
    path: InterpolationPath
    unit: np.ndarray
    has_vector: bool
    retrieval: Any
    gap: Optional[np.ndarray]
    decoder_name: str
    decoder: Any = None
    kind: Optional[str] = None
    image_queries: Optional[np.ndarray] = None
    decode_vectors: Optional[np.ndarray] = None
    prompts: Optional[tuple] = None
    image_pairs: Optional[tuple] = None
    gap_closed: bool = False
    note: str = ""

    @property
    def steps(self) -> int:
        return self.path.steps


def session_plan(emb, key: tuple, start: dict, end: dict, steps: int, method: str, alpha: float, retrieval,
                 decoder_name: str, gap_vector=None) -> StripPlan:
    """The path of two end specs on ``emb`` (checked against ``retrieval``); raises for refused input.

    ``gap_vector``: a callable returning the session's gap vector float32 [d], called only when the
    path has a text share (the caller passes it only when close_gap is ticked).
    """
    ends, has_vector = resolve_ends(emb, start, end)
    mean = path_mean(emb, ends.modality) if method == "vslerp" else None
    path = interpolation_path(ends.start, ends.end, steps, method, mean=mean,
                              alpha=alpha if method == "vslerp" else 0.0)
    vectors = retrieval.check(path.vectors, None if has_vector else ends.model_id, modality=ends.modality)
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1, keepdims=True)
    if np.any(norms == 0):
        raise DecoderError(f"frame {int(np.flatnonzero(norms[:, 0] == 0)[0])} is the zero vector: no direction")
    gap = None
    if gap_vector is not None and ends.modality != "image":
        gap = np.asarray(gap_vector(), dtype=np.float64)
    return StripPlan(emb=emb, key=key, specs=(dict(start), dict(end)), ends=ends, path=path,
                     unit=(vectors / norms).astype(np.float32), has_vector=has_vector, retrieval=retrieval, gap=gap,
                     decoder_name=decoder_name)


def _shifted(plan: StripPlan) -> np.ndarray:
    return gap_shifted(plan.unit, text_weights(plan.ends.start_modality, plan.ends.end_modality, plan.path.t), plan.gap)


def _not_applied(plan: StripPlan, why: str) -> str:
    return f"close gap does not apply: {why}" if plan.gap is not None else ""


def decoder_plan(plan: StripPlan, decoder, kind: str) -> StripPlan:
    """``plan`` with what ``decoder`` (of :func:`~.strip_decoders.decoder_kind` ``kind``) is fed; raises
    :class:`DecoderError` (a clear message) for a path it cannot decode."""
    name, ends = plan.decoder_name, plan.ends
    fields: dict = {"decoder": decoder, "kind": kind}
    if kind == "retrieval":
        if plan.gap is not None:
            fields.update(image_queries=_shifted(plan), gap_closed=True)
    elif kind == "vectors":
        model_id = None if plan.has_vector else ends.model_id
        modality = getattr(decoder, "modality", "image-or-text")
        if modality == "text":
            if ends.modality != "text":
                which = "start" if ends.start_modality == "image" else "end"
                label = ends.start_label if which == "start" else ends.end_label
                raise DecoderError(f"{name!r} decodes text vectors (it maps them to image vectors through its "
                                   f"prior), but the {which} is {label}, an image: make both ends text (a prompt or "
                                   "#i for a caption), or choose an image decoder")
            fields.update(decode_vectors=decoder.check(plan.path.vectors, model_id, modality="text"),
                          note=_not_applied(plan, "the prior maps text vectors to image vectors itself"))
        elif modality == "image" and ends.modality != "image":
            if plan.gap is not None:
                shifted = _shifted(plan)
                fields.update(decode_vectors=decoder.check(shifted, model_id), image_queries=shifted, gap_closed=True)
            else:
                what = "text" if ends.modality == "text" else "mixed (image and text)"
                fields.update(decode_vectors=decoder.check(plan.path.vectors, model_id),
                              note=f"{what} vectors decoded as they are by an image decoder: the modality gap is not "
                                   "closed (tick 'close gap before decoding')")
        else:
            fields.update(decode_vectors=decoder.check(plan.path.vectors, model_id, modality=ends.modality),
                          note=_not_applied(plan, f"{name!r} decodes image and text vectors alike"))
    elif kind == "prompts":
        texts = [spec_prompt(plan.emb, s) for s in plan.specs]
        if None in texts:
            which = "start" if texts[0] is None else "end"
            label = ends.start_label if which == "start" else ends.end_label
            raise DecoderError(f"{name!r} (Stable Diffusion) interpolates the per-token states of its own text encoder "
                               f"between two TEXTS, but the {which} is {label}: type a prompt or give a caption (#i)")
        if plan.path.method not in ("slerp", "lerp"):
            raise DecoderError(f"{name!r} interpolates per-token states token-wise by slerp or lerp, not "
                               f"{plan.path.method!r} (vSLERP lifts by a modality mean of single vectors): choose "
                               "slerp or lerp")
        fields.update(prompts=tuple(texts), note=_not_applied(plan, "Stable Diffusion decodes its own text states"))
    elif kind == "images":
        pairs = [spec_image(s) for s in plan.specs]
        if None in pairs:
            which = "start" if pairs[0] is None else "end"
            label = ends.start_label if which == "start" else ends.end_label
            raise DecoderError(f"{name!r} (Stable unCLIP) interpolates the image embeddings of two dataset images "
                               f"(its own image encoder), but the {which} is {label}: give images (i12)")
        if plan.emb.image_source is None:
            raise DecoderError(f"{name!r} encodes the dataset's images, and these embeddings carry no images")
        note = ("slerp paints unit vectors, and Stable unCLIP was trained on raw image embeddings (lerp and vslerp "
                "keep their norms)" if plan.path.method == "slerp" else "")
        fields.update(image_pairs=tuple(pairs), note=note)
    else:
        raise DecoderError(f"unknown decoder kind {kind!r}")
    return dataclasses.replace(plan, **fields)


def unclip_path(plan: StripPlan, encoded: np.ndarray, mean: Optional[np.ndarray]) -> InterpolationPath:
    """The Stable unCLIP path: the plan's method between the two images' RAW embeddings ``encoded`` [2, dim]
    by the pipeline's image encoder (vSLERP lifted by ``mean`` [dim], the pipeline's dataset image mean)."""
    path = plan.path
    return interpolation_path(encoded[0], encoded[1], path.steps, path.method, mean=mean,
                              alpha=path.alpha if path.method == "vslerp" else 0.0)
