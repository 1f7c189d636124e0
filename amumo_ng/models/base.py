"""The encoder interface: PIL images and strings in, *raw* float32 vectors out.

Raw means the encoder's output before L2 normalisation; the double-ellipsoid
analysis needs the raw vectors, and everything else normalises on demand.
"""
from __future__ import annotations

import abc
from typing import Sequence

import numpy as np
from PIL import Image


class ModelError(ValueError):
    """Raised for a model that cannot be found, loaded or used."""


class Encoder(abc.ABC):
    """Abstract CLIP-like dual encoder.

    Attributes
    ----------
    id : str
        Stable identifier of the model *and its weights* (used as cache key).
    logit_scale : float
        The model's multiplicative temperature (exp of the learned log scale), e.g. 100.
    preprocess_id : str
        Identifier of the image preprocessing (resize/crop/normalise), part of the cache key.
    """

    id: str
    logit_scale: float = 100.0
    preprocess_id: str = "none"

    @abc.abstractmethod
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Encode images -> float32 array [len(images), d], raw (not normalised)."""

    @abc.abstractmethod
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Encode strings -> float32 array [len(texts), d], raw (not normalised)."""

    @property
    def cache_key(self) -> str:
        """What identifies this encoder's outputs: model id plus preprocessing."""
        return f"{self.id}|{self.preprocess_id}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r}>"
