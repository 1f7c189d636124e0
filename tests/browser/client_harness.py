"""Jupyter Notebook 7 and Voilà in headless chromium, beside lab_harness's JupyterLab.

Built on :mod:`lab_harness`: the same server launch (:func:`lab_harness.launch_server`: an
isolated temporary home for config, data, runtime and IPython dirs, a free port, a token), the
same :class:`lab_harness.LabServer` handle (URL with the token, REST calls, ``stop`` of the whole
process group), the same notebook driving and the same chromium. What differs per client:

- **Notebook 7** (``jupyter notebook``): a notebook opens at ``notebooks/<name>``; its page is
  built from JupyterLab's components, so the cells, prompts and outputs carry the same
  ``.jp-*`` classes and ``lab_harness.run_all_cells`` / ``wait_all_executed`` / ``cell_errors``
  drive it unchanged (``expose_app_in_browser`` gives ``window.jupyterapp`` as in Lab).
- **Voilà** (``voila`` on the server root): ``voila/render/<name>`` is the notebook's outputs
  only (no code, no kernel access from the test); the server runs every cell (in a new kernel)
  each time the page is requested.

``cache_dir`` points the server's kernels at a shared ``AMUMO_NG_CACHE`` (the tests precompute
the quickstart's embeddings there once, so both clients load the same vectors from disk).
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Optional

import lab_harness as H


def _client_command(kind: str, root: Path, port: int, token: str) -> list[str]:
    """The command line of a ``kind`` server ("notebook" | "voila") on 127.0.0.1:``port``."""
    if kind == "notebook":
        return [
            sys.executable, "-m", "jupyter", "notebook",
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ]
    if kind == "voila":
        return [
            sys.executable, "-m", "voila", f"--Voila.root_dir={root}",
            "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}", f"--token={token}",
            # a traceback in the page names the failing cell instead of a bare "error"
            "--show_tracebacks=True",
        ]
    raise ValueError(f"unknown client {kind!r}")


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _voila_ready(server: H.LabServer) -> bool:
    """Voilà is up: its port accepts connections and it logged "Voilà is running at" (a page
    request would start a kernel and run a notebook, so none is made to find out)."""
    return _port_open(server.port) and "running at" in server.log_tail(20_000)


def start_client(kind: str, notebooks: dict[str, Path], cache_dir: Optional[Path] = None,
                 timeout: float = 90.0) -> H.LabServer:
    """Start a Notebook 7 (``kind="notebook"``) or Voilà (``kind="voila"``) server on a free
    port with a token, serving ``notebooks`` (file name in the server root -> source to copy),
    through :func:`lab_harness.launch_server`."""
    if kind not in ("notebook", "voila"):
        raise H.HarnessError(f"unknown client {kind!r}: 'notebook' or 'voila'")

    def command(root: Path, port: int, token: str) -> list[str]:
        return _client_command(kind, root, port, token)

    overrides = {"AMUMO_NG_CACHE": str(cache_dir)} if cache_dir is not None else None
    return H.launch_server(command, notebooks, timeout=timeout, what=kind, env_overrides=overrides,
                           ready=_voila_ready if kind == "voila" else H.api_answers)


def open_in_notebook7(page, server: H.LabServer, name: str, timeout_ms: int = 90_000) -> None:
    """Open ``name`` in Notebook 7 (``/notebooks/<name>``) and wait until its kernel is idle."""
    page.goto(server.url(f"notebooks/{name}"), wait_until="domcontentloaded", timeout=timeout_ms)
    H.wait_notebook_kernel(page, name, timeout_ms)


def open_in_voila(page, server: H.LabServer, name: str, timeout_ms: int = 300_000) -> None:
    """Request the Voilà page of ``name`` and wait for its ``load`` event: Voilà streams the page
    while it runs the cells and ends it after the last one, so every output is on it by then
    (the widgets' views are rendered by the page's scripts a moment later)."""
    page.goto(server.url(f"voila/render/{name}"), wait_until="load", timeout=timeout_ms)


def voila_errors(page) -> list[str]:
    """Texts of the error outputs (tracebacks) on a Voilà page."""
    texts = page.eval_on_selector_all(
        ".jp-OutputArea-output", "els => els.map(e => e.textContent || '')")
    return [t for t in texts if "Traceback (most recent call last)" in t]
