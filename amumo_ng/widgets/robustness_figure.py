"""Robustness curves of the augmented set a session shows (plotly), one line per model.

Three panels against the augmentation parameter: the cosine of each transformed image to the
original image, to the pair's caption, and the rank of the true caption among the dataset's
distinct captions (retrieval under the transform; 1 = retrieved first). Hovering a point shows
that step's image beside the figure.
"""
from __future__ import annotations

import numpy as np

from .color_by import CATEGORY_COLORS
from .thumbnails import encode_image

PANELS = (("image_cosine", "cos(augmented image, original image)"),
          ("caption_cosine", "cos(augmented image, its caption)"),
          ("caption_rank", "rank of the true caption"))


def session_curves(session) -> dict:
    """{model name: (param float64 [steps], RobustnessCurves)} of the augmented set the session
    shows ({} when it shows the dataset). Vectors are each model's raw embeddings; the caption bank
    is the model's embeddings of the dataset's distinct captions."""
    from ..analysis.transform_robustness import robustness_curves

    info = session.augmentation
    if not info:
        return {}
    pair = int(info["pair"])
    out = {}
    for name in session.models:
        base = session.dataset_embeddings(name)
        aug = session.embeddings_of(name)
        first: dict = {}
        for i, caption in enumerate(base.captions):
            first.setdefault(caption, i)
        rows = np.fromiter(first.values(), dtype=np.int64)
        true = list(first).index(base.captions[pair])
        curves = robustness_curves(base.image[pair], base.text[pair], aug.image, base.text[rows], true)
        out[name] = (aug.meta["param"].to_numpy(dtype=np.float64), curves)
    return out


class RobustnessFigure:
    """``RobustnessFigure(explorer_or_session)``: a plotly FigureWidget of :func:`session_curves`,
    redrawn whenever the session shows another augmented set; ``.widget`` is what to display
    (the figure and the hovered step's image). Display it with ``display(fig.widget)``."""

    def __init__(self, source):
        import ipywidgets as ipw
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        self.session = getattr(source, "session", source)
        base = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title in PANELS],
                             horizontal_spacing=0.08)
        self.figure = go.FigureWidget(base)
        self.figure.update_layout(height=320, margin=dict(l=40, r=10, t=40, b=40), hovermode="closest",
                                  legend=dict(orientation="h", y=-0.25))
        self.figure.update_yaxes(autorange="reversed", row=1, col=3)
        self.image = ipw.Image(format="png", width=96, height=96)
        self.caption = ipw.HTML("")
        self.widget = ipw.HBox([self.figure, ipw.VBox([self.image, self.caption])])
        self.session.observe(self._redraw, names=["data_version", "model"])
        self._redraw(None)

    def save_png(self, path, *, width=None, height=None, scale: float = 1):
        """Save the figure as a PNG file through plotly's export (kaleido); returns the path
        (see :mod:`amumo_ng.widgets.export_figure`)."""
        from .export_figure import save_figure_png

        return save_figure_png(self.figure, path, width=width, height=height, scale=scale)

    def _redraw(self, _change) -> None:
        import plotly.graph_objects as go

        curves = session_curves(self.session)
        info = self.session.augmentation
        with self.figure.batch_update():
            self.figure.data = []
            for m, (name, (param, c)) in enumerate(curves.items()):
                color = CATEGORY_COLORS[m % len(CATEGORY_COLORS)]
                for col, (field, _) in enumerate(PANELS, start=1):
                    trace = go.Scatter(x=param, y=getattr(c, field), mode="lines+markers", name=name,
                                       legendgroup=name, showlegend=col == 1, marker=dict(size=4, color=color),
                                       line=dict(color=color), customdata=np.arange(param.size),
                                       hovertemplate=f"{name}<br>step %{{customdata}}<br>param %{{x:.4g}}"
                                                     "<br>%{y:.4g}<extra></extra>")
                    self.figure.add_trace(trace, row=1, col=col)
            unit = info.get("param_unit", "") if info else ""
            title = (f"{info['kind']} of pair {info['pair']}: “{info['caption']}”" if info
                     else "choose an augmentation to see its robustness curves")
            self.figure.update_layout(title=dict(text=title, font=dict(size=13)))
            self.figure.update_xaxes(title_text=unit or "parameter")
        for trace in self.figure.data:
            trace.on_hover(self._on_hover)

    def _on_hover(self, trace, points, _state) -> None:
        if not points.point_inds:
            return
        step = int(points.point_inds[0])
        self.show_step(step)

    def show_step(self, step: int) -> None:
        """Show the transformed image of ``step`` (what hovering a point does)."""
        emb = self.session.embeddings
        image = emb.get_image(step)
        if image is not None:
            self.image.value = encode_image(image, 96)[0]
            self.image.format = "png"
        param = float(emb.meta["param"].iloc[step])
        self.caption.value = f"<small>step {step} · {param:.4g}</small>"
