"""Encoders backed by open_clip: hub tags, local checkpoint files, and in-memory models."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..fingerprint import file_digest
from ..network import hf_endpoint, require_online
from .base import Encoder, ModelError

_OFFLINE_HINT = (
    "Offline, use a local checkpoint (OpenCLIPEncoder(model_name, pretrained='/path/to/weights.pt')), "
    "one of the shipped models (amumo_ng.models.load('toy-clip'), 'toy-cyclip', 'toy-cloob'), "
    "or precomputed vectors (amumo_ng.Embeddings.from_arrays)."
)


def pick_device(device: Optional[str] = None) -> str:
    """``device`` if given, else "cuda" when available, else "cpu"."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class OpenCLIPEncoder(Encoder):
    """An open_clip model as an :class:`Encoder`.

    Parameters
    ----------
    model_name : str
        An open_clip architecture name (``open_clip.list_models()``), e.g. ``"ViT-B-32"``.
    pretrained : str or path, optional
        A hub tag (``"openai"``, ``"laion2b_s34b_b79k"``) or a local checkpoint file (.pt/.bin/.safetensors).
        None gives random weights (useful only for tests).
    device : str, optional
        "cuda"/"cpu"/...; default: CUDA when present.
    batch_size : int
        Images/texts per forward pass; the last partial batch is kept.
    weights_id : str, optional
        A precomputed weights fingerprint (skips hashing the checkpoint file).

    The model is loaded lazily on first encode, so ``id`` (the cache key) is cheap and a cached
    precompute never loads it. A hub tag whose weights are not in the local cache is checked at
    construction: when the hub does not answer within about 2 s, :class:`ModelError` is raised
    then, naming the offline alternatives. Outputs are raw float32 [n, embed_dim] (``normalize=False``).
    """

    def __init__(
        self,
        model_name: str,
        pretrained: Optional[str | os.PathLike] = None,
        *,
        device: Optional[str] = None,
        batch_size: int = 64,
        weights_id: Optional[str] = None,
        display_name: Optional[str] = None,
    ):
        import open_clip

        if model_name not in open_clip.list_models():
            from .registry import suggest

            raise ModelError(
                f"unknown open_clip architecture {model_name!r}{suggest(model_name, open_clip.list_models())}"
            )
        if batch_size < 1:
            raise ModelError(f"batch_size must be >= 1, got {batch_size}")
        self.model_name = model_name
        self.batch_size = int(batch_size)
        self._device = device
        self._model = None
        self._preprocess = None
        self._tokenizer = None
        self._checkpoint: Optional[Path] = None
        self._tag: Optional[str] = None
        if pretrained is not None and (Path(pretrained).suffix in (".pt", ".pth", ".bin", ".safetensors") or os.sep in str(pretrained) or Path(pretrained).exists()):
            path = Path(pretrained).expanduser()
            if not path.is_file():
                raise ModelError(f"checkpoint file not found: {path}")
            self._checkpoint = path
            fingerprint = weights_id or file_digest(path)
            self.id = f"open_clip:{model_name}:sha256-{fingerprint[:16]}"
        elif pretrained is not None:
            tag = str(pretrained)
            known = open_clip.list_pretrained_tags_by_model(model_name)
            if tag not in known:
                from .registry import suggest

                raise ModelError(
                    f"open_clip has no pretrained tag {tag!r} for {model_name!r}{suggest(tag, known)}"
                )
            self._tag = tag
            self.id = f"open_clip:{model_name}:{tag}"
            if self._cached_hub_weights() is None:  # fail here, not at the first encode
                self._require_hub()
        else:
            self.id = f"open_clip:{model_name}:random-init"
        self.display_name = display_name or self.id
        cfg = open_clip.get_model_config(model_name) or {}
        self.preprocess_id = "pp-" + hashlib.sha256(
            json.dumps({"vision": cfg.get("vision_cfg", {}), "pp": cfg.get("preprocess_cfg", {})}, sort_keys=True).encode()
        ).hexdigest()[:12]

    @classmethod
    def from_model(cls, model, preprocess, tokenizer, *, id: str, device: Optional[str] = None,
                   batch_size: int = 64, preprocess_id: str = "custom") -> "OpenCLIPEncoder":
        """Wrap an already built open_clip-style model (``encode_image``/``encode_text``/``logit_scale``).

        Used by the CyCLIP/CLOOB checkpoint loaders and by callers who built a model themselves.
        """
        import torch

        self = cls.__new__(cls)
        self.model_name = getattr(model, "name", type(model).__name__)
        self.batch_size = int(batch_size)
        self._device = device
        self._checkpoint = None
        self._tag = None
        self.id = id
        self.display_name = id
        self.preprocess_id = preprocess_id
        dev = pick_device(device)
        self._model = model.to(dev).eval()
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        self._torch_device = torch.device(dev)
        return self

    # -- lazy model ------------------------------------------------------------------
    def _hub_cfg(self) -> dict:
        import open_clip

        return open_clip.get_pretrained_cfg(self.model_name, self._tag) or {}

    def _cached_hub_weights(self) -> Optional[str]:
        """The local file of the hub tag's weights if already downloaded (Hugging Face hub cache,
        safetensors first as open_clip prefers, or open_clip's URL cache ``~/.cache/clip``), else None."""
        cfg = self._hub_cfg()
        hub = cfg.get("hf_hub", "")
        if hub:
            repo, filename = os.path.split(hub)
            filename = filename or "open_clip_pytorch_model.bin"
            try:
                from huggingface_hub import try_to_load_from_cache
                from open_clip import pretrained as oc_pretrained

                safe = getattr(oc_pretrained, "_get_safe_alternatives", lambda name: [])(filename)
                for name in [*safe, filename]:
                    cached = try_to_load_from_cache(repo, name)
                    if isinstance(cached, str) and os.path.isfile(cached):
                        return cached
            except Exception:
                pass
        if cfg.get("url"):
            local = Path("~/.cache/clip").expanduser() / os.path.basename(cfg["url"])
            if local.is_file():
                return str(local)
        return None

    def _require_hub(self) -> None:
        """Raise :class:`ModelError` (naming the offline alternatives) unless the weights' host
        answers within about 2 s (``amumo_ng.network.require_online``)."""
        cfg = self._hub_cfg()
        what = f"open_clip weights {self.model_name}/{self._tag}"
        if cfg.get("hf_hub"):
            repo = os.path.split(cfg["hf_hub"])[0]
            require_online(f"{hf_endpoint()}/api/models/{repo}", what, _OFFLINE_HINT, ModelError)
        elif cfg.get("url"):
            require_online(cfg["url"], what, _OFFLINE_HINT, ModelError)

    def _hub_checkpoint(self) -> Optional[str]:
        """Resolve a hub tag to a local file: from the local cache if present, else download (failing fast offline)."""
        from open_clip import pretrained as oc_pretrained

        cached = self._cached_hub_weights()
        if cached is not None:
            return cached
        self._require_hub()
        return oc_pretrained.download_pretrained(self._hub_cfg())

    def _load(self):
        if self._model is not None:
            return
        import open_clip
        import torch

        pretrained = None
        if self._checkpoint is not None:
            pretrained = str(self._checkpoint)
        elif self._tag is not None:
            pretrained = self._hub_checkpoint()
        device = pick_device(self._device)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=pretrained, device=device, load_weights=pretrained is not None
            )
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"could not load {self.model_name} from {pretrained or 'random init'}: {exc}") from exc
        model.eval()
        self._model = model
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(self.model_name)
        self._torch_device = torch.device(device)

    @property
    def model(self):
        """The underlying open_clip model (loads it)."""
        self._load()
        return self._model

    @property
    def logit_scale(self) -> float:  # type: ignore[override]
        self._load()
        return float(self._model.logit_scale.exp().item())

    # -- encoding --------------------------------------------------------------------
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        self._load()
        d = self._model.visual.output_dim if hasattr(self._model.visual, "output_dim") else None
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [self._preprocess(im.convert("RGB")) for im in images[start : start + self.batch_size]]
                x = torch.stack(batch).to(self._torch_device)
                out.append(self._model.encode_image(x, normalize=False).float().cpu().numpy())
        if not out:
            return np.zeros((0, d or 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self._load()
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens = self._tokenizer([str(t) for t in texts[start : start + self.batch_size]]).to(self._torch_device)
                out.append(self._model.encode_text(tokens, normalize=False).float().cpu().numpy())
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)
