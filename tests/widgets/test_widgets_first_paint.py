"""The Explorer's first paint comes first: captions wait for a view to render, the background readout
for a view to paint (amumo_ng.widgets.first_paint), and nothing is lost on the way."""
from __future__ import annotations

import threading
import time

import ipywidgets
import numpy as np
import pytest

import amumo_ng
from amumo_ng.widgets import base as base_module
from amumo_ng.widgets.first_paint import FirstPaintGate
from amumo_ng.widgets import readout_panel
from amumo_ng.widgets.readout_panel import READOUT_SYNC_LIMIT

from helpers_widgets import make_embeddings


# -- the gate ----------------------------------------------------------------------------------
def wait_in_thread(gate, cancel=None):
    out = {}

    def run():
        t0 = time.monotonic()
        out["open"] = gate.wait(cancel)
        out["s"] = time.monotonic() - t0

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_gate_opens_when_a_view_painted_and_stays_open():
    gate = FirstPaintGate(render_wait=60, paint_wait=60)
    gate.view_rendering()
    thread, out = wait_in_thread(gate)
    time.sleep(0.2)
    assert thread.is_alive() and not gate.is_open  # a view renders: the work waits for its paint
    gate.view_painted()
    thread.join(5)
    assert out["open"] is True and gate.opened_by == "painted"
    gate.release()  # opening again changes nothing
    assert gate.opened_by == "painted" and gate.wait() is True


def test_gate_without_any_view_opens_after_the_render_wait():
    gate = FirstPaintGate(render_wait=0.3, paint_wait=60)
    thread, out = wait_in_thread(gate)
    thread.join(5)
    assert out["open"] is True and gate.opened_by == "no view"
    assert 0.25 <= out["s"] < 3.0


def test_a_displayed_widget_waits_for_the_paint_up_to_the_paint_wait():
    gate = FirstPaintGate(render_wait=0.05, paint_wait=0.6)
    gate.displayed()
    thread, out = wait_in_thread(gate)
    thread.join(5)
    assert out["open"] is True and gate.opened_by == "paint timeout"
    assert out["s"] >= 0.5  # well past the render wait: displayed, so the paint was waited for


def test_release_and_cancel():
    gate = FirstPaintGate(render_wait=60, paint_wait=60)
    cancel = threading.Event()
    thread, out = wait_in_thread(gate, cancel)
    cancel.set()
    thread.join(5)
    assert out["open"] is False and not gate.is_open
    thread, out = wait_in_thread(gate)
    gate.release()
    thread.join(5)
    assert out["open"] is True and gate.opened_by == "released"


def test_negative_waits_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        FirstPaintGate(render_wait=-1)


# -- the Explorer --------------------------------------------------------------------------------
@pytest.fixture
def sent_states(monkeypatch):
    """Every state message the widgets send: [(widget, set of keys)]."""
    sent = []
    original = ipywidgets.Widget._send

    def record(self, msg, buffers=None):
        if isinstance(msg, dict) and msg.get("method") == "update":
            sent.append((self, set(msg.get("state", {})) | {p[0] for p in msg.get("buffer_paths", [])}))
        return original(self, msg, buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", record)
    return sent


def unpacked(widget) -> list[str]:
    """The captions as the browser decodes them: UTF-8 slices between uint32 offsets."""
    data, offsets = widget.captions_utf8, np.frombuffer(widget.caption_offsets, np.uint32)
    return [data[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]


def keys_sent(sent, widget):
    return set().union(*[keys for w, keys in sent if w is widget]) if sent else set()


def test_captions_wait_for_a_rendering_view_and_then_arrive_whole(sent_states, monkeypatch):
    monkeypatch.setattr(base_module, "CAPTIONS_FALLBACK_S", 60.0)
    emb = make_embeddings(30)
    ex = amumo_ng.Explorer(emb)
    shown = keys_sent(sent_states, ex)
    assert {"order", "heat_pixels", "points"} <= shown  # the views' data went out
    assert not shown & {"captions_utf8", "caption_offsets"}  # the captions did not
    assert unpacked(ex) == emb.captions  # Python sees them all along
    sent_states.clear()
    replies = []
    monkeypatch.setattr(ex, "send", lambda content, buffers=None: replies.append(content))
    ex._dispatch(ex, {"type": "view_rendering", "req": 7}, [])
    assert replies == [{"type": "view_rendering", "req": 7}]
    assert {"captions_utf8", "caption_offsets"} <= keys_sent(sent_states, ex)
    sent_states.clear()
    ex._dispatch(ex, {"type": "view_rendering", "req": 8}, [])  # a second view: nothing resent
    assert not keys_sent(sent_states, ex) & {"captions_utf8"}
    # a model switch afterwards sends its captions at once
    other = make_embeddings(31, seed=3, model_id="other")  # other captions (one pair more)
    ex2 = amumo_ng.Explorer({"a": emb, "b": other})
    ex2._dispatch(ex2, {"type": "view_rendering", "req": 1}, [])
    sent_states.clear()
    ex2.model = "b"
    assert "captions_utf8" in keys_sent(sent_states, ex2)
    assert unpacked(ex2) == other.captions


def test_captions_go_out_without_a_view_after_the_fallback(sent_states, monkeypatch):
    monkeypatch.setattr(base_module, "CAPTIONS_FALLBACK_S", 0.2)
    ex = amumo_ng.Explorer(make_embeddings(20))
    deadline = time.monotonic() + 10
    while "captions_utf8" not in keys_sent(sent_states, ex) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "captions_utf8" in keys_sent(sent_states, ex)


def big_embeddings(n=READOUT_SYNC_LIMIT + 500, d=16):
    rng = np.random.default_rng(2)
    img = rng.normal(size=(n, d)).astype(np.float32) + 0.5
    txt = rng.normal(size=(n, d)).astype(np.float32) - 0.5
    return amumo_ng.Embeddings.from_arrays(img, txt, captions=[f"pair {i}" for i in range(n)])


@pytest.fixture
def gated(monkeypatch):
    """Readouts of big_embeddings() are gated (the real gate starts at 250k pairs)."""
    monkeypatch.setattr(readout_panel, "FIRST_PAINT_GATE_PAIRS", READOUT_SYNC_LIMIT)


def test_background_readout_waits_for_the_paint(gated):
    ex = amumo_ng.Explorer(big_embeddings())
    ex._repr_mimebundle_()  # displayed: the readout waits for a view's paint
    time.sleep(0.6)
    assert ex.gap_readout.get("pending") is True and ex._readout_thread.is_alive()
    assert ex._first_paint.is_open is False
    ex._dispatch(ex, {"type": "view_painted", "req": 2}, [])
    ex._readout_thread.join(60)
    out = ex.gap_readout
    assert not out.get("pending") and ex._first_paint.opened_by == "painted"
    # the readout is the one wait_readout computes on its own
    ref = amumo_ng.Explorer(big_embeddings()).wait_readout(60)
    assert out["distance_before"] == pytest.approx(ref["distance_before"], rel=1e-6)
    assert out["loss_before"] == pytest.approx(ref["loss_before"], rel=1e-6)


def test_below_the_gate_size_the_readout_starts_at_once():
    assert READOUT_SYNC_LIMIT + 500 < readout_panel.FIRST_PAINT_GATE_PAIRS
    ex = amumo_ng.Explorer(big_embeddings())
    ex._repr_mimebundle_()  # displayed, never painted: no wait below the gate size
    ex._readout_thread.join(60)
    assert not ex.gap_readout.get("pending") and not ex._first_paint.is_open


def test_wait_readout_does_not_wait_for_a_paint(gated):
    ex = amumo_ng.Explorer(big_embeddings())
    ex._repr_mimebundle_()
    t0 = time.monotonic()
    out = ex.wait_readout(60)
    assert not out.get("pending") and ex._first_paint.opened_by == "released"
    assert time.monotonic() - t0 < ex._first_paint.paint_wait
