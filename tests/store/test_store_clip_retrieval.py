"""clip-retrieval interchange: folders built here in the layout ``clip-retrieval inference`` writes
(img_emb/img_emb_<i>.npy float16, text_emb/text_emb_<i>.npy, metadata/metadata_<i>.parquet with
image_path, caption and the input's metadata columns), read back, written, and the bad-input catalogue."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import amumo_ng
from amumo_ng.store.clip_retrieval import ClipRetrievalError

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]


def unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def build_folder(root, sizes=(5, 3, 4), d=6, digits=1, dtype=np.float16, images=True, seed=0,
                 caption="caption", image="image_path"):
    """A clip-retrieval output folder written with numpy and pyarrow; returns (image, text, columns) as written."""
    rng = np.random.default_rng(seed)
    for sub in ("img_emb", "text_emb", "metadata"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    all_img, all_txt, columns = [], [], {caption: [], image: [], "url": [], "key": [], "width": []}
    at = 0
    for number, size in enumerate(sizes):
        label = str(number).zfill(digits)
        img, txt = unit(rng, size, d).astype(dtype), unit(rng, size, d).astype(dtype)
        np.save(root / "img_emb" / f"img_emb_{label}.npy", img)
        np.save(root / "text_emb" / f"text_emb_{label}.npy", txt)
        part = {k: [] for k in columns}
        for j in range(size):
            i = at + j
            path = root / "images" / f"{i:05d}.png"
            if images:
                path.parent.mkdir(exist_ok=True)
                Image.new("RGB", (8, 8), COLOURS[i % len(COLOURS)]).save(path)
            part[caption].append(f"picture number {i}")
            part[image].append(str(path) if image != "URL" else f"https://example.org/{i}.jpg")
            part["url"].append(f"https://example.org/{i}.jpg")
            part["key"].append(f"{i:09d}")
            part["width"].append(8 + i)
        pq.write_table(pa.table(part), root / "metadata" / f"metadata_{label}.parquet")
        for k in columns:
            columns[k] += part[k]
        all_img.append(img)
        all_txt.append(txt)
        at += size
    return np.concatenate(all_img), np.concatenate(all_txt), columns


def test_reads_the_documented_layout_with_metadata_joined(tmp_path):
    img, txt, cols = build_folder(tmp_path / "emb")
    emb = amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")
    assert (emb.n, emb.dim) == (12, 6)
    np.testing.assert_array_equal(emb.image, img.astype(np.float32))  # partitions in order 0, 1, 2
    np.testing.assert_array_equal(emb.text, txt.astype(np.float32))
    assert emb.image.dtype == np.float32
    assert emb.captions == [f"picture number {i}" for i in range(12)]
    assert emb.ids == cols["key"]  # clip-retrieval's key is the pair id
    assert emb.meta["width"].tolist() == list(range(8, 20)) and emb.meta["url"].tolist() == cols["url"]
    for i in (0, 6, 11):  # images come from the image_path column
        assert emb.get_image(i).getpixel((3, 3)) == COLOURS[i % len(COLOURS)]
    assert emb.dataset_id == "emb" and emb.model_id == "clip-retrieval"


def test_a_single_float32_shard_stays_memory_mapped(tmp_path):
    img, _, _ = build_folder(tmp_path / "emb", sizes=(7,), dtype=np.float32, images=False)
    emb = amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")
    assert isinstance(emb.image, np.memmap) and isinstance(emb.text, np.memmap)
    np.testing.assert_array_equal(emb.image, img)


def test_padded_partition_numbers_sort_numerically(tmp_path):
    sizes = tuple(1 + (i % 3) for i in range(12))  # 12 partitions: img_emb_00 .. img_emb_11
    img, _, _ = build_folder(tmp_path / "emb", sizes=sizes, digits=2, images=False)
    assert (tmp_path / "emb" / "img_emb" / "img_emb_11.npy").is_file()
    emb = amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")
    np.testing.assert_array_equal(emb.image, img.astype(np.float32))


def test_laion_style_columns_are_found_and_urls_give_no_images(tmp_path):
    build_folder(tmp_path / "emb", caption="TEXT", image="URL", images=False)
    emb = amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")
    assert emb.captions[3] == "picture number 3" and "TEXT" in emb.meta.columns
    assert emb.image_source is None  # nothing is downloaded


def test_columns_can_be_named(tmp_path):
    build_folder(tmp_path / "emb", images=False)
    emb = amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb", caption_column="url")
    assert emb.captions[2] == "https://example.org/2.jpg"
    with pytest.raises(ClipRetrievalError, match=r"metadata_0.parquet has no column 'title' for the caption; "
                                                 r"its columns: \['caption', 'image_path'"):
        amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb", caption_column="title")


def test_relative_image_paths_are_taken_from_image_root(tmp_path):
    root = tmp_path / "emb"
    build_folder(root, sizes=(3,))
    meta = pq.read_table(root / "metadata" / "metadata_0.parquet").to_pandas()
    meta["image_path"] = [f"images/{i:05d}.png" for i in range(3)]
    pq.write_table(pa.Table.from_pandas(meta, preserve_index=False), root / "metadata" / "metadata_0.parquet")
    emb = amumo_ng.Embeddings.from_clip_retrieval(root, image_root=root)
    assert emb.get_image(2).getpixel((0, 0)) == COLOURS[2]


def test_missing_shard_is_named(tmp_path):
    build_folder(tmp_path / "emb", images=False)
    (tmp_path / "emb" / "text_emb" / "text_emb_1.npy").unlink()
    with pytest.raises(ClipRetrievalError, match=r"text_emb/text_emb_1.npy is missing \(partitions 0..2"):
        amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")


def test_a_gap_in_the_partitions_is_a_missing_shard(tmp_path):
    build_folder(tmp_path / "emb", sizes=(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2), digits=2, images=False)
    for sub, name in (("img_emb", "img_emb_07.npy"), ("text_emb", "text_emb_07.npy"),
                      ("metadata", "metadata_07.parquet")):
        (tmp_path / "emb" / sub / name).unlink()
    with pytest.raises(ClipRetrievalError, match=r"img_emb/img_emb_07.npy is missing"):
        amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")


def test_unequal_counts_name_the_files(tmp_path):
    root = tmp_path / "emb"
    build_folder(root, images=False)
    meta = pq.read_table(root / "metadata" / "metadata_2.parquet")
    pq.write_table(meta.slice(0, 3), root / "metadata" / "metadata_2.parquet")
    with pytest.raises(ClipRetrievalError, match=r"partition 2 has unequal counts: 4 rows in .*img_emb_2.npy, "
                                                 r"4 in .*text_emb_2.npy, 3 in .*metadata_2.parquet"):
        amumo_ng.Embeddings.from_clip_retrieval(root)


def test_mismatched_dimension_is_named(tmp_path):
    root = tmp_path / "emb"
    build_folder(root, images=False)
    np.save(root / "text_emb" / "text_emb_1.npy", unit(np.random.default_rng(1), 3, 8).astype(np.float16))
    with pytest.raises(ClipRetrievalError, match=r"text_emb_1.npy has dimension 8, but .*img_emb_0.npy has 6"):
        amumo_ng.Embeddings.from_clip_retrieval(root)


def test_other_bad_folders(tmp_path):
    with pytest.raises(ClipRetrievalError, match="is not a folder"):
        amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "nothing")
    root = tmp_path / "emb"
    build_folder(root, images=False)
    bad = np.load(root / "img_emb" / "img_emb_1.npy")
    bad[2] = np.nan
    np.save(root / "img_emb" / "img_emb_1.npy", bad)
    with pytest.raises(ClipRetrievalError, match=r"img_emb_1.npy: row 2 holds NaN"):
        amumo_ng.Embeddings.from_clip_retrieval(root)
    (root / "img_emb" / "img_emb_1.npy").write_bytes(b"not numpy")
    with pytest.raises(ClipRetrievalError, match=r"img_emb_1.npy is not a readable .npy array"):
        amumo_ng.Embeddings.from_clip_retrieval(root)
    import shutil

    shutil.rmtree(root / "text_emb")
    with pytest.raises(ClipRetrievalError, match=r"text_emb is missing.*enable_text=True"):
        amumo_ng.Embeddings.from_clip_retrieval(root)


def make_embeddings(n=10, d=5, seed=3):
    rng = np.random.default_rng(seed)
    image, text = rng.normal(size=(n, d)) * 4, rng.normal(size=(n, d)) * 2  # raw: not unit norm
    meta = {"shape": [f"s{i % 3}" for i in range(n)], "image_path": [f"/data/{i}.png" for i in range(n)]}
    import pandas as pd

    return amumo_ng.Embeddings.from_arrays(image, text, captions=[f"cap {i}" for i in range(n)],
                                           meta=pd.DataFrame(meta), ids=None)


def test_written_folder_is_the_documented_layout(tmp_path):
    emb = make_embeddings(10)
    out = emb.to_clip_retrieval(tmp_path / "out", rows_per_shard=4)
    assert sorted(p.name for p in (out / "img_emb").iterdir()) == ["img_emb_0.npy", "img_emb_1.npy", "img_emb_2.npy"]
    first = np.load(out / "img_emb" / "img_emb_0.npy")
    assert first.dtype == np.float16 and first.shape == (4, 5)  # as clip-retrieval writes
    np.testing.assert_allclose(np.linalg.norm(first.astype(np.float32), axis=1), 1.0, atol=2e-3)
    table = pq.read_table(out / "metadata" / "metadata_2.parquet")
    assert table.column_names[:2] == ["image_path", "caption"] and table.num_rows == 2
    assert table.column("caption").to_pylist() == ["cap 8", "cap 9"]
    assert table.column("image_path").to_pylist() == ["/data/8.png", "/data/9.png"]
    twelve = emb.to_clip_retrieval(tmp_path / "twelve", rows_per_shard=1, dtype="float32").joinpath("text_emb")
    assert {"text_emb_00.npy", "text_emb_09.npy"} <= {p.name for p in twelve.iterdir()}  # padded like clip-retrieval


def test_round_trip_gives_the_unit_vectors_and_metadata(tmp_path):
    emb = make_embeddings(10)
    unit_img = emb.image / np.linalg.norm(emb.image, axis=1, keepdims=True)
    unit_txt = emb.text / np.linalg.norm(emb.text, axis=1, keepdims=True)
    exact = amumo_ng.Embeddings.from_clip_retrieval(emb.to_clip_retrieval(tmp_path / "f32", dtype="float32",
                                                                           rows_per_shard=3))
    np.testing.assert_allclose(exact.image, unit_img, atol=1e-6)
    np.testing.assert_allclose(exact.text, unit_txt, atol=1e-6)
    assert exact.captions == emb.captions and exact.ids == emb.ids
    assert exact.meta["shape"].tolist() == emb.meta["shape"].tolist()
    half = amumo_ng.Embeddings.from_clip_retrieval(emb.to_clip_retrieval(tmp_path / "f16"))
    np.testing.assert_allclose(half.image, unit_img, atol=1e-3)  # float16 keeps about 3 decimals
    with pytest.raises(FileExistsError, match="not empty; pass overwrite=True"):
        emb.to_clip_retrieval(tmp_path / "f16")
    again = emb.to_clip_retrieval(tmp_path / "f16", overwrite=True, rows_per_shard=5)
    assert amumo_ng.Embeddings.from_clip_retrieval(again).n == 10
    assert sorted(p.name for p in (again / "metadata").iterdir()) == ["metadata_0.parquet", "metadata_1.parquet"]


def test_loaded_folder_goes_straight_into_the_explorer(tmp_path):
    from amumo_ng.widgets.explorer import Explorer

    build_folder(tmp_path / "emb", sizes=(6, 6))
    ex = Explorer({"clip-retrieval": amumo_ng.Embeddings.from_clip_retrieval(tmp_path / "emb")})
    assert ex.session.embeddings.n == 12
