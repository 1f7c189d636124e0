"""amumo-ng: interactive Jupyter widgets for exploring CLIP-like latent spaces.

Top-level names are imported lazily so that ``import amumo_ng`` stays cheap
(no torch, no widgets) until they are used.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Embeddings": ("amumo_ng.store.embeddings", "Embeddings"),
    "embed": ("amumo_ng.store.cache", "embed"),
    "Explorer": ("amumo_ng.widgets.explorer", "Explorer"),
    "InterpolationStrip": ("amumo_ng.widgets.interpolation_strip", "InterpolationStrip"),
    "Session": ("amumo_ng.session", "Session"),
    "datasets": ("amumo_ng.datasets", None),
    "models": ("amumo_ng.models", None),
    "analysis": ("amumo_ng.analysis", None),
    "widgets": ("amumo_ng.widgets", None),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'amumo_ng' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
