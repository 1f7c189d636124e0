"""The quickstart's Explorer in the other clients people use: Jupyter Notebook 7 and Voilà.

Each client serves ``notebooks/quickstart.ipynb`` from the same shared ``AMUMO_NG_CACHE``, into
which this module first runs the quickstart's own code cells (all but the one that builds the
Explorer), so the test process holds the very vectors the page shows and computes every expected
value from them with numpy:

- **Notebook 7**: the quickstart with the probe cells appended (``explorer_probe``), run with
  Run → Run All Cells; the hovered value is checked against the kernel's printed facts as well.
- **Voilà**: the quickstart unchanged (no code cells on the page, no kernel access from the test).

In both: the Explorer paints (heatmap and scatter canvas pixels), fits the client's output
width, hovering a heatmap cell shows both captions and the exact cosine, typing a filter shrinks
the pairs shown to the count of captions that contain the word, a wheel over a view zooms that
view without scrolling the page (what VS Code's notebook webview relies on), on the client's dark
theme the Explorer keeps its own light surface (its labels, legends and placeholders legible), and
the page logs no console error beyond those the client logs for a plain notebook without widgets.
Screenshots: ``test-artifacts/browser/clients_<client>_*.png``.
"""
from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import client_harness as C
import explorer_probe
import lab_harness as H
from test_browser_explorer import (_info, _info_range, assert_shows_value, canvas_box, cell_centre,
                                   heatmap_attrs, set_filter, settle)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

QUICKSTART = H.REPO_ROOT / "notebooks" / "quickstart.ipynb"
EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER_CANVAS = 'canvas[data-amumo="scatter-canvas"]'
#: the scatter's modality colours (components/scatter.js: images blue, texts orange)
IMAGE_RGB, TEXT_RGB = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)


# -- what the quickstart shows, computed in the test process -----------------------------------

@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clients-cache")


@pytest.fixture(scope="module")
def quickstart_embeddings(shared_cache) -> dict:
    """The quickstart's ``embeddings`` dict (model name -> Embeddings), made by running its code
    cells up to the Explorer in this process with the shared cache (the servers then load these
    vectors from disk instead of encoding again)."""
    import nbformat

    nb = nbformat.read(str(QUICKSTART), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "Explorer(" in cells[-1], "the quickstart's last code cell should build the Explorer"
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMUMO_NG_CACHE", str(shared_cache))
        for source in cells[:-1]:
            exec(compile(source, "quickstart", "exec"), namespace)  # noqa: S102 - our own notebook
    embeddings = namespace["embeddings"]
    assert isinstance(embeddings, dict) and embeddings, embeddings
    return embeddings


def unit_rows(emb) -> np.ndarray:
    """[2n, d] float64: the unit image vectors of pairs 0..n-1, then the unit text vectors."""
    stacked = np.vstack([np.asarray(emb.image, np.float64), np.asarray(emb.text, np.float64)])
    return stacked / np.linalg.norm(stacked, axis=1, keepdims=True)


def filter_word(captions: list[str]) -> str:
    """A word of more than 3 letters in about a fifth of the captions (ties: alphabetical)."""
    words = Counter(w for c in captions for w in set(re.findall(r"[a-z]+", c.lower())) if len(w) > 3)
    return min(words, key=lambda w: (abs(words[w] - len(captions) / 5), w))


def rgb(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def near(pixels: np.ndarray, colour, tol: int = 40) -> int:
    """How many pixels are within ``tol`` (per channel) of ``colour``."""
    return int((np.abs(pixels - np.asarray(colour)).max(axis=2) <= tol).sum())


# -- the two clients -----------------------------------------------------------------------------

class ClientPage:
    """One client's page with the quickstart's Explorer on it."""

    def __init__(self, client, server, page, problems, baseline, facts):
        self.client, self.server, self.page = client, server, page
        self.problems, self.baseline, self.facts = problems, baseline, facts
        self.warnings: list[str] = []


def _baseline_problems(browser, server, client: str) -> list[str]:
    """Console problems of the client's own page for a notebook without widgets."""
    page = browser.context.new_page()
    problems = H.watch_problems(page)
    try:
        if client == "notebook7":
            C.open_in_notebook7(page, server, "plain.ipynb")
            H.run_all_cells(page, timeout_ms=60_000)
        else:
            C.open_in_voila(page, server, "plain.ipynb")
            page.wait_for_selector("text=plain-notebook-ran", timeout=60_000)
        page.wait_for_timeout(1500)
    finally:
        page.close()
    return problems


@pytest.fixture(scope="module", params=["notebook7", "voila"])
def client_page(request, browser, quickstart_embeddings, shared_cache, tmp_path_factory):
    client = request.param
    folder = tmp_path_factory.mktemp(client)
    plain = folder / "plain.ipynb"
    H.write_notebook(plain, ['print("plain-notebook-ran")'])
    if client == "notebook7":
        quick = folder / "quickstart_under_test.ipynb"
        explorer_probe.append_probe_cells(QUICKSTART, quick)
    else:
        quick = QUICKSTART
    server = C.start_client("notebook" if client == "notebook7" else "voila",
                            {"quickstart.ipynb": quick, "plain.ipynb": plain}, cache_dir=shared_cache)
    try:
        baseline = _baseline_problems(browser, server, client)
        page = browser.context.new_page()
        problems = H.watch_problems(page)
        facts = None
        try:
            if client == "notebook7":
                C.open_in_notebook7(page, server, "quickstart.ipynb")
                H.run_all_cells(page, timeout_ms=300_000)
                errors = H.cell_errors(page)
                assert not errors, "cells raised errors:\n" + "\n".join(errors)
                assert H.unexecuted_cells(page) == 0, "Run All did not run every cell"
                lines = H.markers_in_outputs(page, explorer_probe.FACTS_PREFIX)
                assert len(lines) == 1, f"the probe printed {len(lines)} fact lines"
                facts = json.loads(lines[0])
            else:
                C.open_in_voila(page, server, "quickstart.ipynb")
                errors = C.voila_errors(page)
                assert not errors, "Voilà shows errors:\n" + "\n".join(errors)
            page.wait_for_selector(EXPLORER, timeout=120_000)
        finally:
            H.save_screenshot(page, f"clients_{client}_00_page")
        yield ClientPage(client, server, page, problems, baseline, facts)
        page.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shown(client_page, quickstart_embeddings):
    """(page, the Embeddings of the model the Explorer shows, its captions, unit rows), once the
    Explorer drew every row of that model."""
    page = client_page.page
    model = page.locator('select[data-amumo="model"]').input_value()
    assert model in quickstart_embeddings, (model, list(quickstart_embeddings))
    emb = quickstart_embeddings[model]
    n = len(emb.meta)
    H.wait_explorer_drawn(page.locator(EXPLORER), n, timeout_ms=120_000)
    return page, emb, [str(c) for c in emb.meta["caption"]], unit_rows(emb)


# -- the tests ----------------------------------------------------------------------------------

def test_explorer_paints_and_fits_the_output(client_page, shown):
    page, emb, captions, unit = shown
    n = len(captions)
    attrs = heatmap_attrs(page)
    assert int(attrs["n"]) == n and int(attrs["rows"]) == 2 * n, attrs
    assert (page.text_content('[data-amumo="filter-count"]') or "").startswith(f"{n} of {n} pairs")
    settle(page, 800)
    heat = rgb(page.locator(HEATMAP_CANVAS).screenshot())
    # every cell painted: nothing left of the canvas's empty background (#eee), many colours
    assert near(heat, (0xEE, 0xEE, 0xEE), tol=2) < 0.01 * heat.shape[0] * heat.shape[1]
    assert len(np.unique(heat.reshape(-1, 3), axis=0)) > 100
    page.locator(SCATTER_CANVAS).scroll_into_view_if_needed()
    scatter = rgb(page.locator(SCATTER_CANVAS).screenshot())
    # both modalities' points drawn by WebGL
    assert near(scatter, IMAGE_RGB) > 200 and near(scatter, TEXT_RGB) > 200, (
        near(scatter, IMAGE_RGB), near(scatter, TEXT_RGB))
    # the layout follows the client's output width: nothing sticks out or needs a scrollbar
    fit = page.eval_on_selector(EXPLORER, """el => {
        const out = el.closest('.jp-OutputArea-output') || el.parentElement;
        const r = el.getBoundingClientRect(), o = out.getBoundingClientRect();
        return {right: r.right, outRight: o.right, scroll: el.scrollWidth, client: el.clientWidth,
                size: +el.getAttribute('data-view-size')}; }""")
    assert fit["right"] <= fit["outRight"] + 1 and fit["scroll"] <= fit["client"] + 1, fit
    assert fit["size"] >= 220, fit  # two views side by side, not squeezed
    H.save_screenshot(page.locator(EXPLORER), f"clients_{client_page.client}_01_explorer")


def test_hover_shows_the_exact_value(client_page, shown):
    page, emb, captions, unit = shown
    n = len(captions)
    i, j = 3, 11  # image 3 against text 11: row 3, column n + 11
    box = canvas_box(page)
    x, y = cell_centre(box, 2 * n, i, n + j)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-amumo=\"hover-caption\"]')]"
        ".map(e => e.textContent).includes(want)", arg=captions[i], timeout=15_000)
    page.wait_for_function(
        "() => /cos = -?[0-9]/.test(document.querySelector('[data-amumo=\"hover-value\"]')?.textContent || '')",
        timeout=15_000)
    row = int(page.get_attribute(HEATMAP, "data-hover-row"))
    col = int(page.get_attribute(HEATMAP, "data-hover-col"))
    assert (row, col) == (i, n + j), (row, col)
    shown_captions = page.eval_on_selector_all('[data-amumo="hover-caption"]', "els => els.map(e => e.textContent)")
    assert captions[i] in shown_captions and captions[j] in shown_captions, shown_captions
    text = page.text_content('[data-amumo="hover-value"]')
    assert f"row {i}, col {n + j}" in text, text
    expected = float(unit[i] @ unit[n + j])
    assert_shows_value(text, expected)
    if client_page.facts is not None:  # Notebook 7: the kernel's own numpy agrees
        assert client_page.facts["n"] == n and client_page.facts["captions"] == captions
        assert abs(client_page.facts["cross"][i][j] - expected) < 1e-6
        assert_shows_value(text, client_page.facts["cross"][i][j])
    H.save_screenshot(page.locator(EXPLORER), f"clients_{client_page.client}_02_hover")
    page.mouse.move(1, 1)


def test_typing_a_filter_shows_fewer_pairs(client_page, shown):
    page, emb, captions, unit = shown
    n = len(captions)
    word = filter_word(captions)
    k = sum(word in c.lower() for c in captions)
    assert 0 < k < n, (word, k)
    set_filter(page, word, n, expected_k=k)
    page.wait_for_function(
        "([s, k]) => document.querySelector(s)?.getAttribute('data-rows') === String(2 * k)",
        arg=[HEATMAP, k], timeout=60_000)
    attrs = heatmap_attrs(page)
    assert int(attrs["n"]) == k and int(attrs["rows"]) == 2 * k, attrs
    # the first drawn row is now the image of the first pair whose caption has the word
    first = next(p for p, c in enumerate(captions) if word in c.lower())
    box = canvas_box(page)
    x, y = cell_centre(box, 2 * k, 0, k)
    page.mouse.move(x - 10, y - 10)
    page.mouse.move(x, y, steps=3)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-amumo=\"hover-caption\"]')]"
        ".map(e => e.textContent).includes(want)", arg=captions[first], timeout=15_000)
    text = page.text_content('[data-amumo="hover-value"]')
    assert_shows_value(text, float(unit[first] @ unit[n + first]))
    H.save_screenshot(page.locator(EXPLORER), f"clients_{client_page.client}_03_filtered")
    page.mouse.move(1, 1)
    set_filter(page, "", n, expected_k=n)
    page.wait_for_function(
        "([s, n]) => document.querySelector(s)?.getAttribute('data-rows') === String(2 * n)",
        arg=[HEATMAP, n], timeout=60_000)


def _scroll_positions(page, selector: str) -> list[float]:
    """window.scrollY and the scrollTop of every ancestor of ``selector``'s element."""
    return page.eval_on_selector(selector, """el => {
        const out = [window.scrollY];
        for (let e = el.parentElement; e; e = e.parentElement) out.push(e.scrollTop);
        return out; }""")


def test_wheel_over_a_view_zooms_it_and_leaves_the_page_where_it_is(client_page, shown):
    page, emb, captions, unit = shown
    n = len(captions)
    page.locator(HEATMAP_CANVAS).scroll_into_view_if_needed()
    before = _scroll_positions(page, HEATMAP_CANVAS)
    box = canvas_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    for _ in range(6):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(40)
    page.wait_for_function(
        "([s, n]) => +document.querySelector(s)?.getAttribute('data-rows') < 2 * n",
        arg=[HEATMAP, n], timeout=30_000)
    r0, r1, c0, c1 = _info_range(_info(page))
    assert r1 - r0 + 1 < 2 * n, _info(page)
    settle(page)
    assert _scroll_positions(page, HEATMAP_CANVAS) == before, "a wheel that zoomed the heatmap also scrolled the page"
    scatter = page.locator(SCATTER_CANVAS)
    sbox = scatter.bounding_box()
    page.mouse.move(sbox["x"] + sbox["width"] / 2, sbox["y"] + sbox["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(40)
    settle(page)
    assert _scroll_positions(page, HEATMAP_CANVAS) == before, "a wheel that zoomed the scatter also scrolled the page"
    H.save_screenshot(page.locator(EXPLORER), f"clients_{client_page.client}_04_wheel_zoomed")
    page.mouse.dblclick(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.wait_for_function(
        "([s, n]) => document.querySelector(s)?.getAttribute('data-rows') === String(2 * n)",
        arg=[HEATMAP, n], timeout=30_000)
    # the control: over the Explorer's controls (no view there) the same wheel scrolls the page
    controls = page.locator('[data-amumo="controls"]').bounding_box()
    page.mouse.move(controls["x"] + 3, controls["y"] + 3)
    page.mouse.wheel(0, -300)
    settle(page)
    assert _scroll_positions(page, HEATMAP_CANVAS) != before, "the page did not scroll at all: no control"


#: text parts of the Explorer that must stay readable on any host: axis titles, the colour ramp's
#: legend, the pair count, the scatter's legend
TEXT_PARTS = ('.amumo-axis', '.amumo-legend', '[data-amumo="filter-count"]', '.amumo-scatter-legend')


def _luminance(png: bytes) -> np.ndarray:
    px = rgb(png)
    return 0.299 * px[..., 0] + 0.587 * px[..., 1] + 0.114 * px[..., 2]


def _host_background(page) -> list[int]:
    """RGB of the first opaque background behind the Explorer (its ancestors, then the body)."""
    return page.eval_on_selector(EXPLORER, """el => {
        for (let e = el.parentElement; e; e = e.parentElement) {
            const m = getComputedStyle(e).backgroundColor.match(/[0-9.]+/g).map(Number);
            if (m.length < 4 || m[3] > 0.5) return m.slice(0, 3);
        }
        return [255, 255, 255]; }""")


def test_on_a_dark_theme_the_explorer_keeps_its_light_surface(client_page, shown):
    page, emb, captions, unit = shown
    n = len(captions)
    if client_page.client == "notebook7":
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        dark = page
    else:  # Voilà: the page of the same notebook in its dark theme (a new kernel runs it)
        dark = page.context.new_page()
        dark.goto(client_page.server.url("voila/render/quickstart.ipynb?theme=dark"), wait_until="load",
                  timeout=300_000)
        H.wait_explorer_drawn(dark.locator(EXPLORER), n, timeout_ms=120_000)
    try:
        settle(dark, 800)
        host = _host_background(dark)
        assert sum(host) / 3 < 80, f"the host page is not dark: {host}"
        for part in TEXT_PARTS:
            target = dark.locator(EXPLORER).locator(part).first
            target.scroll_into_view_if_needed()
            lum = _luminance(target.screenshot())
            # a light surface (the median pixel) with dark ink on it
            assert np.median(lum) > 200 and lum.min() < 110, (part, float(np.median(lum)), float(lum.min()))
        # the filter box's placeholder against the box (the host theme styles ::placeholder too)
        colours = dark.eval_on_selector('input[data-amumo="filter-input"]', """e => [
            getComputedStyle(e, '::placeholder').color, getComputedStyle(e).backgroundColor]""")
        ink, paper = ([float(v) for v in re.findall(r"[0-9.]+", c)[:3]] for c in colours)
        contrast = abs(np.dot(paper, [0.299, 0.587, 0.114]) - np.dot(ink, [0.299, 0.587, 0.114]))
        assert contrast > 100, colours
        H.save_screenshot(dark.locator(EXPLORER), f"clients_{client_page.client}_05_dark_theme")
    finally:
        if dark is page:
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)
        else:
            dark.close()


def test_no_console_errors_beyond_the_clients_own(client_page, shown):
    def norm(lines):
        return {re.sub(r"127\.0\.0\.1:\d+", "HOST", l) for l in lines}
    own = norm(client_page.baseline)
    extra = sorted(norm(client_page.problems) - own)
    assert not extra, f"{client_page.client}: the Explorer page logged errors a plain notebook does not:\n" + \
        "\n".join(extra)
