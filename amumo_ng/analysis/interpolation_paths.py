"""Interpolation paths between two embedding vectors: the numbers behind an "interpolation strip".

A path is ``steps`` vectors from ``start`` (t = 0) to ``end`` (t = 1) at evenly spaced t, by one of

- ``"lerp"``: ``(1 − t)·a + t·b`` of the raw vectors (the latent-space study's linear interpolation);
- ``"slerp"``: the great circle between the DIRECTIONS â, b̂ (unit vectors out);
- ``"vslerp"``: Levi & Gilboa's vertical SLERP of the raw vectors, lifted by ``alpha`` × the modality
  ``mean`` of the RAW vectors (see :func:`~amumo_ng.analysis.interpolation.vslerp`).

``steps = 50`` reproduces the study's strips (48 in-betweens plus the two ends); the default is 10.
:func:`path_endpoints` resolves the two ends from specs (a typed prompt, the caption or the image of
a pair) against an :class:`~amumo_ng.store.Embeddings`, and :func:`modality_mean` gives the mean that
vSLERP needs. Everything here is numpy; a prompt spec calls the embeddings' own encoder.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .interpolation import lerp, slerp, vslerp
from .validation import EmbeddingError

__all__ = ["InterpolationPath", "Path", "PathEndpoints", "interpolation_path", "path_endpoints", "modality_mean",
           "path_mean", "text_weights", "gap_shifted", "PATH_METHODS", "MIN_STEPS", "MAX_STEPS"]

#: Interpolation methods of :func:`interpolation_path`.
PATH_METHODS = ("lerp", "slerp", "vslerp")
#: Bounds on the number of vectors of a path (both ends included).
MIN_STEPS, MAX_STEPS = 2, 512
#: Endpoint spec keys of :func:`path_endpoints` and the modality each gives.
_SPEC_MODALITY = {"text": "text", "caption": "text", "image": "image"}
#: Below this angle (radians) two directions count as equal for slerp.
_SAME_DIRECTION = 1e-6


@dataclass(frozen=True, eq=False)
class InterpolationPath:
    """``steps`` vectors from ``start`` to ``end`` (also exported as ``Path``).

    Attributes
    ----------
    t : np.ndarray
        float64 [steps], evenly spaced from 0 to 1 (both ends included).
    vectors : np.ndarray
        float32 [steps, d]; row i is the interpolant at ``t[i]``.
    method : str
        ``"lerp"``, ``"slerp"`` or ``"vslerp"``.
    unit : bool
        True when the rows are unit vectors (slerp of directions), False when raw (lerp, vslerp).
    start, end : np.ndarray
        float32 [d], the raw end vectors as given (row 0 / row −1 are them, or their directions for slerp).
    mean : np.ndarray or None
        float32 [d], the modality mean vSLERP lifted by (None for lerp/slerp).
    alpha : float
        vSLERP's α (0.0 for lerp/slerp).
    """

    t: np.ndarray
    vectors: np.ndarray
    method: str
    unit: bool
    start: np.ndarray
    end: np.ndarray
    mean: Optional[np.ndarray] = None
    alpha: float = 0.0

    @property
    def steps(self) -> int:
        return int(self.t.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


#: Short name of :class:`InterpolationPath`.
Path = InterpolationPath


@dataclass(frozen=True, eq=False)
class PathEndpoints:
    """The two resolved ends of a path.

    ``start``, ``end``: raw float32 [d]; ``start_modality``, ``end_modality``: ``"image"`` or
    ``"text"``; ``start_label``, ``end_label``: short descriptions (``'text "a red circle"'``,
    ``"caption 3: …"``, ``"image 3"``); ``model_id``: the embeddings' model (whose space the ends live in).
    """

    start: np.ndarray
    end: np.ndarray
    start_modality: str
    end_modality: str
    start_label: str
    end_label: str
    model_id: str

    @property
    def modality(self) -> str:
        """The common modality of both ends, or ``"mixed"``."""
        return self.start_modality if self.start_modality == self.end_modality else "mixed"


def _end_vector(x, name: str) -> np.ndarray:
    """``x`` as a finite float64 vector [d] (d ≥ 1)."""
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise EmbeddingError(f"{name}: expected a numeric vector, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise EmbeddingError(f"{name}: expected a 1-D vector [d], got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise EmbeddingError(f"{name} contains NaN or inf")
    return arr


def _check_steps(steps) -> int:
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise EmbeddingError(f"steps must be an integer, got {steps!r}")
    if not MIN_STEPS <= int(steps) <= MAX_STEPS:
        raise EmbeddingError(f"steps must be between {MIN_STEPS} and {MAX_STEPS} (both ends included; 50 gives the "
                             f"study's 48 in-betweens + 2 ends), got {steps}")
    return int(steps)


def interpolation_path(start, end, steps: int = 10, method: str = "slerp", *, mean=None,
                       alpha: float = 0.0) -> Path:
    """``steps`` vectors from ``start`` to ``end`` (both included) at t = linspace(0, 1, steps).

    Parameters
    ----------
    start, end : array-like [d]
        Raw vectors of the same dimension (e.g. from :func:`path_endpoints`).
    steps : int
        Number of vectors, 2 ≤ steps ≤ 512 (default 10; 50 reproduces the latent-space study).
    method : str
        ``"lerp"`` (raw out), ``"slerp"`` (unit out) or ``"vslerp"`` (raw out).
    mean : array-like [d], vslerp only
        The modality mean of the RAW vectors (:func:`modality_mean`); required by ``"vslerp"``.
    alpha : float, vslerp only
        How far along ``mean`` the slerp is lifted (α of Levi & Gilboa; 0 = slerp of the raw vectors).

    Raises :class:`EmbeddingError` for steps out of range, an unknown method, vectors of different
    dimensions, start equal to end (or, for slerp, pointing the same way: a constant path),
    antipodal directions (slerp, vslerp), ``mean``/``alpha`` given to lerp or slerp, and a missing mean.
    """
    steps = _check_steps(steps)
    if method not in PATH_METHODS:
        raise EmbeddingError(f"method must be one of {PATH_METHODS}, got {method!r}")
    a, b = _end_vector(start, "start"), _end_vector(end, "end")
    if a.shape != b.shape:
        raise EmbeddingError(f"start and end differ in dimension: {a.shape[0]} vs {b.shape[0]} (vectors of "
                             "different models cannot be interpolated)")
    if np.array_equal(a, b):
        raise EmbeddingError("start and end are the same vector: the path would be constant")
    t = np.linspace(0.0, 1.0, steps)
    if method != "vslerp" and (mean is not None or alpha != 0.0):
        raise EmbeddingError(f"mean and alpha apply to method='vslerp' only, not {method!r}")
    lifted = None
    if method == "lerp":
        vectors = lerp(a, b, t)
    elif method == "slerp":
        norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
        if norm_a > 0 and norm_b > 0:
            cos = float(np.clip((a / norm_a) @ (b / norm_b), -1.0, 1.0))
            if np.arccos(cos) < _SAME_DIRECTION:
                raise EmbeddingError("start and end point in the same direction: the slerp of their directions "
                                     "is constant (use method='lerp' to interpolate their lengths)")
        vectors = slerp(a, b, t)
    else:
        if mean is None:
            raise EmbeddingError("method='vslerp' needs mean= (the modality mean of the RAW vectors, e.g. "
                                 "modality_mean(embeddings, 'image'))")
        vectors = vslerp(a, b, t, mean=mean, alpha=alpha)
        lifted = np.asarray(mean, dtype=np.float32).copy()
    return Path(t=t, vectors=np.ascontiguousarray(vectors, dtype=np.float32), method=method,
                unit=method == "slerp", start=a.astype(np.float32), end=b.astype(np.float32),
                mean=lifted, alpha=float(alpha))


def modality_mean(embeddings, modality: str) -> np.ndarray:
    """Mean RAW vector float32 [d] of the embeddings' ``"image"`` or ``"text"`` rows (accumulated in float64).

    This is the m of vSLERP. Normalised embeddings (``is_normalized``) have lost the raw geometry and
    are refused.
    """
    if modality not in ("image", "text"):
        raise EmbeddingError(f"modality must be 'image' or 'text', got {modality!r}")
    if getattr(embeddings, "is_normalized", False):
        raise EmbeddingError("these embeddings are normalised: the modality mean of vSLERP is that of the RAW vectors")
    rows = getattr(embeddings, modality)
    return np.mean(rows, axis=0, dtype=np.float64).astype(np.float32)


def path_mean(embeddings, modality: str) -> np.ndarray:
    """The mean vSLERP lifts a path of ``modality`` by: :func:`modality_mean` for ``"image"`` / ``"text"``,
    the average of both modality means for a ``"mixed"`` path (float32 [d], raw units)."""
    if modality == "mixed":
        return (modality_mean(embeddings, "image") + modality_mean(embeddings, "text")) / 2
    return modality_mean(embeddings, modality)


def text_weights(start_modality: str, end_modality: str, t) -> np.ndarray:
    """How much of each frame of a path is a text vector, float64 [k] in [0, 1] for ``t`` [k]: 1 for
    text→text, 0 for image→image, linear in t for a mixed path (1 at its text end)."""
    for m in (start_modality, end_modality):
        if m not in ("image", "text"):
            raise EmbeddingError(f"an end's modality is 'image' or 'text', got {m!r}")
    w = np.asarray(t, dtype=np.float64)
    return (1.0 - w) * float(start_modality == "text") + w * float(end_modality == "text")


def gap_shifted(unit_vectors, weights, gap_vector) -> np.ndarray:
    """Close the modality gap of the text share of each frame: ``normalise(û_i + w_i·Δ)``, float32 [k, d].

    ``unit_vectors`` [k, d] unit frames, ``weights`` [k] their text share (:func:`text_weights`),
    ``gap_vector`` Δ [d] = mean(Î) − mean(T̂) (:func:`~amumo_ng.analysis.gap.modality_gap`), so a text
    frame (w = 1) moves by the whole gap towards the images and an image frame (w = 0) stays. Computed in
    float64; a frame the shift moves onto the origin is refused (:class:`EmbeddingError`).
    """
    u = np.asarray(unit_vectors, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).reshape(-1, 1)
    gap = np.asarray(gap_vector, dtype=np.float64).reshape(1, -1)
    if u.ndim != 2 or w.shape[0] != u.shape[0] or gap.shape[1] != u.shape[1]:
        raise EmbeddingError(f"gap_shifted: frames {u.shape}, weights {w.shape[0]}, gap vector {gap.shape[1]} "
                             "do not match")
    shifted = u + w * gap
    lengths = np.linalg.norm(shifted, axis=1, keepdims=True)
    if np.any(lengths < 1e-6):
        raise EmbeddingError("closing the gap moved a frame onto the origin: it has no direction")
    return (shifted / lengths).astype(np.float32)


def _pair_index(value, n: int, key: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise EmbeddingError(f"{{{key!r}: i}} needs an integer pair index, got {value!r}")
    if not 0 <= int(value) < n:
        raise EmbeddingError(f"{{{key!r}: {value}}}: pair index out of range (the embeddings have {n} pairs, 0..{n - 1})")
    return int(value)


def _resolve(embeddings, spec: Any, which: str) -> tuple[np.ndarray, str, str]:
    """(raw float32 [d], modality, label) of one endpoint spec."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in _SPEC_MODALITY:
        raise EmbeddingError(f"{which}: expected one of {{'text': prompt}}, {{'caption': i}}, {{'image': i}}, "
                             f"got {spec!r}")
    key, value = next(iter(spec.items()))
    if key == "text":
        if not isinstance(value, str) or not value.strip():
            raise EmbeddingError(f"{which}: the prompt is empty; type some text (or use {{'caption': i}})")
        encoder = getattr(embeddings, "encoder", None)
        if encoder is None:
            raise EmbeddingError(f"{which}: these embeddings carry no encoder (precomputed arrays), so a prompt cannot "
                                 "be encoded; use {'caption': i} or {'image': i}, or embed() the dataset with a model")
        vec = np.asarray(encoder.encode_texts([value]), dtype=np.float32)
        if vec.shape != (1, embeddings.dim):
            raise EmbeddingError(f"{which}: the encoder returned shape {vec.shape}, expected (1, {embeddings.dim})")
        return vec[0], "text", f"text {value!r}"
    i = _pair_index(value, embeddings.n, key)
    if key == "caption":
        return np.array(embeddings.text[i], dtype=np.float32), "text", f"caption {i}: {embeddings.captions[i]}"
    return np.array(embeddings.image[i], dtype=np.float32), "image", f"image {i}"


def path_endpoints(embeddings, start, end) -> PathEndpoints:
    """Resolve both ends of a path from specs, against raw ``embeddings``.

    Specs: ``{"text": "a red circle"}`` (encoded with ``embeddings.encoder.encode_texts``; empty
    prompts refused), ``{"caption": i}`` (text vector of pair i), ``{"image": i}`` (image vector of
    pair i). Returns raw float32 [d] vectors with their modalities (:class:`PathEndpoints`).
    """
    if getattr(embeddings, "is_normalized", False):
        raise EmbeddingError("path_endpoints needs the RAW embeddings (these are normalised)")
    a, mod_a, label_a = _resolve(embeddings, start, "start")
    b, mod_b, label_b = _resolve(embeddings, end, "end")
    return PathEndpoints(start=a, end=b, start_modality=mod_a, end_modality=mod_b, start_label=label_a,
                         end_label=label_b, model_id=str(getattr(embeddings, "model_id", "arrays")))
