"""A small view of the prompt space: the caption corpus, the user's prompts and the path shown (plotly).

``PromptSpaceFigure(explorer)`` fits :class:`~amumo_ng.analysis.prompt_space.PromptSpace` (UMAP,
cosine) on the current model's distinct captions (up to 10,000) in a worker thread, with its
progress on the status line, and draws them grey; prompts (:meth:`add_prompt`, and the Explorer's
searched prompt) are encoded by the model and drawn as stars, and the session's shown path
(an InterpolationStrip's) as a line, both placed by the fitted map's ``transform``. Another model
or set of pairs fits again (cached on disk, so a second time loads in milliseconds).
Display ``fig.widget`` (status line + figure).
"""
from __future__ import annotations

import threading

import numpy as np

from ..analysis.prompt_space import MAX_FIT, PromptSpace
from .prompt_search import session_encoder

__all__ = ["PromptSpaceFigure"]


class PromptSpaceFigure:
    """``PromptSpaceFigure(explorer_or_session, max_fit=10_000, **prompt_space_params)``.

    ``.widget`` (ipywidgets VBox: status + FigureWidget), ``.figure``, ``.space`` (the fitted
    PromptSpace or None), ``.prompts`` (list of str), :meth:`add_prompt`, :meth:`wait`, :meth:`close`.
    Map coordinates are UMAP's (unitless)."""

    def __init__(self, source, max_fit: int = MAX_FIT, **params):
        import ipywidgets as ipw
        import plotly.graph_objects as go

        self.session = getattr(source, "session", source)
        self.explorer = source if hasattr(source, "search_prompt") else None
        self.params = dict(params, max_fit=max_fit)
        self.prompts: list[str] = []
        self.space = None
        self._generation = 0  # bumped by every fit (another model / set of pairs)
        self._placing = 0     # bumped by every placement: only the newest draws
        self._lock = threading.Lock()
        self._thread = None
        self.figure = go.FigureWidget()
        self.figure.add_scattergl(name="captions", mode="markers", marker=dict(size=4, color="#bbbbbb"), hoverinfo="text")
        self.figure.add_scatter(name="prompts", mode="markers+text", textposition="top center",
                                marker=dict(symbol="star", size=15, color="#9400d3"), hoverinfo="text")
        self.figure.add_scatter(name="path", mode="lines+markers", line=dict(color="#2ca02c", width=2),
                                marker=dict(size=5, color="#2ca02c"), hoverinfo="text")
        self.figure.update_layout(height=420, width=520, margin=dict(l=30, r=10, t=30, b=30), title="prompt space",
                                  legend=dict(orientation="h", y=-0.08), xaxis=dict(showticklabels=False),
                                  yaxis=dict(showticklabels=False))
        self.status = ipw.HTML()
        self.widget = ipw.VBox([self.status, self.figure])
        self.session.observe(self._refit, names=["model", "data_version"])
        self.session.observe(self._replace, names=["path_shown"])
        if self.explorer is not None:
            self.explorer.observe(self._replace, names=["prompt"])
        self._refit(None)

    # -- the corpus ---------------------------------------------------------------------------------
    def _corpus(self):
        """(raw text vectors [m, d] of the distinct captions, their captions)."""
        emb = self.session.embeddings
        first: dict = {}
        for i, caption in enumerate(emb.captions):
            first.setdefault(caption, i)
        rows = np.fromiter(first.values(), dtype=np.int64)
        return np.asarray(emb.text[rows], np.float32), list(first)

    def _say(self, text: str) -> None:
        self.status.value = f"<span style='font-size:12px;color:#555'>{text}</span>"

    def _refit(self, _change) -> None:
        with self._lock:
            self._generation += 1
            mine = self._generation
        self.space = None
        vectors, captions = self._corpus()
        model = self.session.model
        space = PromptSpace(**self.params)
        self._say(f"fitting the prompt space of {model!r} on {min(len(captions), space.max_fit):,} captions…")

        def progress(fraction, stage):
            if mine == self._generation:
                self._say(f"{stage}… ({fraction:.0%})")

        def done(result):
            if mine != self._generation:
                return
            if isinstance(result, BaseException):
                self._say(f"prompt space failed: {type(result).__name__}: {result}")
                return
            self.space = result
            xy = result.embedding_
            with self.figure.batch_update():
                self.figure.data[0].x, self.figure.data[0].y = xy[:, 0], xy[:, 1]
                self.figure.data[0].hovertext = [captions[i] for i in result.fit_rows_]
            self._place(mine)

        self._thread, _cancel = space.fit_async(vectors, done, progress=progress)

    # -- prompts and the path -------------------------------------------------------------------------
    def add_prompt(self, prompt: str) -> None:
        """Encode ``prompt`` with the current model and draw it (ValueError without an encoder or text)."""
        if not str(prompt).strip():
            raise ValueError("the prompt is empty: type a few words")
        if session_encoder(self.session) is None:
            raise ValueError(f"model {self.session.model!r} has no text encoder: prompts cannot be encoded")
        self.prompts.append(str(prompt))
        self._replace(None)

    def _replace(self, _change) -> None:
        if self.space is not None:
            self._place(self._generation)

    def _place(self, generation: int) -> None:
        """Transform the prompts and the path into the map (a worker thread: transform may compile)."""
        space, session = self.space, self.session
        with self._lock:
            self._placing += 1
            placing = self._placing
        prompts = list(self.prompts)
        if self.explorer is not None and self.explorer.prompt and self.explorer.prompt not in prompts:
            prompts.append(self.explorer.prompt)
        path = session.shown_path()
        encoder = session_encoder(session)

        def work():
            try:
                p_xy = (space.transform(np.asarray(encoder.encode_texts(prompts), np.float32))
                        if prompts and encoder is not None else np.zeros((0, 2), np.float32))
                path_xy = space.transform(path.vectors) if path is not None else np.zeros((0, 2), np.float32)
            except Exception as exc:  # shown on the status line; the corpus stays
                self._say(f"could not place the prompts / path: {type(exc).__name__}: {exc}")
                return
            if generation != self._generation or placing != self._placing:
                return  # a newer fit or placement draws instead
            with self.figure.batch_update():
                self.figure.data[1].x, self.figure.data[1].y = p_xy[:, 0], p_xy[:, 1]
                self.figure.data[1].text = prompts if encoder is not None else []
                self.figure.data[1].hovertext = prompts if encoder is not None else []
                self.figure.data[2].x, self.figure.data[2].y = path_xy[:, 0], path_xy[:, 1]
                self.figure.data[2].hovertext = ([f"t = {t:.2f}" for t in path.t] if path is not None else [])
            where = "loaded from the cache" if space.from_cache_ else "fitted"
            self._say(f"prompt space of {session.model!r}: {len(space.fit_rows_):,} captions ({where}), "
                      f"{len(prompts)} prompt{'s' * (len(prompts) != 1)}, "
                      + (f"path of {len(path.t)} frames" if path is not None else "no path shown"))

        self._thread = threading.Thread(target=work, name="amumo-prompt-space-place", daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 300.0) -> "PromptSpaceFigure":
        """Block until the running fit and placement are done (tests, scripts)."""
        for _ in range(3):  # a fit starts a placement thread when it is done
            thread = self._thread
            if thread is not None:
                thread.join(timeout)
            if self._thread is thread:
                break
        return self

    def save_png(self, path, *, width=None, height=None, scale: float = 1):
        """Save the figure as a PNG file through plotly's export (kaleido); returns the path
        (see :mod:`amumo_ng.widgets.export_figure`)."""
        from .export_figure import save_figure_png

        return save_figure_png(self.figure, path, width=width, height=height, scale=scale)

    def close(self) -> None:
        """Stop following the session and the Explorer."""
        self._generation += 1
        self.session.unobserve(self._refit, names=["model", "data_version"])
        self.session.unobserve(self._replace, names=["path_shown"])
        if self.explorer is not None:
            self.explorer.unobserve(self._replace, names=["prompt"])
        self.widget.close()
