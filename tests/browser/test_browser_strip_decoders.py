"""The InterpolationStrip's decoders in a real browser (JupyterLab + headless chromium + Playwright).

A notebook (written here) embeds 200 ``shapes`` pairs with ``toy-clip`` and shows a strip offered three
user decoders: the toy unCLIP with random networks, its prior, and a slow image decoder (1 s a frame).
The test picks the toy decoder in the dropdown and sees every generated picture drawn (loaded, the
kernel's very bytes by SHA-256, as many as steps), then starts the slow decoder and sees the busy row
(progress, cancel) and cancels it (the frames stay), feeds the prior an image end and sees the kernel's
message (the frames stay), and closes the strip (every listener, request and object URL released).
Screenshots: ``test-artifacts/browser/strip_decoders_*.png``.
"""
from __future__ import annotations

import pytest

import lab_harness as H

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "strip_decoders_under_test.ipynb"
PREFIX = "STRIP_DEC="
SETUP, SHOW, STATE, CLOSE = ("# amumo-strip-dec: setup", "# amumo-strip-dec: show", "# amumo-strip-dec: state",
                             "# amumo-strip-dec: close")
STEPS = 8
TOY, PRIOR, SLOW = "toy (random nets)", "prior (random nets)", "slow"

SETUP_CELL = SETUP + '''
import hashlib, json, time
import torch
from PIL import Image
import amumo_ng
from amumo_ng.decoders import Decoder, DecodedFrame, ToyUnCLIPDecoder
from amumo_ng.decoders.base import check_cancel
from amumo_ng.decoders.toy_nets import EmbeddingImageDecoder, RegressionPrior
from amumo_ng.widgets import InterpolationStrip
emb = amumo_ng.embed(amumo_ng.datasets.load("shapes", n=200, seed=0), "toy-clip", progress=False)
torch.manual_seed(0)
toy = ToyUnCLIPDecoder(EmbeddingImageDecoder(emb.dim), RegressionPrior(emb.dim), model_id=emb.model_id)

class Slow(Decoder):
    modality, name = "image", "slow"
    def __init__(self, dim):
        self.dim, self.model_id = dim, None
    def decode(self, vectors, *, progress=None, cancel=None):
        out = []
        for j in range(len(vectors)):
            check_cancel(cancel, j, len(vectors))
            time.sleep(1.0)
            out.append(DecodedFrame(image=Image.new("RGB", (32, 32), (30 * j, 120, 200))))
            progress(j + 1, len(vectors))
        return out'''

SHOW_CELL = SHOW + f'''
strip = InterpolationStrip(emb, start="a red circle", end="a blue circle", steps={STEPS},
                           decoders={{"{TOY}": toy, "{PRIOR}": toy.with_prior(), "{SLOW}": Slow(emb.dim)}})
display(strip)'''

STATE_CELL = STATE + '''
strip.wait()
off = [int(x) for x in __import__("numpy").frombuffer(strip.frame_image_offsets, "uint32")]
print("''' + PREFIX + '''" + json.dumps({"frames": strip.frames, "info": strip.strip_info, "error": strip.strip_error,
    "status": strip.strip_status, "decoder": strip.decoder, "decoders": strip.decoders,
    "sha": [hashlib.sha256(strip.frame_images[a:b]).hexdigest() for a, b in zip(off[:-1], off[1:])]}))'''

CLOSE_CELL = CLOSE + '''
strip.close()
print("STRIP_CLOSED")'''

STRIP = '[data-amumo="strip"]'
SHOWN_JS = """async els => Promise.all(els.map(async e => {
    const img = e.querySelector('img[data-amumo="strip-thumb"]');
    let sha = null;
    if (img) {
        const bytes = await (await fetch(img.src)).arrayBuffer();
        sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
            .map(b => b.toString(16).padStart(2, "0")).join("");
    }
    return {generated: e.getAttribute("data-generated") === "true",
            loaded: !!img && img.complete && img.naturalWidth > 0, natural: img ? img.naturalWidth : 0,
            caption: e.querySelector('[data-amumo="strip-caption"]').textContent, sha};
}))"""


class Page:
    def __init__(self, page):
        self.page = page
        self.problems = H.watch_problems(page)

    @property
    def strip(self):
        return H.code_cell(self.page, SHOW).locator(STRIP)

    def control(self, name):
        return self.strip.locator(f'[data-amumo="strip-{name}"]')

    def state(self) -> dict:
        return H.printed(self.page, STATE, PREFIX)

    def shown(self) -> list:
        return self.strip.locator('[data-amumo="strip-frame"]').evaluate_all(SHOWN_JS)

    def status(self) -> str:
        return self.control("status").text_content() or ""


@pytest.fixture(scope="module")
def sp(lab_server, browser):
    H.write_notebook(lab_server.root / NOTEBOOK, (SETUP_CELL, SHOW_CELL, STATE_CELL, CLOSE_CELL))
    page = browser.context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    H.open_notebook(page, lab_server, NOTEBOOK)
    page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    H.run_cell_containing(page, SETUP, timeout_ms=300_000)
    s = Page(page)
    H.run_cell_containing(page, SHOW)
    H.code_cell(page, SHOW).locator(f'{STRIP}[data-frames="{STEPS}"]').wait_for(timeout=60_000)
    yield s
    page.close()


def test_the_toy_decoder_picked_in_the_dropdown_draws_its_generated_pictures(sp):
    menu = sp.control("decoder")
    offered = sp.state()["decoders"]  # retrieval, the shipped toys when their weights are there, then ours
    assert offered[0] == "retrieval" and offered[-3:] == [TOY, PRIOR, SLOW]
    assert menu.locator("option").all_text_contents() == offered
    label = sp.control("close-gap-label")
    assert label.text_content() == "close gap before decoding"
    box = label.bounding_box()
    assert box["height"] <= 24, box  # one line: the label fits
    menu.select_option(TOY)
    H.wait_until(lambda: "painted by " + TOY in sp.status(), lambda: f"status {sp.status()!r}", sp.page, 60)
    state = sp.state()
    assert state["error"] == "" and state["decoder"] == TOY and state["info"]["generated"] is True
    assert len(state["frames"]) == STEPS and all(f["generated"] for f in state["frames"])

    def drawn():
        shown = sp.shown()
        return (len(shown) == STEPS and all(s["generated"] and s["loaded"] for s in shown)
                and [s["sha"] for s in shown] == state["sha"]) and shown

    shown = H.wait_until(drawn, lambda: f"page shows {sp.shown()} not the kernel's {state['sha']}", sp.page, 30)
    assert {s["natural"] for s in shown} == {64}  # the toy decoder's 64-px pictures, sent as they are
    assert [s["caption"] for s in shown] == [f["caption"] for f in state["frames"]]
    assert len(set(state["sha"])) > 1 and sp.control("error").text_content() == ""
    assert not sp.control("busy").is_visible() or sp.control("busy").get_attribute("data-busy") == "false"
    sp.strip.scroll_into_view_if_needed()
    H.quiet(sp.page)
    H.save_screenshot(sp.strip, "strip_decoders_01_toy_random_nets")
    assert not sp.problems, sp.problems


def test_the_shipped_toy_unclip_when_its_weights_are_there(sp):
    if "toy unCLIP" not in sp.state()["decoders"]:
        pytest.skip("no toy unCLIP ships for toy-clip in this checkout")
    sp.control("decoder").select_option("toy unCLIP + prior")
    H.wait_until(lambda: "painted by toy unCLIP + prior" in sp.status(), lambda: f"status {sp.status()!r}", sp.page, 60)
    state = sp.state()
    H.wait_until(lambda: [s["sha"] for s in sp.shown()] == state["sha"] and all(s["loaded"] for s in sp.shown()),
                 "the shipped toy's pictures were not drawn", sp.page, 30)
    sp.strip.scroll_into_view_if_needed()
    H.quiet(sp.page)
    H.save_screenshot(sp.strip, "strip_decoders_04_shipped_toy_prior")
    sp.control("decoder").select_option(TOY)
    H.wait_until(lambda: "painted by " + TOY in sp.status(), lambda: f"status {sp.status()!r}", sp.page, 60)
    assert not sp.problems, sp.problems


def test_a_slow_decoder_shows_progress_and_cancel_keeps_the_frames(sp):
    before = sp.shown()
    sp.control("decoder").select_option(SLOW)
    busy = sp.control("busy")
    H.wait_until(lambda: busy.get_attribute("data-busy") == "true" and "/8" in sp.status(),
                 lambda: f"busy {busy.get_attribute('data-busy')} status {sp.status()!r}", sp.page, 30)
    assert sp.control("cancel").is_visible() and sp.control("progress").is_visible()
    assert sp.strip.get_attribute("data-busy") == "true"
    H.save_screenshot(sp.strip, "strip_decoders_02_busy")
    sp.control("cancel").click()
    H.wait_until(lambda: sp.status().startswith("decoding cancelled"), lambda: f"status {sp.status()!r}", sp.page, 20)
    assert busy.get_attribute("data-busy") == "false" and not sp.control("cancel").is_visible()
    state = sp.state()
    assert state["decoder"] == SLOW and state["error"] == "" and state["info"]["decoder"] == TOY
    assert sp.shown() == before
    assert not sp.problems, sp.problems


def test_the_prior_refuses_an_image_end_with_the_kernels_message(sp):
    before = sp.shown()
    sp.control("decoder").select_option(PRIOR)
    H.wait_until(lambda: "painted by " + PRIOR in sp.status(), lambda: f"status {sp.status()!r}", sp.page, 60)
    before = sp.shown()
    box = sp.control("start")
    box.fill("i3")
    box.press("Enter")
    H.wait_until(lambda: "decodes text vectors" in (sp.control("error").text_content() or ""),
                 lambda: f"error {sp.control('error').text_content()!r}", sp.page, 30)
    state = sp.state()
    assert sp.control("error").text_content() == state["error"] and "the start is image 3" in state["error"]
    assert sp.shown() == before and sp.strip.get_attribute("data-error") == "true"
    sp.strip.scroll_into_view_if_needed()
    H.save_screenshot(sp.strip, "strip_decoders_03_prior_refuses_an_image")
    sp.control("decoder").select_option(TOY)  # an image decoder takes the image end
    H.wait_until(lambda: sp.control("error").text_content() == "" and "image 3 →" in sp.status(),
                 lambda: f"status {sp.status()!r}", sp.page, 60)
    assert not sp.problems, sp.problems


def test_closing_releases_every_listener_request_and_url(sp):
    live = "() => globalThis.__amumoNgLiveCounts ? globalThis.__amumoNgLiveCounts() : null"
    before = sp.page.evaluate(live)
    assert before["views"] >= 1 and before["objectURLs"] >= STEPS
    assert "STRIP_CLOSED" in H.run_cell_containing(sp.page, CLOSE)
    H.wait_until(lambda: (sp.page.evaluate(live) or {}).get("views") == 0, "the view was not destroyed", sp.page)
    after = sp.page.evaluate(live)
    assert {k: after[k] for k in ("listeners", "modelListeners", "objectURLs", "requests")} == \
        {"listeners": 0, "modelListeners": 0, "objectURLs": 0, "requests": 0}, after
