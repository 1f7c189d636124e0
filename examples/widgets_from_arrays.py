"""The widgets on your own vectors: no model needed.

Run in a notebook cell with ``%run examples/widgets_from_arrays.py`` and display the objects it
builds (``explorer``, ``heatmap``, ``scatter``, ``comparison``), or import ``build``.
"""
from __future__ import annotations

import numpy as np

import amumo_ng
from amumo_ng.widgets import Comparison, Scatter, SimilarityHeatmap


def fake_model(n: int = 2000, d: int = 64, gap: float = 1.0, seed: int = 0) -> amumo_ng.Embeddings:
    """n pairs in 8 topics; texts offset from images by ``gap`` along one axis (a modality gap)."""
    rng = np.random.default_rng(seed)
    topics = ["cat", "dog", "car", "tree", "boat", "pizza", "clock", "bird"]
    centres = rng.normal(size=(len(topics), d))
    label = rng.integers(0, len(topics), n)
    image = centres[label] + 0.5 * rng.normal(size=(n, d))
    text = centres[label] + 0.5 * rng.normal(size=(n, d))
    image[:, 0] += gap
    text[:, 0] -= gap
    captions = [f"a photo of a {topics[t]} ({i})" for i, t in enumerate(label)]
    return amumo_ng.Embeddings.from_arrays(image, text, captions=captions, model_id=f"fake-gap{gap:g}")


def build(n: int = 2000):
    """(explorer, heatmap, scatter, comparison) on two fake models of the same pairs."""
    wide, narrow = fake_model(n, gap=1.5), fake_model(n, gap=0.2)
    explorer = amumo_ng.Explorer({"wide gap": wide, "narrow gap": narrow})
    heatmap = SimilarityHeatmap(wide, grid=512)           # standalone
    scatter = Scatter(session=explorer.session)           # shares the explorer's state and hover
    comparison = Comparison({"wide gap": wide, "narrow gap": narrow})
    return explorer, heatmap, scatter, comparison


if __name__ == "__main__":
    explorer, heatmap, scatter, comparison = build()
    print(explorer.n_total, "pairs;", "gap readout:", explorer.gap_readout)
