"""The self-contained HTML export in a real browser: opened from ``file://`` with no server.

The page must load nothing from the network, and what it shows must be the kernel's: hover values
against numpy cosine similarities of the same embeddings, zoomed tiles against the Explorer's own
``handle_region``, scatter hover against the pair and its caption. Screenshots go to
``test-artifacts/browser/html_export_*.png``.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import lab_harness as H

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from helpers_widgets import make_embeddings, unit  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

HEATMAP = '[data-amumo="heatmap"]'
CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
VALUE = '[data-amumo="hover-value"]'
INFO = '[data-amumo="heatmap-info"]'
N = 700  # 1400 stacked rows on the default grid of 1024 cells: the first view is block means


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from amumo_ng.widgets import Explorer

    emb = make_embeddings(n=N, d=12, images=True)
    ex = Explorer(emb, title="kernel-free export")
    report = ex.to_html(tmp_path_factory.mktemp("html") / "explorer.html", thumb_size=48)
    rows = np.concatenate([unit(emb.image), unit(emb.text)])
    return {"ex": ex, "emb": emb, "report": report, "S": rows @ rows.T}


@pytest.fixture(scope="module")
def page(browser, exported):
    page = browser.context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(exported["report"].path.as_uri())
    page.wait_for_selector(HEATMAP + "[data-rows]", timeout=60_000)
    page.wait_for_timeout(500)
    yield page, requests, errors
    page.close()


def cos_shown(page) -> float:
    text = page.text_content(VALUE) or ""
    m = re.search(r"cos = ([-−]?\d+\.\d+)", text)
    assert m, text
    return float(m.group(1).replace("−", "-"))


def hover_at(page, fx: float, fy: float) -> tuple[int, int]:
    """Hover the heatmap canvas at fractions (fx, fy) of its box; the resolved (row, col)."""
    box = page.locator(CANVAS).bounding_box()
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=2)
    page.wait_for_function("s => document.querySelector(s)?.hasAttribute('data-hover-row')", arg=HEATMAP)
    page.wait_for_function("s => /cos = /.test(document.querySelector(s)?.textContent || '')", arg=VALUE)
    return int(page.get_attribute(HEATMAP, "data-hover-row")), int(page.get_attribute(HEATMAP, "data-hover-col"))


def view_rect(page) -> tuple[int, int, int, int]:
    m = re.search(r"rows (\d+)–(\d+), cols (\d+)–(\d+)", page.text_content(INFO) or "")
    assert m, page.text_content(INFO)
    r0, r1, c0, c1 = (int(g) for g in m.groups())
    return r0, r1 + 1, c0, c1 + 1


def test_the_page_opens_offline_and_requests_nothing_from_the_network(page, exported):
    page, requests, errors = page
    assert errors == []
    assert requests and all(u.split(":", 1)[0] in ("file", "data", "blob") for u in requests), requests
    assert int(page.get_attribute(HEATMAP, "data-rows")) == exported["ex"].heat_rows
    assert "needs the kernel" in page.text_content('[data-amumo="kernel-free-note"]')
    for control in ("filter-input", "cluster-toggle", "gap-toggle", "projection", "prompt-input"):
        assert page.eval_on_selector(f'[data-amumo="{control}"]', "e => e.disabled"), control
    assert not page.eval_on_selector('[data-amumo="search-input"]', "e => e.disabled")  # jump works in the page
    H.save_screenshot(page, "html_export_01_opened")


def test_heatmap_hover_shows_the_kernels_exact_values(page, exported):
    page, _requests, _errors = page
    S = exported["S"]
    for fx, fy in [(0.13, 0.71), (0.62, 0.08), (0.91, 0.93), (0.37, 0.44)]:
        row, col = hover_at(page, fx, fy)
        want = S[row, col]
        assert abs(cos_shown(page) - want) <= 5.1e-5, (row, col, page.text_content(VALUE), want)
        assert abs(float(exported["ex"].handle_value({"row": row, "col": col})[0]["value"]) - want) < 1e-5
    assert page.get_attribute(HEATMAP, "data-value-requests") is None  # no round trip: from the vectors
    assert page.locator('img[data-amumo="hover-thumb"]').count() >= 1  # the image item's carried thumbnail
    H.save_screenshot(page, "html_export_02_hover")


def test_wheel_zoom_gets_the_levels_then_exact_tiles_equal_to_the_kernels(page, exported):
    page, _requests, _errors = page
    ex, S = exported["ex"], exported["S"]
    box = page.locator(CANVAS).bounding_box()
    centre = (box["x"] + 0.3 * box["width"], box["y"] + 0.6 * box["height"])
    page.mouse.move(*centre)
    page.mouse.wheel(0, -100)  # 1400 -> ~1077 rows: over the grid, so a cut of the view's own level
    page.wait_for_function("s => /double-click/.test(document.querySelector(s)?.textContent || '')", arg=INFO)
    page.wait_for_timeout(400)
    r0, r1, c0, c1 = view_rect(page)
    assert r1 - r0 > 1024
    edges = np.frombuffer(ex.heat_edges, dtype=np.int32)
    cells = lambda a, b: int(np.searchsorted(edges, b - 1, "right") - np.searchsorted(edges, a, "right") + 1)  # noqa: E731
    assert int(page.get_attribute(HEATMAP, "data-rows")) == cells(r0, r1)
    assert "block means" in page.text_content(INFO)
    for _ in range(4):  # ~377 rows: within the grid, exact tiles from the carried vectors
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(150)
    page.wait_for_function("s => /exact values/.test(document.querySelector(s)?.textContent || '')", arg=INFO)
    page.wait_for_timeout(400)
    r0, r1, c0, c1 = view_rect(page)
    assert int(page.get_attribute(HEATMAP, "data-rows")) == r1 - r0 < 1024
    # the drawn pixels are the kernel's tile of the same rectangle, through the same colour map
    reply, buffers = ex.handle_region({"r0": r0, "r1": r1, "c0": c0, "c1": c1})
    lut = ex.heat_lut()
    want = lut[np.frombuffer(buffers[0], dtype=np.uint8)].reshape(reply["rows"], reply["cols"], 3).astype(int)
    got = np.asarray(page.eval_on_selector(CANVAS, """c => Array.from(
        c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"""), dtype=int)
    got = got.reshape(reply["rows"], reply["cols"], 4)[..., :3]
    same = np.all(np.abs(got - want) <= 3, axis=2).mean()  # one colour-map step apart at most
    assert same > 0.999, same
    row, col = hover_at(page, 0.55, 0.35)
    assert r0 <= row < r1 and c0 <= col < c1
    assert abs(cos_shown(page) - S[row, col]) <= 5.1e-5
    H.save_screenshot(page, "html_export_03_zoomed")
    page.dblclick(CANVAS)
    page.wait_for_function("s => /wheel or drag/.test(document.querySelector(s)?.textContent || '')", arg=INFO)


def test_scatter_hover_shows_the_pair(page, exported):
    page, _requests, _errors = page
    emb = exported["emb"]
    page.locator(SCATTER).scroll_into_view_if_needed()
    page.wait_for_function("""s => { const el = document.querySelector(s);
        return el && typeof el.amumoPointToClient === 'function'
            && (el.amumoPointToClient(0, 'image') || []).every(Number.isFinite); }""", arg=SCATTER, timeout=60_000)
    page.wait_for_timeout(600)
    box = page.locator(SCATTER + " canvas").first.bounding_box()
    xy = np.asarray(page.eval_on_selector(SCATTER, """(el, n) => Array.from({length: n},
        (_, i) => el.amumoPointToClient(i, 'image'))""", N), dtype=float)
    ok = np.flatnonzero((xy[:, 0] > box["x"] + 6) & (xy[:, 0] < box["x"] + box["width"] - 6)
                        & (xy[:, 1] > box["y"] + 6) & (xy[:, 1] < box["y"] + box["height"] - 6))
    hovered = None
    for i in ok[:: max(1, len(ok) // 10)][:10]:
        page.mouse.move(1, 1)
        page.mouse.move(*xy[i], steps=3)
        page.wait_for_timeout(250)
        point = page.get_attribute(SCATTER, "data-hover-point")
        if point is not None and int(point) < N:
            hovered = int(point)
            break
    assert hovered is not None, "no image point could be hovered"
    panel = page.text_content('[data-amumo="hover-panel"]') or ""
    assert emb.captions[hovered] in panel
    pair_cos = float((unit(emb.image[hovered:hovered + 1]) @ unit(emb.text[hovered:hovered + 1]).T)[0, 0])
    m = re.search(r"pair cosine = ([-−]?\d+\.\d+)", page.text_content('[data-amumo="hover-pair-cosine"]') or "")
    assert m and abs(float(m.group(1).replace("−", "-")) - pair_cos) <= 5.1e-5
    page.wait_for_selector('img[data-amumo="hover-thumb"]', timeout=10_000)
    # pan (drag) and zoom (wheel) the scatter: the points move on the screen
    before = page.eval_on_selector(SCATTER, "(el, i) => el.amumoPointToClient(i, 'image')", hovered)
    page.mouse.move(before[0] + 30, before[1] + 20)  # zoom in near the hovered point: it moves away
    page.mouse.wheel(0, -150)
    page.wait_for_timeout(500)
    after = page.eval_on_selector(SCATTER, "(el, i) => el.amumoPointToClient(i, 'image')", hovered)
    assert np.hypot(after[0] - before[0], after[1] - before[1]) > 2
    H.save_screenshot(page, "html_export_04_scatter")


def test_without_vectors_hover_settles_on_the_block_mean(browser, exported, tmp_path):
    ex, S = exported["ex"], exported["S"]
    report = ex.to_html(tmp_path / "pixels-only.html", vectors=False, thumb_size=0)
    assert not report.vectors and report.levels == [1024, 1400]
    page = browser.context.new_page()
    try:
        page.goto(report.path.as_uri())
        page.wait_for_selector(HEATMAP + "[data-rows]", timeout=60_000)
        assert "exact values are not carried" in page.text_content('[data-amumo="kernel-free-note"]')
        box = page.locator(CANVAS).bounding_box()
        page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.7 * box["height"], steps=2)
        page.wait_for_function("s => /block mean\\)/.test(document.querySelector(s)?.textContent || '')", arg=VALUE)
        assert page.get_attribute(VALUE, "data-pending") is None  # no "loading" that never ends
        row, col = int(page.get_attribute(HEATMAP, "data-hover-row")), int(page.get_attribute(HEATMAP, "data-hover-col"))
        edges = np.frombuffer(ex.heat_edges, dtype=np.int32)
        i, j = np.searchsorted(edges, row, "right") - 1, np.searchsorted(edges, col, "right") - 1
        block = S[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean()
        m = re.search(r"cos ≈ ([-−]?\d+\.\d+)", page.text_content(VALUE))
        step = (ex.vmax - ex.vmin) / 255
        assert m and abs(float(m.group(1).replace("−", "-")) - block) <= step / 2 + 0.005 + 1e-6
        H.save_screenshot(page, "html_export_05_pixels_only")
    finally:
        page.close()
