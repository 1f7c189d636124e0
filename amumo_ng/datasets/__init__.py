"""Image/caption pair datasets and the registry that names them.

``load(name, **kwargs)`` builds a dataset by name (``available()`` lists the names,
``register(name, factory)`` adds one). The loader classes are imported on first use, so
``import amumo_ng.datasets`` reads no file and imports neither ``datasets`` nor any loader.
"""
from __future__ import annotations

from ..lazy import lazy_exports

from .base import DatasetError, PairDataset
from .registry import Registry, available, default_registry, load, register

_LAZY = {
    "FolderDataset": "amumo_ng.datasets.folder",
    "ImageFilePairs": "amumo_ng.datasets.folder",
    "CocoCaptionsDataset": "amumo_ng.datasets.coco",
    "HubPairDataset": "amumo_ng.datasets.hub",
    "load_mscoco": "amumo_ng.datasets.hub",
    "load_diffusiondb": "amumo_ng.datasets.hub",
    "ShapesDataset": "amumo_ng.datasets.shapes",
    **dict.fromkeys(("augment", "augment_image", "AugmentedDataset"), "amumo_ng.datasets.augmentation"),
}

__all__ = sorted(
    ["DatasetError", "PairDataset", "Registry", "available", "default_registry", "load", "register", *_LAZY]
)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
