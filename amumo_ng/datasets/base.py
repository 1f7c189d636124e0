"""The interface every image/caption pair dataset implements.

A :class:`PairDataset` is an indexable collection of ``n`` pairs. Images are
rendered or read lazily (``image(i)`` returns a fresh ``PIL.Image.Image``),
captions and metadata are cheap. ``id`` and ``sample_ids`` feed the embedding
cache key, so two datasets with equal ids must yield equal pairs.
"""
from __future__ import annotations

import abc
from typing import Sequence

import pandas as pd
from PIL import Image


class DatasetError(ValueError):
    """Raised for a dataset that cannot be built or read (bad path, bad file, bad n)."""


class PairDataset(abc.ABC):
    """Abstract image/caption pair dataset.

    Subclasses set ``self.id`` (a short stable string) and implement
    ``__len__``, ``caption``, ``image`` and ``meta``.
    """

    #: Stable identifier of the dataset *content* (name plus parameters).
    id: str

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def caption(self, i: int) -> str:
        """Caption of pair ``i`` (0 <= i < n)."""

    @abc.abstractmethod
    def image(self, i: int) -> Image.Image:
        """Image of pair ``i`` as an RGB PIL image (loaded or rendered on demand)."""

    @property
    @abc.abstractmethod
    def meta(self) -> pd.DataFrame:
        """One row per pair; at least the columns ``id`` (str) and ``caption`` (str)."""

    # -- conveniences built on the abstract methods ---------------------------------
    @property
    def captions(self) -> list[str]:
        return self.meta["caption"].astype(str).tolist()

    @property
    def sample_ids(self) -> list[str]:
        return self.meta["id"].astype(str).tolist()

    def images(self, indices: Sequence[int]) -> list[Image.Image]:
        return [self.image(int(i)) for i in indices]

    def _check_index(self, i: int) -> int:
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"pair index {i} out of range for a dataset of {n} pairs")
        return i

    def __getitem__(self, i: int) -> tuple[Image.Image, str]:
        i = self._check_index(i)
        return self.image(i), self.caption(i)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} n={len(self)}>"


class TablePairDataset(PairDataset):
    """Pairs held as one image handle per row (a file path, encoded bytes, ...) plus a metadata table.

    Parameters
    ----------
    dataset_id : str
        Stable id of the content.
    items : sequence, length n
        The image handle of each pair; subclasses turn one into a PIL image in :meth:`image`.
    meta : pandas.DataFrame
        n rows with at least ``id`` (str, unique) and ``caption`` (str).
    """

    def __init__(self, dataset_id: str, items: Sequence, meta: pd.DataFrame):
        if len(items) != len(meta):
            raise DatasetError(f"{len(items)} images for {len(meta)} metadata rows")
        self.id = dataset_id
        self._items = list(items)
        self._meta = meta.reset_index(drop=True)
        self._captions = self._meta["caption"].astype(str).tolist()

    def __len__(self) -> int:
        return len(self._items)

    def caption(self, i: int) -> str:
        return self._captions[self._check_index(i)]

    @property
    def meta(self) -> pd.DataFrame:
        """A copy of the metadata table (n rows; ``id``, ``caption``, ...)."""
        return self._meta.copy()
