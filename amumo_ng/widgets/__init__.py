"""anywidget front ends: Explorer, SimilarityHeatmap, Scatter, Comparison, InterpolationStrip,
RobustnessFigure, PromptSpaceFigure, GeometryPanel, VisualClosing, GapShiftChart (imported lazily)."""
from __future__ import annotations

from ..lazy import lazy_exports

_LAZY = {
    "Explorer": "explorer",
    "SimilarityHeatmap": "heatmap",
    "Scatter": "scatter",
    "Comparison": "comparison",
    "InterpolationStrip": "interpolation_strip",
    "RobustnessFigure": "robustness_figure",
    "GeometryPanel": "geometry_panel",
    "PromptSpaceFigure": "prompt_space_figure",
    "VisualClosing": "visual_closing",
    "ClusterPanel": "cluster_panel",
    "GapShiftChart": "gap_shift_chart",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
