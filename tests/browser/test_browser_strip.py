"""The InterpolationStrip in a real browser (JupyterLab + headless chromium + Playwright).

A small notebook (written here, into the shared server's root) embeds 200 ``shapes`` pairs with
``toy-clip`` and displays a strip. The test types two prompts ("a red circle" → "a blue circle"),
then asks the kernel for its frames (JSON) and checks that the page shows as many frames, the same
first and last captions (and every caption, t and thumbnail), frames of the fixed width, the kernel's
message for a refused input (the frames stay), α only for vslerp, the kernel's frames again with
"close gap" ticked, and that closing the widget lets go of every listener and object URL. Screenshots: ``test-artifacts/browser/strip_*.png``.
"""
from __future__ import annotations

import json

import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "strip_under_test.ipynb"
STATE_PREFIX = "STRIP_STATE="
SETUP_MARKER = "# amumo-strip: setup"
SHOW_MARKER = "# amumo-strip: show"
STATE_MARKER = "# amumo-strip: state"
CLOSE_MARKER = "# amumo-strip: close"
STEPS = 12

SETUP_CELL = SETUP_MARKER + '''
import json
import amumo_ng
from amumo_ng.widgets import InterpolationStrip
emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n=200, seed=0), "toy-clip", progress=False)'''

SHOW_CELL = SHOW_MARKER + f'''
strip = InterpolationStrip(emb, steps={STEPS})
display(strip)'''

STATE_CELL = STATE_MARKER + '''
strip.wait()
print("''' + STATE_PREFIX + '''" + json.dumps({"frames": strip.frames, "info": strip.strip_info,
    "error": strip.strip_error, "steps": strip.steps, "start": strip.start_spec, "end": strip.end_spec}))'''

CLOSE_CELL = CLOSE_MARKER + '''
strip.close()
print("STRIP_CLOSED")'''

STRIP = '[data-amumo="strip"]'


class StripPage:
    def __init__(self, page):
        self.page = page
        self.problems = H.watch_problems(page)

    @property
    def strip(self):
        return H.code_cell(self.page, SHOW_MARKER).locator(STRIP)

    def control(self, name):
        return self.strip.locator(f'[data-amumo="strip-{name}"]')

    def state(self) -> dict:
        out = H.run_cell_containing(self.page, STATE_MARKER)
        line = next(l for l in out.splitlines() if l.startswith(STATE_PREFIX))
        return json.loads(line[len(STATE_PREFIX):])

    def shown(self) -> list:
        """[t text, caption, image pair, thumbnail loaded, width] of every frame on the page."""
        return self.strip.locator('[data-amumo="strip-frame"]').evaluate_all("""els => els.map(e => {
            const img = e.querySelector('img[data-amumo="strip-thumb"]');
            return [e.querySelector('[data-amumo="strip-t"]').textContent,
                    e.querySelector('[data-amumo="strip-caption"]').textContent, +e.getAttribute('data-image'),
                    !!img && img.complete && img.naturalWidth > 0, e.getBoundingClientRect().width]; })""")

    def live(self) -> dict:
        return self.page.evaluate("() => globalThis.__amumoNgLiveCounts ? globalThis.__amumoNgLiveCounts() : null")


@pytest.fixture(scope="module")
def sp(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, STATE_CELL, CLOSE_CELL))
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    H.run_cell_containing(page, SETUP_MARKER, timeout_ms=300_000)
    s = StripPage(page)
    H.run_cell_containing(page, SHOW_MARKER)
    H.code_cell(page, SHOW_MARKER).locator(f'{STRIP}[data-frames="{STEPS}"]').wait_for(timeout=60_000)
    yield s
    page.close()


def matches_kernel(s: StripPage, frames: list) -> bool:
    shown = s.shown()
    return (len(shown) == len(frames) and all(row[3] for row in shown)
            and [row[1] for row in shown] == [f["caption"] for f in frames]
            and [row[2] for row in shown] == [f["image_index"] for f in frames])


def test_two_typed_prompts_show_the_kernels_frames(sp):
    page = sp.page
    assert sp.control("start").input_value() == "#0" and sp.control("end").input_value() == "i0"
    for name, prompt in (("start", "a red circle"), ("end", "a blue circle")):
        box = sp.control(name)
        box.fill(prompt)
        box.press("Enter")
        # ipywidgets holds back a state update while the previous one is being handled: wait until the
        # kernel's status names the prompt, so the kernel has it before the state cell runs
        H.wait_until(lambda: f"text '{prompt}'" in (sp.control("status").text_content() or ""),
                     lambda: f"status {sp.control('status').text_content()!r}", page)
    state = sp.state()
    assert state["error"] == ""
    assert state["start"] == {"text": "a red circle"} and state["end"] == {"text": "a blue circle"}
    frames = state["frames"]
    assert len(frames) == STEPS and state["info"]["end_label"] == "text 'a blue circle'"
    H.wait_until(lambda: matches_kernel(sp, frames), lambda: f"page shows {sp.shown()} not the kernel's {frames}", page)
    shown = sp.shown()
    assert shown[0][1] == frames[0]["caption"] and shown[-1][1] == frames[-1]["caption"]
    assert [row[0] for row in shown] == [f"t = {f['t']:.2f}" for f in frames]
    assert {row[4] for row in shown} == {120}  # fixed frame width (CSS px)
    assert sp.strip.get_attribute("data-frames") == str(STEPS)
    assert "a red circle" in sp.control("status").text_content()
    assert sp.control("error").text_content() == ""
    sp.strip.scroll_into_view_if_needed()
    H.save_screenshot(sp.strip, "strip_01_red_to_blue_circle")
    assert not sp.problems, sp.problems


def status_ends(sp, text):
    """Wait until the kernel's status line ends with ``text`` (so it has handled what was sent)."""
    H.wait_until(lambda: (sp.control("status").text_content() or "").endswith(text),
                 lambda: f"status {sp.control('status').text_content()!r}", sp.page)


def test_a_refused_input_shows_the_kernels_message_and_keeps_the_frames(sp):
    page = sp.page
    before = sp.shown()
    steps = sp.control("steps")
    steps.fill("1")
    steps.press("Tab")
    state = sp.state()
    assert state["steps"] == 1 and state["error"].startswith("steps must be between 2 and 512")
    H.wait_until(lambda: sp.control("error").text_content() == state["error"],
                 lambda: f"error slot {sp.control('error').text_content()!r}", page)
    assert sp.shown() == before and sp.strip.get_attribute("data-error") == "true"
    H.save_screenshot(sp.strip, "strip_02_refused_steps")
    steps.fill(str(STEPS))
    steps.press("Tab")
    state = sp.state()
    assert state["error"] == "" and len(state["frames"]) == STEPS
    H.wait_until(lambda: sp.control("error").text_content() == "" and matches_kernel(sp, state["frames"]),
                 "the error slot did not clear", page)
    # α shows for vslerp only
    assert not sp.control("alpha-unit").is_visible()
    sp.control("method").select_option("vslerp")
    assert sp.control("alpha-unit").is_visible()
    status_ends(sp, "(vslerp)")
    sp.control("method").select_option("slerp")
    assert not sp.control("alpha-unit").is_visible()
    status_ends(sp, "(slerp)")
    assert not sp.problems, sp.problems


def test_close_gap_checkbox_shows_the_kernels_gap_closed_frames(sp):
    page = sp.page
    sp.control("close-gap").check()
    state = sp.state()
    assert state["error"] == "" and state["info"]["close_gap"] is True
    H.wait_until(lambda: matches_kernel(sp, state["frames"]),
               lambda: f"page shows {sp.shown()} not the kernel's {state['frames']}", page)
    sp.strip.scroll_into_view_if_needed()
    H.save_screenshot(sp.strip, "strip_03_close_gap")
    sp.control("close-gap").uncheck()
    assert sp.state()["info"]["close_gap"] is False
    assert not sp.problems, sp.problems


def test_closing_the_strip_releases_its_listeners(sp):
    before = sp.live()
    assert before["views"] >= 1 and before["objectURLs"] >= STEPS
    out = H.run_cell_containing(sp.page, CLOSE_MARKER)
    assert "STRIP_CLOSED" in out
    H.wait_until(lambda: (sp.live() or {}).get("views") == 0, lambda: f"live counts {sp.live()}", sp.page)
    after = sp.live()
    assert {k: after[k] for k in ("listeners", "modelListeners", "objectURLs", "requests")} == \
        {"listeners": 0, "modelListeners": 0, "objectURLs": 0, "requests": 0}, after
