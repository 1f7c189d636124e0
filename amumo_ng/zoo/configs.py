"""open_clip architectures of the zoo's toy models.

The configs are JSON files next to this module (``model_configs/``), the format open_clip
reads. :func:`register_toy_configs` makes them known to ``open_clip.create_model*``:

* ``amumo-toy-vit`` (the shipped models): embedding dim 64; ViT on 64x64 images, patch 8,
  width 128, 4 layers, 4 heads; text transformer width 64, 3 layers, 4 heads, context 32.
  About 4.2 M parameters, 3.2 M of them in the 49,408 x 64 token embedding (8.4 MB in float16).
* ``amumo-toy-micro`` (tests): embedding dim 16; ViT patch 16, width 32, 1 layer; text width 16,
  1 layer.
"""
from __future__ import annotations

import json
from pathlib import Path

TOY_MODEL = "amumo-toy-vit"
MICRO_MODEL = "amumo-toy-micro"
CONFIG_DIR = Path(__file__).with_name("model_configs")


def toy_config(name: str = TOY_MODEL) -> dict:
    """The open_clip config dict of one of the zoo's architectures."""
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
        raise KeyError(f"unknown zoo architecture {name!r}; known: {known}")
    return json.loads(path.read_text())


def register_toy_configs() -> list[str]:
    """Register the zoo's architectures with open_clip (idempotent). Returns their names."""
    import open_clip

    names = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
    known = set(open_clip.list_models())
    if not all(name in known for name in names):
        open_clip.add_model_config(CONFIG_DIR)
    return names
