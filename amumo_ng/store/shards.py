"""The shards of a precompute in progress: ``<key>.partial/`` in the embedding cache.

A dataset of ``n`` pairs is encoded in shards of ``chunk_size`` consecutive pairs (the last one
shorter). Each finished shard is one file, written atomically by whichever engine encoded it
(this process, or the driver of a Ray run)::

    <key>.partial/spec.json                          n, chunk_size, encoder and dataset ids
    <key>.partial/chunk-<start:09d>-<stop:09d>.npz   image, text: raw float32 [stop - start, d]

so an interrupted precompute resumes from its finished shards, with either engine. When every
shard is there, :func:`amumo_ng.store.cache.embed` assembles them into the checksummed entry and
deletes the folder.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..analysis.validation import EmbeddingError, as_pair


@dataclass(frozen=True)
class Shard:
    """Pairs ``start..stop-1`` of the dataset (shard number ``index``) and the file that holds them once done."""

    index: int
    start: int
    stop: int
    path: Path

    @property
    def size(self) -> int:
        return self.stop - self.start


def shard_file(folder: Path, start: int, stop: int) -> Path:
    """The file of the finished shard ``start..stop-1`` in a ``.partial`` folder."""
    return Path(folder) / f"chunk-{start:09d}-{stop:09d}.npz"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


@dataclass
class ShardPlan:
    """The shards of one precompute: which are finished (their arrays loaded) and which remain.

    ``images[i]`` / ``texts[i]`` are the raw float32 [size, d] arrays of shard i, or None while it
    is not done.
    """

    folder: Path
    n: int
    chunk_size: int
    shards: list[Shard]
    images: list[Optional[np.ndarray]] = field(default_factory=list)
    texts: list[Optional[np.ndarray]] = field(default_factory=list)

    def todo(self) -> list[Shard]:
        """The shards still to encode, in dataset order."""
        return [s for s in self.shards if self.images[s.index] is None]

    @property
    def pairs_done(self) -> int:
        return sum(s.size for s in self.shards if self.images[s.index] is not None)

    def save(self, shard: Shard, image: np.ndarray, text: np.ndarray) -> None:
        """Record a finished shard: its file (atomically, the same whichever engine encoded it) and its arrays."""
        image = np.ascontiguousarray(image, dtype=np.float32)
        text = np.ascontiguousarray(text, dtype=np.float32)
        if image.shape != text.shape or image.ndim != 2 or image.shape[0] != shard.size:
            raise EmbeddingError(
                f"shard {shard.start}..{shard.stop - 1} got image {image.shape} and text {text.shape} "
                f"vectors for {shard.size} pairs"
            )
        _atomic_save_npz(shard.path, image=image, text=text)
        self.images[shard.index], self.texts[shard.index] = image, text

    def assembled(self) -> tuple[np.ndarray, np.ndarray]:
        """The image and text arrays of all n pairs, float32 [n, d] each (every shard must be done)."""
        missing = self.todo()
        if missing:
            raise EmbeddingError(f"{len(missing)} shards are not encoded yet (first: pairs {missing[0].start}..)")
        if len({a.shape[1] for a in self.images}) != 1:
            raise EmbeddingError("chunks disagree on the embedding dimension; rerun with recompute=True")
        return np.concatenate(self.images), np.concatenate(self.texts)


def open_shards(folder: Path, n: int, chunk_size: int, spec: dict) -> ShardPlan:
    """Create or reopen the ``.partial`` folder of a precompute of ``n`` pairs and load its finished shards.

    An existing folder for the same ``n`` keeps its ``chunk_size`` (so its shards stay valid);
    unreadable or mis-shaped shard files are deleted and listed as to do. ``spec`` (ids) is
    recorded in ``spec.json`` beside the shards.
    """
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    spec_path = folder / "spec.json"
    if spec_path.is_file():
        try:
            old = json.loads(spec_path.read_text())
            if old.get("n") == n:
                chunk_size = int(old["chunk_size"])
        except (ValueError, KeyError, OSError):
            pass
    atomic_write_bytes(spec_path, json.dumps({**spec, "n": n, "chunk_size": chunk_size}).encode())
    shards = [Shard(i, start, min(start + chunk_size, n), shard_file(folder, start, min(start + chunk_size, n)))
              for i, start in enumerate(range(0, n, chunk_size))]
    plan = ShardPlan(folder, n, chunk_size, shards, [None] * len(shards), [None] * len(shards))
    for shard in shards:
        if not shard.path.is_file():
            continue
        try:
            with np.load(shard.path) as z:
                img, txt = z["image"], z["text"]
            if img.shape == txt.shape and img.ndim == 2 and img.shape[0] == shard.size:
                plan.images[shard.index], plan.texts[shard.index] = img, txt
                continue
        except Exception:
            pass
        shard.path.unlink(missing_ok=True)
    return plan


def encode_shard(dataset, encoder, start: int, stop: int, captions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Encode pairs ``start..stop-1``: raw float32 image and text vectors [stop - start, d], checked."""
    images = dataset.images(range(start, stop))
    img = encoder.encode_images(images)
    txt = encoder.encode_texts(captions[start:stop])
    try:
        img, txt = as_pair(img, txt, min_rows=stop - start)
    except EmbeddingError as exc:
        raise EmbeddingError(f"{encoder.id} produced bad embeddings for pairs {start}..{stop - 1}: {exc}") from exc
    if img.shape[0] != stop - start:
        raise EmbeddingError(f"{encoder.id} returned {img.shape[0]} vectors for {stop - start} inputs")
    return img, txt
