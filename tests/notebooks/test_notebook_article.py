"""notebooks/amumo_article.ipynb runs offline, and the figures it prints are recomputed here by brute force.

The notebook prints every number it reports as one JSON line (``ARTICLE_FIGURES=``); this test
recomputes them from the same embeddings with numpy and scipy (whole logit matrices, the closed gap
written out, the full difference matrix) and checks the claims the notebook states."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

from test_notebooks_execute import run_offline

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "amumo_article.ipynb"
MODELS = ("toy-clip", "toy-cyclip", "toy-cloob")


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def symmetric(img, txt, s):
    logits = s * img @ txt.T
    pos = np.diag(logits)
    return 0.5 * ((logsumexp(logits, axis=1) - pos).mean() + (logsumexp(logits, axis=0) - pos).mean())


def compat(img, txt, s):
    out = []
    for b in range(0, len(img) - 49, 50):
        logits = s * img[b:b + 50] @ txt[b:b + 50].T
        out.append(np.mean(logsumexp(logits, axis=1) - np.diag(logits)))
    return float(np.mean(out))


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    try:
        nb = run_offline(NOTEBOOK, tmp_path_factory.mktemp("article"), monkeypatch)
    finally:
        monkeypatch.undo()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.output_type == "stream")
    found = re.search(r"ARTICLE_FIGURES=(\{.*\})", text)
    assert found, "the notebook printed no figures"
    assert "skipped (offline)" in text  # the online section is marked and skipped here
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def data():
    import amumo_ng

    ds = amumo_ng.datasets.load("shapes", n=1000, seed=0)
    return ds.meta, {name: amumo_ng.embed(ds, name, progress=False) for name in MODELS}


@pytest.mark.slow
def test_gap_table_equals_brute_force(figures, data):
    _, models = data
    for name, emb in models.items():
        got = figures["gap"][name]
        i_u, t_u = unit(emb.image), unit(emb.text)
        gap = i_u.mean(0) - t_u.mean(0)
        ci, ct = unit(i_u - gap / 2), unit(t_u + gap / 2)
        s = float(emb.logit_scale)
        assert got["n"] == 1000
        assert got["distance_before"] == pytest.approx(np.linalg.norm(gap), abs=1e-6)
        assert got["distance_after"] == pytest.approx(np.linalg.norm(ci.mean(0) - ct.mean(0)), abs=1e-5)
        assert got["loss_before"] == pytest.approx(symmetric(i_u, t_u, s), rel=1e-4)
        assert got["loss_after"] == pytest.approx(symmetric(ci, ct, s), rel=1e-4)
        assert got["loss_compat_before"] == pytest.approx(compat(i_u, t_u, s), rel=1e-4)
        assert got["loss_compat_after"] == pytest.approx(compat(ci, ct, s), rel=1e-4)
    dist = {name: figures["gap"][name]["distance_before"] for name in MODELS}
    assert min(dist, key=dist.get) == "toy-cloob"  # the notebook's "CLOOB's smaller gap"


@pytest.mark.slow
def test_difference_and_outlier_figures_equal_brute_force(figures, data):
    meta, models = data
    for name, emb in models.items():
        i_u, t_u = unit(emb.image), unit(emb.text)
        d = i_u @ i_u.T - t_u @ t_u.T
        off = np.abs(d[~np.eye(len(d), dtype=bool)])
        assert figures["difference"][name]["mean_abs"] == pytest.approx(off.mean(), abs=1e-5)
        assert figures["difference"][name]["max_abs"] == pytest.approx(off.max(), abs=1e-4)
        best = figures["precision_at_50"][name]["best possible"]
        for kind, value in best.items():
            assert value == pytest.approx(min(50, int((meta["anomaly"] == kind).sum())) / 50)
        # low pair cosine: the 50 pairs of lowest cos(image, text), counted by hand
        cos = np.einsum("ij,ij->i", i_u, t_u)
        lowest = np.argsort(cos, kind="stable")[:50]
        share = np.mean(meta["anomaly"].to_numpy()[lowest] == "mismatched_caption")
        assert figures["precision_at_50"][name]["pair-cosine"]["mismatched_caption"] == pytest.approx(share)
    assert figures["difference"]["toy-cyclip"]["mean_abs"] < figures["difference"]["toy-clip"]["mean_abs"]


@pytest.mark.slow
def test_cluster_and_projection_figures_are_consistent(figures, data):
    meta, _ = data
    clusters = figures["clusters"]
    assert clusters["k"] == int(meta["caption"].str.contains("heart", case=False).sum())
    assert 2 <= clusters["n_clusters"] <= 10 and len(clusters["names"]) == clusters["n_clusters"]
    assert all("heart" in name for name in clusters["names"])
    for key, share in figures["same_cluster"].items():
        assert (share is None) == key.endswith("joint")
        assert share is None or 0.0 <= share <= 1.0
    for name in MODELS:
        curve = figures["gap_shift"][name]
        assert curve["loss_at_0"] == pytest.approx(figures["gap"][name]["loss_before"], rel=1e-6)
        assert curve["best_loss"] <= curve["loss_at_0"]
