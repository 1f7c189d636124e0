"""Augmented sets: ``steps`` transformed copies of one pair's image, as a :class:`PairDataset`.

``augment(dataset, index, kind, steps=100, seed=0, **params)`` (or :func:`augment_image` for a
PIL image or an image path plus a caption) returns an :class:`AugmentedDataset` whose pair ``i``
(``i = 0 .. steps-1``, "the step") is the source image transformed with parameter value
``v_i`` and the source caption, unchanged. ``amumo_ng.embed(aug, encoder)`` caches it like any
dataset: the id holds the source dataset's id, the index, the kind, ``steps``, ``seed`` and every
resolved parameter, so another parameter is another cache entry.

Schedules (``w``, ``h``: the image width and height in pixels; ``start``/``end`` are parameters)::

    "fraction"  v_i = start + (end - start) * i / steps         (end not reached, as in Amumo)
    "linspace"  v_i = numpy.linspace(start, end, steps)[i]      (both ends reached)
    "random"    v_i = rng_i.uniform(start, end),  rng_i = numpy.random.default_rng([seed, i, salt])

Kinds (unit; schedule; defaults, Amumo's definitions where it has one):

- ``rotate``: degrees counter-clockwise about the centre; fraction; 0 -> 360 (3.6 deg a step for
  100 steps); ``fill=0`` (black corners), ``interpolation="nearest"`` (torchvision ``rotate``).
- ``blur``: PIL ``GaussianBlur`` radius in pixels; fraction; 0 -> w/8.
- ``noise``: fraction t of uniform noise; fraction; 0 -> 1. Pixels: ``rint((1 - t) * img + t * U)``
  with ``U = default_rng([seed, i, 1]).uniform(0, 255, (h, w, 3))``, a fresh field per step.
- ``hshift`` / ``vshift``: pixels, positive moves the content right / down; linspace; -w -> w
  (resp. -h -> h), rounded to whole pixels; the emptied area is filled with ``fill=0`` (black)
  (torchvision ``affine``).
- ``random-rotate``: degrees; random with salt 2; -90 -> 90 (torchvision ``RandomRotation(90)``).
- ``zoom``: fraction of each side kept by a centre crop, resized back (bilinear); linspace; 1 -> 0.25.
- ``hue``: hue rotation in degrees (torchvision ``adjust_hue``); fraction; 0 -> 360.
- ``brightness``: factor (torchvision ``adjust_brightness``, 0 is black); linspace; 1 -> 0.
- ``jpeg``: JPEG quality (PIL, rounded to an integer); linspace; 100 -> 1.
- compose: ``kind=("rotate", "noise")`` or ``"rotate+noise"`` applies the kinds in order, both
  driven by the same step; parameters go per kind: ``rotate={"end": 180}, noise={"end": 0.5}``.

Everything is deterministic for a seed: the same arguments give the same pixels on every run.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from .base import DatasetError, PairDataset

VERSION = "v1"
MIN_STEPS, MAX_STEPS = 2, 2000
_INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class KindSpec:
    """One augmentation kind: its parameter unit, schedule and default parameters (None: from the image)."""

    name: str
    unit: str
    schedule: str
    defaults: dict
    salt: int = 0


KINDS: dict[str, KindSpec] = {
    "rotate": KindSpec("rotate", "degrees", "fraction",
                       {"start": 0.0, "end": 360.0, "fill": 0, "interpolation": "nearest"}),
    "blur": KindSpec("blur", "radius px", "fraction", {"start": 0.0, "end": None}),
    "noise": KindSpec("noise", "fraction", "fraction", {"start": 0.0, "end": 1.0}, salt=1),
    "hshift": KindSpec("hshift", "pixels", "linspace", {"start": None, "end": None, "fill": 0}),
    "vshift": KindSpec("vshift", "pixels", "linspace", {"start": None, "end": None, "fill": 0}),
    "random-rotate": KindSpec("random-rotate", "degrees", "random",
                              {"start": -90.0, "end": 90.0, "fill": 0, "interpolation": "nearest"}, salt=2),
    "zoom": KindSpec("zoom", "fraction", "linspace", {"start": 1.0, "end": 0.25}),
    "hue": KindSpec("hue", "degrees", "fraction", {"start": 0.0, "end": 360.0}),
    "brightness": KindSpec("brightness", "factor", "linspace", {"start": 1.0, "end": 0.0}),
    "jpeg": KindSpec("jpeg", "quality", "linspace", {"start": 100, "end": 1}),
}


def kinds() -> list[str]:
    """Names of the single kinds (combine them with ``"a+b"`` or a tuple)."""
    return list(KINDS)


def _parse_kind(kind: Union[str, Sequence[str]]) -> tuple[str, ...]:
    parts = tuple(kind.split("+")) if isinstance(kind, str) else tuple(kind)
    parts = tuple(str(p).strip() for p in parts)
    unknown = [p for p in parts if p not in KINDS]
    if not parts or unknown:
        raise DatasetError(f"unknown augmentation kind {kind!r}; kinds: {', '.join(KINDS)} "
                           "(or two or more joined: 'rotate+noise' / ('rotate', 'noise'))")
    if len(set(parts)) != len(parts):
        raise DatasetError(f"augmentation kind {kind!r} repeats a kind")
    return parts


def _number(kind: str, name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DatasetError(f"{kind}: {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise DatasetError(f"{kind}: {name} must lie in [{lo:g}, {hi:g}], got {value!r}")
    return value


def _resolve_params(kind: str, given: dict, w: int, h: int) -> dict:
    """Defaults filled in (those from the image size too) and every value checked."""
    spec = KINDS[kind]
    unknown = sorted(set(given) - set(spec.defaults))
    if unknown:
        raise DatasetError(f"{kind}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                           f"it accepts: {', '.join(spec.defaults)}")
    p = {**spec.defaults, **given}
    derived = {"blur": (0.0, w / 8), "hshift": (-w, w), "vshift": (-h, h)}.get(kind)
    if derived is not None:
        p["start"] = derived[0] if p["start"] is None else p["start"]
        p["end"] = derived[1] if p["end"] is None else p["end"]
    bounds = {"blur": (0, math.inf), "noise": (0, 1), "zoom": (1e-3, 1), "brightness": (0, math.inf),
              "jpeg": (1, 100)}.get(kind, (-math.inf, math.inf))
    for key in ("start", "end"):
        p[key] = _number(kind, key, p[key], *bounds)
    if "fill" in p:
        fill = p["fill"]
        values = list(fill) if isinstance(fill, (tuple, list)) else [fill]
        if len(values) not in (1, 3):
            raise DatasetError(f"{kind}: fill must be a grey level or an (r, g, b) triple, got {fill!r}")
        values = [int(_number(kind, "fill", v, 0, 255)) for v in values]
        p["fill"] = values[0] if len(values) == 1 else values
    if "interpolation" in p and p["interpolation"] not in _INTERPOLATIONS:
        raise DatasetError(f"{kind}: interpolation must be one of {_INTERPOLATIONS}, got {p['interpolation']!r}")
    return p


def _schedule(kind: str, p: dict, steps: int, seed: int) -> np.ndarray:
    """Parameter value of every step, float64 [steps] (see the module docstring)."""
    spec = KINDS[kind]
    i = np.arange(steps, dtype=np.float64)
    if spec.schedule == "fraction":
        values = p["start"] + (p["end"] - p["start"]) * i / steps
    elif spec.schedule == "linspace":
        values = np.linspace(p["start"], p["end"], steps)
    else:
        values = np.array([np.random.default_rng([seed, k, spec.salt]).uniform(p["start"], p["end"])
                           for k in range(steps)])
    if kind in ("hshift", "vshift", "jpeg"):
        values = np.rint(values)
    return values


def _interpolation(name: str):
    from torchvision.transforms import InterpolationMode

    return InterpolationMode.NEAREST if name == "nearest" else InterpolationMode.BILINEAR


def _apply(kind: str, img: Image.Image, v: float, p: dict, seed: int, step: int) -> Image.Image:
    """Transform one RGB image with parameter value ``v`` (torchvision imported here, lazily)."""
    if kind == "blur":
        return img.filter(ImageFilter.GaussianBlur(radius=v)) if v > 0 else img.copy()
    if kind == "noise":
        noise = np.random.default_rng([seed, step, KINDS["noise"].salt]).uniform(0.0, 255.0, (img.height, img.width, 3))
        mixed = (1.0 - v) * np.asarray(img, dtype=np.float64) + v * noise
        return Image.fromarray(np.clip(np.rint(mixed), 0, 255).astype(np.uint8), "RGB")
    if kind == "jpeg":
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=int(v))
        buffer.seek(0)
        return Image.open(buffer).convert("RGB")
    import torchvision.transforms.functional as F

    if kind in ("rotate", "random-rotate"):
        return F.rotate(img, float(v), interpolation=_interpolation(p["interpolation"]), fill=p["fill"])
    if kind in ("hshift", "vshift"):
        shift = [int(v), 0] if kind == "hshift" else [0, int(v)]
        return F.affine(img, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0], fill=p["fill"])
    if kind == "zoom":
        crop = [max(1, round(v * img.height)), max(1, round(v * img.width))]
        return F.resize(F.center_crop(img, crop), [img.height, img.width], antialias=True)
    if kind == "hue":
        return F.adjust_hue(img, ((v + 180.0) % 360.0 - 180.0) / 360.0)
    if kind == "brightness":
        return F.adjust_brightness(img, float(v))
    raise AssertionError(kind)  # pragma: no cover - _parse_kind admits only KINDS


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


class AugmentedDataset(PairDataset):
    """``steps`` transformed copies of one image, each paired with the same caption.

    Build it with :func:`augment` or :func:`augment_image`. Attributes: ``kinds`` (tuple of kind
    names), ``kind`` (``"rotate"`` / ``"rotate+noise"``), ``steps``, ``seed``, ``params`` (kind ->
    resolved parameters), ``values`` (kind -> float64 [steps] parameter values), ``param`` (float64
    [steps], the first kind's values), ``param_unit``, ``source_id``, ``source_index``.
    ``image(i)`` renders step ``i`` on demand (RGB, the source image's size); only the source image
    is held in memory.
    """

    def __init__(self, source: Image.Image, caption: str, *, source_dataset_id: str, source_id: str,
                 source_index: Optional[int], kind, steps: int, seed: int, params: dict):
        self.kinds = _parse_kind(kind)
        self.kind = "+".join(self.kinds)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not MIN_STEPS <= steps <= MAX_STEPS:
            raise DatasetError(f"augment: steps must be an integer in [{MIN_STEPS}, {MAX_STEPS}], got {steps!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise DatasetError(f"augment: seed must be a non-negative integer, got {seed!r}")
        self.steps, self.seed = int(steps), int(seed)
        self._source = np.array(source.convert("RGB"), dtype=np.uint8)
        h, w = self._source.shape[:2]
        if len(self.kinds) == 1:
            given = {self.kind: params}
        else:
            stray = sorted(set(params) - set(self.kinds))
            if stray or any(not isinstance(v, dict) for v in params.values()):
                raise DatasetError(f"augment {self.kind!r}: give parameters per kind, e.g. "
                                   f"{self.kinds[0]}={{'end': ...}}; got {sorted(params)}")
            given = params
        self.params = {k: _resolve_params(k, dict(given.get(k, {})), w, h) for k in self.kinds}
        self.values = {k: _schedule(k, self.params[k], self.steps, self.seed) for k in self.kinds}
        self.param = self.values[self.kinds[0]]
        self.param_unit = KINDS[self.kinds[0]].unit
        self.source_id, self.source_index, self._caption = str(source_id), source_index, str(caption)
        spec = json.dumps({"kind": self.kind, "steps": self.steps, "seed": self.seed, "params": self.params},
                          sort_keys=True, separators=(",", ":"))
        where = source_dataset_id if source_index is None else f"{source_dataset_id}#{source_index}"
        self.id = f"augment-{VERSION}[{where}]{spec}"
        columns = {
            "id": [f"{self.source_id}/{self.kind}/{i}" for i in range(self.steps)],
            "caption": [self._caption] * self.steps,
            "step": np.arange(self.steps, dtype=np.int64),
            "param": self.param,
            "kind": [self.kind] * self.steps,
            "param_unit": [self.param_unit] * self.steps,
            "source_id": [self.source_id] * self.steps,
        }
        if len(self.kinds) > 1:
            columns.update({f"param_{k}": self.values[k] for k in self.kinds})
        self._meta = pd.DataFrame(columns)

    def __len__(self) -> int:
        return self.steps

    def caption(self, i: int) -> str:
        self._check_index(i)
        return self._caption

    def image(self, i: int) -> Image.Image:
        """Step ``i`` as an RGB PIL image (rendered now, deterministic)."""
        i = self._check_index(i)
        img = Image.fromarray(self._source, "RGB")
        for k in self.kinds:
            img = _apply(k, img, float(self.values[k][i]), self.params[k], self.seed, i)
        return img

    @property
    def source_image(self) -> Image.Image:
        """The untransformed image (a copy)."""
        return Image.fromarray(self._source, "RGB")

    @property
    def meta(self) -> pd.DataFrame:
        """``steps`` rows: id, caption, step (0..steps-1), param (the first kind's value), kind,
        param_unit, source_id, and ``param_<kind>`` for each kind of a compose."""
        return self._meta.copy()

    @property
    def captions(self) -> list[str]:
        return [self._caption] * self.steps


def augment(dataset: PairDataset, index: int, kind: Union[str, Sequence[str]], steps: int = 100, *,
            seed: int = 0, **params) -> AugmentedDataset:
    """``steps`` transformed copies of pair ``index`` of ``dataset`` (see the module docstring).

    Parameters
    ----------
    dataset : PairDataset
        The source; its pair ``index`` gives the image and the caption.
    index : int
        Pair index (negative counts from the end).
    kind : str or tuple of str
        One of :data:`KINDS`, or several in order (``"rotate+noise"``).
    steps : int
        Number of copies, 2 to 2,000.
    seed : int
        Seed of the random kinds (``noise``, ``random-rotate``); part of the id for every kind.
    **params
        The kind's parameters (``start``, ``end``, ``fill``, ``interpolation``); for a compose,
        one dict per kind (``rotate={"end": 180}``).

    Raises :class:`DatasetError` for an unknown kind (listing the kinds), bad steps, seed or
    parameters, or an index out of range.
    """
    if not isinstance(dataset, PairDataset):
        raise DatasetError(f"augment: expected a PairDataset, got {type(dataset).__name__}")
    try:
        i = dataset._check_index(index)
    except (IndexError, TypeError, ValueError) as exc:
        raise DatasetError(f"augment: {exc}") from None
    return AugmentedDataset(dataset.image(i), dataset.caption(i), source_dataset_id=dataset.id,
                            source_id=dataset.sample_ids[i], source_index=i, kind=kind, steps=steps,
                            seed=seed, params=params)


def augment_image(image: Union[Image.Image, str, Path], caption: str, kind: Union[str, Sequence[str]],
                  steps: int = 100, *, seed: int = 0, **params) -> AugmentedDataset:
    """Like :func:`augment`, for one PIL image or image file plus its caption.

    The source id is a hash of the pixels (size included) and the caption, so an edited file or
    another caption gives another cache entry.
    """
    if isinstance(image, (str, Path)):
        try:
            with Image.open(image) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as exc:
            raise DatasetError(f"augment_image: cannot read the image {str(image)!r} ({exc})") from None
    if not isinstance(image, Image.Image):
        raise DatasetError(f"augment_image: expected a PIL image or a path, got {type(image).__name__}")
    rgb = image.convert("RGB")
    source = f"image-{_sha(rgb.tobytes(), str(rgb.size).encode(), str(caption).encode())}"
    return AugmentedDataset(rgb, str(caption), source_dataset_id=source, source_id=source, source_index=None,
                            kind=kind, steps=steps, seed=seed, params=params)

