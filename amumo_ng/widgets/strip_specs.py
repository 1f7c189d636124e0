"""End specs of the InterpolationStrip: what the text boxes accept, and how an end becomes a vector.

Specs: ``{"text": prompt}``, ``{"caption": i}``, ``{"image": i}`` (pair indices of the current data) and,
in the strip only, ``{"vector": [d floats], "modality": "image"|"text"}``. The first three are also the
session's shared ends (``Session.path_start`` / ``path_end``, ``{}`` = unset); a vector has no place
there (:func:`shareable`).
"""
from __future__ import annotations

import re

import numpy as np

from ..analysis.interpolation_paths import PathEndpoints, path_endpoints
from ..analysis.validation import EmbeddingError

__all__ = ["parse_spec", "format_spec", "is_vector_spec", "shareable", "resolve_ends", "spec_prompt", "spec_image"]

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


def is_vector_spec(spec) -> bool:
    return isinstance(spec, dict) and "vector" in spec


def shareable(spec: dict) -> dict:
    """``spec`` as the session's shared end: itself for a text / caption / image spec, ``{}`` for a vector."""
    return {} if is_vector_spec(spec) else dict(spec)


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
    vec_start, vec_end = is_vector_spec(start), is_vector_spec(end)
    ends = path_endpoints(embeddings, {"caption": 0} if vec_start else start, {"caption": 0} if vec_end else end)
    fields = dict(start=ends.start, end=ends.end, start_modality=ends.start_modality, end_modality=ends.end_modality,
                  start_label=ends.start_label, end_label=ends.end_label, model_id=ends.model_id)
    for which, spec, used in (("start", start, vec_start), ("end", end, vec_end)):
        if used:
            vec, modality = _vector_end(spec, which)
            fields.update({which: vec, f"{which}_modality": modality, f"{which}_label": f"{modality} vector"})
    return PathEndpoints(**fields), vec_start or vec_end


def spec_prompt(embeddings, spec: dict) -> str | None:
    """The text of a text end: the prompt of ``{"text": s}``, the caption of ``{"caption": i}``; else None.
    (Call after :func:`resolve_ends` accepted the spec: the index is in range.)"""
    if "text" in spec:
        return str(spec["text"])
    if "caption" in spec:
        return str(embeddings.meta["caption"].iat[int(spec["caption"])])
    return None


def spec_image(spec: dict) -> int | None:
    """The pair index of an image end ``{"image": i}``, else None."""
    return int(spec["image"]) if set(spec) == {"image"} else None
