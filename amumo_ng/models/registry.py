"""Model names -> encoders: the project's shipped zoo, open_clip hub models, and checkpoint files.

Names understood by :func:`load`:

- ``"toy-clip"``, ``"toy-cyclip"``, ``"toy-cloob"``: the small models trained on ``shapes`` and
  shipped inside the package (``amumo_ng/models/weights``), loaded through open_clip.
- ``"ARCH/TAG"``: any open_clip pretrained pair, e.g. ``"ViT-B-32/openai"`` (needs the network or
  a warm hub cache; offline, :func:`load` fails within seconds).
- ``"ARCH:/path/to/checkpoint.pt"``: an open_clip architecture with a local checkpoint file.
- ``"cyclip:/path/to/ckpt.pt"``, ``"cloob:/path/to/ckpt.pt"``: checkpoints of those training codes.
- ``"cloob-laion:/path/to/ckpt.pkl"``: a crowsonkb/cloob-training pickle (JAX/haiku parameters and a
  JSON config), e.g. the CLOOB ViT-B/16 on LAION-400M; read without JAX (:mod:`.cloob_checkpoint`).
"""
from __future__ import annotations

import difflib
import json
from importlib import resources
from pathlib import Path
from typing import Iterable

from .base import Encoder, ModelError


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """A ``"; did you mean ...?"`` suffix listing close matches of ``name`` (empty if none)."""
    close = difflib.get_close_matches(str(name), list(candidates), n=n, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def weights_dir() -> Path:
    """The folder of the shipped zoo weights and model cards."""
    return Path(str(resources.files("amumo_ng.models") / "weights"))


def zoo_cards() -> dict[str, dict]:
    """Model cards of the shipped zoo, by name (read from ``weights/*.json``)."""
    cards = {}
    folder = weights_dir()
    if folder.is_dir():
        for card_path in sorted(folder.glob("*.json")):
            card = json.loads(card_path.read_text())
            if (folder / f"{card_path.stem}.safetensors").is_file():
                cards[card.get("name", card_path.stem)] = card
    return cards


def available(include_hub: bool = True) -> list[str]:
    """Names :func:`load` accepts: the shipped zoo first, then open_clip's ``ARCH/TAG`` pairs."""
    names = list(zoo_cards())
    if include_hub:
        import open_clip

        names += [f"{arch}/{tag}" for arch, tag in open_clip.list_pretrained()]
    return names


def load_zoo(name: str, **kwargs) -> Encoder:
    """A shipped zoo model by name (``"toy-clip"`` ...), through the same open_clip path as a user checkpoint."""
    cards = zoo_cards()
    if name not in cards:
        raise ModelError(f"no shipped model {name!r}{suggest(name, cards)}; shipped: {sorted(cards) or 'none'}")
    card = cards[name]
    from .configs import register_toy_configs
    from .open_clip_encoder import OpenCLIPEncoder

    register_toy_configs()
    path = weights_dir() / f"{name}.safetensors"
    encoder = OpenCLIPEncoder(
        card["open_clip_config"], str(path), weights_id=card.get("sha256"), display_name=name, **kwargs
    )
    encoder.id = f"{name}:{card['open_clip_config']}:sha256-{encoder.id.rsplit('sha256-', 1)[1]}"
    return encoder


def load(name: str, **kwargs) -> Encoder:
    """Resolve a model name (see the module docstring) to an :class:`Encoder`.

    Keyword arguments go to the encoder (``device``, ``batch_size``). Weights load lazily, on the
    first encode, so resolving a name is cheap and a cached precompute never loads the model. An
    ``ARCH/TAG`` hub model whose weights are not in the local hub cache is checked here: when the
    hub does not answer within about 2 s, :class:`ModelError` is raised now (naming the offline
    alternatives), not at the first encode.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelError("a model name must be a non-empty string")
    name = name.strip()
    if name in zoo_cards():
        return load_zoo(name, **kwargs)
    family, sep, rest = name.partition(":")
    if sep and family == "cloob-laion":  # crowsonkb/cloob-training's JAX pickle + JSON config
        from .cloob_checkpoint import load_cloob_laion

        return load_cloob_laion(rest, **kwargs)
    if sep and family in ("cyclip", "cloob"):
        from .checkpoints import load_cloob, load_cyclip

        return (load_cyclip if family == "cyclip" else load_cloob)(rest, **kwargs)
    import open_clip

    from .open_clip_encoder import OpenCLIPEncoder

    if sep and family in open_clip.list_models():
        return OpenCLIPEncoder(family, rest, **kwargs)
    arch, slash, tag = name.partition("/")
    if slash and arch in open_clip.list_models():
        return OpenCLIPEncoder(arch, tag, **kwargs)
    raise ModelError(
        f"unknown model {name!r}{suggest(name, available())}. Use a shipped model ({', '.join(zoo_cards()) or 'none'}), "
        "an open_clip 'ARCH/TAG' pair, 'ARCH:/path/to/checkpoint', 'cyclip:'/'cloob:' + a checkpoint path, "
        "or 'cloob-laion:' + a cloob-training pickle"
    )
