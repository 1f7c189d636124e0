"""Drive a real JupyterLab in headless Debian chromium (shared by tests/browser and benchmarks).

Everything here is plain functions, no pytest: the browser tests wrap them in fixtures
(tests/browser/conftest.py) and ``benchmarks/bench_browser.py`` calls them directly.

Environment (see the ``browser-deps`` recipe in the report / Makefile):
- Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium chromium-driver``), driven by the
  Playwright *python* package with ``executable_path``; ``playwright install`` is never used.
- JupyterLab and the anywidget lab extension come from pip (the venv running this code).

The server is isolated from the user's home: it gets its own temporary root directory and its own
JUPYTER_CONFIG_DIR / JUPYTER_DATA_DIR / JUPYTER_RUNTIME_DIR / IPYTHONDIR / AMUMO_NG_CACHE.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"

#: Command-line switches for Debian chromium in a container without a GPU.
#: ``--enable-unsafe-swiftshader`` keeps WebGL (the scatter) available on the CPU rasteriser:
#: recent chromium no longer falls back to SwiftShader for WebGL without it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]

#: JupyterLab user settings written into the temporary config dir: render every cell (no
#: windowing, so widgets below the fold exist in the DOM), start the notebook's kernel without
#: the "Select Kernel" dialog, and no network calls for news/updates.
LAB_USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


class HarnessError(RuntimeError):
    """JupyterLab or chromium could not be started, or the notebook did not run."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab`` process serving ``root`` on ``http://127.0.0.1:port``."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    home: Path
    log_path: Path
    env: dict = field(repr=False, default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (e.g. ``lab/tree/x.ipynb``) with the token as query."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", body: Optional[dict] = None):
        """Call the server's REST API; returns the decoded JSON (or None for an empty body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}/api/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (and its kernels, which are in its process group) and remove its dirs."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=5)
        shutil.rmtree(self.home, ignore_errors=True)


def isolated_env(home: Path) -> dict:
    """Environment for the server and its kernels with every per-user directory under ``home``."""
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "jupyter-config",
        "JUPYTER_DATA_DIR": home / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": home / "jupyter-runtime",
        "IPYTHONDIR": home / "ipython",
        "AMUMO_NG_CACHE": home / "amumo-cache",
        "MPLCONFIGDIR": home / "mpl",
        "XDG_CACHE_HOME": home / "xdg-cache",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # Notebooks import the package from this checkout even when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    settings_root = dirs["JUPYTER_CONFIG_DIR"] / "lab" / "user-settings"
    for rel, value in LAB_USER_SETTINGS.items():
        target = settings_root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    return env


def labextension_list(env: Optional[dict] = None) -> str:
    """Output of ``jupyter labextension list`` (both streams) for the current interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    return proc.stdout + proc.stderr


def anywidget_extension_ok(listing: str) -> bool:
    """True when the listing shows the anywidget lab extension enabled and OK."""
    clean = re.sub(r"\x1b\[[0-9;]*m", "", listing)
    return re.search(r"^\s*anywidget v\S+ enabled OK", clean, re.MULTILINE) is not None


def start_lab(notebooks: dict[str, Path] | None = None, timeout: float = 90.0) -> LabServer:
    """Start JupyterLab on 127.0.0.1 on a free port with a random token.

    Parameters
    ----------
    notebooks : mapping of file name (in the server root) -> source path to copy there.
    timeout : seconds to wait for ``/api/status`` to answer.
    """
    def command(root: Path, port: int, token: str) -> list[str]:
        return [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
        ]
    return launch_server(command, notebooks, timeout=timeout)


def api_answers(server: LabServer) -> bool:
    """True once the server's ``/api/status`` answers."""
    return server.api("status") is not None


def launch_server(command, notebooks: dict[str, Path] | None = None, timeout: float = 90.0,
                  what: str = "jupyter lab", ready=api_answers, env_overrides: Optional[dict] = None,
                  ) -> LabServer:
    """Run ``command(root, port, token)`` (a Jupyter server's argv) in a fresh isolated home
    (:func:`isolated_env`, plus ``env_overrides``) with ``notebooks`` copied into its root, on a
    free port with a random token, and wait until ``ready(server)`` (default: ``/api/status``
    answers). :func:`start_lab` is this for ``jupyter lab``; ``what`` names the server in errors."""
    home = Path(tempfile.mkdtemp(prefix="amumo-lab-"))
    root = home / "root"
    root.mkdir()
    for name, src in (notebooks or {}).items():
        shutil.copy(src, root / name)
    env = isolated_env(home)
    env.update(env_overrides or {})
    port = free_port()
    token = secrets.token_hex(16)
    log_path = home / "jupyterlab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        command(root, port, token), cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True
    )
    server = LabServer(root=root, port=port, token=token, process=proc, home=home,
                       log_path=log_path, env=env)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise HarnessError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            if ready(server):
                return server
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise HarnessError(f"{what} was not ready in {timeout:.0f} s:\n{tail}")
        time.sleep(0.3)


@dataclass
class Browser:
    """A Playwright chromium context launched from the system executable."""

    playwright: object
    context: object
    user_data_dir: Path

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self.playwright.stop()
            shutil.rmtree(self.user_data_dir, ignore_errors=True)


def launch_chromium(viewport=(1600, 1200), executable: Path = CHROMIUM) -> Browser:
    """Launch headless Debian chromium with a fresh ``--user-data-dir`` (a persistent context)."""
    if not Path(executable).exists():
        raise HarnessError(f"{executable} is missing: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    user_data_dir = Path(tempfile.mkdtemp(prefix="amumo-chromium-"))
    try:
        context = pw.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=1,
        )
    except Exception:
        pw.stop()
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise
    return Browser(playwright=pw, context=context, user_data_dir=user_data_dir)


# -- notebook driving -----------------------------------------------------------------------------

def open_notebook(page, server: LabServer, name: str, timeout_ms: int = 90_000) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle (accepting the default
    kernel if a "Select Kernel" dialog shows up anyway).

    ``?reset`` starts from an empty workspace: JupyterLab would otherwise restore the notebooks an
    earlier test module left open, and one of them could take the focus (and the "Run All")."""
    page.goto(server.url(f"lab/tree/{name}?reset"), wait_until="domcontentloaded", timeout=timeout_ms)
    wait_notebook_kernel(page, name, timeout_ms)


def wait_notebook_kernel(page, name: str, timeout_ms: int = 90_000) -> None:
    """Wait until the page's notebook shows its cells and its kernel is idle, accepting the
    default kernel if a "Select Kernel" dialog shows up (JupyterLab and Notebook 7 alike)."""
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        try:
            wait_kernel_idle(page, timeout_ms=1000)
            page.wait_for_timeout(300)
            if not page.locator(".jp-Dialog").count():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise HarnessError(f"the kernel of {name} did not become idle")


def wait_kernel_idle(page, timeout_ms: int = 90_000) -> None:
    """Wait until the current notebook's kernel is connected and idle (through the app object
    that ``--LabApp.expose_app_in_browser`` exposes; the toolbar indicator otherwise)."""
    page.wait_for_function(
        """() => {
            const app = window.jupyterapp;
            if (app && app.shell && app.shell.currentWidget) {
                const ctx = app.shell.currentWidget.sessionContext;
                const k = ctx && ctx.session && ctx.session.kernel;
                return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
            }
            const el = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
            return !!el && el.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout_ms,
    )


def run_all_cells(page, timeout_ms: int = 300_000) -> None:
    """Run → Run All Cells from the menu bar, then wait until no cell is queued or running.

    The menu click is retried (up to three times) when no cell starts within a few seconds: the
    command can still be disabled right after the kernel connects."""
    started = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')]
        .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent || ''))"""
    page.wait_for_function(
        "() => !window.jupyterapp || window.jupyterapp.commands.isEnabled('notebook:run-all-cells')",
        timeout=30_000)
    for attempt in range(3):
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
        item = page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                            has_text=re.compile(r"^Run All Cells$")).first
        item.wait_for(timeout=10_000)
        item.click()
        try:
            page.wait_for_function(started, timeout=5_000, polling=100)
            break
        except Exception:
            if attempt == 2:
                raise HarnessError("Run → Run All Cells started no cell (three tries)")
    wait_all_executed(page, timeout_ms=timeout_ms)


def wait_all_executed(page, timeout_ms: int = 300_000) -> None:
    """Wait until no code cell is queued or running (``[*]``) and at least one ran; cells left
    at ``[ ]`` after an error are reported by :func:`cell_errors`."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent || '');
            return prompts.length > 0 && !prompts.some(t => t.includes('*'))
                && prompts.some(t => /\\[\\d+\\]/.test(t));
        }""",
        timeout=timeout_ms,
        polling=250,
    )
    wait_kernel_idle(page, timeout_ms=timeout_ms)


def unexecuted_cells(page) -> int:
    """Number of non-empty code cells without an execution count."""
    return page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-CodeCell",
        """cells => cells.filter(c => (c.querySelector('.jp-InputArea-editor')?.textContent || '').trim()
            && !/\\[\\d+\\]/.test(c.querySelector('.jp-InputArea-prompt')?.textContent || '')).length""")


def cell_errors(page) -> list[str]:
    """Texts of the tracebacks shown in the open notebook (stderr streams such as warnings or
    progress bars are not errors)."""
    texts = page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-OutputArea-output", "els => els.map(e => e.textContent || '')")
    return [t for t in texts if "Traceback (most recent call last)" in t]


def run_cell_containing(page, marker: str, timeout_ms: int = 120_000) -> str:
    """Select the code cell whose source contains ``marker``, run it in place (Ctrl+Enter: the
    notebook does not move on to, and scroll to, the next cell while a test points at this one's
    output) and return the text of its output area once the run finished. Ctrl+Enter is repeated
    (three tries) if the cell does not start within a few seconds."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has=page.locator(
        ".jp-InputArea-editor", has_text=marker)).first
    prompt = cell.locator(".jp-InputArea-prompt")
    cell.scroll_into_view_if_needed()
    before = prompt.inner_text()
    for attempt in range(3):
        # no Escape key here: the scatter (regl-scatterplot) clears its selection on Escape
        prompt.click()  # select the cell (command mode)
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                "([el, before]) => el.textContent !== before", arg=[prompt.element_handle(), before],
                timeout=5_000, polling=100)
            break
        except Exception:
            if attempt == 2:
                raise HarnessError(f"the cell containing {marker!r} did not start (three tries)")
    prompt.filter(has_text=re.compile(r"\[\d+\]")).filter(has_not_text=before).wait_for(timeout=timeout_ms)
    return cell.locator(".jp-OutputArea").inner_text()


def markers_in_outputs(page, prefix: str) -> list[str]:
    """Every line of the notebook's text outputs that starts with ``prefix`` (prefix removed)."""
    texts = page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-OutputArea-output", "els => els.map(e => e.textContent)")
    found = []
    for t in texts:
        for line in (t or "").splitlines():
            if line.startswith(prefix):
                found.append(line[len(prefix):])
    return found


def save_screenshot(target, name: str) -> Path:
    """Save a PNG of a page or locator to ``test-artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


def pixel_difference(png_a: bytes, png_b: bytes) -> float:
    """Fraction of pixels (0..1) whose RGB differs between two PNG screenshots of equal size;
    1.0 when the sizes differ."""
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png_a)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(png_b)).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a - b).max(axis=2) > 0).mean())


def write_notebook(path, cell_sources) -> None:
    """Write a Python 3 notebook of code cells ``cell_sources`` (strings) to ``path``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cell_sources]
    nbformat.write(nb, str(path))


def code_cell(page, marker: str):
    """The notebook code cell whose source contains ``marker``."""
    return page.locator(".jp-NotebookPanel .jp-CodeCell",
                        has=page.locator(".jp-InputArea-editor", has_text=marker)).first


def page_and_console(value):
    """(page, console lines) held by a browser test fixture's value, or None: a ``(page, facts)``
    tuple (console lines in ``page.amumo_console`` or ``page.amumo_problems``) or an object with
    ``.page`` and ``.problems`` (plus ``.warnings``)."""
    if isinstance(value, tuple) and value and hasattr(value[0], "screenshot"):
        page = value[0]
        return page, list(getattr(page, "amumo_console", None) or getattr(page, "amumo_problems", None) or [])
    page = getattr(value, "page", None)
    if page is not None and hasattr(page, "screenshot"):
        return page, list(getattr(value, "problems", [])) + list(getattr(value, "warnings", []))
    return None


def settled_box(locator) -> dict:
    """The bounding box of ``locator`` once it holds still (outputs above it may still grow),
    scrolled into view first."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    for _ in range(20):
        locator.page.wait_for_timeout(100)
        again = locator.bounding_box()
        if again == box:
            break
        box = again
    return box



def point_at_heatmap_cell(explorer, rows: int, r: int, c: int, timeout_s: float = 20.0) -> None:
    """Move the mouse onto cell (r, c) of ``explorer``'s heatmap drawn with ``rows`` cells a side,
    until the heatmap reports that cell (``data-hover-row/col``); AssertionError after ``timeout_s``."""
    page = explorer.page
    heat = explorer.locator('[data-amumo="heatmap"]')
    deadline = time.monotonic() + timeout_s
    while True:
        box = settled_box(explorer.locator('canvas[data-amumo="heatmap-canvas"]'))
        x = box["x"] + (c + 0.5) * box["width"] / rows
        y = box["y"] + (r + 0.5) * box["height"] / rows
        page.mouse.move(x - 12, y - 12)
        page.mouse.move(x, y, steps=3)
        page.wait_for_timeout(150)
        if heat.get_attribute("data-hover-row") == str(r) and heat.get_attribute("data-hover-col") == str(c):
            return
        assert time.monotonic() < deadline, ("cell never hovered", r, c, heat.get_attribute("data-hover-row"),
                                             heat.get_attribute("data-hover-col"))

def quiet(page, ms: int = 400) -> None:
    """Let replies on their way arrive, then two animation frames pass."""
    page.wait_for_timeout(ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_until(predicate, what, page=None, timeout_s: float = 20.0):
    """Poll ``predicate()`` every 0.1 s until it is truthy (returned) or ``timeout_s`` passes
    (AssertionError with ``what``, or ``what()`` when callable)."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got:
            return got
        assert time.monotonic() < deadline, what() if callable(what) else what
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def printed(page, marker: str, prefix: str):
    """Run the cell containing ``marker`` and return the JSON it printed after ``prefix``."""
    out = run_cell_containing(page, marker)
    line = next(l for l in out.splitlines() if l.startswith(prefix))
    return json.loads(line[len(prefix):])


def wait_explorer_drawn(explorer, n_pairs: int, timeout_ms: int = 60_000) -> None:
    """Wait until an Explorer's heatmap shows all 2·n_pairs rows and its scatter all 2·n_pairs points."""
    explorer.locator(f'[data-amumo="heatmap"][data-rows="{2 * n_pairs}"]').wait_for(timeout=timeout_ms)
    explorer.locator(f'[data-amumo="scatter"][data-points="{2 * n_pairs}"][data-busy="false"]').wait_for(
        timeout=timeout_ms)


def watch_problems(page) -> list[str]:
    """A list that collects the page's console errors and uncaught exceptions from now on
    ("error: …", "pageerror: …"); tests assert it stays empty."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    return problems
