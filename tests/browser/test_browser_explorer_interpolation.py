"""The Explorer's interpolation and prompt search in a real browser (JupyterLab + headless chromium).

One notebook embeds 120 ``shapes`` pairs with ``toy-clip`` (its encoder attached) and shows an Explorer.

- hover a scatter point, click it: the hover panel is pinned (hovering another point changes nothing),
  "set as start" writes ``session.path_start = {"image": p}``; unpin, the same for a text point and
  "set as end" (``{"caption": q}``); a heatmap cell clicked pins its row's item; checked from the kernel;
- ``ex.strip()`` on the same session decodes the path and publishes it: the scatter draws it (its
  ``data-path-*`` counters), the start mark on image p's point and the end mark on text q's; t-SNE says
  it cannot place the path; screenshot ``interp_01_path.png``;
- a typed prompt with k = 4 rings 8 points in the scatter, bands 8 heatmap rows and lists the kernel's
  hits with their cosines; an empty prompt is refused with a message and the hits stay; screenshot
  ``interp_02_prompt.png``.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "explorer_interpolation_under_test.ipynb"
N = 120
STATE_PREFIX = "INTERP_STATE="
SETUP_MARKER = "# amumo-interp: setup"
SHOW_MARKER = "# amumo-interp: show"
STATE_MARKER = "# amumo-interp: state"
STRIP_MARKER = "# amumo-interp: strip"
TSNE_MARKER = "# amumo-interp: tsne"
PCA_MARKER = "# amumo-interp: pca"

SETUP_CELL = SETUP_MARKER + f'''
import json
import numpy as np
import amumo_ng
emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n={N}, seed=0), "toy-clip", progress=False)'''

SHOW_CELL = SHOW_MARKER + '''
ex = amumo_ng.Explorer(emb, title="interpolation")
display(ex)'''

STATE_CELL = STATE_MARKER + '''
_t = ex.prompt_table() if ex.prompt else None
print("''' + STATE_PREFIX + '''" + json.dumps({"start": ex.session.path_start, "end": ex.session.path_end,
    "path_info": ex.path_info, "path_note": ex.path_note, "prompt": ex.prompt, "prompt_error": ex.prompt_error,
    "hits": [] if _t is None else [[m, int(p), float(c)] for m, p, c in zip(_t.modality, _t.pair, _t.cosine)]}))'''

STRIP_CELL = STRIP_MARKER + '''
strip = ex.strip(steps=8)
display(strip)
strip.wait()
print("INTERP_STRIP", ex.session.path_shown is not None)'''

TSNE_CELL = TSNE_MARKER + '''
ex.session.projection = "tsne"
ex.wait_projection(120)
print("INTERP_TSNE", ex.path_note)'''

PCA_CELL = PCA_MARKER + '''
ex.session.projection = "pca"
print("INTERP_PCA", ex.path_info.get("k"))'''

EXPLORER = '[data-amumo="explorer"]'
SCATTER = '[data-amumo="scatter"]'


class Interp:
    def __init__(self, page):
        self.page = page
        self.problems = H.watch_problems(page)

    @property
    def explorer(self):
        return H.code_cell(self.page, SHOW_MARKER).locator(EXPLORER)

    def state(self) -> dict:
        return H.printed(self.page, STATE_MARKER, STATE_PREFIX)


@pytest.fixture(scope="module")
def ip(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, STATE_CELL, STRIP_CELL, TSNE_CELL, PCA_CELL))
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1500, "height": 1100})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    H.run_cell_containing(page, SETUP_MARKER, timeout_ms=300_000)
    H.run_cell_containing(page, SHOW_MARKER)
    s = Interp(page)
    H.wait_explorer_drawn(s.explorer, N)
    yield s
    page.close()


def client_points(scatter) -> np.ndarray:
    return np.asarray(scatter.evaluate(f"""el => {{ const out = [];
        for (let p = 0; p < {2 * N}; p++) out.push(el.amumoPointToClient(p % {N}, p < {N} ? 'image' : 'text'));
        return out; }}"""), dtype=float)


def canvas_rect(scatter) -> dict:
    return scatter.locator('canvas[data-amumo="scatter-canvas"]').evaluate("""c => {
        const r = c.getBoundingClientRect(); return {x: r.left, y: r.top, width: r.width, height: r.height}; }""")


def isolated(xy, rect, candidates, min_px=9.0, margin=30.0) -> list[int]:
    """Points of ``candidates`` inside the canvas (away from the edges and the note line) with no other
    point within ``min_px``, most isolated first."""
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    near = d.min(axis=1)
    ok = ((xy[:, 0] > rect["x"] + margin) & (xy[:, 0] < rect["x"] + rect["width"] - margin)
          & (xy[:, 1] > rect["y"] + margin) & (xy[:, 1] < rect["y"] + rect["height"] - margin))
    return sorted([int(p) for p in candidates if ok[p] and near[p] > min_px], key=lambda p: -near[p])


def hover_point(page, scatter, point: int) -> list:
    """Move onto drawn point ``point`` (stacked index) until the scatter reports it hovered; its client xy."""
    rect = canvas_rect(scatter)
    deadline = time.monotonic() + 20
    while True:
        target = scatter.evaluate(f"e => e.amumoPointToClient({point % N}, '{'image' if point < N else 'text'}')")
        if scatter.get_attribute("data-hover-point") == str(point):
            return target
        assert time.monotonic() < deadline, ("point never hovered", point)
        page.mouse.move(rect["x"] + 2, rect["y"] + 2)
        page.mouse.move(*target, steps=4)
        page.wait_for_timeout(200)


def test_hover_pin_and_set_as_start_and_end(ip):
    page, ex = ip.page, ip.explorer
    scatter = ex.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    H.quiet(page, 600)
    xy, rect = client_points(scatter), canvas_rect(scatter)
    p = isolated(xy, rect, range(N))[0]
    q = isolated(xy, rect, [t for t in range(N, 2 * N) if t - N != p])[0] - N
    other = next(i for i in isolated(xy, rect, range(2 * N)) if i not in (p, N + q))
    actions = ex.locator('[data-amumo="hover-actions"]')
    target = hover_point(page, scatter, p)
    assert actions.get_attribute("data-item") == f"image {p}"
    page.mouse.click(*target)  # a click on the point pins the panel
    H.wait_until(lambda: actions.get_attribute("data-pinned") == "true", "a click did not pin the panel", page)
    hover_point(page, scatter, other)  # another point under the pointer: the pinned panel stays
    assert actions.get_attribute("data-item") == f"image {p}"
    ex.locator('[data-amumo="set-path-start"]').click()
    ends = ex.locator('[data-amumo="path-ends"]')
    H.wait_until(lambda: f"image {p}" in ends.text_content(), lambda: f"ends label {ends.text_content()!r}", page)
    ex.locator('[data-amumo="hover-pin"]').click()  # unpin
    assert actions.get_attribute("data-pinned") == "false"
    target = hover_point(page, scatter, N + q)
    page.mouse.click(*target)
    H.wait_until(lambda: actions.get_attribute("data-pinned") == "true", "a click did not pin the text point", page)
    assert actions.get_attribute("data-item") == f"caption {q}"
    ex.locator('[data-amumo="set-path-end"]').click()
    H.wait_until(lambda: f"caption {q}" in ends.text_content(), lambda: f"ends label {ends.text_content()!r}", page)
    ex.locator('[data-amumo="hover-pin"]').click()
    state = ip.state()
    assert state["start"] == {"image": p} and state["end"] == {"caption": q}, state
    ip.ends = (p, q)
    # a heatmap cell clicked pins its row's item (an image row here)
    canvas = ex.locator('canvas[data-amumo="heatmap-canvas"]')
    box = H.settled_box(canvas)
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.1, steps=3)
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.1)
    H.wait_until(lambda: actions.get_attribute("data-pinned") == "true", "a heatmap click did not pin", page)
    row = int(ex.locator('[data-amumo="heatmap"]').get_attribute("data-hover-row"))
    assert row < N and actions.get_attribute("data-item").startswith("image ")
    ex.locator('[data-amumo="hover-pin"]').click()
    page.mouse.move(1, 1)


def test_the_strip_on_the_same_session_draws_its_path_in_the_scatter(ip):
    page, ex = ip.page, ip.explorer
    p, q = getattr(ip, "ends", (None, None))
    if p is None:
        pytest.skip("needs the ends set by test_hover_pin_and_set_as_start_and_end")
    out = H.run_cell_containing(page, STRIP_MARKER, timeout_ms=180_000)
    assert "INTERP_STRIP True" in out, out
    scatter = ex.locator(SCATTER)
    scatter.scroll_into_view_if_needed()
    H.wait_until(lambda: scatter.get_attribute("data-path-points") == "8", "the scatter drew no path", page)
    draws = int(scatter.get_attribute("data-path-draws"))
    assert draws >= 1
    state = ip.state()
    assert state["path_info"]["k"] == 8 and state["path_info"]["labels"][0] == f"image {p}", state
    assert scatter.get_attribute("data-path-seq") == str(state["path_info"]["seq"])
    # the path's ends are the vectors of image p and text q: the marks lie on their points
    rect = canvas_rect(scatter)
    for attr, (pair, modality) in (("data-path-start-px", (p, "image")), ("data-path-end-px", (q, "text"))):
        mark = [float(v) for v in scatter.get_attribute(attr).split(",")]
        point = scatter.evaluate(f"e => e.amumoPointToClient({pair}, '{modality}')")
        assert abs(mark[0] + rect["x"] - point[0]) < 1.5 and abs(mark[1] + rect["y"] - point[1]) < 1.5, (attr, mark, point)
    H.quiet(page, 300)
    H.save_screenshot(ex, "interp_01_path")
    # t-SNE cannot place the path: a note, no path; PCA again draws it again
    out = H.run_cell_containing(page, TSNE_MARKER, timeout_ms=180_000)
    assert "t-SNE" in out
    note = scatter.locator('[data-amumo="scatter-marks-note"]')
    H.wait_until(lambda: "t-SNE" in (note.text_content() or "") and scatter.get_attribute("data-path-points") == "0",
                 lambda: f"note {note.text_content()!r}, points {scatter.get_attribute('data-path-points')}", page,
                 timeout_s=60)
    assert note.is_visible()
    out = H.run_cell_containing(page, PCA_MARKER)
    H.wait_until(lambda: scatter.get_attribute("data-path-points") == "8" and not note.is_visible(),
                 "the path did not come back with PCA", page, timeout_s=30)


def test_a_typed_prompt_highlights_its_k_nearest_in_every_view(ip):
    page, ex = ip.page, ip.explorer
    box = ex.locator('[data-amumo="prompt-box"]')
    box.scroll_into_view_if_needed()
    ex.locator('[data-amumo="prompt-k"]').fill("4")
    field = ex.locator('[data-amumo="prompt-input"]')
    field.fill("a red circle")
    field.press("Enter")
    H.wait_until(lambda: box.get_attribute("data-hits") == "8", lambda: f"hits {box.get_attribute('data-hits')}", page)
    scatter, heatmap = ex.locator(SCATTER), ex.locator('[data-amumo="heatmap"]')
    H.wait_until(lambda: scatter.get_attribute("data-prompt-hits") == "8" and heatmap.get_attribute("data-prompt-rows") == "8",
                 lambda: f"rings {scatter.get_attribute('data-prompt-hits')}, rows {heatmap.get_attribute('data-prompt-rows')}", page)
    assert scatter.get_attribute("data-prompt-px")  # the prompt's star is drawn
    state = ip.state()
    assert state["prompt"] == "a red circle" and len(state["hits"]) == 8
    listed = box.locator('[data-amumo="prompt-hit"]').evaluate_all(
        "els => els.map(e => [e.getAttribute('data-modality'), +e.getAttribute('data-pair'), e.textContent])")
    assert [[m, p] for m, p, _ in listed] == [[m, p] for m, p, _ in state["hits"]]
    for (_, _, text), (_, _, cos) in zip(listed, state["hits"]):
        assert text.startswith(f"{cos:.3f}"), (text, cos)
    status = ex.locator('[data-amumo="prompt-status"]')
    assert re.search(r"4 nearest images and 4 texts among 120 pairs", status.text_content())
    scatter.scroll_into_view_if_needed()
    H.quiet(page, 300)
    H.save_screenshot(ex, "interp_02_prompt")
    # an empty prompt: a message, the hits stay
    field.fill("")
    field.press("Enter")
    H.wait_until(lambda: status.get_attribute("data-error") == "true" and "empty" in status.text_content(),
                 lambda: f"status {status.text_content()!r}", page)
    assert box.get_attribute("data-hits") == "8" and scatter.get_attribute("data-prompt-hits") == "8"
    assert not ip.problems, ip.problems
