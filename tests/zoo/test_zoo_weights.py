"""The shipped zoo weights: size, cards consistent with the files, loading through open_clip, and
the recorded held-out retrieval figure reproduced on a sample."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from amumo_ng.analysis.retrieval import topk_accuracy
from amumo_ng.datasets.shapes import ShapesDataset
from amumo_ng.fingerprint import file_digest as sha256_file
from amumo_ng.models.configs import TOY_MODEL, register_toy_configs, toy_config
from amumo_ng.zoo.evaluate import open_clip_encoders, zero_shot_accuracy
from amumo_ng.zoo.train import DEFAULT_WEIGHTS_DIR, TrainConfig

NAMES = ("toy-clip", "toy-cyclip", "toy-cloob")
N_SAMPLE = 200
CARD_FIELDS = {"name", "open_clip_config", "architecture", "loss", "logit_scale", "data", "steps", "batch_size",
               "wall_time_s", "final_loss", "retrieval", "gap_distance", "gap_at_init", "zero_shot", "seed",
               "sha256", "weights_file", "quality_bar"}


def card_of(name):
    return json.loads((DEFAULT_WEIGHTS_DIR / f"{name}.json").read_text())


def test_all_three_models_are_shipped_within_30_mb():
    for name in NAMES:
        for ext in ("safetensors", "json", "md", "curve.csv"):
            assert (DEFAULT_WEIGHTS_DIR / f"{name}.{ext}").is_file(), f"{name}.{ext} missing"
    total = sum((DEFAULT_WEIGHTS_DIR / f"{n}.safetensors").stat().st_size for n in NAMES)
    assert total <= 30 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_card_is_complete_and_matches_the_weights(name):
    card = card_of(name)
    assert CARD_FIELDS <= set(card)
    weights = DEFAULT_WEIGHTS_DIR / card["weights_file"]
    assert card["name"] == name and card["loss"] == name.split("-")[1]
    assert card["sha256"] == sha256_file(weights)
    assert card["weights_bytes"] == weights.stat().st_size
    assert card["open_clip_config"] == TOY_MODEL and card["architecture"] == toy_config(TOY_MODEL)
    assert card["data"]["n_heldout"] == 1000
    for direction in ("image_to_text", "text_to_image"):
        assert set(card["retrieval"][direction]) == {"1", "5"}
        assert 0 <= card["retrieval"][direction]["1"] <= card["retrieval"][direction]["5"] <= 1
    from safetensors.torch import load_file

    state = load_file(str(weights))
    assert math.exp(float(state["logit_scale"])) == pytest.approx(card["logit_scale"], rel=2e-3)
    if name == "toy-cloob":
        assert card["logit_scale"] == pytest.approx(30.0, rel=1e-5)
    else:
        assert card["logit_scale"] <= 100.0 + 1e-3


def test_the_three_runs_share_everything_but_the_objective():
    cards = [card_of(n) for n in NAMES]
    for key in ("open_clip_config", "architecture", "data", "steps", "batch_size", "seed", "optimizer"):
        assert all(c[key] == cards[0][key] for c in cards), key


def sampling_tolerance(p: float, n_sample: int, n_total: int) -> float:
    """Four standard errors of a proportion estimated from ``n_sample`` of ``n_total`` queries drawn
    without replacement (finite-population correction), plus 0.01 for float differences between
    machines that may flip a borderline rank."""
    fpc = (n_total - n_sample) / (n_total - 1)
    return 4 * math.sqrt(max(p * (1 - p), 1.0 / n_sample) / n_sample * fpc) + 0.01


@pytest.mark.parametrize("name", NAMES)
def test_recorded_retrieval_is_reproduced_on_a_sample(name):
    """The first 200 held-out images, ranked against all 1,000 held-out captions (as in the card),
    give top-1/top-5 image->text accuracies within sampling error of the recorded 1,000-pair figure."""
    import open_clip
    import torch

    torch.set_num_threads(2)
    card = card_of(name)
    register_toy_configs()
    model, _, preprocess = open_clip.create_model_and_transforms(
        TOY_MODEL, pretrained=str(DEFAULT_WEIGHTS_DIR / card["weights_file"]))
    model.eval()
    encode_images, encode_texts = open_clip_encoders(model, preprocess, open_clip.get_tokenizer(TOY_MODEL))
    heldout = ShapesDataset(n=card["data"]["n_heldout"], seed=TrainConfig.heldout_seed, anomaly_rate=0.0)
    assert heldout.id == card["data"]["heldout_dataset_id"]
    sample = np.arange(N_SAMPLE)
    img = encode_images(heldout.images(sample))
    txt = encode_texts(heldout.captions)
    img_u = img / np.linalg.norm(img, axis=1, keepdims=True)
    txt_u = txt / np.linalg.norm(txt, axis=1, keepdims=True)
    sims = img_u @ txt_u.T  # [200, 1000]
    correct = sims[sample, sample]
    rank = (sims >= correct[:, None]).sum(axis=1) - 1  # pessimistic ties, as topk_accuracy
    for k in (1, 5):
        recorded = card["retrieval"]["image_to_text"][str(k)]
        measured = float(np.mean(rank < k))
        assert abs(measured - recorded) <= sampling_tolerance(recorded, N_SAMPLE, len(heldout)), (k, measured, recorded)
    # the same rule through topk_accuracy on the 200 x 200 sub-problem can only be easier
    assert topk_accuracy(img, txt[:N_SAMPLE], ks=(5,))["image_to_text"][5] >= float(np.mean(rank < 5))
    for attribute in ("colour", "shape"):
        zs = zero_shot_accuracy(encode_images, encode_texts, heldout, attribute, indices=sample, image_embeddings=img)
        recorded = card["zero_shot"][attribute]
        assert abs(zs - recorded) <= sampling_tolerance(recorded, N_SAMPLE, len(heldout)), (attribute, zs, recorded)
