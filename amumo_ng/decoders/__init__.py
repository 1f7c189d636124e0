"""Decoders: embedding vectors in, pictures and captions out (the mirror of :mod:`amumo_ng.models`).

- base: the :class:`Decoder` interface, :class:`DecodedFrame`, :class:`DecoderError`, :class:`DecoderCancelled`
- retrieval: :class:`RetrievalDecoder`, nearest dataset image and caption (always available, offline)
- diffusion: :class:`StableDiffusionDecoder` (per-token text states, prompt-to-prompt strips) and
  :class:`StableUnCLIPDecoder` (image embeddings), diffusers pipelines loaded by ``from_pretrained``
- tiny: random-weight tiny pipelines for tests and benchmarks

Names are imported lazily, so ``import amumo_ng.decoders`` loads neither torch nor diffusers.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "base": ("Decoder", "DecodedFrame", "DecoderError", "DecoderCancelled", "MODALITIES", "OFFLINE_DECODERS"),
    "retrieval": ("RetrievalDecoder", "nearest_rows"),
    "diffusion": ("StableDiffusionDecoder", "StableUnCLIPDecoder", "load_pipeline", "STATE_METHODS"),
    "tiny": ("tiny_stable_diffusion", "tiny_stable_unclip", "tiny_tokenizer"),
}

_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}


def __getattr__(name: str):
    short = _MODULE_OF.get(name)
    if short is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{short}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(_MODULE_OF) | set(globals()))


__all__ = sorted(_MODULE_OF)
