"""Hub-backed datasets: fast, clear failure offline; the row -> pair conversion on real
``datasets`` objects (built in memory, nothing downloaded)."""
from __future__ import annotations

import io
import sys
import time

import numpy as np
import pytest
from PIL import Image

from amumo_ng.datasets import hub, load
from amumo_ng.datasets.base import DatasetError

datasets = pytest.importorskip("datasets")

COLOURS = [(210, 30, 30), (30, 190, 50), (40, 60, 200)]
OFFLINE_NAMES = ("'shapes'", "'folder'", "'coco'")


def jpeg_bytes(rgb):
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), rgb).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def tiny_table():
    return {
        "image": [Image.open(io.BytesIO(jpeg_bytes(c))) for c in COLOURS],
        "answer": [["a red one", "red again"], ["a green one"], ["a blue one", "b"]],
        "id": [101, 102, 103],
        "width": [16, 16, 16],
        "tags": [["x"], ["y"], ["z"]],  # not scalar: dropped from meta
    }


@pytest.fixture
def no_offline_env(monkeypatch):
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


# -- offline behaviour -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mscoco", "diffusiondb"])
@pytest.mark.parametrize("var", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_offline_flag_fails_at_once_naming_alternatives(no_offline_env, name, var):
    no_offline_env.setenv(var, "1")
    start = time.monotonic()
    with pytest.raises(DatasetError) as err:
        load(name, n=5)
    elapsed = time.monotonic() - start
    msg = str(err.value)
    assert var in msg and all(alt in msg for alt in OFFLINE_NAMES)
    assert elapsed < 10  # behaviour bound: no retry loop (the hang it guards against is ~50 s)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://hub.invalid",  # the .invalid TLD never resolves
        "http://10.255.255.1:81",  # non-routable: times out (or an intercepting proxy answers 404)
        "http://127.0.0.1:9",  # nothing listens: refused
    ],
)
def test_unreachable_hub_fails_within_seconds(no_offline_env, endpoint):
    no_offline_env.setenv("HF_ENDPOINT", endpoint)
    start = time.monotonic()
    with pytest.raises(DatasetError) as err:
        load("mscoco", n=5, timeout=1.0)
    elapsed = time.monotonic() - start
    msg = str(err.value)
    assert "not available" in msg and all(alt in msg for alt in OFFLINE_NAMES)
    assert elapsed < 10


def test_offline_reason_names_the_url(no_offline_env):
    no_offline_env.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert "http://127.0.0.1:9/api/datasets/org/name" in hub.offline_reason("org/name", timeout=1.0)
    no_offline_env.setenv("HF_HUB_OFFLINE", "0")  # a false value does not force offline
    assert "HF_HUB_OFFLINE" not in hub.offline_reason("org/name", timeout=1.0)
    no_offline_env.setenv("HF_HUB_OFFLINE", "yes")
    assert hub.offline_reason("org/name") == "HF_HUB_OFFLINE=yes is set"


def test_only_an_api_answer_counts_as_online(no_offline_env):
    """A local HTTP server stands in for the Hub: 200 -> online, 404 (what an intercepting
    proxy answers) -> offline, 403 (gated repository) -> online."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            code = {"/api/datasets/ok/repo": 200, "/api/datasets/gated/repo": 403}.get(self.path, 404)
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        no_offline_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub.offline_reason("ok/repo", timeout=2.0) is None
        assert hub.offline_reason("gated/repo", timeout=2.0) is None
        assert "answered HTTP 404" in hub.offline_reason("missing/repo", timeout=2.0)
    finally:
        server.shutdown()
        server.server_close()


def test_missing_datasets_package_says_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DatasetError, match=r"pip install amumo-ng\[hub\]"):
        load("diffusiondb", n=3)


def test_bad_n_rejected_before_any_network(no_offline_env):
    with pytest.raises(DatasetError, match="n must be at least 1"):
        load("mscoco", n=0)


# -- the online conversion, on real `datasets` objects ---------------------------------------
def check_tiny_pairs(ds, rgb_of):
    assert len(ds) == 3
    assert ds.captions == ["a red one", "a green one", "a blue one"]  # first of each list
    meta = ds.meta
    assert meta["source_id"].tolist() == [101, 102, 103]  # clashing "id" kept under another name
    assert meta["width"].tolist() == [16, 16, 16]
    assert "tags" not in meta.columns and "image" not in meta.columns
    for i, rgb in enumerate(COLOURS):
        assert np.abs(rgb_of(ds.image(i)) - rgb).max() < 8
    return ds


def test_pairs_from_decoded_dataset(rgb_of):
    table = datasets.Dataset.from_dict(tiny_table())
    assert isinstance(table.features["image"], datasets.Image)
    ds = hub.pairs_from_rows(table, image_column="image", caption_column="answer", name="tiny")
    check_tiny_pairs(ds, rgb_of)
    assert ds.id.startswith("hub-tiny-")


def test_pairs_from_undecoded_stream_and_n(rgb_of):
    table = datasets.Dataset.from_dict(tiny_table())
    stream = table.to_iterable_dataset().cast_column("image", datasets.Image(decode=False))
    ds = hub.pairs_from_rows(stream, image_column="image", caption_column="answer", name="tiny")
    check_tiny_pairs(ds, rgb_of)
    two = hub.pairs_from_rows(stream, image_column="image", caption_column="answer", name="tiny", n=2)
    assert two.captions == ["a red one", "a green one"]
    assert two.id != ds.id  # content fingerprint: fewer rows, other id
    again = hub.pairs_from_rows(stream, image_column="image", caption_column="answer", name="tiny")
    assert again.id == ds.id


def test_bad_rows_are_named(rgb_of):
    rows = [{"image": jpeg_bytes(COLOURS[0]), "caption": "ok"}, {"image": jpeg_bytes(COLOURS[1]), "caption": []}]
    with pytest.raises(DatasetError, match="row 1 has no usable caption"):
        hub.pairs_from_rows(rows, image_column="image", caption_column="caption", name="t")
    with pytest.raises(DatasetError, match=r"row 0 has no column 'prompt'; columns: \['caption', 'image'\]"):
        hub.pairs_from_rows(rows, image_column="image", caption_column="prompt", name="t")
    with pytest.raises(DatasetError, match="row 0 has no usable image"):
        hub.pairs_from_rows([{"image": None, "caption": "x"}], image_column="image", caption_column="caption", name="t")
    with pytest.raises(DatasetError, match="no rows"):
        hub.pairs_from_rows([], image_column="image", caption_column="caption", name="t")
    corrupt = hub.pairs_from_rows([{"image": b"junk", "caption": "x"}], image_column="image",
                                  caption_column="caption", name="t")
    with pytest.raises(DatasetError, match="cannot decode the image of pair 0"):
        corrupt.image(0)


def test_load_hub_streams_through_datasets(no_offline_env, monkeypatch, rgb_of):
    """The online path end to end, with the Hub replaced by an in-memory streamed dataset."""
    calls = []

    def fake_load_dataset(repo, config=None, **kwargs):
        calls.append((repo, config, kwargs))
        return datasets.Dataset.from_dict(tiny_table()).to_iterable_dataset()

    monkeypatch.setattr(hub, "offline_reason", lambda repo, timeout: None)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = load("mscoco", n=2)
    assert ds.captions == ["a red one", "a green one"]
    assert np.abs(rgb_of(ds.image(1)) - COLOURS[1]).max() < 8
    repo, config, kwargs = calls[0]
    assert repo == hub.MSCOCO.repo and kwargs["split"] == hub.MSCOCO.split and kwargs["streaming"] is True

    def failing_load_dataset(*args, **kwargs):
        raise ConnectionError("boom")

    monkeypatch.setattr(datasets, "load_dataset", failing_load_dataset)
    with pytest.raises(DatasetError, match=r"could not stream 'poloclub/diffusiondb'.*boom.*shapes"):
        load("diffusiondb", n=2)
