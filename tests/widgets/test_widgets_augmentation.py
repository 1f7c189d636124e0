"""Showing an augmented set in the session and the Explorer: every model swaps to it, 'none' restores."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.datasets.augmentation import augment_image
from amumo_ng.session import Session
from amumo_ng.widgets import Explorer
from helpers_widgets import make_embeddings


@pytest.fixture(scope="module")
def zoo_pair(tmp_path_factory):
    """8 shapes pairs embedded with toy-clip and toy-cyclip (encoders attached by embed); each
    test's augmented sets go to that test's own cache (the autouse isolated_cache)."""
    cache = tmp_path_factory.mktemp("cache")
    ds = amumo_ng.datasets.load("shapes", n=8, seed=3)
    return ds, {"clip": amumo_ng.embed(ds, "toy-clip", cache_dir=cache, progress=False),
                "cyclip": amumo_ng.embed(ds, "toy-cyclip", cache_dir=cache, progress=False)}


def test_augment_swaps_every_model_and_restore_brings_back_the_view(zoo_pair):
    ds, models = zoo_pair
    s = Session(models, filter_pattern=ds.caption(2).split()[-1], selection=[1, 2])
    before = (s.filter_pattern, list(s.selection), s.indices.copy())
    s.augment("rotate", 2, steps=12)
    assert s.augmentation["kind"] == "rotate" and s.augmentation["pair"] == 2
    assert s.n_total == 12 and s.k == 12 and s.filter_pattern == "" and s.selection == []
    # the vectors shown are the augmented set's, encoded by each model's own encoder
    aug = augment_image(ds.image(2), ds.caption(2), "rotate", 12)
    for name in ("clip", "cyclip"):
        s.model = name
        enc = models[name].encoder
        expected = enc.encode_images([aug.image(i) for i in range(12)])
        assert np.allclose(s.embeddings.image, expected, atol=1e-4)
        assert s.embeddings.captions == [ds.caption(2)] * 12
    img, txt = s.vectors()
    assert img.shape == (12, models["clip"].image.shape[1])
    s.restore()
    assert s.augmentation == {} and s.n_total == 8
    assert (s.filter_pattern, list(s.selection)) == before[:2] and np.array_equal(s.indices, before[2])


def test_explorer_follows_an_augmentation(zoo_pair):
    ds, models = zoo_pair
    ex = Explorer(models)
    ex.session.augment("noise", 0, steps=10)
    assert ex.n_total == 10 and ex.n_view == 10 and ex.heat_rows == 20
    assert len(np.frombuffer(ex.points, np.float32)) == 2 * 2 * 10 and ex.points_model == ex.session.model
    assert ex.gap_readout["n"] == 10
    tile = ex.session.tile(0, 10, 10, 20)  # image step i vs the (fixed) caption
    assert np.allclose(tile, tile[:, :1], atol=1e-5)  # every text row is the same caption
    ex.session.model = "cyclip"  # switching the model keeps the augmentation
    assert ex.session.augmentation["kind"] == "noise" and ex.n_total == 10
    ex.session.restore()
    assert ex.n_total == 8 and ex.heat_rows == 16


def test_bad_augmentations_change_nothing(zoo_pair):
    ds, models = zoo_pair
    s = Session(models)
    with pytest.raises(EmbeddingError, match="kinds: .*rotate"):
        s.augment("twirl", 0)
    with pytest.raises(EmbeddingError, match="indices run from 0 to 7"):
        s.augment("rotate", 8)
    with pytest.raises(Exception, match="steps"):
        s.augment("rotate", 0, steps=1)
    assert s.n_total == 8 and s.augmentation == {}
    arrays = Session(make_embeddings(6, images=True))
    ok, why = arrays.augmentable()
    assert not ok and "no encoder" in why
    with pytest.raises(EmbeddingError, match="no encoder"):
        arrays.augment("rotate", 0)
    assert "no images" in Session(make_embeddings(6)).augmentable()[1]


def test_augment_request_runs_in_the_background_and_none_restores(zoo_pair):
    ds, models = zoo_pair
    ex = Explorer(models)
    assert "rotate" in ex.augment_kinds and ex.augment_disabled == "" and ex.pair_notes_utf8 == b""
    reply, _ = ex.handle_augment({"type": "augment", "req": 1, "kind": "rotate", "pair": 3, "steps": 6})
    assert reply["started"]
    import time

    deadline = time.monotonic() + 60
    while not ex.augmentation and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ex.augmentation["pair"] == 3 and ex.n_total == 6
    offsets = np.frombuffer(ex.pair_note_offsets, np.uint32)
    notes = [ex.pair_notes_utf8[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]
    assert notes[2] == "step 2 · rotate 120°"  # 360° / 6 steps
    reply, _ = ex.handle_augment({"type": "augment", "req": 2, "kind": "none"})
    assert reply["restored"] and ex.n_total == 8 and ex.augmentation == {} and ex.pair_notes_utf8 == b""
    disabled = Explorer(make_embeddings(5))
    assert "no images" in disabled.augment_disabled
