"""notebooks/reduction_clustering.ipynb: committed without outputs, offline, with the study's published figures
beside ours, and with its own cross-check of the measured retrieval by a plain loop (an assert in the notebook,
so tests/notebooks/test_notebooks_execute.py, which runs every notebook, fails when the numbers are not real)."""
from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "reduction_clustering.ipynb"


def _source(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def test_committed_without_outputs_offline_and_with_the_published_figures():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    text = _source(nb)
    for figure in ("0.325", "0.82", "0.72", "COCO", "ViT-B/32"):
        assert figure in text, figure
    for model in ("toy-clip", "toy-cyclip", "toy-cloob"):
        assert model in text
    assert "hf_hub" not in text and "http" not in text  # nothing fetched
    assert "re-counted by a loop" in text and "assert abs(np.mean(hits)" in text
    assert "Explorer" in text and "ClusterPanel" in text  # the integration is shown, a widget is displayed
