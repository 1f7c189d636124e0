"""The Explorer's layout holds still and fits its container: JupyterLab + headless chromium + Playwright.

One small notebook (written here, next to the quickstart in the shared server's root) shows an
Explorer of two synthetic models (400 pairs, exact values: one heatmap pixel per cell), a
Comparison of the two, and an Explorer of one pair. The tests

- sample the boxes of the heatmap, the scatter and the hover panel while a t-SNE projection
  computes (busy overlay with progress and cancel ON the scatter), through a wheel zoom and its
  double-click reset, and through a filter and a bad regex: they never move;
- show the Comparison in a 1,000 px window (file browser open and closed): no element of either
  Explorer lies right of the notebook's output area, nothing scrolls;
- lock the colour scale (the select in the controls) and read one cell's pixel colour from the
  heatmap canvas before and after a filter (the cell of two pairs that stay in view, located
  through the ``order`` trait printed by the kernel): the same colour;
- check the honest states: a one-pair Explorer is not busy (a quiet note), a bad regex shows
  its full message (the kernel's ``filter_error``) and the count says the pattern is invalid,
  and "…" while the typed text is not applied yet;
- save screenshots at 1,000, 1,400 and 1,920 px, with and without the file browser, of the
  Explorer and of the Comparison (``test-artifacts/browser/layout_*.png``), each checked to fit.
"""
from __future__ import annotations

import re
import time

import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOK = "layout_under_test.ipynb"
FACTS_PREFIX = "LAYOUT_FACTS="
ORDER_PREFIX = "LAYOUT_ORDER="
ERROR_PREFIX = "LAYOUT_ERROR="
SETUP_MARKER = "# amumo-layout: setup"
SHOW_MARKER = "# amumo-layout: show"
COMPARE_MARKER = "# amumo-layout: comparison"
ONE_MARKER = "# amumo-layout: one pair"
ORDER_MARKER = "# amumo-layout: order"
ERROR_MARKER = "# amumo-layout: filter error"
SLOW_CLUSTER_MARKER = "# amumo-layout: slow clustering"
BANDS_PREFIX = "LAYOUT_BANDS="
BANDS_MARKER = "# amumo-layout: bands"
N = 400

SETUP_CELL = SETUP_MARKER + f'''
import json
import numpy as np
import amumo_ng
from amumo_ng.datasets.shapes import ShapesDataset
from amumo_ng.store.embeddings import Embeddings
n, d = {N}, 32
ds = ShapesDataset(n=n, seed=0)
rng = np.random.default_rng(0)
basis = rng.normal(size=(16, d))
shapes = sorted(set(ds.meta["shape"]))
latent = np.stack([basis[shapes.index(s)] for s in ds.meta["shape"]])
image = latent + 0.6 * rng.normal(size=(n, d)) + 1.2
text = latent + 0.6 * rng.normal(size=(n, d)) - 1.2
emb_a = Embeddings.from_arrays(image, text, meta=ds.meta, images=ds, model_id="A")
emb_b = Embeddings.from_arrays(image + 0.5 * rng.normal(size=(n, d)), text, meta=ds.meta, images=ds, model_id="B")
print("{FACTS_PREFIX}" + json.dumps({{"captions": [str(c) for c in emb_a.captions]}}))'''

SHOW_CELL = SHOW_MARKER + '''
ex = amumo_ng.Explorer({"model A": emb_a, "model B": emb_b}, title="layout")
display(ex)'''

COMPARE_CELL = COMPARE_MARKER + '''
cmp = amumo_ng.Explorer.compare({"model A": emb_a, "model B": emb_b})
display(cmp)'''

ONE_CELL = ONE_MARKER + '''
one = amumo_ng.Explorer(emb_a.subset([0]), title="one pair")
display(one)'''

ORDER_CELL = ORDER_MARKER + '''
print("''' + ORDER_PREFIX + '''" + json.dumps({"order": np.frombuffer(ex.order, dtype=np.int32).tolist(),
                                     "rows": ex.heat_rows, "exact": ex.heat_exact}))'''

ERROR_CELL = ERROR_MARKER + '''
print("''' + ERROR_PREFIX + '''" + json.dumps(ex.filter_error))'''

# every other run: clustering in a worker thread that takes 2.5 s (the heatmap's busy overlay shows)
SLOW_CLUSTER_CELL = SLOW_CLUSTER_MARKER + '''
import time as _time
import amumo_ng.session.state as _state
import amumo_ng.analysis.ordering as _ordering
_slow_on = not globals().get("_slow_on", False)
if _slow_on:
    _limit0, _order0 = _state.ORDER_SYNC_LIMIT, _ordering.cluster_order
    def _slow_order(*args, **kwargs):
        _time.sleep(2.5)
        return _order0(*args, **kwargs)
    _state.ORDER_SYNC_LIMIT, _ordering.cluster_order = 10, _slow_order
else:
    _state.ORDER_SYNC_LIMIT, _ordering.cluster_order = _limit0, _order0
print("LAYOUT_SLOW_CLUSTER", "on" if _slow_on else "off")'''

BANDS_CELL = BANDS_MARKER + '''
print("''' + BANDS_PREFIX + '''" + json.dumps({"bounds": list(ex.cluster_bounds), "colors": list(ex.category_colors),
                                     "k": ex.n_view}))'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
COUNT = '[data-amumo="filter-count"]'
ERROR = '[data-amumo="filter-error"]'
WIDTHS = (1000, 1400, 1920)


def write_notebook(path) -> None:
    H.write_notebook(path, (SETUP_CELL, SHOW_CELL, COMPARE_CELL, ONE_CELL, ORDER_CELL, ERROR_CELL, SLOW_CLUSTER_CELL, BANDS_CELL))


def cell(page, marker):
    return H.code_cell(page, marker)


printed = H.printed


@pytest.fixture(scope="module")
def layout(lab_server, browser):
    write_notebook(lab_server.root / NOTEBOOK)
    page = browser.context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    H.open_notebook(page, lab_server, NOTEBOOK)
    set_file_browser(page, False)
    facts = printed(page, SETUP_MARKER, FACTS_PREFIX)
    H.run_cell_containing(page, SHOW_MARKER)
    H.wait_explorer_drawn(cell(page, SHOW_MARKER).locator(EXPLORER), N)
    page.amumo_problems = problems
    yield page, facts
    page.close()




# -- helpers -------------------------------------------------------------------------------------

def set_file_browser(page, open_: bool) -> None:
    """Open (the file browser shown) or close JupyterLab's left sidebar, then let the notebook reflow."""
    page.evaluate("""(open) => {
        const shell = window.jupyterapp.shell;
        if (open) { shell.activateById('filebrowser'); shell.expandLeft(); } else shell.collapseLeft();
    }""", open_)
    page.wait_for_timeout(400)


def settle(page, ms: int = 300) -> None:
    page.wait_for_timeout(ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_layout(page, explorers, timeout_s: float = 30.0) -> None:
    """Until every Explorer drew its heatmap and scatter and its layout (view size, side panel
    place, box of the heatmap) held still for 0.8 s."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while True:
        now = [ex.evaluate("""e => {
            const heat = e.querySelector('[data-amumo="heatmap"]');
            const sc = e.querySelector('[data-amumo="scatter"]');
            const side = e.querySelector('[data-amumo="side-panel"]');
            const r = heat ? heat.getBoundingClientRect() : null;
            return [e.getAttribute('data-view-size'), side && side.getAttribute('data-place'),
                    heat && heat.getAttribute('data-rows'), sc && sc.getAttribute('data-busy'),
                    r && [Math.round(r.left), Math.round(r.width)], e.clientWidth]; }""") for ex in explorers]
        ready = all(v[0] and v[2] not in (None, "") and v[3] == "false" for v in now)
        if now != last:
            last, since = now, time.monotonic()
        elif ready and time.monotonic() - since > 0.8:
            return
        assert time.monotonic() < deadline, f"the layout did not settle: {now}"
        page.wait_for_timeout(150)


def boxes(explorer) -> dict:
    """Boxes of the heatmap, the scatter plot and the hover panel relative to the Explorer's root."""
    return explorer.evaluate("""e => {
        const o = e.getBoundingClientRect();
        const box = (s) => { const r = e.querySelector(s).getBoundingClientRect();
            return [r.left - o.left, r.top - o.top, r.width, r.height].map(v => Math.round(v * 10) / 10); };
        return {heatmap: box('[data-amumo="heatmap"]'), canvas: box('canvas[data-amumo="heatmap-canvas"]'),
                scatter: box('[data-amumo="scatter"]'), panel: box('[data-amumo="hover-panel"]'),
                message: box('[data-amumo="filter-message"]'), root_width: Math.round(o.width)}; }""")


def overflow_report(page, output) -> list:
    """Elements of the Explorers in ``output`` (a cell's output area) whose right edge lies right of
    the output area's, and Explorer roots that scroll sideways."""
    return output.evaluate("""out => {
        const edge = out.getBoundingClientRect().right + 0.5;
        const bad = [];
        for (const root of out.querySelectorAll('[data-amumo="explorer"]')) {
            if (root.scrollWidth > root.clientWidth + 1) bad.push(['scrolls', root.scrollWidth, root.clientWidth]);
            for (const el of root.querySelectorAll('*')) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) continue;  // not shown
                if (r.right > edge) bad.push([el.tagName, el.getAttribute('data-amumo') || el.className || el.textContent.slice(0, 30),
                                              Math.round(r.right), Math.round(edge)]);
            }
        }
        return bad; }""")


def controls_inside(output) -> list:
    """Every control (input, select, button) of the Explorers in ``output``: its right edge and the
    right edge of the output area."""
    return output.evaluate("""out => {
        const edge = out.getBoundingClientRect().right;
        return [...out.querySelectorAll('[data-amumo="explorer"] input, [data-amumo="explorer"] select, [data-amumo="explorer"] button')]
            .filter(el => el.getBoundingClientRect().width > 0)
            .map(el => [el.getAttribute('data-amumo') || el.tagName, el.getBoundingClientRect().right, edge]); }""")


def set_filter(page, explorer, text: str) -> None:
    box = explorer.locator('input[data-amumo="filter-input"]')
    box.fill(text)
    box.press("Enter")


def wait_count(explorer, pattern: str, timeout_ms: int = 30_000) -> str:
    explorer.locator(COUNT, has_text=re.compile(pattern)).wait_for(timeout=timeout_ms)
    return explorer.locator(COUNT).text_content()


def cell_rgb(explorer, row: int, col: int) -> list:
    """RGB of backing-store pixel (col, row) of the heatmap canvas (one pixel per cell when exact)."""
    return explorer.locator(HEATMAP_CANVAS).evaluate(
        "(c, [r, k]) => Array.from(c.getContext('2d').getImageData(k, r, 1, 1).data.slice(0, 3))", [row, col])


def words_of(captions):
    from collections import Counter

    return Counter(w for c in captions for w in set(re.findall(r"[a-z]+", c.lower())) if len(w) > 3)


# -- the tests -----------------------------------------------------------------------------------

def test_views_hold_still_through_a_projection_a_zoom_and_a_filter(layout):
    page, facts = layout
    explorer = cell(page, SHOW_MARKER).locator(EXPLORER)
    wait_layout(page, [explorer])
    explorer.scroll_into_view_if_needed()
    start = boxes(explorer)
    H.save_screenshot(explorer, "layout_hold_01_start")
    select = explorer.locator('select[data-amumo="projection"]')
    overlay = explorer.locator('[data-amumo="scatter-busy"]')
    try:
        # a projection: the busy overlay is drawn ON the scatter (progress, cancel), nothing moves
        select.select_option("tsne")
        samples, busy_seen, shot = [], 0, False
        deadline = time.monotonic() + 240
        while True:
            samples.append(boxes(explorer))
            state = overlay.evaluate("""o => ({busy: o.getAttribute('data-busy'),
                text: o.querySelector('[data-amumo="scatter-busy-text"]').textContent,
                cancel: !!o.querySelector('[data-amumo="scatter-cancel"]')
                        && o.querySelector('[data-amumo="scatter-cancel"]').getBoundingClientRect().width > 0})""")
            if state["busy"] == "true":
                busy_seen += 1
                assert "t-SNE" in state["text"] and state["cancel"], state
                if not shot:
                    H.save_screenshot(explorer, "layout_hold_02_tsne_busy")
                    shot = True
            done = explorer.evaluate("""e => { const s = e.querySelector('[data-amumo="scatter"]');
                return s.getAttribute('data-projection') === 'tsne' && s.getAttribute('data-busy') === 'false'
                    && s.getAttribute('data-points') !== '0'; }""")
            if done and state["busy"] == "false":
                break
            assert time.monotonic() < deadline, "t-SNE did not finish"
            page.wait_for_timeout(100)
        samples.append(boxes(explorer))
        assert busy_seen >= 1, "the scatter never showed the busy overlay"
        moved = [s for s in samples if s != start]
        assert not moved, (start, moved[:3])
        H.save_screenshot(explorer, "layout_hold_03_tsne_done")

        # a wheel zoom and its reset (the info line says "double-click to reset zoom" meanwhile)
        canvas = explorer.locator(HEATMAP_CANVAS)
        canvas.scroll_into_view_if_needed()
        b = canvas.bounding_box()
        page.mouse.move(b["x"] + b["width"] * 0.3, b["y"] + b["height"] * 0.3)
        for _ in range(4):
            page.mouse.wheel(0, -240)
            page.wait_for_timeout(60)
        explorer.locator('[data-amumo="heatmap-info"]', has_text="double-click to reset").wait_for(timeout=30_000)
        settle(page, 500)
        assert boxes(explorer) == start, (start, boxes(explorer))
        H.save_screenshot(explorer, "layout_hold_04_zoomed")
        page.mouse.dblclick(b["x"] + b["width"] * 0.3, b["y"] + b["height"] * 0.3)
        explorer.locator('[data-amumo="heatmap-info"]', has_text="wheel or drag").wait_for(timeout=30_000)
        page.mouse.move(1, 1)
        settle(page)
        assert boxes(explorer) == start, (start, boxes(explorer))

        # a filter, then a regex that does not compile
        words = words_of(facts["captions"])
        word = min(words, key=lambda w: (abs(words[w] - N / 5), w))
        k = sum(word in c.lower() for c in facts["captions"])
        set_filter(page, explorer, word)
        wait_count(explorer, rf"^{k} of {N} pairs$")
        settle(page)
        assert boxes(explorer) == start, (start, boxes(explorer))
        explorer.locator('input[data-amumo="filter-regex"]').check()
        set_filter(page, explorer, "(" + word)
        explorer.locator(COUNT, has_text="invalid pattern").wait_for(timeout=30_000)
        settle(page)
        assert boxes(explorer) == start, (start, boxes(explorer))
        H.save_screenshot(explorer, "layout_hold_05_bad_regex")
    finally:
        page.mouse.move(1, 1)
        explorer.locator('input[data-amumo="filter-regex"]').uncheck()
        set_filter(page, explorer, "")
        wait_count(explorer, rf"^{N} of {N} pairs$")
        select.select_option("pca")
        explorer.locator(SCATTER + '[data-projection="pca"][data-busy="false"]').wait_for(timeout=60_000)
    assert not [p for p in page.amumo_problems if "pageerror" in p], page.amumo_problems


def test_bad_regex_shows_the_full_message_and_the_count_says_invalid(layout):
    page, facts = layout
    explorer = cell(page, SHOW_MARKER).locator(EXPLORER)
    wait_layout(page, [explorer])
    message = explorer.locator('[data-amumo="filter-message"]')
    views_before = boxes(explorer)
    box = explorer.locator('input[data-amumo="filter-input"]')
    try:
        # typed but not applied yet: no count of another pattern
        box.fill("")
        box.press_sequentially("tri", delay=10)
        assert explorer.locator(COUNT).text_content() == "…"
        wait_count(explorer, r"^\d+ of \d+ pairs$")

        explorer.locator('input[data-amumo="filter-regex"]').check()
        set_filter(page, explorer, "(tri")
        explorer.locator(COUNT, has_text="invalid pattern").wait_for(timeout=30_000)
        kernel_error = printed(page, ERROR_MARKER, ERROR_PREFIX)
        assert kernel_error, "the kernel reports no error for '(tri'"
        shown = explorer.locator(ERROR)
        assert shown.text_content() == kernel_error  # the full message, not cut
        fit = shown.evaluate("e => ({scroll: e.scrollWidth, client: e.clientWidth})")
        assert fit["scroll"] <= fit["client"] + 1, fit  # wrapped, never cut sideways
        assert explorer.locator(COUNT).text_content() == "invalid pattern"

        # a long message: the slot keeps its height (it scrolls), the views stay where they were
        set_filter(page, explorer, "(tri|" + "x" * 300 + "|" + "y" * 300)
        page.wait_for_function(
            "([e, old]) => e.textContent !== old && e.textContent.length > 0",
            arg=[shown.element_handle(), kernel_error], timeout=30_000)
        settle(page)
        long_error = shown.text_content()
        slot = message.evaluate("e => ({scroll: e.scrollHeight, client: e.clientHeight})")
        assert slot["scroll"] > slot["client"], slot  # the long message scrolls in its slot
        assert boxes(explorer) == views_before  # the slot, the views and the panel did not move
        H.save_screenshot(explorer.locator('[data-amumo="controls"]'), "layout_bad_regex_controls")
        assert long_error == printed(page, ERROR_MARKER, ERROR_PREFIX)
    finally:
        explorer.locator('input[data-amumo="filter-regex"]').uncheck()
        set_filter(page, explorer, "")
        wait_count(explorer, rf"^{N} of {N} pairs$")
    assert not (explorer.locator(ERROR).text_content() or "").strip()


def test_locked_scale_keeps_a_cells_colour_through_a_filter(layout):
    page, facts = layout
    explorer = cell(page, SHOW_MARKER).locator(EXPLORER)
    wait_layout(page, [explorer])
    scale = explorer.locator('select[data-amumo="color-scale"]')
    captions = facts["captions"]
    words = words_of(captions)
    word = min(words, key=lambda w: (abs(words[w] - N / 4), w))
    keep = [i for i, c in enumerate(captions) if word in c.lower()]
    p, q = keep[1], keep[-2]  # image of p, text of q: both stay in view under the filter

    def where():
        info = printed(page, ORDER_MARKER, ORDER_PREFIX)
        order = info["order"]
        assert info["exact"] and info["rows"] == 2 * len(order), info  # one pixel per cell
        return order.index(p), len(order) + order.index(q)

    try:
        scale.select_option("locked")
        explorer.locator('[data-amumo="heatmap-scale"]', has_text="locked").wait_for(timeout=30_000)
        settle(page, 500)
        r, c = where()
        before = cell_rgb(explorer, r, c)
        set_filter(page, explorer, word)
        wait_count(explorer, rf"^{len(keep)} of {N} pairs$")
        explorer.locator(HEATMAP + f'[data-rows="{2 * len(keep)}"]').wait_for(timeout=30_000)
        settle(page, 500)
        r2, c2 = where()
        assert (r2, c2) != (r, c)  # drawn elsewhere now
        after = cell_rgb(explorer, r2, c2)
        assert after == before, (before, after, (r, c), (r2, c2))
        H.save_screenshot(explorer, "layout_locked_filtered")
    finally:
        set_filter(page, explorer, "")
        wait_count(explorer, rf"^{N} of {N} pairs$")
        scale.select_option("view")
        explorer.locator('[data-amumo="heatmap-scale"]', has_text="per view").wait_for(timeout=30_000)


def test_clustering_shows_its_overlay_holds_still_and_colours_the_bands(layout):
    page, _facts = layout
    explorer = cell(page, SHOW_MARKER).locator(EXPLORER)
    wait_layout(page, [explorer])
    start = boxes(explorer)
    heat = explorer.locator(HEATMAP)
    order0 = heat.get_attribute("data-order")
    assert "on" in H.run_cell_containing(page, SLOW_CLUSTER_MARKER)
    try:
        explorer.locator('[data-amumo="cluster-toggle"]').check()
        explorer.locator('[data-amumo="heatmap-busy"][data-busy="true"]').wait_for(timeout=30_000)
        assert "clustering" in explorer.locator('[data-amumo="heatmap-busy-text"]').text_content()
        assert heat.get_attribute("data-busy") == "true"
        H.save_screenshot(explorer, "layout_clustering_busy")
        assert boxes(explorer) == start
        explorer.locator('[data-amumo="heatmap-busy"][data-busy="false"]').wait_for(timeout=60_000)
        page.wait_for_function("([e, old]) => e.getAttribute('data-order') !== old",
                               arg=[heat.element_handle(), order0], timeout=30_000)
        settle(page, 500)
        assert boxes(explorer) == start

        # the bands along the top and left edges: cluster c in category_colors[c]
        bands = printed(page, BANDS_MARKER, BANDS_PREFIX)
        bounds, colors, k = bands["bounds"], bands["colors"], bands["k"]
        assert len(bounds) >= 3 and bounds[-1] == k, bands
        checked = 0
        for c in range(len(bounds) - 1):
            want = colors[min(c, len(colors) - 2)]
            rgb = [int(want[i:i + 2], 16) for i in (1, 3, 5)]
            for band, offset in (("top", 0), ("left", k)):  # image block on top, text block on the left
                got = explorer.locator(f'canvas[data-amumo="heatmap-band-{band}"]').evaluate("""(b, [lo, hi, rows]) => {
                    const size = parseFloat(b.style[b.style.width && parseFloat(b.style.width) > 20 ? 'width' : 'height']);
                    const horizontal = parseFloat(b.style.width) > 20;
                    const dpr = (horizontal ? b.width : b.height) / size;
                    const px = (lo + hi) / 2 / rows * size, span = (hi - lo) / rows * size;
                    if (span < 4) return null;
                    const x = horizontal ? px * dpr : 4.5 * dpr, y = horizontal ? 4.5 * dpr : px * dpr;
                    return Array.from(b.getContext('2d').getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3)); }""",
                    [offset + bounds[c], offset + bounds[c + 1], 2 * k])
                if got is None:
                    continue
                assert max(abs(a - b) for a, b in zip(got, rgb)) <= 2, (band, c, got, want)
                checked += 1
        assert checked >= 2
        explorer.locator('select[data-amumo="color-by"]').select_option("cluster")
        explorer.locator('[data-amumo="scatter-legend"]', has_text="1").wait_for(timeout=30_000)
        settle(page, 800)
        H.save_screenshot(explorer, "layout_clustered_bands_and_colour_by_cluster")
    finally:
        if explorer.locator('select[data-amumo="color-by"]').count():
            explorer.locator('select[data-amumo="color-by"]').select_option("modality")
        explorer.locator('[data-amumo="cluster-toggle"]').uncheck()
        page.wait_for_function("([e, old]) => e.getAttribute('data-order') === old",
                               arg=[heat.element_handle(), order0], timeout=60_000)
        assert "off" in H.run_cell_containing(page, SLOW_CLUSTER_MARKER)


def test_cancel_on_the_scatter_stops_the_projection(layout):
    page, _facts = layout
    explorer = cell(page, SHOW_MARKER).locator(EXPLORER)
    wait_layout(page, [explorer])
    model = explorer.locator('select[data-amumo="model"]')
    method = explorer.locator('select[data-amumo="projection"]')
    try:
        model.select_option("model B")  # its t-SNE is not cached yet
        explorer.locator(SCATTER + f'[data-points="{2 * N}"][data-busy="false"]').wait_for(timeout=60_000)
        start = boxes(explorer)
        method.select_option("tsne")
        explorer.locator('[data-amumo="scatter-busy"][data-busy="true"]').wait_for(timeout=30_000)
        explorer.locator('[data-amumo="scatter-cancel"]').click()
        explorer.locator('[data-amumo="scatter-busy"][data-busy="false"]').wait_for(timeout=60_000)
        note = explorer.locator('[data-amumo="scatter-note"]')
        note.filter(has_text="cancelled").wait_for(timeout=30_000)
        assert method.input_value() == "pca"  # back to the method on screen
        assert explorer.locator(SCATTER).get_attribute("data-busy") == "false"
        assert boxes(explorer) == start
        H.save_screenshot(explorer, "layout_projection_cancelled")
    finally:
        method.select_option("pca")
        model.select_option("model A")
        explorer.locator(SCATTER + f'[data-points="{2 * N}"][data-busy="false"]').wait_for(timeout=60_000)


def test_one_pair_explorer_is_not_busy(layout):
    page, _facts = layout
    H.run_cell_containing(page, ONE_MARKER)
    one = cell(page, ONE_MARKER).locator(EXPLORER)
    one.locator(HEATMAP + '[data-rows="2"]').wait_for(timeout=60_000)
    one.locator(SCATTER + '[data-points="2"]').wait_for(timeout=60_000)
    settle(page, 600)
    assert one.locator('[data-amumo="scatter-busy"]').get_attribute("data-busy") == "false"
    assert one.locator('[data-amumo="heatmap-busy"]').get_attribute("data-busy") == "false"
    assert one.locator(HEATMAP).get_attribute("data-busy") == "false"
    assert not one.locator('[data-amumo="scatter-busy-text"]').is_visible()
    note = one.locator('[data-amumo="scatter-note"]')
    assert note.is_visible() and "one pair" in note.text_content(), note.text_content()
    assert "1 of 1 pairs" in one.locator(COUNT).text_content()
    H.save_screenshot(one, "layout_one_pair")


def test_comparison_fits_a_1000px_window(layout):
    page, _facts = layout
    try:
        H.run_cell_containing(page, COMPARE_MARKER)
        output = cell(page, COMPARE_MARKER).locator(".jp-OutputArea-output").first
        explorers = [output.locator(EXPLORER).nth(0), output.locator(EXPLORER).nth(1)]
        for browser_open in (True, False):
            page.set_viewport_size({"width": 1000, "height": 1000})
            set_file_browser(page, browser_open)
            wait_layout(page, explorers)
            output.scroll_into_view_if_needed()
            assert overflow_report(page, output) == []
            for name, right, edge in controls_inside(output):
                assert right <= edge + 0.5, (name, right, edge)
            H.save_screenshot(output, f"layout_comparison_1000_{'files' if browser_open else 'nofiles'}_fit")
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
        set_file_browser(page, False)


def test_screenshots_at_three_widths_with_and_without_the_file_browser(layout):
    page, _facts = layout
    targets = {"explorer": cell(page, SHOW_MARKER), "comparison": cell(page, COMPARE_MARKER)}
    if not targets["comparison"].locator(EXPLORER).count():
        H.run_cell_containing(page, COMPARE_MARKER)
    try:
        for width in WIDTHS:
            for browser_open in (False, True):
                # tall enough to show a whole Comparison (the height does not change the layout)
                page.set_viewport_size({"width": width, "height": 2400})
                set_file_browser(page, browser_open)
                for name, target in targets.items():
                    output = target.locator(".jp-OutputArea-output").first
                    explorers = [output.locator(EXPLORER).nth(i) for i in range(output.locator(EXPLORER).count())]
                    wait_layout(page, explorers)
                    output.scroll_into_view_if_needed()
                    settle(page)
                    label = f"layout_{width}_{'files' if browser_open else 'nofiles'}_{name}"
                    H.save_screenshot(page, label + "_page")
                    H.save_screenshot(output, label)
                    assert overflow_report(page, output) == [], label
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
        set_file_browser(page, False)
