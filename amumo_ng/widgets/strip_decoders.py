"""The decoder menu of an InterpolationStrip: which decoders it offers, and building them when used.

- ``"retrieval"`` (:class:`~amumo_ng.decoders.RetrievalDecoder` of the current data) always;
- ``"toy unCLIP"`` / ``"toy unCLIP + prior"`` when :func:`~amumo_ng.decoders.toy_unclip_for` names a
  shipped toy unCLIP for the current model (built by ``ToyUnCLIPDecoder.load`` on first use);
- the user's: ``name -> Decoder`` instance, a zero-argument callable returning one (built on first use,
  in the strip's worker), or a string: a Stable Diffusion pipeline folder or hub id
  (``StableDiffusionDecoder.from_pretrained``), ``"unclip:<folder or hub id>"`` for Stable unCLIP. A user
  name shadows an automatic one of the same name; ``"retrieval"`` cannot be replaced.

:func:`decoder_kind` says how the strip drives a decoder: ``"retrieval"``, ``"vectors"`` (any
:class:`~amumo_ng.decoders.base.Decoder` of the session model's space, e.g. the toy unCLIP),
``"prompts"`` (StableDiffusionDecoder: two texts, token-wise in its own text encoder) or ``"images"``
(StableUnCLIPDecoder: two dataset images encoded by its own image encoder).
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Union

import numpy as np

from ..decoders.base import Decoder, DecoderError, check_cancel

__all__ = ["DecoderMenu", "decoder_kind", "RETRIEVAL", "TOY", "TOY_PRIOR", "UNCLIP_MEAN_IMAGES"]

RETRIEVAL, TOY, TOY_PRIOR = "retrieval", "toy unCLIP", "toy unCLIP + prior"
#: Dataset images the Stable unCLIP vSLERP mean is taken over (evenly spaced pairs), at most.
UNCLIP_MEAN_IMAGES = 256
#: Images encoded per call when computing that mean (cancellation is checked between calls).
_MEAN_BATCH = 32

Entry = Union[Decoder, Callable[[], Decoder]]


def decoder_kind(decoder) -> str:
    """``"retrieval"``, ``"prompts"``, ``"images"`` or ``"vectors"`` (see the module docstring)."""
    from ..decoders.diffusion import StableDiffusionDecoder, StableUnCLIPDecoder
    from ..decoders.retrieval import RetrievalDecoder

    if isinstance(decoder, RetrievalDecoder):
        return "retrieval"
    if isinstance(decoder, StableDiffusionDecoder):
        return "prompts"
    if isinstance(decoder, StableUnCLIPDecoder):
        return "images"
    return "vectors"


def _pipeline_factory(source: str) -> Callable[[], Decoder]:
    from ..decoders.diffusion import StableDiffusionDecoder, StableUnCLIPDecoder

    if source.startswith("unclip:"):
        path = source[len("unclip:"):]
        return lambda: StableUnCLIPDecoder.from_pretrained(path)
    return lambda: StableDiffusionDecoder.from_pretrained(source)


def _entry(name, value) -> Entry:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"a decoder name is a non-empty string, got {name!r}")
    if name == RETRIEVAL:
        raise ValueError("'retrieval' is the strip's own decoder (nearest image and caption); give yours another name")
    if isinstance(value, Decoder):
        return value
    if isinstance(value, str) and value.strip():
        return _pipeline_factory(value.strip())
    if callable(value):
        return value
    raise TypeError(f"decoder {name!r}: expected an amumo_ng.decoders.Decoder, a callable returning one, or a "
                    f"pipeline folder / hub id string, got {type(value).__name__}")


class DecoderMenu:
    """The decoders a strip offers, built lazily and kept (thread-safe).

    Parameters
    ----------
    user : dict, optional
        ``name -> Decoder | callable | str`` (see the module docstring).
    """

    def __init__(self, user: Optional[dict] = None):
        self._lock = threading.RLock()
        self._user: dict[str, Entry] = {}
        self._built: dict[str, Decoder] = {}             # user name -> decoder its factory built
        self._toys: dict[tuple[str, bool], Decoder] = {}  # (toy model, prior) -> shipped toy unCLIP
        self._retrieval: Optional[tuple[tuple, Decoder]] = None
        self._means: dict[tuple, tuple[Decoder, np.ndarray]] = {}
        for name, value in (user or {}).items():
            self.add(name, value)

    def add(self, name: str, value) -> None:
        """Offer ``value`` under ``name`` (replacing an earlier decoder of that name)."""
        entry = _entry(name, value)
        with self._lock:
            self._user[name] = entry
            self._built.pop(name, None)

    def names(self, model_id: Optional[str]) -> list[str]:
        """Names offered for data of encoder ``model_id``: retrieval, the shipped toys, the user's."""
        out = [RETRIEVAL]
        if self.toy_model(model_id) is not None:
            out += [TOY, TOY_PRIOR]
        with self._lock:
            out += [n for n in self._user if n not in out]
        return out

    @staticmethod
    def toy_model(model_id: Optional[str]) -> Optional[str]:
        from ..decoders.toy_unclip import toy_unclip_for

        return toy_unclip_for(model_id)

    def _unknown(self, name: str, emb) -> DecoderError:
        offered = self.names(str(emb.model_id))
        why = ""
        if name in (TOY, TOY_PRIOR):
            why = f" (no toy unCLIP ships for the model {emb.model_id!r})"
        return DecoderError(f"unknown decoder {name!r}{why}; the strip offers: {', '.join(offered)}")

    def ready(self, name: str, emb, key: tuple) -> Optional[Decoder]:
        """The decoder ``name`` if it exists without slow work (retrieval, an instance, one built before),
        else None (a factory or a shipped toy not built yet: :meth:`build` it). Unknown names raise."""
        with self._lock:
            if name == RETRIEVAL:
                from ..decoders.retrieval import RetrievalDecoder

                if self._retrieval is None or self._retrieval[0] != key or self._retrieval[1].embeddings is not emb:
                    self._retrieval = (key, RetrievalDecoder(emb))
                return self._retrieval[1]
            if name in self._user:
                entry = self._user[name]
                return entry if isinstance(entry, Decoder) else self._built.get(name)
            toy = self.toy_model(str(emb.model_id)) if name in (TOY, TOY_PRIOR) else None
            if toy is None:
                raise self._unknown(name, emb)
            return self._toys.get((toy, name == TOY_PRIOR))

    def build(self, name: str, emb, key: tuple) -> Decoder:
        """The decoder ``name``, built now if needed (slow: a pipeline load; call it off the kernel thread).
        A factory's failure is a :class:`DecoderError` naming the decoder (tried again on the next use)."""
        found = self.ready(name, emb, key)
        if found is not None:
            return found
        if name in self._user:
            try:
                built = self._user[name]()
            except Exception as exc:
                raise DecoderError(f"decoder {name!r} could not be built: {exc}") from exc
            if not isinstance(built, Decoder):
                raise DecoderError(f"decoder {name!r}: its factory returned {type(built).__name__}, not a Decoder")
            with self._lock:
                self._built[name] = built
            return built
        from ..decoders.toy_unclip import ToyUnCLIPDecoder

        toy = self.toy_model(str(emb.model_id))
        base = ToyUnCLIPDecoder.load(toy, prior=True)
        with self._lock:
            self._toys[(toy, True)], self._toys[(toy, False)] = base, base.with_prior(False)
            return self._toys[(toy, name == TOY_PRIOR)]

    def image_mean(self, decoder, emb, key: tuple, cancel=None) -> np.ndarray:
        """Mean raw image embedding float32 [dim] of up to :data:`UNCLIP_MEAN_IMAGES` dataset images (evenly
        spaced pairs) encoded by ``decoder.encode_images``: the vSLERP mean of a Stable unCLIP path.
        Cached per decoder and data key."""
        cache_key = (id(decoder), key)
        with self._lock:
            hit = self._means.get(cache_key)
        if hit is not None and hit[0] is decoder:
            return hit[1]
        if emb.image_source is None:
            raise DecoderError("the vSLERP mean of a Stable unCLIP path is that of dataset images, and these "
                               "embeddings carry no images")
        rows = np.unique(np.linspace(0, emb.n - 1, min(emb.n, UNCLIP_MEAN_IMAGES)).round().astype(np.int64))
        total = np.zeros(decoder.dim, dtype=np.float64)
        for lo in range(0, rows.size, _MEAN_BATCH):
            check_cancel(cancel, 0, rows.size)
            batch = [emb.get_image(int(i)) for i in rows[lo:lo + _MEAN_BATCH]]
            total += np.asarray(decoder.encode_images(batch), dtype=np.float64).sum(axis=0)
        mean = (total / rows.size).astype(np.float32)
        with self._lock:
            self._means[cache_key] = (decoder, mean)
        return mean
