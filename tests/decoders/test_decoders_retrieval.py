"""RetrievalDecoder: exact chunked nearest image / caption against a brute-force float64 search."""
from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from amumo_ng.analysis.projection import Cancelled
from amumo_ng.decoders import DecodedFrame, DecoderCancelled, DecoderError, RetrievalDecoder


def brute_nearest(queries, rows):
    """(argmax index, max cosine) per query by a dense float64 cosine matrix."""
    q = np.asarray(queries, dtype=np.float64)
    r = np.asarray(rows, dtype=np.float64)
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (r / np.linalg.norm(r, axis=1, keepdims=True)).T
    return cos.argmax(axis=1), cos.max(axis=1)


@pytest.mark.parametrize("chunk_rows", [1, 37, 500, 100000])
def test_nearest_matches_brute_force_for_any_chunking(synthetic, chunk_rows):
    emb = synthetic(500, 16, seed=1)
    rng = np.random.default_rng(2)
    queries = rng.normal(size=(23, 16)).astype(np.float32)
    found = RetrievalDecoder(emb, chunk_rows=chunk_rows).nearest(queries)
    for modality, key in (("image", "image"), ("text", "caption")):
        idx, sim = brute_nearest(queries, getattr(emb, modality))
        np.testing.assert_array_equal(found[f"{key}_index"], idx)
        np.testing.assert_allclose(found[f"{key}_similarity"], sim, atol=1e-5)


def test_inputs_are_unit_normalised_and_rows_find_themselves(synthetic):
    emb = synthetic(200, 8, seed=3)
    decoder = RetrievalDecoder(emb, chunk_rows=64)
    rows = np.concatenate([emb.text[[4, 150]], emb.image[[9]]])
    found = decoder.nearest(rows)
    assert found["caption_index"][:2].tolist() == [4, 150]
    assert found["image_index"][2] == 9
    np.testing.assert_allclose(found["caption_similarity"][:2], 1.0, atol=1e-6)
    scaled = decoder.nearest(rows * np.array([[7.0], [0.01], [300.0]], dtype=np.float32))
    for key in found:
        np.testing.assert_allclose(scaled[key], found[key], atol=1e-6)


def test_frames_carry_the_nearest_image_caption_and_similarities(synthetic):
    emb = synthetic(50, 8, seed=4, images=True)
    decoder = RetrievalDecoder(emb)
    assert decoder.modality == "image-or-text" and decoder.dim == 8 and decoder.model_id == "synthetic"
    queries = np.stack([emb.text[3], emb.image[17], emb.text[40] + emb.image[40]])
    frames = decoder.decode(queries, progress=False)
    assert len(frames) == 3 and all(isinstance(f, DecodedFrame) for f in frames)
    img_idx, img_sim = brute_nearest(queries, emb.image)
    txt_idx, txt_sim = brute_nearest(queries, emb.text)
    for j, frame in enumerate(frames):
        assert frame.caption == f"caption {txt_idx[j]}"
        assert frame.similarity == pytest.approx(txt_sim[j], abs=1e-5)
        assert frame.info["image_index"] == img_idx[j] and frame.info["caption_index"] == txt_idx[j]
        assert frame.info["image_similarity"] == pytest.approx(img_sim[j], abs=1e-5)
        assert frame.info["image_caption"] == f"caption {img_idx[j]}"
        np.testing.assert_array_equal(np.asarray(frame.image), np.asarray(emb.get_image(int(img_idx[j]))))
    assert frames[0].caption == "caption 3" and frames[1].info["image_index"] == 17


def test_no_image_source_gives_no_image(synthetic):
    frames = RetrievalDecoder(synthetic(10, 4)).decode(np.ones((1, 4)), progress=False)
    assert frames[0].image is None and frames[0].caption is not None


def test_one_hundred_thousand_pairs_without_an_n_by_n_matrix(synthetic):
    emb = synthetic(100_000, 8, seed=5)
    queries = np.random.default_rng(6).normal(size=(50, 8)).astype(np.float32)
    tracemalloc.start()
    decoder = RetrievalDecoder(emb)
    found = decoder.nearest(queries)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # n × n float32 would be 40 GB; n × k float64 is 40 MB: the chunked search stays well below that
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    idx, sim = brute_nearest(queries, emb.text)
    np.testing.assert_array_equal(found["caption_index"], idx)
    np.testing.assert_allclose(found["caption_similarity"], sim, atol=1e-5)


def test_wrong_vectors_are_refused_with_clear_messages(synthetic):
    decoder = RetrievalDecoder(synthetic(20, 8, model_id="toy-clip"))
    with pytest.raises(DecoderError, match=r"shape \[k, 8\].*dimension 64 vs 8"):
        decoder.decode(np.ones((3, 64)), progress=False)
    with pytest.raises(DecoderError, match="toy-clip.*not vectors of 'toy-cloob'"):
        decoder.check(np.ones((3, 8)), "toy-cloob")
    assert decoder.check(np.ones((3, 8)), "toy-clip").shape == (3, 8)
    assert decoder.check(np.ones(8)).shape == (1, 8)  # one vector is k = 1
    with pytest.raises(DecoderError, match="zero"):
        decoder.decode(np.zeros((2, 8)), progress=False)
    with pytest.raises(DecoderError, match="NaN"):
        decoder.decode(np.full((1, 8), np.nan), progress=False)
    with pytest.raises(DecoderError, match="numeric"):
        decoder.decode(np.array([["a"] * 8]), progress=False)
    with pytest.raises(DecoderError, match="chunk_rows"):
        RetrievalDecoder(synthetic(5, 8), chunk_rows=0)


def test_progress_per_frame_and_cancellation(synthetic):
    decoder = RetrievalDecoder(synthetic(30, 4))
    calls = []
    decoder.decode(np.ones((4, 4)), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    stop = threading.Event()

    def progress(done, total):
        if done == 2:
            stop.set()

    with pytest.raises(DecoderCancelled, match="after 2 of 4"):
        decoder.decode(np.ones((4, 4)), progress=progress, cancel=stop)
    with pytest.raises(Cancelled):
        decoder.decode(np.ones((4, 4)), progress=False, cancel=lambda: True)
