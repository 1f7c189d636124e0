"""Amumo's comparer on the shipped toy models: CLIP vs CyCLIP on the same shapes pairs.

``%run examples/compare_toy_models.py`` in a notebook, then display ``comparison``.
Hovering a pair in one side highlights the same pair in the other.
"""
from __future__ import annotations

import amumo_ng
from amumo_ng.widgets import Comparison

ds = amumo_ng.datasets.load("shapes", n=500)
clip = amumo_ng.embed(ds, amumo_ng.models.load("toy-clip"))
cyclip = amumo_ng.embed(ds, amumo_ng.models.load("toy-cyclip"))
comparison = Comparison({"toy-clip": clip, "toy-cyclip": cyclip}, cluster=True)

if __name__ == "__main__":
    for side in (comparison.left, comparison.right):
        r = side.gap_readout
        print(f"{side.title}: gap {r['distance_before']:.3f} -> {r['distance_after']:.3f} when closed")
