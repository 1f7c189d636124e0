"""The shipped toy unCLIP: pictures from the embedding space of a shipped toy model, offline, on a laptop.

For each shipped toy model (``toy-clip``, ``toy-cyclip``, ``toy-cloob``) the project trains
(:mod:`amumo_ng.zoo.train_unclip`) and ships ``amumo_ng/models/weights/unclip/{model}.unclip.safetensors``:
an image decoder (unit image embedding → 64×64 picture) and a regression prior (unit text embedding →
unit image embedding); see :mod:`amumo_ng.decoders.toy_nets` for how both differ from unCLIP's diffusion
decoder and prior, and ``{model}.unclip.md`` for the measured figures.

:class:`ToyUnCLIPDecoder` decodes image vectors (``prior=False``, modality ``"image"``) or text vectors
through the prior (``prior=True``, modality ``"text"``). Vectors may be raw or unit: they are normalised
first (the networks were trained on unit vectors). Each frame's ``info`` says whether the prior was used
and gives ``image_vector``, the unit image embedding that was painted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np

from .base import DecodedFrame, Decoder, DecoderError, Progress, check_cancel, frame_progress

__all__ = ["ToyUnCLIPDecoder", "shipped_toy_unclips", "toy_unclip_for", "unclip_dir"]

#: Frames painted per forward pass (progress and cancellation are checked between passes).
FRAMES_PER_PASS = 8


def unclip_dir() -> Path:
    """Folder of the shipped toy unCLIP weights and cards."""
    from ..models.registry import weights_dir

    return weights_dir() / "unclip"


def shipped_toy_unclips() -> dict[str, dict]:
    """Cards of the shipped toy unCLIPs by toy model name (those whose weights are present)."""
    folder, out = unclip_dir(), {}
    if folder.is_dir():
        for card_path in sorted(folder.glob("*.unclip.json")):
            card = json.loads(card_path.read_text())
            if (folder / card["weights_file"]).is_file():
                out[card["model"]] = card
    return out


def toy_unclip_for(model_id: Optional[str]) -> Optional[str]:
    """The shipped toy model whose encoder id is ``model_id`` when a toy unCLIP ships for it, else None."""
    if not model_id:
        return None
    from ..models.registry import load_zoo

    for name in shipped_toy_unclips():
        if load_zoo(name).id == str(model_id):
            return name
    return None


class ToyUnCLIPDecoder(Decoder):
    """Paint unit embeddings of one toy model with its toy unCLIP (see the module docstring).

    Parameters
    ----------
    decoder_net : EmbeddingImageDecoder
        unit image embedding [B, d] → pictures [B, 3, S, S] in [0, 1].
    prior_net : RegressionPrior or None
        unit text embedding [B, d] → unit image embedding [B, d] (needed when ``prior``).
    model_id : str or None
        Encoder id of the space decoded (vectors of another model are refused).
    prior : bool
        Decode text vectors through the prior (modality "text") instead of image vectors ("image").
    """

    def __init__(self, decoder_net, prior_net=None, *, model_id: Optional[str], prior: bool = False,
                 name: Optional[str] = None):
        if prior and prior_net is None:
            raise DecoderError("prior=True needs a prior network")
        self.decoder_net, self.prior_net = decoder_net.eval(), (prior_net.eval() if prior_net is not None else None)
        self.dim = int(decoder_net.dim)
        self.image_size = int(decoder_net.image_size)
        self.model_id = model_id
        self.prior = bool(prior)
        self.modality = "text" if prior else "image"
        self.name = name or ("toy unCLIP (prior)" if prior else "toy unCLIP")

    @classmethod
    def load(cls, model: str = "toy-clip", *, prior: bool = False, weights_path=None) -> "ToyUnCLIPDecoder":
        """The shipped toy unCLIP of toy model ``model`` (or the weights file ``weights_path`` trained for it)."""
        from safetensors import safe_open

        from ..models.registry import load_zoo
        from .toy_nets import EmbeddingImageDecoder, RegressionPrior

        shipped = shipped_toy_unclips()
        if weights_path is None:
            if model not in shipped:
                raise DecoderError(f"no toy unCLIP ships for {model!r}; shipped for: {sorted(shipped) or 'none'} "
                                   "(train one with python -m amumo_ng.zoo.train_unclip --model NAME)")
            weights_path = unclip_dir() / shipped[model]["weights_file"]
        with safe_open(str(weights_path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k).float() for k in f.keys()}
        if meta.get("model") != model:
            raise DecoderError(f"{weights_path} was trained for {meta.get('model')!r}, not {model!r}")
        dim, size = int(meta["dim"]), int(meta["image_size"])
        channels = tuple(int(c) for c in meta["channels"].split(","))
        decoder_net = EmbeddingImageDecoder(dim, image_size=size, channels=channels)
        decoder_net.load_state_dict({k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")})
        prior_net = RegressionPrior(dim)
        prior_net.load_state_dict({k[len("prior."):]: v for k, v in state.items() if k.startswith("prior.")})
        return cls(decoder_net, prior_net, model_id=load_zoo(model).id, prior=prior,
                   name=f"toy unCLIP of {model}" + (" (prior)" if prior else ""))

    def with_prior(self, prior: bool = True) -> "ToyUnCLIPDecoder":
        """The same networks decoding text vectors through the prior (``prior=True``) or image vectors."""
        base = self.name.replace(" (prior)", "")
        return type(self)(self.decoder_net, self.prior_net, model_id=self.model_id, prior=prior,
                          name=base + (" (prior)" if prior else ""))

    def image_vectors(self, vectors) -> np.ndarray:
        """The unit image embeddings painted for ``vectors`` [k, d]: normalised, through the prior when used."""
        import torch

        arr = self.check(vectors)
        norms = np.linalg.norm(arr.astype(np.float64), axis=1, keepdims=True)
        if np.any(norms == 0):
            raise DecoderError(f"{self.name}: vector {int(np.flatnonzero(norms[:, 0] == 0)[0])} is zero (no direction)")
        unit = (arr / norms).astype(np.float32)
        if not self.prior:
            return unit
        with torch.no_grad():
            return self.prior_net(torch.from_numpy(unit)).numpy().astype(np.float32)

    def pictures(self, vectors, *, progress: Progress = False, cancel=None) -> np.ndarray:
        """uint8 pictures [k, S, S, 3] of ``vectors`` [k, d] (see :meth:`image_vectors`)."""
        import torch

        images = self.image_vectors(vectors)
        k = images.shape[0]
        out = np.empty((k, self.image_size, self.image_size, 3), dtype=np.uint8)
        with frame_progress(k, progress, self.name) as advance, torch.no_grad():
            for lo in range(0, k, FRAMES_PER_PASS):
                check_cancel(cancel, lo, k)
                rgb = self.decoder_net(torch.from_numpy(images[lo:lo + FRAMES_PER_PASS]))
                out[lo:lo + FRAMES_PER_PASS] = (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
                advance(min(FRAMES_PER_PASS, k - lo))
        return out

    def decode(self, vectors, *, progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        from PIL import Image

        images = self.image_vectors(vectors)
        painter = self.with_prior(False) if self.prior else self  # the prior was applied by image_vectors
        pixels = painter.pictures(images, progress=progress, cancel=cancel)
        return [DecodedFrame(image=Image.fromarray(p), info={"prior": self.prior, "image_vector": images[j]})
                for j, p in enumerate(pixels)]
