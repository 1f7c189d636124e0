"""from_pretrained: local folders offline, hub ids failing fast offline, lazy imports."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from amumo_ng.decoders import DecoderError, StableDiffusionDecoder, StableUnCLIPDecoder

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "AMUMO_NG_OFFLINE")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("AMUMO_NG_OFFLINE", "1")


def test_a_local_folder_loads_offline_on_the_default_device(tiny_sd, tmp_path, offline):
    tiny_sd.save_pretrained(tmp_path / "sd")
    decoder = StableDiffusionDecoder.from_pretrained(tmp_path / "sd", num_inference_steps=2, seed=1)
    cuda = torch.cuda.is_available()
    assert decoder.device.type == ("cuda" if cuda else "cpu")
    assert decoder.dtype == (torch.float16 if cuda else torch.float32)
    assert decoder.model_id == f"diffusers:{tmp_path / 'sd'}#text_encoder"
    if not cuda:  # same weights, same device: the very pixels of the in-memory pipeline
        reference = StableDiffusionDecoder(tiny_sd, num_inference_steps=2, seed=1)
        states = reference.encode_prompts(["a red circle"])
        np.testing.assert_array_equal(np.asarray(decoder.decode(states, progress=False)[0].image),
                                      np.asarray(reference.decode(states, progress=False)[0].image))


def test_a_local_unclip_folder_loads_with_an_explicit_device(tiny_unclip, tmp_path, offline):
    tiny_unclip.save_pretrained(tmp_path / "unclip")
    decoder = StableUnCLIPDecoder.from_pretrained(str(tmp_path / "unclip"), device="cpu", num_inference_steps=2)
    assert decoder.dim == 32 and decoder.device.type == "cpu" and decoder.dtype == torch.float32
    frames = decoder.decode(np.ones((2, 32), dtype=np.float32), progress=False)
    assert [f.image.size for f in frames] == [(16, 16), (16, 16)]


@pytest.mark.parametrize("cls", [StableDiffusionDecoder, StableUnCLIPDecoder])
def test_a_hub_id_offline_fails_fast_naming_the_offline_decoders(cls, offline):
    start = time.monotonic()
    with pytest.raises(DecoderError) as info:
        cls.from_pretrained("amumo-ng-tests/no-such-pipeline")
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "AMUMO_NG_OFFLINE=1" in message and "no-such-pipeline" in message
    assert "RetrievalDecoder" in message and "toy decoder" in message


def test_an_unreachable_hub_fails_fast_through_the_probe(monkeypatch):
    for var in OFFLINE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    start = time.monotonic()
    with pytest.raises(DecoderError, match="Cannot fetch the diffusion pipeline.*RetrievalDecoder"):
        StableDiffusionDecoder.from_pretrained("amumo-ng-tests/no-such-pipeline")
    assert time.monotonic() - start < 10


def test_a_missing_folder_is_not_taken_for_a_hub_id(tmp_path):
    with pytest.raises(DecoderError, match="not a pipeline folder"):
        StableDiffusionDecoder.from_pretrained(str(tmp_path / "missing"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DecoderError, match="not a pipeline folder"):
        StableDiffusionDecoder.from_pretrained(tmp_path / "file.txt")


def test_a_folder_of_the_wrong_pipeline_is_a_decoder_error(tmp_path, offline):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DecoderError, match="cannot load StableDiffusionPipeline"):
        StableDiffusionDecoder.from_pretrained(tmp_path / "empty")


def test_core_imports_stay_free_of_diffusers_and_transformers():
    code = (
        "import sys, amumo_ng, amumo_ng.analysis as a, amumo_ng.models, amumo_ng.decoders as d; "
        "a.interpolation_path; a.path_endpoints; a.modality_mean; d.Decoder; d.RetrievalDecoder; "
        "d.StableDiffusionDecoder; d.StableUnCLIPDecoder; "
        "print(','.join(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
