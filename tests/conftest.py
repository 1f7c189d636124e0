"""Shared test fixtures: an isolated cache folder and a tiny in-memory pair dataset."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from amumo_ng.datasets.base import PairDataset


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own AMUMO_NG_CACHE, so nothing touches ~/.cache."""
    root = tmp_path_factory.mktemp("amumo-cache")
    monkeypatch.setenv("AMUMO_NG_CACHE", str(root))
    return root


class ColourPairs(PairDataset):
    """n solid-colour 16x16 images, caption "colour r g b" (tests only).

    The colour of pair i is a fixed function of i, so an encoder's expected output can be
    computed by hand.
    """

    def __init__(self, n: int, tag: str = "v1"):
        self.n = n
        self.id = f"colour-pairs-{tag}-n{n}"
        rng = np.random.default_rng(n)
        self.rgb = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
        self._meta = pd.DataFrame({
            "id": [f"c{i}" for i in range(n)],
            "caption": [f"colour {r} {g} {b}" for r, g, b in self.rgb],
        })

    def __len__(self):
        return self.n

    def caption(self, i):
        return self._meta["caption"][self._check_index(i)]

    def image(self, i):
        return Image.new("RGB", (16, 16), tuple(int(v) for v in self.rgb[self._check_index(i)]))

    @property
    def meta(self):
        return self._meta


@pytest.fixture
def colour_pairs():
    return ColourPairs


def mean_rgb_encoder_fns(calls: dict):
    """Image -> [mean r, g, b, 1]; text "colour r g b" -> [r, g, b, 1]; counts calls per kind."""

    def enc_images(images):
        calls["images"] = calls.get("images", 0) + 1
        calls["n_images"] = calls.get("n_images", 0) + len(images)
        return np.array([np.asarray(im, dtype=np.float32).reshape(-1, 3).mean(0).tolist() + [1.0] for im in images])

    def enc_texts(texts):
        calls["texts"] = calls.get("texts", 0) + 1
        return np.array([[float(v) for v in t.split()[1:4]] + [1.0] for t in texts])

    return enc_images, enc_texts


@pytest.fixture
def rgb_encoder():
    """A FunctionEncoder whose outputs are known by hand, with a call counter (``enc.calls``)."""
    from amumo_ng.models import FunctionEncoder

    calls: dict = {}
    fi, ft = mean_rgb_encoder_fns(calls)
    enc = FunctionEncoder(fi, ft, id="mean-rgb-v1", logit_scale=50.0)
    enc.calls = calls
    return enc


# -- a micro open_clip architecture, shared by model, store and CLI tests ----------------------

MICRO = "amumo-test-micro"
MICRO_CFG = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16, "head_width": 64},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1},
}


@pytest.fixture(scope="session")
def micro_arch(tmp_path_factory):
    """Name of a tiny open_clip architecture (1-layer ViT and text tower, OpenAI layout)."""
    import open_clip

    folder = tmp_path_factory.mktemp("oc-configs")
    (folder / f"{MICRO}.json").write_text(json.dumps(MICRO_CFG))
    if MICRO not in open_clip.list_models():
        open_clip.add_model_config(folder)
    return MICRO


@pytest.fixture(scope="session")
def micro_model(micro_arch):
    """(model, preprocess, tokenizer) with seeded random weights, in eval mode."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(micro_arch, pretrained=None)
    with torch.no_grad():
        model.logit_scale.fill_(2.5)
    return model.eval(), preprocess, open_clip.get_tokenizer(micro_arch)
