"""The on-disk embedding cache and :func:`embed`, the precompute entry point.

Layout under the cache root (``$AMUMO_NG_CACHE``, else ``~/.cache/amumo_ng``)::

    <key>/manifest.json   ids, shapes, logit scale, checksum + byte size of every file, versions
    <key>/image.npy       raw float32 [n, d], memory-mapped on load
    <key>/text.npy        raw float32 [n, d]
    <key>/meta.parquet    one row per pair (id, caption, attributes ...)
    <key>.partial/        finished shards of an interrupted precompute (resumed on the next call,
                          by either engine; see :mod:`amumo_ng.store.shards`)

``key`` is a sha256 over the encoder id (weights fingerprint included), the preprocessing id,
the dataset id and the sample ids. Every file is written to a temporary name and renamed, and a
finished entry is a directory renamed into place in one step, so a killed process never leaves a
half-written entry. Loads verify sizes and checksums; a damaged entry is reported, deleted and
recomputed, never used.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from .. import __version__
from ..analysis.validation import EmbeddingError
from .embeddings import Embeddings
from .shards import atomic_write_bytes, open_shards

CACHE_ENV = "AMUMO_NG_CACHE"
FORMAT_VERSION = 1
_ARRAYS = ("image.npy", "text.npy")


class CacheError(RuntimeError):
    """Raised when the cache directory cannot be used (not writable, not a directory)."""


class CorruptEntryError(CacheError):
    """A cache entry failed verification (missing file, wrong size, wrong checksum, bad manifest)."""


def default_cache_dir() -> Path:
    """``$AMUMO_NG_CACHE`` if set, else ``~/.cache/amumo_ng``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "amumo_ng"


CHECKSUM = "sum64+xor64"


def file_checksum(path: Path, words_per_block: int = 1 << 23) -> str:
    """Checksum of a file's bytes: wrapping 64-bit sum and xor of its 8-byte words, plus the tail bytes.

    Any change of a single word changes the sum, and the size is checked separately, so flipped,
    zeroed or truncated data are detected. Computed with numpy over a memory map at memory speed
    (about 3x faster than zlib.crc32 here), cheap enough to verify every load of a large entry.
    """
    data = np.memmap(path, dtype=np.uint8, mode="r") if Path(path).stat().st_size else np.zeros(0, np.uint8)
    n_words = data.size // 8
    words = data[: n_words * 8].view(np.uint64)
    total, xor = 0, 0
    for start in range(0, n_words, words_per_block):
        block = words[start : start + words_per_block]
        total = (total + int(block.sum(dtype=np.uint64))) & 0xFFFFFFFFFFFFFFFF
        xor ^= int(np.bitwise_xor.reduce(block))
    tail = bytes(data[n_words * 8 :]).hex()
    return f"{total:016x}{xor:016x}{tail}"


@dataclass(frozen=True)
class CacheEntry:
    """One finished cache entry: its key, folder and manifest (a dict, see the module docstring)."""

    key: str
    path: Path
    manifest: dict


class EmbeddingCache:
    """A folder of cached embeddings, one sub-folder per cache key.

    Parameters
    ----------
    root : path, optional
        The cache folder; default :func:`default_cache_dir`.
    """

    def __init__(self, root: Optional[str | os.PathLike] = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    # -- keys ------------------------------------------------------------------------
    @staticmethod
    def key_for(encoder_key: str, dataset_id: str, sample_ids: list[str]) -> str:
        """sha256 hex key over the encoder key (id + preprocessing), dataset id and sample ids."""
        samples = hashlib.sha256("\n".join(sample_ids).encode("utf-8")).hexdigest()
        payload = json.dumps(
            {"format": FORMAT_VERSION, "encoder": encoder_key, "dataset": dataset_id, "samples": samples},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def entry_path(self, key: str) -> Path:
        return self.root / key

    def partial_path(self, key: str) -> Path:
        return self.root / f"{key}.partial"

    def ensure_writable(self) -> None:
        """Create the root if needed and prove a file can be written there, else raise :class:`CacheError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not self.root.is_dir():
                raise CacheError(f"cache path {self.root} is not a directory")
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except CacheError:
            raise
        except OSError as exc:
            raise CacheError(
                f"cache directory {self.root} is not writable ({exc.strerror or exc}); pass cache_dir=... "
                f"or set ${CACHE_ENV} to a writable folder"
            ) from exc

    # -- reading ---------------------------------------------------------------------
    def entries(self) -> list[CacheEntry]:
        """Finished entries with a readable manifest (not verified; see :meth:`verify`)."""
        found = []
        if not self.root.is_dir():
            return found
        for child in sorted(self.root.iterdir()):
            manifest_path = child / "manifest.json"
            if child.is_dir() and manifest_path.is_file():
                try:
                    found.append(CacheEntry(child.name, child, json.loads(manifest_path.read_text())))
                except (OSError, ValueError):
                    continue
        return found

    def verify(self, key: str) -> dict:
        """Check an entry's files against its manifest; return the manifest or raise :class:`CorruptEntryError`."""
        path = self.entry_path(key)
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise CorruptEntryError(f"{path}: unreadable manifest ({exc})") from exc
        if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
            raise CorruptEntryError(f"{path}: manifest of another format or key")
        for name, info in manifest.get("files", {}).items():
            file = path / name
            if not file.is_file():
                raise CorruptEntryError(f"{file} is missing")
            size = file.stat().st_size
            if size != info["bytes"]:
                raise CorruptEntryError(f"{file} has {size} bytes, expected {info['bytes']} (truncated?)")
            if file_checksum(file) != info["checksum"]:
                raise CorruptEntryError(f"{file} fails its checksum (corrupted)")
        return manifest

    def load(self, key: str, image_source=None, encoder=None) -> Optional[Embeddings]:
        """The verified entry as :class:`Embeddings` (arrays memory-mapped), or None when absent;
        ``image_source`` and ``encoder`` are attached to it.

        A damaged entry is deleted with a warning and None is returned, so the caller recomputes it.
        """
        path = self.entry_path(key)
        if not (path / "manifest.json").exists() and not path.exists():
            return None
        try:
            manifest = self.verify(key)
            image = np.load(path / "image.npy", mmap_mode="r")
            text = np.load(path / "text.npy", mmap_mode="r")
            meta = pd.read_parquet(path / "meta.parquet")
            if image.shape != (manifest["n"], manifest["dim"]) or text.shape != image.shape:
                raise CorruptEntryError(f"{path}: array shapes {image.shape}/{text.shape} disagree with the manifest")
        except (CorruptEntryError, FileNotFoundError, ValueError, OSError) as exc:
            warnings.warn(f"discarding damaged cache entry {path}: {exc}; it will be recomputed", RuntimeWarning)
            self.remove(key)
            return None
        return Embeddings(
            image=image,
            text=text,
            meta=meta,
            logit_scale=float(manifest["logit_scale"]),
            model_id=manifest["model_id"],
            dataset_id=manifest["dataset_id"],
            image_source=image_source,
            encoder=encoder,
            trusted=True,
        )

    # -- writing ---------------------------------------------------------------------
    def write(self, key: str, image: np.ndarray, text: np.ndarray, meta: pd.DataFrame, info: dict) -> Path:
        """Write a finished entry atomically (temp folder, then one rename) and return its folder."""
        self.ensure_writable()
        final = self.entry_path(key)
        tmp = self.root / f".tmp-{key}-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            files = {}
            for name, arr in zip(_ARRAYS, (image, text)):
                np.save(tmp / name, np.ascontiguousarray(arr, dtype=np.float32))
            meta.reset_index(drop=True).to_parquet(tmp / "meta.parquet", index=False)
            for name in (*_ARRAYS, "meta.parquet"):
                files[name] = {"bytes": (tmp / name).stat().st_size, "checksum": file_checksum(tmp / name)}
            manifest = {
                "format": FORMAT_VERSION,
                "key": key,
                "n": int(image.shape[0]),
                "dim": int(image.shape[1]),
                "dtype": "float32",
                "raw": True,
                "checksum": CHECKSUM,
                "files": files,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "amumo_ng": __version__,
                **info,
            }
            atomic_write_bytes(tmp / "manifest.json", json.dumps(manifest, indent=2).encode())
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def remove(self, key: str) -> None:
        shutil.rmtree(self.entry_path(key), ignore_errors=True)


def _resolve(dataset: Any, encoder: Any, dataset_kwargs: dict):
    from ..datasets.base import PairDataset
    from ..models.base import Encoder
    from ..models.function_encoder import as_encoder

    if isinstance(dataset, str):
        from ..datasets import load as load_dataset

        dataset = load_dataset(dataset, **dataset_kwargs)
    elif dataset_kwargs:
        raise TypeError(f"dataset options {sorted(dataset_kwargs)} only apply to a dataset given by name")
    if not isinstance(dataset, PairDataset):
        raise TypeError(f"expected a PairDataset or a dataset name, got {type(dataset).__name__}")
    if isinstance(encoder, str):
        from ..models import load as load_model

        encoder = load_model(encoder)
    elif not isinstance(encoder, Encoder):
        encoder = as_encoder(encoder)
    return dataset, encoder


def embed(
    dataset: Any,
    encoder: Any,
    cache_dir: Optional[str | os.PathLike] = None,
    *,
    chunk_size: int = 2048,
    progress: bool = True,
    recompute: bool = False,
    engine: Any = "local",
    address: Optional[str] = None,
    actors: Optional[int] = None,
    **dataset_kwargs,
) -> Embeddings:
    """Encode every pair of ``dataset`` with ``encoder``, caching the raw vectors on disk.

    Parameters
    ----------
    dataset : PairDataset or str
        A dataset, or a registry name with its options (``embed("shapes", "toy-clip", n=1000)``).
    encoder : Encoder, str or object
        An :class:`~amumo_ng.models.Encoder`, a registry name, or any object with
        ``encode_images``/``encode_texts`` and an ``id``.
    cache_dir : path, optional
        Cache root; default ``$AMUMO_NG_CACHE`` or ``~/.cache/amumo_ng``.
    chunk_size : int
        Pairs per resumable chunk: a precompute killed midway resumes from its finished chunks.
    progress : bool
        Show a tqdm progress bar (pairs encoded).
    recompute : bool
        Ignore (and overwrite) an existing entry.
    engine : "local" or "ray"
        Who encodes the shards: this process, or a Ray Data actor pool (``pip install amumo-ng[ray]``;
        :class:`~amumo_ng.store.ray_engine.RayEngine`). Both write the same shard files, so a run
        interrupted under one engine resumes under either.
    address, actors : optional
        Ray only: the cluster (default: the running Ray session, else a local cluster started for
        this call) and the number of encoder actors (default: one per GPU, else one per CPU).

    Returns
    -------
    Embeddings
        Raw float32 image/text vectors [n, d] (memory-mapped from the cache), meta, logit scale.
        A second call with the same encoder and dataset returns from the cache without loading the model.
    """
    dataset, encoder = _resolve(dataset, encoder, dataset_kwargs)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    n = len(dataset)
    if n < 1:
        raise EmbeddingError("the dataset is empty: nothing to embed")
    from .engines import make_engine

    runner = make_engine(engine, address=address, actors=actors)
    cache = EmbeddingCache(cache_dir)
    sample_ids = dataset.sample_ids
    key = cache.key_for(encoder.cache_key, dataset.id, sample_ids)
    if not recompute:
        cached = cache.load(key, image_source=dataset.image, encoder=encoder)
        if cached is not None:
            return cached
    runner.start()  # before anything is written: a Ray address that does not answer fails here
    try:
        cache.ensure_writable()
        if recompute:
            cache.remove(key)
        plan = open_shards(cache.partial_path(key), n, chunk_size,
                           {"encoder": encoder.cache_key, "dataset": dataset.id})
        logit_scale = runner.encode(plan, dataset, encoder, progress)
    finally:
        runner.stop()
    image, text = plan.assembled()
    info = {
        "model_id": encoder.id,
        "preprocess_id": encoder.preprocess_id,
        "dataset_id": dataset.id,
        "logit_scale": float(encoder.logit_scale if logit_scale is None else logit_scale),
        "sample_ids_sha256": hashlib.sha256("\n".join(sample_ids).encode()).hexdigest(),
    }
    cache.write(key, image, text, dataset.meta, info)
    shutil.rmtree(plan.folder, ignore_errors=True)
    result = cache.load(key, image_source=dataset.image, encoder=encoder)
    if result is None:  # pragma: no cover - only if the disk fails between write and read
        raise CacheError(f"could not read back the cache entry {cache.entry_path(key)}")
    return result
