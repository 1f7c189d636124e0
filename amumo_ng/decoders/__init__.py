"""Decoders: embedding vectors in, pictures and captions out (the mirror of :mod:`amumo_ng.models`).

- base: the :class:`Decoder` interface, :class:`DecodedFrame`, :class:`DecoderError`, :class:`DecoderCancelled`
- retrieval: :class:`RetrievalDecoder`, nearest dataset image and caption (always available, offline)
- diffusion: :class:`StableDiffusionDecoder` (per-token text states, prompt-to-prompt strips) and
  :class:`StableUnCLIPDecoder` (image embeddings), diffusers pipelines loaded by ``from_pretrained``
- tiny: random-weight tiny pipelines for tests and benchmarks
- toy_unclip: :class:`ToyUnCLIPDecoder`, the shipped toy unCLIP (image decoder + prior) of each toy model

Names are imported lazily, so ``import amumo_ng.decoders`` loads neither torch nor diffusers.
"""
from __future__ import annotations

from ..lazy import lazy_exports

_NAMES = {
    "base": ("Decoder", "DecodedFrame", "DecoderError", "DecoderCancelled", "MODALITIES", "OFFLINE_DECODERS"),
    "toy_unclip": ("ToyUnCLIPDecoder", "shipped_toy_unclips", "toy_unclip_for"),
    "retrieval": ("RetrievalDecoder", "nearest_rows"),
    "diffusion": ("StableDiffusionDecoder", "StableUnCLIPDecoder", "load_pipeline", "STATE_METHODS"),
    "tiny": ("tiny_stable_diffusion", "tiny_stable_unclip", "tiny_tokenizer"),
}

_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}


__getattr__, __dir__ = lazy_exports(__name__, _MODULE_OF, globals())

__all__ = sorted(_MODULE_OF)
