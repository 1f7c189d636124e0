"""The Explorer in a real browser: JupyterLab + headless Debian chromium + Playwright.

One notebook run (the quickstart with probe cells appended, see ``explorer_probe``) is shared by
all tests; each test leaves the explorer in its default state (no filter, gap open, no clustering,
empty selection) when it finishes. Expected values come from the probe cell, computed with numpy
from the raw embeddings in the kernel, never from the widget code. Screenshots of every state go
to ``test-artifacts/browser/``.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter

import numpy as np
import pytest

import explorer_probe
import lab_harness as H
from screen_geometry import distance_to_polygon, inside, points_in_polygon

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
GAP_ROW = '[data-amumo="gap-readout"] tr[data-gap]'
GAP_SHOWN = GAP_ROW + '[data-current="true"] td[data-col="distance"]'
FLOAT_RE = re.compile(r"[-+−]?\d+\.\d+|[-+−]?\d+(?:[eE][-+]?\d+)")


# -- small helpers ------------------------------------------------------------------------------

def heatmap_attrs(page) -> dict:
    """data-rows / data-n / data-order / data-highlight-row of the heatmap container."""
    return page.eval_on_selector(HEATMAP, """el => ({
        rows: el.getAttribute('data-rows'), n: el.getAttribute('data-n'),
        order: el.getAttribute('data-order'),
        highlight: el.getAttribute('data-highlight-row')})""")


def canvas_box(page) -> dict:
    page.locator(HEATMAP_CANVAS).scroll_into_view_if_needed()
    return page.eval_on_selector(HEATMAP_CANVAS, """c => {
        const r = c.getBoundingClientRect();
        return {x: r.left, y: r.top, width: r.width, height: r.height}; }""")


def stable_box(locator, timeout_s: float = 10.0) -> dict:
    """The element's bounding box once it stopped moving (the notebook scrolls and outputs grow
    for a while after a cell ran)."""
    locator.scroll_into_view_if_needed()
    deadline = time.monotonic() + timeout_s
    box = locator.bounding_box()
    while time.monotonic() < deadline:
        locator.page.wait_for_timeout(150)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    return box


def cell_centre(box: dict, rows: int, r: int, c: int) -> tuple[float, float]:
    """Client coordinates of the centre of drawn cell (row r, column c) of a rows x rows matrix."""
    return (box["x"] + (c + 0.5) * box["width"] / rows,
            box["y"] + (r + 0.5) * box["height"] / rows)


def floats_in(text: str) -> list[float]:
    return [float(s.replace("−", "-")) for s in FLOAT_RE.findall(text or "")]


def decimals_of(text: str) -> int:
    m = re.search(r"\d+\.(\d+)", text)
    return len(m.group(1)) if m else 0


def heatmap_png(page) -> bytes:
    return page.locator(HEATMAP_CANVAS).screenshot()


def wait_pixels(page, reference: bytes, changed: bool, timeout_s: float = 60.0,
                threshold: float = 0.05) -> float:
    """Poll the heatmap canvas until it differs from ``reference`` in more than ``threshold`` of its
    pixels (``changed``) or in fewer than 0.1 % (not ``changed``); returns the last fraction.
    (The kernel may send the new order a moment before the new image.)"""
    deadline = time.monotonic() + timeout_s
    while True:
        frac = H.pixel_difference(reference, heatmap_png(page))
        if (frac > threshold) if changed else (frac < 0.001):
            return frac
        if time.monotonic() > deadline:
            return frac
        page.wait_for_timeout(250)


def wait_attr_change(page, selector: str, attr: str, old, timeout_ms: int = 60_000) -> str:
    page.wait_for_function(
        "([s, a, old]) => { const e = document.querySelector(s); "
        "return e && e.getAttribute(a) !== old; }",
        arg=[selector, attr, old], timeout=timeout_ms)
    return page.get_attribute(selector, attr)


def wait_text_change(page, selector: str, old: str, timeout_ms: int = 60_000) -> str:
    page.wait_for_function(
        "([s, old]) => { const e = document.querySelector(s); return e && e.textContent !== old; }",
        arg=[selector, old], timeout=timeout_ms)
    return page.text_content(selector)


def settle(page, ms: int = 400) -> None:
    """Let pending kernel round trips and two animation frames pass."""
    page.wait_for_timeout(ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def set_filter(page, text: str, n_total: int, expected_k: int | None = None) -> None:
    box = page.locator('input[data-amumo="filter-input"]')
    box.fill("")
    if text:
        box.press_sequentially(text, delay=20)
    box.press("Enter")
    if expected_k is not None:
        page.wait_for_function(
            "([s, k, n]) => new RegExp(`(^|[^0-9])${k} of ${n} pairs`).test("
            "document.querySelector(s)?.textContent || '')",
            arg=['[data-amumo="filter-count"]', expected_k, n_total], timeout=30_000)


def point_positions(page, n: int, scatter=None) -> np.ndarray:
    """Client [x, y] of all 2n scatter points: rows 0..n-1 images, n..2n-1 texts
    (of the ``scatter`` locator; the page's first scatter when None)."""
    target = scatter if scatter is not None else page.locator(SCATTER).first
    xy = target.evaluate("""(el, n) => {
        const out = [];
        for (const m of ['image', 'text'])
            for (let i = 0; i < n; i++) out.push(el.amumoPointToClient(i, m));
        return out; }""", n)
    return np.asarray(xy, dtype=float)


def scatter_box(page) -> dict:
    return page.eval_on_selector(SCATTER + " canvas", """c => {
        const r = c.getBoundingClientRect();
        return {x: r.left, y: r.top, width: r.width, height: r.height}; }""")


# -- the tests -----------------------------------------------------------------------------------

def test_quickstart_runs_and_renders_full_matrix(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    attrs = heatmap_attrs(page)
    assert int(attrs["n"]) == n
    rows = int(attrs["rows"])
    assert 0 < rows <= 2 * n
    assert (page.text_content('[data-amumo="filter-count"]') or "").strip().startswith(f"{n} of {n}")
    box = canvas_box(page)
    assert box["width"] > 100 and box["height"] > 100
    H.save_screenshot(page.locator(EXPLORER), "01_explorer_initial")


def test_hover_heatmap_cell_shows_captions_and_value(explorer_page):
    page, facts = explorer_page
    n, captions = facts["n"], facts["captions"]
    rows = int(heatmap_attrs(page)["rows"])
    assert rows == 2 * n, f"quickstart should draw its {2 * n} rows exactly, got {rows}"
    cross = np.asarray(facts["cross"])
    # row: image 3, column: text 11 (image-text quadrant, off the diagonal; default ascending order)
    i, j = 3, 11
    box = canvas_box(page)
    x, y = cell_centre(box, rows, i, n + j)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-amumo=\"hover-caption\"]')]"
        ".map(e => e.textContent).join('\\n').includes(want)",
        arg=captions[i], timeout=15_000)
    shown = page.eval_on_selector_all('[data-amumo="hover-caption"]', "els => els.map(e => e.textContent)")
    joined = "\n".join(shown)
    assert captions[i] in joined and captions[j] in joined, shown
    value_text = page.text_content('[data-amumo="hover-value"]') or ""
    values = floats_in(value_text)
    assert values, f"no number in the hover value {value_text!r}"
    tol = 0.5 * 10 ** -max(decimals_of(value_text), 1) + 1e-4
    assert any(abs(v - cross[i, j]) <= tol for v in values), (value_text, cross[i, j])
    H.save_screenshot(page.locator(EXPLORER), "02_hover_heatmap_cell")
    page.mouse.move(1, 1)


def _hover_cell(page, rows: int, r: int, c: int, caption: str) -> str:
    """Move the pointer onto drawn cell (r, c), wait for ``caption`` in the panel, return the value text."""
    box = canvas_box(page)
    x, y = cell_centre(box, rows, r, c)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=4)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-amumo=\"hover-caption\"]')]"
        ".some(e => e.textContent === want)", arg=caption, timeout=15_000)
    page.wait_for_function(
        "() => /cos = -?[0-9]/.test(document.querySelector('[data-amumo=\"hover-value\"]')?.textContent || '')",
        timeout=15_000)
    return page.text_content('[data-amumo="hover-value"]')


def _panel_is_empty(page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('[data-amumo=\"hover-caption\"]') && "
        "!(document.querySelector('[data-amumo=\"hover-value\"]')?.textContent || '').trim()",
        timeout=30_000)


def test_hover_panel_forgets_the_cell_when_the_view_changes(explorer_page):
    page, facts = explorer_page
    n, captions = facts["n"], facts["captions"]
    rows = int(heatmap_attrs(page)["rows"])
    i, j = 3, n - 1  # image 3 against the last text: row 3, col 2n-1
    value = _hover_cell(page, rows, i, n + j, captions[i])
    assert f"row {i}, col {n + j}" in value, value
    page.mouse.move(1, 1)  # the panel keeps the last item while the pointer is away...
    assert f"row {i}, col {n + j}" in page.text_content('[data-amumo="hover-value"]')

    # ...until a filter changes the draw order: then it must not describe a row that is gone
    words = Counter(w for c in captions for w in set(re.findall(r"[a-z]+", c.lower())) if len(w) > 3)
    word = min(words, key=lambda w: (abs(words[w] - n / 3), w))
    k = sum(word in c.lower() for c in captions)
    set_filter(page, word, n, expected_k=k)
    _panel_is_empty(page)
    H.save_screenshot(page.locator(EXPLORER), "12_hover_panel_after_filter")
    set_filter(page, "", n, expected_k=n)
    settle(page)

    # the gap toggle redraws every pixel: a value read before is not a value of the new image
    _hover_cell(page, rows, i, n + j, captions[i])
    page.mouse.move(1, 1)
    page.locator('[data-amumo="gap-toggle"]').click()
    _panel_is_empty(page)
    page.locator('[data-amumo="gap-toggle"]').click()
    settle(page)

    # a pointer that stays on the canvas is resolved again against the new view
    value = _hover_cell(page, rows, i, n + j, captions[i])
    old = heatmap_attrs(page)["order"]
    page.locator('[data-amumo="cluster-toggle"]').click()
    wait_attr_change(page, HEATMAP, "data-order", old, timeout_ms=120_000)
    settle(page)
    page.locator('[data-amumo="cluster-toggle"]').click()
    page.wait_for_function(
        "([s, want]) => document.querySelector(s)?.getAttribute('data-order') === want",
        arg=[HEATMAP, old], timeout=60_000)
    page.mouse.move(1, 1)
    settle(page)


def test_filter_shrinks_count_and_matrix(explorer_page):
    page, facts = explorer_page
    n, captions = facts["n"], facts["captions"]
    before = heatmap_attrs(page)
    # a word present in some captions but not all, matched the same way with or without case
    words = Counter(w for c in captions for w in set(re.findall(r"[a-z]+", c.lower())) if len(w) > 3)
    word = min(words, key=lambda w: (abs(words[w] - n / 5), w))
    k = sum(word in c.lower() for c in captions)
    assert 0 < k < n
    set_filter(page, word, n, expected_k=k)
    settle(page)
    count = page.text_content('[data-amumo="filter-count"]')
    assert re.search(rf"\b{k} of {n} pairs", count), count
    after = heatmap_attrs(page)
    assert int(after["n"]) == k
    assert int(after["rows"]) < int(before["rows"])
    assert int(after["rows"]) == min(2 * k, int(before["rows"]))
    H.save_screenshot(page.locator(EXPLORER), "03_filtered")

    # nothing matches: an empty state, not an error
    set_filter(page, "zzqx-no-caption-has-this", n, expected_k=0)
    settle(page)
    assert int(heatmap_attrs(page)["n"]) == 0
    assert not (page.text_content('[data-amumo="filter-error"]') or "").strip()
    H.save_screenshot(page.locator(EXPLORER), "04_filter_empty")

    # a regex that does not compile: a message in the widget, the last valid view kept
    page.locator('input[data-amumo="filter-regex"]').check()
    set_filter(page, word, n, expected_k=k)
    set_filter(page, "(" + word, n)
    page.wait_for_function(
        "s => (document.querySelector(s)?.textContent || '').trim().length > 0",
        arg='[data-amumo="filter-error"]', timeout=30_000)
    assert int(heatmap_attrs(page)["n"]) == k
    # the count describes the text in the box: that pattern is invalid (not the k of the last valid one)
    assert page.text_content('[data-amumo="filter-count"]') == "invalid pattern"
    H.save_screenshot(page.locator(EXPLORER), "05_filter_bad_regex")

    # a long error message is shown whole, wrapped in its slot of fixed height below the filter
    # (scrolled when long): the controls and the views after it do not move
    gap_top = page.eval_on_selector('[data-amumo="gap-toggle"]', "e => e.getBoundingClientRect().top")
    canvas_top = page.eval_on_selector(HEATMAP_CANVAS, "e => e.getBoundingClientRect().top")
    slot_height = page.eval_on_selector('[data-amumo="filter-message"]', "e => e.getBoundingClientRect().height")
    old_error = page.text_content('[data-amumo="filter-error"]')
    box = page.locator('input[data-amumo="filter-input"]')
    box.fill("(" + word + "|" + "x" * 200)
    box.press("Enter")
    long_error = wait_text_change(page, '[data-amumo="filter-error"]', old_error, timeout_ms=30_000)
    settle(page)
    slot = page.eval_on_selector('[data-amumo="filter-message"]', """e => ({
        height: e.getBoundingClientRect().height, scroll: e.scrollHeight, client: e.clientHeight,
        error_width: e.querySelector('[data-amumo="filter-error"]').scrollWidth,
        width: e.clientWidth})""")
    assert len(long_error) > 80 and page.get_attribute('[data-amumo="filter-error"]', "title") == long_error, slot
    assert abs(slot["height"] - slot_height) < 0.5, (slot, slot_height)  # fixed height
    assert slot["scroll"] > slot["client"] and slot["error_width"] <= slot["width"] + 1, slot  # wrapped, scrolls
    new_top = page.eval_on_selector('[data-amumo="gap-toggle"]', "e => e.getBoundingClientRect().top")
    assert abs(new_top - gap_top) < 2, (gap_top, new_top)
    new_canvas_top = page.eval_on_selector(HEATMAP_CANVAS, "e => e.getBoundingClientRect().top")
    assert abs(new_canvas_top - canvas_top) < 2, (canvas_top, new_canvas_top)

    # a valid regex, counted with Python's re (case-insensitive like the widget's default)
    pattern = r"^(a|an) "
    k_re = sum(re.search(pattern, c, re.IGNORECASE) is not None for c in captions)
    set_filter(page, pattern, n, expected_k=k_re)
    assert not (page.text_content('[data-amumo="filter-error"]') or "").strip()

    page.locator('input[data-amumo="filter-regex"]').uncheck()
    set_filter(page, "", n, expected_k=n)
    settle(page)
    assert int(heatmap_attrs(page)["n"]) == n


def shown_gap(page) -> str:
    """The gap distance of the row of the gap readout that describes what is shown (open or closed)."""
    return page.text_content(GAP_SHOWN) or ""


def test_gap_toggle_changes_readout_and_pixels(explorer_page):
    page, facts = explorer_page
    readout = '[data-amumo="gap-readout"]'
    text_before = page.text_content(readout)
    tol = 0.5 * 10 ** -max(decimals_of(shown_gap(page)), 1) + 1e-4
    # the readout's highlighted row is the distance currently shown
    assert page.get_attribute(GAP_ROW + '[data-current="true"]', "data-gap") == "open"
    assert abs(floats_in(shown_gap(page))[0] - facts["gap"]) <= tol, (text_before, facts["gap"])
    png_before = heatmap_png(page)
    order_before = heatmap_attrs(page)["order"]

    page.locator('[data-amumo="gap-toggle"]').click()
    text_after = wait_text_change(page, readout, text_before)
    assert page.get_attribute(GAP_ROW + '[data-current="true"]', "data-gap") == "closed"
    assert abs(floats_in(shown_gap(page))[0] - facts["gap_closed"]) <= tol, (text_after, facts["gap_closed"])
    changed = wait_pixels(page, png_before, changed=True)
    assert changed > 0.05, f"only {changed:.2%} of the heatmap pixels changed"
    assert text_after != text_before
    H.save_screenshot(page.locator(EXPLORER), "06_gap_closed")

    page.locator('[data-amumo="gap-toggle"]').click()
    wait_text_change(page, readout, text_after)
    assert wait_pixels(page, png_before, changed=False) < 0.001
    assert heatmap_attrs(page)["order"] == order_before
    assert page.text_content(readout) == text_before


def test_cluster_toggle_reorders_matrix(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    attrs = heatmap_attrs(page)
    png_before = heatmap_png(page)
    page.locator('[data-amumo="cluster-toggle"]').click()
    order_clustered = wait_attr_change(page, HEATMAP, "data-order", attrs["order"], timeout_ms=120_000)
    assert int(heatmap_attrs(page)["n"]) == n
    changed = wait_pixels(page, png_before, changed=True, timeout_s=120)
    assert changed > 0.05, f"only {changed:.2%} of the heatmap pixels changed"
    H.save_screenshot(page.locator(EXPLORER), "07_clustered")

    quadrant = page.locator('select[data-amumo="cluster-quadrant"]')
    options = quadrant.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) >= 2, options
    other = next(v for v in options if v != quadrant.input_value())
    png_clustered = heatmap_png(page)  # before the change: the new image may arrive at once
    quadrant.select_option(other)
    wait_attr_change(page, HEATMAP, "data-order", order_clustered, timeout_ms=120_000)
    wait_pixels(page, png_clustered, changed=True, timeout_s=120, threshold=0.01)
    H.save_screenshot(page.locator(EXPLORER), "08_clustered_other_quadrant")
    quadrant.select_option(options[0])

    page.locator('[data-amumo="cluster-toggle"]').click()
    page.wait_for_function(
        "([s, want]) => document.querySelector(s)?.getAttribute('data-order') === want",
        arg=[HEATMAP, attrs["order"]], timeout=60_000)
    assert wait_pixels(page, png_before, changed=False) < 0.001


def _wait_scatter(page, n: int) -> np.ndarray:
    page.locator(SCATTER).scroll_into_view_if_needed()
    page.wait_for_function(
        """(s) => { const el = document.querySelector(s);
            if (!el || typeof el.amumoPointToClient !== 'function') return false;
            const p = el.amumoPointToClient(0, 'image');
            return Array.isArray(p) && p.every(Number.isFinite); }""",
        arg=SCATTER, timeout=120_000)
    settle(page, 800)
    return point_positions(page, n)


@pytest.mark.parametrize("modality", ["image", "text"])
def test_hover_scatter_point_highlights_heatmap_row(explorer_page, modality):
    page, facts = explorer_page
    n = facts["n"]
    xy = _wait_scatter(page, n)
    box = scatter_box(page)
    ok = inside(xy, box)
    rows = np.arange(2 * n)
    wanted = rows < n if modality == "image" else rows >= n
    # the most isolated point of that modality, so the pointer cannot hit a neighbour
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    candidates = np.flatnonzero(ok & wanted)
    assert candidates.size, "no point of this modality is inside the scatter canvas"
    row = int(candidates[np.argmax(d[candidates].min(axis=1))])
    assert d[row].min() > 4, "every point has a neighbour closer than 4 px"
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.move(*xy[row], steps=5)
    page.wait_for_function(
        "([s, want]) => document.querySelector(s)?.getAttribute('data-highlight-row') === want",
        arg=[HEATMAP, str(row)], timeout=15_000)
    H.save_screenshot(page.locator(EXPLORER), f"09_scatter_hover_{modality}")
    page.mouse.move(1, 1)


def _lasso_polygon(xy: np.ndarray, ok: np.ndarray, n: int, box: dict, margin: float = 8.0) -> np.ndarray:
    """A square lasso around the densest part of the image points, a quarter of their spread, kept
    ``margin`` px inside the canvas ``box`` (a press off the canvas starts no lasso; the robust
    scaling puts points on the plot's edges)."""
    img = xy[:n][ok[:n]]
    spread = img.max(axis=0) - img.min(axis=0)
    half = np.maximum(spread / 4, 12.0)
    d = np.linalg.norm(img[:, None, :] - img[None, :, :], axis=2)
    centre = img[np.argmax((d < half.min()).sum(axis=1))]
    poly = np.array([centre + half * [-1, -1], centre + half * [1, -1],
                     centre + half * [1, 1], centre + half * [-1, 1]])
    lo = np.array([box["x"], box["y"]]) + margin
    hi = np.array([box["x"] + box["width"], box["y"] + box["height"]]) - margin
    return np.clip(poly, lo, hi)


def test_lasso_selection_reaches_python(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    xy = _wait_scatter(page, n)
    ok = inside(xy, scatter_box(page))
    poly = _lasso_polygon(xy, ok, n, scatter_box(page))
    # points within 3 px of the lasso's edge may fall either way; all others are decided
    near_edge = distance_to_polygon(xy, poly) <= 3
    enclosed = points_in_polygon(xy, poly) & ok
    must = sorted(set(int(r % n) for r in np.flatnonzero(enclosed & ~near_edge)))
    may = sorted(set(int(r % n) for r in np.flatnonzero((enclosed | near_edge) & ok)))
    assert must, "the lasso encloses no point"
    assert len(may) < n, "the lasso encloses every pair"

    lasso = page.locator('[data-amumo="lasso"]')
    use_button = lasso.count() > 0
    if use_button:
        lasso.first.click()
    else:
        page.keyboard.down("Shift")
    # around the square, stopping short of the start: regl-scatterplot closes the lasso itself,
    # and a release on the press position counts as a click (which selects one point instead)
    path = [poly[k] + (poly[(k + 1) % 4] - poly[k]) * t
            for k in range(4) for t in np.linspace(0, 1, 12, endpoint=False)][:-2]
    page.mouse.move(*path[0])
    page.mouse.down()
    for p in path[1:]:
        page.mouse.move(*p, steps=2)
        page.wait_for_timeout(15)
    page.mouse.up()
    if not use_button:
        page.keyboard.up("Shift")
    settle(page, 1000)
    H.save_screenshot(page.locator(EXPLORER), "10_lasso")

    out = H.run_cell_containing(page, explorer_probe.SELECTION_MARKER)
    line = next(l for l in out.splitlines() if l.startswith(explorer_probe.SELECTION_PREFIX))
    selection = json.loads(line[len(explorer_probe.SELECTION_PREFIX):])
    H.save_screenshot(page, "11_selection_in_python")
    assert set(must) <= set(selection) <= set(may), (len(must), len(selection), len(may))

    # Escape (e.g. leaving a cell's edit mode) must not clear the lasso selection
    page.locator(SCATTER).hover()
    page.keyboard.press("Escape")
    settle(page, 500)
    assert page.text_content('[data-amumo="selection-count"]').startswith(f"{len(selection)} selected")
    out = H.run_cell_containing(page, explorer_probe.SELECTION_MARKER)
    assert explorer_probe.SELECTION_PREFIX + json.dumps(selection) in out, out

    # a lasso released exactly where it started, on a point: still a lasso, not a click on that point
    xy = _wait_scatter(page, n)  # running the cell scrolled the page: positions again
    ok = inside(xy, scatter_box(page))
    poly = _lasso_polygon(xy, ok, n, scatter_box(page))
    start = xy[:n][ok[:n]][np.argmin(np.linalg.norm(xy[:n][ok[:n]] - poly.mean(axis=0), axis=1))]
    loop = np.vstack([start, poly, poly[:1]])  # out to a corner, around the square, back in
    near_edge = distance_to_polygon(xy, loop) <= 3
    enclosed = points_in_polygon(xy, loop) & ok
    must2 = sorted(set(int(r % n) for r in np.flatnonzero(enclosed & ~near_edge)))
    may2 = sorted(set(int(r % n) for r in np.flatnonzero((enclosed | near_edge) & ok)))
    assert len(must2) >= 2, "the closed lasso encloses fewer than two pairs"
    if not use_button:
        page.keyboard.down("Shift")
    page.mouse.move(*start)
    page.mouse.down()
    for k in range(1, len(loop) + 1):
        a, b = loop[k - 1], loop[k % len(loop)]
        for t in np.linspace(0, 1, 8)[1:]:
            page.mouse.move(*(a + (b - a) * t))
            page.wait_for_timeout(15)
    page.mouse.move(*start)
    page.mouse.up()
    if not use_button:
        page.keyboard.up("Shift")
    settle(page, 1000)
    out = H.run_cell_containing(page, explorer_probe.SELECTION_MARKER)
    line = next(l for l in out.splitlines() if l.startswith(explorer_probe.SELECTION_PREFIX))
    closed = json.loads(line[len(explorer_probe.SELECTION_PREFIX):])
    H.save_screenshot(page.locator(EXPLORER), "13_lasso_closed_on_start")
    assert set(must2) <= set(closed) <= set(may2), (len(must2), len(closed), len(may2))

    # leave the explorer as we found it: lasso mode off, selection cleared (in Python too)
    if use_button:
        lasso.first.click()
    page.locator('[data-amumo="selection-clear"]').click()
    settle(page, 500)
    out = H.run_cell_containing(page, explorer_probe.SELECTION_MARKER)
    assert explorer_probe.SELECTION_PREFIX + "[]" in out


def _toggle(page, marker: str, name: str, state: str) -> None:
    """Run a toggle probe cell (see ``explorer_probe``) and check it switched ``name`` to ``state``."""
    out = H.run_cell_containing(page, marker)
    assert f"{explorer_probe.TOGGLE_PREFIX}{name}:{state}" in out, out


@contextlib.contextmanager
def block_means_view(page, n: int):
    """The explorer's heatmap on a 64-cell grid of block means (with its view vectors) inside the
    block; the full exact 2n x 2n view again after it."""
    _toggle(page, explorer_probe.BLOCK_MEANS_MARKER, "block-means", "on")
    try:
        page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-rows') === '64'",
                               arg=HEATMAP, timeout=60_000)
        yield
    finally:
        page.mouse.move(1, 1)
        _toggle(page, explorer_probe.BLOCK_MEANS_MARKER, "block-means", "off")
        page.wait_for_function("([s, r]) => document.querySelector(s)?.getAttribute('data-rows') === r",
                               arg=[HEATMAP, str(2 * n)], timeout=60_000)


def assert_shows_value(text: str, expected: float) -> None:
    """The number before "(" in a hover value line ("cos = x (…)") is ``expected`` to its printed decimals."""
    values = floats_in(text.split("(")[0])
    assert values and abs(values[0] - expected) <= 0.5 * 10 ** -decimals_of(text) + 1e-6, (text, expected)


def test_block_mean_hover_value_is_exact_without_a_kernel_request(explorer_page):
    page, facts = explorer_page
    n, cross = facts["n"], np.asarray(facts["cross"])
    value_sel = '[data-amumo="hover-value"]'
    with block_means_view(page, n):  # 64 cells, view vectors sent
        requests_before = page.get_attribute(HEATMAP, "data-value-requests")
        box = canvas_box(page)
        # aim at image 7 x text 7 (stacked row 7, col n+7): inside the probe's 16 x 16 cross block
        x = box["x"] + (n + 7.5) / (2 * n) * box["width"]
        y = box["y"] + 7.5 / (2 * n) * box["height"]
        page.mouse.move(1, 1)
        page.mouse.move(x, y)
        page.wait_for_function(
            "s => /cos = -?[0-9]/.test(document.querySelector(s)?.textContent || '')", arg=value_sel, timeout=10_000)
        row = int(page.get_attribute(HEATMAP, "data-hover-row"))
        col = int(page.get_attribute(HEATMAP, "data-hover-col"))
        assert 0 <= row < 16 and n <= col < n + 16, (row, col)
        text = page.text_content(value_sel)
        assert "loading" not in text and page.get_attribute(value_sel, "data-pending") != "true", text
        assert f"row {row}, col {col}" in text, text
        assert_shows_value(text, cross[row, col - n])
        page.wait_for_timeout(300)
        assert page.get_attribute(HEATMAP, "data-value-requests") == requests_before  # no kernel round trip


def test_exact_value_pending_ends_when_the_pointer_leaves(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    value_sel = '[data-amumo="hover-value"]'
    _toggle(page, explorer_probe.SLOW_VALUES_MARKER, "slow-values", "on")  # block means, replies after 1.5 s
    try:
        page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-rows') === '64'",
                               arg=HEATMAP, timeout=60_000)
        box = canvas_box(page)
        x, y = cell_centre(box, 64, 5, 40)
        page.mouse.move(1, 1)
        page.mouse.move(x, y)
        page.wait_for_function("s => (document.querySelector(s)?.textContent || '').includes('loading')",
                               arg=value_sel, timeout=10_000)
        pending = page.text_content(value_sel)
        assert "≈" in pending, pending
        assert page.get_attribute(HEATMAP, "data-value-requests"), "no vectors: the value is a kernel request"
        page.mouse.move(1, 1)  # leave before the kernel answers
        page.wait_for_function(
            "s => { const e = document.querySelector(s); return e && e.getAttribute('data-pending') !== 'true'"
            " && !e.textContent.includes('loading'); }", arg=value_sel, timeout=5_000)
        settled = page.text_content(value_sel)
        page.wait_for_timeout(3_000)  # the late reply arrives meanwhile and must be dropped
        assert page.text_content(value_sel) == settled
        assert "≈" in settled and floats_in(settled) and "loading" not in settled, settled
        where = re.search(r"row \d+, col \d+", pending).group(0)
        assert where in settled, (pending, settled)
    finally:
        _toggle(page, explorer_probe.SLOW_VALUES_MARKER, "slow-values", "off")
        page.wait_for_function("([s, r]) => document.querySelector(s)?.getAttribute('data-rows') === r",
                               arg=[HEATMAP, str(2 * n)], timeout=60_000)


def test_hostile_captions_are_text_and_missing_images_show_a_placeholder(explorer_page):
    page, _facts = explorer_page
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has=page.locator(
        ".jp-InputArea-editor", has_text=explorer_probe.HOSTILE_MARKER)).first
    _toggle(page, explorer_probe.HOSTILE_MARKER, "hostile", "on")
    try:
        cell.locator(HEATMAP + '[data-rows="8"]').wait_for(timeout=60_000)
        canvas = cell.locator(HEATMAP_CANVAS)
        box = stable_box(canvas)
        captions = ["<b>bold?</b>", explorer_probe.XSS_CAPTION, "<script>window.__amumo_xss=2</script>", "a & b < c"]
        # (row, col) in the 8x8 stacked matrix: images 0..3, texts 4..7
        for r, c, pairs in [(1, 0, (1, 0)), (2, 7, (2, 3))]:
            x, y = cell_centre(box, 8, r, c)
            page.mouse.move(1, 1)
            page.mouse.move(x, y)
            want = [captions[p] for p in pairs]
            deadline = time.monotonic() + 15
            while cell.locator('[data-amumo="hover-caption"]').all_text_contents() != want:
                assert time.monotonic() < deadline, cell.locator('[data-amumo="hover-caption"]').all_text_contents()
                page.wait_for_timeout(100)
            panel = cell.locator('[data-amumo="hover-panel"]')
            assert panel.locator("b, script, img:not([data-amumo='hover-thumb'])").count() == 0
            image_pair = pairs[0]  # the row item is an image; 0 and 2 are missing on disk
            if image_pair in (0, 2) or (c < 4 and pairs[1] in (0, 2)):
                cell.locator('[data-amumo="hover-thumb-missing"]').first.wait_for(timeout=15_000)
                warning = cell.locator('[data-amumo="hover-warning"]').text_content()
                missing = image_pair if image_pair in (0, 2) else pairs[1]
                assert f"pair {missing}" in warning and "could not be loaded" in warning, warning
            if image_pair in (1, 3):
                cell.locator('img[data-amumo="hover-thumb"]').first.wait_for(timeout=15_000)
            H.save_screenshot(cell.locator(EXPLORER), f"14_hostile_{r}_{c}")
        page.wait_for_timeout(500)
        assert page.evaluate("() => typeof window.__amumo_xss") == "undefined"
    finally:
        page.mouse.move(1, 1)
        _toggle(page, explorer_probe.HOSTILE_MARKER, "hostile", "off")
    cell.locator(EXPLORER).wait_for(state="detached", timeout=30_000)


def _facts_now(page) -> dict:
    """Re-run the facts probe cell: facts of the explorer's current model."""
    out = H.run_cell_containing(page, explorer_probe.FACTS_MARKER)
    line = next(l for l in out.splitlines() if l.startswith(explorer_probe.FACTS_PREFIX))
    return json.loads(line[len(explorer_probe.FACTS_PREFIX):])


def _info(page) -> str:
    return page.text_content('[data-amumo="heatmap-info"]') or ""


def _info_range(text: str) -> tuple[int, int, int, int]:
    """(r0, r1, c0, c1) inclusive from the heatmap info line "rows a–b, cols c–d"."""
    m = re.search(r"rows (\d+)–(\d+), cols (\d+)–(\d+)", text)
    assert m, text
    return tuple(int(g) for g in m.groups())


def test_wheel_and_box_zoom_fetch_exact_values_of_the_region(explorer_page):
    page, facts = explorer_page
    n, cross = facts["n"], np.asarray(facts["cross"])
    with block_means_view(page, n):  # 64 cells of block means
        assert "block means" in _info(page) and _info_range(_info(page)) == (0, 2 * n - 1, 0, 2 * n - 1)
        # wheel in around image 8 x text 8 (stacked row 8, col n+8) until the view is exact
        box = canvas_box(page)
        x = box["x"] + (n + 8.5) / (2 * n) * box["width"]
        y = box["y"] + 8.5 / (2 * n) * box["height"]
        page.mouse.move(x, y)
        for _ in range(14):  # 1000 rows / 1.3**14 < 30 rows
            page.mouse.wheel(0, -100)
            page.wait_for_timeout(40)
        page.wait_for_function(
            "s => (document.querySelector(s)?.textContent || '').includes('exact values')",
            arg='[data-amumo="heatmap-info"]', timeout=30_000)
        r0, r1, c0, c1 = _info_range(_info(page))
        assert r1 - r0 + 1 < 64 and c1 - c0 + 1 < 64, _info(page)
        assert r0 <= 8 <= r1 and c0 <= n + 8 <= c1, (r0, r1, c0, c1)  # the point under the wheel stays
        assert int(page.get_attribute(HEATMAP, "data-rows")) == r1 - r0 + 1
        H.save_screenshot(page.locator(EXPLORER), "15_wheel_zoomed")
        # a cell of the zoomed region: its exact value, against numpy
        page.mouse.move(1, 1)
        page.mouse.move(x, y, steps=3)
        page.wait_for_function(
            "s => /cos = -?[0-9]/.test(document.querySelector(s)?.textContent || '')",
            arg='[data-amumo="hover-value"]', timeout=15_000)
        row = int(page.get_attribute(HEATMAP, "data-hover-row"))
        col = int(page.get_attribute(HEATMAP, "data-hover-col"))
        # integer view bounds: the cell under the pointer may drift a few rows over 14 steps
        assert r0 <= row <= r1 and c0 <= col <= c1 and abs(row - 8) <= 4 and abs(col - n - 8) <= 4, (row, col)
        text = page.text_content('[data-amumo="hover-value"]')
        assert f"row {row}, col {col}" in text, text
        assert_shows_value(text, cross[row, col - n])

        # double-click: back to the whole matrix
        page.mouse.dblclick(x, y)
        page.wait_for_function("s => document.querySelector(s)?.getAttribute('data-rows') === '64'",
                               arg=HEATMAP, timeout=30_000)
        assert _info_range(_info(page)) == (0, 2 * n - 1, 0, 2 * n - 1)

        # drag a box over the top-left 16 x 16 of the image-text quadrant
        box = canvas_box(page)
        scale = box["width"] / (2 * n)  # CSS px per stacked row
        page.mouse.move(1, 1)
        page.mouse.move(box["x"] + n * scale + 0.1, box["y"] + 0.1)  # (row 0, col n): pointer px are fractional
        page.mouse.down()
        page.mouse.move(box["x"] + (n + 32) * scale, box["y"] + 32 * scale, steps=6)
        page.mouse.up()
        page.wait_for_function(
            "s => (document.querySelector(s)?.textContent || '').includes('exact values')",
            arg='[data-amumo="heatmap-info"]', timeout=30_000)
        r0, r1, c0, c1 = _info_range(_info(page))
        assert r0 <= 1 and n <= c0 <= n + 1 and 30 <= r1 <= 32 and n + 30 <= c1 <= n + 32, (r0, r1, c0, c1)
        H.save_screenshot(page.locator(EXPLORER), "16_box_zoomed")
        rows = r1 - r0 + 1
        cbox = canvas_box(page)
        # cell (image 5, text 9) of the zoomed tile
        cx = cbox["x"] + (n + 9 - c0 + 0.5) / (c1 - c0 + 1) * cbox["width"]
        cy = cbox["y"] + (5 - r0 + 0.5) / rows * cbox["height"]
        page.mouse.move(cx, cy, steps=3)
        page.wait_for_function(
            "s => /row 5, col [0-9]+/.test(document.querySelector(s)?.textContent || '')",
            arg='[data-amumo="hover-value"]', timeout=15_000)
        text = page.text_content('[data-amumo="hover-value"]')
        assert f"row 5, col {n + 9}" in text, text
        assert_shows_value(text, cross[5, 9])
        page.mouse.dblclick(cx, cy)


def test_model_dropdown_switches_readout_pixels_and_values(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    select = page.locator('select[data-amumo="model"]')
    names = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(names) >= 2, names
    first = select.input_value()
    other = next(m for m in names if m != first)
    readout_sel = '[data-amumo="gap-readout"]'
    readout0 = page.text_content(readout_sel)
    png0 = heatmap_png(page)
    select.select_option(other)
    try:
        page.wait_for_function(
            "([s, old]) => { const e = document.querySelector(s); return e && e.textContent !== old"
            " && e.getAttribute('data-pending') !== 'true'; }", arg=[readout_sel, readout0], timeout=60_000)
        assert wait_pixels(page, png0, changed=True) > 0.05
        new = _facts_now(page)  # numpy on the raw vectors of the model now shown
        assert new["n"] == n and abs(new["gap"] - facts["gap"]) > 1e-3, (new["gap"], facts["gap"])
        shown = shown_gap(page)
        assert abs(floats_in(shown)[0] - new["gap"]) <= 5e-5 + 1e-9, (shown, new["gap"])
        rows = int(heatmap_attrs(page)["rows"])
        text = _hover_cell(page, rows, 3, n + 11, new["captions"][3])
        assert_shows_value(text, new["cross"][3][11])
        assert abs(new["cross"][3][11] - facts["cross"][3][11]) > 1e-3  # the two models differ there
        H.save_screenshot(page.locator(EXPLORER), "17_other_model")
    finally:
        page.mouse.move(1, 1)
        select.select_option(first)
        page.wait_for_function("([s, old]) => document.querySelector(s)?.textContent === old",
                               arg=[readout_sel, readout0], timeout=60_000)
        wait_pixels(page, png0, changed=False)
    assert _facts_now(page)["gap"] == facts["gap"]


def test_projection_dropdown_runs_joint_and_tsne_in_the_background(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    select = page.locator('select[data-amumo="projection"]')
    scatter_canvas = page.locator(SCATTER + " canvas").first
    assert page.get_attribute(SCATTER, "data-projection") == "pca"
    assert page.get_attribute(SCATTER, "data-points") == str(2 * n)
    png_pca = scatter_canvas.screenshot()

    def shows(method: str, points: int) -> None:
        page.wait_for_function(
            "([s, m, k]) => { const e = document.querySelector(s); return e && e.getAttribute('data-projection') === m"
            " && e.getAttribute('data-busy') === 'false' && e.getAttribute('data-points') === k; }",
            arg=[SCATTER, method, str(points)], timeout=180_000)

    try:
        select.select_option("joint")  # one point per pair: the concatenated [image | text] vectors
        shows("joint", n)
        settle(page, 600)
        assert H.pixel_difference(png_pca, scatter_canvas.screenshot()) > 0.005
        H.save_screenshot(page.locator(EXPLORER), "18_projection_joint")
        select.select_option("tsne")
        page.wait_for_function(  # t-SNE of 2n points takes seconds: busy (with progress) meanwhile
            "s => document.querySelector(s)?.getAttribute('data-busy') === 'true'", arg=SCATTER, timeout=10_000)
        assert "t-SNE" in (page.text_content('[data-amumo="projection-status"]') or "")
        shows("tsne", 2 * n)
        settle(page, 600)
        png_tsne = scatter_canvas.screenshot()
        assert H.pixel_difference(png_pca, png_tsne) > 0.005
        H.save_screenshot(page.locator(EXPLORER), "19_projection_tsne")
        # a hovered t-SNE point is a real item: its pair's row lights up in the heatmap
        xy = _wait_scatter(page, n)
        ok = np.flatnonzero(inside(xy, scatter_box(page))[:n])
        i = int(ok[len(ok) // 2])
        page.mouse.move(1, 1)
        page.mouse.move(*xy[i], steps=3)
        page.wait_for_function("s => document.querySelector(s)?.hasAttribute('data-highlight-row')",
                               arg=HEATMAP, timeout=10_000)
        hovered = int(page.get_attribute(SCATTER, "data-hover-point"))
        assert int(page.get_attribute(HEATMAP, "data-highlight-row")) == hovered  # unfiltered: row = point
    finally:
        page.mouse.move(1, 1)
        select.select_option("pca")
        shows("pca", 2 * n)


def test_comparison_hover_in_one_model_highlights_the_pair_in_the_other(explorer_page):
    page, facts = explorer_page
    n = facts["n"]
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has=page.locator(
        ".jp-InputArea-editor", has_text=explorer_probe.COMPARISON_MARKER)).first
    out = H.run_cell_containing(page, explorer_probe.COMPARISON_MARKER)
    assert f"{explorer_probe.TOGGLE_PREFIX}comparison:on" in out, out
    try:
        cell.locator(".jp-OutputArea", has_text=explorer_probe.COMPARE_PREFIX).wait_for(timeout=60_000)
        out = cell.locator(".jp-OutputArea").inner_text()
        line = next(l for l in out.splitlines() if l.startswith(explorer_probe.COMPARE_PREFIX))
        info = json.loads(line[len(explorer_probe.COMPARE_PREFIX):])
        left, right = cell.locator(EXPLORER).nth(0), cell.locator(EXPLORER).nth(1)
        for side in (left, right):
            side.locator(HEATMAP + "[data-rows]").wait_for(timeout=60_000)
        assert [left.locator(".amumo-title").text_content(), right.locator(".amumo-title").text_content()] == info["models"]
        box = stable_box(left.locator(HEATMAP_CANVAS))
        rows = int(left.locator(HEATMAP).get_attribute("data-rows"))
        assert rows == 2 * n
        i, j = 3, 11
        x, y = cell_centre(box, rows, i, n + j)
        page.mouse.move(x - 20, y - 20)
        page.mouse.move(x, y, steps=4)
        right_heat = right.locator(HEATMAP)
        deadline = time.monotonic() + 15
        while right_heat.get_attribute("data-highlight-row") is None:
            assert time.monotonic() < deadline, "the other model's heatmap was not highlighted"
            page.wait_for_timeout(50)
        assert left.locator(HEATMAP).get_attribute("data-hover-row") == str(i)
        assert left.locator(HEATMAP).get_attribute("data-hover-col") == str(n + j)
        assert right_heat.get_attribute("data-highlight-row") == str(i)
        assert right_heat.get_attribute("data-highlight-col") == str(n + j)
        # each panel: the same pair, its own model's exact value
        for side, cross in ((left, info["cross"][0]), (right, info["cross"][1])):
            value_el = side.locator('[data-amumo="hover-value"]')
            deadline = time.monotonic() + 15
            while not re.search(r"cos = -?[0-9]", value_el.text_content() or ""):
                assert time.monotonic() < deadline, value_el.text_content()
                page.wait_for_timeout(50)
            text = value_el.text_content()
            assert f"row {i}, col {n + j}" in text, text
            assert_shows_value(text, cross[i][j])
            assert facts["captions"][i] in side.locator('[data-amumo="hover-panel"]').text_content()
        H.save_screenshot(cell.locator(".jp-OutputArea"), "20_comparison_hover")
    finally:
        page.mouse.move(1, 1)
        out = H.run_cell_containing(page, explorer_probe.COMPARISON_MARKER)
        assert f"{explorer_probe.TOGGLE_PREFIX}comparison:off" in out, out
    cell.locator(EXPLORER).first.wait_for(state="detached", timeout=30_000)


def test_standalone_heatmap_and_scatter_link_and_a_one_pair_explorer_works(explorer_page):
    page, facts = explorer_page
    n, cross = facts["n"], np.asarray(facts["cross"])
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has=page.locator(
        ".jp-InputArea-editor", has_text=explorer_probe.STANDALONE_MARKER)).first
    _toggle(page, explorer_probe.STANDALONE_MARKER, "standalone", "on")
    try:
        heat_widget = cell.locator('[data-amumo="heatmap-widget"]')
        scatter_widget = cell.locator('[data-amumo="scatter-widget"]')
        heat_widget.locator(HEATMAP + f'[data-rows="{2 * n}"]').wait_for(timeout=60_000)
        scatter_widget.locator(SCATTER + f'[data-points="{2 * n}"]').wait_for(timeout=60_000)
        assert cell.locator(EXPLORER).count() == 1  # the one-pair explorer; the other two are bare views

        # the heatmap alone: its own hover panel, exact values
        box = stable_box(heat_widget.locator(HEATMAP_CANVAS))
        x, y = cell_centre(box, 2 * n, 3, n + 11)
        page.mouse.move(x - 20, y - 20)
        page.mouse.move(x, y, steps=4)
        value_el = heat_widget.locator('[data-amumo="hover-value"]')
        deadline = time.monotonic() + 15
        while "row 3, col" not in (value_el.text_content() or ""):
            assert time.monotonic() < deadline, value_el.text_content()
            page.wait_for_timeout(50)
        text = value_el.text_content()
        assert f"row 3, col {n + 11}" in text, text
        assert_shows_value(text, cross[3, 11])
        captions = heat_widget.locator('[data-amumo="hover-caption"]').all_text_contents()
        assert captions == [facts["captions"][3], facts["captions"][11]], captions
        H.save_screenshot(heat_widget, "21_standalone_heatmap")

        # the scatter of the same session: hovering a point lights up its row in the heatmap
        page.mouse.move(1, 1)
        scatter_el = scatter_widget.locator(SCATTER)
        scatter_el.evaluate("e => e.scrollIntoView({block: 'center'})")
        settle(page, 800)
        xy = point_positions(page, n, scatter_el)
        sbox = scatter_widget.locator(SCATTER + " canvas").first.bounding_box()
        ok = np.flatnonzero(inside(xy, sbox))
        d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
        np.fill_diagonal(d, np.inf)
        p = int(ok[np.argmax(d[ok].min(axis=1))])  # the most isolated point: the pointer finds that one
        assert d[p].min() > 4, "every point has a neighbour closer than 4 px"
        # the page may still shift (panels resizing above): aim at where the point is now, until it is hit
        deadline = time.monotonic() + 20
        while scatter_el.get_attribute("data-hover-point") != str(p):
            assert time.monotonic() < deadline, ("point never hovered", p, scatter_el.get_attribute("data-hover-point"))
            target = scatter_el.evaluate("(e, [p, n]) => e.amumoPointToClient(p % n, p < n ? 'image' : 'text')", [p, n])
            sbox = scatter_widget.locator(SCATTER + " canvas").first.bounding_box()
            page.mouse.move(sbox["x"] + 2, sbox["y"] + 2)
            page.mouse.move(*target, steps=5)
            page.wait_for_timeout(200)
        heat_el = heat_widget.locator(HEATMAP)
        deadline = time.monotonic() + 15
        while heat_el.get_attribute("data-highlight-row") is None:
            assert time.monotonic() < deadline, "hovering the standalone scatter did not reach its heatmap"
            page.wait_for_timeout(50)
        assert scatter_el.get_attribute("data-hover-point") == str(p)
        assert heat_el.get_attribute("data-highlight-row") == str(p)  # unfiltered: stacked row = point
        assert facts["captions"][p % n] in scatter_widget.locator('[data-amumo="hover-panel"]').text_content()
        H.save_screenshot(scatter_widget, "22_standalone_scatter")
        page.mouse.move(1, 1)

        # one pair: a 2 x 2 matrix, and its cells hover like any other
        one = cell.locator(EXPLORER)
        one.locator(HEATMAP + '[data-rows="2"]').wait_for(timeout=60_000)
        assert "1 of 1 pairs" in one.locator('[data-amumo="filter-count"]').text_content()
        obox = stable_box(one.locator(HEATMAP_CANVAS))
        page.mouse.move(*cell_centre(obox, 2, 0, 1), steps=3)
        deadline = time.monotonic() + 15
        while "row 0, col 1" not in (one.locator('[data-amumo="hover-value"]').text_content() or ""):
            assert time.monotonic() < deadline, one.locator('[data-amumo="hover-value"]').text_content()
            page.wait_for_timeout(50)
        assert_shows_value(one.locator('[data-amumo="hover-value"]').text_content(), cross[0, 0])
        H.save_screenshot(one, "23_one_pair_explorer")
    finally:
        page.mouse.move(1, 1)
        _toggle(page, explorer_probe.STANDALONE_MARKER, "standalone", "off")
    cell.locator('[data-amumo="heatmap-widget"]').wait_for(state="detached", timeout=30_000)
