"""A wheel built from a clean checkout carries the widget bundles and works where Node.js is absent.

The wheel is built from a ``git clone`` of this repository (committed files only: no
``node_modules``, no ``amumo_ng/widgets/static``), so building it runs ``npm install`` and
``npm run build`` through hatch-jupyter-builder: the build needs Node.js and npm (their cache or
registry); installing the result must not. The install goes into a fresh virtual environment
(``venv --without-pip``; pip of this interpreter installs the wheel with ``--no-deps --no-index``)
whose dependencies come from this interpreter's site-packages through one ``.pth`` line (a
directory added that way is searched but its own ``.pth`` files are not run, so the editable
install of the checkout stays out), and every command there runs with ``PATH`` stripped of
``node``/``npm``, ``PYTHONPATH`` unset and a working directory outside the checkout.

Checked: the wheel holds the four built ESM bundles (not the JS sources' imports; nothing in them
that only JupyterLab provides, so VS Code, Voilà and Notebook 7 can load them), the shipped toy
weights and the quickstart; the installed package imports from the fresh environment and its
``Explorer`` hands anywidget the wheel's own bundle; and, in JupyterLab with a kernel running that
environment's interpreter, an Explorer of ``shapes`` pairs encoded by the wheel's ``toy-clip``
paints its heatmap and shows the exact cosine the kernel computes with numpy.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))
import lab_harness as H  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BUNDLES = ("explorer", "heatmap", "scatter", "strip", "standalone")
WHEEL_KERNEL = "amumo-wheel"
WHEEL_PREFIX = "AMUMO_WHEEL="


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def path_without_node() -> str:
    """``PATH`` without the directories that hold a ``node`` or ``npm`` executable."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not any(os.access(Path(d) / exe, os.X_OK) for exe in ("node", "npm", "npx"))]
    return os.pathsep.join(keep)


def no_node_env(home: Path) -> dict:
    """Environment of the fresh installation's processes: no Node.js, no PYTHONPATH, own cache."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = path_without_node()
    env["AMUMO_NG_CACHE"] = str(home / "amumo-cache")
    return env


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    """The wheel ``pip wheel --no-deps`` builds from a fresh clone of HEAD."""
    if shutil.which("npm") is None or shutil.which("git") is None:
        msg = "building the wheel from a clean checkout needs git and npm (the bundles are built then)"
        if _in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    tmp = tmp_path_factory.mktemp("wheel-build")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone / "amumo_ng" / "widgets" / "static").exists(), "the clone should hold no built bundle"
    dist = tmp / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(clone)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = sorted(dist.glob("amumo_ng-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_venv(built_wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its ``python``."""
    home = tmp_path_factory.mktemp("wheel-venv")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies (numpy, torch, anywidget, ipykernel…) from this interpreter's site-packages
    (purelib / "amumo_wheel_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--no-cache-dir", str(built_wheel)],
        capture_output=True, text=True, timeout=300, env=no_node_env(home), cwd=home)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return python


def wheel_bundle(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(f"amumo_ng/widgets/static/{name}.js")


def test_the_wheel_holds_the_built_bundles_weights_and_quickstart(built_wheel):
    with zipfile.ZipFile(built_wheel) as zf:
        names = set(zf.namelist())
    for name in BUNDLES:
        assert f"amumo_ng/widgets/static/{name}.js" in names, f"the {name} bundle is not in the wheel"
        text = wheel_bundle(built_wheel, name).decode("utf-8")
        assert len(text) > 10_000, (name, len(text))
        # a bundle: one self-contained ES module (esbuild inlined the components and the npm
        # packages), no import left to resolve and nothing fetched from a CDN
        assert "export{" in text.replace(" ", "") or "export default" in text, name
        assert "from\"./components" not in text.replace(" ", "") and "regl-scatterplot\"" not in text, name
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text, name
        # nothing only JupyterLab provides (VS Code, Voila and Notebook 7 load the same ESM through
        # anywidget): no app object, no Lab / ipywidgets modules, no AMD loader, no --jp-* colour
        # without a fallback
        for lab_only in ("jupyterapp", "@jupyterlab/", "@jupyter-widgets/", "requirejs"):
            assert lab_only not in text, (name, lab_only)
        assert not re.search(r"var\(--jp-[\w-]+\)", text), (name, re.findall(r"var\(--jp-[\w-]+\)", text)[:3])
    explorer = wheel_bundle(built_wheel, "explorer").decode("utf-8")
    assert 'data-amumo' in explorer and "heatmap-slot" in explorer  # built from this checkout's sources
    assert not any("node_modules" in n for n in names), "node_modules leaked into the wheel"
    for model in ("toy-clip", "toy-cyclip", "toy-cloob"):
        assert f"amumo_ng/models/weights/{model}.safetensors" in names, model
    assert "amumo_ng/notebooks/quickstart.ipynb" in names


INSTALLED_CHECK = r'''
import hashlib, json, shutil, sys
import numpy as np
import amumo_ng
from amumo_ng.widgets import Explorer
from amumo_ng.store.embeddings import Embeddings
rng = np.random.default_rng(0)
ex = Explorer(Embeddings.from_arrays(rng.normal(size=(6, 8)), rng.normal(size=(6, 8)),
                                     captions=[f"caption {i}" for i in range(6)]))
print(json.dumps({"file": amumo_ng.__file__, "node": shutil.which("node"), "npm": shutil.which("npm"),
                  "esm_sha256": hashlib.sha256(ex._esm.encode("utf-8")).hexdigest(),
                  "prefix": sys.prefix}))
'''


def test_the_installed_wheel_imports_without_node_and_serves_its_bundle(wheel_venv, built_wheel, tmp_path):
    proc = subprocess.run([str(wheel_venv), "-c", INSTALLED_CHECK], capture_output=True, text=True,
                          timeout=300, env=no_node_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    venv = wheel_venv.parent.parent
    assert got["node"] is None and got["npm"] is None, got
    assert Path(got["prefix"]) == venv, got
    assert Path(got["file"]).resolve().is_relative_to(venv.resolve()), f"amumo_ng came from {got['file']}"
    assert got["esm_sha256"] == hashlib.sha256(wheel_bundle(built_wheel, "explorer")).hexdigest()


WHEEL_NOTEBOOK = [
    '''import json, shutil
import numpy as np
import amumo_ng
ds = amumo_ng.datasets.load("shapes", n=40)
emb = amumo_ng.embed(ds, "toy-clip", progress=False)  # the weights shipped in the wheel
unit_i = emb.image / np.linalg.norm(emb.image, axis=1, keepdims=True)
unit_t = emb.text / np.linalg.norm(emb.text, axis=1, keepdims=True)
print("''' + WHEEL_PREFIX + '''" + json.dumps({
    "file": amumo_ng.__file__, "node": shutil.which("node"), "n": len(ds),
    "captions": list(map(str, emb.meta["caption"])),
    "cos_2_5": float(np.float64(unit_i[2]) @ np.float64(unit_t[5]))}))''',
    '''explorer = amumo_ng.Explorer(emb)
explorer''',
]


def _add_wheel_kernel(server: H.LabServer, python: Path) -> None:
    """A kernelspec running the fresh environment's interpreter without Node.js on PATH and
    without the checkout on PYTHONPATH (the harness puts it there for the server's own kernels)."""
    spec = Path(server.env["JUPYTER_DATA_DIR"]) / "kernels" / WHEEL_KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "amumo-ng wheel", "language": "python",
        "env": {"PYTHONPATH": "", "PATH": path_without_node()},
    }))


def in_own_thread(fn, *args):
    """``fn(*args)`` in a new thread (its exception re-raised here): Playwright's sync API refuses
    a thread whose asyncio loop already runs one, as the browser tests' session-wide chromium does
    when this module runs in the same session."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="wheel-browser")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_the_wheel_explorer_renders_in_jupyterlab(wheel_venv, tmp_path):
    if not H.CHROMIUM.exists():
        msg = f"{H.CHROMIUM} is missing (apt-get install -y chromium chromium-driver)"
        if _in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    in_own_thread(render_from_the_wheel, wheel_venv, tmp_path)


def render_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    """JupyterLab with a kernel on the fresh environment: the Explorer paints and hovers exactly."""
    import nbformat

    nb_path = tmp_path / "wheel.ipynb"
    H.write_notebook(nb_path, WHEEL_NOTEBOOK)
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata["kernelspec"] = {"name": WHEEL_KERNEL, "display_name": "amumo-ng wheel", "language": "python"}
    nbformat.write(nb, str(nb_path))
    server = H.start_lab({"wheel.ipynb": nb_path})
    browser = None
    try:
        _add_wheel_kernel(server, wheel_venv)
        browser = H.launch_chromium()
        page = browser.context.new_page()
        problems = H.watch_problems(page)
        H.open_notebook(page, server, "wheel.ipynb")
        H.run_all_cells(page, timeout_ms=240_000)
        assert not H.cell_errors(page), H.cell_errors(page)
        facts = json.loads(H.markers_in_outputs(page, WHEEL_PREFIX)[0])
        venv = wheel_venv.parent.parent
        assert Path(facts["file"]).resolve().is_relative_to(venv.resolve()), facts["file"]
        assert facts["node"] is None, facts
        n = facts["n"]
        explorer = page.locator('[data-amumo="explorer"]')
        H.wait_explorer_drawn(explorer, n, timeout_ms=120_000)
        H.quiet(page, 600)
        canvas = page.locator('canvas[data-amumo="heatmap-canvas"]')
        from PIL import Image

        heat = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"), dtype=np.int16)
        assert len(np.unique(heat.reshape(-1, 3), axis=0)) > 50, "the heatmap canvas is blank"
        # hover image 2 x text 5: the panel shows the kernel's numpy value
        box = H.settled_box(canvas)
        x = box["x"] + (n + 5 + 0.5) * box["width"] / (2 * n)
        y = box["y"] + (2 + 0.5) * box["height"] / (2 * n)
        page.mouse.move(x - 15, y - 15)
        page.mouse.move(x, y, steps=4)
        page.wait_for_function(
            "() => /cos = -?[0-9]/.test(document.querySelector('[data-amumo=\"hover-value\"]')?.textContent || '')",
            timeout=30_000)
        text = page.text_content('[data-amumo="hover-value"]')
        assert f"row 2, col {n + 5}" in text, text
        shown = float(text.split("=")[1].split("(")[0].replace("−", "-"))
        assert abs(shown - facts["cos_2_5"]) <= 0.5e-4 + 1e-6, (text, facts["cos_2_5"])
        H.save_screenshot(explorer, "wheel_01_explorer_from_the_wheel")
        assert not problems, problems
    finally:
        if browser is not None:
            browser.close()
        server.stop()
