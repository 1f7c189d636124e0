"""The Explorer's augmentation control (the Amumo article's augmentation dropdown), in a real browser.

JupyterLab + headless Debian chromium + Playwright. One small notebook (written here, next to the
quickstart in the shared server's root) embeds 40 pairs of the ``shapes`` dataset with two toy models
(``toy-clip`` and ``toy-cloob``, encoders attached by ``amumo_ng.embed``) and shows an Explorer of both.
The kernel prints what it knows (the augmentation shown, the stacked cosine matrix of the view through
``session.tile`` checked against numpy, the pair notes, thumbnails as 8 x 8 block means) as JSON and
the tests compare the page with it:

- rotate pair ``PAIR`` over 24 steps from the control ("hovered" fills the pair field from a heatmap
  hover; a pair out of range first shows the kernel's error): the heatmap shows 48 rows of 24 pairs,
  the status line says "rotate of pair 3, 24 steps", and the views never move meanwhile;
- hovering image cells of the augmented set: the hover panel's thumbnails are the transformed images
  of those steps (pixels against the kernel's thumbnails; not the dataset's image of the same index,
  which was hovered before), each with its note "step i · rotate θ°", and the exact cosine;
- the anti-diagonal cells (θ, 360° − θ): image row i x image column 24 − i show the kernel's cosine
  of those two augmented image vectors;
- switching the model keeps the augmentation (48 rows, ``session.augmentation`` unchanged) and the
  values are the other model's;
- kind "none" + apply, and the "back to the dataset" button, restore the dataset (80 rows) with the
  filter text it had;
- an Explorer of embeddings without encoders (``Embeddings.from_arrays`` with images) shows the
  control disabled and the reason.

Screenshots: ``test-artifacts/browser/augment_*.png``.
"""
from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOK = "augment_under_test.ipynb"
FACTS_PREFIX = "AUG_FACTS="
STATE_PREFIX = "AUG_STATE="
DISABLED_PREFIX = "AUG_DISABLED="
SETUP_MARKER = "# amumo-augment: setup"
SHOW_MARKER = "# amumo-augment: show"
STATE_MARKER = "# amumo-augment: state"
DISABLED_MARKER = "# amumo-augment: no encoders"
N = 40
PAIR = 3
STEPS = 24
THUMB_STEPS = [2, 3, 5, 6, 8, 16]  # the steps whose thumbnails the kernel describes

SETUP_CELL = SETUP_MARKER + f'''
import json
import numpy as np
import amumo_ng
from PIL import Image
import io
from amumo_ng.store.embeddings import Embeddings
from amumo_ng.widgets.thumbnails import thumbnail
ds = amumo_ng.datasets.load("shapes", n={N}, seed=0)
models = {{"clip": amumo_ng.embed(ds, "toy-clip", progress=False),
          "cloob": amumo_ng.embed(ds, "toy-cloob", progress=False)}}
unit = lambda a: np.asarray(a, np.float64) / np.linalg.norm(a, axis=1, keepdims=True)

def block_means(emb, pair, g=8):
    """8 x 8 block means (RGB) of the hover panel's thumbnail of ``pair``, as the browser computes them."""
    a = np.asarray(Image.open(io.BytesIO(thumbnail(emb, pair).data)).convert("RGB"), np.float64)
    h, w = a.shape[:2]
    ys, xs = [h * k // g for k in range(g + 1)], [w * k // g for k in range(g + 1)]
    return [[a[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].reshape(-1, 3).mean(0).round(3).tolist()
             for j in range(g)] for i in range(g)]

print("{FACTS_PREFIX}" + json.dumps({{"captions": list(ds.captions),
    "base_thumb": block_means(models["clip"], {PAIR})}}))'''

SHOW_CELL = SHOW_MARKER + '''
ex = amumo_ng.Explorer(models, title="augmentation")
display(ex)'''

STATE_CELL = STATE_MARKER + f'''
_s = ex.session
_k = _s.k
_tile = _s.tile(0, 2 * _k, 0, 2 * _k).astype(np.float64)
_order = np.asarray(_s.order)
_img, _txt = unit(_s.embeddings.image)[_order], unit(_s.embeddings.text)[_order]
_numpy = np.block([[_img @ _img.T, _img @ _txt.T], [_txt @ _img.T, _txt @ _txt.T]])
_off = np.frombuffer(ex.pair_note_offsets, np.uint32)
print("{STATE_PREFIX}" + json.dumps({{
    "aug": _s.augmentation, "n_total": _s.n_total, "k": int(_k), "model": _s.model,
    "filter": _s.filter_pattern, "order": _order.tolist(), "cos": np.round(_tile, 6).tolist(),
    "numpy_diff": float(np.abs(_tile - _numpy).max()),
    "notes": [ex.pair_notes_utf8[a:b].decode() for a, b in zip(_off[:-1], _off[1:])],
    "thumbs": {{str(i): block_means(_s.embeddings, i) for i in {THUMB_STEPS!r} if _s.augmentation and i < _s.n_total}},
    "disabled": ex.augment_disabled, "status": ex.status}}))'''

# every other run: an Explorer of precomputed arrays with images but no encoder (closed on the next run)
DISABLED_CELL = DISABLED_MARKER + '''
_dis_runs = globals().get("_dis_runs", -1) + 1
if "ex_arrays" in globals():
    ex_arrays.close()
    del ex_arrays
if _dis_runs % 2 == 0:
    _base = models["clip"]
    _arrays = Embeddings.from_arrays(_base.image, _base.text, list(_base.captions), images=ds, model_id="arrays")
    ex_arrays = amumo_ng.Explorer(_arrays, title="arrays without an encoder")
    print("''' + DISABLED_PREFIX + '''" + json.dumps(ex_arrays.augment_disabled))
    display(ex_arrays)
else:
    print("AUG_DISABLED_CLOSED")'''

EXPLORER = '[data-amumo="explorer"]'
HEATMAP = '[data-amumo="heatmap"]'
HEATMAP_CANVAS = 'canvas[data-amumo="heatmap-canvas"]'
SCATTER = '[data-amumo="scatter"]'
PANEL = '[data-amumo="hover-panel"]'
VALUE = '[data-amumo="hover-value"]'
STATUS = '[data-amumo="augment-status"]'


def write_notebook(path) -> None:
    H.write_notebook(path, (SETUP_CELL, SHOW_CELL, STATE_CELL, DISABLED_CELL))


def cell(page, marker):
    return H.code_cell(page, marker)


class Aug:
    def __init__(self, page, facts):
        self.page = page
        self.facts = facts
        self.problems = H.watch_problems(page)

    @property
    def explorer(self):
        return cell(self.page, SHOW_MARKER).locator(EXPLORER)

    def state(self) -> dict:
        return H.printed(self.page, STATE_MARKER, STATE_PREFIX)


@pytest.fixture(scope="module")
def aug(lab_server, browser):
    write_notebook(lab_server.root / NOTEBOOK)
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1100})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    out = H.run_cell_containing(page, SETUP_MARKER, timeout_ms=300_000)
    line = next(l for l in out.splitlines() if l.startswith(FACTS_PREFIX))
    a = Aug(page, json.loads(line[len(FACTS_PREFIX):]))
    H.run_cell_containing(page, SHOW_MARKER)
    H.wait_explorer_drawn(a.explorer, N)
    yield a
    page.close()




# -- helpers -------------------------------------------------------------------------------------

quiet = H.quiet


wait_until = H.wait_until


def boxes(explorer) -> dict:
    """Boxes of the views, the hover panel and the controls relative to the Explorer's root."""
    return explorer.evaluate("""e => {
        const o = e.getBoundingClientRect();
        const box = (s) => { const r = e.querySelector(s).getBoundingClientRect();
            return [r.left - o.left, r.top - o.top, r.width, r.height].map(v => Math.round(v * 10) / 10); };
        return {heatmap: box('[data-amumo="heatmap"]'), canvas: box('canvas[data-amumo="heatmap-canvas"]'),
                scatter: box('[data-amumo="scatter"]'), panel: box('[data-amumo="hover-panel"]'),
                controls: box('[data-amumo="controls"]'), status: box('[data-amumo="augment-status"]')}; }""")


def canvas_box(explorer) -> dict:
    return H.settled_box(explorer.locator(HEATMAP_CANVAS))


def hover_cell(explorer, rows: int, r: int, c: int) -> str:
    """Point at stacked cell (r, c) of a heatmap of ``rows`` rows; returns the exact value line."""
    page = explorer.page
    H.point_at_heatmap_cell(explorer, rows, r, c)
    value = explorer.locator(VALUE)
    wait_until(lambda: re.search(rf"cos = -?\d\.\d+ \(.*row {r}, col {c}\)", value.text_content() or ""),
               lambda: f"value line {value.text_content()!r}", page)
    return value.text_content()


def value_of(text: str) -> float:
    m = re.search(r"cos = (-?\d+\.\d+)", text)
    assert m, text
    return float(m.group(1))


def panel_items(explorer) -> list:
    """[pair, modality, caption, note] of each item the hover panel shows."""
    return explorer.locator(PANEL + ' [data-amumo="hover-item"]').evaluate_all("""els => els.map(e => [
        +e.getAttribute('data-pair'), e.getAttribute('data-modality'),
        (e.querySelector('[data-amumo="hover-caption"]') || {}).textContent || null,
        (e.querySelector('[data-amumo="hover-note"]') || {}).textContent || null])""")


def panel_thumbs(explorer, count: int, page) -> list:
    """8 x 8 block means (RGB) of the hover panel's thumbnails, once ``count`` of them are loaded."""
    thumbs = explorer.locator(PANEL + ' img[data-amumo="hover-thumb"]')
    wait_until(lambda: thumbs.count() == count and all(thumbs.evaluate_all(
        "els => els.map(i => i.complete && i.naturalWidth > 0)")), lambda: f"{thumbs.count()} thumbnails loaded", page)
    return thumbs.evaluate_all("""els => els.map(img => {
        const c = document.createElement('canvas');
        const w = img.naturalWidth, h = img.naturalHeight, g = 8;
        c.width = w; c.height = h;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, w, h).data;
        const out = [];
        for (let i = 0; i < g; i++) {
            const row = [];
            const y0 = Math.floor(h * i / g), y1 = Math.floor(h * (i + 1) / g);
            for (let j = 0; j < g; j++) {
                const x0 = Math.floor(w * j / g), x1 = Math.floor(w * (j + 1) / g);
                const s = [0, 0, 0]; let n = 0;
                for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
                    const p = 4 * (y * w + x); s[0] += d[p]; s[1] += d[p + 1]; s[2] += d[p + 2]; n++;
                }
                row.push(s.map(v => v / n));
            }
            out.push(row);
        }
        return out; })""")


def thumb_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).max())


def control(explorer, name: str):
    return explorer.locator(f'[data-amumo="augment-{name}"]')


def heat_is(explorer, rows: int, n: int, timeout_ms: int = 120_000) -> None:
    explorer.locator(HEATMAP + f'[data-rows="{rows}"][data-n="{n}"]').wait_for(timeout=timeout_ms)


def set_filter(explorer, text: str, k: int) -> None:
    box = explorer.locator('input[data-amumo="filter-input"]')
    box.fill(text)
    box.press("Enter")
    explorer.locator('[data-amumo="filter-count"]', has_text=re.compile(rf"^{k} of {N} pairs$")).wait_for(timeout=30_000)


def record_states(explorer) -> None:
    """Start recording every (data-state, text) the status line takes (window.__augStates)."""
    control(explorer, "status").evaluate("""el => {
        window.__augStates = [[el.getAttribute('data-state'), el.textContent]];
        if (window.__augObserver) window.__augObserver.disconnect();
        window.__augObserver = new MutationObserver(() => window.__augStates.push([el.getAttribute('data-state'), el.textContent]));
        window.__augObserver.observe(el, {attributes: true, childList: true, characterData: true, subtree: true}); }""")


def recorded_states(page) -> list:
    return page.evaluate("() => { if (window.__augObserver) window.__augObserver.disconnect(); return window.__augStates || []; }")


def augment(a: Aug, kind: str, pair: int, steps: int, sample=None) -> None:
    """Choose ``kind`` for ``pair`` over ``steps`` in the control, apply, wait until it is shown."""
    ex = a.explorer
    control(ex, "kind").select_option(kind)
    control(ex, "pair").fill(str(pair))
    control(ex, "steps").fill(str(steps))
    control(ex, "apply").click()
    deadline = time.monotonic() + 180
    want = f"{kind} of pair {pair}, {steps} steps"
    while control(ex, "status").get_attribute("data-state") != "augmented" or control(ex, "status").text_content() != want:
        if sample is not None:
            sample.append(boxes(ex))
        assert time.monotonic() < deadline, control(ex, "status").text_content()
        assert control(ex, "status").get_attribute("data-state") != "error", control(ex, "status").text_content()
        a.page.wait_for_timeout(100)
    heat_is(ex, 2 * steps, steps)


def ensure_rotated(a: Aug) -> None:
    ex = a.explorer
    if control(ex, "status").text_content() != f"rotate of pair {PAIR}, {STEPS} steps":
        augment(a, "rotate", PAIR, STEPS)
    if ex.locator('select[data-amumo="model"]').input_value() != "clip":
        ex.locator('select[data-amumo="model"]').select_option("clip")
    heat_is(ex, 2 * STEPS, STEPS)
    ex.locator(SCATTER + f'[data-points="{2 * STEPS}"][data-busy="false"]').wait_for(timeout=60_000)
    quiet(a.page)


# -- the tests -----------------------------------------------------------------------------------

def test_rotate_a_hovered_pair_shows_the_augmented_set_and_nothing_moves(aug):
    a = aug
    ex, page = a.explorer, a.page
    ex.scroll_into_view_if_needed()
    status = control(ex, "status")
    assert status.get_attribute("data-state") == "dataset", status.text_content()
    assert status.text_content() == "the dataset is shown"
    kinds = control(ex, "kind").evaluate("s => [...s.options].map(o => o.value)")
    assert kinds[0] == "none" and "rotate" in kinds and "jpeg" in kinds, kinds
    assert control(ex, "steps").input_value() == "100"
    assert control(ex, "none").is_disabled()  # the dataset is shown already
    group = ex.locator('[data-amumo="group-data"]')
    assert group.locator('[data-amumo="augment"]').count() == 1  # in the data group
    start = boxes(ex)
    H.save_screenshot(ex.locator('[data-amumo="controls"]'), "augment_01_controls_dataset")

    # the dataset's image of pair PAIR, hovered (its thumbnail is in the hover panel's cache now)
    hover_cell(ex, 2 * N, PAIR, N + PAIR)  # its image and its text: two thumbnails of its image
    for got in panel_thumbs(ex, 2, page):
        assert thumb_diff(got, a.facts["base_thumb"]) <= 1.5
    # "hovered" fills the pair field with the pair hovered last
    control(ex, "pair").fill("0")
    control(ex, "use-hover").click()
    assert control(ex, "pair").input_value() == str(PAIR)

    # a pair out of range: the kernel's error, nothing else changes
    control(ex, "kind").select_option("rotate")
    control(ex, "pair").fill("99")
    control(ex, "steps").fill(str(STEPS))
    control(ex, "apply").click()
    ex.locator(STATUS + '[data-state="error"]').wait_for(timeout=30_000)
    assert "pair 99 does not exist" in status.text_content() and "0 to 39" in status.text_content(), status.text_content()
    assert boxes(ex) == start
    heat_is(ex, 2 * N, N)
    H.save_screenshot(ex.locator('[data-amumo="controls"]'), "augment_02_error_pair_out_of_range")

    # rotate the hovered pair over 24 steps: every view shows the 24 transformed copies
    record_states(ex)
    samples: list = []
    augment(a, "rotate", PAIR, STEPS, sample=samples)
    states = [s for s, _ in recorded_states(page)]
    assert "pending" in states and states[-1] == "augmented", states
    assert status.text_content() == f"rotate of pair {PAIR}, {STEPS} steps"
    ex.locator(SCATTER + f'[data-points="{2 * STEPS}"][data-busy="false"]').wait_for(timeout=60_000)
    quiet(page)
    samples.append(boxes(ex))
    moved = [s for s in samples if s != start]
    assert not moved, (start, moved[:2])
    st = a.state()
    assert st["aug"] == {"kind": "rotate", "pair": PAIR, "steps": STEPS, "caption": a.facts["captions"][PAIR],
                         "param_unit": "degrees"}, st["aug"]
    assert st["n_total"] == STEPS and st["k"] == STEPS and st["status"] == ""
    assert st["notes"][1] == "step 1 · rotate 15°" and len(st["notes"]) == STEPS, st["notes"][:3]
    assert st["numpy_diff"] < 1e-5, st["numpy_diff"]
    heat = ex.locator(HEATMAP)
    assert heat.get_attribute("data-rows") == str(2 * STEPS) and heat.get_attribute("data-n") == str(STEPS)
    assert ex.locator('[data-amumo="filter-count"]').text_content() == f"{STEPS} of {STEPS} pairs"
    assert not control(ex, "none").is_disabled()
    assert control(ex, "use-hover").is_disabled()  # the pairs shown are steps, not dataset pairs
    H.save_screenshot(ex, "augment_03_rotate_24_steps")
    assert not [p for p in a.problems if "pageerror" in p], a.problems


def test_hovering_steps_shows_their_images_notes_and_exact_values(aug):
    a = aug
    ex, page = a.explorer, a.page
    ensure_rotated(a)
    st = a.state()
    rows = 2 * STEPS
    assert st["order"] == list(range(STEPS))  # no filter, no clustering: row i = step i
    caption = a.facts["captions"][PAIR]
    seen = {}
    for r, c in ((2, 6), (PAIR, 8), (16, STEPS + 5)):
        text = hover_cell(ex, rows, r, c)
        assert abs(value_of(text) - st["cos"][r][c]) <= 5e-5 + 1e-6, (r, c, text, st["cos"][r][c])
        items = panel_items(ex)
        steps = [r, c if c < STEPS else c - STEPS]
        mods = ["image", "image" if c < STEPS else "text"]
        assert [(p, m) for p, m, _, _ in items] == list(zip(steps, mods)), items
        for (p, _m, cap, note), step in zip(items, steps):
            assert cap == caption, (cap, caption)  # the caption stays
            assert note == st["notes"][step] and note.startswith(f"step {step} · rotate "), (note, step)
            assert note == f"step {step} · rotate {15 * step:g}°", note
        thumbs = panel_thumbs(ex, len(steps), page)  # a heatmap hover: each item with its pair's image
        for step, got in zip(steps, thumbs):
            assert thumb_diff(got, st["thumbs"][str(step)]) <= 1.5, (step, thumb_diff(got, st["thumbs"][str(step)]))
            seen[step] = got
        if (r, c) == (2, 6):
            H.save_screenshot(ex, "augment_04_hover_steps_2_6")
    # two steps are two images; step PAIR is not the dataset's pair PAIR (hovered before augmenting)
    assert thumb_diff(seen[2], seen[6]) > 20, thumb_diff(seen[2], seen[6])
    assert thumb_diff(st["thumbs"][str(PAIR)], a.facts["base_thumb"]) > 5
    assert thumb_diff(seen[PAIR], a.facts["base_thumb"]) > 5, "the hover panel showed the dataset's cached thumbnail"
    page.mouse.move(1, 1)


def test_anti_diagonal_cells_are_the_kernels_cosines(aug):
    a = aug
    ex = a.explorer
    ensure_rotated(a)
    st = a.state()
    rows = 2 * STEPS
    for i in (3, 8, 10):
        j = STEPS - i  # rotations by θ and 360° − θ
        text = hover_cell(ex, rows, i, j)
        want = st["cos"][i][j]
        assert abs(value_of(text) - want) <= 5e-5 + 1e-6, (i, j, text, want)
        assert "image–image" in text, text
        notes = [n for _p, _m, _c, n in panel_items(ex)]
        assert notes == [f"step {i} · rotate {15 * i:g}°", f"step {j} · rotate {15 * j:g}°"], notes
        if i == 3:
            H.save_screenshot(ex, "augment_05_anti_diagonal_45_315")
    a.page.mouse.move(1, 1)


def test_switching_the_model_keeps_the_augmentation(aug):
    a = aug
    ex, page = a.explorer, a.page
    ensure_rotated(a)
    clip = a.state()
    model = ex.locator('select[data-amumo="model"]')
    try:
        model.select_option("cloob")
        ex.locator(SCATTER + f'[data-points="{2 * STEPS}"][data-points-model="cloob"][data-busy="false"]').wait_for(timeout=60_000)
        heat_is(ex, 2 * STEPS, STEPS)
        quiet(page)
        cloob = a.state()
        assert cloob["model"] == "cloob" and cloob["aug"] == clip["aug"] and cloob["n_total"] == STEPS
        assert cloob["notes"] == clip["notes"]
        assert control(ex, "status").text_content() == f"rotate of pair {PAIR}, {STEPS} steps"
        assert np.abs(np.asarray(cloob["cos"]) - np.asarray(clip["cos"])).max() > 1e-3  # another model's vectors
        for r, c in ((2, 6), (5, STEPS - 5), (1, STEPS + 7)):
            text = hover_cell(ex, 2 * STEPS, r, c)
            assert abs(value_of(text) - cloob["cos"][r][c]) <= 5e-5 + 1e-6, (r, c, text, cloob["cos"][r][c], clip["cos"][r][c])
        H.save_screenshot(ex, "augment_06_model_cloob")
    finally:
        page.mouse.move(1, 1)
        model.select_option("clip")
        ex.locator(SCATTER + f'[data-points-model="clip"][data-busy="false"]').wait_for(timeout=60_000)


def test_none_restores_the_dataset_and_its_filter(aug):
    a = aug
    ex, page = a.explorer, a.page
    ensure_rotated(a)
    start = boxes(ex)
    status = control(ex, "status")
    # kind "none" + apply: the dataset (no filter before: all 40 pairs)
    control(ex, "kind").select_option("none")
    control(ex, "apply").click()
    heat_is(ex, 2 * N, N)
    ex.locator(STATUS + '[data-state="dataset"]').wait_for(timeout=30_000)
    assert status.text_content() == "the dataset is shown"
    st = a.state()
    assert st["aug"] == {} and st["n_total"] == N and st["notes"] == [] and st["filter"] == ""
    quiet(page)
    assert boxes(ex) == start
    H.save_screenshot(ex, "augment_07_restored_by_none")

    # a filter, an augmentation (which clears it), then "back to the dataset": the filter is back
    captions = a.facts["captions"]
    word = "red"
    k = sum(word in c.lower() for c in captions)
    assert 0 < k < N, k
    set_filter(ex, word, k)
    heat_is(ex, 2 * k, k)
    augment(a, "blur", PAIR, 6)
    assert ex.locator('input[data-amumo="filter-input"]').input_value() == ""
    st = a.state()
    assert st["filter"] == "" and st["aug"]["kind"] == "blur" and st["n_total"] == 6
    assert st["notes"][0].startswith("step 0 · blur "), st["notes"]
    H.save_screenshot(ex.locator('[data-amumo="controls"]'), "augment_08_blur_controls")
    control(ex, "none").click()
    heat_is(ex, 2 * k, k)
    ex.locator(STATUS + '[data-state="dataset"]').wait_for(timeout=30_000)
    assert ex.locator('input[data-amumo="filter-input"]').input_value() == word
    ex.locator('[data-amumo="filter-count"]', has_text=f"{k} of {N} pairs").wait_for(timeout=30_000)
    st = a.state()
    assert st["filter"] == word and st["aug"] == {} and st["n_total"] == N and st["k"] == k
    assert control(ex, "kind").input_value() == "none" and control(ex, "none").is_disabled()
    H.save_screenshot(ex, "augment_09_back_to_the_dataset_filtered")
    set_filter(ex, "", N)
    heat_is(ex, 2 * N, N)
    assert boxes(ex) == start
    assert not [p for p in a.problems if "pageerror" in p], a.problems


def test_without_encoders_the_control_is_disabled_and_says_why(aug):
    a = aug
    page = a.page
    out = H.run_cell_containing(page, DISABLED_MARKER)
    line = next(l for l in out.splitlines() if l.startswith(DISABLED_PREFIX))
    why = json.loads(line[len(DISABLED_PREFIX):])
    assert "no encoder" in why, why
    arrays = cell(page, DISABLED_MARKER).locator(EXPLORER)
    try:
        arrays.locator(HEATMAP + f'[data-rows="{2 * N}"]').wait_for(timeout=60_000)
        for name in ("kind", "pair", "use-hover", "steps", "apply", "none"):
            assert control(arrays, name).is_disabled(), name
        status = control(arrays, "status")
        assert status.get_attribute("data-state") == "disabled"
        assert status.text_content() == why
        assert status.get_attribute("title") == why
        arrays.scroll_into_view_if_needed()
        H.save_screenshot(arrays.locator('[data-amumo="controls"]'), "augment_10_disabled_without_encoders")
        # the hover panel has no note for the dataset
        hover_cell(arrays, 2 * N, 1, 2)
        assert all(n is None for *_rest, n in panel_items(arrays)), panel_items(arrays)
    finally:
        page.mouse.move(1, 1)
        out = H.run_cell_containing(page, DISABLED_MARKER)
        assert "AUG_DISABLED_CLOSED" in out, out
    arrays.wait_for(state="detached", timeout=30_000)
    assert not [p for p in a.problems if "pageerror" in p], a.problems
