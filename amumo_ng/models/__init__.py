"""Encoders: the :class:`Encoder` interface, open_clip models, user objects, and the model registry."""
from .base import Encoder, ModelError
from .function_encoder import FunctionEncoder, as_encoder
from .registry import available, load

__all__ = ["Encoder", "ModelError", "FunctionEncoder", "as_encoder", "available", "load", "OpenCLIPEncoder",
           "load_cyclip", "load_cloob"]


def __getattr__(name):  # open_clip/torch only when these are asked for
    if name == "OpenCLIPEncoder":
        from .open_clip_encoder import OpenCLIPEncoder

        return OpenCLIPEncoder
    if name in ("load_cyclip", "load_cloob"):
        from . import checkpoints

        return getattr(checkpoints, name)
    raise AttributeError(f"module 'amumo_ng.models' has no attribute {name!r}")
