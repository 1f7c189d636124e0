"""Content hashes: the one place the package turns bytes (arrays, files, strings) into ids.

Cache keys of derived data (subsets, orders, projections), the browser's view hash, dataset and
weights ids all come from here, so two places never disagree on what "the same content" means.
"""
from __future__ import annotations

import hashlib
import os
from typing import Iterable, Union

import numpy as np

__all__ = ["array_digest", "file_digest", "text_digest"]


def array_digest(array, digest_size: int = 16) -> str:
    """Hex BLAKE2b digest (``2 * digest_size`` characters) of an array's dtype, shape and bytes.

    Two arrays get the same digest exactly when they have equal dtype, shape and contents.
    Hashes at roughly 1 GB/s (a 20,000 × 512 float32 array in about 40 ms).
    """
    arr = np.ascontiguousarray(array)
    digest = hashlib.blake2b(digest_size=int(digest_size))
    digest.update(f"{arr.dtype.str}{arr.shape}".encode())
    digest.update(memoryview(arr).cast("B") if arr.size else b"")
    return digest.hexdigest()


def file_digest(path: Union[str, os.PathLike], *parts: str, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, followed by ``parts`` (each as ``\\0`` + UTF-8), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    for part in parts:
        digest.update(b"\0" + str(part).encode("utf-8"))
    return digest.hexdigest()


def text_digest(texts: Union[str, Iterable[str]], sep: str = "\n") -> str:
    """Hex SHA-256 of a string, or of strings joined by ``sep`` (UTF-8)."""
    joined = texts if isinstance(texts, str) else sep.join(texts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()
