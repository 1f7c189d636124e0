"""The kernel's PNG export against what the browser draws (issue 14, item 6).

JupyterLab + headless Debian chromium + Playwright, device pixel ratio 1. One small notebook shows
a standalone ``SimilarityHeatmap`` and ``Scatter`` of 60 pairs and saves both with ``save_png``:

- the heatmap's PNG equals, pixel for pixel, the image the browser painted on its canvas (read
  back with ``getImageData``: one pixel per cell, the same colour map);
- the scatter's PNG matches a screenshot of the scatter: the same pixels are coloured (the
  browser's dots are antialiased, so their rims differ by a pixel) and isolated points have the
  browser's colour at their centres.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "export_under_test.ipynb"
SETUP_MARKER = "# amumo-export: setup"
SAVE_MARKER = "# amumo-export: save"
SAVED_PREFIX = "EXPORT_SAVED="
N, SIZE = 60, 300

SETUP_CELL = SETUP_MARKER + f'''
import json, tempfile
import numpy as np
from amumo_ng.store.embeddings import Embeddings
from amumo_ng.widgets.heatmap import SimilarityHeatmap
from amumo_ng.widgets.scatter import Scatter
rng = np.random.default_rng(11)
centres = 3 * rng.normal(size=(4, 12))
labels = np.arange({N}) % 4
image = centres[labels] + rng.normal(size=({N}, 12)) + 1.0
text = centres[labels] + rng.normal(size=({N}, 12)) - 1.0
emb = Embeddings.from_arrays(image, text, [f"pair {{i}}" for i in range({N})], model_id="export")
heat = SimilarityHeatmap(emb, view_size={SIZE})
sc = Scatter(emb, view_size={SIZE})
sc.show_lines = False
display(heat)
display(sc)'''

SAVE_CELL = SAVE_MARKER + '''
_out = tempfile.mkdtemp(prefix="amumo-export-")
print("''' + SAVED_PREFIX + '''" + json.dumps({
    "heatmap": str(heat.save_png(_out + "/heat.png", legend=False)),
    "scatter": str(sc.save_png(_out + "/scatter.png", legend=False, lines=False)),
    "points": np.frombuffer(sc.points, np.float32).reshape(-1, 2).astype(float).tolist()}))'''


@pytest.fixture(scope="module")
def exported(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SAVE_CELL))
    page = browser.context.new_page()
    problems = H.watch_problems(page)
    H.open_notebook(page, lab_server, NOTEBOOK)
    H.run_cell_containing(page, SETUP_MARKER, timeout_ms=180_000)
    cell = H.code_cell(page, SETUP_MARKER)
    cell.locator(f'[data-amumo="heatmap"][data-rows="{2 * N}"]').wait_for(timeout=60_000)
    cell.locator(f'[data-amumo="scatter"][data-points="{2 * N}"][data-busy="false"]').wait_for(timeout=60_000)
    saved = H.printed(page, SAVE_MARKER, SAVED_PREFIX)
    page.mouse.move(1, 1)  # no hover ring on the scatter
    H.quiet(page, 800)
    yield page, cell, saved, problems
    page.close()


def test_heatmap_png_is_the_canvas_the_browser_painted(exported):
    page, cell, saved, problems = exported
    canvas = cell.locator('canvas[data-amumo="heatmap-canvas"]')
    painted = canvas.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        return {w: c.width, h: c.height, rgba: Array.from(d.data)}; }""")
    browser_rgb = np.asarray(painted["rgba"], np.uint8).reshape(painted["h"], painted["w"], 4)[..., :3]
    with Image.open(saved["heatmap"]) as im:
        kernel_rgb = np.asarray(im.convert("RGB"))
    assert browser_rgb.shape == kernel_rgb.shape == (2 * N, 2 * N, 3)
    assert np.array_equal(browser_rgb, kernel_rgb)
    assert not problems, problems


def test_scatter_png_matches_a_screenshot_of_the_scatter(exported):
    page, cell, saved, problems = exported
    box = cell.locator('canvas[data-amumo="scatter-canvas"]')
    shot = np.asarray(Image.open(io.BytesIO(box.screenshot())).convert("RGB")).astype(int)
    H.save_screenshot(box, "60_export_scatter_browser")
    with Image.open(saved["scatter"]) as im:
        kernel = np.asarray(im.convert("RGB")).astype(int)
    assert kernel.shape == (SIZE, SIZE, 3) and shot.shape[0] - SIZE in (0, 1) and shot.shape[1] - SIZE in (0, 1)
    inked_kernel = (kernel < 245).any(-1)

    def iou_at(offset):  # the canvas may sit at a fractional page position: a 1 px wider screenshot
        part = shot[offset[0]:offset[0] + SIZE, offset[1]:offset[1] + SIZE]
        inked = (part < 245).any(-1)
        return (inked & inked_kernel).sum() / (inked | inked_kernel).sum()

    offset = max(((a, b) for a in range(shot.shape[0] - SIZE + 1) for b in range(shot.shape[1] - SIZE + 1)), key=iou_at)
    iou = iou_at(offset)
    shot = shot[offset[0]:offset[0] + SIZE, offset[1]:offset[1] + SIZE]
    inked_browser = (shot < 245).any(-1)
    # every dot the kernel draws is drawn by the browser within a pixel (antialiased rims aside)
    grown = np.zeros_like(inked_browser)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            grown |= np.roll(np.roll(inked_browser, dr, 0), dc, 1)
    missed = (inked_kernel & ~grown).sum() / inked_kernel.sum()
    xy = np.asarray(saved["points"])
    pix = np.clip(np.stack([np.floor((xy[:, 0] + 1) / 2 * SIZE), np.floor((1 - xy[:, 1]) / 2 * SIZE)], 1), 0, SIZE - 1).astype(int)
    d = np.abs(pix[:, None] - pix[None]).max(-1)
    np.fill_diagonal(d, 10 ** 6)
    alone = np.flatnonzero(d.min(1) > 5)
    centre_diff = [int(np.abs(shot[r, c] - kernel[r, c]).max()) for c, r in pix[alone]]
    print(f"scatter export vs browser: IoU of inked pixels {iou:.3f}, kernel ink missed by the browser "
          f"{missed:.4f}, centre colour max |diff| over {len(alone)} isolated points: {max(centre_diff)}")
    assert len(alone) >= 10
    assert iou > 0.8 and missed < 0.02  # measured 0.885 and 0
    assert max(centre_diff) <= 12  # the same colour where the dot is solid
    assert not problems, problems
