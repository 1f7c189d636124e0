"""``shapes``: a procedural, seeded image/caption dataset with known ground truth.

Each pair shows 1-3 coloured shapes on a grey background and a caption written
from one of several paraphrase templates. Every attribute is recorded in
:attr:`ShapesDataset.meta`, and a few percent of the pairs carry deliberate,
labelled anomalies (mismatched caption, blurred image, noised image, vague
caption), so analyses can be checked against the truth.

Purity: the same ``(n, seed, image_size, anomaly_rate)`` gives the same
attributes, captions and pixels on every machine. Attributes are drawn
vectorised from ``numpy.random.Generator(PCG64(SeedSequence(seed)))`` when the
dataset is built; pixels are rendered on demand in :meth:`ShapesDataset.image`
with PIL only, using a per-pair generator seeded with ``(seed, i)`` for the
pixel noise. No global RNG is touched.
"""
from __future__ import annotations

import math
import re
from functools import cached_property
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image

from .base import DatasetError, PairDataset
from .shapes_render import render_pair

VERSION = "v1"

SHAPES = ("circle", "square", "triangle", "star", "cross", "heart")
#: colour name -> RGB (uint8). All saturated, so they never look like the grey backgrounds.
COLOURS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (235, 215, 30),
    "green": (40, 165, 60),
    "cyan": (30, 195, 210),
    "blue": (40, 75, 220),
    "purple": (145, 55, 200),
    "pink": (245, 115, 190),
}
COLOUR_NAMES = tuple(COLOURS)
SIZES = ("small", "large")
POSITIONS = ("centre", "top left", "top right", "bottom left", "bottom right")
COUNTS = (1, 2, 3)
BACKGROUNDS = ("plain", "striped", "dotted", "checkered")
ANOMALIES = ("none", "mismatched_caption", "blurred", "noised", "vague_caption")

#: Object radius as a fraction of the image side, before the count factor.
_SIZE_RADIUS = {"small": 0.13, "large": 0.22}

_COUNT_WORDS = {1: "a", 2: "two", 3: "three"}
POSITION_PHRASES = {
    "centre": "in the centre",
    "top left": "in the top left corner",
    "top right": "in the top right corner",
    "bottom left": "in the bottom left corner",
    "bottom right": "in the bottom right corner",
}
_PLURALS = {"cross": "crosses"}

#: Caption templates. ``{np}`` is "a red circle" / "two red circles";
#: ``{snp}`` adds the size ("a small red circle").
CAPTION_TEMPLATES = (
    "{np}",
    "a picture of {np}",
    "{np} {position}",
    "{np} on a {background} background",
    "a photo of {snp}",
    "an image showing {snp} {position}",
    "{snp} on a {background} background",
    "there {be} {np} in this picture",
    "a drawing of {snp}",
)
VAGUE_CAPTIONS = (
    "a shape",
    "an abstract picture",
    "a simple drawing",
    "something colourful",
    "an image",
)


def fix_articles(text: str) -> str:
    """Replace "a" by "an" before a vowel ("a orange star" -> "an orange star")."""
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)


def plural(shape: str) -> str:
    return _PLURALS.get(shape, shape + "s")


def noun_phrase(shape: str, colour: str, count: int = 1, size: str | None = None) -> str:
    """"a small red circle", "two blue crosses", ... (articles fixed)."""
    words = [_COUNT_WORDS[int(count)]]
    if size is not None:
        words.append(size)
    words.append(colour)
    words.append(shape if int(count) == 1 else plural(shape))
    return fix_articles(" ".join(words))


def describe(template: str, shape: str, colour: str, size: str, position: str, count: int,
             background: str) -> str:
    """Fill one of :data:`CAPTION_TEMPLATES` with an attribute set."""
    text = template.format(
        np=noun_phrase(shape, colour, count),
        snp=noun_phrase(shape, colour, count, size),
        position=POSITION_PHRASES[position],
        background=background,
        be="is" if int(count) == 1 else "are",
    )
    return fix_articles(text)


class ShapesDataset(PairDataset):
    """Seeded procedural image/caption pairs with ground-truth attributes.

    Parameters
    ----------
    n : int
        Number of pairs (1 to a few 100,000; nothing is rendered when the dataset is built).
    seed : int
        Seed of every random choice.
    image_size : int
        Side of the square RGB images in pixels (>= 16).
    anomaly_rate : float
        Probability of *each* anomaly kind per pair (mismatched caption, blurred,
        noised, vague caption), so about ``4 * anomaly_rate`` of the pairs are anomalous.
        0 gives a clean dataset.

    Images are ``PIL.Image`` RGB, ``image_size`` x ``image_size``; :meth:`render_batch`
    gives a uint8 tensor [B, 3, H, W] for training.
    """

    def __init__(self, n: int = 1000, seed: int = 0, image_size: int = 64, anomaly_rate: float = 0.02):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise DatasetError(f"shapes: n must be an integer, got {n!r}")
        if n <= 0:
            raise DatasetError(f"shapes: n must be positive, got {n}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise DatasetError(f"shapes: seed must be a non-negative integer, got {seed!r}")
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 16:
            raise DatasetError(f"shapes: image_size must be an integer >= 16, got {image_size!r}")
        try:
            rate = float(anomaly_rate)
        except (TypeError, ValueError):
            raise DatasetError(f"shapes: anomaly_rate must be a number, got {anomaly_rate!r}") from None
        if not (0.0 <= rate <= 0.25) or not math.isfinite(rate):
            raise DatasetError(f"shapes: anomaly_rate must lie in [0, 0.25] (per kind), got {anomaly_rate!r}")
        self.n = int(n)
        self.seed = int(seed)
        self.image_size = int(image_size)
        self.anomaly_rate = rate
        self.id = f"shapes-{VERSION}-n{self.n}-s{self.seed}"
        if self.image_size != 64:
            self.id += f"-px{self.image_size}"
        if rate != 0.02:
            self.id += f"-a{rate:g}"
        self._draw_attributes()

    # -- attributes (vectorised, at construction) -------------------------------------
    def _draw_attributes(self) -> None:
        n = self.n
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed)))
        self._shape = rng.integers(0, len(SHAPES), n)
        self._colour = rng.integers(0, len(COLOURS), n)
        self._size = rng.integers(0, len(SIZES), n)
        self._position = rng.integers(0, len(POSITIONS), n)
        self._count = rng.integers(0, len(COUNTS), n)
        self._background = rng.integers(0, len(BACKGROUNDS), n)
        self._jitter = rng.uniform(-1.0, 1.0, size=(n, 3)).astype(np.float64)  # dx, dy, radius
        self._template = rng.integers(0, len(CAPTION_TEMPLATES), n)
        self._vague = rng.integers(0, len(VAGUE_CAPTIONS), n)
        rate = self.anomaly_rate
        probs = [1.0 - 4 * rate] + [rate] * 4
        self._anomaly = rng.choice(len(ANOMALIES), size=n, p=probs)
        # What a mismatched caption describes: shape and colour both differ from the image,
        # the other attributes are drawn afresh.
        self._cap_shape = (self._shape + rng.integers(1, len(SHAPES), n)) % len(SHAPES)
        self._cap_colour = (self._colour + rng.integers(1, len(COLOURS), n)) % len(COLOURS)
        self._cap_other = np.stack(
            [rng.integers(0, len(SIZES), n), rng.integers(0, len(POSITIONS), n),
             rng.integers(0, len(COUNTS), n), rng.integers(0, len(BACKGROUNDS), n)], axis=1)

    def __len__(self) -> int:
        return self.n

    def attributes(self, i: int) -> dict:
        """Ground-truth attributes of image ``i`` (shape, colour, size, position, count, background, anomaly)."""
        i = self._check_index(i)
        return {
            "shape": SHAPES[self._shape[i]],
            "colour": COLOUR_NAMES[self._colour[i]],
            "size": SIZES[self._size[i]],
            "position": POSITIONS[self._position[i]],
            "count": COUNTS[self._count[i]],
            "background": BACKGROUNDS[self._background[i]],
            "anomaly": ANOMALIES[self._anomaly[i]],
        }

    @cached_property
    def _captions(self) -> list[str]:
        out = []
        mism = ANOMALIES.index("mismatched_caption")
        vague = ANOMALIES.index("vague_caption")
        for i in range(self.n):
            kind = self._anomaly[i]
            if kind == vague:
                out.append(VAGUE_CAPTIONS[self._vague[i]])
                continue
            if kind == mism:
                s, c = self._cap_shape[i], self._cap_colour[i]
                z, p, k, b = self._cap_other[i]
            else:
                s, c = self._shape[i], self._colour[i]
                z, p, k, b = self._size[i], self._position[i], self._count[i], self._background[i]
            out.append(describe(CAPTION_TEMPLATES[self._template[i]], SHAPES[s], COLOUR_NAMES[c],
                                SIZES[z], POSITIONS[p], COUNTS[k], BACKGROUNDS[b]))
        return out

    def caption(self, i: int) -> str:
        return self._captions[self._check_index(i)]

    def caption_attributes(self, i: int) -> dict:
        """What caption ``i`` asserts: a dict with a subset of the keys shape, colour, count, size,
        position, background (empty for a vague caption; another attribute set for a mismatched one)."""
        i = self._check_index(i)
        kind = ANOMALIES[self._anomaly[i]]
        if kind == "vague_caption":
            return {}
        if kind == "mismatched_caption":
            s, c = self._cap_shape[i], self._cap_colour[i]
            z, p, k, b = self._cap_other[i]
        else:
            s, c = self._shape[i], self._colour[i]
            z, p, k, b = self._size[i], self._position[i], self._count[i], self._background[i]
        template = CAPTION_TEMPLATES[self._template[i]]
        said = {"shape": SHAPES[s], "colour": COLOUR_NAMES[c], "count": COUNTS[k]}
        if "{snp}" in template:
            said["size"] = SIZES[z]
        if "{position}" in template:
            said["position"] = POSITIONS[p]
        if "{background}" in template:
            said["background"] = BACKGROUNDS[b]
        return said

    @cached_property
    def _meta(self) -> pd.DataFrame:
        anomaly = np.asarray(ANOMALIES, dtype=object)[self._anomaly]
        mism = anomaly == "mismatched_caption"
        vague = anomaly == "vague_caption"
        shape = np.asarray(SHAPES, dtype=object)[self._shape]
        colour = np.asarray(COLOUR_NAMES, dtype=object)[self._colour]
        cap_shape = np.where(mism, np.asarray(SHAPES, dtype=object)[self._cap_shape], shape)
        cap_colour = np.where(mism, np.asarray(COLOUR_NAMES, dtype=object)[self._cap_colour], colour)
        cap_shape[vague] = None
        cap_colour[vague] = None
        return pd.DataFrame({
            "id": [f"{self.id}/{i}" for i in range(self.n)],
            "caption": self._captions,
            "shape": shape,
            "colour": colour,
            "size": np.asarray(SIZES, dtype=object)[self._size],
            "position": np.asarray(POSITIONS, dtype=object)[self._position],
            "count": np.asarray(COUNTS, dtype=np.int64)[self._count],
            "background": np.asarray(BACKGROUNDS, dtype=object)[self._background],
            "anomaly": anomaly,
            "caption_shape": cap_shape,
            "caption_colour": cap_colour,
        })

    @property
    def meta(self) -> pd.DataFrame:
        """One row per pair: id, caption, shape, colour, size, position, count, background,
        anomaly, caption_shape, caption_colour (what the caption says; missing for vague captions)."""
        return self._meta

    @property
    def captions(self) -> list[str]:
        return list(self._captions)

    # -- pixels (on demand) ------------------------------------------------------------
    def image(self, i: int) -> Image.Image:
        """RGB image of pair ``i``, ``image_size`` x ``image_size`` pixels."""
        return Image.fromarray(self.render_array(i), "RGB")

    def render_array(self, i: int) -> np.ndarray:
        """Pixels of pair ``i`` as uint8 [H, W, 3]."""
        i = self._check_index(i)
        return render_pair(
            size=self.image_size,
            shape=SHAPES[self._shape[i]],
            rgb=COLOURS[COLOUR_NAMES[self._colour[i]]],
            radius_frac=_SIZE_RADIUS[SIZES[self._size[i]]],
            position=POSITIONS[self._position[i]],
            count=COUNTS[self._count[i]],
            background=BACKGROUNDS[self._background[i]],
            jitter=self._jitter[i],
            anomaly=ANOMALIES[self._anomaly[i]],
            noise_seed=(self.seed, i),
        )

    def render_batch(self, indices: Sequence[int] | None = None, progress: bool = False):
        """Render pairs ``indices`` (default: all) to a ``torch.uint8`` tensor [B, 3, H, W]."""
        import torch

        idx = np.arange(self.n) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        out = np.empty((idx.size, self.image_size, self.image_size, 3), dtype=np.uint8)
        it = range(idx.size)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=f"rendering {self.id}", unit="img")
        for k in it:
            out[k] = self.render_array(int(idx[k]))
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
