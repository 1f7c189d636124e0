"""Loaders for checkpoints saved by other CLIP-family training codes (CyCLIP, CLOOB).

Both codes save ``{"epoch", "state_dict", "optimizer", ...}`` with an OpenAI-CLIP-layout model,
usually wrapped in DistributedDataParallel (keys prefixed ``module.``). We unwrap the state dict,
rebuild the architecture from the tensor shapes with open_clip, and return an OpenCLIPEncoder.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

from .base import ModelError
from ..fingerprint import file_digest
from .open_clip_encoder import OpenCLIPEncoder

#: Keys some training codes add beside the OpenAI layout; they carry no tower weights.
_EXTRA_KEYS = ("logit_inv_tau", "inv_tau", "logit_inv_temperature", "hopfield_scale")


def read_state_dict(path: str | os.PathLike) -> dict:
    """Load a checkpoint file (.safetensors or torch pickle) and return a flat tensor state dict.

    Unwraps ``{"state_dict": ...}`` / ``{"model": ...}`` containers and strips ``module.`` prefixes.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"checkpoint file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            import torch

            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"cannot read checkpoint {path}: {exc}") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not sd:
        raise ModelError(f"{path} holds no state dict")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def _openai_layout_encoder(path, family: str, default_logit_scale: Optional[float], batch_size: int, device):
    import open_clip
    import torch
    from open_clip.model import build_model_from_openai_state_dict

    sd = read_state_dict(path)
    extras = {k: sd.pop(k) for k in list(sd) if k in _EXTRA_KEYS}
    if "logit_scale" not in sd:
        if "logit_inv_tau" in extras:
            sd["logit_scale"] = extras["logit_inv_tau"].detach().float().reshape(())
        else:
            sd["logit_scale"] = torch.tensor(math.log(default_logit_scale or 100.0))
    needed = ("visual.", "token_embedding.weight", "text_projection", "ln_final.weight")
    missing = [k for k in needed if not any(key.startswith(k) for key in sd)]
    if missing:
        raise ModelError(f"{path} is not an OpenAI-layout CLIP checkpoint ({family}): missing {missing}")
    try:
        model = build_model_from_openai_state_dict(sd)
    except Exception as exc:
        raise ModelError(f"cannot build a {family} model from {path}: {exc}") from exc
    # open_clip's builder casts to fp16 (as OpenAI shipped); restore the checkpoint's own precision
    model = model.float()
    model.load_state_dict({k: v for k, v in sd.items() if k in model.state_dict()}, strict=False)
    preprocess = open_clip.image_transform(model.visual.image_size, is_train=False)
    tokenizer = open_clip.get_tokenizer("RN50")  # the OpenAI BPE tokenizer, context 77
    ctx = int(sd["positional_embedding"].shape[0])
    if ctx != 77:
        from open_clip.tokenizer import SimpleTokenizer

        tokenizer = SimpleTokenizer(context_length=ctx)
    ident = f"{family}:sha256-{file_digest(path)[:16]}"
    return OpenCLIPEncoder.from_model(model, preprocess, tokenizer, id=ident, device=device,
                                      batch_size=batch_size, preprocess_id=f"openai-{model.visual.image_size}")


def load_cyclip(path: str | os.PathLike, *, batch_size: int = 64, device: Optional[str] = None) -> OpenCLIPEncoder:
    """A CyCLIP checkpoint (goel-shashank/CyCLIP ``checkpoint["state_dict"]``, OpenAI layout) as an encoder."""
    return _openai_layout_encoder(path, "cyclip", None, batch_size, device)


def load_cloob(path: str | os.PathLike, *, batch_size: int = 64, device: Optional[str] = None,
               inv_tau: float = 30.0) -> OpenCLIPEncoder:
    """A CLOOB checkpoint (ml-jku/cloob, OpenAI layout) as an encoder.

    CLOOB trains with a fixed inverse temperature (30 by default); it becomes the encoder's
    ``logit_scale`` unless the checkpoint stores one.
    """
    return _openai_layout_encoder(path, "cloob", inv_tau, batch_size, device)
