"""Wrap any user object or pair of functions that encodes images and texts as an :class:`Encoder`."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
from PIL import Image

from .base import Encoder, ModelError


def _as_float32_matrix(x: Any, n: int, what: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().float().cpu().numpy()
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ModelError(f"{what} returned shape {arr.shape}, expected [{n}, d]")
    return arr


class FunctionEncoder(Encoder):
    """An :class:`Encoder` from two callables.

    Parameters
    ----------
    encode_images : callable
        ``list[PIL.Image] -> array-like [n, d]`` (numpy or torch), raw vectors.
    encode_texts : callable
        ``list[str] -> array-like [n, d]``.
    id : str
        A stable identifier of the model and its weights: it is the cache key, so change it when
        the weights change.
    logit_scale : float
        The model's temperature (default 100, CLIP's).
    """

    def __init__(
        self,
        encode_images: Callable[[Sequence[Image.Image]], Any],
        encode_texts: Callable[[Sequence[str]], Any],
        id: str,
        logit_scale: float = 100.0,
        preprocess_id: str = "user",
    ):
        if not callable(encode_images) or not callable(encode_texts):
            raise ModelError("encode_images and encode_texts must be callables")
        if not id or not isinstance(id, str):
            raise ModelError("a FunctionEncoder needs a non-empty string id (it is the cache key)")
        self._encode_images = encode_images
        self._encode_texts = encode_texts
        self.id = id
        self.logit_scale = float(logit_scale)
        self.preprocess_id = preprocess_id

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return _as_float32_matrix(self._encode_images(list(images)), len(images), "encode_images")

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return _as_float32_matrix(self._encode_texts(list(texts)), len(texts), "encode_texts")


def as_encoder(obj: Any, id: Optional[str] = None, logit_scale: Optional[float] = None) -> Encoder:
    """Adapt ``obj`` to an :class:`Encoder`.

    Accepts an :class:`Encoder` (returned as is) or any object with ``encode_images(images)`` and
    ``encode_texts(texts)`` methods (an ``id`` attribute or argument is required for caching;
    ``logit_scale`` is read from the object when present).
    """
    if isinstance(obj, Encoder):
        return obj
    if hasattr(obj, "encode_images") and hasattr(obj, "encode_texts"):
        ident = id or getattr(obj, "id", None)
        if not ident:
            raise ModelError(
                f"{type(obj).__name__} has no 'id'; pass id='my-model-v1' so its embeddings can be cached"
            )
        scale = logit_scale if logit_scale is not None else getattr(obj, "logit_scale", 100.0)
        return FunctionEncoder(obj.encode_images, obj.encode_texts, id=str(ident), logit_scale=float(scale))
    raise ModelError(
        f"cannot use a {type(obj).__name__} as an encoder: it needs encode_images(list of PIL images) and "
        "encode_texts(list of str) methods, or wrap your functions in FunctionEncoder"
    )
