"""anywidget front ends: Explorer, SimilarityHeatmap, Scatter, Comparison (imported lazily)."""
from __future__ import annotations

import importlib

_LAZY = {
    "Explorer": "explorer",
    "SimilarityHeatmap": "heatmap",
    "Scatter": "scatter",
    "Comparison": "comparison",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'amumo_ng.widgets' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
