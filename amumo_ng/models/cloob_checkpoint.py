"""Checkpoints of crowsonkb/cloob-training (the article's CLOOB ViT-B/16 on LAION-400M) as an Encoder.

That code trains in JAX/haiku and publishes a pickle ``{"params": (image_params, text_params),
"epoch": int}`` (training checkpoints also hold ``"opt_state"``) with a JSON model config
(``cloob_training/pretrained_configs/*.json``: ``d_embed``, ``inv_tau``, ``scale_hopfield``, the
``image_encoder`` and ``text_encoder`` sizes). Each parameter tree is haiku's flat mapping
``{"module/path": {"w": array, "b": array, ...}}`` (modules ``vi_t_image_encoder/...`` and
``text_encoder/...``). It is read here WITHOUT JAX: the unpickler maps JAX arrays
(``jax._src.array._reconstruct_array``; older JAX pickled plain ndarrays) to numpy, haiku's
``FlatMapping`` to dicts, ignores optimiser states, and refuses anything else a checkpoint does
not hold (a pickle can run code). The parameters are checked against the config (every name and
shape), loaded into the torch port of :mod:`.cloob_model`, and CLOOB's fixed inverse temperature
``inv_tau`` becomes the encoder's ``logit_scale``.

``amumo_ng.models.load("cloob-laion:/path/to/cloob_laion_400m_vit_b_16_16_epochs-<sha>.pkl")``;
the config is ``config=`` (a dict or a JSON path), else a JSON beside the pickle (same name, or the
name without its ``-<sha256>`` suffix), else the published config of that name (both published
ViT-B/16 checkpoints are known here).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import re
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..fingerprint import file_digest
from .base import Encoder, ModelError

_VIT_B_16 = {
    "d_embed": 512, "inv_tau": 30.0, "scale_hopfield": 15.0,
    "image_encoder": {"type": "ViT", "image_size": 224, "input_channels": 3, "patch_size": 16,
                      "n_layers": 12, "d_model": 768, "n_heads": 12,
                      "normalize": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                    "std": [0.26862954, 0.26130258, 0.27577711]}},
    "text_encoder": {"type": "transformer", "tokenizer": "clip", "text_size": 77, "vocab_size": 49408,
                     "n_layers": 12, "d_model": 512, "n_heads": 8},
}
#: The configs cloob-training publishes (pretrained_configs/*.json, the download URL left out).
PUBLISHED_CONFIGS = {
    "cloob_laion_400m_vit_b_16_16_epochs": _VIT_B_16,
    "cloob_laion_400m_vit_b_16_32_epochs": _VIT_B_16,
}
IMAGE_ROOT, TEXT_ROOT = "vi_t_image_encoder", "text_encoder"  # haiku's names of the two modules
CLIP_VOCAB = 49408  # the CLIP BPE tokenizer's vocabulary (end of text = 49407)


# -- reading the pickle without JAX ----------------------------------------------------------------
def _reconstruct_array(fun, args, array_state, _aval_state=None):
    """``jax._src.array._reconstruct_array`` without the device put: the numpy array itself."""
    value = fun(*args)
    value.__setstate__(array_state)
    return value


def _as_dict(mapping=(), *rest):
    """haiku's ``FlatMapping`` / ``FlatMap`` pickle as ``FlatMapping(mapping)``: a plain dict."""
    return dict(mapping)


class _Ignored:
    """Stands in for optimiser-state classes (optax); their contents are never used."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


_NUMPY_NAMES = {"_reconstruct", "scalar", "_frombuffer", "ndarray", "dtype"}
_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "slice", "complex", "bytearray", "int", "float"}


class _CheckpointUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.split(".")[0] == "numpy" and (name in _NUMPY_NAMES or module.startswith("numpy.dtypes")):
            return super().find_class(module, name)
        if module == "builtins" and name in _BUILTINS:
            return super().find_class(module, name)
        if module == "collections" and name == "OrderedDict":
            return super().find_class(module, name)
        if module == "jax._src.array" and name == "_reconstruct_array":
            return _reconstruct_array
        if module.split(".")[0] == "haiku" and name in ("FlatMapping", "FlatMap", "frozendict"):
            return _as_dict
        if module.split(".")[0] == "optax":
            return _Ignored
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}, which a cloob-training checkpoint does not hold; "
            "refusing to load it (unpickling can run code)")


def read_cloob_params(path) -> tuple[dict, dict]:
    """(image_params, text_params) of a cloob-training pickle, as ``{module: {name: float32 array}}``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"cloob-training checkpoint not found: {path}")
    try:
        with open(path, "rb") as handle:
            ckpt = _CheckpointUnpickler(handle).load()
    except Exception as exc:
        raise ModelError(f"cannot read the cloob-training checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    params = ckpt.get("params") if isinstance(ckpt, dict) else ckpt
    if not (isinstance(params, (tuple, list)) and len(params) == 2 and all(isinstance(p, dict) for p in params)):
        raise ModelError(f"{path} is not a cloob-training checkpoint: expected {{'params': (image_params, "
                         f"text_params)}}, got {type(ckpt).__name__}"
                         + (f" with keys {sorted(map(str, ckpt))}" if isinstance(ckpt, dict) else ""))
    trees = []
    for tree in params:
        out = {}
        for module, leaves in tree.items():
            if not isinstance(leaves, dict):
                raise ModelError(f"{path}: parameter {module!r} is a {type(leaves).__name__}, not a dict of arrays")
            out[str(module)] = {str(k): np.asarray(v, dtype=np.float32) for k, v in leaves.items()}
        trees.append(out)
    return trees[0], trees[1]


# -- the config ------------------------------------------------------------------------------------
def resolve_config(path, config=None) -> tuple[str, dict]:
    """(name, config dict) for the checkpoint at ``path``: ``config`` (dict or JSON path), else
    ``NAME.json`` beside it (NAME: the file's stem, or the stem without ``-<sha256>``), else the
    published config of that NAME."""
    path = Path(path).expanduser()
    stem = path.stem
    base = re.sub(r"-[0-9a-f]{16,64}$", "", stem)
    if isinstance(config, dict):
        return base, copy.deepcopy(config)
    if config is not None:
        cfg_path = Path(config).expanduser()
        if not cfg_path.is_file():
            raise ModelError(f"cloob-training config not found: {cfg_path}")
        return base, _read_json(cfg_path)
    for candidate in dict.fromkeys([path.with_suffix(".json"), path.with_name(base + ".json")]):
        if candidate.is_file():
            return base, _read_json(candidate)
    if base in PUBLISHED_CONFIGS:
        return base, copy.deepcopy(PUBLISHED_CONFIGS[base])
    raise ModelError(
        f"no model config for {path.name}: pass config='path/to/config.json' (cloob-training's "
        f"pretrained_configs JSON), put {base}.json beside the checkpoint, or keep a published name "
        f"({', '.join(PUBLISHED_CONFIGS)})")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the cloob-training config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} holds no config object")
    return data


def check_config(config: dict) -> None:
    """Raise :class:`ModelError` unless ``config`` describes a model cloob-training defines (a ViT
    image encoder, a transformer text encoder on the CLIP tokenizer) with whole sizes."""
    try:
        img, txt = config["image_encoder"], config["text_encoder"]
        kinds = (img["type"], txt["type"], txt.get("tokenizer", "clip"))
        sizes = {"d_embed": config["d_embed"], "inv_tau": config["inv_tau"],
                 **{f"image_encoder.{k}": img[k] for k in ("image_size", "patch_size", "n_layers", "d_model", "n_heads")},
                 **{f"text_encoder.{k}": txt[k] for k in ("text_size", "vocab_size", "n_layers", "d_model", "n_heads")}}
    except (KeyError, TypeError) as exc:
        raise ModelError(f"the cloob-training config lacks {exc}") from exc
    if kinds[0] != "ViT" or kinds[1] != "transformer":
        raise ModelError(f"unknown cloob-training model type: image encoder {kinds[0]!r}, text encoder "
                         f"{kinds[1]!r}; cloob-training defines only 'ViT' and 'transformer'")
    if kinds[2] != "clip":
        raise ModelError(f"unknown cloob-training tokenizer {kinds[2]!r}; only 'clip' is defined")
    bad = [k for k, v in sizes.items() if not isinstance(v, (int, float)) or v <= 0]
    if bad:
        raise ModelError(f"the cloob-training config has non-positive or non-numeric {', '.join(bad)}")
    if txt["vocab_size"] != CLIP_VOCAB:
        raise ModelError(f"text_encoder.vocab_size is {txt['vocab_size']}, but the CLIP tokenizer has {CLIP_VOCAB}")
    if img["image_size"] % img["patch_size"] or img["d_model"] % img["n_heads"] or config["d_embed"] % txt["n_heads"]:
        raise ModelError("the cloob-training config's sizes do not divide: image_size by patch_size, "
                         "image d_model by n_heads, d_embed by the text n_heads")


def expected_shapes(config: dict) -> tuple[dict, dict]:
    """The haiku parameter trees the config implies: ({module: {name: shape}} image, text)."""
    img, txt, d = config["image_encoder"], config["text_encoder"], int(config["d_embed"])

    def layers(root, width, d_ff, n):
        tree = {}
        for i in range(n):
            pre = f"{root}/layer_{i}"
            for norm in (f"{pre}/self_attention/layer_norm", f"{pre}/feed_forward/layer_norm"):
                tree[norm] = {"scale": (width,), "offset": (width,)}
            for part in ("query", "key", "value", "linear"):
                tree[f"{pre}/self_attention/multi_head_attention/{part}"] = {"w": (width, width), "b": (width,)}
            tree[f"{pre}/feed_forward/linear_0"] = {"w": (width, d_ff), "b": (d_ff,)}
            tree[f"{pre}/feed_forward/linear_1"] = {"w": (d_ff, width), "b": (width,)}
        return tree

    w, p, c = int(img["d_model"]), int(img["patch_size"]), int(img.get("input_channels", 3))
    image = {IMAGE_ROOT: {"class_embed": (w,)}, f"{IMAGE_ROOT}/embed": {"w": (p, p, c, w)},
             f"{IMAGE_ROOT}/pos_embed": {"w": ((int(img["image_size"]) // p) ** 2 + 1, w)},
             **layers(IMAGE_ROOT, w, 4 * w, int(img["n_layers"])),
             f"{IMAGE_ROOT}/proj": {"w": (w, d), "b": (d,)}}
    text = {f"{TEXT_ROOT}/embed": {"embeddings": (int(txt["vocab_size"]), d)},
            f"{TEXT_ROOT}/pos_embed": {"w": (int(txt["text_size"]), d)},
            **layers(TEXT_ROOT, d, 4 * int(txt["d_model"]), int(txt["n_layers"])),
            f"{TEXT_ROOT}/proj": {"w": (d, d), "b": (d,)}}
    return image, text


def check_params(params: dict, expected: dict, tower: str) -> None:
    """Raise :class:`ModelError` naming the first parameter whose name or shape differs."""
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise ModelError(f"the {tower} parameters do not match the config: "
                         + (f"missing {missing[:3]}{' …' if len(missing) > 3 else ''} " if missing else "")
                         + (f"unexpected {extra[:3]}{' …' if len(extra) > 3 else ''}" if extra else "")
                         + " (a different n_layers, or not a cloob-training checkpoint?)")
    for module, leaves in expected.items():
        for name, shape in leaves.items():
            got = params[module].get(name)
            if got is None or tuple(got.shape) != tuple(shape):
                raise ModelError(f"the config does not match the checkpoint: {module} {name} has shape "
                                 f"{None if got is None else tuple(got.shape)}, the config implies {tuple(shape)} "
                                 "(check d_embed, d_model, n_heads, patch_size, image_size, text_size)")


def torch_state(image: dict, text: dict) -> dict:
    """The :mod:`.cloob_model` state dicts {"image": ..., "text": ...} of haiku parameter trees
    (haiku Linear ``w`` is [in, out]: transposed; Conv2D ``w`` is [kh, kw, in, out])."""
    import torch

    def tensor(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    def tower(tree, root):
        state = {}
        for module, leaves in tree.items():
            part = module[len(root) + 1:] if module != root else ""
            match = re.fullmatch(r"layer_(\d+)/(self_attention|feed_forward)/(.+)", part)
            if part == "":
                state["class_embed"] = tensor(leaves["class_embed"])
            elif part == "embed":
                state["embed.weight"] = (tensor(leaves["w"]).permute(3, 2, 0, 1).contiguous()
                                         if "w" in leaves else tensor(leaves["embeddings"]))
            elif part == "pos_embed":
                state["pos_embed"] = tensor(leaves["w"])
            elif part == "proj":
                state["proj.weight"], state["proj.bias"] = tensor(leaves["w"].T), tensor(leaves["b"])
            elif match:
                i, block, rest = match.groups()
                target = {"layer_norm": "norm", "multi_head_attention/query": "query",
                          "multi_head_attention/key": "key", "multi_head_attention/value": "value",
                          "multi_head_attention/linear": "out", "linear_0": "linear_0", "linear_1": "linear_1"}[rest]
                pre = f"layers.{i}.{'attn' if block == 'self_attention' else 'ff'}.{target}"
                if rest == "layer_norm":
                    state[f"{pre}.weight"], state[f"{pre}.bias"] = tensor(leaves["scale"]), tensor(leaves["offset"])
                else:
                    state[f"{pre}.weight"], state[f"{pre}.bias"] = tensor(leaves["w"].T), tensor(leaves["b"])
        return state

    return {"image": tower(image, IMAGE_ROOT), "text": tower(text, TEXT_ROOT)}


# -- the encoder -----------------------------------------------------------------------------------
class CLOOBTrainingEncoder(Encoder):
    """A cloob-training checkpoint as an :class:`Encoder` (weights load on the first encode).

    Outputs are the raw projections (float32 [n, d_embed]) before the model's L2 normalisation.
    Images: resized (shorter side, Lanczos) and centre-cropped to ``image_size``, then normalised
    with the config's mean/std (cloob-training's ``train.py``); texts: the CLIP BPE tokenizer at
    ``text_size`` tokens. ``logit_scale`` is the config's ``inv_tau``; ``scale_hopfield`` is kept.
    """

    def __init__(self, path, *, config=None, device: Optional[str] = None, batch_size: int = 64,
                 weights_id: Optional[str] = None):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ModelError(f"cloob-training checkpoint not found: {self.path}")
        if batch_size < 1:
            raise ModelError(f"batch_size must be >= 1, got {batch_size}")
        self.name, self.config = resolve_config(self.path, config)
        check_config(self.config)
        self.batch_size, self._device = int(batch_size), device
        self._towers = None
        self.logit_scale = float(self.config["inv_tau"])
        self.scale_hopfield = float(self.config.get("scale_hopfield", 0.0)) or None
        self.id = f"cloob-laion:{self.name}:sha256-{(weights_id or file_digest(self.path))[:16]}"
        img = self.config["image_encoder"]
        pp = {"size": img["image_size"], "resize": "lanczos", "normalize": img.get("normalize")}
        self.preprocess_id = "cloob-" + hashlib.sha256(json.dumps(pp, sort_keys=True).encode()).hexdigest()[:12]

    def _load(self):
        if self._towers is not None:
            return self._towers
        import torch
        from open_clip.tokenizer import SimpleTokenizer
        from torchvision import transforms

        from .cloob_model import build_towers
        from .open_clip_encoder import pick_device

        image_params, text_params = read_cloob_params(self.path)
        want_image, want_text = expected_shapes(self.config)
        check_params(image_params, want_image, "image")
        check_params(text_params, want_text, "text")
        state = torch_state(image_params, text_params)
        image, text = build_towers(self.config)
        image.load_state_dict(state["image"], strict=True)
        text.load_state_dict(state["text"], strict=True)
        device = torch.device(pick_device(self._device))
        img = self.config["image_encoder"]
        norm = img.get("normalize") or {"mean": [0.5] * 3, "std": [0.5] * 3}
        self._preprocess = transforms.Compose([
            transforms.Resize(int(img["image_size"]), interpolation=transforms.InterpolationMode.LANCZOS),
            transforms.CenterCrop(int(img["image_size"])), transforms.ToTensor(),
            transforms.Normalize(norm["mean"], norm["std"])])
        self._tokenizer = SimpleTokenizer(context_length=int(self.config["text_encoder"]["text_size"]))
        self._torch_device = device
        self._towers = (image.to(device).eval(), text.to(device).eval())
        return self._towers

    @property
    def towers(self):
        """(image tower, text tower): the torch modules (loads them)."""
        return self._load()

    def _batches(self, items, encode):
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(items), self.batch_size):
                out.append(encode(items[start:start + self.batch_size]).float().cpu().numpy())
        if not out:
            return np.zeros((0, int(self.config["d_embed"])), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        image, _ = self._load()
        return self._batches(list(images), lambda batch: image(torch.stack(
            [self._preprocess(im.convert("RGB")) for im in batch]).to(self._torch_device)))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        _, text = self._load()
        return self._batches([str(t) for t in texts],
                             lambda batch: text(self._tokenizer(batch).to(self._torch_device)))


def load_cloob_laion(path, **kwargs) -> CLOOBTrainingEncoder:
    """``cloob-laion:PATH``: a crowsonkb/cloob-training pickle (e.g. the article's CLOOB ViT-B/16 on
    LAION-400M) as an encoder; ``config=`` (dict or JSON path), ``device``, ``batch_size``."""
    if not str(path).strip():
        raise ModelError("cloob-laion: needs a checkpoint path, e.g. 'cloob-laion:/models/cloob_laion_400m_vit_b_16_16_epochs.pkl'")
    return CLOOBTrainingEncoder(os.fspath(path), **kwargs)
