"""InterpolationStrip decoders (kernel side): the menu, the toy unCLIP with random nets against its own
decode of vectors computed here, the close-gap shift by hand, the prior, the session's shared ends and the
published path."""
from __future__ import annotations

import numpy as np
import pytest
from helpers_strip import (assert_same_pictures, direct, hand_gap, nearest_captions, numpy_slerp, pictures,
                           random_toy, shapes, unit)  # noqa: F401  (shapes is a fixture)

from amumo_ng.decoders import toy_unclip_for
from amumo_ng.session import Session
from amumo_ng.widgets import InterpolationStrip

TOY, TOY_PRIOR = "toy unCLIP", "toy unCLIP + prior"


@pytest.fixture(scope="module")
def toy(shapes):
    return random_toy(shapes.dim, shapes.model_id)


def test_the_menu_offers_retrieval_the_shipped_toys_and_the_users(shapes, toy):
    shipped = [TOY, TOY_PRIOR] if toy_unclip_for(shapes.model_id) else []
    strip = InterpolationStrip(shapes, steps=3, decoders={"mine": toy})
    assert strip.decoder == "retrieval" and strip.decoders == ["retrieval", *shipped, "mine"]
    strip.add_decoder("second", lambda: toy)
    assert strip.decoders == ["retrieval", *shipped, "mine", "second"]
    with pytest.raises(ValueError, match="the strip's own decoder"):
        strip.add_decoder("retrieval", toy)
    with pytest.raises(TypeError, match="expected an amumo_ng.decoders.Decoder"):
        strip.add_decoder("bad", 42)


def test_shipped_toys_are_built_once_when_toy_unclip_for_names_one(shapes, monkeypatch):
    import amumo_ng.decoders.toy_unclip as tu

    base = random_toy(shapes.dim, shapes.model_id, prior=True, seed=1)
    loads = []

    def fake_load(cls, model="toy-clip", *, prior=False, weights_path=None):
        loads.append((model, prior))
        return base if prior else base.with_prior(False)

    monkeypatch.setattr(tu, "toy_unclip_for", lambda mid: "toy-clip" if mid == shapes.model_id else None)
    monkeypatch.setattr(tu.ToyUnCLIPDecoder, "load", classmethod(fake_load))
    other = type(shapes).from_arrays(shapes.image[:, :16], shapes.text[:, :16], shapes.captions, model_id="cut")
    session = Session({"clip": shapes, "cut": other})
    strip = InterpolationStrip(session=session, start="a red circle", end="a blue circle", steps=5)
    assert strip.decoders == ["retrieval", TOY, TOY_PRIOR]
    path = numpy_slerp(*shapes.encoder.encode_texts(["a red circle", "a blue circle"]), 5)
    strip.decoder = TOY_PRIOR
    assert strip.wait(30) and strip.strip_error == ""
    assert_same_pictures(pictures(strip), direct(base, path))
    strip.decoder = TOY
    assert strip.wait(30) and strip.strip_error == "" and loads == [("toy-clip", True)]  # built once
    assert_same_pictures(pictures(strip), direct(base.with_prior(False), path))
    # a model without a shipped toy: the menu shrinks and the chosen toy is refused by name
    before = list(strip.frames)
    session.model = "cut"
    assert strip.decoders == ["retrieval"] and strip.frames == before
    assert strip.strip_error.startswith(f"unknown decoder {TOY!r} (no toy unCLIP ships for the model 'cut')")
    with strip.hold_trait_notifications():  # 'cut' has no encoder: captions instead of prompts
        strip.decoder, strip.start_spec, strip.end_spec = "retrieval", {"caption": 3}, {"caption": 9}
    assert strip.strip_error == "" and strip.strip_info["model"] == "cut"


def test_the_toy_decoder_paints_k_frames_equal_to_its_own_decode(shapes, toy):
    strip = InterpolationStrip(shapes, start={"image": 3}, end={"image": 40}, steps=7, decoders={"toy": toy})
    busy = []
    strip.observe(lambda change: busy.append(change["new"]), names=["strip_busy"])
    strip.decoder = "toy"
    assert strip.wait(30) and strip.strip_error == "" and not strip.strip_busy
    assert busy == [True, False]  # generative decoders work in the background
    path = numpy_slerp(shapes.image[3], shapes.image[40], 7)
    got = pictures(strip)
    assert len(got) == 7 and {g.shape for g in got} == {(64, 64, 3)}
    assert_same_pictures(got, direct(toy, path))
    assert len({g.tobytes() for g in got}) > 1  # the frames differ along the path
    assert [f["caption_index"] for f in strip.frames] == nearest_captions(path, shapes)
    assert all(f["generated"] and f["image_mime"] == "image/png" for f in strip.frames)
    assert [f["t"] for f in strip.frames] == pytest.approx(np.linspace(0, 1, 7))
    info = strip.strip_info
    assert info["decoder"] == "toy" and info["generated"] and info["note"] == "" and not info["close_gap"]
    assert strip.strip_status.endswith("(slerp), painted by toy")


def test_close_gap_before_decoding_is_the_hand_computed_shift(shapes, toy):
    strip = InterpolationStrip(shapes, start="#3", end="#150", steps=6, decoders={"toy": toy}, decoder="toy")
    assert strip.wait(30)
    path = numpy_slerp(shapes.text[3], shapes.text[150], 6)
    # without: the text vectors are painted as they are, and the strip says so
    assert_same_pictures(pictures(strip), direct(toy, path))
    assert "not closed" in strip.strip_info["note"] and "not closed" in strip.strip_status
    strip.close_gap = True
    assert strip.wait(30) and strip.strip_error == ""
    shifted = unit(unit(path) + hand_gap(shapes))  # text → text: the whole gap on every frame
    assert_same_pictures(pictures(strip), direct(toy, shifted))
    assert strip.strip_info["close_gap"] is True and strip.strip_info["note"] == ""
    # captions still come from the path itself; the nearest dataset images from the shifted frames
    assert [f["caption_index"] for f in strip.frames] == nearest_captions(path, shapes)
    image_rows = unit(shapes.image)
    assert [f["image_index"] for f in strip.frames] == [int(np.argmax(image_rows @ q)) for q in shifted]
    # a mixed path: the text share grows linearly from the image end
    strip.start_spec = {"image": 7}
    assert strip.wait(30) and strip.strip_error == ""
    mixed = numpy_slerp(shapes.image[7], shapes.text[150], 6)
    w = np.linspace(0, 1, 6)[:, None]
    assert_same_pictures(pictures(strip), direct(toy, unit(unit(mixed) + w * hand_gap(shapes))))


def test_the_prior_decodes_text_paths(shapes):
    prior = random_toy(shapes.dim, shapes.model_id, prior=True, seed=2)
    strip = InterpolationStrip(shapes, start="a red circle", end="#150", steps=5, close_gap=True,
                               decoders={"prior": prior}, decoder="prior")
    assert strip.wait(30) and strip.strip_error == ""
    path = numpy_slerp(shapes.encoder.encode_texts(["a red circle"])[0], shapes.text[150], 5)
    assert_same_pictures(pictures(strip), direct(prior, path))  # the prior maps the text itself: no shift
    assert strip.strip_info["close_gap"] is False and "does not apply" in strip.strip_info["note"]


def test_the_session_ends_go_both_ways(shapes):
    session = Session(shapes)
    strip = InterpolationStrip(session=session, start="#3", end={"image": 40}, steps=4)
    assert session.path_start == {"caption": 3} and session.path_end == {"image": 40}
    # another view sets an end: the strip adopts it and recomputes
    session.path_end = {"caption": 9}
    assert strip.end_spec == {"caption": 9} and strip.frames[-1]["caption"] == shapes.captions[9]
    session.path_start = {}  # unset: the strip keeps its own
    assert strip.start_spec == {"caption": 3}
    # the strip's own change goes to the session
    strip.start_spec = {"text": "a red circle"}
    assert session.path_start == {"text": "a red circle"}
    # a raw vector stays the strip's: the session's end is left as it was
    strip.end_spec = {"vector": shapes.text[5].tolist(), "modality": "text"}
    assert session.path_end == {"caption": 9} and strip.strip_error == ""
    # a strip built without ends takes the session's
    second = InterpolationStrip(session=session, steps=4)
    assert second.start_spec == {"text": "a red circle"} and second.end_spec == {"caption": 9}
    # a closed strip no longer follows
    strip.close()
    session.path_end = {"caption": 11}
    assert second.end_spec == {"caption": 11} and strip.end_spec["modality"] == "text"


def test_each_decoded_path_is_published_to_the_session(shapes, toy):
    session = Session(shapes)
    strip = InterpolationStrip(session=session, start={"image": 3}, end="#150", steps=6, method="lerp")
    shown = session.path_shown
    lerp = (1 - np.linspace(0, 1, 6)[:, None]) * shapes.image[3] + np.linspace(0, 1, 6)[:, None] * shapes.text[150]
    assert shown.vectors.dtype == np.float32 and shown.vectors.shape == (6, shapes.dim)
    assert np.allclose(shown.vectors, unit(lerp), atol=1e-6)
    assert np.array_equal(shown.t, np.linspace(0, 1, 6)) and shown.method == "lerp" and shown.modality == "mixed"
    assert shown.key == session.data_key() and session.shown_path() is shown
    assert shown.labels == ("image 3", f"caption 150: {shapes.captions[150]}")
    # a generative decoding publishes the path before the gap shift
    strip.add_decoder("toy", toy)
    with strip.hold_trait_notifications():
        strip.decoder, strip.close_gap, strip.method = "toy", True, "slerp"
    assert strip.wait(30) and strip.strip_error == ""
    assert session.path_shown is not shown and session.path_shown.method == "slerp"
    assert np.allclose(session.path_shown.vectors, numpy_slerp(shapes.image[3], shapes.text[150], 6), atol=1e-5)
    # a refused input publishes nothing
    published = session.path_shown
    strip.steps = 1
    assert strip.strip_error and session.path_shown is published


def test_the_shipped_toy_unclip_in_the_strip_when_it_ships(shapes):
    from amumo_ng.decoders import ToyUnCLIPDecoder

    name = toy_unclip_for(shapes.model_id)
    if name is None:
        pytest.skip("no toy unCLIP ships for toy-clip in this checkout")
    strip = InterpolationStrip(shapes, start="a red circle", end="a blue circle", steps=4, decoder=TOY_PRIOR)
    assert strip.wait(60) and strip.strip_error == ""
    path = numpy_slerp(*shapes.encoder.encode_texts(["a red circle", "a blue circle"]), 4)
    assert_same_pictures(pictures(strip), direct(ToyUnCLIPDecoder.load(name, prior=True), path))
    assert strip.strip_status.endswith(f"painted by {TOY_PRIOR}")
