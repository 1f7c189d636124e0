"""Lazy package exports: public names that live in submodules, imported on first use.

A package calls ``__getattr__, __dir__ = lazy_exports(__name__, {name: module}, globals())`` so
that ``import amumo_ng.analysis`` (say) loads none of scipy, torch or umap until a name that needs
them is used.
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_exports(package: str, module_of: Mapping[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """(``__getattr__``, ``__dir__``) for ``package``: name -> its module (relative to the package,
    or absolute when it starts with "amumo_ng."). A resolved name is stored in ``namespace`` (the
    package's globals), so it is imported once."""

    def __getattr__(name: str):
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path = module if module.startswith("amumo_ng.") else f"{package}.{module}"
        value = getattr(importlib.import_module(path), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(module_of) | set(namespace))

    return __getattr__, __dir__
