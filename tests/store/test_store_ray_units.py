"""The Ray engine's parts that need no cluster: collecting shards from streamed rows, addresses,
the encoder that travels to the actors, the pool size and GPU share, engine names."""
from __future__ import annotations

import pickle
import socket

import numpy as np
import pytest

from amumo_ng.store.engines import EngineError, LocalEngine, make_engine
from amumo_ng.store.ray_engine import RayEngine, ShardCollector, check_reachable, portable_encoder, split_address
from amumo_ng.store.shards import open_shards


def rows(start, stop, d=3):
    """Rows of pairs start..stop-1 as the actors send them; vector of pair i = [i, i + 0.5, ...] (image), -that (text)."""
    index = np.arange(start, stop)
    image = index[:, None] + 0.5 * np.arange(d)[None, :]
    return {"index": index, "image": image.astype(np.float32), "text": (-image).astype(np.float32),
            "logit_scale": np.full(index.size, 20.0)}


def take(batch, mask):
    return {k: v[mask] for k, v in batch.items()}


def test_collector_saves_each_shard_once_whatever_the_order_splits_and_repeats(tmp_path):
    plan = open_shards(tmp_path / "k.partial", n=10, chunk_size=4, spec={"encoder": "e", "dataset": "d"})
    assert [(s.start, s.stop) for s in plan.todo()] == [(0, 4), (4, 8), (8, 10)]
    collector = ShardCollector(plan)
    everything = rows(0, 10)
    order = np.array([9, 5, 0, 7, 1, 8, 2, 4, 6, 3])  # shard 2 completes first, then 0, then 1
    first, second, third = order[:3], order[3:6], order[6:]
    assert collector.add(take(everything, first)) == 0
    assert collector.add(take(everything, second)) == 2  # pairs 8 and 9: shard [8, 10) is complete
    assert plan.images[2] is not None and plan.images[0] is None
    # a retried task sends rows of a saved shard again: ignored
    assert collector.add(take(everything, np.array([8, 9]))) == 0
    assert collector.add(take(everything, third)) == 8  # shards [0, 4) and [4, 8)
    assert not collector.waiting and collector.logit_scale == 20.0
    image, text = plan.assembled()
    expected = rows(0, 10)
    np.testing.assert_array_equal(image, expected["image"])
    np.testing.assert_array_equal(text, expected["text"])
    # the files are those the local engine resumes from
    again = open_shards(tmp_path / "k.partial", n=10, chunk_size=4, spec={"encoder": "e", "dataset": "d"})
    assert again.todo() == []
    np.testing.assert_array_equal(again.assembled()[0], expected["image"])


def test_collector_rejects_a_shard_whose_vectors_change_dimension(tmp_path):
    plan = open_shards(tmp_path / "k.partial", n=4, chunk_size=4, spec={})
    collector = ShardCollector(plan)
    collector.add(take(rows(0, 4, d=3), np.array([0, 1])))
    with pytest.raises(Exception, match="dimension 5 and 3"):
        collector.add(take(rows(0, 4, d=5), np.array([2, 3])))


@pytest.mark.parametrize("address, expected", [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)),
    ("ray://head.example:10001", ("head.example", 10001)),
    ("[::1]:6379", ("::1", 6379)),
    ("auto", None),
])
def test_split_address(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize("address", ["head", "head:", ":6379", "head:port", "head:70000"])
def test_malformed_address_is_named(address):
    with pytest.raises(EngineError, match="cannot read the Ray address"):
        RayEngine(address=address)


def test_closed_port_is_reported_with_what_to_do():
    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError, match=rf"127.0.0.1:{port} does not answer.*ray start --head"):
        check_reachable(f"127.0.0.1:{port}", timeout_s=2)


def test_portable_encoder_travels_without_its_weights_and_reloads_them():
    from amumo_ng import datasets, models

    enc = models.load("toy-clip")
    ds = datasets.load("shapes", n=4, seed=0)
    reference = enc.encode_images(ds.images(range(4)))  # loads the weights
    portable = portable_encoder(enc)
    assert portable is not enc and portable.id == enc.id and portable.cache_key == enc.cache_key
    assert portable._model is None and enc._model is not None  # the caller's encoder keeps its model
    blob = pickle.dumps(portable)
    assert len(blob) < len(pickle.dumps(enc)) // 10
    again = pickle.loads(blob)
    np.testing.assert_allclose(again.encode_images(ds.images(range(4))), reference, atol=1e-5)
    unloaded = models.load("toy-cyclip")  # not loaded yet: sent as it is
    assert portable_encoder(unloaded) is unloaded


class FakeRay:
    def __init__(self, resources):
        self.resources = resources

    def cluster_resources(self):
        return dict(self.resources)


@pytest.mark.parametrize("resources, actors, todo, expected", [
    ({"CPU": 2.0}, None, 10, (2, 0.0)),  # one actor per CPU, no GPU asked for
    ({"CPU": 16.0}, None, 3, (3, 0.0)),  # never more actors than shards
    ({"CPU": 16.0, "GPU": 2.0}, None, 10, (2, 1.0)),  # one per GPU, a whole GPU each
    ({"CPU": 16.0, "GPU": 2.0}, 4, 10, (4, 0.5)),  # more actors than GPUs: a share each
    ({"CPU": 16.0, "GPU": 1.0}, 1, 10, (1, 1.0)),
])
def test_pool_takes_a_gpu_when_the_cluster_has_one(monkeypatch, resources, actors, todo, expected):
    import sys

    monkeypatch.setitem(sys.modules, "ray", FakeRay(resources))
    assert RayEngine(actors=actors).pool(todo) == expected


def test_engine_names_and_options():
    assert isinstance(make_engine("local"), LocalEngine)
    assert isinstance(make_engine("ray", actors=2), RayEngine)
    with pytest.raises(ValueError, match="unknown engine 'spark'; use one of local, ray"):
        make_engine("spark")
    with pytest.raises(ValueError, match="engine='ray' only"):
        make_engine("local", address="10.0.0.5:6379")
    with pytest.raises(ValueError, match="positive integer"):
        make_engine("ray", actors=0)
    custom = LocalEngine()
    assert make_engine(custom) is custom


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embed_and_command_with_an_address_that_does_not_answer_fail_and_write_nothing(tmp_path, capsys):
    pytest.importorskip("ray")
    import amumo_ng
    from amumo_ng.cli import main

    port = closed_port()
    cache = tmp_path / "cache"
    with pytest.raises(EngineError, match=rf"the Ray cluster at 127.0.0.1:{port} does not answer"):
        amumo_ng.embed("shapes", "toy-clip", cache_dir=cache, n=20, engine="ray", address=f"127.0.0.1:{port}",
                       progress=False)
    assert main(["--cache-dir", str(cache), "precompute", "--n", "20", "--engine", "ray",
                 "--address", f"127.0.0.1:{port}"]) == 2
    assert f"amumo-ng: error: the Ray cluster at 127.0.0.1:{port} does not answer" in capsys.readouterr().err
    assert not cache.exists()  # nothing written, not even the cache folder
    with pytest.raises(SystemExit, match="--address and --actors need --engine ray"):
        main(["--cache-dir", str(cache), "precompute", "--n", "20", "--address", "10.0.0.5:6379"])


def test_an_actor_moves_a_travelling_unpinned_model_to_its_device(monkeypatch):
    """An encoder sent with its weights runs on the actor's device (CUDA there when present): here the
    device picker is made to answer "meta", a device torch can move any model to."""
    from amumo_ng import models
    from amumo_ng.models import open_clip_encoder
    from amumo_ng.store.ray_engine import on_this_device

    enc = models.load("toy-clip")
    enc.encode_texts(["a red circle"])  # loaded on the CPU
    pinned = models.load("toy-cyclip", device="cpu")
    pinned.encode_texts(["a red circle"])
    monkeypatch.setattr(open_clip_encoder, "pick_device", lambda device=None: device or "meta")
    assert on_this_device(enc) is enc
    assert next(enc._model.parameters()).device.type == "meta" and enc._torch_device.type == "meta"
    on_this_device(pinned)  # device="cpu" was asked for: it stays
    assert next(pinned._model.parameters()).device.type == "cpu"
