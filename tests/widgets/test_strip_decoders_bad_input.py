"""InterpolationStrip decoders: each bad input is a clear message in strip_error, the frames stay and the
widget stays usable; generative decodings run in the background, report progress, can be cancelled and
are cancelled by a newer input."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from helpers_strip import random_toy, shapes, snapshot  # noqa: F401  (shapes is a fixture)
from PIL import Image

from amumo_ng.decoders import DecodedFrame, Decoder, StableDiffusionDecoder, StableUnCLIPDecoder
from amumo_ng.decoders.base import check_cancel
from amumo_ng.widgets import InterpolationStrip


def message_of(fn):
    with pytest.raises(Exception) as info:
        fn()
    return str(info.value)


@pytest.fixture(scope="module")
def pipes():
    from amumo_ng.decoders.tiny import tiny_stable_diffusion, tiny_stable_unclip

    return tiny_stable_diffusion(seed=0), tiny_stable_unclip(seed=0)


class Broken(Decoder):
    """An image decoder of the session's space that fails while decoding."""

    modality, name = "image", "broken"

    def __init__(self, dim, model_id):
        self.dim, self.model_id = dim, model_id

    def decode(self, vectors, *, progress=None, cancel=None):
        raise RuntimeError("the decoder broke")


def test_each_bad_decoder_input_is_a_clear_message_and_the_frames_stay(shapes, pipes):
    d, k = shapes.dim, 5
    decoders = {
        "other model": random_toy(d, "toy-cloob:some-other-model"),
        "other dim": random_toy(32, None),
        "prior": random_toy(d, shapes.model_id, prior=True),
        "sd": StableDiffusionDecoder(pipes[0], num_inference_steps=2),
        "unclip": StableUnCLIPDecoder(pipes[1], num_inference_steps=2),
        "broken": Broken(d, shapes.model_id),
    }
    strip = InterpolationStrip(shapes, start={"image": 3}, end="#150", steps=k, decoders=decoders)
    before = snapshot(strip)
    assert strip.decoders[-6:] == list(decoders)  # after retrieval and the shipped toys (when they ship)
    cases = [
        ({"decoder": "other model"},
         message_of(lambda: decoders["other model"].check(np.ones((k, d)), shapes.model_id))),
        ({"decoder": "other dim"}, message_of(lambda: decoders["other dim"].check(np.ones((k, d))))),
        ({"decoder": "nope"}, f"unknown decoder 'nope'; the strip offers: {', '.join(strip.decoders)}"),
        ({"decoder": "prior"}, "'prior' decodes text vectors (it maps them to image vectors through its prior), but "
                               "the start is image 3, an image"),
        ({"decoder": "sd"}, "'sd' (Stable Diffusion) interpolates the per-token states of its own text encoder between "
                            "two TEXTS, but the start is image 3"),
        ({"decoder": "sd", "start_spec": {"caption": 3}, "method": "vslerp"},
         "'sd' interpolates per-token states token-wise by slerp or lerp, not 'vslerp'"),
        ({"decoder": "sd", "start_spec": {"vector": shapes.text[3].tolist(), "modality": "text"}},
         "'sd' (Stable Diffusion) interpolates the per-token states of its own text encoder between two TEXTS, but "
         "the start is text vector"),
        ({"decoder": "unclip"}, "'unclip' (Stable unCLIP) interpolates the image embeddings of two dataset images (its "
                                "own image encoder), but the end is caption 150"),
        ({"decoder": "broken"}, "RuntimeError: the decoder broke"),
    ]
    for change, expected in cases:
        with strip.hold_trait_notifications():
            for name, value in change.items():
                setattr(strip, name, value)
        assert strip.wait(30)
        assert strip.strip_error.startswith(expected), (change, strip.strip_error)
        assert snapshot(strip) == before, change
        assert not strip.strip_busy and strip.strip_progress == -1.0
        assert strip.session.shown_path().labels == ("image 3", f"caption 150: {shapes.captions[150]}")
        with strip.hold_trait_notifications():  # back to the good input: the error goes, the same frames come back
            strip.decoder, strip.start_spec, strip.method = "retrieval", {"image": 3}, "slerp"
        assert strip.strip_error == "" and strip.frames == before[0]


def test_a_hub_sd_decoder_offline_fails_within_seconds_with_its_message(shapes, monkeypatch):
    monkeypatch.setenv("AMUMO_NG_OFFLINE", "1")
    expected = message_of(lambda: StableDiffusionDecoder.from_pretrained("amumo-ng-tests/no-such-pipeline"))
    strip = InterpolationStrip(shapes, start="a red circle", end="a blue circle", steps=4)
    before = snapshot(strip)
    strip.add_decoder("sd hub", "amumo-ng-tests/no-such-pipeline")  # built on first use, in the worker
    seen = []  # the worker may fail before this thread looks: record what the strip said meanwhile
    strip.observe(lambda change: seen.append((change["name"], change["new"])), names=["strip_busy", "strip_status"])
    start = time.monotonic()
    strip.decoder = "sd hub"
    assert strip.wait(30) and time.monotonic() - start < 10
    assert strip.strip_error == f"decoder 'sd hub' could not be built: {expected}"
    assert "no-such-pipeline" in strip.strip_error and "RetrievalDecoder" in strip.strip_error
    assert snapshot(strip) == before and not strip.strip_busy
    assert ("strip_busy", True) in seen and any(name == "strip_status" and "building the decoder 'sd hub'" in new
                                                for name, new in seen)
    strip.decoder = "retrieval"
    assert strip.strip_error == "" and strip.frames == before[0]


class Gated(Decoder):
    """An image decoder that waits at frame 1 until ``gate`` is set (so the test sees it mid-decoding)."""

    modality, name = "image", "gated"

    def __init__(self, dim, model_id):
        self.dim, self.model_id = dim, model_id
        self.gate, self.started, self.outcomes = threading.Event(), threading.Event(), []

    def decode(self, vectors, *, progress=None, cancel=None):
        frames = []
        try:
            for j in range(len(vectors)):
                check_cancel(cancel, j, len(vectors))
                if j == 1:
                    self.started.set()
                    assert self.gate.wait(10)
                frames.append(DecodedFrame(image=Image.new("RGB", (8, 8), (40 * j, 0, 0))))
                progress(j + 1, len(vectors))
        except Exception as exc:
            self.outcomes.append(type(exc).__name__)
            raise
        self.outcomes.append(len(frames))
        return frames


def test_background_progress_cancel_and_a_newer_input(shapes):
    gated = Gated(shapes.dim, shapes.model_id)
    strip = InterpolationStrip(shapes, start="#3", end="#150", steps=5, decoders={"gated": gated})
    before = snapshot(strip)
    start = time.monotonic()
    strip.decoder = "gated"
    assert time.monotonic() - start < 2  # the kernel is not held by the decoding
    assert gated.started.wait(10) and strip.strip_busy
    assert strip.strip_status == "decoding 5 frames with gated… 1/5" and strip.strip_progress == pytest.approx(0.2)
    worker = strip._job[0]
    reply, buffers = strip.handle_cancel({"type": "cancel", "req": 7})  # the browser's cancel button
    assert reply == {"type": "cancel", "req": 7, "ok": True} and buffers == []
    assert not strip.strip_busy and strip.strip_progress == -1.0
    assert strip.strip_status == f"decoding cancelled; shown: {before[4]}"
    assert strip._job is None
    gated.gate.set()
    worker.join(10)
    assert gated.outcomes == ["DecoderCancelled"] and snapshot(strip)[:4] == before[:4]
    # a newer input cancels the running decoding; only the newest lands
    gated.gate.clear()
    gated.started.clear()
    strip.steps = 6
    assert gated.started.wait(10)
    strip.steps = 4  # waits for the first to stop (one decoding at a time), then runs
    gated.gate.set()
    assert strip.wait(30) and strip.strip_error == ""
    assert gated.outcomes[1:] == ["DecoderCancelled", 4] and len(strip.frames) == 4
    assert all(f["generated"] for f in strip.frames) and strip.strip_status.startswith("4 frames")
