"""The browser harness itself: the pure helpers without a browser, and the isolation of the server."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import explorer_probe
import lab_harness as H


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_pixel_difference_counts_changed_pixels():
    a = np.zeros((10, 20, 3), np.uint8)
    b = a.copy()
    b[0, :5] = [0, 0, 1]    # 5 pixels, one channel off by one
    b[9, 19] = [255, 0, 0]  # 1 more pixel
    assert H.pixel_difference(_png(a), _png(a)) == 0.0
    assert H.pixel_difference(_png(a), _png(b)) == pytest.approx(6 / 200)
    assert H.pixel_difference(_png(a), _png(np.zeros((10, 21, 3)))) == 1.0


def test_anywidget_extension_listing_is_parsed():
    ok = ("JupyterLab v4.6.6\n/x/share/jupyter/labextensions\n"
          "        anywidget v0.11.0 \x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m\n")
    disabled = ok.replace("\x1b[32menabled", "\x1b[31mdisabled")
    assert H.anywidget_extension_ok(ok)
    assert not H.anywidget_extension_ok(disabled)
    assert not H.anywidget_extension_ok("JupyterLab v4.6.6\n")


def test_installed_labextension_list_shows_anywidget():
    listing = H.labextension_list()
    assert H.anywidget_extension_ok(listing), listing


def test_isolated_env_keeps_everything_under_home(tmp_path):
    env = H.isolated_env(tmp_path)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "AMUMO_NG_CACHE"):
        path = Path(env[name])
        assert path.is_dir() and tmp_path in path.parents, name
    settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / \
        "notebook-extension" / "tracker.jupyterlab-settings"
    assert '"windowingMode": "none"' in settings.read_text()
    assert os.environ.get("JUPYTER_CONFIG_DIR") != env["JUPYTER_CONFIG_DIR"]


def test_probe_cells_are_appended_to_a_copy(tmp_path):
    import nbformat

    src = tmp_path / "src.ipynb"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells = [cell]
    nbformat.write(nb, str(src))
    dst = tmp_path / "dst.ipynb"
    explorer_probe.append_probe_cells(src, dst)
    out = nbformat.read(str(dst), as_version=4)
    assert [c.source for c in out.cells[:1]] == ["x = 1"]
    assert out.cells[0].outputs == []
    assert out.cells[1].source.startswith(explorer_probe.FACTS_MARKER)
    assert out.cells[2].source.startswith(explorer_probe.SELECTION_MARKER)
    assert nbformat.read(str(src), as_version=4).cells[0].outputs  # the source is untouched
    compile(out.cells[1].source, "facts", "exec")
    compile(out.cells[2].source, "selection", "exec")


def test_server_is_isolated_and_stops():
    server = H.start_lab({})
    try:
        assert server.api("status") is not None
        assert str(server.home) in server.env["AMUMO_NG_CACHE"]
        assert server.env["JUPYTER_CONFIG_DIR"].startswith(str(server.home))
        with pytest.raises(Exception):  # the token is required
            import urllib.request
            urllib.request.urlopen(f"{server.base_url}/api/contents", timeout=5)
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert not server.home.exists()


def test_arrays_notebook_is_valid_python(tmp_path):
    import nbformat

    path = explorer_probe.write_arrays_notebook(tmp_path / "arrays.ipynb", n=40)
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    compile(source, "arrays", "exec")
    assert "n, d = 40, 64" in source and "amumo_ng.Explorer(" in source
