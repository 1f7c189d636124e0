"""Train one of the zoo's toy CLIP-style models on ``shapes`` pairs.

One training code for the three objectives; data, steps, architecture, optimiser and
seeds are identical, only the loss differs::

    python -m amumo_ng.zoo.train --loss clip|cyclip|cloob [--steps 1200] [--threads 1] [--out amumo_ng/models/weights]

The defaults reproduce the shipped models: architecture ``amumo-toy-rn`` (a small convolutional
image tower, see :mod:`amumo_ng.zoo.configs`), 1,200 steps x batch 128 on 30,000 pairs, AdamW
lr 1e-3 with 100 warm-up steps and cosine decay. One torch thread is the default because on the
shared 2-core machine two threads are much *slower* per step as soon as other processes take a
core (measured before the last training: 3.0 s vs 0.63 s per step under load; 0.31 s vs 0.47 s
on an idle machine).

Writes ``{out}/toy-{loss}.safetensors`` (float16 open_clip state dict, loadable with
``open_clip.create_model_and_transforms("amumo-toy-rn", pretrained=path)``), the card
``toy-{loss}.json``, a human card ``toy-{loss}.md`` and the loss curve ``toy-{loss}.curve.csv``.

* CLIP: symmetric InfoNCE, learnable temperature (logit scale clamped at 100).
* CyCLIP: CLIP + 0.25 in-modal + 0.25 cross-modal cyclic consistency, learnable temperature.
* CLOOB: InfoLOOB on Hopfield retrievals, fixed inverse temperature 30, beta 8. The loss is scaled by
  tau = 1/inv_tau as in the CLOOB reference code; the shipped ``toy-cloob`` was trained before that
  fix with the unscaled loss (inv_tau times larger; its card says so).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis.losses import clip_loss, cloob_loss, cyclip_loss
from ..analysis.retrieval import topk_accuracy
from ..datasets.shapes import ShapesDataset
from ..fingerprint import file_digest
from ..models.configs import TOY_MODEL, register_toy_configs, toy_config
from ..analysis.gap import modality_gap
from .model_card import (
    DEFAULT_WEIGHTS_DIR,
    evaluate_weights,
    gap_along_training,
    model_card_markdown,
    quality_verdict,
    reevaluate,
    write_curve,
)

LOSSES = ("clip", "cyclip", "cloob")
MAX_LOGIT_SCALE = 100.0
CLOOB_INV_TAU = 30.0
CLOOB_BETA = 8.0
CYCLIP_LAMBDA = 0.25


@dataclass
class TrainConfig:
    """Everything that determines a zoo model (all runs share it except ``loss``)."""

    loss: str = "clip"
    arch: str = TOY_MODEL
    steps: int = 1200
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 100
    n_train: int = 30_000
    train_seed: int = 0
    n_heldout: int = 1000
    heldout_seed: int = 1_000_003
    seed: int = 0
    threads: int = 1
    eval_every: int = 200
    n_monitor: int = 250  # held-out pairs used for the curve's retrieval / gap points
    out: str = str(DEFAULT_WEIGHTS_DIR)
    name: str | None = None
    cache_dir: str | None = None
    final_eval: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError("steps must be >= 1 and batch_size >= 2")
        if self.name is None:
            self.name = f"toy-{self.loss}"


# -- data -------------------------------------------------------------------------------
def cache_root(cache_dir: str | None = None) -> Path:
    """Where rendered training images are cached (shared by the three runs)."""
    if cache_dir:
        return Path(cache_dir)
    env = os.environ.get("AMUMO_NG_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "amumo_ng"
    return base / "zoo"


def rendered_images(dataset: ShapesDataset, cache_dir: str | None = None):
    """All images of ``dataset`` as a uint8 tensor [n, 3, H, W], rendered once and cached as .npy."""
    import torch

    root = cache_root(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{dataset.id}.uint8.npy"
    expected = (len(dataset), 3, dataset.image_size, dataset.image_size)
    if path.is_file():
        arr = np.load(path, mmap_mode="r")
        if arr.shape == expected and arr.dtype == np.uint8:
            return torch.from_numpy(np.array(arr))
    tensor = dataset.render_batch(progress=True)
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.save(f, tensor.numpy(), allow_pickle=False)
    os.replace(tmp, path)
    return tensor


def model_input(images_u8, model):
    """uint8 [B, 3, H, W] -> normalised float32 as open_clip's preprocess gives it."""
    import torch

    mean = torch.tensor(getattr(model.visual, "image_mean", None) or _openai_mean()).view(1, 3, 1, 1)
    std = torch.tensor(getattr(model.visual, "image_std", None) or _openai_std()).view(1, 3, 1, 1)
    return (images_u8.float() / 255.0 - mean) / std


def _openai_mean():
    from open_clip.constants import OPENAI_DATASET_MEAN

    return OPENAI_DATASET_MEAN


def _openai_std():
    from open_clip.constants import OPENAI_DATASET_STD

    return OPENAI_DATASET_STD


# -- model and objective ----------------------------------------------------------------
def build_model(arch: str, loss: str, seed: int):
    """A freshly initialised open_clip model (seeded); CLOOB gets its fixed temperature."""
    import open_clip
    import torch

    register_toy_configs()
    torch.manual_seed(seed)
    model = open_clip.create_model(arch)
    if loss == "cloob":
        with torch.no_grad():
            model.logit_scale.fill_(math.log(CLOOB_INV_TAU))
        model.logit_scale.requires_grad_(False)
    return model


def objective(loss: str, image_features, text_features, logit_scale):
    """The training loss of ``loss`` on raw features [B, d]; ``logit_scale`` = exp(log scale)."""
    if loss == "clip":
        return clip_loss(image_features, text_features, logit_scale)
    if loss == "cyclip":
        return cyclip_loss(image_features, text_features, logit_scale, CYCLIP_LAMBDA, CYCLIP_LAMBDA)
    if loss == "cloob":
        return cloob_loss(image_features, text_features, inv_tau=CLOOB_INV_TAU, beta=CLOOB_BETA)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def batch_loss(model, loss: str, images_u8, tokens):
    """Objective of one batch (differentiable)."""
    image_features = model.encode_image(model_input(images_u8, model))
    text_features = model.encode_text(tokens)
    return objective(loss, image_features, text_features, model.logit_scale.exp())


def make_optimizer(model, lr: float, weight_decay: float):
    """AdamW; no weight decay on gains, biases, embeddings' norms and the temperature."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or "ln" in name or "bias" in name or "logit_scale" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.98), eps=1e-6,
    )


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up then cosine decay to 0."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * progress))


def train_step(model, optimizer, loss: str, images_u8, tokens) -> float:
    """One optimisation step; clamps a learnable logit scale at 100. Returns the batch loss."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    value = batch_loss(model, loss, images_u8, tokens)
    value.backward()
    optimizer.step()
    if model.logit_scale.requires_grad:
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))
    return float(value.detach())


def _monitor(model, images_u8, tokens) -> dict:
    import torch

    model.eval()
    with torch.no_grad():
        img = model.encode_image(model_input(images_u8, model)).numpy()
        txt = model.encode_text(tokens).numpy()
    model.train()
    acc = topk_accuracy(img, txt, ks=(1, 5))
    return {
        "heldout_top1_i2t": acc["image_to_text"][1],
        "heldout_top5_i2t": acc["image_to_text"][5],
        "heldout_top5_t2i": acc["text_to_image"][5],
        "gap": modality_gap(img, txt).distance,
    }


# -- the run ----------------------------------------------------------------------------
def train(cfg: TrainConfig) -> dict:
    """Train, save weights + cards + curve under ``cfg.out``, return the card dict."""
    import open_clip
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(cfg.threads)
    start_time = time.time()
    register_toy_configs()
    tokenizer = open_clip.get_tokenizer(cfg.arch)

    train_set = ShapesDataset(n=cfg.n_train, seed=cfg.train_seed)
    heldout = ShapesDataset(n=cfg.n_heldout, seed=cfg.heldout_seed, anomaly_rate=0.0)
    images = rendered_images(train_set, cfg.cache_dir)
    tokens = tokenizer(train_set.captions)
    monitor_idx = np.arange(min(cfg.n_monitor, cfg.n_heldout))
    monitor_images = heldout.render_batch(monitor_idx)
    monitor_tokens = tokenizer([heldout.caption(int(i)) for i in monitor_idx])

    model = build_model(cfg.arch, cfg.loss, cfg.seed)
    model.train()
    optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay)
    order_rng = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(train_set), generator=order_rng)
    pos = 0

    curve = []
    init_monitor = _monitor(model, monitor_images, monitor_tokens)
    curve.append({"step": 0, "loss": None, "logit_scale": float(model.logit_scale.detach().exp()), "lr": 0.0,
                  "wall_s": round(time.time() - start_time, 2), **init_monitor})
    train_start = time.time()
    for step in tqdm(range(cfg.steps), desc=f"training {cfg.name}", mininterval=10):
        if pos + cfg.batch_size > len(order):
            order = torch.randperm(len(train_set), generator=order_rng)
            pos = 0
        idx = order[pos:pos + cfg.batch_size]
        pos += cfg.batch_size
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        value = train_step(model, optimizer, cfg.loss, images[idx], tokens[idx])
        if not math.isfinite(value):
            raise FloatingPointError(f"{cfg.name}: loss became {value} at step {step + 1}")
        row = {"step": step + 1, "loss": value, "logit_scale": float(model.logit_scale.detach().exp()), "lr": lr,
               "wall_s": round(time.time() - start_time, 2)}
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            row.update(_monitor(model, monitor_images, monitor_tokens))
        curve.append(row)
    train_wall = time.time() - train_start

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    weights_path = out / f"{cfg.name}.safetensors"
    save_weights(model, weights_path, cfg.arch, cfg.loss)
    write_curve(out / f"{cfg.name}.curve.csv", curve)

    losses = [r["loss"] for r in curve if r["loss"] is not None]
    tail = losses[-50:]
    card = {
        "name": cfg.name,
        "open_clip_config": cfg.arch,
        "architecture": toy_config(cfg.arch),
        "loss": cfg.loss,
        "loss_params": _loss_params(cfg.loss),
        "logit_scale": float(model.logit_scale.detach().exp()),
        "data": {
            "dataset_id": train_set.id,
            "train_seed": cfg.train_seed,
            "n_train": len(train_set),
            "heldout_seed": cfg.heldout_seed,
            "heldout_dataset_id": heldout.id,
            "n_heldout": len(heldout),
            "heldout_note": "held-out pairs come from another seed, without anomalies",
        },
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "optimizer": {"name": "AdamW", "lr": cfg.lr, "weight_decay": cfg.weight_decay,
                      "warmup_steps": cfg.warmup_steps, "schedule": "cosine"},
        "seed": cfg.seed,
        "threads": cfg.threads,
        "wall_time_s": round(train_wall, 1),
        "final_loss": float(np.mean(tail)),
        "final_loss_note": f"mean training-batch loss over the last {len(tail)} steps",
        "gap_at_init": init_monitor["gap"],
        "gap_along_training": gap_along_training(curve),
        "n_monitor": len(monitor_idx),
        "sha256": file_digest(weights_path),
        "weights_file": weights_path.name,
        "weights_bytes": weights_path.stat().st_size,
        "curve_file": f"{cfg.name}.curve.csv",
        "versions": {"torch": torch.__version__, "open_clip": open_clip.__version__,
                     "python": platform.python_version()},
    }
    if cfg.final_eval:
        card.update(evaluate_weights(weights_path, cfg.arch, heldout))
        card["quality_bar"] = quality_verdict(card)
    (out / f"{cfg.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / f"{cfg.name}.md").write_text(model_card_markdown(card))
    return card


def save_weights(model, path, arch: str, loss: str) -> None:
    """Save the whole open_clip state dict (parameters and buffers, e.g. BatchNorm running
    statistics) as float16 safetensors, loadable with ``create_model_and_transforms(arch, pretrained=path)``."""
    import torch
    from safetensors.torch import save_file

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"arch": arch, "loss": loss})


def _loss_params(loss: str) -> dict:
    if loss == "clip":
        return {"logit_scale": "learnable", "max_logit_scale": MAX_LOGIT_SCALE}
    if loss == "cyclip":
        return {"logit_scale": "learnable", "max_logit_scale": MAX_LOGIT_SCALE,
                "lambda_in": CYCLIP_LAMBDA, "lambda_cross": CYCLIP_LAMBDA}
    return {"inv_tau": CLOOB_INV_TAU, "beta": CLOOB_BETA, "logit_scale": "fixed"}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m amumo_ng.zoo.train", description=__doc__.split("\n")[0])
    parser.add_argument("--loss", choices=LOSSES, required=True)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--n-train", type=int, default=TrainConfig.n_train)
    parser.add_argument("--arch", default=TOY_MODEL)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--eval-every", type=int, default=TrainConfig.eval_every)
    parser.add_argument("--out", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--name", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--no-final-eval", action="store_true")
    parser.add_argument("--reevaluate", action="store_true",
                        help="only re-measure the saved model toy-{loss} in --out and rewrite its cards")
    args = parser.parse_args(argv)
    if args.reevaluate:
        card = reevaluate(args.name or f"toy-{args.loss}", args.out)
        print(json.dumps({k: card.get(k) for k in ("name", "retrieval", "zero_shot", "quality_bar")}, indent=2))
        return card
    cfg = TrainConfig(loss=args.loss, steps=args.steps, batch_size=args.batch_size, n_train=args.n_train,
                      arch=args.arch, lr=args.lr, seed=args.seed, threads=args.threads,
                      eval_every=args.eval_every, out=args.out, name=args.name, cache_dir=args.cache_dir,
                      final_eval=not args.no_final_eval)
    card = train(cfg)
    summary = {k: card.get(k) for k in ("name", "wall_time_s", "final_loss", "logit_scale", "retrieval",
                                          "zero_shot", "gap_distance", "gap_at_init", "quality_bar")}
    print(json.dumps(summary, indent=2))
    return card


if __name__ == "__main__":
    main()
