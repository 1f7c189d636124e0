"""Lazy package exports: no exported name is also a submodule's name (importing the submodule would
replace the function by the module), and every exported name resolves."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("amumo_ng.analysis", "amumo_ng.datasets", "amumo_ng.decoders", "amumo_ng.widgets")


@pytest.mark.parametrize("name", PACKAGES)
def test_exports_and_submodules_never_share_a_name(name):
    package = importlib.import_module(name)
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    clashes = set(package.__all__) & submodules
    assert not clashes, f"{name} exports {sorted(clashes)} that are also submodules"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_export_resolves(name):
    package = importlib.import_module(name)
    for export in package.__all__:
        assert getattr(package, export) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(package, "nope")
