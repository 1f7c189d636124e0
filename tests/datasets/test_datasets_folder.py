"""FolderDataset: a folder of images plus a CSV/TSV/JSONL captions table, built in tmp_path."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from amumo_ng.datasets.base import DatasetError
from amumo_ng.datasets.folder import FolderDataset

COLOURS = {"red.jpg": (220, 30, 40), "green.jpg": (20, 200, 60), "sub/blue.jpg": (30, 50, 210)}


@pytest.fixture
def photo_dir(tmp_path, jpeg):
    root = tmp_path / "photos"
    for name, rgb in COLOURS.items():
        jpeg(root / name, rgb)
    return root


def write_csv(path, header, rows, sep=","):
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path, records, blank_lines=False):
    text = "".join(json.dumps(r) + ("\n\n" if blank_lines else "\n") for r in records)
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_pairs_captions_meta_and_pixels(photo_dir, tmp_path, rgb_of):
    rows = [("red.jpg", "a red square", "train"), ("sub/blue.jpg", "a blue square", "val"),
            ("green.jpg", "NA", "train")]
    csv = write_csv(tmp_path / "caps.csv", ["file", "caption", "split"], rows)
    ds = FolderDataset(photo_dir, csv)

    assert len(ds) == 3
    assert ds.image_column == "file" and ds.caption_column == "caption"
    assert ds.captions == ["a red square", "a blue square", "NA"]  # "NA" is not turned into NaN
    assert [ds.caption(i) for i in range(3)] == [r[1] for r in rows]
    meta = ds.meta
    assert meta["split"].tolist() == ["train", "val", "train"]
    assert meta["file"].tolist() == [r[0] for r in rows]
    assert meta["image_path"].tolist() == [str(photo_dir / r[0]) for r in rows]
    assert len(set(ds.sample_ids)) == 3
    for i, (name, _, _) in enumerate(rows):
        img = ds.image(i)
        assert img.mode == "RGB" and img.size == (16, 12)
        assert np.abs(rgb_of(img) - COLOURS[name]).max() < 8
    # the (image, caption) tuple interface and negative indexing of the base class
    img, caption = ds[-1]
    assert caption == "NA" and np.abs(rgb_of(img) - COLOURS["green.jpg"]).max() < 8
    with pytest.raises(IndexError):
        ds.image(3)


def test_jsonl_relative_absolute_paths_and_json_types(photo_dir, tmp_path, rgb_of):
    records = [
        {"image": "green.jpg", "text": "green", "score": 3},
        {"image": str(photo_dir / "red.jpg"), "text": "red", "score": 7},  # absolute path kept
    ]
    jsonl = write_jsonl(tmp_path / "caps.jsonl", records, blank_lines=True)
    ds = FolderDataset(photo_dir, jsonl)
    assert ds.captions == ["green", "red"]
    assert ds.meta["score"].tolist() == [3, 7]
    assert np.abs(rgb_of(ds.image(1)) - COLOURS["red.jpg"]).max() < 8


def test_tsv_and_explicit_columns(photo_dir, tmp_path):
    tsv = write_csv(tmp_path / "caps.tsv", ["path", "alt", "caption"],
                    [("red.jpg", "a red, square thing", "unused")], sep="\t")
    ds = FolderDataset(photo_dir, tsv, image_column="path", caption_column="alt")
    assert ds.captions == ["a red, square thing"]
    assert ds.meta["caption"].tolist() == ["a red, square thing"]
    # the unused "caption" column of the file would clash with ours: kept under another name
    assert ds.meta["source_caption"].tolist() == ["unused"]


def test_clashing_id_column_is_kept_as_source_id(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["id", "filename", "caption"], [("x7", "red.jpg", "r")])
    ds = FolderDataset(photo_dir, csv)
    assert ds.meta["source_id"].tolist() == ["x7"]
    assert ds.meta["id"].tolist() == ["0:red.jpg"]


def test_captions_file_found_inside_the_folder(photo_dir):
    write_csv(photo_dir / "captions.csv", ["image", "caption"], [("red.jpg", "r"), ("green.jpg", "g")])
    assert FolderDataset(photo_dir).captions == ["r", "g"]  # captions=None: default name looked up
    assert FolderDataset(photo_dir, "captions.csv").captions == ["r", "g"]  # relative to the folder


def test_id_fingerprints_captions_bytes_and_folder(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"], [("red.jpg", "red")])
    first = FolderDataset(photo_dir, csv).id
    assert FolderDataset(photo_dir, csv).id == first  # deterministic
    assert first.startswith("folder-photos-")

    write_csv(csv, ["image", "caption"], [("red.jpg", "crimson")])
    assert FolderDataset(photo_dir, csv).id != first  # caption edit -> new id

    write_csv(csv, ["image", "caption"], [("red.jpg", "red")])
    assert FolderDataset(photo_dir, csv).id == first  # same bytes again -> same id
    copy = shutil.copytree(photo_dir, tmp_path / "photos_copy")
    assert FolderDataset(copy, csv).id != first  # other folder -> new id


def test_missing_column_names_the_columns_found(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["picture", "caption"], [("red.jpg", "r")])
    with pytest.raises(DatasetError) as err:
        FolderDataset(photo_dir, csv)
    msg = str(err.value)
    assert "no image column" in msg and "'picture'" in msg and "'caption'" in msg

    csv = write_csv(tmp_path / "caps2.csv", ["image", "label"], [("red.jpg", "r")])
    with pytest.raises(DatasetError, match=r"no caption column.*'image', 'label'"):
        FolderDataset(photo_dir, csv)
    with pytest.raises(DatasetError, match=r"no caption column 'desc'"):
        FolderDataset(photo_dir, csv, caption_column="desc")


def test_missing_image_files_listed_up_front(photo_dir, tmp_path):
    names = ["red.jpg"] + [f"gone{k}.jpg" for k in range(7)]
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"], [(n, "c") for n in names])
    with pytest.raises(DatasetError) as err:
        FolderDataset(photo_dir, csv)
    msg = str(err.value)
    assert "7 of 8 image file(s)" in msg
    for k in range(5):
        assert f"gone{k}.jpg" in msg
    assert "gone5.jpg" not in msg and "and 2 more" in msg
    assert "red.jpg" not in msg


def test_directory_listed_as_image_counts_as_missing(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"], [("sub", "a folder")])
    with pytest.raises(DatasetError, match="missing.*'sub'"):
        FolderDataset(photo_dir, csv)


def test_corrupt_image_fails_on_access_naming_the_file(photo_dir, tmp_path, rgb_of):
    (photo_dir / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    good = (photo_dir / "red.jpg").read_bytes()
    (photo_dir / "truncated.jpg").write_bytes(good[: len(good) // 2])
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"],
                    [("red.jpg", "ok"), ("garbage.jpg", "bad"), ("truncated.jpg", "cut")])
    ds = FolderDataset(photo_dir, csv)  # construction only checks existence
    assert len(ds) == 3
    for i, name in [(1, "garbage.jpg"), (2, "truncated.jpg")]:
        with pytest.raises(DatasetError) as err:
            ds.image(i)
        assert name in str(err.value) and f"pair {i}" in str(err.value)
    assert np.abs(rgb_of(ds.image(0)) - COLOURS["red.jpg"]).max() < 8  # others unaffected


def test_image_deleted_after_construction(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"], [("green.jpg", "g")])
    ds = FolderDataset(photo_dir, csv)
    os.remove(photo_dir / "green.jpg")
    with pytest.raises(DatasetError, match="green.jpg"):
        ds.image(0)


def test_blank_cells_are_reported_by_row(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"],
                    [("red.jpg", "r"), ("green.jpg", ""), ("", "orphan"), ("red.jpg", "  ")])
    with pytest.raises(DatasetError, match=r"missing or empty image name \(0-based rows 2\)"):
        FolderDataset(photo_dir, csv)
    jsonl = write_jsonl(tmp_path / "caps.jsonl", [{"image": "red.jpg", "caption": "r"},
                                                   {"image": "green.jpg"}, {"image": "red.jpg", "caption": 5}])
    with pytest.raises(DatasetError, match=r"2 row\(s\) have a missing or empty caption \(0-based rows 1, 2\)"):
        FolderDataset(photo_dir, jsonl)


@pytest.mark.parametrize(
    "name, content, pattern",
    [
        ("caps.txt", "image,caption\nred.jpg,r\n", r"unsupported suffix '\.txt'"),
        ("caps.csv", "", "is empty"),
        ("caps.csv", "image,caption\n", "has no rows"),
        ("caps.jsonl", '{"image": "red.jpg", "caption": "r"}\n{"image": "green.jpg", \n', r"line 2: invalid JSON"),
        ("caps.jsonl", '{"image": "red.jpg", "caption": "r"}\n["red.jpg", "r"]\n', r"line 2: expected a JSON object, got list"),
        ("caps.csv", 'image,caption\nred.jpg,"unclosed\n', "cannot read captions file"),
    ],
)
def test_bad_captions_files(photo_dir, tmp_path, name, content, pattern):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=pattern):
        FolderDataset(photo_dir, path)


def test_missing_paths(photo_dir, tmp_path):
    with pytest.raises(DatasetError, match="not a directory"):
        FolderDataset(tmp_path / "nowhere", tmp_path / "caps.csv")
    with pytest.raises(DatasetError, match="captions file not found"):
        FolderDataset(photo_dir, tmp_path / "caps.csv")
    with pytest.raises(DatasetError, match="none of captions.csv"):
        FolderDataset(photo_dir)


def test_meta_is_a_copy(photo_dir, tmp_path):
    csv = write_csv(tmp_path / "caps.csv", ["image", "caption"], [("red.jpg", "r")])
    ds = FolderDataset(photo_dir, csv)
    meta = ds.meta
    meta.loc[0, "caption"] = "changed"
    assert ds.meta["caption"].tolist() == ["r"] and ds.caption(0) == "r"
