"""The amumo-ng command line, run in-process and as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import torch

from amumo_ng.cli import main
from amumo_ng.store.cache import EmbeddingCache


def test_precompute_then_info(micro_model, micro_arch, tmp_path, capsys, isolated_cache):
    ckpt = tmp_path / "micro.pt"
    torch.save(micro_model[0].state_dict(), ckpt)
    rc = main(["precompute", "--dataset", "shapes", "--model", f"{micro_arch}:{ckpt}", "--n", "6", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "6 pairs x 32 dims" in out
    entries = EmbeddingCache(isolated_cache).entries()
    assert len(entries) == 1 and entries[0].manifest["n"] == 6
    assert main(["info", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["n"] == 6 and listed[0]["dim"] == 32 and listed[0]["model_id"].startswith("open_clip:")


def test_errors_are_reported_not_raised(capsys):
    assert main(["precompute", "--dataset", "shapez", "--model", "toy-clip", "--n", "3"]) == 2
    err = capsys.readouterr().err
    assert "shapez" in err and "shapes" in err  # suggests the close name
    assert main(["precompute", "--dataset", "shapes", "--model", "ViT-B32/openai", "--n", "3"]) == 2
    assert "did you mean 'ViT-B-32/openai'" in capsys.readouterr().err
    assert main(["precompute", "--dataset", "shapes", "--model", "toy-clip", "--n", "0"]) == 2
    assert "error" in capsys.readouterr().err


def test_console_script_is_installed_and_lists_empty_cache(isolated_cache):
    exe = os.path.join(os.path.dirname(sys.executable), "amumo-ng")
    res = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "AMUMO_NG_CACHE": str(isolated_cache)})
    assert res.returncode == 0, res.stderr
    assert str(isolated_cache) in res.stdout and "0 entries" in res.stdout


def test_demo_dry_run_precomputes_what_the_notebook_uses(capsys, isolated_cache):
    import json as _json

    from amumo_ng.cli import DEFAULT_DEMO, find_notebook

    assert main(["demo", "--dry-run", "--port", "8899", "--token", "t0k"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8899/lab/tree/quickstart.ipynb?token=t0k" in out
    assert "--ServerApp.ip=127.0.0.1" in out
    manifests = {e.manifest["model_id"]: e.manifest for e in EmbeddingCache(isolated_cache).entries()}
    assert len(manifests) == len(DEFAULT_DEMO["models"])
    assert {m["n"] for m in manifests.values()} == {DEFAULT_DEMO["n"]}
    source = "".join("".join(c["source"]) for c in _json.loads(find_notebook().read_text())["cells"])
    assert f'load("shapes", n={DEFAULT_DEMO["n"]})' in source
