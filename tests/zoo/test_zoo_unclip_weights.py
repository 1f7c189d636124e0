"""The shipped toy unCLIPs: files match their cards, and the card's way of measuring is re-derived by hand."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import amumo_ng  # noqa: E402
from amumo_ng.datasets.shapes import COLOUR_NAMES, SHAPES, ShapesDataset  # noqa: E402
from amumo_ng.decoders import ToyUnCLIPDecoder, shipped_toy_unclips, toy_unclip_for  # noqa: E402
from amumo_ng.decoders.toy_unclip import unclip_dir  # noqa: E402
from amumo_ng.fingerprint import file_digest  # noqa: E402
from amumo_ng.zoo.evaluate import ZERO_SHOT_TEMPLATES, prompts_for  # noqa: E402

SHIPPED = shipped_toy_unclips()
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no toy unCLIP weights in this checkout")


@pytest.mark.parametrize("model", sorted(SHIPPED))
def test_files_match_cards(model):
    from safetensors import safe_open

    card = SHIPPED[model]
    path = unclip_dir() / card["weights_file"]
    assert file_digest(path) == card["sha256"] and path.stat().st_size == card["weights_bytes"] < 5e6
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["model"] == model
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    assert card["model_sha256"] == amumo_ng.models.registry.zoo_cards()[model]["sha256"]
    assert (unclip_dir() / f"{model}.unclip.md").read_text().count("|") > 10
    assert toy_unclip_for(amumo_ng.models.load(model).id) == model
    assert toy_unclip_for("some-other-model") is None


def _classes(encoder, attribute, values):
    """Class vectors by hand: per value, the unit prompt vectors' mean, renormalised."""
    rows = []
    for value in values:
        v = encoder.encode_texts(prompts_for(attribute, value, ZERO_SHOT_TEMPLATES)).astype(np.float64)
        m = (v / np.linalg.norm(v, axis=1, keepdims=True)).mean(axis=0)
        rows.append(m / np.linalg.norm(m))
    return np.stack(rows)


@pytest.mark.skipif("toy-clip" not in SHIPPED, reason="toy-clip's unCLIP is not shipped")
def test_toy_clip_decoded_pictures_read_back_their_colour_and_shape():
    """40 held-out pairs, one picture at a time through the public API: decode, re-encode, nearest class.
    The same figures as the card's evaluation code on those pairs, and toy-clip's bar on them."""
    from amumo_ng.zoo.evaluate_unclip import evaluate_toy_unclip

    n = 40
    heldout = ShapesDataset(n=n, seed=1_000_003, anomaly_rate=0.0)
    encoder = amumo_ng.models.load("toy-clip")
    decoder = ToyUnCLIPDecoder.load("toy-clip")
    colours, shapes = _classes(encoder, "colour", COLOUR_NAMES), _classes(encoder, "shape", SHAPES)
    hits = {"colour": 0, "shape": 0}
    cos_sum = 0.0
    for i in range(n):
        source = encoder.encode_images([heldout.image(i)])[0].astype(np.float64)
        picture = decoder.decode(source[None], progress=False)[0].image
        re = encoder.encode_images([picture])[0].astype(np.float64)
        re /= np.linalg.norm(re)
        truth = heldout.attributes(i)
        hits["colour"] += COLOUR_NAMES[int(np.argmax(colours @ re))] == truth["colour"]
        hits["shape"] += SHAPES[int(np.argmax(shapes @ re))] == truth["shape"]
        cos_sum += float(re @ source / np.linalg.norm(source))
    by_hand = {k: v / n for k, v in hits.items()}
    measured = evaluate_toy_unclip("toy-clip", n=n)["image"]
    assert measured["colour_match"] == pytest.approx(by_hand["colour"], abs=1.01 / n)
    assert measured["shape_match"] == pytest.approx(by_hand["shape"], abs=1.01 / n)
    assert measured["reencoded_cos"] == pytest.approx(cos_sum / n, abs=2e-3)
    assert measured["reencoded_cos"] > measured["random_image_cos"] + 0.2
    assert by_hand["colour"] >= 0.9 and by_hand["shape"] >= 0.7  # the card's bar, on these 40 pairs


@pytest.mark.skipif("toy-clip" not in SHIPPED, reason="toy-clip's unCLIP is not shipped")
def test_prior_moves_captions_to_the_image_side():
    """The prior's output is closer to the pair's image embedding than the caption's own text vector is."""
    heldout = ShapesDataset(n=64, seed=1_000_003, anomaly_rate=0.0)
    encoder = amumo_ng.models.load("toy-clip")
    image = encoder.encode_images(heldout.images(range(64))).astype(np.float64)
    text = encoder.encode_texts(heldout.captions).astype(np.float64)
    prior = ToyUnCLIPDecoder.load("toy-clip", prior=True)
    mapped = prior.image_vectors(text).astype(np.float64)
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    assert np.mean(np.sum(unit(mapped) * unit(image), 1)) > np.mean(np.sum(unit(text) * unit(image), 1)) + 0.1
