"""crowsonkb/cloob-training checkpoints (issue 14, item 7) on a tiny checkpoint fabricated here.

The pickle has cloob-training's structure (``{"params": (image_params, text_params), "epoch"}``,
haiku module paths ``vi_t_image_encoder/layer_0/self_attention/multi_head_attention/query`` ...
with ``w``/``b``/``scale``/``offset``/``embeddings`` leaves), once with plain numpy arrays and once
as JAX and haiku pickle them (``jax._src.array._reconstruct_array``, ``FlatMapping``, an optax
state), made with stand-in modules that are gone before loading. The encoder's outputs are
checked against a forward pass of the haiku model written here in numpy.
"""
from __future__ import annotations

import math
import pickle
import sys
import types
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image

from amumo_ng.models import ModelError, load
from amumo_ng.models.cloob_checkpoint import CLOOBTrainingEncoder

CONFIG = {
    "d_embed": 6, "inv_tau": 27.5, "scale_hopfield": 14.0,
    "image_encoder": {"type": "ViT", "image_size": 16, "input_channels": 3, "patch_size": 8,
                      "n_layers": 2, "d_model": 8, "n_heads": 2,
                      "normalize": {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3]}},
    # text d_model (5) differs from d_embed (6): haiku's text transformer is d_embed wide, d_ff = 4 * 5
    "text_encoder": {"type": "transformer", "tokenizer": "clip", "text_size": 12, "vocab_size": 49408,
                     "n_layers": 2, "d_model": 5, "n_heads": 2},
}
EOT = 49407


def haiku_params(config: dict, seed: int = 0) -> tuple[dict, dict]:
    """Random parameters in haiku's layout for the two towers of ``config``."""
    rng = np.random.default_rng(seed)

    def arr(*shape, s=0.4):
        return (s * rng.normal(size=shape)).astype(np.float32)

    def layers(root, width, d_ff, n):
        tree = {}
        for i in range(n):
            pre = f"{root}/layer_{i}"
            for norm in ("self_attention/layer_norm", "feed_forward/layer_norm"):
                tree[f"{pre}/{norm}"] = {"scale": 1 + arr(width, s=0.1), "offset": arr(width, s=0.1)}
            for part in ("query", "key", "value", "linear"):
                tree[f"{pre}/self_attention/multi_head_attention/{part}"] = {"w": arr(width, width), "b": arr(width, s=0.1)}
            tree[f"{pre}/feed_forward/linear_0"] = {"w": arr(width, d_ff), "b": arr(d_ff, s=0.1)}
            tree[f"{pre}/feed_forward/linear_1"] = {"w": arr(d_ff, width), "b": arr(width, s=0.1)}
        return tree

    im, tx, d = config["image_encoder"], config["text_encoder"], config["d_embed"]
    w, p = im["d_model"], im["patch_size"]
    image = {"vi_t_image_encoder": {"class_embed": arr(w)},
             "vi_t_image_encoder/embed": {"w": arr(p, p, 3, w, s=0.2)},
             "vi_t_image_encoder/pos_embed": {"w": arr((im["image_size"] // p) ** 2 + 1, w)},
             **layers("vi_t_image_encoder", w, 4 * w, im["n_layers"]),
             "vi_t_image_encoder/proj": {"w": arr(w, d), "b": arr(d)}}
    text = {"text_encoder/embed": {"embeddings": arr(tx["vocab_size"], d)},
            "text_encoder/pos_embed": {"w": arr(tx["text_size"], d)},
            **layers("text_encoder", d, 4 * tx["d_model"], tx["n_layers"]),
            "text_encoder/proj": {"w": arr(d, d), "b": arr(d)}}
    return image, text


# -- the haiku model, in numpy ------------------------------------------------------------------------
def layer_norm(x, p):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * p["scale"] + p["offset"]


def linear(x, p):
    return x @ p["w"] + p["b"]


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def attention(x, params, pre, heads, query_mask):
    """hk.MultiHeadAttention(heads, width // heads) of layer-normed x; the mask [B, T] drops query rows."""
    b, t, width = x.shape
    k = width // heads
    h = layer_norm(x, params[f"{pre}/layer_norm"])
    mha = f"{pre}/multi_head_attention"
    q, kk, v = (linear(h, params[f"{mha}/{n}"]).reshape(b, t, heads, k) for n in ("query", "key", "value"))
    out = np.zeros((b, t, heads, k))
    for bi in range(b):
        for hi in range(heads):
            for ti in range(t):
                logits = np.array([q[bi, ti, hi] @ kk[bi, tj, hi] / math.sqrt(k) for tj in range(t)])
                if query_mask is not None and not query_mask[bi, ti]:
                    logits = np.full(t, -1e30)
                wts = np.exp(logits - logits.max())
                wts /= wts.sum()
                out[bi, ti, hi] = (wts[:, None] * v[bi, :, hi]).sum(0)
    return linear(out.reshape(b, t, width), params[f"{mha}/linear"])


def transformer(x, params, root, n_layers, heads, query_mask=None):
    for i in range(n_layers):
        pre = f"{root}/layer_{i}"
        x = x + attention(x, params, f"{pre}/self_attention", heads, query_mask)
        h = layer_norm(x, params[f"{pre}/feed_forward/layer_norm"])
        x = x + linear(gelu_tanh(linear(h, params[f"{pre}/feed_forward/linear_0"])), params[f"{pre}/feed_forward/linear_1"])
    return x


def image_forward(params, images, config):
    """images float [B, 3, S, S] (normalised) -> raw [B, d_embed]."""
    im = config["image_encoder"]
    p, g = im["patch_size"], im["image_size"] // im["patch_size"]
    w = params["vi_t_image_encoder/embed"]["w"]  # [kh, kw, in, out]
    b = images.shape[0]
    tokens = np.zeros((b, g * g, w.shape[3]))
    for i in range(g):
        for j in range(g):
            patch = images[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p]  # [B, C, kh, kw]
            tokens[:, i * g + j] = np.einsum("bchw,hwco->bo", patch, w)
    cls = np.broadcast_to(params["vi_t_image_encoder"]["class_embed"], (b, 1, w.shape[3]))
    x = np.concatenate([cls, tokens], 1) + params["vi_t_image_encoder/pos_embed"]["w"]
    x = transformer(x, params, "vi_t_image_encoder", im["n_layers"], im["n_heads"])
    return linear(x[:, 0], params["vi_t_image_encoder/proj"])


def text_forward(params, tokens, config):
    """token ids [B, T] -> raw [B, d_embed]; queries kept up to and including the first EOT."""
    tx = config["text_encoder"]
    keep = np.zeros(tokens.shape, bool)
    for bi, row in enumerate(tokens):
        for ti, tok in enumerate(row):
            keep[bi, ti] = True
            if tok == EOT:
                break
    x = params["text_encoder/embed"]["embeddings"][tokens] + params["text_encoder/pos_embed"]["w"]
    x = transformer(x, params, "text_encoder", tx["n_layers"], tx["n_heads"], keep)
    return linear(x[:, 0], params["text_encoder/proj"])


def pil_preprocess(image: Image.Image, config) -> np.ndarray:
    """cloob-training's train.py transform: shorter side to S (Lanczos), centre crop, /255, normalise."""
    im = config["image_encoder"]
    s = im["image_size"]
    w, h = image.size
    if w <= h:
        size = (s, int(s * h / w))
    else:
        size = (int(s * w / h), s)
    image = image.convert("RGB").resize(size, Image.LANCZOS)
    left, top = int(round((size[0] - s) / 2.0)), int(round((size[1] - s) / 2.0))
    x = np.asarray(image.crop((left, top, left + s, top + s)), np.float64) / 255.0
    x = (x - np.array(im["normalize"]["mean"])) / np.array(im["normalize"]["std"])
    return x.transpose(2, 0, 1)


# -- fabricated checkpoints ---------------------------------------------------------------------------
def write_numpy_checkpoint(path, params):
    with open(path, "wb") as f:
        pickle.dump({"params": params, "epoch": 16}, f)


def write_jax_style_checkpoint(path, params, monkeypatch):
    """Arrays pickled as jax.Array pickles itself, trees as haiku FlatMappings, an optax state;
    the stand-in modules exist only while pickling."""
    jax_array = types.ModuleType("jax._src.array")
    data_structures = types.ModuleType("haiku._src.data_structures")
    transform = types.ModuleType("optax._src.transform")

    def _reconstruct_array(fun, args, arr_state, aval_state):
        raise AssertionError("never called: the loader maps it to numpy")

    _reconstruct_array.__module__, _reconstruct_array.__qualname__ = "jax._src.array", "_reconstruct_array"
    jax_array._reconstruct_array = _reconstruct_array

    class ArrayImpl:
        def __init__(self, value):
            self.value = value

        def __reduce__(self):
            fun, args, state = self.value.__reduce__()
            return (_reconstruct_array, (fun, args, state, {"weak_type": False}))

    class FlatMapping(dict):
        def __reduce__(self):
            return (FlatMapping, (dict(self),))

    FlatMapping.__module__, FlatMapping.__qualname__ = "haiku._src.data_structures", "FlatMapping"
    data_structures.FlatMapping = FlatMapping

    class ScaleByAdamState(NamedTuple):
        count: object
        mu: object
        nu: object

    ScaleByAdamState.__module__, ScaleByAdamState.__qualname__ = "optax._src.transform", "ScaleByAdamState"
    transform.ScaleByAdamState = ScaleByAdamState

    def as_jax(tree):
        return FlatMapping({m: FlatMapping({k: ArrayImpl(v) for k, v in leaves.items()}) for m, leaves in tree.items()})

    with monkeypatch.context() as m:
        for name, module in (("jax._src.array", jax_array), ("haiku._src.data_structures", data_structures),
                             ("optax._src.transform", transform)):
            parts = name.split(".")
            for depth in (1, 2):  # their packages, for pickle's import of the module
                m.setitem(sys.modules, ".".join(parts[:depth]), types.ModuleType(".".join(parts[:depth])))
            m.setitem(sys.modules, name, module)
        trees = tuple(as_jax(t) for t in params)
        ckpt = {"params": trees, "opt_state": (ScaleByAdamState(ArrayImpl(np.zeros(3)), trees, trees),), "epoch": 32}
        with open(path, "wb") as f:
            pickle.dump(ckpt, f, protocol=4)
    assert not {"jax", "haiku", "optax"} & set(sys.modules)


IMAGES = [Image.new("RGB", (16, 16), (200, 30, 90)),
          Image.fromarray(np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)),
          Image.fromarray(np.random.default_rng(2).integers(0, 256, (20, 27, 3), dtype=np.uint8))]  # resized + cropped
TEXTS = ["a red circle", "two blue squares on a striped background with many more words than fit", "x"]


def reference(params, config):
    from open_clip.tokenizer import SimpleTokenizer

    pixels = np.stack([pil_preprocess(im, config) for im in IMAGES])
    tokens = SimpleTokenizer(context_length=config["text_encoder"]["text_size"])(TEXTS).numpy()
    assert tokens[1, -1] == EOT and (tokens[0] == 0).any()  # one truncated caption, one padded
    return image_forward(params[0], pixels, config), text_forward(params[1], tokens, config)


@pytest.mark.parametrize("style", ["numpy", "jax"])
def test_cloob_checkpoint_matches_the_haiku_forward_in_numpy(tmp_path, monkeypatch, style):
    params = haiku_params(CONFIG)
    path = tmp_path / "tiny-cloob.pkl"
    if style == "numpy":
        write_numpy_checkpoint(path, params)
    else:
        write_jax_style_checkpoint(path, params, monkeypatch)
    enc = CLOOBTrainingEncoder(path, config=CONFIG, device="cpu", batch_size=2)  # 3 items: a partial batch
    assert enc._towers is None  # lazy
    img, txt = enc.encode_images(IMAGES), enc.encode_texts(TEXTS)
    ref_img, ref_txt = reference(params, CONFIG)
    assert img.shape == (3, 6) and txt.shape == (3, 6) and img.dtype == txt.dtype == np.float32
    np.testing.assert_allclose(img, ref_img, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(txt, ref_txt, rtol=2e-4, atol=2e-5)
    assert not np.allclose(np.linalg.norm(img, axis=1), 1.0)  # raw: before the model's normalisation
    assert enc.logit_scale == 27.5 and enc.scale_hopfield == 14.0  # the config's inverse temperature
    assert "jax" not in sys.modules and "haiku" not in sys.modules and "optax" not in sys.modules


def test_registry_prefix_and_config_beside_the_checkpoint(tmp_path):
    import json

    params = haiku_params(CONFIG, seed=3)
    path = tmp_path / f"tiny_cloob-{'ab12' * 16}.pkl"  # a published-style name with its sha256 suffix
    write_numpy_checkpoint(path, params)
    (tmp_path / "tiny_cloob.json").write_text(json.dumps(CONFIG))
    enc = load(f"cloob-laion:{path}", device="cpu")
    assert isinstance(enc, CLOOBTrainingEncoder) and enc.id.startswith("cloob-laion:tiny_cloob:sha256-")
    ref_img, ref_txt = reference(params, CONFIG)
    np.testing.assert_allclose(enc.encode_texts(TEXTS), ref_txt, rtol=2e-4, atol=2e-5)
    other = tmp_path / "copy.pkl"
    write_numpy_checkpoint(other, haiku_params(CONFIG, seed=4))
    assert CLOOBTrainingEncoder(other, config=CONFIG).id != enc.id  # other weights, other cache key
    assert enc.encode_images([]).shape == (0, 6)


def test_published_name_brings_its_config(tmp_path):
    from amumo_ng.models.cloob_checkpoint import PUBLISHED_CONFIGS

    path = tmp_path / "cloob_laion_400m_vit_b_16_16_epochs-405a3c31572e0a38f8632fa0db704d0e4521ad663555479f86babd3d178b1892.pkl"
    write_numpy_checkpoint(path, haiku_params(CONFIG))  # a tiny model under the big one's name
    enc = CLOOBTrainingEncoder(path)
    assert enc.config == PUBLISHED_CONFIGS["cloob_laion_400m_vit_b_16_16_epochs"] and enc.logit_scale == 30.0
    with pytest.raises(ModelError, match="do not match the config"):  # 12 ViT-B/16 layers vs 2 here
        enc.encode_texts(["a"])


# -- bad input ----------------------------------------------------------------------------------------
def test_missing_file_and_missing_config(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load(f"cloob-laion:{tmp_path / 'nope.pkl'}")
    with pytest.raises(ModelError, match="needs a checkpoint path"):
        load("cloob-laion:")
    path = tmp_path / "unnamed.pkl"
    write_numpy_checkpoint(path, haiku_params(CONFIG))
    with pytest.raises(ModelError, match="no model config"):
        CLOOBTrainingEncoder(path)
    with pytest.raises(ModelError, match="config not found"):
        CLOOBTrainingEncoder(path, config=tmp_path / "none.json")


@pytest.mark.parametrize("tower, key, value, message", [
    ("image_encoder", "d_model", 16, r"vi_t_image_encoder class_embed has shape \(8,\).*implies \(16,\)"),
    ("text_encoder", "d_model", 7, "text_encoder/layer_0/feed_forward/linear_0 w .*implies"),
    ("image_encoder", "n_layers", 3, "missing .*layer_2"),
    ("text_encoder", "text_size", 77, "text_encoder/pos_embed w"),
])
def test_a_config_that_does_not_match_the_params(tmp_path, tower, key, value, message):
    import copy

    path = tmp_path / "tiny.pkl"
    write_numpy_checkpoint(path, haiku_params(CONFIG))
    config = copy.deepcopy(CONFIG)
    config[tower][key] = value
    enc = CLOOBTrainingEncoder(path, config=config)
    with pytest.raises(ModelError, match=message):
        enc.encode_images(IMAGES[:1])


@pytest.mark.parametrize("change, message", [
    (("image_encoder", "type", "ResNet"), "unknown cloob-training model type"),
    (("text_encoder", "type", "lstm"), "unknown cloob-training model type"),
    (("text_encoder", "tokenizer", "t5"), "unknown cloob-training tokenizer"),
    (("text_encoder", "vocab_size", 1000), "CLIP tokenizer"),
    (("image_encoder", "n_heads", 3), "do not divide"),
])
def test_unknown_model_types_and_bad_sizes(tmp_path, change, message):
    import copy

    path = tmp_path / "tiny.pkl"
    write_numpy_checkpoint(path, haiku_params(CONFIG))
    config = copy.deepcopy(CONFIG)
    config[change[0]][change[1]] = change[2]
    with pytest.raises(ModelError, match=message):
        CLOOBTrainingEncoder(path, config=config)
    del config["image_encoder"]
    with pytest.raises(ModelError, match="lacks"):
        CLOOBTrainingEncoder(path, config=config)


def test_a_pickle_that_is_not_a_checkpoint_is_refused_without_running_it(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran code from a pickle",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"params": Payload()}))
    with pytest.raises(ModelError, match="builtins.print.*refusing"):
        CLOOBTrainingEncoder(evil, config=CONFIG).encode_texts(["a"])
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps({"state_dict": {"a": np.zeros(2)}}))
    with pytest.raises(ModelError, match="not a cloob-training checkpoint"):
        CLOOBTrainingEncoder(wrong, config=CONFIG).encode_texts(["a"])
