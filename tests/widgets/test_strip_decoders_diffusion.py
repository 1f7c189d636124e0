"""Stable Diffusion and Stable unCLIP inside the InterpolationStrip, on tiny random pipelines (offline,
2 inference steps): deterministic for a seed, different ends give different pictures, captions from the
session model's path between the same ends, the unCLIP vSLERP mean by hand."""
from __future__ import annotations

import numpy as np
import pytest
from helpers_strip import assert_same_pictures, nearest_captions, numpy_slerp, pictures, shapes, unit  # noqa: F401

from amumo_ng.decoders import StableDiffusionDecoder, StableUnCLIPDecoder
from amumo_ng.widgets import InterpolationStrip

STEPS = 2


@pytest.fixture(scope="module")
def sd_pipe():
    from amumo_ng.decoders.tiny import tiny_stable_diffusion

    return tiny_stable_diffusion(seed=0)


@pytest.fixture(scope="module")
def unclip_pipe():
    from amumo_ng.decoders.tiny import tiny_stable_unclip

    return tiny_stable_unclip(seed=0)


def sd_strip(shapes, pipe, start, end, steps=4, seed=3, **kwargs):
    sd = StableDiffusionDecoder(pipe, seed=seed, num_inference_steps=STEPS, model_id="tiny-sd#text_encoder")
    strip = InterpolationStrip(shapes, start=start, end=end, steps=steps, decoders={"sd": sd}, decoder="sd", **kwargs)
    assert strip.wait(60) and strip.strip_error == "", strip.strip_error
    return strip, sd


def test_tiny_sd_in_the_strip_is_its_prompt_strip_deterministic_for_a_seed(shapes, sd_pipe):
    strip, sd = sd_strip(shapes, sd_pipe, "a red circle", "a blue circle")
    got = pictures(strip)
    assert len(got) == 4 and {g.shape for g in got} == {(16, 16, 3)}
    want = [np.asarray(f.image, dtype=np.int16)
            for f in sd.decode_prompts("a red circle", "a blue circle", np.linspace(0, 1, 4), "slerp", progress=False)]
    assert_same_pictures(got, want, tol=0)
    again, _ = sd_strip(shapes, sd_pipe, "a red circle", "a blue circle")  # a new decoder of the same seed
    assert_same_pictures(pictures(again), got, tol=0)
    # captions: the session model's (toy-clip) path between the same two prompts
    path = numpy_slerp(*shapes.encoder.encode_texts(["a red circle", "a blue circle"]), 4)
    assert [f["caption_index"] for f in strip.frames] == nearest_captions(path, shapes)
    assert strip.strip_info["decoder_kind"] == "prompts" and strip.session.path_shown.vectors.shape == (4, shapes.dim)
    assert np.allclose(strip.session.path_shown.vectors, path, atol=1e-5)


def test_different_ends_or_seeds_give_different_pictures(shapes, sd_pipe):
    base = pictures(sd_strip(shapes, sd_pipe, "a red circle", "a blue circle")[0])
    other = pictures(sd_strip(shapes, sd_pipe, "a red circle", "a green square")[0])
    assert np.array_equal(base[0], other[0])  # the same start prompt, the same latents
    assert all(not np.array_equal(a, b) for a, b in zip(base[1:], other[1:]))
    reseeded = pictures(sd_strip(shapes, sd_pipe, "a red circle", "a blue circle", seed=4)[0])
    assert not np.array_equal(base[0], reseeded[0])


def test_a_caption_end_gives_its_text_to_sd_and_lerp_is_token_wise(shapes, sd_pipe):
    strip, sd = sd_strip(shapes, sd_pipe, "#3", "a blue circle", steps=3, method="lerp")
    want = [np.asarray(f.image, dtype=np.int16)
            for f in sd.decode_prompts(shapes.captions[3], "a blue circle", np.linspace(0, 1, 3), "lerp",
                                       progress=False)]
    assert_same_pictures(pictures(strip), want, tol=0)


def raw_vslerp(a, b, t, mean, alpha):
    """Levi & Gilboa's vSLERP written out: slerp of the raw shifted vectors a − αm, b − αm, plus αm."""
    a2, b2 = a - alpha * mean, b - alpha * mean
    omega = np.arccos(np.clip(unit(a2) @ unit(b2), -1, 1))
    t = np.asarray(t)[:, None]
    return (np.sin((1 - t) * omega) * a2 + np.sin(t * omega) * b2) / np.sin(omega) + alpha * mean


def test_stable_unclip_between_two_dataset_images_with_the_pipelines_image_mean(shapes, unclip_pipe):
    dec = StableUnCLIPDecoder(unclip_pipe, seed=4, num_inference_steps=STEPS, model_id="tiny-unclip#image_encoder")
    encoded, real = [], dec.encode_images
    dec.encode_images = lambda images: encoded.append(len(images)) or real(images)
    strip = InterpolationStrip(shapes, start={"image": 3}, end={"image": 40}, steps=5, method="vslerp", alpha=0.5,
                               decoders={"unclip": dec}, decoder="unclip")
    assert strip.wait(60) and strip.strip_error == "", strip.strip_error
    assert encoded == [2] + [32] * 6 + [8]  # the ends, then the mean of all 200 images in batches
    ends = real([shapes.get_image(3), shapes.get_image(40)]).astype(np.float64)
    mean = real([shapes.get_image(i) for i in range(shapes.n)]).astype(np.float64).mean(0)  # n < 256
    t = np.linspace(0, 1, 5)
    path = raw_vslerp(ends[0], ends[1], t, mean, 0.5).astype(np.float32)
    want = [np.asarray(f.image, dtype=np.int16) for f in dec.decode(path, progress=False)]
    got = pictures(strip)
    assert {g.shape for g in got} == {(16, 16, 3)}
    assert_same_pictures(got, want, tol=2)
    # captions: the session model's vSLERP between the two images, lifted by the session's image mean
    session_path = raw_vslerp(shapes.image[3].astype(np.float64), shapes.image[40].astype(np.float64), t,
                              shapes.image.astype(np.float64).mean(0), 0.5)
    assert [f["caption_index"] for f in strip.frames] == nearest_captions(session_path, shapes)
    strip.alpha = 1.0  # the mean is cached per decoder and data: only the ends are encoded again
    assert strip.wait(60) and strip.strip_error == ""
    assert_same_pictures(pictures(strip), [np.asarray(f.image, dtype=np.int16) for f in dec.decode(
        raw_vslerp(ends[0], ends[1], t, mean, 1.0).astype(np.float32), progress=False)], tol=2)
    # lerp: no mean needed
    strip.method = "lerp"
    assert strip.wait(60) and strip.strip_error == ""
    assert encoded == [2] + [32] * 6 + [8] + [2, 2]
    lerp = (1 - t[:, None]) * ends[0] + t[:, None] * ends[1]
    assert_same_pictures(pictures(strip), [np.asarray(f.image, dtype=np.int16)
                                           for f in dec.decode(lerp.astype(np.float32), progress=False)], tol=2)
    strip.method = "slerp"
    assert strip.wait(60) and "slerp paints unit vectors" in strip.strip_info["note"]
