"""The self-contained HTML export (no browser): what the file holds, its budget, its atomic write."""
from __future__ import annotations

import base64
import json
import os
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from amumo_ng.cli import main as cli_main
from amumo_ng.widgets import Explorer
from amumo_ng.widgets.colormap import quantize
from amumo_ng.widgets.export_html import HtmlExportBudgetError, to_html
from helpers_widgets import brute_stacked, make_embeddings, unit


class Page(HTMLParser):
    """Every element's tag and attributes, and the text of each <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = [dict(attrs), ""]

    def handle_data(self, data):
        if self._in is not None:
            self._in[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._in is not None:
            self.scripts.append(tuple(self._in))
            self._in = None


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    payload = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    assert len(payload) == 1
    return page, json.loads(payload[0])


def decoded(payload, name, dtype=np.uint8):
    return np.frombuffer(base64.b64decode(payload["binary"][name]), dtype=dtype)


@pytest.fixture(scope="module")
def emb():
    return make_embeddings(n=200, d=12, images=True)


def test_the_file_loads_nothing_and_carries_the_kernels_state(emb, tmp_path):
    ex = Explorer(emb, title="shared", grid=64)
    report = to_html(ex, tmp_path / "ex.html", thumb_size=24)
    text = report.path.read_text(encoding="utf-8")
    assert report.bytes == os.path.getsize(report.path) == len(text.encode("utf-8"))
    assert not re.search(r"https?://", text), "the page names no http(s) URL"
    page, payload = parse(report.path)
    assert [a for a in (attrs for attrs, _ in page.scripts) if "src" in a] == []
    assert not [t for t, a in page.tags if t in ("link", "iframe", "img", "object", "embed")]
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", "module"]
    # the binary traits are the widget's bytes
    assert decoded(payload, "heat_pixels").tobytes() == ex.heat_pixels
    assert decoded(payload, "order", np.int32).tolist() == list(range(200))
    assert payload["state"]["n_view"] == 200 and payload["state"]["title"] == "shared"
    # the carried vectors: their dot products are the stacked cosine similarities (brute force)
    dims = payload["state"]["heat_dims"]
    vec = decoded(payload, "heat_vectors", np.float32).reshape(400, dims)
    want = brute_stacked(emb.image, emb.text)
    got = vec.astype(np.float64) @ vec.astype(np.float64).T
    assert np.abs(got - want).max() < 1e-5
    assert report.vectors and report.dropped == []
    # one thumbnail per pair in view, each a decodable image of at most 24 px a side
    assert report.thumbnails == 200 == len(payload["thumbs"])
    from PIL import Image
    import io
    thumb = Image.open(io.BytesIO(base64.b64decode(payload["thumbs"]["7"]["data"])))
    assert max(thumb.size) <= 24


def test_levels_of_detail_are_block_means_of_the_matrix(emb, tmp_path):
    ex = Explorer(emb, grid=64)  # 400 stacked rows on 64 cells: block means
    assert not ex.heat_exact
    # with the vectors the page computes exact tiles itself: no exact level is carried
    assert to_html(ex, tmp_path / "with.html", thumb_size=0).levels == [64, 128, 256]
    report = to_html(ex, tmp_path / "lod.html", thumb_size=0, vectors=False)
    _page, payload = parse(report.path)
    assert not report.vectors and "heat_vectors" not in payload["binary"] and payload["state"]["heat_dims"] == 0
    assert report.levels == [64, 128, 256, 400]  # 2**level tiles of 64 cells, until one cell per entry
    S = brute_stacked(emb.image, emb.text)
    for lv, cells in zip(payload["levels"], report.levels[1:]):
        edges = np.frombuffer(base64.b64decode(lv["edges"]), dtype=np.int32)
        pixels = np.frombuffer(base64.b64decode(lv["pixels"]), dtype=np.uint8).reshape(cells, cells)
        assert edges[0] == 0 and edges[-1] == 400 and len(edges) == cells + 1 and np.all(np.diff(edges) >= 1)
        assert 200 in edges  # no cell straddles the image/text border
        means = np.array([[S[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean() for j in range(cells)]
                          for i in range(cells)])
        assert lv["vmin"] <= means.min() + 1e-6 and lv["vmax"] >= means.max() - 1e-6
        assert np.abs(pixels.astype(int) - quantize(means, lv["vmin"], lv["vmax"]).astype(int)).max() <= 1
        assert lv["exact"] == (cells == 400)


def test_over_budget_drops_thumbnails_and_levels_and_says_so(emb, tmp_path):
    ex = Explorer(emb)  # 400 stacked rows drawn exactly: no levels of detail to carry
    full = to_html(ex, tmp_path / "full.html", thumb_size=48)
    assert full.levels == [400] and full.dropped == []
    budget = full.bytes - 20_000  # the last thumbnails (~0.3 kB each) cannot fit any more
    with pytest.warns(UserWarning, match="dropped: .*thumbnails"):
        small = to_html(ex, tmp_path / "small.html", thumb_size=48, max_bytes=budget)
    assert small.bytes <= budget
    assert 0 < small.thumbnails < 200
    assert any(f"thumbnails of {200 - small.thumbnails} of 200 pairs" in d for d in small.dropped)
    _page, payload = parse(small.path)
    assert len(payload["thumbs"]) == small.thumbnails
    assert set(payload["thumbs"]) == {str(p) for p in range(small.thumbnails)}  # the first in draw order
    # a budget the finest level does not fit: coarser levels only, named in the report
    blocks = Explorer(emb, grid=64)
    every = to_html(blocks, tmp_path / "levels.html", thumb_size=0, vectors=False)
    assert every.levels == [64, 128, 256, 400] and every.dropped == []
    tight = every.bytes - len(base64.b64encode(bytes(400 * 400))) // 2
    with pytest.warns(UserWarning, match="levels of detail of 400 cells"):
        coarse = to_html(blocks, tmp_path / "coarse.html", thumb_size=0, max_bytes=tight, vectors=False)
    assert coarse.levels[-1] < 400 and coarse.bytes <= tight
    assert any("levels of detail of" in d for d in coarse.dropped)


def test_a_view_over_the_budget_is_refused_and_nothing_is_written(emb, tmp_path):
    ex = Explorer(emb, grid=64)
    target = tmp_path / "ex.html"
    target.write_text("the old file")
    with pytest.raises(HtmlExportBudgetError, match="over the budget of 0.10 MiB"):
        to_html(ex, target, max_bytes=100_000)
    bare = to_html(Explorer(emb), tmp_path / "bare.html", thumb_size=0).bytes
    (tmp_path / "bare.html").unlink()
    with pytest.raises(HtmlExportBudgetError, match="without dropping: .*thumbnails of"):
        to_html(Explorer(emb), target, max_bytes=bare + 10_000, thumb_size=48, strict=True)
    with pytest.raises(HtmlExportBudgetError, match="max_bytes must be positive"):
        to_html(ex, target, max_bytes=0)
    assert target.read_text() == "the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex.html"]  # no temporary file left


def test_unwritable_paths_say_why(emb, tmp_path):
    ex = Explorer(emb, grid=64)
    with pytest.raises(FileNotFoundError, match="the folder .*missing.* does not exist"):
        to_html(ex, tmp_path / "missing" / "ex.html", thumb_size=0)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(FileNotFoundError, match="plain"):
        to_html(ex, tmp_path / "plain" / "ex.html", thumb_size=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_cli_export_writes_a_file_and_refuses_a_tiny_budget(tmp_path, capsys):
    out = tmp_path / "shapes.html"
    cache = str(tmp_path / "cache")
    assert cli_main(["--cache-dir", cache, "export", str(out), "--n", "40", "--quiet", "--thumb-size", "32"]) == 0
    assert "40 pairs, vectors carried" in capsys.readouterr().out
    _page, payload = parse(out)
    assert payload["state"]["n_total"] == 40 and len(payload["thumbs"]) == 40
    refused = tmp_path / "refused.html"
    assert cli_main(["--cache-dir", cache, "export", str(refused), "--n", "40", "--quiet", "--max-mb", "0.05"]) == 2
    assert "over the budget" in capsys.readouterr().err
    assert not refused.exists()
