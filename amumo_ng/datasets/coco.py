"""Image/caption pairs from a COCO captions annotation file and its image folder.

The COCO captions format is one JSON object::

    {"images": [{"id": 42, "file_name": "000000000042.jpg", ...}, ...],
     "annotations": [{"id": 7, "image_id": 42, "caption": "A dog on a sofa."}, ...]}

Each image usually has five captions. By default a pair is (image, its caption with the
lowest annotation id); ``all_captions=True`` gives one pair per annotation. Images without
any caption are skipped (their ids are kept in ``skipped_image_ids``).
"""
from __future__ import annotations

import json
import os
from collections import defaultdict

import pandas as pd

from .base import DatasetError
from .folder import ImageFilePairs, content_fingerprint, listing, require_image_dir, resolve_image_paths


class CocoCaptionsDataset(ImageFilePairs):
    """COCO-captions pairs.

    Parameters
    ----------
    captions_json : path
        The annotation file (e.g. ``captions_val2017.json``).
    image_dir : path
        Folder holding the images' ``file_name`` s.
    all_captions : bool
        False: one pair per captioned image (lowest annotation id). True: one pair per
        annotation, grouped by image in annotation-id order.

    Pairs follow the order of ``images`` in the file. ``meta`` has ``id`` (``"<image_id>"``,
    or ``"<image_id>:<annotation_id>"`` with ``all_captions``), ``caption`` (whitespace
    stripped; COCO captions often end in a space or newline), ``image_id``,
    ``annotation_id``, ``file_name`` and ``image_path``. An annotation without an ``id``
    is numbered by its position in the file.

    Raises :class:`DatasetError` for an unreadable or invalid JSON file, a missing
    ``images``/``annotations`` list, malformed entries (naming the index), duplicate image
    ids, annotations pointing at unknown images, no captioned image at all, or image files
    missing on disk (naming up to 5).
    """

    def __init__(self, captions_json, image_dir, all_captions: bool = False):
        captions_json = os.path.abspath(os.fspath(captions_json))
        image_dir = require_image_dir(image_dir)
        doc = _read_json(captions_json)
        source = f"COCO file {captions_json!r}"
        images = _entries(doc, "images", source)
        annotations = _entries(doc, "annotations", source)

        file_names: dict = {}
        order = []
        for k, img in enumerate(images):
            if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
                raise DatasetError(f"{source}: images[{k}] needs an 'id' and a string 'file_name', got {img!r:.200}")
            if img["id"] in file_names:
                raise DatasetError(f"{source}: image id {img['id']!r} appears more than once")
            file_names[img["id"]] = img["file_name"]
            order.append(img["id"])

        by_image = defaultdict(list)
        unknown = []
        for k, ann in enumerate(annotations):
            if not isinstance(ann, dict) or "image_id" not in ann or not isinstance(ann.get("caption"), str):
                raise DatasetError(
                    f"{source}: annotations[{k}] needs an 'image_id' and a string 'caption', got {ann!r:.200}"
                )
            if ann["image_id"] not in file_names:
                unknown.append(ann["image_id"])
                continue
            by_image[ann["image_id"]].append((ann.get("id", k), ann["caption"].strip()))
        if unknown:
            raise DatasetError(
                f"{source}: {len(unknown)} annotation(s) refer to image ids not in 'images': {listing(unknown)}"
            )

        rows = []
        self.skipped_image_ids = [image_id for image_id in order if image_id not in by_image]
        for image_id in order:
            anns = sorted(by_image.get(image_id, ()), key=lambda a: a[0])
            for ann_id, caption in anns if all_captions else anns[:1]:
                rows.append(
                    {
                        "id": f"{image_id}:{ann_id}" if all_captions else str(image_id),
                        "caption": caption,
                        "image_id": image_id,
                        "annotation_id": ann_id,
                        "file_name": file_names[image_id],
                    }
                )
        if not rows:
            raise DatasetError(f"{source}: no image has a caption ({len(images)} images, {len(annotations)} annotations)")
        meta = pd.DataFrame(rows)
        meta["image_path"] = resolve_image_paths(image_dir, meta["file_name"], source)

        fingerprint = content_fingerprint(captions_json, image_dir, f"all_captions={bool(all_captions)}")
        stem = os.path.splitext(os.path.basename(captions_json))[0]
        super().__init__(f"coco-{stem}-{fingerprint}", meta["image_path"].tolist(), meta)
        self.captions_json = captions_json
        self.image_dir = image_dir
        self.all_captions = bool(all_captions)


def _read_json(path: str):
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DatasetError(f"COCO captions file not found: {path!r}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"COCO captions file {path!r} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read COCO captions file {path!r}: {exc}") from exc


def _entries(doc, key: str, source: str) -> list:
    if not isinstance(doc, dict):
        raise DatasetError(f"{source}: expected a JSON object with 'images' and 'annotations', got {type(doc).__name__}")
    if not isinstance(doc.get(key), list):
        raise DatasetError(f"{source}: missing the list {key!r}; keys found: {sorted(map(str, doc))}")
    return doc[key]
