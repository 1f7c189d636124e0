"""The :class:`Embeddings` container: raw image and text vectors of n aligned pairs.

Raw vectors are kept as produced by the encoder (float32 [n, d], possibly
memory-mapped from the cache); normalised vectors are derived on demand.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from ..analysis.validation import EmbeddingError, as_pair, l2_normalize

ImageSource = Callable[[int], Image.Image]


@dataclass(frozen=True, eq=False)
class Embeddings:
    """Image and text embeddings of ``n`` aligned pairs.

    Attributes
    ----------
    image, text : np.ndarray
        float32 [n, d], raw (before L2 normalisation) unless ``is_normalized``.
    meta : pd.DataFrame
        n rows, at least the columns ``id`` and ``caption``.
    logit_scale : float
        The model's multiplicative temperature (e.g. 100 for CLIP).
    model_id, dataset_id : str
        Where the vectors came from (cache key parts; shown in figure titles).
    image_source : callable or None
        ``image_source(i) -> PIL.Image`` for pair i (thumbnails, hover); None when unknown.
    is_normalized : bool
        True when the rows are unit vectors (from :meth:`normalized`).
    encoder : Encoder or None
        The encoder that made the vectors (set by :func:`~amumo_ng.store.embed`), so views can
        encode more inputs with the same model (augmented images, typed prompts); None for
        precomputed arrays.
    """

    image: np.ndarray
    text: np.ndarray
    meta: pd.DataFrame
    logit_scale: float = 100.0
    model_id: str = "arrays"
    dataset_id: str = "arrays"
    image_source: Optional[ImageSource] = field(default=None, repr=False)
    is_normalized: bool = False
    encoder: Optional[Any] = field(default=None, repr=False, compare=False)
    #: Skip the NaN/inf/zero-row scan (only for arrays already verified, e.g. a checksummed cache entry).
    trusted: InitVar[bool] = False

    def __post_init__(self, trusted: bool = False):
        if trusted:
            if self.image.ndim != 2 or self.image.shape != self.text.shape:
                raise EmbeddingError(f"image {self.image.shape} and text {self.text.shape} must be equal [n, d]")
        else:
            img, txt = as_pair(self.image, self.text, min_rows=1)
            object.__setattr__(self, "image", img)
            object.__setattr__(self, "text", txt)
        meta = self.meta
        if not isinstance(meta, pd.DataFrame):
            raise EmbeddingError("meta must be a pandas DataFrame")
        if len(meta) != self.image.shape[0]:
            raise EmbeddingError(f"meta has {len(meta)} rows but there are {self.image.shape[0]} pairs")
        for col in ("id", "caption"):
            if col not in meta.columns:
                raise EmbeddingError(f"meta lacks the column {col!r}")
        if not np.isfinite(self.logit_scale) or self.logit_scale <= 0:
            raise EmbeddingError(f"logit_scale must be a positive finite number, got {self.logit_scale}")

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        image,
        text,
        captions: Optional[Sequence[str]] = None,
        images: Any = None,
        *,
        meta: Optional[pd.DataFrame] = None,
        ids: Optional[Sequence[str]] = None,
        logit_scale: float = 100.0,
        model_id: str = "arrays",
        dataset_id: str = "arrays",
        encoder: Any = None,
    ) -> "Embeddings":
        """Wrap precomputed vectors.

        Parameters
        ----------
        image, text : array-like [n, d]
            Raw or normalised vectors, row i of each belonging to pair i.
        captions : sequence of n str, optional
            Defaults to ``"pair {i}"``.
        images : optional
            A sequence of n PIL images or file paths, a callable ``i -> PIL.Image``,
            or a :class:`~amumo_ng.datasets.base.PairDataset`.
        encoder : optional
            The encoder that made the vectors (any object :func:`~amumo_ng.models.as_encoder`
            accepts), for views that encode more inputs (augmentations, prompts).
        """
        img, txt = as_pair(image, text, min_rows=1)
        n = img.shape[0]
        if meta is None:
            meta = pd.DataFrame({"id": list(ids) if ids is not None else [str(i) for i in range(n)]})
        else:
            meta = meta.reset_index(drop=True).copy()
            if "id" not in meta.columns:
                meta.insert(0, "id", [str(i) for i in range(len(meta))])
        if captions is not None:
            captions = [str(c) for c in captions]
            if len(captions) != n:
                raise EmbeddingError(f"{len(captions)} captions for {n} pairs")
            meta["caption"] = captions
        elif "caption" not in meta.columns:
            meta["caption"] = [f"pair {i}" for i in range(n)]
        return cls(
            image=img,
            text=txt,
            meta=meta,
            logit_scale=float(logit_scale),
            model_id=model_id,
            dataset_id=dataset_id,
            image_source=_as_image_source(images, n),
            encoder=None if encoder is None else _as_encoder(encoder),
        )

    @classmethod
    def from_clip_retrieval(cls, folder, **options) -> "Embeddings":
        """The pairs of a ``clip-retrieval inference`` output folder (``img_emb/``, ``text_emb/``,
        ``metadata/``): memory-mapped shards, metadata joined, caption and image columns found or named
        (``caption_column=``, ``image_column=``, ``image_root=``). See
        :func:`amumo_ng.store.clip_retrieval.read_clip_retrieval`."""
        from .clip_retrieval import read_clip_retrieval

        return read_clip_retrieval(folder, **options)

    def to_clip_retrieval(self, folder, **options):
        """Write these pairs in clip-retrieval's layout (unit vectors, float16 by default); returns the
        folder. See :func:`amumo_ng.store.clip_retrieval.write_clip_retrieval`."""
        from .clip_retrieval import write_clip_retrieval

        return write_clip_retrieval(self, folder, **options)

    # -- views -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.image.shape[0]

    @property
    def n(self) -> int:
        return self.image.shape[0]

    @property
    def dim(self) -> int:
        return self.image.shape[1]

    @property
    def captions(self) -> list[str]:
        return self.meta["caption"].astype(str).tolist()

    @property
    def ids(self) -> list[str]:
        return self.meta["id"].astype(str).tolist()

    def normalized(self) -> "Embeddings":
        """The same pairs with unit-norm rows (float32 copies)."""
        if self.is_normalized:
            return self
        return replace(self, image=l2_normalize(self.image), text=l2_normalize(self.text), is_normalized=True)

    def subset(self, indices) -> "Embeddings":
        """The pairs at ``indices`` (an int array or boolean mask), in that order."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        if idx.size == 0:
            raise EmbeddingError("a subset needs at least one pair")
        source = self.image_source
        sub_source = None if source is None else (lambda i, _s=source, _idx=idx: _s(int(_idx[i])))
        return replace(
            self,
            image=np.ascontiguousarray(self.image[idx]),
            text=np.ascontiguousarray(self.text[idx]),
            meta=self.meta.iloc[idx].reset_index(drop=True),
            image_source=sub_source,
        )

    def get_image(self, i: int) -> Optional[Image.Image]:
        """Image of pair ``i`` or None when the embeddings carry no image source."""
        if self.image_source is None:
            return None
        return self.image_source(int(i))

    def __repr__(self) -> str:
        kind = "normalised" if self.is_normalized else "raw"
        return (
            f"<Embeddings n={self.n} d={self.dim} {kind} model={self.model_id!r} "
            f"dataset={self.dataset_id!r} logit_scale={self.logit_scale:g}>"
        )


def _as_encoder(encoder: Any):
    from ..models import as_encoder

    return as_encoder(encoder)


def _as_image_source(images: Any, n: int) -> Optional[ImageSource]:
    """Turn the ``images`` argument of :meth:`Embeddings.from_arrays` into ``i -> PIL.Image``."""
    if images is None:
        return None
    if callable(images) and not hasattr(images, "__len__"):
        return images
    if hasattr(images, "image") and hasattr(images, "__len__"):  # a PairDataset
        if len(images) != n:
            raise EmbeddingError(f"the image dataset has {len(images)} pairs but there are {n} embeddings")
        return images.image
    items = list(images)
    if len(items) != n:
        raise EmbeddingError(f"{len(items)} images for {n} pairs")

    def source(i: int) -> Image.Image:
        item = items[i]
        if isinstance(item, Image.Image):
            return item
        return Image.open(item).convert("RGB")

    return source
