"""A micro open_clip architecture (registered in a temp folder) and checkpoints of it."""
from __future__ import annotations

import json

import pytest

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
