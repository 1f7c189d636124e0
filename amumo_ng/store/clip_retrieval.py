"""clip-retrieval's embedding folders, read into :class:`Embeddings` and written from them.

``clip-retrieval inference`` (rom1504/clip-retrieval, its ``OutputSink``) writes one set of files
per output partition ``i``::

    <folder>/img_emb/img_emb_<i>.npy         float16 [n_i, d]: L2-normalised image embeddings
    <folder>/text_emb/text_emb_<i>.npy       float16 [n_i, d]: L2-normalised caption embeddings
    <folder>/metadata/metadata_<i>.parquet   n_i rows: image_path, caption, then the input's own
                                             metadata columns (url, key, width, ...)

with ``i`` zero-padded to the digits of the partition count (``img_emb_0``, or ``img_emb_00`` ...
``img_emb_12``). Row j of the three files of partition i is one pair. The vectors are unit norm,
so the raw norms of the encoder are gone: the loaded :class:`Embeddings` hold those unit vectors
(as float32).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..analysis.validation import EmbeddingError, l2_normalize, row_chunks

KINDS = {"image": ("img_emb", "img_emb_{}.npy"), "text": ("text_emb", "text_emb_{}.npy"),
         "meta": ("metadata", "metadata_{}.parquet")}
#: Columns taken as the caption / the image location when none is named, first found first.
CAPTION_COLUMNS = ("caption", "text", "TEXT", "captions", "title", "prompt")
IMAGE_COLUMNS = ("image_path", "filepath", "file", "path", "url", "URL", "image_url")


class ClipRetrievalError(EmbeddingError):
    """A clip-retrieval folder that cannot be read: a missing shard, unequal counts, a mismatched dimension."""


def _shard_files(folder: Path, kind: str) -> dict[int, Path]:
    """Partition number -> file of one kind ("image", "text", "meta"), or an error naming the missing sub-folder."""
    sub, pattern = KINDS[kind]
    where = folder / sub
    if not where.is_dir():
        hint = (" (clip-retrieval writes caption embeddings only for inputs with captions, enable_text=True; "
                "amumo-ng needs both sides of each pair)" if kind == "text" else "")
        raise ClipRetrievalError(f"{where} is missing: not a clip-retrieval embeddings folder{hint}")
    regex = re.compile("^" + re.escape(pattern).replace(r"\{\}", r"(\d+)") + "$")
    found = {}
    for path in where.iterdir():
        match = regex.match(path.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise ClipRetrievalError(f"{where} holds no {pattern.format('<i>')} files")
    return found


def _name(folder: Path, kind: str, number: int, like: Path) -> Path:
    """The file of partition ``number``, zero-padded like an existing file ``like``."""
    sub, pattern = KINDS[kind]
    digits = len(re.findall(r"(\d+)\.", like.name)[-1])
    return folder / sub / pattern.format(str(number).zfill(digits))


def _open_matrix(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r")
    except Exception as exc:
        raise ClipRetrievalError(f"{path} is not a readable .npy array ({exc})") from exc
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.dtype.kind != "f":
        raise ClipRetrievalError(f"{path} holds a {arr.dtype} array of shape {arr.shape}, not float [n, d]")
    return arr


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:
        raise ClipRetrievalError(f"{path} is not a readable parquet file ({exc})") from exc


def _gather(parts: Sequence[tuple[Path, np.ndarray]], n: int, d: int) -> np.ndarray:
    """One float32 [n, d] array from memory-mapped shards, checked (finite, no zero row) block by block.

    A single float32 shard is returned as its memory map, without a copy.
    """
    if len(parts) == 1 and parts[0][1].dtype == np.float32:
        out = parts[0][1]
        path = parts[0][0]
        for start, stop in row_chunks(*out.shape):
            _check_block(out[start:stop], path, start)
        return out
    out = np.empty((n, d), dtype=np.float32)
    at = 0
    for path, arr in parts:
        for start, stop in row_chunks(*arr.shape):
            block = np.asarray(arr[start:stop], dtype=np.float32)
            _check_block(block, path, start)
            out[at + start: at + stop] = block
        at += arr.shape[0]
    return out


def _check_block(block: np.ndarray, path: Path, offset: int) -> None:
    bad = ~np.isfinite(block).all(axis=1)
    if bad.any():
        raise ClipRetrievalError(f"{path}: row {offset + int(np.flatnonzero(bad)[0])} holds NaN or infinite values")
    zero = ~block.any(axis=1)
    if zero.any():
        raise ClipRetrievalError(f"{path}: row {offset + int(np.flatnonzero(zero)[0])} is all zeros (no direction)")


def _pick_column(meta: pd.DataFrame, named: Optional[str], candidates: Sequence[str], what: str, where: Path,
                 required: bool) -> Optional[str]:
    if named is not None:
        if named not in meta.columns:
            raise ClipRetrievalError(f"{where} has no column {named!r} for the {what}; its columns: {list(meta.columns)}")
        return named
    for name in candidates:
        if name in meta.columns:
            return name
    if required:
        raise ClipRetrievalError(f"{where} has none of the {what} columns {list(candidates)}; its columns: "
                                 f"{list(meta.columns)}; name one with {what.split()[0]}_column=...")
    return None


def _image_source(paths: list, root: Optional[Path]):
    """``i -> PIL.Image`` over local image files (None when the locations are URLs: nothing is fetched)."""
    sample = next((str(p) for p in paths if isinstance(p, str) and p), "")
    if not sample or re.match(r"^[a-z][a-z0-9+.-]*://", sample, re.I):
        return None

    def source(i: int):
        from PIL import Image

        path = Path(str(paths[i])).expanduser()
        if root is not None and not path.is_absolute():
            path = root / path
        with Image.open(path) as im:
            return im.convert("RGB")

    return source


def read_clip_retrieval(folder: str | os.PathLike, *, caption_column: Optional[str] = None,
                        image_column: Optional[str] = None, image_root: Optional[str | os.PathLike] = None,
                        model_id: str = "clip-retrieval", logit_scale: float = 100.0):
    """:class:`Embeddings` of a ``clip-retrieval inference`` output folder (layout in the module docstring).

    Parameters
    ----------
    folder : path
        The ``output_folder`` given to ``clip-retrieval inference``.
    caption_column, image_column : str, optional
        Metadata columns of the captions and of the image files; default the first of
        :data:`CAPTION_COLUMNS` / :data:`IMAGE_COLUMNS` present. Image locations that are URLs give
        no image source (nothing is downloaded); relative paths are taken from ``image_root``.
    model_id, logit_scale :
        What made the vectors (not recorded by clip-retrieval).

    Returns
    -------
    Embeddings
        float32 unit vectors [n, d] (one float32 shard stays memory-mapped; float16 or several
        shards are read through their memory maps into one float32 array); ``meta`` is the
        joined metadata with ``id`` (the ``key`` column if there is one, else the row number) and
        ``caption``; images from the image column.

    Raises :class:`ClipRetrievalError` naming the file for a missing shard, unequal row counts,
    a dimension that differs, or a malformed file.
    """
    from .embeddings import Embeddings

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ClipRetrievalError(f"{folder} is not a folder")
    files = {kind: _shard_files(folder, kind) for kind in KINDS}
    numbers = sorted(set().union(*files.values()))
    for number in range(numbers[-1] + 1):  # partitions are numbered 0, 1, ... without gaps
        for kind, found in files.items():
            if number not in found:
                missing = _name(folder, kind, number, next(iter(found.values())))
                raise ClipRetrievalError(f"{missing} is missing (partitions 0..{numbers[-1]} are expected)")
    images, texts, metas = [], [], []
    d = None
    for number in numbers:
        img_path, txt_path, meta_path = files["image"][number], files["text"][number], files["meta"][number]
        img, txt = _open_matrix(img_path), _open_matrix(txt_path)
        rows = _parquet_rows(meta_path)
        if not img.shape[0] == txt.shape[0] == rows:
            raise ClipRetrievalError(f"partition {number} has unequal counts: {img.shape[0]} rows in {img_path}, "
                                     f"{txt.shape[0]} in {txt_path}, {rows} in {meta_path}")
        d = img.shape[1] if d is None else d
        for path, arr in ((img_path, img), (txt_path, txt)):
            if arr.shape[1] != d:
                raise ClipRetrievalError(f"{path} has dimension {arr.shape[1]}, but {files['image'][numbers[0]]} "
                                         f"has {d}")
        images.append((img_path, img))
        texts.append((txt_path, txt))
        metas.append(pd.read_parquet(meta_path))
    n = sum(arr.shape[0] for _, arr in images)
    if n == 0:
        raise ClipRetrievalError(f"{folder} holds no pairs")
    meta = pd.concat(metas, ignore_index=True)
    first_meta = files["meta"][numbers[0]]
    caption = _pick_column(meta, caption_column, CAPTION_COLUMNS, "caption", first_meta, required=True)
    image_col = _pick_column(meta, image_column, IMAGE_COLUMNS, "image location", first_meta, required=False)
    if "id" not in meta.columns:
        ids = meta["key"].astype(str) if "key" in meta.columns else pd.Series([str(i) for i in range(n)])
        meta.insert(0, "id", ids.to_numpy())
    meta["id"] = meta["id"].astype(str)
    if caption != "caption":
        meta["caption"] = meta[caption].astype(str)
    source = None
    if image_col is not None:
        source = _image_source(meta[image_col].tolist(), None if image_root is None else Path(image_root).expanduser())
    return Embeddings(image=_gather(images, n, d), text=_gather(texts, n, d), meta=meta,
                      logit_scale=float(logit_scale), model_id=model_id, dataset_id=folder.name,
                      image_source=source, trusted=True)


def write_clip_retrieval(emb, folder: str | os.PathLike, *, rows_per_shard: Optional[int] = None,
                         dtype: str = "float16", overwrite: bool = False) -> Path:
    """Write ``emb`` as a clip-retrieval embeddings folder (layout in the module docstring); return the folder.

    Parameters
    ----------
    emb : Embeddings
        The pairs; their vectors are L2-normalised as clip-retrieval's are.
    rows_per_shard : int, optional
        Pairs per partition (default: all in one, ``*_0`` files).
    dtype : "float16" or "float32"
        float16 is what clip-retrieval writes; float32 keeps the unit vectors exactly.
    overwrite : bool
        Replace the three sub-folders of an existing non-empty folder.

    The metadata has ``image_path`` (from the first of :data:`IMAGE_COLUMNS` in ``emb.meta``, when
    there is one), ``caption``, then the other meta columns. Each file is written to a temporary
    name and renamed.
    """
    folder = Path(folder).expanduser()
    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
    n = emb.n
    rows = n if rows_per_shard is None else int(rows_per_shard)
    if rows < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    subs = [folder / sub for sub, _ in KINDS.values()]
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{folder} is not empty; pass overwrite=True to replace its clip-retrieval files")
        for sub in subs:
            shutil.rmtree(sub, ignore_errors=True)
    for sub in subs:
        sub.mkdir(parents=True, exist_ok=True)
    meta = emb.meta.reset_index(drop=True)
    image_col = next((c for c in IMAGE_COLUMNS if c in meta.columns), None)
    front = (["image_path"] if image_col is not None else []) + ["caption"]
    table = pd.DataFrame({"image_path": meta[image_col].astype(str)} if image_col is not None else {})
    table["caption"] = meta["caption"].astype(str)
    for col in meta.columns:
        if col not in front and col != image_col:
            table[col] = meta[col]
    count = math.ceil(n / rows)
    digits = int(math.log10(count)) + 1  # as clip-retrieval pads its partition numbers
    for number, start in enumerate(range(0, n, rows)):
        stop = min(n, start + rows)
        label = str(number).zfill(digits)
        for kind, source in (("image", emb.image), ("text", emb.text)):
            unit = l2_normalize(np.asarray(source[start:stop], dtype=np.float32)).astype(dtype)
            _atomic(folder / KINDS[kind][0] / KINDS[kind][1].format(label), lambda fh, a=unit: np.save(fh, a))
        part = table.iloc[start:stop].reset_index(drop=True)
        _atomic(folder / "metadata" / KINDS["meta"][1].format(label), lambda fh, p=part: p.to_parquet(fh, index=False))
    return folder


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
