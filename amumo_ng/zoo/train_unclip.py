"""Train the toy unCLIP of one shipped toy model: an image decoder and a text→image prior.

    python -m amumo_ng.zoo.train_unclip --model toy-clip [--decoder-steps 2500] [--prior-steps 3000] [--threads 1]

Both are trained on the ``shapes`` training split the toy models were trained on (30,000 pairs, seed 0),
against the frozen model's *unit* embeddings:

- decoder (:class:`~amumo_ng.decoders.toy_nets.EmbeddingImageDecoder`): unit image embedding → picture;
  loss = mean absolute pixel error (L1, pixels in [0, 1]) + ``embedding_weight`` × (1 − cos(re-encoded
  picture, embedding)), the second term through the frozen image tower on a randomly shifted copy of the
  picture (:func:`jittered`; without the shift that term teaches the decoder patterns that fool the tower);
- prior (:class:`~amumo_ng.decoders.toy_nets.RegressionPrior`): unit caption embedding → unit image
  embedding of its pair; loss = 1 − cos.

AdamW with warm-up and cosine decay, batch 64 (decoder) / 256 (prior), one torch thread by default
(see :mod:`amumo_ng.zoo.train` for why). Writes ``{out}/{model}.unclip.safetensors`` (float16; keys
``decoder.*`` and ``prior.*``), the card ``{model}.unclip.json`` and ``{model}.unclip.md`` with the
figures of :func:`amumo_ng.zoo.evaluate_unclip.evaluate_toy_unclip` on the held-out pairs.
Training never runs in CI beyond :func:`train_unclip` with a few steps (the smoke test).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..datasets.shapes import ShapesDataset
from ..fingerprint import file_digest
from .train import TrainConfig, model_input, rendered_images

DEFAULT_UNCLIP_DIR = Path(__file__).resolve().parents[1] / "models" / "weights" / "unclip"
#: Bar of the toy-clip card (held-out pairs, decoded image embeddings re-encoded by the model).
UNCLIP_BAR = {"colour": 0.9, "shape": 0.7}


@dataclass
class UnCLIPTrainConfig:
    """Everything that determines a toy unCLIP (the data is the toy model's own training split)."""

    model: str = "toy-clip"
    decoder_steps: int = 2500
    decoder_batch: int = 64
    decoder_lr: float = 2e-3
    embedding_weight: float = 0.05
    embedding_jitter: int = 4  # px: the picture is shifted by up to this much before it is re-encoded
    prior_steps: int = 3000
    prior_batch: int = 256
    prior_lr: float = 1e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 1
    n_eval: int = 1000
    n_train: int | None = None  # None: the toy model's own training split (30,000); smaller for smoke tests
    out: str = str(DEFAULT_UNCLIP_DIR)
    cache_dir: str | None = None
    evaluate: bool = True

    def __post_init__(self):
        if min(self.decoder_steps, self.prior_steps) < 1 or min(self.decoder_batch, self.prior_batch) < 2:
            raise ValueError("steps must be >= 1 and batches >= 2")


def _lr(step: int, steps: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def load_frozen_model(name: str):
    """(open_clip model in eval mode with frozen parameters, tokenizer, card) of a shipped toy model."""
    import open_clip

    from ..models.configs import register_toy_configs
    from ..models.registry import weights_dir, zoo_cards

    cards = zoo_cards()
    if name not in cards:
        raise ValueError(f"no shipped toy model {name!r}; shipped: {sorted(cards)}")
    register_toy_configs()
    arch = cards[name]["open_clip_config"]
    model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=str(weights_dir() / f"{name}.safetensors"))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, open_clip.get_tokenizer(arch), cards[name]


def unit_embeddings(model, tokenizer, images_u8, captions, batch: int = 500):
    """Unit image [n, d] and caption [n, d] embeddings (torch float32) of the frozen model."""
    import torch

    img, txt = [], []
    with torch.no_grad():
        for lo in range(0, images_u8.shape[0], batch):
            img.append(model.encode_image(model_input(images_u8[lo:lo + batch], model)))
            txt.append(model.encode_text(tokenizer(list(captions[lo:lo + batch]))))
    return (torch.nn.functional.normalize(torch.cat(img).float(), dim=1),
            torch.nn.functional.normalize(torch.cat(txt).float(), dim=1))


def pixels_to_model_input(pictures, model):
    """Pictures in [0, 1] [B, 3, H, W] → the model's normalised input (differentiable)."""
    import torch

    mean = torch.tensor(getattr(model.visual, "image_mean", None) or (0.48145466, 0.4578275, 0.40821073)).view(1, 3, 1, 1)
    std = torch.tensor(getattr(model.visual, "image_std", None) or (0.26862954, 0.26130258, 0.27577711)).view(1, 3, 1, 1)
    return (pictures - mean) / std


def jittered(pictures, jitter: int, generator):
    """``pictures`` [B, 3, H, W] shifted by one random (dx, dy) in [−jitter, jitter] px (edges replicated), so the
    embedding term rewards what the image tower reads from the picture wherever it sits, not pixel-exact
    patterns that only fool it in one position."""
    import torch

    if jitter <= 0:
        return pictures
    h, w = pictures.shape[-2:]
    padded = torch.nn.functional.pad(pictures, (jitter,) * 4, mode="replicate")
    dx, dy = (int(v) for v in torch.randint(0, 2 * jitter + 1, (2,), generator=generator))
    return padded[..., dy:dy + h, dx:dx + w]


def _train_decoder(cfg, model, images_u8, image_unit, log):
    import torch

    from ..decoders.toy_nets import EmbeddingImageDecoder

    torch.manual_seed(cfg.seed)
    net = EmbeddingImageDecoder(image_unit.shape[1], image_size=images_u8.shape[-1])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.decoder_lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    curve = []
    for step in range(cfg.decoder_steps):
        idx = torch.randint(0, image_unit.shape[0], (cfg.decoder_batch,), generator=gen)
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg.decoder_steps, cfg.decoder_lr, cfg.warmup_steps)
        target = images_u8[idx].float() / 255.0
        e = image_unit[idx]
        picture = net(e)
        pixel = torch.mean(torch.abs(picture - target))
        loss = pixel
        cos = torch.tensor(float("nan"))
        if cfg.embedding_weight > 0:
            seen = jittered(picture, cfg.embedding_jitter, gen)
            re = torch.nn.functional.normalize(model.encode_image(pixels_to_model_input(seen, model)).float(), dim=1)
            cos = (re * e).sum(dim=1).mean()
            loss = pixel + cfg.embedding_weight * (1 - cos)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"decoder loss became {float(loss.detach())} at step {step + 1}")
        curve.append({"step": step + 1, "pixel_l1": float(pixel.detach()), "reencoded_cos": float(cos.detach())})
        log("decoder", step + 1, cfg.decoder_steps, curve[-1])
    return net.eval(), curve


def _train_prior(cfg, image_unit, text_unit, log):
    import torch

    from ..decoders.toy_nets import RegressionPrior

    torch.manual_seed(cfg.seed + 1)
    net = RegressionPrior(text_unit.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.prior_lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    curve = []
    for step in range(cfg.prior_steps):
        idx = torch.randint(0, text_unit.shape[0], (cfg.prior_batch,), generator=gen)
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg.prior_steps, cfg.prior_lr, cfg.warmup_steps)
        cos = (net(text_unit[idx]) * image_unit[idx]).sum(dim=1).mean()
        loss = 1 - cos
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        curve.append({"step": step + 1, "cos": float(cos.detach())})
        log("prior", step + 1, cfg.prior_steps, curve[-1])
    return net.eval(), curve


def save_unclip(decoder, prior, path, *, model: str, model_sha256: str) -> None:
    """Both networks as float16 safetensors (``decoder.*``, ``prior.*``), with their sizes as metadata."""
    import torch
    from safetensors.torch import save_file

    state = {f"decoder.{k}": v for k, v in decoder.state_dict().items()}
    state.update({f"prior.{k}": v for k, v in prior.state_dict().items()})
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}
    meta = {"model": model, "model_sha256": model_sha256, "dim": str(decoder.dim),
            "image_size": str(decoder.image_size), "channels": ",".join(map(str, decoder.channels))}
    save_file(state, str(path), metadata=meta)


def train_unclip(cfg: UnCLIPTrainConfig) -> dict:
    """Train decoder and prior of ``cfg.model``, save weights and cards under ``cfg.out``; return the card."""
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(cfg.threads)
    t0 = time.time()
    model, tokenizer, model_card = load_frozen_model(cfg.model)
    base = TrainConfig(loss=model_card["loss"])
    train_set = ShapesDataset(n=cfg.n_train or base.n_train, seed=base.train_seed)
    images = rendered_images(train_set, cfg.cache_dir)
    image_unit, text_unit = unit_embeddings(model, tokenizer, images, train_set.captions)
    embed_s = time.time() - t0
    bars = {}

    def log(which, done, total, row):
        bar = bars.get(which)
        if bar is None:
            bar = bars[which] = tqdm(total=total, desc=f"{cfg.model} {which}", mininterval=10)
        bar.update(1)
        if done % 250 == 0 or done == total:
            bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "step"})
        if done == total:
            bar.close()

    t1 = time.time()
    decoder, decoder_curve = _train_decoder(cfg, model, images, image_unit, log)
    decoder_s = time.time() - t1
    t2 = time.time()
    prior, prior_curve = _train_prior(cfg, image_unit, text_unit, log)
    prior_s = time.time() - t2

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{cfg.model}.unclip.safetensors"
    save_unclip(decoder, prior, weights, model=cfg.model, model_sha256=model_card["sha256"])
    tail = decoder_curve[-50:]
    card = {
        "name": f"{cfg.model}.unclip",
        "model": cfg.model,
        "model_sha256": model_card["sha256"],
        "weights_file": weights.name,
        "weights_bytes": weights.stat().st_size,
        "sha256": file_digest(weights),
        "config": asdict(cfg) | {"out": None, "cache_dir": None},
        "data": {"train_dataset_id": train_set.id, "n_train": len(train_set)},
        "training": {
            "embed_s": round(embed_s, 1), "decoder_s": round(decoder_s, 1), "prior_s": round(prior_s, 1),
            "threads": cfg.threads, "machine": platform.machine(),
            "decoder_final_pixel_l1": float(np.mean([r["pixel_l1"] for r in tail])),
            "decoder_final_reencoded_cos": float(np.mean([r["reencoded_cos"] for r in tail])),
            "prior_final_cos": float(np.mean([r["cos"] for r in prior_curve[-50:]])),
        },
        "parameters": {"decoder": sum(p.numel() for p in decoder.parameters()),
                       "prior": sum(p.numel() for p in prior.parameters())},
    }
    if cfg.evaluate:
        return evaluate_card(card, out)
    (out / f"{cfg.model}.unclip.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def evaluate_card(card, out=DEFAULT_UNCLIP_DIR, n: int | None = None) -> dict:
    """Measure the figures of a trained toy unCLIP (``card``: its dict, or a model name whose card is in
    ``out``), add them and the bar's verdict to the card and write ``.json`` and ``.md`` in ``out``."""
    from .evaluate_unclip import evaluate_toy_unclip, unclip_card_markdown

    out = Path(out)
    if isinstance(card, str):
        card = json.loads((out / f"{card}.unclip.json").read_text())
    weights = out / card["weights_file"]
    if file_digest(weights) != card["sha256"]:
        raise ValueError(f"{weights} does not match the sha256 of its card")
    card["evaluation"] = evaluate_toy_unclip(card["model"], weights_path=weights, n=n or card["config"]["n_eval"])
    image = card["evaluation"]["image"]
    card["bar"] = {"thresholds": UNCLIP_BAR, "applies_to": "toy-clip",
                   "met": bool(image["colour_match"] >= UNCLIP_BAR["colour"] and image["shape_match"] >= UNCLIP_BAR["shape"])}
    (out / f"{card['model']}.unclip.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / f"{card['model']}.unclip.md").write_text(unclip_card_markdown(card))
    return card


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="toy-clip")
    for name, default in (("decoder-steps", UnCLIPTrainConfig.decoder_steps), ("prior-steps", UnCLIPTrainConfig.prior_steps),
                          ("threads", 1), ("n-eval", UnCLIPTrainConfig.n_eval)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--embedding-weight", type=float, default=UnCLIPTrainConfig.embedding_weight)
    p.add_argument("--out", default=str(DEFAULT_UNCLIP_DIR))
    p.add_argument("--no-eval", action="store_true")
    a = p.parse_args(argv)
    cfg = UnCLIPTrainConfig(model=a.model, decoder_steps=a.decoder_steps, prior_steps=a.prior_steps, threads=a.threads,
                            n_eval=a.n_eval, embedding_weight=a.embedding_weight, out=a.out, evaluate=not a.no_eval)
    card = train_unclip(cfg)
    print(json.dumps({k: card.get(k) for k in ("name", "training", "evaluation", "bar")}, indent=2))
    return card


if __name__ == "__main__":
    main()
