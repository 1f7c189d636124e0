"""The decoder interface, the mirror of the encoders: vectors in, pictures (and captions) out.

A :class:`Decoder` turns k vectors of some embedding space into k :class:`DecodedFrame` s. What it
expects is stated as attributes, so a view can check a path against it before decoding:

- ``modality``: the kind of vector it decodes, ``"image"``, ``"text"`` or ``"image-or-text"``;
- ``dim``: the vector dimension d (for a decoder of per-token states, the token width);
- ``input_shape``: the shape of ONE input item, ``(dim,)`` by default (``(77, width)`` for the
  per-token hidden states of Stable Diffusion's text encoder);
- ``model_id``: the encoder id whose space it decodes (None: any space of dimension ``dim``);
- ``name``: a short display name.

:meth:`Decoder.check` refuses vectors of another model, modality or shape with a clear
:class:`DecoderError`. Decoders report progress per frame (a tqdm.auto bar, or a callable) and stop
between frames when ``cancel`` (a ``threading.Event`` or a callable returning bool) is set, raising
:class:`DecoderCancelled` (a :class:`~amumo_ng.analysis.projection.Cancelled`).
"""
from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np

from ..analysis.projection import Cancelled, is_cancelled

__all__ = ["Decoder", "DecodedFrame", "DecoderError", "DecoderCancelled", "MODALITIES", "OFFLINE_DECODERS",
           "is_cancelled", "check_cancel", "frame_progress"]

#: Values of :attr:`Decoder.modality`.
MODALITIES = ("image", "text", "image-or-text")
#: What to use without a network (named in the errors of hub loaders).
OFFLINE_DECODERS = ("Offline decoders: RetrievalDecoder(embeddings) (nearest dataset image and caption, always "
                    "available) and the toy decoder trained on the toy models (toy-clip / toy-cyclip / toy-cloob); "
                    "or pass a local pipeline folder (from save_pretrained).")

#: ``progress``: None/True (a tqdm.auto bar), False (silent) or ``callable(done, total)``.
Progress = Union[None, bool, Callable[[int, int], Any]]


class DecoderError(ValueError):
    """Raised for vectors a decoder cannot decode, and for decoders that cannot be loaded."""


class DecoderCancelled(Cancelled):
    """Raised by :meth:`Decoder.decode` when its ``cancel`` flag was set between two frames."""


@dataclass(frozen=True, eq=False)
class DecodedFrame:
    """One decoded vector.

    Attributes
    ----------
    image : PIL.Image.Image or None
        The picture (generated, or the nearest dataset image); None when there is none.
    caption : str or None
        The nearest caption (None when the decoder has no captions).
    similarity : float or None
        Cosine similarity of the vector to ``caption``'s text vector (in [−1, 1]).
    info : dict
        Decoder-specific details (indices, image similarity, t, seed, ...).
    """

    image: Any = None
    caption: Optional[str] = None
    similarity: Optional[float] = None
    info: dict = field(default_factory=dict)


def check_cancel(cancel, done: int, total: int) -> None:
    """Raise :class:`DecoderCancelled` if ``cancel`` is set (``done`` of ``total`` frames finished)."""
    if is_cancelled(cancel):
        raise DecoderCancelled(f"decoding cancelled after {done} of {total} frame(s)")


@contextlib.contextmanager
def frame_progress(total: int, progress: Progress, desc: str) -> Iterator[Callable[[int], None]]:
    """Context giving ``advance(n)``: reports n more frames done to a tqdm.auto bar or to ``progress``."""
    if callable(progress) and not isinstance(progress, bool):
        done = [0]

        def advance(n: int = 1) -> None:
            done[0] += n
            progress(done[0], total)

        yield advance
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="frame", leave=False, disable=progress is False) as bar:
        yield bar.update


class Decoder(abc.ABC):
    """Abstract decoder of embedding vectors (see the module docstring for the attributes)."""

    modality: str = "image-or-text"
    dim: int
    model_id: Optional[str] = None
    name: str = "decoder"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input item: ``(dim,)`` unless the decoder takes per-token states."""
        return (int(self.dim),)

    def check(self, vectors, model_id: Optional[str] = None, *, modality: Optional[str] = None) -> np.ndarray:
        """``vectors`` [k, *input_shape] as float32 after checking them; raises :class:`DecoderError`.

        ``model_id``: the encoder id the vectors come from (refused when it is not this decoder's
        ``model_id``; None = unknown, only the shape is checked). ``modality``: ``"image"`` or
        ``"text"`` (refused by a decoder of the other modality). A single item [*input_shape] is
        accepted as k = 1. NaN/inf entries are refused.
        """
        if model_id is not None and self.model_id is not None and str(model_id) != str(self.model_id):
            raise DecoderError(f"{self.name} decodes the space of {self.model_id!r}, not vectors of {model_id!r}: "
                               "decode them with a decoder of that model (RetrievalDecoder works for any)")
        if modality is not None:
            if modality not in ("image", "text", "mixed"):
                raise DecoderError(f"modality must be 'image', 'text' or 'mixed', got {modality!r}")
            if self.modality != "image-or-text" and modality != self.modality:
                raise DecoderError(f"{self.name} decodes {self.modality} vectors, not {modality} vectors")
        try:
            arr = np.asarray(vectors)
        except Exception as exc:  # e.g. a CUDA tensor
            raise DecoderError(f"{self.name}: cannot read the vectors as an array ({exc})") from exc
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise DecoderError(f"{self.name}: expected numeric vectors, got dtype {arr.dtype}")
        shape = self.input_shape
        if arr.shape == shape:
            arr = arr[None]
        if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape or arr.shape[0] == 0:
            what = "vectors" if len(shape) == 1 else "per-token states"
            raise DecoderError(f"{self.name} decodes {what} of shape [k, {', '.join(map(str, shape))}], got shape "
                               f"{tuple(arr.shape)} (dimension {arr.shape[-1] if arr.ndim else '?'} vs {self.dim}: "
                               "vectors of another model?)")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not np.all(np.isfinite(arr)):
            raise DecoderError(f"{self.name}: the vectors contain NaN or inf")
        return arr

    @abc.abstractmethod
    def decode(self, vectors, *, progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        """Decode ``vectors`` [k, *input_shape] into k frames, in order.

        ``progress``: None/True (tqdm.auto bar), False (silent) or ``callable(done, total)`` called
        after each frame; ``cancel``: checked between frames, raising :class:`DecoderCancelled`.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} modality={self.modality!r} dim={self.dim} model={self.model_id!r}>"
