"""The analysis package re-exports every module's public names lazily."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import amumo_ng.analysis as analysis


def test_importing_the_package_loads_no_heavy_libraries():
    code = (
        "import sys, amumo_ng.analysis as a; a.cosine_similarity; a.modality_gap; a.cluster_order; "
        "a.cross_modal_order; a.vslerp; a.modality_geometry; "
        "heavy = [m for m in ('torch', 'scipy', 'sklearn', 'umap', 'numba') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_listed_name_resolves_to_its_module():
    for module_name, names in analysis._NAMES.items():
        module = importlib.import_module(f"amumo_ng.analysis.{module_name}")
        for name in names:
            assert getattr(analysis, name) is getattr(module, name)
    assert set(analysis.__all__) <= set(dir(analysis))


def test_losses_and_retrieval_names_are_re_exported():
    import amumo_ng.analysis.losses as losses
    import amumo_ng.analysis.retrieval as retrieval

    for name in losses.__all__:
        assert getattr(analysis, name) is getattr(losses, name)
        assert name in dir(analysis)
    assert analysis.topk_accuracy is retrieval.topk_accuracy
    assert analysis.cross_modal_order.__module__ == "amumo_ng.analysis.cross_modal_ordering"
    assert analysis.slerp_with_norm.__module__ == "amumo_ng.analysis.interpolation"


def test_no_exported_name_is_also_a_submodule_name():
    """A function named like its module (e.g. ``rotation_structure`` in ``rotation_structure.py``)
    would be replaced by the submodule once anything imports the submodule."""
    clashes = set(analysis._NAMES) & set(analysis._MODULE_OF)
    assert not clashes, clashes


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        analysis.not_a_function
