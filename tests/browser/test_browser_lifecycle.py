"""Browser code cleans up after itself: JupyterLab + headless Debian chromium + Playwright.

One small notebook (written here, next to the quickstart in the shared server's root) shows an
Explorer of two synthetic models (40 and 24 pairs) on a 16-cell grid without view vectors, so
every hover value and every zoom region is a kernel request. The tests

- display and destroy an Explorer 20 times (re-running the display cell, which clears its output
  and closes the previous widget, and every fourth time ``explorer.close()`` while it is shown),
  with hovers, thumbnails and kernel requests still pending at destroy time, then hover and zoom the
  last one: no page errors, exact values against numpy, and the live counts of the views
  (``globalThis.__amumoNgLiveCounts()``, see DOM_CONTRACT.md) and the real window/document
  listeners (from the DevTools protocol) back at their baselines;
- release a heatmap box drag and a scatter lasso outside the canvas (on another element and past
  the edge of the window): the drag ends, no box stays drawn, nothing stays attached;
- switch models while the kernel holds the new model's points back for 4 s (it has sent the new
  pairs and n_total already): the scatter never draws one model's points with the other's count
  (``data-points`` / ``data-points-model`` / ``data-stale``), and the model dropdown follows a
  change of the ``models`` trait.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOK = "lifecycle_under_test.ipynb"
FACTS_PREFIX = "LIFECYCLE_FACTS="
SETUP_MARKER = "# amumo-lifecycle: setup"
SHOW_MARKER = "# amumo-lifecycle: show"
CLOSE_MARKER = "# amumo-lifecycle: close"
SLOW_VALUES_MARKER = "# amumo-lifecycle: slow values"
SLOW_POINTS_MARKER = "# amumo-lifecycle: slow points"
ADD_MODEL_MARKER = "# amumo-lifecycle: add model"
N_A, N_B = 40, 24

SETUP_CELL = SETUP_MARKER + f'''
import json, time
import numpy as np
import amumo_ng
from amumo_ng.datasets.shapes import ShapesDataset
from amumo_ng.store.embeddings import Embeddings
n, d = {N_A}, 16
ds = ShapesDataset(n=n, seed=0)
rng = np.random.default_rng(0)
image = rng.normal(size=(n, d))
text = image + 0.8 * rng.normal(size=(n, d)) + 1.0
emb_a = Embeddings.from_arrays(image, text, meta=ds.meta, images=ds, model_id="A")
emb_b = Embeddings.from_arrays(image + 0.5 * rng.normal(size=(n, d)), text, meta=ds.meta, images=ds,
                               model_id="B").subset(list(range({N_B})))
unit = lambda a: np.asarray(a, np.float64) / np.linalg.norm(a, axis=1, keepdims=True)
shown = 0
print("{FACTS_PREFIX}" + json.dumps({{"cross": np.round(unit(image) @ unit(text).T, 7).tolist()}}))'''

SHOW_CELL = SHOW_MARKER + '''
if "ex" in globals():
    ex.close()  # the previous Explorer (its output is cleared by this run anyway)
shown += 1
ex = amumo_ng.Explorer({"model A": emb_a, "model B": emb_b}, title=f"lifecycle {shown}", grid=16)
ex.vector_budget = 0  # no view vectors: hover values are kernel requests
display(ex)'''

CLOSE_CELL = CLOSE_MARKER + '''
ex.close()
print("LIFECYCLE_CLOSED", shown)'''

SLOW_VALUES_CELL = SLOW_VALUES_MARKER + '''
def _slow_value(content, _ex=ex, _handle=type(ex).handle_value):
    time.sleep(1.5)
    return _handle(_ex, content)
ex.handle_value = _slow_value
print("LIFECYCLE_SLOW_VALUES", shown)'''

SLOW_POINTS_CELL = SLOW_POINTS_MARKER + '''
def _slow_show(projection, _ex=ex, _show=type(ex)._show):
    time.sleep(4)  # the points leave 4 s after the new model's pairs and n_total
    return _show(_ex, projection)
ex._show = _slow_show
print("LIFECYCLE_SLOW_POINTS", shown)'''

ADD_MODEL_CELL = ADD_MODEL_MARKER + '''
ex.session.add_model("model C", emb_a.subset(list(range(12))))
ex.models = list(ex.session.models)
print("LIFECYCLE_MODELS", ex.models)'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
VALUE = '[data-amumo="hover-value"]'
ZERO = {"views": 0, "listeners": 0, "modelListeners": 0, "bus": 0, "requests": 0, "objectURLs": 0, "webgl": 0}


def write_notebook(path) -> None:
    H.write_notebook(path, (SETUP_CELL, SHOW_CELL, CLOSE_CELL, SLOW_VALUES_CELL, SLOW_POINTS_CELL, ADD_MODEL_CELL))


class Page:
    """The lifecycle notebook's page, its console problems and a DevTools session."""

    def __init__(self, page, facts):
        self.page = page
        self.facts = facts
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.cdp = page.context.new_cdp_session(page)
        # anywidget imports each widget bundle from a blob: URL; the scripts parsed from now on
        # tell which listeners the widget code (ours and the libraries bundled) added
        self.scripts: dict[str, str] = {}
        self.cdp.on("Debugger.scriptParsed", lambda e: self.scripts.__setitem__(e["scriptId"], e.get("url") or ""))
        self.cdp.send("Debugger.enable")

    def live(self) -> dict:
        counts = self.page.evaluate(
            "() => typeof globalThis.__amumoNgLiveCounts === 'function' ? globalThis.__amumoNgLiveCounts() : null")
        return dict(ZERO) if counts is None else counts

    def widget_listeners(self) -> Counter:
        """Event listeners on window and document whose handlers come from the widget bundles, by
        target and type (DevTools protocol: every listener, regl-scatterplot's too, not only
        those the widget code counts itself). JupyterLab's own come and go with the clicks of
        the harness and are left out."""
        out = Counter()
        for target in ("window", "document"):
            obj = self.cdp.send("Runtime.evaluate", {"expression": target})["result"]["objectId"]
            try:
                for entry in self.cdp.send("DOMDebugger.getEventListeners", {"objectId": obj})["listeners"]:
                    if self.scripts.get(entry.get("scriptId"), "").startswith("blob:"):
                        out[f"{target}:{entry['type']}"] += 1
            finally:
                self.cdp.send("Runtime.releaseObject", {"objectId": obj})
        return out


@pytest.fixture(scope="module")
def lifecycle(lab_server, browser):
    write_notebook(lab_server.root / NOTEBOOK)
    page = browser.context.new_page()
    H.open_notebook(page, lab_server, NOTEBOOK)
    out = H.run_cell_containing(page, SETUP_MARKER, timeout_ms=180_000)
    line = next(l for l in out.splitlines() if l.startswith(FACTS_PREFIX))
    lp = Page(page, json.loads(line[len(FACTS_PREFIX):]))
    page.on("console", lambda m: (lp.problems if m.type == "error" else lp.warnings if m.type == "warning" else [])
            .append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: lp.problems.append(f"pageerror: {e}"))
    yield lp
    page.close()




# -- helpers -------------------------------------------------------------------------------------

def cell(page, marker):
    return H.code_cell(page, marker)


def show(lp: Page) -> object:
    """Run the display cell; returns the new Explorer's locator once heatmap and scatter are drawn."""
    H.run_cell_containing(lp.page, SHOW_MARKER)
    explorer = cell(lp.page, SHOW_MARKER).locator(EXPLORER)
    explorer.wait_for(timeout=60_000)
    explorer.locator(HEATMAP + '[data-rows="16"]').wait_for(timeout=60_000)
    explorer.locator(SCATTER + f'[data-points="{2 * N_A}"][data-busy="false"]').wait_for(timeout=60_000)
    assert lp.page.locator(EXPLORER).count() == 1
    return explorer


def close_shown(lp: Page) -> None:
    """``ex.close()`` while the Explorer is displayed: its view goes."""
    out = H.run_cell_containing(lp.page, CLOSE_MARKER)
    assert "LIFECYCLE_CLOSED" in out, out
    lp.page.locator(EXPLORER).first.wait_for(state="detached", timeout=30_000)


def quiet(lp: Page, ms: int = 400) -> None:
    """Let replies on their way arrive and two animation frames pass."""
    H.quiet(lp.page, ms)


def wait_live(lp: Page, want: dict, timeout_s: float = 10.0) -> dict:
    """Poll the live counts until they equal ``want``; returns the last counts."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = lp.live()
        if now == want or time.monotonic() > deadline:
            return now
        lp.page.wait_for_timeout(100)


def canvas_box(explorer) -> dict:
    return H.settled_box(explorer.locator(HEATMAP_CANVAS))


def hover_cell(lp: Page, explorer, rows: int, r: int, c: int) -> None:
    box = canvas_box(explorer)
    x = box["x"] + (c + 0.5) * box["width"] / rows
    y = box["y"] + (r + 0.5) * box["height"] / rows
    lp.page.mouse.move(x - 15, y - 15)
    lp.page.mouse.move(x, y, steps=3)


def shown_value(explorer, timeout_s: float = 15.0) -> str:
    """The hover panel's value line once it shows an exact value ("cos = x (…)")."""
    el = explorer.locator(VALUE)
    deadline = time.monotonic() + timeout_s
    while not re.search(r"cos = -?[0-9]", el.text_content() or ""):
        assert time.monotonic() < deadline, el.text_content()
        explorer.page.wait_for_timeout(50)
    return el.text_content()


def assert_value(text: str, expected: float) -> None:
    m = re.search(r"cos = (-?\d+\.(\d+))", text)
    assert m, text
    assert abs(float(m.group(1)) - expected) <= 0.5 * 10 ** -len(m.group(2)) + 2e-6, (text, expected)


def hovered_value_matches(lp: Page, explorer) -> None:
    """Hover a block-mean cell; the panel ends on the kernel's exact value of the cell it resolved."""
    hover_cell(lp, explorer, 16, 1, 12)  # image rows x text cols
    text = shown_value(explorer)
    row = int(explorer.locator(HEATMAP).get_attribute("data-hover-row"))
    col = int(explorer.locator(HEATMAP).get_attribute("data-hover-col"))
    assert row < N_A <= col and f"row {row}, col {col}" in text, (row, col, text)
    assert_value(text, lp.facts["cross"][row][col - N_A])
    assert explorer.locator(HEATMAP).get_attribute("data-value-requests"), "the value should be a kernel request"


def overlay_red_pixels(explorer) -> int:
    """Pixels of the heatmap's zoom-box overlay in the zoom box's colour (#e00) (the prompt/path marks
    canvas, data-amumo="heatmap-marks", is another overlay)."""
    return explorer.locator(f"{HEATMAP} canvas.amumo-overlay:not([data-amumo])").evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let k = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 40 && d[i + 2] < 40 && d[i + 3] > 100) k++;
        return k; }""")


def info_range(explorer) -> tuple[int, ...]:
    text = explorer.locator('[data-amumo="heatmap-info"]').text_content() or ""
    m = re.search(r"rows (\d+)–(\d+), cols (\d+)–(\d+)", text)
    assert m, text
    return tuple(int(g) for g in m.groups())


def no_problems(lp: Page) -> None:
    assert not lp.problems, "\n".join(lp.problems)
    lost = [w for w in lp.warnings if "Too many active WebGL contexts" in w]
    assert not lost, "\n".join(lost)


# -- the tests -----------------------------------------------------------------------------------

def test_twenty_explorers_shown_and_destroyed_leave_nothing_behind(lifecycle):
    lp = lifecycle
    page = lp.page
    page.mouse.move(1, 1)
    assert not lp.widget_listeners()
    explorer = show(lp)
    quiet(lp)
    baseline = lp.live()
    listeners_one = lp.widget_listeners()
    assert listeners_one["window:mousemove"] >= 1, listeners_one  # regl-scatterplot's, while it lives
    assert baseline["views"] == 1 and baseline["webgl"] == 1 and baseline["bus"] >= 3, baseline
    assert baseline["requests"] == 0 and baseline["objectURLs"] == 0, baseline
    H.save_screenshot(explorer, "30_lifecycle_first")

    for i in range(2, 21):
        if i % 4 == 0:  # close while shown: the view goes with its model
            close_shown(lp)
            assert wait_live(lp, ZERO) == ZERO, (i, lp.live())
        explorer = show(lp)
        if i == 20:  # the last one stays as fresh as the first was at the baseline
            break
        if i % 3 == 0:  # a hover: a kernel value request and two thumbnails (object URLs)
            hovered_value_matches(lp, explorer)
            explorer.locator('img[data-amumo="hover-thumb"]').first.wait_for(timeout=15_000)
            assert lp.live()["objectURLs"] >= 1
            page.mouse.move(1, 1)
        elif i % 5 == 0:  # destroyed with a value request still waiting for the (slow) kernel
            H.run_cell_containing(page, SLOW_VALUES_MARKER)
            explorer.locator(HEATMAP + '[data-rows="16"]').wait_for(timeout=30_000)
            hover_cell(lp, explorer, 16, 2, 9)
            page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-pending') === 'true'",
                                   arg=VALUE, timeout=10_000)
            assert lp.live()["requests"] >= 1, lp.live()
            page.mouse.move(1, 1)
    quiet(lp)
    assert wait_live(lp, baseline) == baseline, (baseline, lp.live())
    assert lp.widget_listeners() == listeners_one, (listeners_one, lp.widget_listeners())

    # the 20th Explorer works: the kernel's exact value of a block-mean cell...
    explorer.locator(".amumo-title", has_text="lifecycle 20").wait_for(timeout=10_000)
    hovered_value_matches(lp, explorer)
    # ...and a wheel zoom fetches an exact region whose hovered values match numpy
    box = canvas_box(explorer)
    x, y = box["x"] + (N_A + 6.5) / (2 * N_A) * box["width"], box["y"] + 6.5 / (2 * N_A) * box["height"]
    page.mouse.move(x, y)
    for _ in range(8):  # 80 rows / 1.3**8 < 10 rows: under the 16-cell grid, exact
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(40)
    explorer.locator('[data-amumo="heatmap-info"]', has_text="exact values").wait_for(timeout=30_000)
    r0, r1, c0, c1 = info_range(explorer)
    assert r1 - r0 < 16 and r0 <= 6 <= r1 and c0 <= N_A + 6 <= c1, (r0, r1, c0, c1)
    page.mouse.move(x + 3, y + 3, steps=2)
    text = shown_value(explorer)
    row = int(explorer.locator(HEATMAP).get_attribute("data-hover-row"))
    col = int(explorer.locator(HEATMAP).get_attribute("data-hover-col"))
    assert r0 <= row <= r1 and c0 <= col <= c1 and f"row {row}, col {col}" in text, (row, col, text)
    assert_value(text, lp.facts["cross"][row][col - N_A])
    H.save_screenshot(explorer, "31_lifecycle_last_zoomed")
    page.mouse.move(1, 1)
    quiet(lp)
    assert lp.live()["requests"] == 0, lp.live()

    close_shown(lp)
    assert wait_live(lp, ZERO) == ZERO, lp.live()
    assert not lp.widget_listeners(), lp.widget_listeners()
    no_problems(lp)


def test_drags_released_outside_the_canvas_end_and_leave_nothing_attached(lifecycle):
    lp = lifecycle
    page = lp.page
    explorer = show(lp)
    quiet(lp)
    counts = lp.live()
    listeners = lp.widget_listeners()
    heat = explorer.locator(HEATMAP)
    viewport = page.viewport_size

    # a box from the top-left quarter of the heatmap, released over the hover panel
    box = canvas_box(explorer)
    panel = explorer.locator('[data-amumo="hover-panel"]').bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=4)
    assert heat.get_attribute("data-box") == "true" and overlay_red_pixels(explorer) > 0
    px, py = panel["x"] + panel["width"] / 2, panel["y"] + panel["height"] / 2
    assert not (box["x"] <= px <= box["x"] + box["width"] and box["y"] <= py <= box["y"] + box["height"])
    page.mouse.move(px, py, steps=4)
    assert overlay_red_pixels(explorer) > 0  # still dragging, clamped to the canvas
    page.mouse.up()
    assert heat.get_attribute("data-box") is None
    explorer.locator('[data-amumo="heatmap-info"]', has_text="double-click to reset").wait_for(timeout=30_000)
    r0, r1, c0, c1 = info_range(explorer)
    # the box: from the press to the release point clamped to the canvas edges
    stacked = lambda v, lo, length: min(max(v - lo, 0.0), length) / length * 2 * N_A
    assert abs(r0 - stacked(box["y"] + 20, box["y"], box["height"])) <= 1.5, (r0, r1, c0, c1)
    assert abs(c0 - stacked(box["x"] + 20, box["x"], box["width"])) <= 1.5, (r0, r1, c0, c1)
    assert abs(r1 + 1 - stacked(py, box["y"], box["height"])) <= 1.5, (r0, r1, c0, c1, py)
    assert abs(c1 + 1 - stacked(px, box["x"], box["width"])) <= 1.5, (r0, r1, c0, c1, px)
    quiet(lp)
    assert overlay_red_pixels(explorer) == 0
    assert heat.get_attribute("data-hover-row") is None  # released elsewhere: nothing hovered
    H.save_screenshot(explorer, "32_box_released_outside")

    # a second box released past the right edge of the window; then a plain move over the canvas
    # hovers again (no box follows the pointer)
    box = canvas_box(explorer)  # (the screenshot may have scrolled the page)
    page.mouse.dblclick(box["x"] + 30, box["y"] + 30)
    explorer.locator('[data-amumo="heatmap-info"]', has_text="wheel or drag to zoom").wait_for(timeout=30_000)
    page.mouse.move(box["x"] + 30, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(viewport["width"] + 40, box["y"] + 60, steps=6)
    page.mouse.up()
    assert heat.get_attribute("data-box") is None
    explorer.locator('[data-amumo="heatmap-info"]', has_text="double-click to reset").wait_for(timeout=30_000)
    r0, r1, c0, c1 = info_range(explorer)
    assert abs(r0 - 6) <= 1.5 and abs(c0 - 6) <= 1.5 and c1 == 2 * N_A - 1, (r0, r1, c0, c1)  # to the right edge
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3, steps=3)
    page.wait_for_function("s => document.querySelector(s)?.hasAttribute('data-hover-row')", arg=HEATMAP, timeout=10_000)
    assert overlay_red_pixels(explorer) == 0
    page.mouse.move(1, 1)

    # a lasso (lasso mode) released past the edge of the window ends: regl-scatterplot reports
    # its end and a selection, and a later move over the plot draws no lasso
    scatter = explorer.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    scatter.evaluate("""el => { el.__lassoEnds = 0;
        el.amumoScatterplot.subscribe('lassoEnd', () => { el.__lassoEnds += 1; }); }""")
    explorer.locator('[data-amumo="lasso"]').click()
    sbox = scatter.bounding_box()
    cx, cy = sbox["x"] + sbox["width"] / 2, sbox["y"] + sbox["height"] / 2
    page.mouse.move(cx - 150, cy - 150)
    page.mouse.down()
    for px, py in [(cx + 150, cy - 150), (cx + 150, cy + 150), (cx - 150, cy + 150), (cx - 150, cy - 100)]:
        page.mouse.move(px, py, steps=6)
        page.wait_for_timeout(20)
    page.mouse.move(-30, cy, steps=4)  # out of the window, left
    page.mouse.up()
    page.wait_for_function("s => document.querySelector(s).__lassoEnds === 1", arg=SCATTER, timeout=10_000)
    explorer.locator('[data-amumo="selection-count"]', has_text="selected").wait_for(timeout=10_000)
    assert "no selection" not in explorer.locator('[data-amumo="selection-count"]').text_content()
    page.mouse.move(cx, cy, steps=5)
    quiet(lp)
    assert scatter.evaluate("el => el.__lassoEnds") == 1
    H.save_screenshot(explorer, "33_lasso_released_outside")
    explorer.locator('[data-amumo="lasso"]').click()
    explorer.locator('[data-amumo="selection-clear"]').click()
    page.mouse.move(1, 1)
    quiet(lp)

    now = lp.live()
    assert 0 < now.pop("objectURLs") <= 256  # the thumbnails hovered on the way, cached
    assert now == {k: v for k, v in counts.items() if k != "objectURLs"}, (counts, now)
    assert lp.widget_listeners() == listeners, (listeners, lp.widget_listeners())
    close_shown(lp)
    assert wait_live(lp, ZERO) == ZERO, lp.live()
    no_problems(lp)


def test_scatter_never_draws_one_models_points_with_anothers_count(lifecycle):
    lp = lifecycle
    page = lp.page
    explorer = show(lp)
    scatter = explorer.locator(SCATTER)
    select = explorer.locator('select[data-amumo="model"]')
    projection = explorer.locator('select[data-amumo="projection"]')
    # every state the scatter goes through: what it drew, for which model, which model is shown
    scatter.evaluate("""(el) => {
        const sel = el.closest('[data-amumo="explorer"]').querySelector('select[data-amumo="model"]');
        el.__log = [];
        const note = () => el.__log.push({points: +el.getAttribute('data-points'),
            of: el.getAttribute('data-points-model'), model: sel.value, stale: el.getAttribute('data-stale')});
        new MutationObserver(note).observe(el, {attributes: true, attributeFilter: ['data-points', 'data-points-model', 'data-stale']});
        sel.addEventListener('change', note);
        note(); }""")

    def switch_with_slow_points(name: str, points: int) -> None:
        """Choose model ``name``: the kernel sends its pairs and n_total at once, its points 4 s
        later (slow points cell). Meanwhile nothing is drawn, whatever asks for a redraw."""
        select.select_option(name)
        page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-stale') === 'true'",
                               arg=SCATTER, timeout=10_000)
        assert scatter.get_attribute("data-points") == "0"
        assert "computing" in (explorer.locator('[data-amumo="projection-status"]').text_content() or "")
        # a redraw meanwhile (the pair-lines toggle) still draws nothing of the other model
        explorer.locator('[data-amumo="lines-toggle"]').click()
        quiet(lp, 200)
        assert scatter.get_attribute("data-points") == "0" and scatter.get_attribute("data-stale") == "true"
        H.save_screenshot(explorer, f"34_scatter_computing_{name.replace(' ', '_')}")
        explorer.locator('[data-amumo="lines-toggle"]').click()
        explorer.locator(SCATTER + f'[data-points="{points}"][data-stale="false"]').wait_for(timeout=60_000)
        assert scatter.get_attribute("data-points-model") == name

    try:
        projection.select_option("joint")  # one point per pair
        explorer.locator(SCATTER + f'[data-projection="joint"][data-points="{N_A}"]').wait_for(timeout=60_000)
        projection.select_option("pca")
        explorer.locator(SCATTER + f'[data-projection="pca"][data-points="{2 * N_A}"]').wait_for(timeout=60_000)
        H.run_cell_containing(page, SLOW_POINTS_MARKER)
        switch_with_slow_points("model B", 2 * N_B)
        switch_with_slow_points("model A", 2 * N_A)
        log = scatter.evaluate("el => el.__log")
        count = {"model A": (N_A, 2 * N_A), "model B": (N_B, 2 * N_B)}
        drawn = [e for e in log if e["points"] > 0]
        assert drawn, log
        for e in drawn:  # whatever is drawn is the shown model's, with its count
            assert e["of"] == e["model"] and e["points"] in count[e["model"]], (e, log)
        assert sum(e["stale"] == "true" for e in log) >= 2, log

        # the models trait grows: the dropdown follows, keeping the model shown
        out = H.run_cell_containing(page, ADD_MODEL_MARKER)
        assert "model C" in out, out
        page.wait_for_function("s => [...document.querySelector(s).options].map(o => o.value).includes('model C')",
                               arg='select[data-amumo="model"]', timeout=10_000)
        assert select.locator("option").evaluate_all("os => os.map(o => o.value)") == ["model A", "model B", "model C"]
        assert select.input_value() == "model A"
        select.select_option("model C")
        explorer.locator('[data-amumo="filter-count"]', has_text="12 of 12 pairs").wait_for(timeout=30_000)
        explorer.locator(SCATTER + '[data-points="24"][data-points-model="model C"]').wait_for(timeout=60_000)
    finally:
        page.mouse.move(1, 1)
    close_shown(lp)
    assert wait_live(lp, ZERO) == ZERO, lp.live()
    no_problems(lp)
