"""The seeded ``shapes`` dataset: determinism, visible attributes, anomaly rates, captions, bad input."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from amumo_ng.datasets import shapes as shapes_mod
from amumo_ng.datasets.base import DatasetError
from amumo_ng.datasets.shapes import (
    ANOMALIES,
    BACKGROUNDS,
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    VAGUE_CAPTIONS,
    ShapesDataset,
    plural,
)

PALETTE = np.array(list(COLOURS.values()), dtype=np.float64)
COLOUR_NAMES = list(COLOURS)


def shape_mask(arr: np.ndarray) -> np.ndarray:
    """Pixels that belong to a shape: the backgrounds are pure grey, every shape colour is saturated."""
    a = arr.astype(np.int32)
    return (a.max(axis=2) - a.min(axis=2)) > 60


def dominant_colour(arr: np.ndarray) -> str:
    """Majority vote over shape pixels of the nearest palette colour."""
    pixels = arr[shape_mask(arr)].astype(np.float64)
    nearest = np.argmin(((pixels[:, None, :] - PALETTE[None]) ** 2).sum(axis=2), axis=1)
    return COLOUR_NAMES[np.bincount(nearest, minlength=len(PALETTE)).argmax()]


@pytest.fixture(scope="module")
def ds():
    return ShapesDataset(n=600, seed=7)


def test_same_seed_gives_same_bytes_and_captions():
    a, b = ShapesDataset(n=50, seed=3), ShapesDataset(n=50, seed=3)
    assert a.id == b.id == "shapes-v1-n50-s3"
    assert a.captions == b.captions
    assert a.meta.equals(b.meta)
    for i in range(50):
        assert a.image(i).tobytes() == b.image(i).tobytes()


def test_different_seed_differs():
    a, b = ShapesDataset(n=50, seed=3), ShapesDataset(n=50, seed=4)
    assert a.id != b.id
    assert a.captions != b.captions
    differing = sum(a.image(i).tobytes() != b.image(i).tobytes() for i in range(50))
    assert differing >= 45  # a coincidence of all attributes and jitter is (almost) impossible


def test_noise_is_per_pair_and_reproducible():
    d = ShapesDataset(n=400, seed=11, anomaly_rate=0.2)
    noised = np.flatnonzero(d.meta["anomaly"].to_numpy() == "noised")
    assert noised.size >= 2
    i, j = noised[:2]
    first = d.render_array(i)
    assert np.array_equal(first, ShapesDataset(n=400, seed=11, anomaly_rate=0.2).render_array(i))
    assert np.array_equal(first, d.render_array(i))  # no hidden state between calls
    assert not np.array_equal(first, d.render_array(j))


def test_images_are_rgb_of_the_requested_size():
    d = ShapesDataset(n=3, seed=0, image_size=48)
    img = d.image(1)
    assert img.mode == "RGB" and img.size == (48, 48)
    assert d.id.endswith("-px48")


def test_render_batch_matches_image():
    d = ShapesDataset(n=20, seed=5)
    batch = d.render_batch([3, 0, 19])
    assert tuple(batch.shape) == (3, 3, 64, 64) and str(batch.dtype) == "torch.uint8"
    for row, i in enumerate([3, 0, 19]):
        assert np.array_equal(batch[row].permute(1, 2, 0).numpy(), np.asarray(d.image(i)))


def test_dominant_colour_matches_label(ds):
    meta = ds.meta
    clean = np.flatnonzero(meta["anomaly"].to_numpy() == "none")[:200]
    wrong = [i for i in clean if dominant_colour(ds.render_array(i)) != meta["colour"][i]]
    assert wrong == []


def test_background_is_grey_and_shapes_are_coloured(ds):
    meta = ds.meta
    clean = np.flatnonzero(meta["anomaly"].to_numpy() == "none")[:100]
    for i in clean:
        arr = ds.render_array(i)
        n_shape = shape_mask(arr).sum()
        assert 0 < n_shape < arr.shape[0] * arr.shape[1] / 2


def test_large_shapes_cover_more_pixels_than_small_ones(ds):
    meta = ds.meta
    clean = meta[meta["anomaly"] == "none"]
    area = {i: int(shape_mask(ds.render_array(i)).sum()) for i in clean.index}
    compared = 0
    for (shape, count), group in clean.groupby(["shape", "count"]):
        small = [area[i] for i in group.index[group["size"] == "small"]]
        large = [area[i] for i in group.index[group["size"] == "large"]]
        if small and large:
            assert min(large) > max(small), (shape, count)
            compared += 1
    assert compared >= 12


def test_position_is_visible(ds):
    meta = ds.meta
    clean = meta[meta["anomaly"] == "none"].index[:300]
    half = ds.image_size / 2
    for i in clean:
        ys, xs = np.nonzero(shape_mask(ds.render_array(i)))
        cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
        pos = meta["position"][i]
        if pos == "centre":
            assert abs(cx - half) < 6 and abs(cy - half) < 6
        else:
            assert (cy < half) == pos.startswith("top"), (i, pos, cx, cy)
            assert (cx < half) == pos.endswith("left"), (i, pos, cx, cy)


def _roughness(arr):
    a = arr.astype(np.float64)
    return np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean()


def test_blurred_and_noised_images_differ_as_labelled():
    d = ShapesDataset(n=300, seed=2, anomaly_rate=0.1)
    meta = d.meta
    rough = {kind: [_roughness(d.render_array(i)) for i in meta.index[meta["anomaly"] == kind][:15]]
             for kind in ("none", "blurred", "noised")}
    assert max(rough["blurred"]) < np.median(rough["none"])
    assert min(rough["noised"]) > max(rough["none"])


def test_anomaly_rates_within_binomial_tolerance():
    n, rate = 20_000, 0.03
    counts = ShapesDataset(n=n, seed=1, anomaly_rate=rate).meta["anomaly"].value_counts()
    sd = math.sqrt(n * rate * (1 - rate))
    for kind in ANOMALIES[1:]:
        assert abs(counts.get(kind, 0) - n * rate) < 5 * sd, kind
    assert set(ShapesDataset(n=500, seed=1, anomaly_rate=0).meta["anomaly"]) == {"none"}


def _mentions(caption: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", caption) is not None


def test_captions_mention_their_attributes():
    d = ShapesDataset(n=3000, seed=9)
    meta = d.meta
    for row in meta.itertuples():
        cap = row.caption
        if row.anomaly == "vague_caption":
            assert cap in VAGUE_CAPTIONS
            assert pd.isna(row.caption_shape) and pd.isna(row.caption_colour)
            assert not any(_mentions(cap, w) for w in list(SHAPES) + COLOUR_NAMES)
            continue
        shape, colour = row.caption_shape, row.caption_colour
        if row.anomaly == "mismatched_caption":
            assert shape != row.shape and colour != row.colour
        else:
            assert (shape, colour) == (row.shape, row.colour)
            assert _mentions(cap, colour)
            assert _mentions(cap, shape) or _mentions(cap, plural(shape))
            # optional attributes, when mentioned, are the true ones
            said_sizes = [s for s in SIZES if _mentions(cap, s)]
            assert said_sizes in ([], [row.size])
            said_bg = [b for b in BACKGROUNDS if _mentions(cap, f"{b} background")]
            assert said_bg in ([], [row.background])
            said_pos = [p for p in POSITIONS if p in cap]
            assert said_pos in ([], [row.position])
            plural_used = _mentions(cap, plural(shape))
            assert plural_used == (row.count > 1)
            if row.count > 1:
                assert _mentions(cap, {2: "two", 3: "three"}[row.count])
        assert _mentions(cap, colour)
    # every kind of optional mention occurs somewhere
    caps = " ".join(meta["caption"])
    assert "background" in caps and "corner" in caps and "small" in caps and "large" in caps


def test_articles_are_grammatical():
    caps = ShapesDataset(n=2000, seed=4).captions
    assert not any(re.search(r"\ba [aeiou]", c) for c in caps)
    assert any(" an orange " in f" {c} " for c in caps)


def test_meta_columns():
    meta = ShapesDataset(n=10, seed=0).meta
    assert list(meta.columns) == ["id", "caption", "shape", "colour", "size", "position", "count",
                                  "background", "anomaly", "caption_shape", "caption_colour"]
    assert meta["id"].is_unique
    assert set(meta["count"]) <= {1, 2, 3}


def test_hundred_thousand_pairs_build_without_rendering(monkeypatch):
    def no_render(**kwargs):
        raise AssertionError("rendered eagerly")

    monkeypatch.setattr(shapes_mod, "render_pair", no_render)
    d = ShapesDataset(n=100_000, seed=0)
    assert len(d) == 100_000
    assert len(d.meta) == 100_000 and len(d.captions) == 100_000
    assert d.caption(99_999) == d.meta["caption"][99_999]
    with pytest.raises(AssertionError, match="eagerly"):
        d.image(0)  # pixels are made only on demand


@pytest.mark.parametrize("n", [0, -5, 1.5, "10", True, None])
def test_bad_n(n):
    with pytest.raises(DatasetError, match="n must"):
        ShapesDataset(n=n)


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"image_size": 8}, {"anomaly_rate": 0.3},
                                    {"anomaly_rate": -0.1}, {"anomaly_rate": float("nan")},
                                    {"anomaly_rate": "lots"}])
def test_bad_parameters(kwargs):
    with pytest.raises(DatasetError):
        ShapesDataset(n=10, **kwargs)


def test_index_out_of_range():
    d = ShapesDataset(n=5)
    with pytest.raises(IndexError):
        d.image(5)
    with pytest.raises(IndexError):
        d.caption(-6)
    assert d.caption(-1) == d.caption(4)


def test_caption_attributes_are_what_the_caption_says():
    d = ShapesDataset(n=800, seed=12)
    meta = d.meta
    for i in range(800):
        said, cap = d.caption_attributes(i), d.caption(i)
        if meta["anomaly"][i] == "vague_caption":
            assert said == {}
            continue
        assert said["shape"] == meta["caption_shape"][i] and said["colour"] == meta["caption_colour"][i]
        assert _mentions(cap, said["colour"])
        assert ("size" in said) == any(_mentions(cap, v) for v in SIZES)
        assert ("background" in said) == _mentions(cap, "background")
        if "background" in said:
            assert _mentions(cap, f"{said['background']} background")
        assert ("position" in said) == ("corner" in cap or "centre" in cap)
        if "position" in said:
            assert said["position"] in cap
