"""The datasets registry: names, suggestions, user registrations, argument checks."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import amumo_ng.datasets as amd
from amumo_ng.datasets import DatasetError, PairDataset, Registry
from amumo_ng.datasets.coco import CocoCaptionsDataset
from amumo_ng.datasets.folder import FolderDataset

BUILTIN_NAMES = ["coco", "diffusiondb", "folder", "mscoco", "shapes"]


class TwoPairs(PairDataset):
    """A minimal user dataset for registration tests."""

    def __init__(self, word="x"):
        import pandas as pd

        self.id = f"two-{word}"
        self._meta = pd.DataFrame({"id": ["a", "b"], "caption": [f"{word} one", f"{word} two"]})

    def __len__(self):
        return 2

    def caption(self, i):
        return self._meta["caption"][self._check_index(i)]

    def image(self, i):
        from PIL import Image

        return Image.new("RGB", (4, 4))

    @property
    def meta(self):
        return self._meta.copy()


def test_available_lists_builtins_sorted():
    assert Registry().available() == BUILTIN_NAMES
    assert amd.available() == sorted(amd.available())
    assert set(BUILTIN_NAMES) <= set(amd.available())


@pytest.mark.parametrize(
    "name, suggestion",
    [("shape", "'shapes'"), ("cocoo", "'coco'"), ("difusiondb", "'diffusiondb'"), ("MSCOCO", "'mscoco'"), ("zzz", None)],
)
def test_unknown_name_suggests_close_ones(name, suggestion):
    with pytest.raises(DatasetError) as err:
        Registry().load(name)
    msg = str(err.value)
    assert f"unknown dataset {name!r}" in msg and "available: coco, diffusiondb, folder, mscoco, shapes" in msg
    if suggestion:
        assert f"did you mean {suggestion}" in msg
    else:
        assert "did you mean" not in msg


def test_user_names_live_on_their_registry_only():
    mine = Registry()
    assert mine.register("two", TwoPairs) is TwoPairs
    assert "two" in mine and mine.available() == sorted(BUILTIN_NAMES + ["two"])
    ds = mine.load("two", word="hi")
    assert ds.captions == ["hi one", "hi two"]
    assert "two" not in Registry()  # a fresh registry has only the built-ins
    assert "two" not in amd.available()  # nor does the default one
    with pytest.raises(DatasetError, match="did you mean 'two'"):
        mine.load("tow")
    mine.unregister("two")
    assert "two" not in mine


def test_registration_errors():
    reg = Registry()
    with pytest.raises(DatasetError, match="built-in dataset and cannot be replaced"):
        reg.register("shapes", TwoPairs)
    with pytest.raises(DatasetError, match="must be callable"):
        reg.register("thing", 42)
    with pytest.raises(DatasetError, match="non-empty string"):
        reg.register("  ", TwoPairs)
    reg.register("two", TwoPairs)
    with pytest.raises(DatasetError, match="already registered"):
        reg.register("two", lambda: TwoPairs("other"))
    reg.register("two", lambda: TwoPairs("other"), replace=True)
    assert reg.load("two").captions == ["other one", "other two"]
    with pytest.raises(DatasetError, match="cannot be removed"):
        reg.unregister("coco")
    with pytest.raises(DatasetError, match="unknown dataset 'nothing'"):
        reg.unregister("nothing")


def test_factory_must_return_a_pair_dataset():
    reg = Registry()
    reg.register("bad", lambda: [1, 2, 3])
    with pytest.raises(DatasetError, match="returned list, not a PairDataset"):
        reg.load("bad")


def test_arguments_checked_against_the_loader():
    with pytest.raises(DatasetError) as err:
        amd.load("folder", pth="x")
    assert "unexpected argument(s) 'pth'" in str(err.value)
    assert "path, captions, image_column, caption_column" in str(err.value)
    with pytest.raises(DatasetError, match="missing a required argument: 'image_dir'"):
        amd.load("coco", captions_json="x.json")
    with pytest.raises(DatasetError, match="accepts: n, seed, image_size, anomaly_rate"):
        amd.load("shapes", size=3)


def test_module_register_uses_the_default_registry():
    try:
        amd.register("two-default", TwoPairs)
        assert "two-default" in amd.available()
        assert amd.load("two-default").id == "two-x"
    finally:
        amd.default_registry().unregister("two-default")
    assert "two-default" not in amd.available()
    custom = Registry()
    amd.register("elsewhere", TwoPairs, registry=custom)
    assert "elsewhere" in amd.available(registry=custom) and "elsewhere" not in amd.available()
    assert amd.load("elsewhere", registry=custom).captions == ["x one", "x two"]


def test_folder_and_coco_by_name_equal_direct_construction(tmp_path, jpeg):
    jpeg(tmp_path / "a.jpg", (10, 20, 30))
    jpeg(tmp_path / "b.jpg", (200, 20, 30))
    (tmp_path / "caps.csv").write_text("image,caption\na.jpg,dark\nb.jpg,red\n")
    by_name = amd.load("folder", path=tmp_path, captions=tmp_path / "caps.csv")
    direct = FolderDataset(tmp_path, tmp_path / "caps.csv")
    assert isinstance(by_name, FolderDataset)
    assert (by_name.id, by_name.captions) == (direct.id, ["dark", "red"])

    doc = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
           "annotations": [{"id": 1, "image_id": 2, "caption": "red"}, {"id": 2, "image_id": 1, "caption": "dark"},
                           {"id": 3, "image_id": 1, "caption": "black"}]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    coco = amd.load("coco", captions_json=tmp_path / "c.json", image_dir=tmp_path, all_captions=True)
    assert isinstance(coco, CocoCaptionsDataset)
    assert coco.captions == ["dark", "black", "red"]
    assert coco.id == CocoCaptionsDataset(tmp_path / "c.json", tmp_path, all_captions=True).id


def test_shapes_by_name():
    import amumo_ng.datasets.shapes as shapes  # an ImportError here must fail the suite
    ds = amd.load("shapes", n=4, seed=3)
    ref = shapes.ShapesDataset(n=4, seed=3)
    assert (ds.id, ds.captions) == (ref.id, ref.captions)


def test_missing_loader_module_is_a_dataset_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "amumo_ng.datasets.shapes", None)  # import now fails
    with pytest.raises(DatasetError, match="'shapes' is not available in this installation"):
        amd.load("shapes")


def test_import_is_lazy():
    code = (
        "import sys, amumo_ng.datasets as d; d.available();"
        "heavy = [m for m in ('datasets', 'torch', 'amumo_ng.datasets.folder', 'amumo_ng.datasets.coco',"
        " 'amumo_ng.datasets.hub', 'amumo_ng.datasets.shapes') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
