"""Save plotly figures (the GeometryPanel's, RobustnessFigure, PromptSpaceFigure) as PNG files.

Through plotly's own static export (``plotly.io.to_image``, i.e. kaleido), which renders in a
headless Chrome/Chromium on this machine: offline, nothing is fetched. Where kaleido or a browser
is missing, :class:`~amumo_ng.widgets.export_png.ExportError` says so and names the alternatives
(``pip install kaleido``, ``BROWSER_PATH=/usr/bin/chromium``, or ``fig.write_html``). The file is
written atomically like the other exports.
"""
from __future__ import annotations

from pathlib import Path

from .export_png import ExportError, sibling_paths, target_path, write_atomic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: What to do when plotly cannot render a PNG here.
PLOTLY_EXPORT_HINT = (
    "PNG export of plotly figures needs kaleido (`pip install kaleido`) and a Chrome or Chromium it "
    "can start (kaleido v1 looks on PATH; point it at one with the BROWSER_PATH environment variable, "
    "e.g. BROWSER_PATH=/usr/bin/chromium, or fetch one with `plotly_get_chrome`). Without them, save "
    "the interactive figure instead: fig.write_html('figure.html')"
)


def figure_png(fig, *, width=None, height=None, scale: float = 1) -> bytes:
    """PNG bytes of a plotly figure (``go.Figure`` or ``FigureWidget``) at ``width`` x ``height``
    layout px (default: the figure's own size, else plotly's default) times ``scale``."""
    if not (hasattr(fig, "to_dict") and hasattr(fig, "layout")):
        raise ExportError(f"expected a plotly figure, got {type(fig).__name__}")
    if not (isinstance(scale, (int, float)) and 0 < scale <= 10):
        raise ExportError(f"scale must be a number in (0, 10], got {scale!r}")
    try:
        import plotly.io as pio

        data = pio.to_image(fig, format="png", width=width, height=height, scale=scale)
    except Exception as exc:
        raise ExportError(f"could not render the plotly figure to PNG ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'}). "
                          f"{PLOTLY_EXPORT_HINT}") from exc
    if not isinstance(data, (bytes, bytearray)) or not bytes(data).startswith(PNG_SIGNATURE):
        raise ExportError(f"plotly's image export returned no PNG. {PLOTLY_EXPORT_HINT}")
    return bytes(data)


def save_figure_png(fig, path, **options) -> Path:
    """Write :func:`figure_png` of ``fig`` to ``path`` (checked first, written atomically)."""
    target = target_path(path)
    data = figure_png(fig, **options)
    return write_atomic(target, lambda handle: handle.write(data))


def save_figures_png(figures: dict, path, names=None, **options) -> dict[str, Path]:
    """Several named figures as ``{stem}-{name}.png`` beside ``path`` (``names``: which, default
    all, in their order); every path is checked before anything is rendered. Returns {name: path}."""
    names = list(figures) if names is None else ([names] if isinstance(names, str) else list(names))
    unknown = [n for n in names if n not in figures]
    if unknown or not names:
        raise ExportError(f"unknown figure(s) {unknown or names!r}; choose from {list(figures)}")
    targets = sibling_paths(path, names)
    return {name: save_figure_png(figures[name], targets[name], **options) for name in names}
