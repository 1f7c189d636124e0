"""Encoders: open_clip with local checkpoints, user objects, CyCLIP/CLOOB loaders, the registry."""
from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import amumo_ng
from amumo_ng.models import FunctionEncoder, ModelError, as_encoder, load
from amumo_ng.models.open_clip_encoder import OpenCLIPEncoder

IMAGES = [Image.new("RGB", (40, 30), (i * 50 % 256, 255 - i * 30, i * 17 % 256)) for i in range(5)]
TEXTS = ["a red circle", "two blue squares", "a green star on stripes", "an abstract picture", "x"]


def reference(model, preprocess, tokenizer):
    """Brute force: one forward pass per item, no batching, raw outputs."""
    with torch.no_grad():
        img = np.stack([model.encode_image(preprocess(im)[None])[0].numpy() for im in IMAGES])
        txt = np.stack([model.encode_text(tokenizer([t]))[0].numpy() for t in TEXTS])
    return img, txt


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_local_checkpoint_matches_model_forward(micro_model, micro_arch, tmp_path, suffix):
    model, preprocess, tokenizer = micro_model
    path = tmp_path / f"micro{suffix}"
    if suffix == ".pt":
        torch.save(model.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    enc = OpenCLIPEncoder(micro_arch, str(path), batch_size=2, device="cpu")  # 5 items: last batch partial
    assert enc._model is None  # lazy: nothing loaded to know the id
    img, txt = enc.encode_images(IMAGES), enc.encode_texts(TEXTS)
    ref_img, ref_txt = reference(model, preprocess, tokenizer)
    assert img.shape == (5, 32) and img.dtype == np.float32
    np.testing.assert_allclose(img, ref_img, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(txt, ref_txt, rtol=1e-4, atol=1e-5)
    assert not np.allclose(np.linalg.norm(img, axis=1), 1.0)  # raw, not normalised
    assert enc.logit_scale == pytest.approx(math.exp(2.5), rel=1e-6)
    assert enc.id.startswith(f"open_clip:{micro_arch}:sha256-")


def test_cached_precompute_never_loads_the_model(micro_model, micro_arch, tmp_path, colour_pairs):
    model = micro_model[0]
    path = tmp_path / "m.pt"
    torch.save(model.state_dict(), path)
    ds = colour_pairs(3)
    first = amumo_ng.embed(ds, OpenCLIPEncoder(micro_arch, str(path)), progress=False)
    enc2 = OpenCLIPEncoder(micro_arch, str(path))
    second = amumo_ng.embed(ds, enc2, progress=False)
    assert enc2._model is None
    np.testing.assert_array_equal(first.image, second.image)
    assert second.logit_scale == pytest.approx(math.exp(2.5), rel=1e-6)


def test_changed_weights_change_the_cache_key(micro_model, micro_arch, tmp_path):
    model = micro_model[0]
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    torch.save(model.state_dict(), a)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd["text_projection"] += 1.0
    torch.save(sd, b)
    assert OpenCLIPEncoder(micro_arch, str(a)).id != OpenCLIPEncoder(micro_arch, str(b)).id


def test_hub_tag_offline_fails_at_load_with_guidance(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")  # no warm hub cache
    monkeypatch.setattr(OpenCLIPEncoder, "_cached_hub_weights", lambda self: None)
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="offline") as err:
        load("ViT-B-32/openai")  # at load, not at the first encode
    assert time.monotonic() - t0 < 5  # open_clip alone retries for about 50 s
    assert "toy-clip" in str(err.value) and "from_arrays" in str(err.value)


def test_hub_tag_unreachable_host_fails_at_load(monkeypatch):
    # no offline variable: the probe itself finds no hub (the test machine has no network anyway)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "AMUMO_NG_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(OpenCLIPEncoder, "_cached_hub_weights", lambda self: None)
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="cannot reach http://127.0.0.1:9/api/models/.*toy-clip"):
        load("ViT-B-32/openai")
    assert time.monotonic() - t0 < 5


def test_hub_tag_stays_lazy_when_the_probe_passes_or_the_weights_are_cached(monkeypatch, tmp_path):
    import amumo_ng.models.open_clip_encoder as oce

    probes = []
    monkeypatch.setattr(oce, "require_online", lambda url, *args, **kw: probes.append(url))
    monkeypatch.setattr(OpenCLIPEncoder, "_cached_hub_weights", lambda self: None)
    enc = load("ViT-B-32/openai")
    assert enc._model is None and enc.id == "open_clip:ViT-B-32:openai"
    assert len(probes) == 1 and probes[0].endswith("/api/models/timm/vit_base_patch32_clip_224.openai")
    weights = tmp_path / "open_clip_model.safetensors"
    weights.write_bytes(b"")
    monkeypatch.setattr(OpenCLIPEncoder, "_cached_hub_weights", lambda self: str(weights))
    enc = load("ViT-B-32/openai")
    assert enc._model is None and len(probes) == 1  # cached weights: no probe
    assert enc._hub_checkpoint() == str(weights)


def test_cached_hub_weights_are_found_in_the_hub_cache_then_the_url_cache(monkeypatch, tmp_path):
    import huggingface_hub

    enc = OpenCLIPEncoder.__new__(OpenCLIPEncoder)
    enc.model_name, enc._tag = "ViT-B-32", "openai"
    asked = []
    safe = tmp_path / "open_clip_model.safetensors"
    safe.write_bytes(b"")

    def hub_cache(repo, name):
        asked.append((repo, name))
        return str(safe) if name == "open_clip_model.safetensors" else None

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", hub_cache)
    assert enc._cached_hub_weights() == str(safe)
    assert asked[0] == ("timm/vit_base_patch32_clip_224.openai", "open_clip_model.safetensors")
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: None)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert enc._cached_hub_weights() is None
    (tmp_path / ".cache" / "clip").mkdir(parents=True)
    (tmp_path / ".cache" / "clip" / "ViT-B-32.pt").write_bytes(b"")  # open_clip's URL download cache
    assert enc._cached_hub_weights() == str(tmp_path / ".cache" / "clip" / "ViT-B-32.pt")


def test_loading_a_shipped_model_does_not_import_the_training_package():
    code = ("import sys, amumo_ng.models; enc = amumo_ng.models.load('toy-clip'); "
            "print(enc.id.split(':')[0], sorted(m for m in sys.modules if m.startswith('amumo_ng.zoo')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["toy-clip", "[]"]


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ModelError, match="no pretrained tag 'opena'.*did you mean 'openai'"):
        load("ViT-B-32/opena")
    with pytest.raises(ModelError, match="unknown model 'ViT-B32/openai'; did you mean 'ViT-B-32/openai'"):
        load("ViT-B32/openai")
    with pytest.raises(ModelError, match="no pretrained tag"):
        OpenCLIPEncoder("ViT-B-32", "not-a-tag")
    with pytest.raises(ModelError, match="unknown open_clip architecture 'ViT-B-3'"):
        OpenCLIPEncoder("ViT-B-3")
    with pytest.raises(ModelError, match="not found"):
        OpenCLIPEncoder("ViT-B-32", "/no/such/file.pt")
    with pytest.raises(ModelError, match="non-empty"):
        load("")


def openai_layout_checkpoint(model, path, extra=None, drop_scale=False):
    """Save the micro model the way CyCLIP/CLOOB training codes do (DDP-wrapped, in a dict)."""
    sd = {f"module.{k}": v for k, v in model.state_dict().items() if k != "attn_mask"}
    if drop_scale:
        sd.pop("module.logit_scale")
    sd.update(extra or {})
    torch.save({"epoch": 3, "name": "run", "state_dict": sd, "optimizer": {}}, path)


def test_cyclip_checkpoint_loads_and_matches(micro_model, tmp_path):
    model, preprocess, tokenizer = micro_model
    path = tmp_path / "cyclip.pt"
    openai_layout_checkpoint(model, path)
    enc = load(f"cyclip:{path}")
    ref_img, ref_txt = reference(model, preprocess, tokenizer)
    np.testing.assert_allclose(enc.encode_texts(TEXTS), ref_txt, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(enc.encode_images(IMAGES), ref_img, rtol=1e-4, atol=1e-4)
    assert enc.logit_scale == pytest.approx(math.exp(2.5), rel=1e-5)
    assert enc.id.startswith("cyclip:sha256-")


def test_cloob_checkpoint_without_logit_scale_uses_its_fixed_inverse_temperature(micro_model, tmp_path):
    model, preprocess, tokenizer = micro_model
    path = tmp_path / "cloob.pt"
    openai_layout_checkpoint(model, path, drop_scale=True)
    enc = load(f"cloob:{path}")
    assert enc.logit_scale == pytest.approx(30.0, rel=1e-5)
    np.testing.assert_allclose(enc.encode_texts(TEXTS), reference(model, preprocess, tokenizer)[1], rtol=1e-4, atol=1e-5)


def test_not_a_clip_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"module.fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(ModelError, match="not an OpenAI-layout CLIP checkpoint"):
        load(f"cyclip:{path}")
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read checkpoint"):
        load(f"cloob:{bad}")


def test_user_objects_become_encoders():
    class Mine:
        id = "mine-v1"
        logit_scale = 20.0

        def encode_images(self, images):
            return torch.ones(len(images), 3)

        def encode_texts(self, texts):
            return np.array([[len(t), 1.0, 0.0] for t in texts])

    enc = as_encoder(Mine())
    assert enc.logit_scale == 20.0 and enc.id == "mine-v1"
    np.testing.assert_array_equal(enc.encode_texts(["ab", "c"]), [[2, 1, 0], [1, 1, 0]])
    assert enc.encode_images(IMAGES[:2]).dtype == np.float32
    with pytest.raises(ModelError, match="pass id="):
        as_encoder(type("NoId", (), {"encode_images": lambda s, x: x, "encode_texts": lambda s, x: x})())
    with pytest.raises(ModelError, match="cannot use a int"):
        as_encoder(3)
    wrong = FunctionEncoder(lambda ims: np.ones((1, 2)), lambda ts: np.ones((len(ts), 2)), id="w")
    with pytest.raises(ModelError, match=r"expected \[2, d\]"):
        wrong.encode_images(IMAGES[:2])


def test_shipped_models_resolve_lazily_with_their_name_and_weights_hash_in_the_id():
    from amumo_ng.models.registry import zoo_cards

    cards = zoo_cards()
    assert {"toy-clip", "toy-cyclip", "toy-cloob"} <= set(cards)
    enc = load("toy-clip")
    assert enc._model is None  # resolving a name loads nothing
    assert enc.id == f"toy-clip:{cards['toy-clip']['open_clip_config']}:sha256-{cards['toy-clip']['sha256'][:16]}"
    assert load("toy-cyclip").id != enc.id
    with pytest.raises(ModelError, match="did you mean 'toy-clip'"):
        load("toy-clp")
