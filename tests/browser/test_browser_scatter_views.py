"""The scatter reads at a glance: colour-by, dimming, search / jump to a pair, hover detail.

JupyterLab + headless Debian chromium + Playwright. One small notebook (written here, next to the
quickstart in the shared server's root) builds 160 synthetic pairs of the ``shapes`` dataset with a
categorical meta column ``group`` (4 values, also written into each caption as ``[group]``) and a
numeric one ``score``, and shows an Explorer with images; a toggle cell shows a second Explorer of the
same vectors without images. Expected values (captions, groups, pair cosines, point positions,
``explorer.selected()``) are printed by the kernel as JSON and compared with what the page shows.

- colour-by ``meta:group``: one legend entry per category, and the points are drawn (canvas pixels)
  in their category's colour; a numeric column shows a colour ramp with its range;
- the joint projection's legend has one "pair" entry, its points drawn in that colour;
- a filter with the projection fitted on all pairs fades the pairs out of view (and a
  re-projection of the view hides them);
- jump to a pair from the search box and from ``explorer.jump_to``: the heatmap highlights the pair's
  row and column and zooms to the 32-row window around them (exact values), the scatter rings its
  two points and centres on them, the hover panel shows it; a caption search reports its matches
  and those the filter hides;
- hovering an image point shows its text partner and the pair cosine (against numpy);
- ``explorer.selected()`` is the lasso drawn, computed from the kernel's point positions;
- without images the hover panel shows captions only and one "no images attached" note.
"""
from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import lab_harness as H
from screen_geometry import distance_to_polygon, points_in_polygon

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "scatter_views_under_test.ipynb"
FACTS_PREFIX = "VIEWS_FACTS="
STATE_PREFIX = "VIEWS_STATE="
SETUP_MARKER = "# amumo-views: setup"
SHOW_MARKER = "# amumo-views: show"
STATE_MARKER = "# amumo-views: state"
JUMP_MARKER = "# amumo-views: jump"
SCOPE_MARKER = "# amumo-views: scope"
PLAIN_MARKER = "# amumo-views: no images"
N = 160
GROUPS = ["north", "east", "south", "west"]
JUMP_PAIR = 42

SETUP_CELL = SETUP_MARKER + f'''
import json
import numpy as np
import pandas as pd
import amumo_ng
from amumo_ng.datasets.shapes import ShapesDataset
from amumo_ng.store.embeddings import Embeddings
n, d = {N}, 16
ds = ShapesDataset(n=n, seed=2)
rng = np.random.default_rng(5)
GROUPS = {GROUPS!r}
group = np.array(GROUPS)[rng.integers(0, len(GROUPS), n)]
centres = 2.5 * rng.normal(size=(len(GROUPS), d))
latent = centres[[GROUPS.index(g) for g in group]] + rng.normal(size=(n, d))
image = latent + 0.5 * rng.normal(size=(n, d)) + 1.0
text = latent + 0.5 * rng.normal(size=(n, d)) - 1.0
captions = [f"{{c}} [{{g}}]" for c, g in zip(ds.captions, group)]
meta = pd.DataFrame({{"group": group, "score": rng.normal(size=n)}})
emb = Embeddings.from_arrays(image, text, captions, images=ds, meta=meta, model_id="views")
emb_plain = Embeddings.from_arrays(image, text, captions, meta=meta, model_id="plain")
unit = lambda a: np.asarray(a, np.float64) / np.linalg.norm(a, axis=1, keepdims=True)
print("{FACTS_PREFIX}" + json.dumps({{"captions": captions, "group": group.tolist(),
                                     "cos": np.einsum("ij,ij->i", unit(image), unit(text)).tolist()}}))'''

SHOW_CELL = SHOW_MARKER + '''
ex = amumo_ng.Explorer(emb, title="scatter views")
display(ex)'''

STATE_CELL = STATE_MARKER + '''
_sel = ex.selected()
print("''' + STATE_PREFIX + '''" + json.dumps({
    "points": np.frombuffer(ex.points, np.float32).reshape(-1, 2).astype(float).tolist(),
    "kind": ex.point_kind, "clamped": int(np.frombuffer(ex.point_clamped, np.uint8).sum()),
    "selected": [int(i) for i in _sel["index"]], "selected_cos": _sel["pair_cosine"].astype(float).tolist(),
    "columns": [str(c) for c in _sel.columns], "focus": ex.focus_pair, "scope": ex.projection_scope}))'''

JUMP_CELL = JUMP_MARKER + f'''
print("VIEWS_JUMPED", ex.jump_to({JUMP_PAIR}))'''

SCOPE_CELL = SCOPE_MARKER + '''
ex.projection_scope = "view" if ex.projection_scope == "all" else "all"
print("VIEWS_SCOPE=" + ex.projection_scope)'''

PLAIN_CELL = PLAIN_MARKER + '''
_plain_runs = globals().get("_plain_runs", -1) + 1
print("VIEWS_PLAIN=" + ("on" if _plain_runs % 2 == 0 else "off"))
if "ex_plain" in globals():
    ex_plain.close()
    del ex_plain
if _plain_runs % 2 == 0:
    ex_plain = amumo_ng.Explorer(emb_plain, title="no images")
    display(ex_plain)'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
LEGEND = '[data-amumo="scatter-legend"]'
ENTRY = '[data-amumo="legend-entry"]'
OPACITY = 0.85  # the scatter's point opacity over its white background


def write_notebook(path) -> None:
    H.write_notebook(path, (SETUP_CELL, SHOW_CELL, STATE_CELL, JUMP_CELL, SCOPE_CELL, PLAIN_CELL))


class Views:
    def __init__(self, page, facts):
        self.page = page
        self.facts = facts
        self.problems = H.watch_problems(page)

    @property
    def explorer(self):
        return cell(self.page, SHOW_MARKER).locator(EXPLORER)


def cell(page, marker):
    return H.code_cell(page, marker)


@pytest.fixture(scope="module")
def views(lab_server, browser):
    write_notebook(lab_server.root / NOTEBOOK)
    page = browser.context.new_page()
    H.open_notebook(page, lab_server, NOTEBOOK)
    out = H.run_cell_containing(page, SETUP_MARKER, timeout_ms=180_000)
    line = next(l for l in out.splitlines() if l.startswith(FACTS_PREFIX))
    v = Views(page, json.loads(line[len(FACTS_PREFIX):]))
    H.run_cell_containing(page, SHOW_MARKER)
    H.wait_explorer_drawn(v.explorer, N)
    yield v
    page.close()




# -- helpers -------------------------------------------------------------------------------------

quiet = H.quiet


def state(v: Views) -> dict:
    out = H.run_cell_containing(v.page, STATE_MARKER)
    line = next(l for l in out.splitlines() if l.startswith(STATE_PREFIX))
    return json.loads(line[len(STATE_PREFIX):])


wait_until = H.wait_until


def client_points(scatter, m: int, kind: str = "modality") -> np.ndarray:
    """Client [x, y] of the m drawn points (images 0..n-1 then texts; or one per pair)."""
    return np.asarray(scatter.evaluate("""(el, [m, kind]) => {
        const out = [];
        const n = kind === 'pair' ? m : m / 2;
        for (let p = 0; p < m; p++) out.push(kind === 'pair' ? el.amumoPointToClient(p, 'image')
            : el.amumoPointToClient(p % n, p < n ? 'image' : 'text'));
        return out; }""", [m, kind]), dtype=float)


def canvas_rect(scatter) -> dict:
    return scatter.locator('canvas[data-amumo="scatter-canvas"]').evaluate("""c => {
        const r = c.getBoundingClientRect(); return {x: r.left, y: r.top, width: r.width, height: r.height}; }""")


def isolated(xy: np.ndarray, rect: dict, candidates, min_px: float = 6.0, margin: float = 8.0) -> list[int]:
    """Candidate points inside the canvas with no other point within ``min_px``, most isolated first."""
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    near = d.min(axis=1)
    ok = ((xy[:, 0] > rect["x"] + margin) & (xy[:, 0] < rect["x"] + rect["width"] - margin)
          & (xy[:, 1] > rect["y"] + margin) & (xy[:, 1] < rect["y"] + rect["height"] - margin))
    cand = [int(p) for p in candidates if ok[p] and near[p] > min_px]
    return sorted(cand, key=lambda p: -near[p])


def pixel_at(scatter, client_xy) -> tuple[int, int, int]:
    """RGB the scatter's canvas holds at a client position (the canvas's own pixels)."""
    return tuple(scatter.locator('canvas[data-amumo="scatter-canvas"]').evaluate("""(c, [x, y]) => {
        const r = c.getBoundingClientRect();
        const px = Math.floor((x - r.left) * c.width / r.width), py = Math.floor((y - r.top) * c.height / r.height);
        const d = c.getContext('2d').getImageData(px, py, 1, 1).data;
        return [d[0], d[1], d[2]]; }""", list(map(float, client_xy))))


def hex_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


def drawn_as(rgb, color: str, tol: float = 40.0) -> float:
    """Distance of a drawn pixel from ``color`` drawn at the scatter's opacity over white."""
    want = OPACITY * hex_rgb(color) + (1 - OPACITY) * 255
    return float(np.abs(np.asarray(rgb, float) - want).max())


def legend_entries(explorer) -> list[tuple[str, str]]:
    return explorer.locator(LEGEND + " " + ENTRY).evaluate_all(
        "els => els.map(e => [e.textContent, e.getAttribute('data-color')])")


def wait_drawn(explorer, color_by: str | None = None, projection: str | None = None, points: int | None = None):
    sel = SCATTER + '[data-busy="false"]'
    if color_by is not None:
        sel += f'[data-color-by="{color_by}"]'
    if projection is not None:
        sel += f'[data-projection="{projection}"]'
    if points is not None:
        sel += f'[data-points="{points}"]'
    explorer.locator(sel).wait_for(timeout=120_000)
    quiet(explorer.page, 300)


def set_filter(explorer, text: str, k: int) -> None:
    box = explorer.locator('input[data-amumo="filter-input"]')
    box.fill(text)
    box.press("Enter")
    explorer.locator('[data-amumo="filter-count"]', has_text=re.compile(rf"(^|\D){k} of {N} pairs")).wait_for(timeout=30_000)


def info_range(explorer) -> tuple[int, ...]:
    text = explorer.locator('[data-amumo="heatmap-info"]').text_content() or ""
    m = re.search(r"rows (\d+)–(\d+), cols (\d+)–(\d+)", text)
    assert m, text
    return tuple(int(g) for g in m.groups())


def shows_pair(v: Views, pair: int) -> None:
    """Every view shows ``pair``: heatmap row/col highlighted (unfiltered, unclustered: row = pair,
    col = N + pair) and zoomed to its 32-row window with exact values, the scatter rings and centres
    its two points, the hover panel shows its caption."""
    ex, page = v.explorer, v.page
    heat = ex.locator(HEATMAP)
    wait_until(lambda: heat.get_attribute("data-highlight-row") == str(pair)
               and heat.get_attribute("data-highlight-col") == str(N + pair),
               f"heatmap highlight of pair {pair}: {heat.get_attribute('data-highlight-row')}", page=page)
    ex.locator(HEATMAP + '[data-rows="32"]').wait_for(timeout=30_000)
    ex.locator('[data-amumo="heatmap-info"]', has_text="exact values").wait_for(timeout=30_000)
    r0, r1, c0, c1 = info_range(ex)
    assert r1 - r0 + 1 == 32 and c1 - c0 + 1 == 32, (r0, r1, c0, c1)
    assert r0 <= pair <= r1 and c0 <= N + pair <= c1 and r0 < N and c0 >= N, (pair, r0, r1, c0, c1)
    assert c0 - N == r0  # the same window of pairs: image rows x text cols
    scatter = ex.locator(SCATTER)
    ring = scatter.get_attribute("data-hover-ring") or ""
    assert sorted(int(p) for p in ring.split(",") if p) == [pair, N + pair], ring
    captions = ex.locator('[data-amumo="hover-caption"]').all_text_contents()
    assert v.facts["captions"][pair] in captions, captions
    # centred: the midpoint of its image and text points is the middle of the plot
    rect = canvas_rect(scatter)
    deadline = time.monotonic() + 10
    while True:
        a, b = client_points(scatter, 2 * N)[[pair, N + pair]]
        mid = (a + b) / 2
        off = np.abs(mid - [rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2]).max()
        if off < 3 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert off < 3, (a, b, rect)
    for p in (a, b):
        assert rect["x"] <= p[0] <= rect["x"] + rect["width"] and rect["y"] <= p[1] <= rect["y"] + rect["height"], (p, rect)


def reset_views(v: Views) -> None:
    """Back to the whole matrix and the whole scatter, nothing hovered."""
    ex, page = v.explorer, v.page
    page.mouse.move(1, 1)
    box = ex.locator(HEATMAP_CANVAS).bounding_box()
    page.mouse.dblclick(box["x"] + 5, box["y"] + 5)
    ex.locator(HEATMAP + f'[data-rows="{2 * N}"]').wait_for(timeout=30_000)
    ex.locator(SCATTER).evaluate("el => el.amumoScatterplot.zoomToOrigin()")
    page.mouse.move(1, 1)
    quiet(page)


# -- the tests -----------------------------------------------------------------------------------

def test_colour_by_a_meta_column_draws_each_point_in_its_categorys_colour(views):
    v = views
    ex, page = v.explorer, v.page
    groups = v.facts["group"]
    select = ex.locator('select[data-amumo="color-by"]')
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert options[:3] == ["modality", "cluster", "pair-cosine"] and "meta:group" in options and "meta:score" in options, options
    # modality first: image and text
    assert [label for label, _ in legend_entries(ex)] == ["image", "text"]
    try:
        select.select_option("meta:group")
        wait_drawn(ex, color_by="meta:group")
        entries = legend_entries(ex)
        assert [label for label, _ in entries] == sorted(GROUPS), entries  # one per category, no "no category"
        colour_of = dict(entries)
        assert len(set(colour_of.values())) == len(GROUPS), entries
        assert "group" in ex.locator(LEGEND).text_content()
        scatter = ex.locator(SCATTER)
        xy = client_points(scatter, 2 * N)
        rect = canvas_rect(scatter)
        checked = 0
        for g in GROUPS:
            members = [p for p in range(2 * N) if groups[p % N] == g]
            for p in isolated(xy, rect, members)[:2]:
                rgb = pixel_at(scatter, xy[p])
                dists = {h: drawn_as(rgb, c) for h, c in colour_of.items()}
                assert min(dists, key=dists.get) == g and dists[g] <= 40, (p, g, rgb, dists)
                checked += 1
        assert checked >= 6, f"only {checked} isolated points to check"
        H.save_screenshot(ex, "40_colour_by_meta_group")

        # a numeric column: a colour ramp with the range of the values, no categories
        select.select_option("meta:score")
        wait_drawn(ex, color_by="meta:score")
        assert ex.locator(LEGEND + " " + ENTRY).count() == 0
        ex.locator(LEGEND + ' [data-amumo="legend-ramp"]').wait_for(timeout=10_000)
        lo = float(ex.locator(LEGEND + ' [data-amumo="legend-vmin"]').text_content())
        hi = float(ex.locator(LEGEND + ' [data-amumo="legend-vmax"]').text_content())
        assert lo < hi, (lo, hi)
        H.save_screenshot(ex, "41_colour_by_meta_score")
    finally:
        select.select_option("modality")
        wait_drawn(ex, color_by="modality")
    assert [label for label, _ in legend_entries(ex)] == ["image", "text"]


def test_joint_projection_legend_has_one_pair_entry(views):
    v = views
    ex = v.explorer
    projection = ex.locator('select[data-amumo="projection"]')
    try:
        projection.select_option("joint")
        wait_drawn(ex, projection="joint", points=N)
        wait_until(lambda: len(legend_entries(ex)) == 1, f"joint legend {legend_entries(ex)}", page=v.page)
        (label, colour), = legend_entries(ex)
        assert "pair" in label, label
        scatter = ex.locator(SCATTER)
        xy = client_points(scatter, N, "pair")
        rect = canvas_rect(scatter)
        picks = isolated(xy, rect, range(N))[:3]
        assert picks
        for p in picks:
            rgb = pixel_at(scatter, xy[p])
            assert drawn_as(rgb, colour) <= 40, (p, rgb, colour)
        H.save_screenshot(ex, "42_joint_legend")
    finally:
        projection.select_option("pca")
        wait_drawn(ex, projection="pca", points=2 * N)
    assert [label for label, _ in legend_entries(ex)] == ["image", "text"]


def test_filter_fades_the_pairs_out_of_view_when_fitted_on_all_pairs(views):
    v = views
    ex, page = v.explorer, v.page
    groups = v.facts["group"]
    k = groups.count("north")
    scatter = ex.locator(SCATTER)
    try:
        set_filter(ex, "[north]", k)
        wait_until(lambda: scatter.get_attribute("data-dimmed") == str(2 * (N - k)),
                   f"dimmed {scatter.get_attribute('data-dimmed')}", page=page)
        assert scatter.get_attribute("data-points") == str(2 * N)
        ex.locator(LEGEND + ' [data-amumo="legend-dimmed"]').wait_for(timeout=10_000)
        quiet(page)
        xy = client_points(scatter, 2 * N)
        rect = canvas_rect(scatter)
        faded = isolated(xy, rect, [p for p in range(2 * N) if groups[p % N] != "north"])[:3]
        shown = isolated(xy, rect, [p for p in range(2 * N) if groups[p % N] == "north"])[:3]
        assert faded and shown
        for p in faded:  # light: near the white background
            assert min(pixel_at(scatter, xy[p])) >= 185, (p, pixel_at(scatter, xy[p]))
        for p in shown:  # in view: full colour (image blue / text orange)
            want = "#1f77b4" if p < N else "#ff7f0e"
            assert drawn_as(pixel_at(scatter, xy[p]), want) <= 40, (p, pixel_at(scatter, xy[p]))
        H.save_screenshot(ex, "43_filter_faded")

        # re-projected on the view: the others are hidden, not faded
        out = H.run_cell_containing(page, SCOPE_MARKER)
        assert "VIEWS_SCOPE=view" in out, out
        wait_until(lambda: scatter.get_attribute("data-filtered") == str(2 * k)
                   and scatter.get_attribute("data-dimmed") == "0",
                   f"filtered {scatter.get_attribute('data-filtered')} dimmed {scatter.get_attribute('data-dimmed')} "
                   f"{ex.locator('[data-amumo=filter-count]').text_content()} {ex.locator(HEATMAP).get_attribute('data-n')}", page=page)
        assert ex.locator(LEGEND + ' [data-amumo="legend-dimmed"]').count() == 0
        wait_drawn(ex)
        H.save_screenshot(ex, "44_filter_reprojected")
        out = H.run_cell_containing(page, SCOPE_MARKER)
        assert "VIEWS_SCOPE=all" in out, out
    finally:
        set_filter(ex, "", N)
    wait_until(lambda: scatter.get_attribute("data-dimmed") == "0", "still dimmed", page=page)
    wait_drawn(ex)
    clamped = state(v)["clamped"]
    bar = ex.locator('[data-amumo="scatter-clamped"]').text_content() or ""
    if clamped:
        assert bar.startswith(f"{clamped} point"), (clamped, bar)
    else:
        assert not bar.strip(), bar


def test_jump_to_a_pair_from_the_search_box_and_from_python(views):
    v = views
    ex, page = v.explorer, v.page
    captions = v.facts["captions"]
    box = ex.locator('input[data-amumo="search-input"]')
    result = ex.locator('[data-amumo="search-result"]')
    try:
        box.fill("17")
        box.press("Enter")
        result.filter(has_text="pair 17").wait_for(timeout=15_000)
        shows_pair(v, 17)
        H.save_screenshot(ex, "45_jump_search_box")

        out = H.run_cell_containing(page, JUMP_MARKER)
        assert f"VIEWS_JUMPED {JUMP_PAIR}" in out, out
        wait_until(lambda: ex.locator(HEATMAP).get_attribute("data-highlight-row") == str(JUMP_PAIR),
                   "python jump did not reach the heatmap", page=page)
        shows_pair(v, JUMP_PAIR)
        assert f"pair {JUMP_PAIR}" in result.text_content()
        assert state(v)["focus"] == JUMP_PAIR
        H.save_screenshot(ex, "46_jump_python")

        # a caption word: the first match, how many, and those the filter hides
        words = [w for w in re.findall(r"[a-z]+", " ".join(captions)) if len(w) > 3]
        word = next(w for w in sorted(set(words)) if 3 <= sum(w in c for c in captions) <= N // 3
                    and 0 < sum(w in c and "[north]" not in c for c in captions) < sum(w in c for c in captions))
        matches = [i for i, c in enumerate(captions) if word in c]
        set_filter(ex, "[north]", v.facts["group"].count("north"))
        visible = [i for i in matches if "[north]" in captions[i]]
        hidden = len(matches) - len(visible)
        box.fill(word)
        box.press("Enter")
        want = f"pair {visible[0]}"
        result.filter(has_text=want).wait_for(timeout=15_000)
        text = result.text_content()
        assert f"{len(matches)} matches" in text and f"{hidden} hidden by the filter" in text, (text, matches, hidden)
        wait_until(lambda: captions[visible[0]] in ex.locator('[data-amumo="hover-caption"]').all_text_contents(),
                   "the first match is not in the hover panel", page=page)
        H.save_screenshot(ex, "47_search_caption_filtered")
        # an index the filter hides, and nonsense: messages, no jump
        hidden_pair = next(i for i in range(N) if "[north]" not in captions[i])
        box.fill(str(hidden_pair))
        box.press("Enter")
        result.filter(has_text="hidden by the filter").wait_for(timeout=15_000)
        box.fill("zzqx-nothing")
        box.press("Enter")
        result.filter(has_text="no caption contains").wait_for(timeout=15_000)
    finally:
        set_filter(ex, "", N)
        reset_views(v)


def test_scatter_hover_shows_the_partner_and_the_pair_cosine(views):
    v = views
    ex, page = v.explorer, v.page
    scatter = ex.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    quiet(page, 600)
    xy = client_points(scatter, 2 * N)
    rect = canvas_rect(scatter)
    p = isolated(xy, rect, range(N), min_px=8)[0]  # an image point
    deadline = time.monotonic() + 20
    while scatter.get_attribute("data-hover-point") != str(p):
        assert time.monotonic() < deadline, ("point never hovered", p)
        target = scatter.evaluate("(e, p) => e.amumoPointToClient(p, 'image')", p)
        page.mouse.move(rect["x"] + 2, rect["y"] + 2)
        page.mouse.move(*target, steps=4)
        page.wait_for_timeout(200)
    panel = ex.locator('[data-amumo="hover-panel"]')
    items = panel.locator('[data-amumo="hover-item"]').evaluate_all(
        "els => els.map(e => [e.getAttribute('data-modality'), +e.getAttribute('data-pair')])")
    assert items == [["image", p], ["text", p]], items
    assert v.facts["captions"][p] in panel.text_content()
    cos = panel.locator('[data-amumo="hover-pair-cosine"]').text_content()
    m = re.search(r"pair cosine = (-?\d\.\d{4})", cos)
    assert m and abs(float(m.group(1)) - v.facts["cos"][p]) <= 5e-5 + 1e-6, (cos, v.facts["cos"][p])
    assert ex.locator(HEATMAP).get_attribute("data-highlight-row") == str(p)
    assert ex.locator(HEATMAP).get_attribute("data-highlight-col") == str(N + p)
    panel.locator('img[data-amumo="hover-thumb"]').first.wait_for(timeout=15_000)  # with images: the thumbnail
    assert panel.locator('[data-amumo="hover-no-images"]').count() == 0
    H.save_screenshot(ex, "48_scatter_hover_partner")
    page.mouse.move(1, 1)


def test_selected_dataframe_is_the_lasso(views):
    v = views
    ex, page = v.explorer, v.page
    scatter = ex.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    quiet(page, 600)
    kernel = np.asarray(state(v)["points"])  # [-0.95, 0.95] data coordinates, from the kernel
    scatter.scroll_into_view_if_needed()
    quiet(page, 400)
    xy = client_points(scatter, 2 * N)
    # the plot maps data coordinates to the screen by one scale and offset per axis: fit it on the
    # kernel's positions and check that every point is drawn where the kernel put it
    A = np.c_[kernel, np.ones(len(kernel))]
    fit, *_ = np.linalg.lstsq(A, xy, rcond=None)
    assert np.abs(A @ fit - xy).max() < 0.75, np.abs(A @ fit - xy).max()
    screen = A @ fit
    rect = canvas_rect(scatter)
    img = screen[:N]
    centre = np.median(img, axis=0)
    half = np.maximum((img.max(axis=0) - img.min(axis=0)) / 4, 15.0)
    poly = np.array([centre + half * [-1, -1], centre + half * [1, -1], centre + half * [1, 1], centre + half * [-1, 1]])
    inside = points_in_polygon(screen, poly)
    near = distance_to_polygon(screen, poly) <= 3
    must = sorted({int(r % N) for r in np.flatnonzero(inside & ~near)})
    may = sorted({int(r % N) for r in np.flatnonzero(inside | near)})
    assert must and len(may) < N, (len(must), len(may))
    assert all(rect["x"] < x < rect["x"] + rect["width"] and rect["y"] < y < rect["y"] + rect["height"] for x, y in poly)
    lasso = ex.locator('[data-amumo="lasso"]')
    lasso.click()
    try:
        path = [poly[k] + (poly[(k + 1) % 4] - poly[k]) * t for k in range(4) for t in np.linspace(0, 1, 12, endpoint=False)][:-2]
        page.mouse.move(*path[0])
        page.mouse.down()
        for p in path[1:]:
            page.mouse.move(*p, steps=2)
            page.wait_for_timeout(15)
        page.mouse.up()
        ex.locator('[data-amumo="selection-count"]', has_text="selected").wait_for(timeout=10_000)
        quiet(page, 800)
        H.save_screenshot(ex, "49_lasso_selected")
        st = state(v)
        got = st["selected"]
        assert set(must) <= set(got) <= set(may), (len(must), len(got), len(may))
        assert got == sorted(got)
        assert st["columns"][:2] == ["index", "caption"] and "group" in st["columns"] and st["columns"][-1] == "pair_cosine", st["columns"]
        assert np.allclose(st["selected_cos"], [v.facts["cos"][i] for i in got], atol=1e-5)
        assert ex.locator('[data-amumo="selection-count"]').text_content().startswith(f"{len(got)} selected")
    finally:
        lasso.click()
        ex.locator('[data-amumo="selection-clear"]').click()
        page.mouse.move(1, 1)
    assert state(v)["selected"] == []


def test_without_images_the_hover_panel_shows_captions_and_one_note(views):
    v = views
    page = v.page
    out = H.run_cell_containing(page, PLAIN_MARKER)
    assert "VIEWS_PLAIN=on" in out, out
    plain = cell(page, PLAIN_MARKER).locator(EXPLORER)
    try:
        plain.locator(HEATMAP + f'[data-rows="{2 * N}"]').wait_for(timeout=60_000)
        plain.locator(SCATTER + f'[data-points="{2 * N}"][data-busy="false"]').wait_for(timeout=60_000)
        panel = plain.locator('[data-amumo="hover-panel"]')
        assert panel.locator('[data-amumo="hover-no-images"]').count() == 1
        canvas = plain.locator(HEATMAP_CANVAS)
        canvas.scroll_into_view_if_needed()
        quiet(page)
        box = canvas.bounding_box()
        i, j = 5, 9  # image 5 x text 9
        page.mouse.move(box["x"] + 3, box["y"] + 3)
        page.mouse.move(box["x"] + (N + j + 0.5) * box["width"] / (2 * N), box["y"] + (i + 0.5) * box["height"] / (2 * N), steps=3)
        want = [v.facts["captions"][i], v.facts["captions"][j]]
        wait_until(lambda: panel.locator('[data-amumo="hover-caption"]').all_text_contents() == want,
                   f"captions {panel.locator('[data-amumo=hover-caption]').all_text_contents()}", page=page)
        quiet(page, 600)  # a thumbnail request would have come back by now
        assert panel.locator('img[data-amumo="hover-thumb"]').count() == 0
        assert panel.locator('[data-amumo="hover-thumb-missing"], .amumo-thumb, .amumo-thumb-missing').count() == 0
        assert not (panel.locator('[data-amumo="hover-warning"]').text_content() or "").strip()
        assert panel.locator('[data-amumo="hover-no-images"]').count() == 1
        assert panel.locator('[data-amumo="hover-no-images"]').text_content() == "no images attached"
        H.save_screenshot(plain, "50_no_images_heatmap_hover")

        # a scatter point: the pair's caption, its cosine, still no image slot
        scatter = plain.locator(SCATTER)
        scatter.scroll_into_view_if_needed()
        quiet(page, 600)
        xy = client_points(scatter, 2 * N)
        rect = canvas_rect(scatter)
        p = isolated(xy, rect, range(N, 2 * N), min_px=8)[0]  # a text point
        deadline = time.monotonic() + 20
        while scatter.get_attribute("data-hover-point") != str(p):
            assert time.monotonic() < deadline, ("point never hovered", p)
            target = scatter.evaluate("(e, i) => e.amumoPointToClient(i, 'text')", p - N)
            page.mouse.move(rect["x"] + 2, rect["y"] + 2)
            page.mouse.move(*target, steps=4)
            page.wait_for_timeout(200)
        assert v.facts["captions"][p - N] in panel.locator('[data-amumo="hover-caption"]').all_text_contents()
        assert panel.locator('[data-amumo="hover-pair-cosine"]').count() == 1
        quiet(page, 600)
        assert panel.locator('img[data-amumo="hover-thumb"], [data-amumo="hover-thumb-missing"]').count() == 0
        assert not (panel.locator('[data-amumo="hover-warning"]').text_content() or "").strip()
        assert panel.locator('[data-amumo="hover-no-images"]').count() == 1
        H.save_screenshot(plain, "51_no_images_scatter_hover")
    finally:
        page.mouse.move(1, 1)
        out = H.run_cell_containing(page, PLAIN_MARKER)
        assert "VIEWS_PLAIN=off" in out, out
    plain.wait_for(state="detached", timeout=30_000)
    assert not [p for p in v.problems if "pageerror" in p], v.problems
