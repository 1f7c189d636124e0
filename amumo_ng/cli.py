"""The ``amumo-ng`` command line: precompute embeddings, list the cache, warm up UMAP, start the demo."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

DEMO_NOTEBOOK = "quickstart.ipynb"
DEFAULT_DEMO = {"dataset": "shapes", "models": ("toy-clip", "toy-cyclip", "toy-cloob"), "n": 500}  # as notebooks/quickstart.ipynb


def _cmd_precompute(args) -> int:
    from .store.cache import embed

    kwargs = {}
    if args.n is not None:
        kwargs["n"] = args.n
    if args.seed is not None:
        kwargs["seed"] = args.seed
    for opt in args.option or []:
        key, sep, value = opt.partition("=")
        if not sep:
            raise SystemExit(f"--option expects KEY=VALUE, got {opt!r}")
        kwargs[key] = value
    if args.engine == "local" and (args.address is not None or args.actors is not None):
        raise SystemExit("--address and --actors need --engine ray")
    emb = embed(args.dataset, args.model, cache_dir=args.cache_dir, progress=not args.quiet,
                recompute=args.recompute, engine=args.engine, address=args.address, actors=args.actors, **kwargs)
    print(f"{emb.n} pairs x {emb.dim} dims  model={emb.model_id}  dataset={emb.dataset_id}  "
          f"logit_scale={emb.logit_scale:.3g}")
    return 0


def _cmd_info(args) -> int:
    from .store.cache import EmbeddingCache

    cache = EmbeddingCache(args.cache_dir)
    entries = cache.entries()
    if args.json:
        print(json.dumps([{"key": e.key, **{k: e.manifest.get(k) for k in ("model_id", "dataset_id", "n", "dim")}}
                          for e in entries], indent=2))
        return 0
    print(f"cache: {cache.root}  ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'})")
    for e in entries:
        m = e.manifest
        size = sum(f["bytes"] for f in m.get("files", {}).values()) / 2**20
        print(f"  {e.key[:12]}  {m.get('model_id')}  {m.get('dataset_id')}  n={m.get('n')} d={m.get('dim')}  {size:.1f} MiB")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_notebook(name: str = DEMO_NOTEBOOK) -> Path:
    """The demo notebook: ``notebooks/<name>`` of a source checkout, else the copy installed with the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks" / name, here / "notebooks" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"cannot find the demo notebook {name}")


def _warm_up() -> None:
    from .analysis.projection import numba_cache_dir, warm_up_umap

    print("compiling UMAP (numba, once per machine)...", flush=True)
    seconds = warm_up_umap()
    print(f"UMAP ready in {seconds:.1f} s (numba cache: {numba_cache_dir()})", flush=True)


def _cmd_warmup(args) -> int:
    _warm_up()
    return 0


def _cmd_demo(args) -> int:
    from .store.cache import embed

    for model in DEFAULT_DEMO["models"]:
        emb = embed(DEFAULT_DEMO["dataset"], model, cache_dir=args.cache_dir, n=DEFAULT_DEMO["n"])
        print(f"ready: {model} on {emb.dataset_id} ({emb.n} pairs)")
    if not (args.dry_run or args.no_warmup):  # before JupyterLab: the notebook's first UMAP is then fast
        try:
            _warm_up()
        except Exception as exc:  # the demo works without it, only the first UMAP is slower
            print(f"UMAP warm-up failed ({type(exc).__name__}: {exc}); continuing", file=sys.stderr)
    notebook = find_notebook()
    port = args.port or _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", f"--ServerApp.root_dir={notebook.parent}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    token = args.token or os.urandom(12).hex()
    cmd.append(f"--IdentityProvider.token={token}")
    url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={token}"
    print(f"Starting JupyterLab: open {url}", flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    if shutil.which("jupyter") is None and not _has_module("jupyterlab"):
        raise SystemExit("JupyterLab is not installed: pip install 'amumo-ng[demo]'")
    return subprocess.call(cmd)


def _cmd_export(args) -> int:
    from .store.cache import embed
    from .widgets import Explorer
    from .widgets.export_html import HtmlExportBudgetError

    kwargs = {"n": args.n} if args.n is not None else {}
    data = {m: embed(args.dataset, m, cache_dir=args.cache_dir, progress=not args.quiet, **kwargs) for m in args.model}
    state = {k: v for k, v in (("projection", args.projection), ("filter_pattern", args.filter)) if v}
    if args.cluster:
        state["cluster"] = True
    explorer = Explorer(data if len(data) > 1 else next(iter(data.values())), title=args.title or "", **state)
    try:
        report = explorer.to_html(args.output, max_bytes=int(args.max_mb * 2**20), thumb_size=args.thumb_size,
                                  strict=args.strict, vectors=not args.no_vectors)
    except (HtmlExportBudgetError, PermissionError) as exc:
        print(f"amumo-ng: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {report}")
    return 0


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amumo-ng", description="Explore CLIP-like embedding spaces.")
    parser.add_argument("--cache-dir", default=None, help="cache root (default $AMUMO_NG_CACHE or ~/.cache/amumo_ng)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("precompute", help="encode a dataset with a model and cache the raw embeddings")
    p.add_argument("--dataset", default="shapes", help="dataset name (shapes, folder, coco, mscoco, diffusiondb)")
    p.add_argument("--model", default="toy-clip", help="model name (toy-clip, ViT-B-32/openai, cyclip:/path ...)")
    p.add_argument("--n", type=int, default=None, help="number of pairs (datasets that take n)")
    p.add_argument("--seed", type=int, default=None, help="dataset seed (shapes)")
    p.add_argument("--option", action="append", help="extra dataset option KEY=VALUE (e.g. path=..., captions=...)")
    p.add_argument("--recompute", action="store_true", help="ignore an existing cache entry")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="encode in this process (local) or on a Ray cluster (ray; pip install 'amumo-ng[ray]')")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (HOST:PORT, ray://HOST:PORT, auto); default: start a local Ray cluster")
    p.add_argument("--actors", type=int, default=None,
                   help="Ray encoder actors (default: one per GPU of the cluster, else one per CPU)")
    p.set_defaults(func=_cmd_precompute)

    p = sub.add_parser("info", help="list what is cached")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("demo", help="precompute the embedded default and open the explorer notebook in JupyterLab")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--token", default=None)
    p.add_argument("--dry-run", action="store_true",
                   help="precompute and print the JupyterLab command, do not warm up UMAP or start JupyterLab")
    p.add_argument("--no-warmup", action="store_true", help="do not compile UMAP before starting JupyterLab")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("export", help="write an Explorer as one self-contained HTML file (offline, no kernel)")
    p.add_argument("output", help="path of the .html file")
    p.add_argument("--dataset", default="shapes", help="dataset name (as precompute)")
    p.add_argument("--model", action="append", default=None,
                   help="model name; repeat for a model dropdown (default toy-clip)")
    p.add_argument("--n", type=int, default=None, help="number of pairs (datasets that take n)")
    p.add_argument("--title", default=None)
    p.add_argument("--projection", default=None, help="scatter projection (pca, umap, ...)")
    p.add_argument("--filter", default=None, help="caption filter of the exported view")
    p.add_argument("--cluster", action="store_true", help="export the clustered heatmap order")
    p.add_argument("--max-mb", type=float, default=64.0, help="size budget of the file in MiB (default 64)")
    p.add_argument("--thumb-size", type=int, default=96, help="longest side of the carried thumbnails, px (0: none)")
    p.add_argument("--strict", action="store_true", help="refuse instead of dropping what does not fit the budget")
    p.add_argument("--no-vectors", action="store_true",
                   help="carry no embedding vectors (pixels only: hover values of block means then need the kernel)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("warmup", help="compile UMAP's numba code once, cached on disk for every later process")
    p.set_defaults(func=_cmd_warmup)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "export" and not args.model:
        args.model = ["toy-clip"]
    from .analysis.validation import EmbeddingError
    from .datasets.base import DatasetError
    from .models.base import ModelError
    from .store.cache import CacheError
    from .store.engines import EngineError

    try:
        return int(args.func(args) or 0)
    except (DatasetError, ModelError, CacheError, EmbeddingError, EngineError, FileNotFoundError) as exc:
        print(f"amumo-ng: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
