"""Location and loading of the esbuild-built JS bundles (``amumo_ng/widgets/static/``).

The bundles are build outputs (``npm run build`` in ``amumo_ng/widgets/js``, run by the
hatch build hook on ``pip install -e .`` and on wheel builds); nothing is fetched from a CDN.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
JS_DIR = Path(__file__).with_name("js")


class BundleMissingError(RuntimeError):
    """The JS bundle of a widget has not been built."""


def bundle_path(name: str) -> Path:
    """Path of the built ESM bundle ``static/<name>.js`` (may not exist yet)."""
    return STATIC_DIR / f"{name}.js"


@lru_cache(maxsize=16)
def _read(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def bundle_source(name: str) -> str:
    """Text of the built bundle ``name``; a clear error naming the build command when missing."""
    path = bundle_path(name)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise BundleMissingError(
            f"the widget bundle {path} is missing; build it with "
            f"`npm --prefix {JS_DIR} ci && npm --prefix {JS_DIR} run build` "
            "(or reinstall amumo-ng with `pip install -e .`)"
        ) from None
    return _read(str(path), mtime)
