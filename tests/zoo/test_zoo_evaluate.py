"""Zero-shot evaluation from plain encode callables, with hand-made encoders whose answers are known."""
from __future__ import annotations

import re

import numpy as np
import pytest

from amumo_ng.analysis.retrieval import topk_accuracy
from amumo_ng.datasets.shapes import COLOURS, SHAPES, ShapesDataset
from amumo_ng.zoo.evaluate import (
    ZERO_SHOT_TEMPLATES,
    class_embeddings,
    evaluate_pairs,
    prompts_for,
    retrieval_ceiling,
    zero_shot_accuracy,
)

COLOUR_NAMES = list(COLOURS)
PALETTE = np.array(list(COLOURS.values()), dtype=np.float64)


def colour_of_image(img) -> int:
    """Index of the palette colour most shape pixels are nearest to (backgrounds are grey)."""
    a = np.asarray(img).astype(np.float64)
    mask = (a.max(axis=2) - a.min(axis=2)) > 60
    nearest = np.argmin(((a[mask][:, None, :] - PALETTE[None]) ** 2).sum(axis=2), axis=1)
    return int(np.bincount(nearest, minlength=len(PALETTE)).argmax())


def encode_images(images):
    """One-hot of the visible colour (8 dims) + a constant, so no row is zero."""
    out = np.zeros((len(images), 9))
    for r, img in enumerate(images):
        out[r, colour_of_image(img)] = 1.0
        out[r, 8] = 0.1
    return out


def encode_texts(texts):
    """One-hot of the colour word in the text (+ the same constant)."""
    out = np.zeros((len(texts), 9))
    for r, t in enumerate(texts):
        for c, name in enumerate(COLOUR_NAMES):
            if re.search(rf"\b{name}\b", t):
                out[r, c] = 1.0
        out[r, 8] = 0.1
    return out


def test_prompts_marginalise_the_other_placeholders():
    prompts = prompts_for("colour", "orange", ["a {colour} {shape}", "a photo of a {size} {colour} {shape}"])
    assert len(prompts) == len(SHAPES) + 2 * len(SHAPES)
    assert "an orange circle" in prompts and "a photo of a small orange cross" in prompts
    assert all("orange" in p for p in prompts)
    assert prompts_for("shape", "star", ["a {colour} {shape}"]) == [f"a {c} star".replace("a orange", "an orange")
                                                                     for c in COLOUR_NAMES]


def test_bad_templates():
    with pytest.raises(ValueError, match="unknown placeholder"):
        prompts_for("colour", "red", ["a {colour} {animal}"])
    with pytest.raises(ValueError, match="no template mentions the colour"):
        prompts_for("colour", "red", ["a {shape}"])
    # templates without the attribute are skipped
    assert prompts_for("colour", "red", ["a {shape}", "a {colour} thing"]) == ["a red thing"]
    with pytest.raises(ValueError, match="attribute must be"):
        class_embeddings(encode_texts, "mood", ZERO_SHOT_TEMPLATES)


def test_class_embeddings_are_unit_means():
    classes = class_embeddings(encode_texts, "colour", ["a {colour} {shape}"])
    assert classes.shape == (8, 9)
    expected = np.zeros(9)
    expected[2], expected[8] = 1.0, 0.1
    np.testing.assert_allclose(classes[2], expected / np.linalg.norm(expected), rtol=1e-6)


def test_zero_shot_colour_of_a_colour_reader_is_perfect():
    d = ShapesDataset(n=40, seed=3, anomaly_rate=0)
    assert zero_shot_accuracy(encode_images, encode_texts, d, "colour") == 1.0


def test_zero_shot_counts_wrong_answers():
    d = ShapesDataset(n=40, seed=3, anomaly_rate=0)
    truth = [COLOUR_NAMES.index(c) for c in d.meta["colour"]]
    emb = np.zeros((40, 9))
    emb[:, 8] = 0.1
    wrong = {1, 5, 6, 17, 30}
    for i, c in enumerate(truth):
        emb[i, (c + 1) % 8 if i in wrong else c] = 1.0
    acc = zero_shot_accuracy(encode_images, encode_texts, d, "colour", image_embeddings=emb)
    assert acc == pytest.approx(35 / 40)
    # a subset through indices
    idx = [1, 2, 3, 5]
    assert zero_shot_accuracy(encode_images, encode_texts, d, "colour", indices=idx,
                              image_embeddings=emb[idx]) == pytest.approx(2 / 4)


def test_evaluate_pairs_reports_what_it_measured():
    d = ShapesDataset(n=30, seed=8, anomaly_rate=0)
    report = evaluate_pairs(encode_images, encode_texts, d)
    img, txt = encode_images(d.images(range(30))), encode_texts(d.captions)
    expected = topk_accuracy(img, txt, ks=(1, 5))
    assert report["retrieval"]["image_to_text"]["5"] == expected["image_to_text"][5]
    assert report["zero_shot"]["colour"] == 1.0
    unit_i = img / np.linalg.norm(img, axis=1, keepdims=True)
    unit_t = txt / np.linalg.norm(txt, axis=1, keepdims=True)
    assert report["gap_distance"] == pytest.approx(np.linalg.norm(unit_i.mean(0) - unit_t.mean(0)), rel=1e-5)


def test_caption_template_prompts_cover_plurals_and_counts():
    prompts = prompts_for("shape", "cross", ["{np}", "there {be} {np} in this picture"])
    assert len(prompts) == 2 * 8 * 3
    assert "two red crosses" in prompts and "an orange cross" in prompts
    assert "there are three blue crosses in this picture" in prompts
    assert "there is a blue cross in this picture" in prompts
    assert len(prompts_for("position", "top left", ZERO_SHOT_TEMPLATES)) > 0


def test_retrieval_ceiling_matches_a_brute_force_count():
    d = ShapesDataset(n=60, seed=2, anomaly_rate=0)
    meta = d.meta
    said = [d.caption_attributes(j) for j in range(60)]

    def true_of(j, i):
        return all(meta[key][i] == value for key, value in said[j].items())

    got = retrieval_ceiling(d, ks=(1, 5))
    for k in (1, 5):
        i2t = sum(min(1.0, k / sum(true_of(j, i) for j in range(60))) for i in range(60)) / 60
        t2i = sum(min(1.0, k / sum(true_of(j, i) for i in range(60))) for j in range(60)) / 60
        assert got["image_to_text"][k] == pytest.approx(i2t)
        assert got["text_to_image"][k] == pytest.approx(t2i)
    assert 0 < got["image_to_text"][1] < got["image_to_text"][5] <= 1
