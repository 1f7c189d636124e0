"""The strip end to end on the shipped toy model: endpoints from specs → path → retrieval frames."""
from __future__ import annotations

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis import interpolation_path, modality_mean, path_endpoints
from amumo_ng.decoders import DecoderError, RetrievalDecoder


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return amumo_ng.embed("shapes", "toy-clip", n=48, progress=False, cache_dir=tmp_path_factory.mktemp("cache"))


def test_prompt_to_caption_strip_on_toy_clip(toy):
    ends = path_endpoints(toy, {"text": "a red circle"}, {"caption": 7})
    np.testing.assert_array_equal(ends.start, toy.encoder.encode_texts(["a red circle"])[0])
    np.testing.assert_array_equal(ends.end, toy.text[7])
    assert ends.start.shape == (64,) and ends.model_id == toy.model_id
    path = interpolation_path(ends.start, ends.end, steps=50, method="slerp")
    decoder = RetrievalDecoder(toy)
    decoder.check(path.vectors, ends.model_id, modality=ends.modality)
    frames = decoder.decode(path.vectors, progress=False)
    assert len(frames) == 50
    assert frames[-1].caption == toy.captions[7] and frames[-1].similarity == pytest.approx(1.0, abs=1e-5)
    assert frames[0].image is not None and frames[0].image.size == toy.get_image(0).size
    text_unit = toy.text / np.linalg.norm(toy.text, axis=1, keepdims=True)
    for j in (0, 25):
        cos = text_unit.astype(np.float64) @ path.vectors[j].astype(np.float64)
        assert frames[j].caption == toy.captions[int(cos.argmax())]
        assert frames[j].similarity == pytest.approx(float(cos.max()), abs=1e-5)


def test_image_vslerp_strip_and_a_foreign_space_is_refused(toy):
    ends = path_endpoints(toy, {"image": 2}, {"image": 30})
    path = interpolation_path(ends.start, ends.end, steps=6, method="vslerp", mean=modality_mean(toy, "image"),
                              alpha=1.0)
    frames = RetrievalDecoder(toy).decode(path.vectors, progress=False)
    assert frames[0].info["image_index"] == 2 and frames[-1].info["image_index"] == 30
    with pytest.raises(DecoderError, match="not vectors of 'toy-cloob'"):
        RetrievalDecoder(toy).check(path.vectors, "toy-cloob")
