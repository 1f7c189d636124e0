"""The Amumo article's views in a real browser (JupyterLab + headless chromium).

One notebook shows an Explorer of 60 ``shapes`` pairs (toy-cyclip) and its gap-shift chart.

- the difference view, chosen from the Explorer's "heatmap" select: the legend says Δ cos; hovering
  cells shows ``Δ = D = a (image–image) − b (text–text)`` with D, a, b equal to the kernel's (numpy on
  the session's view vectors), from the browser's own vectors and, with the vector budget at 0, from
  the kernel's answer; screenshot ``article_01_difference.png``;
- the gap-shift chart: clicking its 25th point (plotly) applies that shift: the readout's second row
  names δ and shows the curve's loss at that point, the session's applied shift is δ, and the
  chart's "shown now" line moves there; screenshot ``article_02_gap_shift.png``.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "article_under_test.ipynb"
N = 60
PREFIX = "ARTICLE_STATE="
SETUP = "# amumo-article: setup"
SHOW = "# amumo-article: show"
CHART = "# amumo-article: chart"
STATE = "# amumo-article: state"
BUDGET = "# amumo-article: no vectors"

SETUP_CELL = SETUP + f'''
import json
import numpy as np
import amumo_ng
emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n={N}, seed=0), "toy-cyclip", progress=False)'''
SHOW_CELL = SHOW + '''
ex = amumo_ng.Explorer(emb, title="article")
display(ex)'''
CHART_CELL = CHART + '''
chart = ex.gap_shift_chart()
display(chart)'''
STATE_CELL = STATE + '''
img, txt = (np.asarray(v, np.float32) for v in ex.session.view_vectors())
curve = chart.curve
print("''' + PREFIX + '''" + json.dumps({"mode": ex.heat_mode, "k": ex.session.k,
    "ii": (img @ img.T).tolist(), "tt": (txt @ txt.T).tolist(), "deltas": curve.deltas.tolist(),
    "losses": curve.losses.tolist(), "applied": ex.session.applied_shift(), "readout": ex.gap_readout,
    "shown": chart.shown_shift}))'''
BUDGET_CELL = BUDGET + '''
ex.vector_budget = 0'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
VALUE = '[data-amumo="hover-panel"] [data-amumo="hover-value"]'
DIFF_LINE = re.compile(r"Δ = (-?\d\.\d+) = (-?\d\.\d+) \(image–image\) − (-?\d\.\d+) \(text–text\) · row (\d+), col (\d+)")


class Article:
    def __init__(self, page):
        self.page = page
        self.problems = H.watch_problems(page)

    @property
    def explorer(self):
        return H.code_cell(self.page, SHOW).locator(EXPLORER)

    def state(self) -> dict:
        H.run_cell_containing(self.page, STATE)
        return H.printed(self.page, STATE, PREFIX)


@pytest.fixture(scope="module")
def art(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, CHART_CELL, STATE_CELL, BUDGET_CELL))
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1500, "height": 1200})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    H.run_cell_containing(page, SETUP, timeout_ms=300_000)
    H.run_cell_containing(page, SHOW)
    s = Article(page)
    H.wait_explorer_drawn(s.explorer, N)
    H.run_cell_containing(page, CHART)
    yield s
    page.close()


def hover_difference(explorer, r: int, c: int) -> tuple:
    """Point at cell (r, c) of the K x K difference view; returns (D, a, b) the panel shows."""
    page = explorer.page
    H.point_at_heatmap_cell(explorer, N, r, c)
    value = explorer.locator(VALUE)
    H.wait_until(lambda: (m := DIFF_LINE.search(value.text_content() or "")) and (int(m[4]), int(m[5])) == (r, c),
                 lambda: f"value line {value.text_content()!r}", page)
    m = DIFF_LINE.search(value.text_content())
    return float(m[1]), float(m[2]), float(m[3])


def test_difference_view_hover_values_equal_the_kernels(art):
    ex = art.explorer
    ex.locator('select[data-amumo="heatmap-mode"]').select_option("difference")
    heat = ex.locator(HEATMAP)
    H.wait_until(lambda: heat.get_attribute("data-mode") == "difference" and heat.get_attribute("data-rows") == str(N),
                 "the difference view drawn", art.page)
    assert ex.locator('[data-amumo="heatmap-legend-name"]').text_content() == "Δ cos"
    assert "mean |Δ|" in ex.locator('[data-amumo="heatmap-scale"]').text_content()
    state = art.state()
    assert state["mode"] == "difference" and state["k"] == N
    ii, tt = np.array(state["ii"]), np.array(state["tt"])
    cells = [(3, 41), (17, 5), (50, 50), (29, 58)]
    for r, c in cells:
        d, a, b = hover_difference(ex, r, c)
        assert a == pytest.approx(ii[r, c], abs=6e-5) and b == pytest.approx(tt[r, c], abs=6e-5)
        assert d == pytest.approx(ii[r, c] - tt[r, c], abs=6e-5)
    H.save_screenshot(ex, "article_01_difference")
    # no vectors in the browser: the values come from the kernel's answer
    assert heat.get_attribute("data-local-values") == "true"
    H.run_cell_containing(art.page, BUDGET)
    H.wait_until(lambda: heat.get_attribute("data-local-values") == "false", "the view vectors withdrawn", art.page)
    before = int(heat.get_attribute("data-value-requests") or 0)
    d, a, b = hover_difference(ex, 11, 33)
    assert d == pytest.approx(ii[11, 33] - tt[11, 33], abs=6e-5) and a == pytest.approx(ii[11, 33], abs=6e-5)
    assert int(heat.get_attribute("data-value-requests") or 0) > before
    assert not art.problems, art.problems


def test_clicking_the_gap_shift_chart_applies_that_shift(art):
    page = art.page
    plot = H.code_cell(page, CHART).locator(".js-plotly-plot")
    points = plot.locator(".scatterlayer .trace").first.locator(".points path")
    H.wait_until(lambda: points.count() == 31, lambda: f"{points.count()} points drawn", page, timeout_s=60)
    target = 24  # the 25th of 31 shifts: 1.4 times the gap
    points.nth(target).scroll_into_view_if_needed()
    box = points.nth(target).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y, steps=4)  # plotly clicks the point it hovers: let the hover settle first
    page.wait_for_timeout(400)
    page.mouse.click(x, y)
    row = art.explorer.locator('[data-amumo="gap-readout"] tr[data-gap="closed"]')
    H.wait_until(lambda: "shift δ" in (row.locator("th").text_content() or ""),
                 lambda: f"readout row {row.inner_text()!r}", page, timeout_s=30)
    state = art.state()
    delta = state["deltas"][target]
    assert state["applied"] == pytest.approx(delta, abs=1e-9)
    assert float(row.get_attribute("data-shift")) == pytest.approx(delta, abs=1e-9)
    assert state["readout"]["loss_after"] == pytest.approx(state["losses"][target], rel=1e-6)
    shown_loss = float(row.locator('td[data-col="loss"]').text_content())
    assert shown_loss == pytest.approx(state["losses"][target], abs=2e-3)
    assert state["shown"] == pytest.approx(delta)
    assert art.explorer.locator('input[data-amumo="gap-toggle"]').is_checked()
    H.save_screenshot(H.code_cell(page, CHART), "article_02_gap_shift")
    assert not art.problems, art.problems
