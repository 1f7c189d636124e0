"""The Explorer at 100,000 pairs, in the real browser: it paints, hover values are exact, the filter
and the clustering work, and the kernel never allocates anything of n×n size.

JupyterLab + headless Debian chromium + Playwright. The notebook (written here) builds 100,000
synthetic pairs (d = 32, 12 clusters), traces the kernel's allocations (tracemalloc, which numpy
reports to) while the Explorer is built and its gap readout computed, and prints the peak. A bound
computed from n and d (a few n·d float32 copies plus slack) is asserted: one n×n float32 matrix
would be 40 GB, a single 2n×2n block-mean pass 160 GB. Expected values are computed by numpy in the
kernel (exact dot products of the stacked unit rows the page names) and compared with the page.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import lab_harness as H

pytestmark = pytest.mark.browser

N, D = 100_000, 32
NOTEBOOK = "scale_under_test.ipynb"
SETUP, SHOW, PEAK, VALUE, FILTERED = ("# scale: setup", "# scale: show", "# scale: peak", "# scale: value",
                                      "# scale: filtered")

SETUP_CELL = SETUP + f'''
import json, tracemalloc, numpy as np, amumo_ng
from amumo_ng.store.embeddings import Embeddings
n, d = {N}, {D}
rng = np.random.default_rng(11)
centres = rng.normal(size=(12, d)).astype(np.float32)
lab = rng.integers(0, 12, n)
image = centres[lab] + 0.7 * rng.standard_normal((n, d), dtype=np.float32) + 0.6
text = centres[lab] + 0.7 * rng.standard_normal((n, d), dtype=np.float32) - 0.6
emb = Embeddings.from_arrays(image, text, captions=[f"pair {{i}} group {{g}}" for i, g in enumerate(lab)])
unit = lambda a: np.asarray(a, np.float64) / np.linalg.norm(a, axis=1, keepdims=True)
print("SCALE_READY")'''

SHOW_CELL = SHOW + '''
tracemalloc.start()
ex = amumo_ng.Explorer(emb, title="100k pairs")
display(ex)'''

PEAK_CELL = PEAK + '''
readout = ex.wait_readout(600)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print("SCALE_PEAK=" + json.dumps({"peak": peak, "readout": {k: v for k, v in readout.items() if k != "stage"}}))'''

VALUE_CELL = VALUE + '''
def stacked(rows, order):
    k = len(order)
    return np.stack([unit(image)[order[r]] if r < k else unit(text)[order[r - k]] for r in rows])
_order = np.frombuffer(ex.order, np.int32)
_r, _c = int(HOVER_ROW), int(HOVER_COL)
print("SCALE_VALUE=" + json.dumps({"value": float(stacked([_r], _order)[0] @ stacked([_c], _order)[0]),
                                  "k": len(_order)}))'''

FILTERED_CELL = FILTERED + '''
_o = np.frombuffer(ex.order, np.int32)
print("SCALE_FILTERED=" + json.dumps({"n_view": ex.n_view, "order_pairs": sorted(set(_o.tolist())) == sorted(
    i for i, c in enumerate(emb.captions) if ex.filter_pattern in c), "bounds": ex.cluster_bounds,
    "matches": sum(ex.filter_pattern in c for c in emb.captions)}))'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
SCATTER = '[data-amumo="scatter"]'


def printed(page, marker: str, prefix: str, timeout_ms: int = 600_000) -> dict:
    out = H.run_cell_containing(page, marker, timeout_ms=timeout_ms)
    lines = [l for l in out.splitlines() if l.startswith(prefix)]
    assert lines, f"{marker}: no {prefix} line in the output:\n{out[-2000:]}"
    return json.loads(lines[0][len(prefix):])


@pytest.fixture(scope="module")
def scale_page(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, PEAK_CELL, VALUE_CELL, FILTERED_CELL))
    page = browser.context.new_page()
    H.open_notebook(page, lab_server, NOTEBOOK)
    assert "SCALE_READY" in H.run_cell_containing(page, SETUP, timeout_ms=300_000)
    H.run_cell_containing(page, SHOW, timeout_ms=300_000)
    explorer = H.code_cell(page, SHOW).locator(EXPLORER)
    page.wait_for_function(
        "([h, s, m]) => document.querySelector(h)?.getAttribute('data-rows') > 0"
        " && document.querySelector(s)?.getAttribute('data-points') === m",
        arg=[HEATMAP, SCATTER, str(2 * N)], timeout=300_000)
    yield page, explorer
    page.close()


def test_explorer_of_100k_pairs_paints_with_bounded_kernel_memory(scale_page):
    page, explorer = scale_page
    assert page.get_attribute(HEATMAP, "data-n") == str(N)
    rows = int(page.get_attribute(HEATMAP, "data-rows"))
    assert 2 <= rows <= 1024  # block means on the grid: the browser gets what it can draw
    assert page.get_attribute(SCATTER, "data-points") == str(2 * N)
    # pair lines are on by default up to 100k pairs (straight segments on the overlay above 20k)
    page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-overlay-lines') > 0", arg=SCATTER,
                           timeout=60_000)
    assert page.get_attribute(SCATTER, "data-lines") == "overlay"
    peak = printed(page, PEAK, "SCALE_PEAK=")
    copy = N * D * 4  # one float32 [n, d] array
    bound = 8 * copy + 256 * 2**20  # unit vectors, a gap-closed batch, chunk temporaries, the views' buffers
    assert peak["peak"] < bound, (peak["peak"], bound)
    r = peak["readout"]
    assert r["n"] == N and r["loss_batch_size"] == 2048 and "pending" not in r
    assert r["distance_before"] > r["distance_after"] > 0
    page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-pending') === 'false'",
                           arg='[data-amumo="gap-readout"]', timeout=60_000)
    # the page shows the kernel's gap distance, and says it is there
    assert page.get_attribute('[data-amumo="gap-readout"]', "data-gap-ready") == "true"
    shown = page.text_content('[data-amumo="gap-readout"] tr[data-gap="open"] td[data-col="distance"]')
    assert abs(float(shown) - r["distance_before"]) <= 0.5e-4 + 1e-7, (shown, r["distance_before"])
    H.save_screenshot(explorer, "scale_01_100k")


def test_hover_at_100k_gives_the_exact_value_of_the_cell_it_names(scale_page):
    page, _ = scale_page
    canvas = page.locator('canvas[data-amumo="heatmap-canvas"]')
    canvas.evaluate("c => c.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    # the scatter's 100k pair lines lie on a layer of their own: a hover rings the pair on the
    # layer above and leaves the lines alone (restroking them took ~400 ms a hover)
    line_draws = page.get_attribute(SCATTER, "data-line-layer-draws")
    page.mouse.move(box["x"] + 0.73 * box["width"], box["y"] + 0.21 * box["height"], steps=3)
    value_sel = '[data-amumo="hover-value"]'
    page.wait_for_function("s => /cos = -?[0-9]/.test(document.querySelector(s)?.textContent || '')",
                           arg=value_sel, timeout=30_000)
    row = int(page.get_attribute(HEATMAP, "data-hover-row"))
    col = int(page.get_attribute(HEATMAP, "data-hover-col"))
    assert row < N <= col  # image row, text column: a cross-modal cell
    ring = page.get_attribute(SCATTER, "data-hover-ring")
    assert ring and len(ring.split(",")) == 2  # the row's image and the column's text point
    assert page.get_attribute(SCATTER, "data-line-layer-draws") == line_draws
    assert int(page.get_attribute(SCATTER, "data-overlay-lines")) == N  # and the lines are still there
    text = page.text_content(value_sel)
    page.mouse.move(1, 1)
    out = run_source(page, VALUE_CELL.replace("HOVER_ROW", str(row)).replace("HOVER_COL", str(col)), "SCALE_VALUE=")
    assert out["k"] == N
    number = text.split("=")[1].split()[0]
    decimals = len(number.split(".")[1]) if "." in number else 0
    assert abs(float(number) - out["value"]) <= 0.5 * 10 ** -decimals + 1e-6, (text, out)


def run_source(page, source: str, prefix: str) -> dict:
    """Replace the value cell's source (through JupyterLab's shared model), run it, parse ``prefix``."""
    page.evaluate("""([marker, src]) => {
        const cells = window.jupyterapp.shell.currentWidget.content.widgets;
        const cell = cells.find(c => c.model.sharedModel.getSource().startsWith(marker));
        cell.model.sharedModel.setSource(src); }""", [VALUE, source])
    return printed(page, VALUE, prefix)


def test_filter_and_clustering_work_at_100k(scale_page):
    page, explorer = scale_page
    box = explorer.locator('[data-amumo="filter-input"]')
    box.fill("group 7")
    page.wait_for_function("([s, n]) => { const v = document.querySelector(s)?.getAttribute('data-n');"
                           " return v && v !== n; }", arg=[HEATMAP, str(N)], timeout=120_000)
    order0 = page.get_attribute(HEATMAP, "data-order")
    explorer.locator('[data-amumo="cluster-toggle"]').check()
    page.wait_for_function("([s, o]) => { const h = document.querySelector(s);"
                           " return h.getAttribute('data-order') !== o && h.getAttribute('data-busy') !== 'true'; }",
                           arg=[HEATMAP, order0], timeout=300_000)
    facts = printed(page, FILTERED, "SCALE_FILTERED=")
    assert facts["n_view"] == facts["matches"] == int(page.get_attribute(HEATMAP, "data-n"))
    assert facts["order_pairs"]  # the clustered order holds exactly the filtered pairs
    assert len(facts["bounds"]) >= 3 and facts["bounds"][-1] == facts["n_view"]
    H.save_screenshot(explorer, "scale_02_filtered_clustered")
