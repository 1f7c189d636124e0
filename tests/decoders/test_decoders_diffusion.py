"""Stable Diffusion / Stable unCLIP decoders on tiny random pipelines (offline, 2 inference steps).

References are computed independently: prompt states straight from the tokenizer + text encoder,
token-wise slerp by its formula, frames against the pipeline called directly with latents drawn here.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from amumo_ng.analysis import interpolation_path
from amumo_ng.decoders import DecoderCancelled, DecoderError, StableDiffusionDecoder, StableUnCLIPDecoder

STEPS = 2


def pixels(frames):
    return [np.asarray(f.image, dtype=np.int16) for f in frames]


def reference_latents(pipe, seed, size=16):
    shape = (1, 4, size // pipe.vae_scale_factor, size // pipe.vae_scale_factor)
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)


class FirstUNetInputs:
    """Records the UNet's input at the first denoising step of each frame (the initial latents)."""

    def __init__(self, pipe):
        self.pipe, self.samples, self.calls = pipe, [], 0

    def __enter__(self):
        def hook(module, args, kwargs):
            sample = args[0] if args else kwargs["sample"]
            if self.calls % STEPS == 0:
                self.samples.append(sample[:1].detach().clone())
            self.calls += 1

        self.handle = self.pipe.unet.register_forward_pre_hook(hook, with_kwargs=True)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


@pytest.fixture
def sd(tiny_sd):
    return StableDiffusionDecoder(tiny_sd, seed=3, num_inference_steps=STEPS, model_id="tiny-sd#text_encoder")


@pytest.fixture
def unclip(tiny_unclip):
    return StableUnCLIPDecoder(tiny_unclip, seed=4, num_inference_steps=STEPS, model_id="tiny-unclip#image_encoder")


def test_stable_diffusion_decoder_states_what_it_expects(sd):
    assert sd.modality == "text" and sd.dim == 32 and sd.input_shape == (77, 32)
    assert sd.model_id == "tiny-sd#text_encoder" and sd.name == "stable diffusion"
    assert (sd.height, sd.width) == (16, 16)


def test_prompt_states_are_the_text_encoders_last_hidden_states(sd, tiny_sd):
    ids = tiny_sd.tokenizer(["a red circle"], padding="max_length", max_length=77, truncation=True,
                            return_tensors="pt").input_ids
    with torch.no_grad():
        expected = tiny_sd.text_encoder(ids)[0].numpy()
    states = sd.encode_prompts(["a red circle"])
    assert states.shape == (1, 77, 32) and states.dtype == np.float32
    np.testing.assert_allclose(states, expected, atol=1e-6)


def test_token_wise_slerp_and_lerp_follow_their_formulas(sd):
    a, b = sd.encode_prompts(["a red circle", "a blue square"])
    t = np.array([0.0, 0.3, 1.0])
    path = sd.interpolate_states(a, b, t, "slerp")
    assert path.shape == (3, 77, 32)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    for tok in (2, 3, 40):  # tokens that differ between the prompts (causal: "a" at 1 is the same in both)
        x, y = a[tok].astype(np.float64), b[tok].astype(np.float64)
        omega = math.acos(float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert omega > 1e-3
        expected = (math.sin(0.7 * omega) * x + math.sin(0.3 * omega) * y) / math.sin(omega)
        np.testing.assert_allclose(path[1, tok], expected, rtol=1e-5, atol=1e-5)
    for tok in (0, 1):  # the start token and "a" are the same in both prompts: they stay put
        np.testing.assert_array_equal(a[tok], b[tok])
        np.testing.assert_allclose(path[1, tok], a[tok], atol=1e-6)
    np.testing.assert_allclose(sd.interpolate_states(a, b, t, "lerp")[1], 0.7 * a + 0.3 * b, atol=1e-6)
    with pytest.raises(DecoderError, match="method must be one of"):
        sd.interpolate_states(a, b, t, "vslerp")


def test_decode_prompts_ends_equal_the_pipeline_run_directly_with_the_same_latents(sd, tiny_sd):
    frames = sd.decode_prompts("a red circle", "a blue square", [0.0, 0.5, 1.0], progress=False)
    assert len(frames) == 3 and [f.info["t"] for f in frames] == [0.0, 0.5, 1.0]
    assert all(f.image.size == (16, 16) and f.image.mode == "RGB" for f in frames)
    assert frames[1].info["method"] == "slerp" and frames[1].info["seed"] == 3 and frames[1].caption is None
    for frame, prompt in ((frames[0], "a red circle"), (frames[2], "a blue square")):
        direct = tiny_sd(prompt, negative_prompt="", latents=reference_latents(tiny_sd, 3),
                         generator=torch.Generator("cpu").manual_seed(3), num_inference_steps=STEPS,
                         guidance_scale=7.5, height=16, width=16).images[0]
        np.testing.assert_array_equal(np.asarray(frame.image), np.asarray(direct))


def test_same_seed_same_pixels_other_embedding_or_seed_other_pixels(sd, tiny_sd):
    first = pixels(sd.decode_prompts("a red circle", "a blue square", [0.0, 1.0], progress=False))
    again = pixels(sd.decode_prompts("a red circle", "a blue square", [0.0, 1.0], progress=False))
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert np.any(first[0] != first[1])  # different embeddings, same latents → different images
    other_seed = StableDiffusionDecoder(tiny_sd, seed=4, num_inference_steps=STEPS)
    assert np.any(pixels(other_seed.decode_prompts("a red circle", "a blue square", [0.0], progress=False))[0]
                  != first[0])


def test_every_frame_starts_from_the_same_seeded_latents(sd, tiny_sd):
    with FirstUNetInputs(tiny_sd) as spy:
        sd.decode_prompts("a red circle", "a blue square", np.linspace(0, 1, 4), progress=False)
    assert len(spy.samples) == 4
    expected = reference_latents(tiny_sd, 3) * tiny_sd.scheduler.init_noise_sigma
    for sample in spy.samples:
        torch.testing.assert_close(sample, expected, rtol=0, atol=0)


def test_size_override_and_wrong_inputs(tiny_sd, sd):
    wide = StableDiffusionDecoder(tiny_sd, num_inference_steps=STEPS, height=16, width=24)
    frames = wide.decode(sd.encode_prompts(["a red circle"]), progress=False)
    assert frames[0].image.size == (24, 16)
    with pytest.raises(DecoderError, match="multiples of 8"):
        StableDiffusionDecoder(tiny_sd, height=20)
    with pytest.raises(DecoderError, match=r"per-token states of shape \[k, 77, 32\]"):
        sd.decode(np.ones((2, 64)), progress=False)  # pooled toy-clip vectors
    with pytest.raises(DecoderError, match=r"\[k, 77, 32\]"):
        sd.decode(np.ones((1, 77, 768)), progress=False)  # states of a wider text encoder
    with pytest.raises(DecoderError, match="not vectors of 'toy-clip'"):
        sd.check(np.ones((1, 77, 32)), "toy-clip")
    with pytest.raises(DecoderError, match="decodes text vectors, not image"):
        sd.check(np.ones((1, 77, 32)), modality="image")
    with pytest.raises(DecoderError, match="prompt_b is empty"):
        sd.decode_prompts("a red circle", " ", [0.5])


def test_progress_per_image_and_cancel_between_images(sd, tiny_sd):
    calls = []
    sd.decode_prompts("a red circle", "a blue square", [0.0, 0.5, 1.0], progress=lambda d, n: calls.append((d, n)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    stop = threading.Event()
    with FirstUNetInputs(tiny_sd) as spy:
        with pytest.raises(DecoderCancelled, match="after 1 of 3"):
            sd.decode_prompts("a red circle", "a blue square", [0.0, 0.5, 1.0],
                              progress=lambda d, n: stop.set(), cancel=stop)
    assert len(spy.samples) == 1  # stopped before the second image


def test_unclip_decoder_states_what_it_expects(unclip):
    assert unclip.modality == "image" and unclip.dim == 32 and unclip.input_shape == (32,)
    assert unclip.model_id == "tiny-unclip#image_encoder"


def test_unclip_frame_equals_the_pipeline_fed_the_image_directly(unclip, tiny_unclip):
    image = Image.new("RGB", (40, 40), (200, 30, 30))
    embeds = unclip.encode_images([image])
    with torch.no_grad():
        pixels_in = tiny_unclip.feature_extractor(images=[image], return_tensors="pt").pixel_values
        expected = tiny_unclip.image_encoder(pixels_in).image_embeds.numpy()
    np.testing.assert_allclose(embeds, expected, atol=1e-6)
    frame = unclip.decode(embeds, progress=False)[0]
    direct = tiny_unclip(image=image, prompt="", latents=reference_latents(tiny_unclip, 4), noise_level=0,
                         generator=torch.Generator("cpu").manual_seed(4), num_inference_steps=STEPS,
                         guidance_scale=10.0, height=16, width=16).images[0]
    np.testing.assert_array_equal(np.asarray(frame.image), np.asarray(direct))


def test_unclip_vslerp_path_is_deterministic_distinct_and_shares_latents(unclip, tiny_unclip):
    red, blue = unclip.encode_images([Image.new("RGB", (32, 32), (220, 20, 20)),
                                      Image.new("RGB", (32, 32), (20, 20, 220))])
    path = interpolation_path(red, blue, steps=4, method="vslerp", mean=(red + blue) / 4, alpha=1.0)
    with FirstUNetInputs(tiny_unclip) as spy:
        frames = unclip.decode(path.vectors, progress=False)
    assert len(frames) == 4 and all(f.image.size == (16, 16) for f in frames)
    expected = reference_latents(tiny_unclip, 4) * tiny_unclip.scheduler.init_noise_sigma
    assert len(spy.samples) == 4
    for sample in spy.samples:
        torch.testing.assert_close(sample, expected, rtol=0, atol=0)
    again = pixels(unclip.decode(path.vectors, progress=False))
    for x, y in zip(pixels(frames), again):
        np.testing.assert_array_equal(x, y)
    assert np.any(pixels(frames)[0] != pixels(frames)[-1])


def test_unclip_refuses_vectors_of_another_space(unclip):
    with pytest.raises(DecoderError, match=r"shape \[k, 32\].*dimension 64 vs 32"):
        unclip.decode(np.ones((3, 64), dtype=np.float32), progress=False)  # toy-clip vectors are 64-d
    with pytest.raises(DecoderError, match="not vectors of 'toy-clip"):
        unclip.check(np.ones((3, 32)), "toy-clip:amumo-toy-rn")
    with pytest.raises(DecoderError, match="decodes image vectors, not text"):
        unclip.check(np.ones((3, 32)), modality="text")
    with pytest.raises(DecoderCancelled):
        unclip.decode(np.ones((2, 32)), progress=False, cancel=lambda: True)
