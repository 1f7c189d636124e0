"""Robustness curves against brute-force loops, their summaries, and the encoding convenience."""
from __future__ import annotations

import math

import numpy as np
import pytest

import amumo_ng
import amumo_ng.analysis as analysis
from amumo_ng.analysis import EmbeddingError, first_crossing, robustness, robustness_curves, summarize
from amumo_ng.datasets import augment
from amumo_ng.store import Embeddings


def brute_curves(orig, cap, aug, bank, true, optimistic=False):
    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    img_cos, cap_cos, ranks = [], [], []
    for vec in aug:
        img_cos.append(cos(vec, orig))
        cap_cos.append(cos(vec, cap))
        scores = [cos(vec, b) for b in bank]
        others = [s for j, s in enumerate(scores) if j != true]
        ranks.append(1 + sum(s > scores[true] if optimistic else s >= scores[true] for s in others))
    return np.array(img_cos), np.array(cap_cos), np.array(ranks)


def test_curves_match_a_brute_force_loop():
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(9, 5)) * rng.uniform(0.5, 3, (9, 1))
    orig = rng.normal(size=5) * 4
    aug = orig + rng.normal(size=(7, 5)) * np.linspace(0, 3, 7)[:, None]
    c = robustness_curves(orig, bank[4], aug, bank, 4)
    img_cos, cap_cos, ranks = brute_curves(orig, bank[4], aug, bank, 4)
    assert np.allclose(c.image_cosine, img_cos, atol=1e-6) and np.allclose(c.caption_cosine, cap_cos, atol=1e-6)
    assert np.array_equal(c.caption_rank, ranks) and c.caption_rank.dtype == np.int64
    assert c.image_cosine[0] == pytest.approx(1.0)


def test_ties_are_pessimistic_unless_asked():
    bank = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # rows 0 and 1 tie
    aug = np.array([[1.0, 0.1], [0.0, 1.0]])
    pess = robustness_curves([1, 0], bank[1], aug, bank, 1)
    opt = robustness_curves([1, 0], bank[1], aug, bank, 1, ties="optimistic")
    assert list(pess.caption_rank) == list(brute_curves([1, 0], bank[1], aug, bank, 1)[2]) == [2, 3]
    assert list(opt.caption_rank) == list(brute_curves([1, 0], bank[1], aug, bank, 1, True)[2]) == [1, 2]


def test_bad_curve_input():
    bank = np.eye(3)
    with pytest.raises(EmbeddingError, match="dimensions differ"):
        robustness_curves(np.ones(2), np.ones(3), np.ones((2, 3)), bank, 0)
    with pytest.raises(EmbeddingError, match="out of range"):
        robustness_curves(np.ones(3), np.ones(3), np.ones((2, 3)), bank, 3)
    with pytest.raises(EmbeddingError, match="NaN"):
        robustness_curves(np.ones(3), np.ones(3), np.array([[1, np.nan, 0]]), bank, 0)
    with pytest.raises(EmbeddingError, match=r"vector \[d\]"):
        robustness_curves(np.ones((1, 3)), np.ones(3), np.ones((2, 3)), bank, 0)
    with pytest.raises(EmbeddingError, match="ties"):
        robustness_curves(np.ones(3), np.ones(3), np.ones((2, 3)), bank, 0, ties="random")


def test_summary_and_crossing():
    values = np.array([[1.0, 0.5, 0.2], [0.0, 0.7, 0.4], [2.0, 0.6, 0.3]])
    s = summarize(values)
    for j in range(3):
        col = sorted(values[:, j])
        assert s.mean[j] == pytest.approx(sum(col) / 3)
        assert s.std[j] == pytest.approx(math.sqrt(sum((v - sum(col) / 3) ** 2 for v in col) / 3))
        assert s.median[j] == pytest.approx(col[1])
        assert s.low[j] == pytest.approx(col[0] + 0.2 * (col[1] - col[0]))  # 10th percentile, linear
        assert s.high[j] == pytest.approx(col[1] + 0.8 * (col[2] - col[1]))
    assert first_crossing([1.0, 0.8, 0.4, 0.6], 0.5) == 2 and first_crossing([3, 5, 12, 20], 10, below=False) == 2
    assert first_crossing([1.0, 0.9], 0.5) is None


def _mean_rgb(images):
    return np.array([np.asarray(im, dtype=np.float64).reshape(-1, 3).mean(0).tolist() + [1.0] for im in images])


def test_robustness_over_pairs_matches_an_explicit_loop(colour_pairs, rgb_encoder):
    ds = colour_pairs(5)
    emb = amumo_ng.embed(ds, rgb_encoder, progress=False)
    res = robustness({"rgb": emb}, ds, "brightness", [1, 3], steps=4, encoders={"rgb": rgb_encoder},
                     batch_size=3, progress=False)
    assert (res.kind, res.param_unit, res.steps, list(res.indices)) == ("brightness", "factor", 4, [1, 3])
    m = res["rgb"]
    assert np.allclose(m.param, [1, 2 / 3, 1 / 3, 0])
    expected = {c: [] for c in ("image_cosine", "caption_cosine", "caption_rank")}
    bank = [[float(v) for v in cap.split()[1:4]] + [1.0] for cap in ds.captions]
    for i in (1, 3):
        vecs = _mean_rgb(augment(ds, i, "brightness", steps=4).images(range(4)))
        for name, curve in zip(expected, brute_curves(_mean_rgb([ds.image(i)])[0], bank[i], vecs, bank, i)):
            expected[name].append(curve)
    for name, per_pair in expected.items():
        per_pair = np.array(per_pair)
        assert np.allclose(m.per_pair[name], per_pair, atol=1e-6)
        summary = getattr(m, name)
        assert np.allclose(summary.mean, per_pair.mean(0), atol=1e-6)
        assert np.allclose(summary.low, per_pair.min(0) + 0.1 * (per_pair.max(0) - per_pair.min(0)), atol=1e-6)
    assert np.allclose(m.recall_at(1), (np.array(expected["caption_rank"]) <= 1).mean(0))
    frame = res.to_frame()
    assert len(frame) == 3 * 4 and set(frame["curve"]) == set(expected) and res.bank_size == {"rgb": 5}


def test_repeated_captions_count_once_in_the_bank(colour_pairs, rgb_encoder):
    ds = colour_pairs(4)
    emb = amumo_ng.embed(ds, rgb_encoder, progress=False)
    captions = emb.captions
    captions[3] = captions[0]
    text = np.array(emb.text)
    text[3] = text[0]
    dup = Embeddings.from_arrays(emb.image, text, captions, model_id=emb.model_id)
    res = robustness({"rgb": dup}, ds, "rotate", [0], steps=2, encoders={"rgb": rgb_encoder}, progress=False)
    assert res.bank_size == {"rgb": 3}
    assert res["rgb"].caption_rank.mean[0] == robustness_curves(
        emb.image[0], emb.text[0], _mean_rgb([ds.image(0)]), emb.text[:3], 0).caption_rank[0]


def test_encoder_attached_given_or_missing(colour_pairs, rgb_encoder):
    from amumo_ng.models import ModelError

    ds = colour_pairs(3)
    emb = amumo_ng.embed(ds, rgb_encoder, progress=False)  # carries rgb_encoder
    attached = robustness({"rgb": emb}, ds, "rotate", [0, 2], steps=2, progress=False)
    given = robustness({"rgb": emb}, ds, "rotate", [0, 2], steps=2, encoders={"rgb": rgb_encoder}, progress=False)
    assert np.array_equal(attached["rgb"].per_pair["image_cosine"], given["rgb"].per_pair["image_cosine"])
    bare = Embeddings.from_arrays(emb.image, emb.text, emb.captions, model_id=emb.model_id)
    with pytest.raises(ModelError, match=r"pass encoders=\{'rgb': encoder\}"):
        robustness({"rgb": bare}, ds, "rotate", [0], steps=2, progress=False)
    with pytest.raises(EmbeddingError, match="are not of dataset"):
        robustness({"rgb": emb}, colour_pairs(4), "rotate", [0], steps=2, progress=False)
    with pytest.raises(EmbeddingError, match="at least one pair"):
        robustness({"rgb": emb}, ds, "rotate", [], progress=False)


def test_toy_model_encoder_is_found_from_the_model_id():
    from dataclasses import replace

    from amumo_ng.datasets.shapes import ShapesDataset
    from amumo_ng.models import load

    ds = ShapesDataset(n=6, seed=4)
    emb = replace(amumo_ng.embed(ds, "toy-clip", progress=False), encoder=None)
    encoder = analysis.resolve_encoder("clip", emb)  # by the zoo name inside model_id
    assert encoder.id == emb.model_id and emb.model_id.startswith("toy-clip:")
    res = robustness({"clip": emb}, ds, "rotate", [0, 5], steps=4, progress=False)
    vecs = load("toy-clip").encode_images(augment(ds, 5, "rotate", steps=4).images(range(4)))
    want = robustness_curves(emb.image[5], emb.text[5], vecs, emb.text, 5)
    assert np.allclose(res["clip"].per_pair["image_cosine"][1], want.image_cosine, atol=1e-4)
    assert np.array_equal(res["clip"].per_pair["caption_rank"][1], want.caption_rank)
    assert res["clip"].image_cosine.mean[0] == pytest.approx(1.0, abs=1e-4)  # step 0 is the original


def test_the_package_exports_the_functions_of_the_module():
    import amumo_ng.analysis.transform_robustness as module

    assert analysis.robustness is module.robustness is robustness
    assert analysis.robustness_curves is module.robustness_curves
