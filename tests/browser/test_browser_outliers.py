"""Conformity and outliers in the Explorer in a real browser (JupyterLab + headless chromium).

One notebook embeds 120 ``shapes`` pairs with ``toy-clip`` and shows an Explorer.

- the outlier list shows the kernel's 10 entries (low pair cosine); switching the ranking to "high text
  conformity" lists the kernel's new entries; a click on the 3rd hovers that pair in every view: the
  hover panel shows its image and text rows and "pair N (outlier list)", the heatmap lights its image
  row and text column, the scatter rings its two points, and ``session.hover`` is N; screenshot
  ``outliers_01_list.png``;
- colour by image conformity: every isolated point is drawn in the colour-map colour of the kernel's
  code, the legend shows the ramp with the kernel's range; the heatmap sorted by image conformity
  draws the kernel's order; screenshot ``outliers_02_conformity.png``.
"""
from __future__ import annotations

import numpy as np
import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "outliers_under_test.ipynb"
N = 120
STATE_PREFIX = "OUTLIER_STATE="
SETUP_MARKER = "# amumo-outliers: setup"
SHOW_MARKER = "# amumo-outliers: show"
STATE_MARKER = "# amumo-outliers: state"

SETUP_CELL = SETUP_MARKER + f'''
import json
import numpy as np
import amumo_ng
emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n={N}, seed=0), "toy-clip", progress=False)'''

SHOW_CELL = SHOW_MARKER + '''
ex = amumo_ng.Explorer(emb, title="outliers")
display(ex)'''

STATE_CELL = STATE_MARKER + '''
print("''' + STATE_PREFIX + '''" + json.dumps({"entries": ex.outlier_entries, "by": ex.outlier_by, "hover": ex.session.hover,
    "color_by": ex.color_by, "codes": list(np.frombuffer(ex.point_colors, np.uint8).tolist()), "range": ex.color_range,
    "lut": np.frombuffer(ex.colormap, np.uint8).reshape(256, 3).tolist(), "order_by": ex.session.order_by,
    "order": ex.session.order.tolist(), "order_hash": ex.order_hash, "captions": emb.captions}))'''

EXPLORER = '[data-amumo="explorer"]'
SCATTER = '[data-amumo="scatter"]'
OPACITY = 0.85  # the scatter's point opacity over its white background


class Outliers:
    def __init__(self, page):
        self.page = page
        self.problems = H.watch_problems(page)

    @property
    def explorer(self):
        return H.code_cell(self.page, SHOW_MARKER).locator(EXPLORER)

    def state(self) -> dict:
        return H.printed(self.page, STATE_MARKER, STATE_PREFIX)


@pytest.fixture(scope="module")
def ol(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, STATE_CELL))
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1500, "height": 1100})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    H.run_cell_containing(page, SETUP_MARKER, timeout_ms=300_000)
    H.run_cell_containing(page, SHOW_MARKER)
    s = Outliers(page)
    H.wait_explorer_drawn(s.explorer, N)
    yield s
    page.close()


def listed(box) -> list[list]:
    return box.locator('[data-amumo="outlier-entry"]').evaluate_all(
        "els => els.map(e => [+e.getAttribute('data-pair'), e.textContent])")


def test_the_outlier_list_shows_the_kernels_ranking_and_a_click_hovers_the_pair_everywhere(ol):
    page, ex = ol.page, ol.explorer
    box = ex.locator('[data-amumo="outlier-list"]')
    box.scroll_into_view_if_needed()
    H.wait_until(lambda: box.get_attribute("data-entries") == "10", lambda: f"entries {box.get_attribute('data-entries')}", page)
    state = ol.state()
    assert state["by"] == "pair-cosine"
    rows = listed(box)
    assert [p for p, _ in rows] == [e["pair"] for e in state["entries"]]
    for (_, text), e in zip(rows, state["entries"]):
        assert text.startswith(f"{e['value']:.3f}#{e['pair']}"), (text, e)
    assert "value: pair cosine" in ex.locator('[data-amumo="outlier-status"]').text_content()
    # another ranking from the select: the kernel's new list
    ex.locator('select[data-amumo="outlier-by"]').select_option("text-conformity-high")
    H.wait_until(lambda: box.get_attribute("data-by") == "text-conformity-high" and listed(box) != rows,
                 "the list did not change with the ranking", page)
    state = ol.state()
    assert state["by"] == "text-conformity-high"
    rows = listed(box)
    assert [p for p, _ in rows] == [e["pair"] for e in state["entries"]]
    values = [e["value"] for e in state["entries"]]
    assert values == sorted(values, reverse=True)  # highest text conformity first
    # a click on the 3rd entry: that pair in every view
    pair = rows[2][0]
    box.locator('[data-amumo="outlier-entry"]').nth(2).click()
    panel = ex.locator('[data-amumo="hover-panel"]')
    value = panel.locator('[data-amumo="hover-value"]')
    H.wait_until(lambda: value.text_content() == f"pair {pair} (outlier list)", lambda: f"hover value {value.text_content()!r}", page)
    items = panel.locator('[data-amumo="hover-item"]').evaluate_all(
        "els => els.map(e => [e.getAttribute('data-modality'), +e.getAttribute('data-pair')])")
    assert items == [["image", pair], ["text", pair]], items
    assert panel.locator('[data-amumo="hover-caption"]').first.text_content() == state["captions"][pair]
    heatmap = ex.locator('[data-amumo="heatmap"]')
    row = state["order"].index(pair)  # the image row of the pair in draw order; its text column is N + row
    H.wait_until(lambda: heatmap.get_attribute("data-highlight-row") == str(row)
                 and heatmap.get_attribute("data-highlight-col") == str(N + row),
                 lambda: f"heatmap lights {heatmap.get_attribute('data-highlight-row')}, {heatmap.get_attribute('data-highlight-col')}", page)
    ring = ex.locator(SCATTER).get_attribute("data-hover-ring") or ""
    assert {str(pair), str(N + pair)} <= set(ring.split(",")), ring
    H.wait_until(lambda: ol.state()["hover"] == pair, "session.hover was not set", page)
    box.scroll_into_view_if_needed()
    H.quiet(page, 300)
    H.save_screenshot(ex, "outliers_01_list")
    assert not ol.problems, ol.problems


def test_colour_by_image_conformity_and_the_heatmap_sorted_by_it(ol):
    page, ex = ol.page, ol.explorer
    select = ex.locator('select[data-amumo="color-by"]')
    assert {"image-conformity", "text-conformity", "conformity-difference"} <= set(
        select.locator("option").evaluate_all("os => os.map(o => o.value)"))
    select.select_option("image-conformity")
    ex.locator(SCATTER + '[data-busy="false"][data-color-by="image-conformity"]').wait_for(timeout=60_000)
    H.quiet(page, 300)
    state = ol.state()
    assert state["color_by"] == "image-conformity"
    legend = ex.locator('[data-amumo="scatter-legend"]')
    assert "image conformity" in legend.locator('[data-amumo="scatter-legend-title"]').text_content()
    lo = float(legend.locator('[data-amumo="legend-vmin"]').text_content())
    hi = float(legend.locator('[data-amumo="legend-vmax"]').text_content())
    assert lo == pytest.approx(state["range"][0], abs=0.006) and hi == pytest.approx(state["range"][1], abs=0.006)
    # isolated points are drawn in the colour map's colour of the kernel's code
    scatter = ex.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    xy = np.asarray(scatter.evaluate(f"""el => {{ const out = [];
        for (let p = 0; p < {2 * N}; p++) out.push(el.amumoPointToClient(p % {N}, p < {N} ? 'image' : 'text'));
        return out; }}"""), dtype=float)
    rect = scatter.locator('canvas[data-amumo="scatter-canvas"]').evaluate(
        "c => { const r = c.getBoundingClientRect(); return {x: r.left, y: r.top, width: r.width, height: r.height}; }")
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(d, np.inf)
    inside = ((xy[:, 0] > rect["x"] + 8) & (xy[:, 0] < rect["x"] + rect["width"] - 8)
              & (xy[:, 1] > rect["y"] + 8) & (xy[:, 1] < rect["y"] + rect["height"] - 8))
    lonely = [p for p in np.argsort(-d.min(axis=1)) if inside[p] and d[p].min() > 6][:6]
    assert len(lonely) >= 3, "too few isolated points to check"
    lut = np.asarray(state["lut"], float)
    for p in lonely:
        rgb = np.asarray(scatter.locator('canvas[data-amumo="scatter-canvas"]').evaluate("""(c, [x, y]) => {
            const r = c.getBoundingClientRect();
            const px = Math.floor((x - r.left) * c.width / r.width), py = Math.floor((y - r.top) * c.height / r.height);
            const d = c.getContext('2d').getImageData(px, py, 1, 1).data; return [d[0], d[1], d[2]]; }""",
            list(map(float, xy[p]))), float)
        want = OPACITY * lut[state["codes"][p]] + (1 - OPACITY) * 255
        assert np.abs(rgb - want).max() <= 40, (int(p), rgb.tolist(), want.tolist())
    # the heatmap sorted by image conformity, lowest first: the kernel's order
    heatmap = ex.locator('[data-amumo="heatmap"]')
    before = heatmap.get_attribute("data-order")
    ex.locator('select[data-amumo="heatmap-order"]').select_option("image-conformity")
    H.wait_until(lambda: heatmap.get_attribute("data-order") != before, "the heatmap order did not change", page)
    state = ol.state()
    assert state["order_by"] == "image-conformity" and state["order"] != list(range(N))
    assert heatmap.get_attribute("data-order") == state["order_hash"]
    ticks = ex.locator('[data-amumo="heatmap-ticks-row"] [data-amumo="heatmap-tick"]').evaluate_all(
        "els => els.map(e => [+e.getAttribute('data-row'), +e.getAttribute('data-pair')])")
    assert ticks and all(state["order"][r % N] == p for r, p in ticks), ticks
    H.quiet(page, 300)
    H.save_screenshot(ex, "outliers_02_conformity")
    assert not ol.problems, ol.problems
