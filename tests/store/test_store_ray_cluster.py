"""embed(engine="ray") on a local Ray cluster of 2 CPUs: equal to the local engine, an actor killed
mid-run, a driver killed mid-run and resumed, a local run resumed on Ray, errors from the actors,
and the command line starting its own cluster.

The reference vectors are the local engine's with one torch thread, as each 1-CPU actor runs:
torch's float sums then happen in the same order, so the two engines agree to 1e-6 (with other
thread counts they differ in the last bits, about 1e-7 of a vector's norm).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import amumo_ng
from amumo_ng.analysis.validation import EmbeddingError
from amumo_ng.models import FunctionEncoder
from amumo_ng.models.base import Encoder
from amumo_ng.store.cache import EmbeddingCache

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.timeout(240)

N, CHUNK = 256, 32  # 8 shards
SHARDS = N // CHUNK


@contextmanager
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MarkingEncoder(Encoder):
    """toy-clip that leaves one file ``<pid>-<ns>`` in ``marks`` per shard it starts, then waits ``pause`` s.

    Same cache key as toy-clip, so its entries are toy-clip's.
    """

    def __init__(self, inner, marks, pause=0.0):
        self.inner, self.marks, self.pause = inner, str(marks), float(pause)
        self.id, self.preprocess_id = inner.id, inner.preprocess_id

    @property
    def logit_scale(self):
        return self.inner.logit_scale

    def encode_images(self, images):
        Path(self.marks, f"{os.getpid()}-{time.time_ns()}").touch()
        time.sleep(self.pause)
        return self.inner.encode_images(images)

    def encode_texts(self, texts):
        return self.inner.encode_texts(texts)


def marks_of(folder):
    """(pid, ns) of each shard start, in time order."""
    found = [tuple(int(x) for x in p.name.split("-")) for p in Path(folder).iterdir()]
    return sorted(found, key=lambda m: m[1])


@pytest.fixture(scope="module")
def ray_session():
    for attempt in (1, 2, 3):  # Ray gives its raylet 30 s to start: a loaded machine can miss that
        try:
            ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
            break
        except Exception:
            ray.shutdown()
            if attempt == 3:
                raise
    module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(module)  # the workers cannot import this test module
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(module)
    ray.shutdown()


@pytest.fixture(scope="module")
def shapes():
    return amumo_ng.datasets.load("shapes", n=N, seed=0)


@pytest.fixture(scope="module")
def reference(shapes, tmp_path_factory):
    """The local engine's vectors (one torch thread), copied out of the cache."""
    with one_torch_thread():
        emb = amumo_ng.embed(shapes, "toy-clip", cache_dir=tmp_path_factory.mktemp("reference"),
                             chunk_size=CHUNK, progress=False)
    return np.array(emb.image), np.array(emb.text), emb.logit_scale, emb.meta.copy()


def assert_equals_reference(emb, reference):
    image, text, logit_scale, meta = reference
    assert emb.n == N and emb.dim == image.shape[1]
    assert np.abs(np.asarray(emb.image) - image).max() <= 1e-6
    assert np.abs(np.asarray(emb.text) - text).max() <= 1e-6
    assert emb.logit_scale == pytest.approx(logit_scale, rel=1e-6)
    assert emb.captions == meta["caption"].tolist() and emb.ids == meta["id"].tolist()


def partial_folder(cache_root):
    found = list(Path(cache_root).glob("*.partial"))
    return found[0] if found else None


def test_ray_equals_local_and_writes_the_same_entry(ray_session, shapes, reference, isolated_cache, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    toy = amumo_ng.models.load("toy-clip")
    emb = amumo_ng.embed(shapes, MarkingEncoder(toy, marks), engine="ray", actors=2, chunk_size=CHUNK,
                         progress=False)
    assert_equals_reference(emb, reference)
    started = marks_of(marks)
    assert len(started) == SHARDS  # every shard encoded once
    assert 1 <= len({pid for pid, _ in started}) <= 2 and os.getpid() not in {pid for pid, _ in started}
    assert toy._model is None  # the driver never loaded the model: the actors did, and read the logit scale
    # the entry is the local engine's: verified, found again by the local engine without encoding
    cache = EmbeddingCache(isolated_cache)
    (entry,) = cache.entries()
    assert cache.verify(entry.key)["n"] == N and partial_folder(isolated_cache) is None
    again = amumo_ng.embed(shapes, MarkingEncoder(toy, marks), chunk_size=CHUNK, progress=False)
    assert len(marks_of(marks)) == SHARDS
    np.testing.assert_array_equal(again.image, emb.image)


def test_killed_actor_is_restarted_and_its_shard_redone(ray_session, shapes, reference, isolated_cache, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    killed = []

    def kill_an_actor_mid_shard():
        deadline = time.time() + 200
        while time.time() < deadline:
            started = marks_of(marks)
            if len(started) >= 3:  # the newest shard has just started: its actor is inside the pause
                pid = started[-1][0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_an_actor_mid_shard, daemon=True)
    killer.start()
    enc = MarkingEncoder(amumo_ng.models.load("toy-clip"), marks, pause=0.5)
    emb = amumo_ng.embed(shapes, enc, engine="ray", actors=2, chunk_size=CHUNK, progress=False)
    killer.join(5)
    assert len(killed) == 1
    started = marks_of(marks)
    # the killed actor's shard never came back, so it was started again (by a restarted actor or the other one)
    assert len(started) >= SHARDS + 1
    assert killed[0] not in {pid for pid, ns in started if ns > max(n for p, n in started if p == killed[0])}
    assert_equals_reference(emb, reference)


DRIVER = textwrap.dedent("""
    import importlib.util, sys
    import ray
    import amumo_ng
    spec = importlib.util.spec_from_file_location("ray_cluster_tests", sys.argv[1])
    tests = sys.modules["ray_cluster_tests"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    ray.cloudpickle.register_pickle_by_value(tests)
    enc = tests.MarkingEncoder(amumo_ng.models.load("toy-clip"), sys.argv[4], pause=0.5)
    ds = amumo_ng.datasets.load("shapes", n=tests.N, seed=0)
    amumo_ng.embed(ds, enc, cache_dir=sys.argv[3], engine="ray", address=sys.argv[2], actors=2,
                   chunk_size=tests.CHUNK, progress=False)
    print("finished")
""")


def test_killed_driver_resumes_from_its_finished_shards(ray_session, shapes, reference, isolated_cache, tmp_path):
    """A second process joins this cluster by address and is killed mid-run; the rerun encodes only the rest."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    first_marks, second_marks = tmp_path / "first", tmp_path / "second"
    first_marks.mkdir()
    second_marks.mkdir()
    address = ray.get_runtime_context().gcs_address
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen([sys.executable, str(script), __file__, address, str(isolated_cache), str(first_marks)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 200
        while time.time() < deadline and proc.poll() is None:
            folder = partial_folder(isolated_cache)
            if folder is not None and len(list(folder.glob("chunk-*.npz"))) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the driver ended before it was killed: {proc.communicate()[0][-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    cache = EmbeddingCache(isolated_cache)
    assert cache.entries() == []  # nothing half-written
    finished = len(list(partial_folder(isolated_cache).glob("chunk-*.npz")))
    assert 3 <= finished < SHARDS
    enc = MarkingEncoder(amumo_ng.models.load("toy-clip"), second_marks)
    emb = amumo_ng.embed(shapes, enc, engine="ray", actors=2, chunk_size=CHUNK, progress=False)
    assert len(marks_of(second_marks)) == SHARDS - finished  # only the shards the killed run had not finished
    assert_equals_reference(emb, reference)


class Interrupted(BaseException):
    """Stands for the process being killed (not an Exception, like KeyboardInterrupt)."""


class InterruptingEncoder(MarkingEncoder):
    """Marks shards like MarkingEncoder and raises :class:`Interrupted` when starting the ``at``-th one."""

    def __init__(self, inner, marks, at):
        super().__init__(inner, marks)
        self.at = at

    def encode_images(self, images):
        if len(list(Path(self.marks).iterdir())) + 1 == self.at:
            raise Interrupted("killed while encoding")
        return super().encode_images(images)


def test_local_run_interrupted_then_resumed_on_ray(ray_session, shapes, reference, isolated_cache, tmp_path):
    local_marks, ray_marks = tmp_path / "local", tmp_path / "ray"
    local_marks.mkdir()
    ray_marks.mkdir()
    toy = amumo_ng.models.load("toy-clip")
    with one_torch_thread(), pytest.raises(Interrupted):
        amumo_ng.embed(shapes, InterruptingEncoder(toy, local_marks, at=4), chunk_size=CHUNK, progress=False)
    assert len(marks_of(local_marks)) == 3 and len(list(partial_folder(isolated_cache).glob("chunk-*"))) == 3
    emb = amumo_ng.embed(shapes, MarkingEncoder(toy, ray_marks), engine="ray", chunk_size=CHUNK, progress=False)
    assert len(marks_of(ray_marks)) == SHARDS - 3
    assert_equals_reference(emb, reference)


def test_bad_vectors_from_an_actor_raise_the_embedding_error_and_write_no_entry(ray_session, isolated_cache):
    ds = amumo_ng.datasets.load("shapes", n=40, seed=1)
    nan_enc = FunctionEncoder(lambda ims: np.full((len(ims), 3), np.nan), lambda ts: np.ones((len(ts), 3)),
                              id="nan-v1")
    with pytest.raises(EmbeddingError, match=r"nan-v1 produced bad embeddings for pairs (0..19|20..39): "
                                             r"image embeddings: 20 row\(s\) contain NaN or inf \(first: row 0\)$"):
        amumo_ng.embed(ds, nan_enc, engine="ray", chunk_size=20, progress=False)
    assert EmbeddingCache(isolated_cache).entries() == []


def test_an_address_other_than_the_connected_cluster_is_refused(ray_session, shapes, isolated_cache):
    from amumo_ng.store.engines import EngineError

    port = int(ray.get_runtime_context().gcs_address.rpartition(":")[2])
    with pytest.raises(EngineError, match="already connected to the Ray cluster at .*call ray.shutdown"):
        amumo_ng.embed(shapes, "toy-clip", engine="ray", address=f"127.0.0.1:{port + 1}", progress=False)
    assert list(Path(isolated_cache).iterdir()) == []


def test_command_without_address_starts_a_local_cluster_and_says_so(ray_session, tmp_path):
    cache = tmp_path / "cli-cache"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run([sys.executable, "-m", "amumo_ng.cli", "--cache-dir", str(cache), "precompute",
                           "--engine", "ray", "--n", "48", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no Ray address given: starting a local Ray cluster" in done.stderr
    assert "48 pairs x 64 dims" in done.stdout
    with one_torch_thread():
        local = amumo_ng.embed("shapes", "toy-clip", cache_dir=tmp_path / "local", n=48, progress=False)
    on_ray = amumo_ng.embed("shapes", "toy-clip", cache_dir=cache, n=48, progress=False)  # found in the cache
    assert np.abs(np.asarray(on_ray.image) - local.image).max() <= 1e-6
    assert np.abs(np.asarray(on_ray.text) - local.text).max() <= 1e-6
