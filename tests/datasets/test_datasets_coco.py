"""CocoCaptionsDataset on a tiny COCO-format annotation file and generated JPEGs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from amumo_ng.datasets.base import DatasetError
from amumo_ng.datasets.coco import CocoCaptionsDataset

IMAGES = [
    {"id": 20, "file_name": "000020.jpg", "width": 16, "height": 12},
    {"id": 10, "file_name": "val/000010.jpg", "width": 16, "height": 12},
    {"id": 30, "file_name": "000030.jpg", "width": 16, "height": 12},  # no caption: skipped
]
COLOURS = {10: (200, 40, 40), 20: (40, 180, 60), 30: (90, 90, 220)}
ANNOTATIONS = [  # ids deliberately out of order; image 10 has three captions
    {"id": 5, "image_id": 10, "caption": "a red tile. "},
    {"id": 2, "image_id": 10, "caption": "A red square\n"},
    {"id": 9, "image_id": 10, "caption": "something crimson"},
    {"id": 4, "image_id": 20, "caption": "a green square"},
]


@pytest.fixture
def coco(tmp_path, jpeg):
    image_dir = tmp_path / "images"
    for img in IMAGES:
        jpeg(image_dir / img["file_name"], COLOURS[img["id"]])
    path = tmp_path / "captions_tiny.json"
    path.write_text(json.dumps({"info": {}, "images": IMAGES, "annotations": ANNOTATIONS}), encoding="utf-8")
    return path, image_dir


def expected_pairs(all_captions):
    """Brute force: walk images in file order, collect their annotations, sort by id."""
    pairs = []
    for img in IMAGES:
        anns = sorted((a for a in ANNOTATIONS if a["image_id"] == img["id"]), key=lambda a: a["id"])
        for a in anns if all_captions else anns[:1]:
            pairs.append((img["id"], a["id"], a["caption"].strip()))
    return pairs


@pytest.mark.parametrize("all_captions", [False, True])
def test_pairs_follow_the_annotation_file(coco, all_captions, rgb_of):
    path, image_dir = coco
    ds = CocoCaptionsDataset(path, image_dir, all_captions=all_captions)
    want = expected_pairs(all_captions)
    assert len(ds) == len(want) == (4 if all_captions else 2)
    meta = ds.meta
    assert list(zip(meta["image_id"], meta["annotation_id"], meta["caption"])) == want
    assert ds.captions == [c for _, _, c in want]
    assert ds.skipped_image_ids == [30]
    assert len(set(ds.sample_ids)) == len(ds)
    for i, (image_id, _, _) in enumerate(want):
        assert np.abs(rgb_of(ds.image(i)) - COLOURS[image_id]).max() < 8


def test_first_caption_is_lowest_annotation_id(coco):
    ds = CocoCaptionsDataset(*coco)
    assert ds.caption(1) == "A red square"  # annotation 2, listed after annotation 5
    assert ds.meta.loc[1, "file_name"] == "val/000010.jpg"
    assert ds.sample_ids == ["20", "10"]


def test_ids_differ_with_mode_and_content(coco, tmp_path):
    path, image_dir = coco
    first = CocoCaptionsDataset(path, image_dir).id
    assert first.startswith("coco-captions_tiny-")
    assert CocoCaptionsDataset(path, image_dir).id == first
    assert CocoCaptionsDataset(path, image_dir, all_captions=True).id != first
    doc = json.loads(path.read_text())
    doc["annotations"][3]["caption"] = "a lime square"
    path.write_text(json.dumps(doc))
    assert CocoCaptionsDataset(path, image_dir).id != first


def write_doc(tmp_path, doc):
    path = tmp_path / "bad.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "doc, pattern",
    [
        ('{"images": [], "annotations": [', r"not valid JSON.*line 1"),
        ([1, 2], "expected a JSON object"),
        ({"images": IMAGES}, r"missing the list 'annotations'; keys found: \['images'\]"),
        ({"images": [{"id": 1}], "annotations": []}, r"images\[0\] needs an 'id' and a string 'file_name'"),
        ({"images": IMAGES, "annotations": [{"image_id": 10}]}, r"annotations\[0\] needs .* string 'caption'"),
        ({"images": IMAGES + IMAGES[:1], "annotations": ANNOTATIONS}, "image id 20 appears more than once"),
        ({"images": IMAGES, "annotations": ANNOTATIONS + [{"id": 99, "image_id": 77, "caption": "x"}]},
         r"1 annotation\(s\) refer to image ids not in 'images': 77"),
        ({"images": IMAGES, "annotations": []}, "no image has a caption"),
    ],
)
def test_bad_annotation_files(coco, tmp_path, doc, pattern):
    _, image_dir = coco
    with pytest.raises(DatasetError, match=pattern):
        CocoCaptionsDataset(write_doc(tmp_path, doc), image_dir)


def test_missing_json_and_missing_images(coco, tmp_path):
    path, image_dir = coco
    with pytest.raises(DatasetError, match="not found"):
        CocoCaptionsDataset(tmp_path / "nope.json", image_dir)
    (image_dir / "val" / "000010.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1 of 2 image file\(s\).*'val/000010.jpg'"):
        CocoCaptionsDataset(path, image_dir)
    # the uncaptioned image is never needed, so its absence alone is fine
    jpeg_path = image_dir / "000030.jpg"
    jpeg_path.unlink()
    with pytest.raises(DatasetError) as err:
        CocoCaptionsDataset(path, image_dir)
    assert "000030" not in str(err.value)


def test_corrupt_image_named_on_access(coco):
    path, image_dir = coco
    (image_dir / "000020.jpg").write_bytes(b"\xff\xd8 not really")
    ds = CocoCaptionsDataset(path, image_dir)
    with pytest.raises(DatasetError, match="000020.jpg"):
        ds.image(0)
    assert ds.image(1).mode == "RGB"
