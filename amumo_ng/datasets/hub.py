"""MS-COCO and DiffusionDB pairs from the Hugging Face Hub (optional; needs ``datasets``).

Online, the first ``n`` rows of a split are streamed (only the files/row groups that hold
them are read, never the whole split) and kept in memory as encoded image bytes plus
captions (about 0.1-0.5 MB per pair); images are decoded on demand. The default sources
(:data:`MSCOCO`, :data:`DIFFUSIONDB`) can be swapped for any :class:`HubSource`.

Offline, loading fails *within seconds* with a :class:`DatasetError` that names the offline
alternatives: ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` set to a true value fail at once,
otherwise one short HTTP request asks the Hub's API whether the repository is there
(:func:`offline_reason`; in a worker thread, so a slow DNS lookup is bounded too) before
``datasets`` is asked for anything. Without ``datasets`` installed the error
says ``pip install amumo-ng[hub]``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import os
import threading
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import urlparse

import pandas as pd
from PIL import Image

from ..network import DEFAULT_PROBE_TIMEOUT, hf_endpoint, offline_env_reason, url_unreachable_reason
from .base import DatasetError, TablePairDataset

#: Registry names of the datasets that work without a network.
OFFLINE_ALTERNATIVES = ("shapes", "folder", "coco")


@dataclasses.dataclass(frozen=True)
class HubSource:
    """Where a hub dataset lives and which columns hold the pair.

    ``caption_column`` may hold a string or a list of strings (the first is used).
    ``revision``/``data_files`` select files explicitly (needed for repositories whose
    default branch only has a loading script, which ``datasets`` no longer runs).
    """

    repo: str
    split: str
    image_column: str
    caption_column: str
    config: Optional[str] = None
    revision: Optional[str] = None
    data_files: Optional[str] = None


#: COCO 2017 val with its 5 captions per image (parquet, images inline).
MSCOCO = HubSource("lmms-lab/COCO-Caption2017", split="val", image_column="image", caption_column="answer")
#: DiffusionDB 2m_first_1k, from the Hub's parquet export of the script-based repository.
DIFFUSIONDB = HubSource(
    "poloclub/diffusiondb",
    split="train",
    image_column="image",
    caption_column="prompt",
    revision="refs/convert/parquet",
    data_files="2m_first_1k/train/*.parquet",
)


class HubPairDataset(TablePairDataset):
    """Pairs held in memory: per pair the encoded image bytes (or a PIL image) and a caption.

    ``meta`` has ``id`` (``"<row>"`` within the stream), ``caption`` and the row's other
    scalar columns. Built by :func:`pairs_from_rows`.
    """

    def image(self, i: int) -> Image.Image:
        """Pair ``i``'s image as a new RGB PIL image; :class:`DatasetError` for corrupt bytes."""
        i = self._check_index(i)
        item = self._items[i]
        if isinstance(item, Image.Image):
            return item.convert("RGB")
        try:
            with Image.open(io.BytesIO(item)) as img:
                return img.convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DatasetError(f"cannot decode the image of pair {i} of {self.id!r}: {exc}") from exc


def pairs_from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    image_column: str,
    caption_column: str,
    name: str,
    n: Optional[int] = None,
) -> HubPairDataset:
    """Turn dataset rows (dicts, e.g. from iterating a ``datasets.Dataset`` or a streamed
    ``IterableDataset``) into a :class:`HubPairDataset` of at most ``n`` pairs.

    The image cell may be a ``{"bytes": ..., "path": ...}`` dict (an undecoded
    ``datasets.Image``), raw bytes, a file path string, or a PIL image. The caption cell
    may be a string or a list of strings (first taken). Other columns with scalar values
    (str, int, float, bool, None) go into ``meta``; list/dict/binary columns are dropped.
    The id is ``hub-<name>-<fingerprint>`` where the fingerprint hashes every caption and
    image byte, so the same rows give the same id.

    Raises :class:`DatasetError` for a missing column, an empty/invalid caption or image
    cell (naming the row), or no rows.
    """
    images: list = []
    records: list = []
    digest = hashlib.sha256()
    stream = rows if n is None else itertools.islice(rows, n)
    from tqdm.auto import tqdm

    for row_no, row in enumerate(tqdm(stream, total=n, desc=f"reading {name}", leave=False)):
        for column in (image_column, caption_column):
            if column not in row:
                raise DatasetError(f"{name}: row {row_no} has no column {column!r}; columns: {sorted(row)}")
        image = _image_cell(row[image_column], row_no, name)
        caption = _caption_cell(row[caption_column], row_no, name)
        digest.update(caption.encode("utf-8") + b"\0")
        digest.update(image.tobytes() if isinstance(image, Image.Image) else image)
        record = {"id": str(row_no), "caption": caption}
        for key, value in row.items():
            if key in (image_column, caption_column) or not _is_scalar(value):
                continue
            record[f"source_{key}" if key in ("id", "caption") else key] = value
        images.append(image)
        records.append(record)
    if not records:
        raise DatasetError(f"{name}: no rows")
    return HubPairDataset(f"hub-{name}-{digest.hexdigest()[:16]}", images, pd.DataFrame.from_records(records))


def _image_cell(value: Any, row_no: int, name: str):
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        value = value.get("path")
    if isinstance(value, (bytes, bytearray)) and value:
        return bytes(value)
    if isinstance(value, str) and os.path.isfile(value):
        with open(value, "rb") as fh:
            return fh.read()
    raise DatasetError(f"{name}: row {row_no} has no usable image (got {type(value).__name__}: {value!r:.80})")


def _caption_cell(value: Any, row_no: int, name: str) -> str:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, str) and value.strip():
        return value
    raise DatasetError(f"{name}: row {row_no} has no usable caption (got {value!r:.80})")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


# -- connectivity ----------------------------------------------------------------------------
def offline_reason(repo: str, timeout: float = DEFAULT_PROBE_TIMEOUT) -> Optional[str]:
    """Why dataset ``repo`` cannot be fetched from the Hugging Face Hub now, or None when it can.

    ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` set to a true value answer at once; otherwise one
    ``HEAD {HF_ENDPOINT}/api/datasets/{repo}`` must be answered by the Hub within ``timeout`` s
    (see :mod:`amumo_ng.network`).
    """
    return offline_env_reason(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")) or url_unreachable_reason(
        f"{hf_endpoint()}/api/datasets/{repo}", timeout
    )


def _offline_error(name: str, reason: str) -> DatasetError:
    alternatives = ", ".join(repr(a) for a in OFFLINE_ALTERNATIVES)
    return DatasetError(
        f"dataset {name!r} needs the Hugging Face Hub, which is not available: {reason}. "
        f"Offline alternatives: {alternatives} (e.g. amumo_ng.datasets.load('shapes'), "
        "load('folder', path=..., captions=...), load('coco', captions_json=..., image_dir=...))."
    )


def _import_datasets():
    try:
        import datasets
    except ImportError as exc:
        raise DatasetError(
            "hub datasets need the Hugging Face `datasets` package: pip install amumo-ng[hub] "
            f"(import failed: {exc}). Offline alternatives: {', '.join(OFFLINE_ALTERNATIVES)}."
        ) from exc
    return datasets


def load_hub(source: HubSource, n: int = 1000, *, name: str, timeout: float = DEFAULT_PROBE_TIMEOUT) -> HubPairDataset:
    """Stream the first ``n`` rows of ``source`` from the Hub into a :class:`HubPairDataset`.

    Fails fast (see module docstring) without ``datasets`` or without a network; any
    error from the Hub while streaming is re-raised as :class:`DatasetError`.
    """
    if int(n) < 1:
        raise DatasetError(f"{name}: n must be at least 1, got {n}")
    datasets = _import_datasets()
    reason = offline_reason(source.repo, timeout)
    if reason is not None:
        raise _offline_error(name, reason)
    try:
        stream = datasets.load_dataset(
            source.repo,
            source.config,
            split=source.split,
            revision=source.revision,
            data_files=source.data_files,
            streaming=True,
        )
        stream = stream.cast_column(source.image_column, datasets.Image(decode=False))
        return pairs_from_rows(
            stream, image_column=source.image_column, caption_column=source.caption_column, name=name, n=int(n)
        )
    except DatasetError:
        raise
    except Exception as exc:  # network, auth, schema: all surface as one clear error
        raise DatasetError(
            f"could not stream {source.repo!r} ({source.split}) from the Hugging Face Hub: {exc}. "
            f"Offline alternatives: {', '.join(OFFLINE_ALTERNATIVES)}."
        ) from exc


def load_mscoco(n: int = 1000, *, source: HubSource = MSCOCO, timeout: float = DEFAULT_PROBE_TIMEOUT) -> HubPairDataset:
    """First ``n`` MS-COCO pairs (image, first caption) streamed from the Hub; see :func:`load_hub`."""
    return load_hub(source, n, name="mscoco", timeout=timeout)


def load_diffusiondb(
    n: int = 1000, *, source: HubSource = DIFFUSIONDB, timeout: float = DEFAULT_PROBE_TIMEOUT
) -> HubPairDataset:
    """First ``n`` DiffusionDB pairs (generated image, prompt) streamed from the Hub; see :func:`load_hub`."""
    return load_hub(source, n, name="diffusiondb", timeout=timeout)
