"""Fixtures for the real-browser tests: one JupyterLab server, one chromium, one notebook run.

The notebook under test is a copy of ``notebooks/quickstart.ipynb`` with two probe cells appended
(see :mod:`explorer_probe`): one prints what the kernel knows (captions, n, exact similarities, gap
distance) and one prints ``explorer.selection``; the tests compare what the browser shows with them.
``AMUMO_BROWSER_NOTEBOOK=/path/to/notebook.ipynb`` runs another notebook instead (it must end with
a displayed Explorer), e.g. one written by ``explorer_probe.write_arrays_notebook`` while the zoo
weights are not there yet.
"""
from __future__ import annotations

import json
import re
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import explorer_probe  # noqa: E402
import lab_harness  # noqa: E402

QUICKSTART = lab_harness.REPO_ROOT / "notebooks" / "quickstart.ipynb"
NOTEBOOK_NAME = "quickstart_under_test.ipynb"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """/usr/bin/chromium; skipped when absent outside CI, a failure when absent in CI."""
    if lab_harness.CHROMIUM.exists():
        return lab_harness.CHROMIUM
    msg = (f"{lab_harness.CHROMIUM} is missing (install it with the browser-deps recipe: "
           "apt-get update && apt-get install -y chromium chromium-driver)")
    if _in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def notebook_source(tmp_path_factory) -> Path:
    """The notebook to run with the probe cells appended (a temporary copy; the original is untouched)."""
    src = Path(os.environ.get("AMUMO_BROWSER_NOTEBOOK", QUICKSTART))
    if not src.exists():
        pytest.fail(f"{src} does not exist")
    out = tmp_path_factory.mktemp("nb") / NOTEBOOK_NAME
    explorer_probe.append_probe_cells(src, out)
    return out


@pytest.fixture(scope="session")
def lab_server(chromium_executable, notebook_source):
    """JupyterLab on 127.0.0.1 (free port, token, temp root/config/runtime/cache dirs)."""
    listing = lab_harness.labextension_list()
    if not lab_harness.anywidget_extension_ok(listing):
        pytest.fail(f"the anywidget lab extension is not installed/enabled:\n{listing}")
    server = lab_harness.start_lab({NOTEBOOK_NAME: notebook_source})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_executable):
    b = lab_harness.launch_chromium(executable=chromium_executable)
    yield b
    b.close()


@pytest.fixture(scope="session")
def explorer_page(lab_server, browser):
    """The notebook opened in JupyterLab after Run → Run All Cells, with the Explorer rendered.

    Returns ``(page, facts)`` where ``facts`` is the probe cell's JSON (see ``explorer_probe``).
    """
    page = browser.context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    lab_harness.open_notebook(page, lab_server, NOTEBOOK_NAME)
    try:
        lab_harness.run_all_cells(page, timeout_ms=240_000)
    finally:
        lab_harness.save_screenshot(page, "00_after_run_all")
    errors = lab_harness.cell_errors(page)
    assert not errors, "cells raised errors:\n" + "\n".join(errors)
    assert lab_harness.unexecuted_cells(page) == 0, "Run All did not run every cell"
    page.wait_for_selector('[data-amumo="explorer"]', timeout=60_000)
    page.wait_for_selector('[data-amumo="heatmap"][data-rows]', timeout=60_000)
    facts_lines = lab_harness.markers_in_outputs(page, explorer_probe.FACTS_PREFIX)
    assert len(facts_lines) == 1, f"probe printed {len(facts_lines)} fact lines"
    facts = json.loads(facts_lines[0])
    page.amumo_console = console  # kept for failure messages
    yield page, facts
    page.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request):
    """Keep a full-page screenshot (and the browser console) of a failed browser test, for every
    fixture of the test that holds a page (see :func:`lab_harness.page_and_console`)."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed:
        return
    name = "FAILED_" + re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)
    for fixture in request.fixturenames:
        try:
            held = lab_harness.page_and_console(request.getfixturevalue(fixture))
        except Exception:  # a fixture that cannot be resolved here holds no page
            continue
        if held is None:
            continue
        page, console = held
        try:
            lab_harness.save_screenshot(page, name)
            (lab_harness.ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console))
        except Exception as exc:  # the page may be gone; the failure itself is what matters
            print(f"could not save the failure screenshot: {exc}")
        return
