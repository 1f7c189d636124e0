"""The embedding cache: correctness, reuse, resume, atomicity and damage detection."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.models import FunctionEncoder
from amumo_ng.store.cache import CacheError, EmbeddingCache


def expected_vectors(ds):
    """Brute force: what the mean-rgb encoder must give for each pair."""
    img = np.array([list(map(float, ds.rgb[i])) + [1.0] for i in range(len(ds))], dtype=np.float32)
    return img, img.copy()


def test_embed_values_and_metadata(colour_pairs, rgb_encoder, isolated_cache):
    ds = colour_pairs(7)
    emb = amumo_ng.embed(ds, rgb_encoder, chunk_size=3, progress=False)
    img, txt = expected_vectors(ds)
    np.testing.assert_allclose(emb.image, img)
    np.testing.assert_allclose(emb.text, txt)
    assert emb.captions == ds.captions
    assert emb.ids == ds.sample_ids
    assert emb.logit_scale == 50.0
    assert emb.model_id == "mean-rgb-v1" and emb.dataset_id == ds.id
    assert np.asarray(emb.get_image(2)).reshape(-1, 3)[0].tolist() == ds.rgb[2].tolist()
    # normalised copies are unit vectors in the same direction
    nrm = emb.normalized()
    np.testing.assert_allclose(np.linalg.norm(nrm.image, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(nrm.image * np.linalg.norm(img, axis=1, keepdims=True), img, rtol=1e-5)
    # the entry is where the cache says, with a manifest describing it
    entries = EmbeddingCache(isolated_cache).entries()
    assert len(entries) == 1 and entries[0].manifest["n"] == 7 and entries[0].manifest["dim"] == 4


def test_second_call_uses_cache_without_encoding(colour_pairs, rgb_encoder):
    ds = colour_pairs(5)
    first = amumo_ng.embed(ds, rgb_encoder, progress=False)
    calls_after_first = dict(rgb_encoder.calls)
    second = amumo_ng.embed(ds, rgb_encoder, progress=False)
    assert rgb_encoder.calls == calls_after_first
    assert isinstance(second.image, np.memmap) or isinstance(second.image.base, np.memmap)
    np.testing.assert_array_equal(first.image, second.image)


def test_cache_key_separates_models_and_samples(colour_pairs, rgb_encoder):
    a = amumo_ng.embed(colour_pairs(4), rgb_encoder, progress=False)
    other = FunctionEncoder(lambda ims: np.ones((len(ims), 4)) + np.arange(len(ims))[:, None],
                            lambda ts: np.ones((len(ts), 4)), id="ones-v1")
    b = amumo_ng.embed(colour_pairs(4), other, progress=False)
    c = amumo_ng.embed(colour_pairs(5), rgb_encoder, progress=False)
    assert not np.array_equal(a.image, b.image)
    assert c.n == 5 and a.n == 4


def test_corrupted_file_is_detected_and_recomputed(colour_pairs, rgb_encoder, isolated_cache):
    ds = colour_pairs(6)
    amumo_ng.embed(ds, rgb_encoder, progress=False)
    entry = EmbeddingCache(isolated_cache).entries()[0]
    path = entry.path / "image.npy"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # flip a byte inside the last float
    path.write_bytes(bytes(raw))
    before = rgb_encoder.calls["images"]
    with pytest.warns(RuntimeWarning, match="checksum"):
        emb = amumo_ng.embed(ds, rgb_encoder, progress=False)
    assert rgb_encoder.calls["images"] > before  # recomputed, not used
    np.testing.assert_allclose(emb.image, expected_vectors(ds)[0])


def test_truncated_file_is_detected(colour_pairs, rgb_encoder, isolated_cache):
    ds = colour_pairs(6)
    amumo_ng.embed(ds, rgb_encoder, progress=False)
    path = EmbeddingCache(isolated_cache).entries()[0].path / "text.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.warns(RuntimeWarning, match="truncated"):
        emb = amumo_ng.embed(ds, rgb_encoder, progress=False)
    np.testing.assert_allclose(emb.text, expected_vectors(ds)[1])


def test_resume_after_interruption(colour_pairs, isolated_cache):
    ds = colour_pairs(10)
    seen = []
    kill = {"at_call": 3}

    class Killed(BaseException):
        """Stands for the process being killed (not an Exception, like KeyboardInterrupt)."""

    def enc_images(images):
        seen.append(len(images))
        if len(seen) == kill["at_call"]:
            raise Killed("killed while encoding the third chunk")
        return np.array([np.asarray(im, np.float32).reshape(-1, 3).mean(0).tolist() + [1.0] for im in images])

    def enc_texts(texts):
        return np.array([[float(v) for v in t.split()[1:4]] + [1.0] for t in texts])

    enc = FunctionEncoder(enc_images, enc_texts, id="mean-rgb-v1")
    with pytest.raises(Killed):
        amumo_ng.embed(ds, enc, chunk_size=3, progress=False)
    cache = EmbeddingCache(isolated_cache)
    assert cache.entries() == []  # nothing half-written
    seen.clear()
    kill["at_call"] = None
    emb = amumo_ng.embed(ds, enc, chunk_size=3, progress=False)
    # chunks [0,3) and [3,6) were finished before the kill: only [6,9) and [9,10) are encoded now
    assert seen == [3, 1]
    np.testing.assert_allclose(emb.image, expected_vectors(ds)[0])
    assert not cache.partial_path(cache.entries()[0].key).exists()


def test_failed_write_leaves_no_entry(colour_pairs, rgb_encoder, isolated_cache, monkeypatch):
    ds = colour_pairs(4)
    real_save = np.save
    state = {"n": 0}

    def flaky_save(*a, **k):
        state["n"] += 1
        if state["n"] == 2:
            raise OSError("disk full")
        return real_save(*a, **k)

    monkeypatch.setattr(np, "save", flaky_save)
    with pytest.raises(OSError, match="disk full"):
        amumo_ng.embed(ds, rgb_encoder, progress=False)
    leftovers = [p.name for p in isolated_cache.iterdir() if not p.name.endswith(".partial")]
    assert leftovers == []


def test_bad_encoder_output_is_rejected_and_not_cached(colour_pairs, isolated_cache):
    ds = colour_pairs(4)
    nan_enc = FunctionEncoder(lambda ims: np.full((len(ims), 3), np.nan), lambda ts: np.ones((len(ts), 3)), id="nan")
    with pytest.raises(EmbeddingError, match="NaN"):
        amumo_ng.embed(ds, nan_enc, progress=False)
    zero_enc = FunctionEncoder(lambda ims: np.zeros((len(ims), 3)), lambda ts: np.ones((len(ts), 3)), id="zero")
    with pytest.raises(EmbeddingError, match="all-zero"):
        amumo_ng.embed(ds, zero_enc, progress=False)
    short_enc = FunctionEncoder(lambda ims: np.ones((1, 3)), lambda ts: np.ones((len(ts), 3)), id="short")
    with pytest.raises(Exception, match="shape|counts"):
        amumo_ng.embed(ds, short_enc, progress=False)
    assert EmbeddingCache(isolated_cache).entries() == []


def test_unwritable_cache_dir_gives_clear_error(colour_pairs, rgb_encoder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="not writable"):
        amumo_ng.embed(colour_pairs(3), rgb_encoder, cache_dir=blocker / "cache", progress=False)
    assert rgb_encoder.calls == {}  # failed before any encoding work


def test_cache_dir_argument_and_env(colour_pairs, rgb_encoder, tmp_path, isolated_cache):
    target = tmp_path / "explicit"
    amumo_ng.embed(colour_pairs(3), rgb_encoder, cache_dir=target, progress=False)
    assert len(EmbeddingCache(target).entries()) == 1
    assert EmbeddingCache(isolated_cache).entries() == []
    assert EmbeddingCache().root == isolated_cache  # the env variable is the default


def test_empty_dataset_is_rejected(colour_pairs, rgb_encoder):
    with pytest.raises(EmbeddingError, match="empty"):
        amumo_ng.embed(colour_pairs(0), rgb_encoder, progress=False)


def test_embeddings_made_by_embed_carry_their_encoder(tmp_path):
    """Views that encode more inputs (augmented images, prompts) find the model through the
    Embeddings: embed() attaches its encoder, cached or freshly computed."""
    import amumo_ng
    from amumo_ng.models import as_encoder

    ds = amumo_ng.datasets.load("shapes", n=6, seed=0)
    enc = amumo_ng.models.load("toy-clip")
    first = amumo_ng.embed(ds, enc, cache_dir=tmp_path, progress=False)
    again = amumo_ng.embed(ds, enc, cache_dir=tmp_path, progress=False)
    assert first.encoder is enc and again.encoder is enc
    img = [ds.image(0)]
    assert np.allclose(again.encoder.encode_images(img)[0], first.image[0], atol=1e-5)
    plain = amumo_ng.Embeddings.from_arrays(np.ones((2, 3)), np.eye(2, 3) + 1)
    assert plain.encoder is None
    attached = amumo_ng.Embeddings.from_arrays(np.ones((2, 3)), np.eye(2, 3) + 1, encoder=enc)
    assert attached.encoder.id == as_encoder(enc).id
