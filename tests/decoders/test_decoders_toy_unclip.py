"""The toy unCLIP decoder: networks, interface, refusals, and a few-step training smoke test."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from amumo_ng.decoders import DecoderError, ToyUnCLIPDecoder  # noqa: E402
from amumo_ng.decoders.toy_nets import EmbeddingImageDecoder, RegressionPrior  # noqa: E402


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return EmbeddingImageDecoder(16, image_size=32), RegressionPrior(16, hidden=32)


def test_networks_shapes_ranges_and_unit_prior(nets):
    decoder, prior = nets
    e = torch.nn.functional.normalize(torch.randn(5, 16), dim=1)
    with torch.no_grad():
        pic = decoder(e)
        out = prior(e)
    assert pic.shape == (5, 3, 32, 32) and float(pic.min()) >= 0 and float(pic.max()) <= 1
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="4·2\\^k"):
        EmbeddingImageDecoder(16, image_size=48)


def test_decode_normalises_and_matches_the_network(nets):
    decoder_net, prior_net = nets
    dec = ToyUnCLIPDecoder(decoder_net, prior_net, model_id="m")
    v = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    frames = dec.decode(v * np.array([[1.0], [5.0], [0.1]], dtype=np.float32), progress=False)
    assert [f.image.size for f in frames] == [(32, 32)] * 3 and all(not f.info["prior"] for f in frames)
    with torch.no_grad():  # the same picture by hand: normalise, forward, to uint8
        unit = torch.from_numpy(v / np.linalg.norm(v, axis=1, keepdims=True))
        expected = (decoder_net(unit).clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for j in range(3):
        np.testing.assert_array_equal(np.asarray(frames[j].image), expected[j])


def test_prior_path_paints_the_prior_embedding(nets):
    decoder_net, prior_net = nets
    dec = ToyUnCLIPDecoder(decoder_net, prior_net, model_id="m", prior=True)
    assert dec.modality == "text" and dec.with_prior(False).modality == "image"
    v = np.random.default_rng(1).normal(size=(2, 16)).astype(np.float32)
    with torch.no_grad():
        mapped = prior_net(torch.from_numpy(v / np.linalg.norm(v, axis=1, keepdims=True))).numpy()
    frames = dec.decode(v, progress=False)
    np.testing.assert_allclose(np.stack([f.info["image_vector"] for f in frames]), mapped, atol=1e-6)
    direct = dec.with_prior(False).decode(mapped, progress=False)
    for a, b in zip(frames, direct):
        np.testing.assert_array_equal(np.asarray(a.image), np.asarray(b.image))


def test_refusals(nets):
    decoder_net, prior_net = nets
    dec = ToyUnCLIPDecoder(decoder_net, prior_net, model_id="toy-a")
    with pytest.raises(DecoderError, match="dimension 8 vs 16"):
        dec.decode(np.ones((2, 8)), progress=False)
    with pytest.raises(DecoderError, match="not vectors of 'toy-b'"):
        dec.check(np.ones((2, 16)), "toy-b")
    with pytest.raises(DecoderError, match="decodes image vectors, not text"):
        dec.check(np.ones((2, 16)), modality="text")
    with pytest.raises(DecoderError, match="is zero"):
        dec.decode(np.zeros((1, 16)), progress=False)
    with pytest.raises(DecoderError, match="prior network"):
        ToyUnCLIPDecoder(decoder_net, None, model_id="m", prior=True)
    with pytest.raises(DecoderError, match="no toy unCLIP ships for 'toy-nope'"):
        ToyUnCLIPDecoder.load("toy-nope")


def test_cancel_between_passes_and_progress(nets):
    from amumo_ng.decoders.base import DecoderCancelled

    dec = ToyUnCLIPDecoder(*nets, model_id="m")
    seen = []
    dec.decode(np.ones((10, 16)), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(8, 10), (10, 10)]
    with pytest.raises(DecoderCancelled, match="after 0 of 3"):
        dec.decode(np.ones((3, 16)), cancel=lambda: True)


def test_training_smoke_writes_loadable_weights_and_a_card(tmp_path):
    """A few steps on a small split: the file loads back into a decoder that paints; the card is complete."""
    from amumo_ng.zoo.train_unclip import UnCLIPTrainConfig, train_unclip

    cfg = UnCLIPTrainConfig(model="toy-clip", decoder_steps=3, prior_steps=3, warmup_steps=1, decoder_batch=8,
                            prior_batch=16, n_train=64, n_eval=24, out=str(tmp_path), cache_dir=str(tmp_path / "c"))
    card = train_unclip(cfg)
    weights = tmp_path / "toy-clip.unclip.safetensors"
    assert weights.is_file() and weights.stat().st_size < 3e6  # float16, a couple of MB
    on_disk = json.loads((tmp_path / "toy-clip.unclip.json").read_text())
    assert on_disk["sha256"] == card["sha256"] and on_disk["model"] == "toy-clip"
    ev = on_disk["evaluation"]
    for key in ("colour_match", "shape_match", "source_colour", "reencoded_cos", "random_image_cos"):
        assert key in ev["image"]
    assert ev["text_prior"]["n_colour"] + ev["text_prior"]["n_shape"] > 0
    assert (tmp_path / "toy-clip.unclip.md").read_text().startswith("# toy-clip.unclip")
    dec = ToyUnCLIPDecoder.load("toy-clip", weights_path=weights)
    import amumo_ng

    assert dec.model_id == amumo_ng.models.load("toy-clip").id and dec.dim == 64
    assert dec.decode(np.ones((2, 64)), progress=False)[0].image.size == (64, 64)
    with pytest.raises(DecoderError, match="trained for 'toy-clip', not 'toy-cloob'"):
        ToyUnCLIPDecoder.load("toy-cloob", weights_path=weights)
