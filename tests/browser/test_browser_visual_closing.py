"""Pair lines coloured by cosine, and the side-by-side VisualClosing, in a real browser.

JupyterLab + headless Debian chromium + Playwright. One notebook (written here):

- a standalone ``Scatter`` of three pairs of 2-d unit vectors on the circle (PCA of 2-d vectors is
  the circle itself, rotated: each pair's line is a chord, far from the other chords and points):
  "high" at 10°/40° (cosine 0.87, the top of the range), "low" at 150°/270° (cosine −0.5, the bottom),
  "middle" at 280°/360° (cosine 0.17, the grey centre of the map); lines coloured by cosine. The pixels along each drawn line
  carry the colour-map colour of its cosine (the direction of the ink, 255 − rgb, over white: the
  high pair the map's high end, the low pair its low end, the middle one its own map index), the
  legend shows "pair cosine" with the kernel's range, the line-colour select switches to grey lines
  (ink without hue) and back; screenshots ``visual_closing_01_lines.png``, ``_02_grey.png``;
- ``VisualClosing`` of 120 clustered pairs with PCA | joint: both scatters paint their points (2n and
  n), each titled (the PCA one with the kernel's same-cluster share), and hovering a point in the
  left one rings its pair in the right one (one link group); screenshot ``visual_closing_03_side_by_side.png``.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "visual_closing_under_test.ipynb"
FACTS_PREFIX = "VC_FACTS="
VC_PREFIX = "VC_SIDE="
SETUP_MARKER = "# amumo-vc: lines"
SIDE_MARKER = "# amumo-vc: side by side"
N_SIDE = 120
PAIRS = {"high": 0, "low": 1, "middle": 2}

SETUP_CELL = SETUP_MARKER + '''
import json
import numpy as np
from amumo_ng.store.embeddings import Embeddings
from amumo_ng.widgets import Scatter, VisualClosing
from amumo_ng.widgets.colormap import quantize
angles = [(10, 40), (150, 270), (280, 360)]  # high, low, middle
on_circle = lambda a: [np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))]
image = np.array([on_circle(a) for a, _ in angles])
text = np.array([on_circle(b) for _, b in angles])
emb = Embeddings.from_arrays(image, text, captions=["high", "low", "middle"], model_id="circle")
sc = Scatter(emb, line_color="cosine", view_size=360)
display(sc)
cos = np.frombuffer(sc.pair_cosines, np.float32)
lo, hi = sc.line_color_range
print("''' + FACTS_PREFIX + '''" + json.dumps({"cos": cos.tolist(), "range": [lo, hi],
    "codes": quantize(cos, lo, hi).tolist(), "lut": np.frombuffer(sc.line_colormap, np.uint8).reshape(256, 3).tolist()}))'''

SIDE_CELL = SIDE_MARKER + f'''
rng = np.random.default_rng(3)
centres = 3 * rng.normal(size=(4, 16))
latent = centres[np.arange({N_SIDE}) % 4] + rng.normal(size=({N_SIDE}, 16))
emb2 = Embeddings.from_arrays(latent + 0.4 * rng.normal(size=({N_SIDE}, 16)) + 1.5,
                              latent + 0.4 * rng.normal(size=({N_SIDE}, 16)) - 1.5,
                              captions=[f"pair {{i}}" for i in range({N_SIDE})], model_id="clusters")
vc = VisualClosing(emb2, projections=("pca", "joint"), n_clusters=4, view_size=320).wait(60)
display(vc)
a = vc.agreements["pca"]
print("{VC_PREFIX}" + json.dumps({{"titles": [s.plot_title for s in vc.scatters], "share": a.share,
                                 "chance": a.baseline}}))'''

SCATTER = '[data-amumo="scatter"]'
CANVAS = 'canvas[data-amumo="scatter-canvas"]'


@pytest.fixture(scope="module")
def lines_page(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SIDE_CELL))
    page = browser.context.new_page()
    problems = H.watch_problems(page)
    H.open_notebook(page, lab_server, NOTEBOOK)
    out = H.run_cell_containing(page, SETUP_MARKER, timeout_ms=180_000)
    line = next(l for l in out.splitlines() if l.startswith(FACTS_PREFIX))
    facts = json.loads(line[len(FACTS_PREFIX):])
    page.amumo_problems = problems
    yield page, facts
    page.close()


def ends(scatter, pair: int) -> np.ndarray:
    """Client [[x, y] image, [x, y] text] of a pair's two points."""
    return np.asarray(scatter.evaluate("(el, p) => [el.amumoPointToClient(p, 'image'), el.amumoPointToClient(p, 'text')]",
                                       pair), dtype=float)


def patches(scatter, client_points, half: int = 3) -> np.ndarray:
    """RGB patches [len, 2*half+1, 2*half+1, 3] of the scatter canvas around client positions, as
    seen over the page's white (the canvas is transparent where nothing is drawn)."""
    got = scatter.locator(CANVAS).evaluate("""(c, [pts, half]) => {
        const r = c.getBoundingClientRect(), ctx = c.getContext('2d');
        return pts.map(([x, y]) => {
            const px = Math.floor((x - r.left) * c.width / r.width), py = Math.floor((y - r.top) * c.height / r.height);
            return Array.from(ctx.getImageData(px - half, py - half, 2 * half + 1, 2 * half + 1).data); }); }""",
        [[list(map(float, p)) for p in client_points], half])
    side = 2 * half + 1
    rgba = np.asarray(got, dtype=float).reshape(len(client_points), side, side, 4)
    alpha = rgba[..., 3:] / 255.0
    return rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)


def line_ink(scatter, pair: int) -> np.ndarray:
    """The mean ink (255 − rgb) of the darkest pixel near each of 9 points along the middle of a pair's
    line (away from its end points), float [3]."""
    a, b = ends(scatter, pair)
    samples = [a + s * (b - a) for s in np.linspace(0.3, 0.7, 9)]
    inks = []
    for patch in patches(scatter, samples):
        ink = 255.0 - patch.reshape(-1, 3)
        inks.append(ink[ink.sum(axis=1).argmax()])
    return np.mean(inks, axis=0)


def direction(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / max(np.linalg.norm(v), 1e-9)


def ink_of(rgb) -> np.ndarray:
    """The ink direction of a colour drawn at any opacity over white."""
    return direction(255.0 - np.asarray(rgb, dtype=float))


def wait_lines(page, cell, scatter, mode: str):
    cell.locator(f'{SCATTER}[data-busy="false"][data-line-color="{mode}"]').wait_for(timeout=60_000)
    # the curves land after the points' first paint: wait for ink along the high pair's line
    H.wait_until(lambda: line_ink(scatter, PAIRS["high"]).sum() > 60, f"no {mode} line drawn", page=page, timeout_s=30)
    H.quiet(page)


def test_line_colour_follows_the_pair_cosine(lines_page):
    """Line colouring: a pair's line colour follows its cosine."""
    page, facts = lines_page
    cos, (lo, hi), codes, lut = facts["cos"], facts["range"], facts["codes"], np.asarray(facts["lut"])
    assert cos[PAIRS["high"]] == pytest.approx(np.cos(np.deg2rad(30)), abs=1e-5)
    assert cos[PAIRS["low"]] == pytest.approx(-0.5, abs=1e-5)
    assert (lo, hi) == pytest.approx((min(cos), max(cos)), abs=1e-6)
    assert codes[PAIRS["high"]] == 255 and codes[PAIRS["low"]] == 0 and 0 < codes[PAIRS["middle"]] < 255
    cell = H.code_cell(page, SETUP_MARKER)
    scatter = cell.locator(SCATTER)
    wait_lines(page, cell, scatter, "cosine")
    assert scatter.get_attribute("data-lines") == "gpu" and scatter.get_attribute("data-points") == "6"
    # the colour the page means for each line is the kernel's map at the kernel's index
    for name, pair in PAIRS.items():
        meant = scatter.evaluate("(el, p) => el.amumoLineColor(p)", pair)
        assert meant == lut[codes[pair]].tolist(), (name, meant)
    # ... and the pixels along each line carry it: the ink's direction is that colour's
    high_end, low_end = ink_of(lut[255]), ink_of(lut[0])
    inks = {name: line_ink(scatter, pair) for name, pair in PAIRS.items()}
    for name, ink in inks.items():
        assert ink.sum() > 60, (name, ink)  # a line is drawn there
    high, low, middle = (direction(inks[k]) for k in ("high", "low", "middle"))
    assert high @ high_end > 0.97 and high @ high_end > high @ low_end + 0.2, (inks["high"], lut[255])
    assert low @ low_end > 0.97 and low @ low_end > low @ high_end + 0.2, (inks["low"], lut[0])
    own = ink_of(lut[codes[PAIRS["middle"]]])
    assert middle @ own > 0.97 and middle @ own > middle @ low_end, (inks["middle"], lut[codes[PAIRS["middle"]]])
    # the legend names the map and its range
    legend = cell.locator('[data-amumo="legend-lines"]')
    assert "pair cosine" in legend.text_content()
    assert float(cell.locator('[data-amumo="legend-lines-low"]').text_content()) == pytest.approx(lo, abs=0.006)
    assert float(cell.locator('[data-amumo="legend-lines-high"]').text_content()) == pytest.approx(hi, abs=0.006)
    H.save_screenshot(cell.locator('[data-amumo="scatter-widget"]'), "visual_closing_01_lines")

    # the select next to the pair-lines toggle: grey lines carry no hue, and back
    select = cell.locator('select[data-amumo="line-color"]')
    assert select.locator("option").evaluate_all("os => os.map(o => o.value)") == ["grey", "cosine"]
    try:
        select.select_option("grey")
        cell.locator(f'{SCATTER}[data-line-color="grey"]').wait_for(timeout=30_000)
        H.wait_until(lambda: np.ptp(line_ink(scatter, PAIRS["low"])) < 25 and line_ink(scatter, PAIRS["low"]).sum() > 30,
                     lambda: f"grey line ink {line_ink(scatter, PAIRS['low'])}", page=page, timeout_s=30)
        assert cell.locator('[data-amumo="legend-lines"]').count() == 0
        H.save_screenshot(cell.locator('[data-amumo="scatter-widget"]'), "visual_closing_02_grey")
    finally:
        select.select_option("cosine")
    wait_lines(page, cell, scatter, "cosine")
    assert direction(line_ink(scatter, PAIRS["low"])) @ low_end > 0.97
    assert not page.amumo_problems, page.amumo_problems


def test_side_by_side_view_paints_two_linked_scatters(lines_page):
    page, _ = lines_page
    out = H.run_cell_containing(page, SIDE_MARKER, timeout_ms=180_000)
    side = json.loads(next(l for l in out.splitlines() if l.startswith(VC_PREFIX))[len(VC_PREFIX):])
    cell = H.code_cell(page, SIDE_MARKER)
    left, right = cell.locator(SCATTER).nth(0), cell.locator(SCATTER).nth(1)
    assert cell.locator(SCATTER).count() == 2
    cell.locator(f'{SCATTER}[data-busy="false"][data-points="{2 * N_SIDE}"][data-projection="pca"]').wait_for(timeout=60_000)
    cell.locator(f'{SCATTER}[data-busy="false"][data-points="{N_SIDE}"][data-projection="joint"]').wait_for(timeout=60_000)
    assert left.get_attribute("data-line-color") == "cosine" and right.get_attribute("data-line-color") == "off"
    titles = cell.locator('[data-amumo="scatter-title"]').all_text_contents()
    assert titles == side["titles"], (titles, side["titles"])
    assert f"{100 * side['share']:.0f}% of {N_SIDE} pairs" in titles[0] and "k = 4" in titles[0]
    assert titles[1].startswith("Joint") and "one point per pair" in titles[1]
    H.quiet(page, 800)
    # both paint: many non-white pixels in each canvas
    from PIL import Image

    for scatter in (left, right):
        img = np.asarray(Image.open(io.BytesIO(scatter.locator(CANVAS).screenshot())).convert("RGB"), dtype=int)
        inked = (img.min(axis=2) < 200).mean()
        assert inked > 0.005, (scatter.get_attribute("data-projection"), inked)
    # hover linked: the left scatter's image point of a pair rings that pair's joint point on the right
    xy = np.asarray(left.evaluate(f"""el => Array.from({{length: {N_SIDE}}}, (_, p) => el.amumoPointToClient(p, 'image'))"""), float)
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(N_SIDE) * 1e9
    texts = np.asarray(left.evaluate(f"""el => Array.from({{length: {N_SIDE}}}, (_, p) => el.amumoPointToClient(p, 'text'))"""), float)
    d_text = np.linalg.norm(xy[:, None] - texts[None], axis=2)
    pair = int(np.argmax(np.minimum(d.min(axis=1), d_text.min(axis=1))))  # the most isolated image point
    page.mouse.move(*xy[pair])
    H.wait_until(lambda: right.get_attribute("data-hover-ring") == str(pair),
                 lambda: f"right ring {right.get_attribute('data-hover-ring')!r}, left {left.get_attribute('data-hover-ring')!r}, pair {pair}",
                 page=page)
    assert left.get_attribute("data-hover-ring") == f"{pair},{N_SIDE + pair}"
    H.save_screenshot(cell.locator(".jp-OutputArea-output").first, "visual_closing_03_side_by_side")
    page.mouse.move(1, 1)
    assert not page.amumo_problems, page.amumo_problems
