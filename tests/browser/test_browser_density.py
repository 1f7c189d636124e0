"""The density first paint of a large scatter is the picture the WebGL points then draw.

JupyterLab + headless Debian chromium + Playwright. A Scatter of 120,000 synthetic pairs (240,000
points, above the density threshold of 200,000) coloured by modality: images in three clusters on
one side of the gap, texts on the other. The page snapshots the scatter's canvas when it shows the
density picture (``data-paint="density"``) and again when the WebGL points replaced it
(``data-paint="points"``). Both pictures must agree: the blue (image) and orange (text) pixels in the
same places (centroids within 3 px), the modalities apart, and the density counting every point.
"""
from __future__ import annotations

import base64
import json

import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "density_under_test.ipynb"
N = 120_000
SETUP = "# density: setup"
SHOW = "# density: show"

SETUP_CELL = SETUP + f'''
import numpy as np, amumo_ng
from amumo_ng.store.embeddings import Embeddings
rng = np.random.default_rng(4)
n, d = {N}, 8
centres = 3 * rng.normal(size=(3, d)).astype(np.float32)
lab = rng.integers(0, 3, n)
image = centres[lab] + 0.4 * rng.standard_normal((n, d), dtype=np.float32) + 2.0
text = centres[lab] + 0.4 * rng.standard_normal((n, d), dtype=np.float32) - 2.0
emb = Embeddings.from_arrays(image, text, captions=[f"pair {{i}}" for i in range(n)])
print("DENSITY_READY")'''

SHOW_CELL = SHOW + '''
from amumo_ng.widgets import Scatter
sc = Scatter(emb)
display(sc)'''

# classify the canvas pixels: image blue #1f77b4-ish, text orange #ff7f0e-ish (blended with white)
SNAPSHOT = """() => {
  window.__density = {};
  const summary = (canvas) => {
    const ctx = canvas.getContext('2d');
    const {data, width, height} = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const acc = {blue: [0, 0, 0], orange: [0, 0, 0], ink: 0};
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const o = 4 * (y * width + x), r = data[o], g = data[o + 1], b = data[o + 2];
      if (data[o + 3] < 16 || (r > 245 && g > 245 && b > 245)) continue; // background: white or transparent
      acc.ink += 1;
      const k = b > r + 20 ? 'blue' : r > b + 20 ? 'orange' : null;
      if (k) { acc[k][0] += x; acc[k][1] += y; acc[k][2] += 1; }
    }
    const c = (v) => v[2] ? [v[0] / v[2], v[1] / v[2], v[2]] : null;
    return {blue: c(acc.blue), orange: c(acc.orange), ink: acc.ink, width, height};
  };
  const mo = new MutationObserver(() => {
    const box = document.querySelector('[data-amumo="scatter"][data-paint]');
    if (!box) return;
    const mode = box.getAttribute('data-paint');
    if (window.__density[mode]) return;
    window.__density[mode] = summary(box.querySelector('canvas[data-amumo="scatter-canvas"]'));
    window.__density[mode].points = Number(box.getAttribute('data-density-points'));
    window.__density[mode].png = box.querySelector('canvas[data-amumo="scatter-canvas"]').toDataURL('image/png');
    if (mode === 'points') mo.disconnect();
  });
  mo.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-paint']});
}"""


@pytest.fixture(scope="module")
def pictures(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, [SETUP_CELL, SHOW_CELL])
    page = browser.context.new_page()
    try:
        H.open_notebook(page, lab_server, NOTEBOOK)
        H.run_cell_containing(page, SETUP, timeout_ms=180_000)
        page.evaluate(SNAPSHOT)
        H.run_cell_containing(page, SHOW, timeout_ms=180_000)
        page.wait_for_function("() => window.__density && window.__density.points", timeout=240_000)
        out = page.evaluate("() => window.__density")
        H.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for mode in ("density", "points"):  # the two pictures, as the canvas held them
            if out.get(mode, {}).get("png", "").startswith("data:image/png;base64,"):
                (H.ARTIFACTS / f"density_canvas_{mode}.png").write_bytes(base64.b64decode(out[mode].pop("png").split(",", 1)[1]))
        H.save_screenshot(H.code_cell(page, SHOW), "density_scatter_points")
        yield out
    finally:
        page.close()


def test_the_density_came_first_and_counts_every_point(pictures):
    assert "density" in pictures and "points" in pictures, json.dumps(pictures)[:400]
    assert pictures["density"]["points"] == 2 * N
    for mode in ("density", "points"):
        p = pictures[mode]
        assert p["blue"] and p["orange"], f"{mode}: both modalities drawn"
        assert p["ink"] > 1000


def test_density_and_webgl_points_put_the_modalities_in_the_same_places(pictures):
    dens, gl = pictures["density"], pictures["points"]
    assert (dens["width"], dens["height"]) == (gl["width"], gl["height"])
    for colour in ("blue", "orange"):
        dx, dy = dens[colour][0] - gl[colour][0], dens[colour][1] - gl[colour][1]
        assert (dx * dx + dy * dy) ** 0.5 < 3.0, f"{colour}: density {dens[colour][:2]} vs WebGL {gl[colour][:2]}"
    apart = ((dens["blue"][0] - dens["orange"][0]) ** 2 + (dens["blue"][1] - dens["orange"][1]) ** 2) ** 0.5
    assert apart > 20, "the gap separates the modalities in the picture"
    # the WebGL points (1.5 px discs) cover more pixels than the density's one pixel per point,
    # but the same region: the inked areas are within a factor of 3
    assert 1 / 3 < dens["ink"] / gl["ink"] < 3
