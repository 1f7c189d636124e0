"""Augmented sets: pixels against independent computations, ids, meta, bad input, and the cache."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

import amumo_ng
import amumo_ng.datasets as amd
from amumo_ng.datasets import DatasetError, augment, augment_image
from amumo_ng.datasets.shapes import ShapesDataset


@pytest.fixture(scope="module")
def shapes():
    return ShapesDataset(n=6, seed=1, image_size=32)


@pytest.fixture(scope="module")
def random_image():
    """An asymmetric 32x32 RGB image (no rotation maps it onto itself)."""
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")


def px(img) -> np.ndarray:
    return np.asarray(img, dtype=np.int64)


def test_noise_is_the_documented_mix(shapes):
    aug = augment(shapes, 2, "noise", steps=10, seed=5)
    img = np.asarray(shapes.image(2), dtype=np.float64)
    for i in (0, 3, 9):
        t = i / 10
        u = np.random.default_rng([5, i, 1]).uniform(0.0, 255.0, img.shape)
        expected = np.clip(np.rint((1 - t) * img + t * u), 0, 255)
        assert np.array_equal(px(aug.image(i)), expected)
    assert np.allclose(aug.meta["param"], np.arange(10) / 10)


def test_rotate_quarter_turns_match_rot90(random_image):
    aug = augment_image(random_image, "noise", "rotate", steps=100)
    assert aug.param[25] == 90.0 and aug.param[50] == 180.0 and np.isclose(aug.param[1], 3.6)
    src = np.asarray(random_image)
    for step, k in ((25, 1), (50, 2), (75, 3)):  # counter-clockwise, like np.rot90
        same = (np.asarray(aug.image(step)) == np.rot90(src, k)).all(axis=2)
        assert same[1:-1, 1:-1].mean() > 0.98  # robust to interpolation at the borders
    assert np.array_equal(np.asarray(aug.image(0)), src)
    oblique = np.asarray(aug.image(12))  # 43.2 degrees: the corners are filled black
    assert (oblique[0, 0] == 0).all() and (oblique[-1, -1] == 0).all()


@pytest.mark.parametrize("kind, axis", [("hshift", 1), ("vshift", 0)])
def test_shift_moves_a_marked_pixel_and_fills_black(kind, axis):
    src = np.full((32, 32, 3), 100, np.uint8)
    src[10, 5] = 255
    aug = augment_image(Image.fromarray(src), "dot", kind, steps=5)
    assert list(aug.param) == [-32, -16, 0, 16, 32]  # linspace(-w, w, steps)
    out = np.asarray(aug.image(3))  # +w/2: right (hshift) or down (vshift)
    y, x = np.argwhere(out[..., 0] == 255)[0]
    assert (y, x) == ((10, 21) if axis == 1 else (26, 5))
    empty = out[:, :16] if axis == 1 else out[:16]
    assert (empty == 0).all() and (np.delete(out, np.s_[:16], axis=axis) != 0).all()
    assert np.array_equal(np.asarray(aug.image(2)), src)
    assert not np.asarray(aug.image(0)).any()  # shifted by -w: all black


def test_blur_radius_schedule(shapes):
    aug = augment(shapes, 0, "blur", steps=8)
    img = shapes.image(0)
    assert np.allclose(aug.param, (32 / 8) * np.arange(8) / 8)
    for i in (0, 5):
        expected = img.filter(ImageFilter.GaussianBlur(radius=4 * i / 8)) if i else img
        assert np.array_equal(px(aug.image(i)), px(expected))


def test_jpeg_quality_file_size_and_error(shapes):
    img = shapes.image(5)
    aug = augment(shapes, 5, "jpeg", steps=12)
    quality = np.rint(np.linspace(100, 1, 12))
    assert np.array_equal(aug.param, quality) and aug.meta["param_unit"][0] == "quality"
    errors, sizes = [], []
    for i, q in enumerate(quality):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(q))
        sizes.append(len(buf.getvalue()))
        assert np.array_equal(px(aug.image(i)), px(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
        errors.append(np.abs(px(aug.image(i)) - px(img)).mean())
    assert errors[-1] > 3 * errors[0] and sizes[-1] < sizes[0] / 2
    rank = lambda v: np.argsort(np.argsort(v))  # Spearman: monotonic-ish, not linear
    assert np.corrcoef(rank(quality), rank(errors))[0, 1] < -0.9
    assert np.corrcoef(rank(quality), rank(sizes))[0, 1] > 0.9


def test_zoom_brightness_hue_random_rotate(random_image):
    zoom = augment_image(random_image, "z", "zoom", steps=3, end=0.5)
    assert np.allclose(zoom.param, [1.0, 0.75, 0.5])
    crop = random_image.crop((8, 8, 24, 24)).resize((32, 32), Image.Resampling.BILINEAR)
    assert np.abs(px(zoom.image(2)) - px(crop)).max() <= 1

    bright = augment_image(random_image, "b", "brightness", steps=5)
    assert np.allclose(bright.param, [1, 0.75, 0.5, 0.25, 0])
    assert np.abs(px(bright.image(1)) - 0.75 * px(random_image)).max() <= 1
    assert not np.asarray(bright.image(4)).any()

    red = Image.new("RGB", (8, 8), (255, 0, 0))
    hue = augment_image(red, "r", "hue", steps=3)  # 0, 120, 240 degrees
    assert np.allclose(hue.param, [0, 120, 240])
    # PIL keeps hue in 256 levels (1.4 degrees each), hence the tolerance
    assert np.abs(px(hue.image(1))[0, 0] - [0, 255, 0]).max() <= 8
    assert np.abs(px(hue.image(2))[0, 0] - [0, 0, 255]).max() <= 8

    rr = augment_image(random_image, "rr", "random-rotate", steps=4, seed=3)
    for i in range(4):
        angle = np.random.default_rng([3, i, 2]).uniform(-90.0, 90.0)
        assert rr.param[i] == angle
        expected = random_image.rotate(angle, Image.Resampling.NEAREST, fillcolor=(0, 0, 0))
        assert np.array_equal(px(rr.image(i)), px(expected))


def test_compose_applies_kinds_in_order(shapes):
    aug = augment(shapes, 1, "rotate+noise", steps=4, seed=2, noise={"end": 0.4})
    assert aug.id == augment(shapes, 1, ("rotate", "noise"), steps=4, seed=2, noise={"end": 0.4}).id
    meta = aug.meta
    assert np.allclose(meta["param_rotate"], [0, 90, 180, 270]) and np.allclose(meta["param_noise"], [0, .1, .2, .3])
    assert np.allclose(meta["param"], meta["param_rotate"]) and meta["param_unit"][0] == "degrees"
    rotated = np.asarray(shapes.image(1).rotate(180), dtype=np.float64)
    u = np.random.default_rng([2, 2, 1]).uniform(0.0, 255.0, rotated.shape)
    assert np.array_equal(px(aug.image(2)), np.clip(np.rint(0.8 * rotated + 0.2 * u), 0, 255))


def test_deterministic_ids_meta_and_captions(shapes):
    a, b = augment(shapes, 3, "noise", steps=6, seed=1), augment(shapes, 3, "noise", steps=6, seed=1)
    assert a.id == b.id and all(np.array_equal(px(a.image(i)), px(b.image(i))) for i in range(6))
    other_seed = augment(shapes, 3, "noise", steps=6, seed=2)
    assert other_seed.id != a.id and not np.array_equal(px(other_seed.image(4)), px(a.image(4)))
    ids = {a.id, other_seed.id, augment(shapes, 3, "noise", steps=6, seed=1, end=0.5).id,
           augment(shapes, 3, "noise", steps=7, seed=1).id, augment(shapes, 2, "noise", steps=6, seed=1).id,
           augment(shapes, 3, "blur", steps=6, seed=1).id}
    assert len(ids) == 6 and all(shapes.id in i for i in ids)
    assert augment(shapes, 3, "blur", 6).id == augment(shapes, 3, "blur", 6, end=4.0).id  # w/8 resolved
    meta = a.meta
    assert {"id", "caption", "step", "param", "kind", "param_unit"} <= set(meta.columns)
    assert list(meta["step"]) == list(range(6)) and set(meta["kind"]) == {"noise"}
    assert set(meta["param_unit"]) == {"fraction"} and meta["id"].is_unique
    assert a.captions == [shapes.caption(3)] * 6 == list(meta["caption"]) and a.caption(5) == shapes.caption(3)
    assert a.image(0).size == (32, 32) and a.image(0).mode == "RGB"


def test_augment_image_from_a_path(tmp_path, random_image):
    path = tmp_path / "x.png"
    random_image.save(path)
    from_path = augment_image(path, "a caption", "rotate", steps=4)
    assert from_path.id == augment_image(random_image, "a caption", "rotate", steps=4).id
    assert from_path.id != augment_image(random_image, "another caption", "rotate", steps=4).id
    assert np.array_equal(px(from_path.image(1)), px(random_image.rotate(90)))
    with pytest.raises(DatasetError, match="cannot read"):
        augment_image(tmp_path / "missing.png", "c", "rotate")


def test_bad_input(shapes):
    with pytest.raises(DatasetError, match="unknown augmentation kind 'spin'.*rotate, blur, noise"):
        augment(shapes, 0, "spin")
    for steps in (1, 2001, 2.5, True):
        with pytest.raises(DatasetError, match=r"steps must be an integer in \[2, 2000\]"):
            augment(shapes, 0, "rotate", steps=steps)
    with pytest.raises(DatasetError, match="out of range"):
        augment(shapes, 6, "rotate")
    with pytest.raises(DatasetError, match="unknown parameter.*'radius'.*accepts: start, end"):
        augment(shapes, 0, "blur", radius=3)
    with pytest.raises(DatasetError, match=r"noise: end must lie in \[0, 1\]"):
        augment(shapes, 0, "noise", end=2)
    with pytest.raises(DatasetError, match="per kind"):
        augment(shapes, 0, "rotate+noise", end=0.5)
    with pytest.raises(DatasetError, match="repeats"):
        augment(shapes, 0, "rotate+rotate")
    with pytest.raises(DatasetError, match="PairDataset"):
        augment("shapes", 0, "rotate")


def test_the_package_exports_the_functions_of_the_augmentation_module(shapes):
    import amumo_ng.datasets.augmentation as module

    assert amd.augment is module.augment is augment and amd.augment_image is module.augment_image
    assert augment(shapes, 0, "rotate", 3).id == module.AugmentedDataset(
        shapes.image(0), shapes.caption(0), source_dataset_id=shapes.id, source_id=shapes.sample_ids[0],
        source_index=0, kind="rotate", steps=3, seed=0, params={}).id


# -- the store -------------------------------------------------------------------------------

def test_embed_caches_an_augmented_set(colour_pairs, rgb_encoder):
    from amumo_ng.store.cache import EmbeddingCache

    pairs = colour_pairs(4)
    aug = augment(pairs, 2, "brightness", steps=5)
    emb = amumo_ng.embed(aug, rgb_encoder, progress=False)
    expected = [px(aug.image(i)).reshape(-1, 3).mean(0).tolist() + [1.0] for i in range(5)]
    assert np.allclose(emb.image, expected) and emb.dataset_id == aug.id
    assert np.allclose(emb.image[1, :3], 0.75 * pairs.rgb[2], atol=1) and emb.captions == [pairs.caption(2)] * 5
    calls = dict(rgb_encoder.calls)
    again = amumo_ng.embed(augment(pairs, 2, "brightness", steps=5), rgb_encoder, progress=False)
    assert rgb_encoder.calls == calls and np.array_equal(again.image, emb.image)
    amumo_ng.embed(augment(pairs, 2, "brightness", steps=5, end=0.5), rgb_encoder, progress=False)
    assert len(EmbeddingCache().entries()) == 2 and rgb_encoder.calls["images"] == calls["images"] + 1


def test_encoder_failing_midway_leaves_no_entry(shapes, isolated_cache):
    from amumo_ng.models import FunctionEncoder
    from amumo_ng.store.cache import EmbeddingCache

    aug = augment(shapes, 0, "rotate", steps=8)

    def vectors(images):
        return np.array([px(im).reshape(-1, 3).mean(0).tolist() + [1.0] for im in images])

    def texts(captions):
        return np.ones((len(captions), 4))

    seen = []

    def failing(images):
        seen.append(len(images))
        if len(seen) == 2:
            raise RuntimeError("GPU fell over")
        return vectors(images)

    with pytest.raises(RuntimeError, match="fell over"):
        amumo_ng.embed(aug, FunctionEncoder(failing, texts, id="fails-v1"), chunk_size=3, progress=False)
    cache = EmbeddingCache()
    assert cache.entries() == []
    assert [p.name for p in isolated_cache.iterdir() if not p.name.endswith(".partial")] == []
    done = amumo_ng.embed(aug, FunctionEncoder(vectors, texts, id="fails-v1"), chunk_size=3, progress=False)
    assert np.allclose(done.image, vectors(aug.images(range(8))))
    assert len(cache.entries()) == 1 and not any(p.name.endswith(".partial") for p in isolated_cache.iterdir())


def test_embed_with_a_toy_model_is_cached():
    from amumo_ng.models import load

    aug = augment(ShapesDataset(n=3, seed=2), 1, "rotate", steps=6)
    encoder = load("toy-clip")
    emb = amumo_ng.embed(aug, encoder, progress=False)
    direct = encoder.encode_images(aug.images(range(6)))
    assert np.allclose(emb.image, direct, atol=1e-4)
    assert np.allclose(emb.text, emb.text[0], atol=1e-5)  # one caption, six times

    def refuse(images):
        raise AssertionError("the cached set was encoded again")

    encoder.encode_images = refuse
    assert np.array_equal(amumo_ng.embed(aug, encoder, progress=False).image, emb.image)
    assert np.array_equal(amumo_ng.embed(aug, "toy-clip", progress=False).image, emb.image)
