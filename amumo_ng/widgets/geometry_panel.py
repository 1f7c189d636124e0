"""The double-ellipsoid geometry of the session's current model as plotly figures (Levi & Gilboa).

Seven figures of the RAW vectors, redrawn on a model switch or a new data set (``model`` /
``data_version`` of the session): histograms of the most separating features with the linear SVM
on the two best (Fig. 2), the features sorted by separability (Fig. 3), the norms raw and
mean-subtracted (Fig. 4), the variances and the ODD profile (Fig. 5), the loss vs the image mean
shift α, by term and by correct / misclassified pairs (Fig. 6), C vs Ĉ (Fig. 9) and KL vs α (Fig. 11).
Every statistic uses all pairs; per-sample figures draw at most ``max_points`` pairs (a seeded
random subset, said in their titles). Hovering a point of a per-sample figure (the SVM scatter, C vs
Ĉ) sets ``session.hover`` to that pair, which highlights it in every view of the Explorer; the
hovered pair is marked here too.
"""
from __future__ import annotations

import numpy as np

from ..lru import LRUCache
from .color_by import CATEGORY_COLORS
from .geometry_data import MAX_DRAWN, density_histogram, geometry_data, joint_edges

IMAGE_COLOR, TEXT_COLOR = CATEGORY_COLORS[0], CATEGORY_COLORS[1]
MODALITIES = (("image", IMAGE_COLOR), ("text", TEXT_COLOR))
#: Figure names, in display order, and their subplot titles.
FIGURES = {
    "features": None,  # titles depend on the features (set on redraw)
    "separability": ("Sep(ℓ), features sorted",),
    "norms": ("‖v‖ (raw)", "‖v − m‖ (mean subtracted)"),
    "odd": ("variance of each feature (sorted)", "ODD(ℓ) = Σ_{k≠ℓ}|ℂ_ℓk| / ℂ_ℓℓ (sorted)"),
    "loss": ("loss vs α: alignment and uniformity", "loss vs α: correct and misclassified pairs"),
    "conformity": ("images: C vs Ĉ", "texts: C vs Ĉ"),
    "kl": ("KL of the conformity distributions vs α",),
}
#: Per-sample figures whose points are pairs (hover sets session.hover).
PER_SAMPLE = ("features", "conformity")


class GeometryPanel:
    """``GeometryPanel(explorer_or_session, top_k=3, max_points=2000, alphas=None, bins=50)``.

    ``figures``: name -> plotly FigureWidget (see :data:`FIGURES`); ``widget``: what to display
    (a status line and the figures); ``data``: the :class:`~amumo_ng.widgets.geometry_data.GeometryData`
    drawn. ``top_k``: feature histograms drawn; ``alphas``: the mean-shift grid; ``bins``: the KL
    histogram bins. Results are cached per (model, data set), so switching back redraws at once.
    """

    def __init__(self, source, top_k: int = 3, max_points: int = MAX_DRAWN, alphas=None, bins: int = 50,
                 loss_batch_limit: int | None = None):
        import ipywidgets as ipw
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        self.session = getattr(source, "session", source)
        self.top_k, self.max_points, self.alphas, self.bins = int(top_k), int(max_points), alphas, int(bins)
        self.loss_batch_limit = loss_batch_limit
        self._cache = LRUCache(8)
        self.figures = {}
        for name, titles in FIGURES.items():
            if name == "features":
                base = make_subplots(rows=1, cols=self.top_k + 1, horizontal_spacing=0.05,
                                     subplot_titles=[" "] * (self.top_k + 1))
            else:
                base = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.08)
            fig = go.FigureWidget(base)
            fig.update_layout(height=300, margin=dict(l=45, r=10, t=50, b=40), hovermode="closest",
                              legend=dict(orientation="h", y=-0.22), barmode="overlay")
            self.figures[name] = fig
        self.status = ipw.HTML("")
        self.widget = ipw.VBox([self.status, *self.figures.values()])
        self.data = None
        self.session.observe(self._redraw, names=["model", "data_version"])
        self.session.observe(self._mark_hover, names=["hover"])
        self._redraw(None)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop following the session and close the figures."""
        self.session.unobserve(self._redraw, names=["model", "data_version"])
        self.session.unobserve(self._mark_hover, names=["hover"])
        self.widget.close()

    def save_png(self, path, *, figures=None, width=None, height=None, scale: float = 1) -> dict:
        """Save the figures as PNG files beside ``path`` through plotly's export (kaleido):
        ``geo.png`` -> ``geo-features.png``, ``geo-norms.png``, ... (``figures``: which names of
        :data:`FIGURES`, default all). Returns {name: path}; where kaleido cannot run, the error
        names the alternatives (see :mod:`amumo_ng.widgets.export_figure`)."""
        from .export_figure import save_figures_png

        return save_figures_png(self.figures, path, names=figures, width=width, height=height, scale=scale)

    # -- data -----------------------------------------------------------------------------
    def compute(self):
        """The :class:`GeometryData` of the session's current model (cached per model and data set)."""
        session = self.session
        return self._cache.get(("geometry", session.data_key()), lambda: geometry_data(
            session.model, session.embeddings, alphas=self.alphas, bins=self.bins,
            loss_batch_limit=self.loss_batch_limit, max_points=self.max_points))

    # -- drawing --------------------------------------------------------------------------
    def _redraw(self, _change) -> None:
        data = self.data = self.compute()
        drawn = "all pairs drawn" if data.drawn.size == data.n else \
            f"{data.drawn.size:,} of {data.n:,} pairs drawn (random subset, seed 0); statistics use all pairs"
        batch = "one batch of all pairs" if data.loss_batch is None else f"batches of {data.loss_batch:,} pairs"
        errors = "".join(f"<br><b>{k}</b>: {v}" for k, v in data.errors.items())
        self.status.value = (f"<b>{data.model}</b>: {data.n:,} pairs × {data.d} (raw vectors) · {drawn} · "
                             f"loss: {batch}, logit scale {data.logit_scale:.4g}{errors}")
        for name, draw in (("features", self._draw_features), ("separability", self._draw_separability),
                           ("norms", self._draw_norms), ("odd", self._draw_odd), ("loss", self._draw_loss),
                           ("conformity", self._draw_conformity), ("kl", self._draw_kl)):
            fig = self.figures[name]
            with fig.batch_update():
                fig.data = []
                draw(fig, data)
        for name in PER_SAMPLE:
            for trace in self.figures[name].data:
                if trace.customdata is not None and trace.name != "hovered pair":
                    trace.on_hover(self._on_hover)
        self._mark_hover(None)

    def _title(self, fig, text: str) -> None:
        fig.update_layout(title=dict(text=text, font=dict(size=13)))

    def _draw_features(self, fig, data) -> None:
        import plotly.graph_objects as go

        if data.separability is None:
            self._title(fig, f"separating features: {data.errors['separability']}")
            return
        emb = self.session.embeddings
        top = data.separability.top(self.top_k)
        for col, feature in enumerate(top, start=1):
            xi, xt = emb.image[:, feature], emb.text[:, feature]
            edges = joint_edges(xi, xt)
            for (label, color), values in zip(MODALITIES, (xi, xt)):
                centres, density = density_histogram(values, edges)
                fig.add_trace(go.Bar(x=centres, y=density, width=np.diff(edges), name=label, legendgroup=label,
                                     showlegend=col == 1, marker=dict(color=color), opacity=0.55,
                                     hovertemplate=f"{label}<br>%{{x:.4g}}: %{{y:.4g}}<extra></extra>"),
                              row=1, col=col)
            fig.layout.annotations[col - 1].text = f"feature {feature}: Sep {data.separability.sep[feature]:.3g}"
        col = len(top) + 1
        fig.layout.annotations[col - 1].text = "SVM on the two most separating features"
        if data.svm is None:
            self._title(fig, f"Fig. 2: normalised histograms; SVM: {data.errors.get('svm', '')}")
            return
        f1, f2 = data.svm.features
        idx = data.drawn
        for (label, color), vectors in zip(MODALITIES, (emb.image, emb.text)):
            fig.add_trace(go.Scattergl(x=vectors[idx, f1], y=vectors[idx, f2], mode="markers", name=f"{label}s",
                                       marker=dict(size=4, color=color, opacity=0.6), customdata=idx,
                                       hovertemplate=f"{label} of pair %{{customdata}}<extra></extra>"),
                          row=1, col=col)
        xs = np.linspace(*joint_edges(emb.image[:, f1], emb.text[:, f1])[[0, -1]], 50)
        fig.add_trace(go.Scatter(x=xs, y=data.svm.line_y(xs), mode="lines", name="SVM decision line",
                                 line=dict(color="#1f3faa", dash="dash")), row=1, col=col)
        fig.add_trace(self._hover_trace(), row=1, col=col)
        lo = min(emb.image[:, f2].min(), emb.text[:, f2].min())
        hi = max(emb.image[:, f2].max(), emb.text[:, f2].max())
        fig.update_yaxes(range=[float(lo), float(hi)], row=1, col=col)
        fig.update_xaxes(title_text=f"feature {f1}", row=1, col=col)
        fig.update_yaxes(title_text=f"feature {f2}", row=1, col=col)
        self._title(fig, f"Fig. 2: normalised histograms of the {len(top)} most separating raw features · "
                         f"linear SVM on features {f1}, {f2}: accuracy {data.svm.accuracy:.1%}")

    def _draw_separability(self, fig, data) -> None:
        import plotly.graph_objects as go

        if data.separability is None:
            self._title(fig, f"separability: {data.errors['separability']}")
            return
        order = data.separability.order
        fig.add_trace(go.Scatter(x=np.arange(1, order.size + 1), y=data.separability.sep[order], mode="lines+markers",
                                 name="Sep", marker=dict(size=4, color=CATEGORY_COLORS[2]), customdata=order,
                                 hovertemplate="rank %{x}: feature %{customdata}<br>Sep %{y:.4g}<extra></extra>"))
        fig.update_xaxes(title_text="rank")
        self._title(fig, "Fig. 3: Sep(ℓ) = |m_i(ℓ) − m_t(ℓ)| / √(var_i(ℓ) + var_t(ℓ)), sorted")

    def _draw_norms(self, fig, data) -> None:
        import plotly.graph_objects as go

        if data.norms is None:
            self._title(fig, f"norms: {data.errors['norms']}")
            return
        for col, field in ((1, "raw"), (2, "centered")):
            samples = [getattr(nm, field) for nm in data.norms]
            edges = joint_edges(*samples)
            for (label, color), values in zip(MODALITIES, samples):
                centres, density = density_histogram(values, edges)
                fig.add_trace(go.Bar(x=centres, y=density, width=np.diff(edges), name=label, legendgroup=label,
                                     showlegend=col == 1, marker=dict(color=color), opacity=0.55,
                                     hovertemplate=f"{label}<br>%{{x:.4g}}: %{{y:.4g}}<extra></extra>"),
                              row=1, col=col)
        title = "Fig. 4: norm histograms (raw units)"
        if data.geometry is not None:
            gi, gt = data.geometry.image, data.geometry.text
            title += (f" · ‖m‖/‖σ‖ image {gi.offset_ratio:.3g}, text {gt.offset_ratio:.3g} · images: "
                      f"μ_norm {gi.centered_norm_mean:.4g}, var(y) {gi.centered_norm_var:.4g}, "
                      f"√tr ℂ error {gi.sqrt_trace_error:.2%}")
        self._title(fig, title)

    def _draw_odd(self, fig, data) -> None:
        import plotly.graph_objects as go

        if data.odd is None:
            self._title(fig, f"ODD: {data.errors['odd']}")
            return
        for (label, color), result in zip(MODALITIES, data.odd):
            order = np.argsort(-result.variance, kind="stable")
            fig.add_trace(go.Scatter(x=np.arange(1, order.size + 1), y=result.variance[order], mode="lines",
                                     name=label, legendgroup=label, line=dict(color=color), customdata=order,
                                     hovertemplate=f"{label}: feature %{{customdata}}<br>var %{{y:.4g}}<extra></extra>"),
                          row=1, col=1)
            defined = np.flatnonzero(np.isfinite(result.odd))
            order = defined[np.argsort(-result.odd[defined], kind="stable")]
            fig.add_trace(go.Scatter(x=np.arange(1, order.size + 1), y=result.odd[order], mode="lines", name=label,
                                     legendgroup=label, showlegend=False, line=dict(color=color), customdata=order,
                                     hovertemplate=f"{label}: feature %{{customdata}}<br>ODD %{{y:.4g}}<extra></extra>"),
                          row=1, col=2)
        fig.add_trace(go.Scatter(x=[1, data.d], y=[1.0, 1.0], mode="lines", name="ODD = 1 (diagonal dominance)",
                                 line=dict(color="#888", dash="dot"), hoverinfo="skip"), row=1, col=2)
        fig.update_yaxes(type="log", row=1, col=1)
        share = [float(np.mean(r.odd[np.isfinite(r.odd)] > 1)) for r in data.odd]
        self._title(fig, f"Fig. 5: features with ODD > 1 (tilted ellipsoid): image {share[0]:.0%}, text {share[1]:.0%}")

    def _draw_loss(self, fig, data) -> None:
        import plotly.graph_objects as go

        curve = data.loss
        if curve is None:
            self._title(fig, f"loss vs α: {data.errors['loss']}")
            return
        lines = ((1, "total", curve.total, "#222"), (1, "alignment", curve.alignment, CATEGORY_COLORS[2]),
                 (1, "uniformity", curve.uniformity, CATEGORY_COLORS[4]), (2, "all pairs", curve.total, "#222"),
                 (2, "correct", curve.correct, CATEGORY_COLORS[2]),
                 (2, "misclassified", curve.misclassified, CATEGORY_COLORS[3]))
        for col, label, y, color in lines:
            fig.add_trace(go.Scatter(x=curve.alphas, y=y, mode="lines+markers", name=label, marker=dict(size=4),
                                     line=dict(color=color), showlegend=not (col == 2 and label == "all pairs"),
                                     hovertemplate=f"{label}<br>α %{{x:.3g}}: %{{y:.4g}} nats<extra></extra>"),
                          row=1, col=col)
        for col in (1, 2):
            values = np.concatenate([y for c, _, y, _ in lines if c == col])
            values = values[np.isfinite(values)]
            fig.add_trace(go.Scatter(x=[0.0, 0.0], y=[float(values.min()), float(values.max())], mode="lines",
                                     name="α = 0 (the trained model)", showlegend=col == 1, hoverinfo="skip",
                                     line=dict(color="#888", dash="dot")), row=1, col=col)
        fig.update_xaxes(title_text="α (images v − α·m_i)")
        batch = "all pairs one batch" if curve.batch_size is None else f"batches of {curve.batch_size}"
        self._title(fig, f"Fig. 6: CLIP loss vs α ({batch}; correct = top-1 image→text at α = 0, "
                         f"{int(curve.n_correct[0])}/{curve.n}) · lowest total at α = {curve.best_alpha:.2g}")

    def _draw_conformity(self, fig, data) -> None:
        import plotly.graph_objects as go

        if data.estimate is None:
            self._title(fig, f"conformity: {data.errors['estimate']}")
            return
        idx = data.drawn
        for col, ((label, color), est) in enumerate(zip(MODALITIES, data.estimate), start=1):
            name = f"{label}s: a = {est.a:.3f}, b = {est.b:.3f}, Pearson {est.pearson:.4f}"
            fig.add_trace(go.Scattergl(x=est.estimate[idx], y=est.conformity[idx], mode="markers", name=name,
                                       marker=dict(size=4, color=color, opacity=0.6), customdata=idx,
                                       hovertemplate=f"{label} of pair %{{customdata}}<br>Ĉ %{{x:.4g}}, C %{{y:.4g}}"
                                                     "<extra></extra>"), row=1, col=col)
            lo, hi = float(est.conformity.min()), float(est.conformity.max())
            fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color="#888", dash="dot"),
                                     showlegend=False, hoverinfo="skip"), row=1, col=col)
            fig.add_trace(self._hover_trace(showlegend=col == 1), row=1, col=col)
            fig.update_xaxes(title_text="Ĉ = a·cos(m, v) + b", row=1, col=col)
            fig.update_yaxes(title_text="C (exact)", row=1, col=col)
        self._title(fig, "Fig. 9: conformity C vs its estimate Ĉ from the modality mean")

    def _draw_kl(self, fig, data) -> None:
        import plotly.graph_objects as go

        kl = data.kl
        if kl is None:
            self._title(fig, f"KL vs α: {data.errors['kl']}")
            return
        fig.add_trace(go.Scatter(x=kl.alphas, y=kl.kl, mode="lines+markers", name="KL(image ‖ text)",
                                 line=dict(color=IMAGE_COLOR),
                                 hovertemplate="α %{x:.3g}: %{y:.4g} nats<extra></extra>"))
        fig.add_trace(go.Scatter(x=kl.alphas, y=kl.kl_reverse, mode="lines", name="KL(text ‖ image)",
                                 line=dict(color=TEXT_COLOR, dash="dash"),
                                 hovertemplate="α %{x:.3g}: %{y:.4g} nats<extra></extra>"))
        fig.update_xaxes(title_text="α (images v − α·m_i)")
        at0 = np.flatnonzero(kl.alphas == 0)
        zero = f" · KL at α = 0: {kl.kl[at0[0]]:.3g}" if at0.size else ""
        self._title(fig, f"Fig. 11: KL of the conformity histograms ({kl.bins} equal bins over both, "
                         f"pseudo-count {kl.smoothing:g}){zero}")

    # -- hover ----------------------------------------------------------------------------
    def _hover_trace(self, showlegend: bool = False):
        import plotly.graph_objects as go

        return go.Scatter(x=[], y=[], mode="markers", name="hovered pair", showlegend=showlegend, hoverinfo="skip",
                          marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(color="#000", width=2)))

    def _on_hover(self, trace, points, _state) -> None:
        if points.point_inds:
            self.hover_point(trace, int(points.point_inds[0]))

    def hover_point(self, trace, point: int) -> None:
        """What hovering point ``point`` of a per-sample ``trace`` does: ``session.hover`` = its pair."""
        self.session.hover = int(trace.customdata[point])

    def _mark_hover(self, _change) -> None:
        pair, data = int(self.session.hover), self.data
        emb = self.session.embeddings
        show = data is not None and 0 <= pair < data.n
        for name in PER_SAMPLE:
            fig = self.figures[name]
            marks = [t for t in fig.data if t.name == "hovered pair"]
            with fig.batch_update():
                for k, trace in enumerate(marks):
                    if not show:
                        trace.x, trace.y = [], []
                    elif name == "features" and data.svm is not None:
                        f1, f2 = data.svm.features
                        trace.x = [float(emb.image[pair, f1]), float(emb.text[pair, f1])]
                        trace.y = [float(emb.image[pair, f2]), float(emb.text[pair, f2])]
                    elif name == "conformity":
                        est = data.estimate[k]
                        trace.x, trace.y = [float(est.estimate[pair])], [float(est.conformity[pair])]
