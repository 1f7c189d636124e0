"""Image/caption pairs read from a folder of image files plus a captions table (CSV or JSONL).

:class:`ImageFilePairs` is the shared shape of every dataset whose images are files on
disk (this folder loader and the COCO loader): a list of resolved paths, a metadata
table, and ``image(i)`` that decodes the file on demand. :class:`FolderDataset` builds
one from a captions table with one row per pair.

Everything that is cheap is checked at construction (the table parses, the needed
columns exist, every listed file exists); decoding is deferred to ``image(i)``, which
names the file when its bytes cannot be read.
"""
from __future__ import annotations

import json
import os
from typing import Iterable, Optional, Sequence

import pandas as pd
from PIL import Image

from ..fingerprint import file_digest
from .base import DatasetError, TablePairDataset

#: Column names tried, in order, when ``image_column`` is not given.
IMAGE_COLUMNS = ("image", "file", "filename", "file_name")
#: Column names tried, in order, when ``caption_column`` is not given.
CAPTION_COLUMNS = ("caption", "text")
#: Captions-file suffixes understood by :func:`read_captions_table`.
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
#: Captions files looked for in the image folder when none is named.
DEFAULT_CAPTION_FILES = ("captions.csv", "captions.jsonl", "metadata.csv", "metadata.jsonl")
#: How many offending names/rows an error message lists before summarising.
MAX_LISTED = 5


# -- helpers shared with the COCO loader ---------------------------------------------------
def content_fingerprint(file_path: str, *parts: str, length: int = 16) -> str:
    """Hex SHA-256 prefix (``length`` characters) of a file's bytes followed by ``parts``.

    Used in dataset ids so that editing the captions file, or pointing at another image
    folder, gives another id (and so another embedding cache entry). Image bytes are
    not hashed (too costly for large folders).
    """
    return file_digest(file_path, *parts)[:length]


def listing(items: Sequence, limit: int = MAX_LISTED) -> str:
    """``'a', 'b', 'c' and 4 more`` -- a bounded, readable list for error messages."""
    shown = ", ".join(repr(x) for x in items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def require_image_dir(image_dir) -> str:
    """Absolute path of ``image_dir``; :class:`DatasetError` unless it is an existing directory."""
    path = os.path.abspath(os.fspath(image_dir))
    if not os.path.isdir(path):
        raise DatasetError(f"image folder {path!r} does not exist or is not a directory")
    return path


def resolve_image_paths(image_dir: str, listed: Iterable[str], source: str) -> list[str]:
    """Resolve listed image names against ``image_dir`` (absolute names are kept) and check
    up front that each is an existing file. Raises :class:`DatasetError` listing up to
    :data:`MAX_LISTED` missing names and the total count. ``source`` names the file that
    listed them (for the message)."""
    listed = list(listed)
    paths = [os.path.normpath(os.path.join(image_dir, name)) for name in listed]
    missing = [name for name, path in zip(listed, paths) if not os.path.isfile(path)]
    if missing:
        raise DatasetError(
            f"{len(missing)} of {len(listed)} image file(s) listed in {source} are missing "
            f"under {image_dir}: {listing(missing)}"
        )
    return paths


def open_rgb(path: str, what: str = "image") -> Image.Image:
    """Decode the image file at ``path`` fully and return it as an RGB PIL image.

    Raises :class:`DatasetError` naming the file when it is gone or its bytes are not a
    readable image (unknown format, truncated, corrupt, decompression bomb).
    """
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"cannot read {what} file {path!r}: {exc}") from exc


class ImageFilePairs(TablePairDataset):
    """Pairs whose images are files on disk: ``items`` are absolute image paths (already checked to exist)."""

    def image_path(self, i: int) -> str:
        """Absolute path of the image file of pair ``i``."""
        return self._items[self._check_index(i)]

    def image(self, i: int) -> Image.Image:
        """Pair ``i``'s image decoded from disk as RGB; :class:`DatasetError` naming the file
        when it cannot be read."""
        i = self._check_index(i)
        return open_rgb(self._items[i], what=f"image of pair {i}")


# -- the captions table --------------------------------------------------------------------
def read_captions_table(path: str) -> pd.DataFrame:
    """Read a captions table: CSV (``.csv``), TSV (``.tsv``) or JSON Lines (``.jsonl``,
    ``.ndjson``, one JSON object per line, blank lines skipped).

    CSV/TSV cells are read as strings (no NA guessing: a caption ``"NA"`` stays ``"NA"``,
    an empty cell is ``""``); JSONL values keep their JSON types. Raises
    :class:`DatasetError` for an unknown suffix, an unreadable or unparsable file, a JSONL
    line that is not an object (with its line number), or a table without rows.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in TABLE_SUFFIXES:
        raise DatasetError(
            f"captions file {path!r}: unsupported suffix {suffix or '(none)'!r}; "
            f"expected one of {', '.join(TABLE_SUFFIXES)}"
        )
    try:
        if suffix in (".csv", ".tsv"):
            table = pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
            )
        else:
            table = pd.DataFrame.from_records(_read_jsonl(path))
    except DatasetError:
        raise
    except pd.errors.EmptyDataError:
        raise DatasetError(f"captions file {path!r} is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(f"cannot read captions file {path!r}: {exc}") from exc
    if len(table) == 0:
        raise DatasetError(f"captions file {path!r} has no rows")
    return table


def _read_jsonl(path: str) -> list[dict]:
    records = []
    with open(path, "r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"captions file {path!r}, line {lineno}: invalid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise DatasetError(
                    f"captions file {path!r}, line {lineno}: expected a JSON object, "
                    f"got {type(record).__name__}"
                )
            records.append(record)
    return records


def pick_column(table: pd.DataFrame, wanted: Optional[str], candidates: Sequence[str], role: str, source: str) -> str:
    """The column to use for ``role`` ("image" or "caption"): ``wanted`` if given, else the
    first of ``candidates`` present. :class:`DatasetError` naming the columns found otherwise."""
    found = [str(c) for c in table.columns]
    if wanted is not None:
        if wanted in table.columns:
            return wanted
        raise DatasetError(f"{source}: no {role} column {wanted!r}; columns found: {found}")
    for name in candidates:
        if name in table.columns:
            return name
    raise DatasetError(
        f"{source}: no {role} column (looked for {', '.join(repr(c) for c in candidates)}; "
        f"pass {role}_column=... to choose one); columns found: {found}"
    )


def _bad_rows(values: Sequence, role: str, source: str) -> None:
    """Raise when a needed cell is missing, not a string, or blank (rows listed, 0-based)."""
    bad = [row for row, v in enumerate(values) if not isinstance(v, str) or not v.strip()]
    if bad:
        raise DatasetError(
            f"{source}: {len(bad)} row(s) have a missing or empty {role} "
            f"(0-based rows {listing(bad)})"
        )


class FolderDataset(ImageFilePairs):
    """Pairs from a folder of images and a captions table with one row per pair.

    Parameters
    ----------
    image_dir : path
        Folder the image names are resolved against (absolute names are used as they are).
    captions_file : path or None
        CSV/TSV/JSONL table (see :func:`read_captions_table`). A relative name that does not
        exist from the working directory is looked up inside ``image_dir``; None looks for
        one of :data:`DEFAULT_CAPTION_FILES` there.
    image_column, caption_column : str or None
        Columns holding the image file name and the caption; None picks the first of
        :data:`IMAGE_COLUMNS` / :data:`CAPTION_COLUMNS` present.

    ``meta`` holds ``id`` (``"<row>:<listed name>"``), ``caption``, ``image_path`` (absolute)
    and every other column of the table, the image column included; a column that would
    clash with those three is kept as ``source_<name>``. The dataset ``id`` is
    ``folder-<folder name>-<fingerprint>`` where the fingerprint hashes the captions file's
    bytes, the folder's absolute path and the chosen columns.

    Raises :class:`DatasetError` at construction for a missing folder or captions file, an
    unparsable table, a missing column (naming the columns found), a missing/blank cell
    (naming rows) or listed image files missing on disk (naming up to 5); ``image(i)``
    raises it, naming the file, for unreadable image bytes.
    """

    def __init__(
        self,
        image_dir,
        captions_file=None,
        image_column: Optional[str] = None,
        caption_column: Optional[str] = None,
    ):
        image_dir = require_image_dir(image_dir)
        captions_path = _find_captions_file(image_dir, captions_file)
        source = f"captions file {captions_path!r}"
        table = read_captions_table(captions_path)
        image_col = pick_column(table, image_column, IMAGE_COLUMNS, "image", source)
        caption_col = pick_column(table, caption_column, CAPTION_COLUMNS, "caption", source)
        if image_col == caption_col:
            raise DatasetError(f"{source}: image and caption column are the same ({image_col!r})")
        listed = table[image_col].tolist()
        _bad_rows(listed, "image name", source)
        captions = table[caption_col].tolist()
        _bad_rows(captions, "caption", source)
        paths = resolve_image_paths(image_dir, listed, source)

        meta = pd.DataFrame(
            {
                "id": [f"{row}:{name}" for row, name in enumerate(listed)],
                "caption": captions,
                "image_path": paths,
            }
        )
        reserved = set(meta.columns)
        for column in table.columns:
            if column == caption_col:
                continue
            name = f"source_{column}" if column in reserved else str(column)
            meta[name] = table[column].to_numpy()

        fingerprint = content_fingerprint(captions_path, image_dir, image_col, caption_col)
        folder_name = os.path.basename(image_dir.rstrip(os.sep)) or "root"
        super().__init__(f"folder-{folder_name}-{fingerprint}", paths, meta)
        self.image_dir = image_dir
        self.captions_file = captions_path
        self.image_column = image_col
        self.caption_column = caption_col


def _find_captions_file(image_dir: str, captions_file) -> str:
    """Absolute path of the captions file (see :class:`FolderDataset`); DatasetError if none."""
    if captions_file is None:
        for name in DEFAULT_CAPTION_FILES:
            candidate = os.path.join(image_dir, name)
            if os.path.isfile(candidate):
                return candidate
        raise DatasetError(
            f"no captions file given and none of {', '.join(DEFAULT_CAPTION_FILES)} in {image_dir!r}"
        )
    given = os.fspath(captions_file)
    candidates = [os.path.abspath(given)]
    if not os.path.isabs(given):
        candidates.append(os.path.join(image_dir, given))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise DatasetError(f"captions file not found: tried {listing(candidates)}")
