"""Layer 5: every notebook in notebooks/ runs top to bottom (nbclient) on the offline default."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
#: Notebooks whose own test runs them and checks their figures (run once, there).
MEASURED = {"amumo_article.ipynb"}


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name not in MEASURED],
                         ids=[p.name for p in NOTEBOOKS if p.name not in MEASURED])
def test_notebook_runs_offline(path, tmp_path, monkeypatch):
    run_offline(path, tmp_path, monkeypatch)


def run_offline(path, tmp_path, monkeypatch):
    """Execute the notebook at ``path`` offline (nbclient) in ``tmp_path``; assert no cell raised and
    a widget was displayed; returns the executed notebook."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # prove it needs no hub
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # the explorer cell produced a widget view, not just text
    widget_views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                    if o.output_type == "display_data" and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_views, "no widget was displayed"
    return nb


def test_there_is_a_quickstart():
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOKS)
