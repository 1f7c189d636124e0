"""The zoo models' cards: evaluation of saved weights, the quality bar, the loss curve file and
the human-readable card (see :mod:`amumo_ng.zoo.train`, which writes them after training).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..datasets.shapes import ShapesDataset
from ..fingerprint import file_digest
from ..models.configs import register_toy_configs
from .evaluate import evaluate_pairs, open_clip_encoders, retrieval_ceiling

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "models" / "weights"
#: The quality bar of the shipped toy-clip model (benchmarks/bench_zoo_quality.py).
QUALITY_BAR = {"retrieval_top5": 0.80, "zero_shot": 0.90}


def evaluate_weights(weights_path, arch: str, dataset) -> dict:
    """Load saved weights through open_clip and evaluate them on ``dataset`` (PIL path)."""
    import open_clip
    import torch

    register_toy_configs()
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(weights_path))
    model.eval()
    tokenizer = open_clip.get_tokenizer(arch)
    encode_images, encode_texts = open_clip_encoders(model, preprocess, tokenizer)
    with torch.no_grad():
        report = evaluate_pairs(encode_images, encode_texts, dataset)
    report["retrieval_ceiling"] = {d: {str(k): v for k, v in accs.items()}
                                   for d, accs in retrieval_ceiling(dataset).items()}
    report["zero_shot_prompts"] = "the training caption templates, marginalised (amumo_ng.zoo.evaluate.ZERO_SHOT_TEMPLATES)"
    return report


def reevaluate(name: str, out: str | Path = DEFAULT_WEIGHTS_DIR) -> dict:
    """Re-measure the evaluation figures of a saved model with the current evaluation code
    (e.g. after the zero-shot prompts changed) and rewrite its ``.json`` and ``.md`` cards.
    Weights, training fields and sha256 are unchanged."""
    from .train import TrainConfig  # (train imports this module)

    out = Path(out)
    card = json.loads((out / f"{name}.json").read_text())
    weights = out / card["weights_file"]
    if file_digest(weights) != card["sha256"]:
        raise ValueError(f"{weights} does not match the sha256 of its card")
    heldout = ShapesDataset(n=card["data"]["n_heldout"], seed=card["data"].get("heldout_seed", TrainConfig.heldout_seed),
                            anomaly_rate=0.0)
    if heldout.id != card["data"]["heldout_dataset_id"]:
        raise ValueError(f"held-out set {heldout.id} differs from the card's {card['data']['heldout_dataset_id']}")
    with open(out / card["curve_file"], newline="") as f:
        card["gap_along_training"] = gap_along_training(list(csv.DictReader(f)))
    card.setdefault("n_monitor", TrainConfig.n_monitor)
    card["data"].setdefault("train_seed", TrainConfig.train_seed)
    card["data"].setdefault("heldout_seed", TrainConfig.heldout_seed)
    card.update(evaluate_weights(weights, card["open_clip_config"], heldout))
    card["quality_bar"] = quality_verdict(card)
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / f"{name}.md").write_text(model_card_markdown(card))
    return card


def quality_verdict(card: dict) -> dict:
    r = card["retrieval"]
    top5 = min(r["image_to_text"]["5"], r["text_to_image"]["5"])
    zs = min(card["zero_shot"]["colour"], card["zero_shot"]["shape"])
    return {
        "bar": QUALITY_BAR,
        "retrieval_top5_min": top5,
        "zero_shot_min": zs,
        "met": bool(top5 >= QUALITY_BAR["retrieval_top5"] and zs >= QUALITY_BAR["zero_shot"]),
    }


def gap_along_training(curve: list[dict]) -> dict:
    """{step: gap} of the curve's monitored points (held-out pairs, unit vectors)."""
    return {str(int(float(r["step"]))): float(r["gap"]) for r in curve if r.get("gap") not in (None, "")}


def write_curve(path: Path, curve: list[dict]) -> None:
    columns = ["step", "loss", "logit_scale", "lr", "wall_s",
               "heldout_top1_i2t", "heldout_top5_i2t", "heldout_top5_t2i", "gap"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in curve:
            writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})


def model_card_markdown(card: dict) -> str:
    """A short human-readable model card."""
    lines = [
        f"# {card['name']}",
        "",
        f"A toy CLIP-style dual encoder trained by amumo-ng on procedural `shapes` pairs with the "
        f"**{card['loss']}** objective ({json.dumps(card['loss_params'])}). For demonstrations and tests "
        f"of the widgets only: it knows 6 shapes, 8 colours, 2 sizes, 5 positions, 1-3 objects and 4 backgrounds, nothing else.",
        "",
        "## Architecture",
        f"open_clip config `{card['open_clip_config']}`: `{json.dumps(card['architecture'])}`. "
        f"Weights stored as float16 safetensors ({card['weights_bytes'] / 1e6:.1f} MB, sha256 `{card['sha256']}`).",
        "",
        "## Training",
        f"- data: `{card['data']['dataset_id']}` ({card['data']['n_train']} pairs, with the dataset's labelled anomalies)",
        f"- {card['steps']} steps x batch {card['batch_size']}, AdamW lr {card['optimizer']['lr']} "
        f"(warm-up {card['optimizer']['warmup_steps']}, cosine), weight decay {card['optimizer']['weight_decay']}, seed {card['seed']}",
        f"- {card['threads']} CPU thread(s) on a shared 2-core machine, {card['wall_time_s'] / 60:.1f} min; "
        f"final training loss {card['final_loss']:.3f} ({card['final_loss_note']})",
        f"- logit scale at the end: {card['logit_scale']:.2f}; loss curve: `{card['curve_file']}`",
        "",
    ]
    if "retrieval" in card:
        r = card["retrieval"]
        qb = card.get("quality_bar", {})
        lines += [
            f"## Evaluation on {card['data']['n_heldout']} held-out pairs (`{card['data']['heldout_dataset_id']}`, no anomalies)",
            "",
            "| | top-1 | top-5 |",
            "|---|---|---|",
            f"| image -> text | {r['image_to_text']['1']:.3f} | {r['image_to_text']['5']:.3f} |",
            f"| text -> image | {r['text_to_image']['1']:.3f} | {r['text_to_image']['5']:.3f} |",
            "",
            f"- reference: an ideal attribute reader that breaks ties at random (captions mention only some "
            f"attributes, so several fit one image; a model that prefers the more specific caption can beat its "
            f"top-1): top-5 {card['retrieval_ceiling']['image_to_text']['5']:.3f} image -> text, "
            f"{card['retrieval_ceiling']['text_to_image']['5']:.3f} text -> image; top-1 "
            f"{card['retrieval_ceiling']['image_to_text']['1']:.3f} / {card['retrieval_ceiling']['text_to_image']['1']:.3f}"
            if "retrieval_ceiling" in card else "- (no retrieval ceiling recorded)",
            f"- zero-shot accuracy (prompt ensembles of the training caption templates): colour "
            f"{card['zero_shot']['colour']:.3f}, shape {card['zero_shot']['shape']:.3f}",
            f"- modality gap ||mean(image) - mean(text)|| of unit vectors: {card['gap_distance']:.3f} "
            f"(at initialisation: {card['gap_at_init']:.3f}; along training, on {card.get('n_monitor', '?')} held-out pairs: "
            + ", ".join(f"step {k}: {v:.3f}" for k, v in card.get("gap_along_training", {}).items()) + ")",
            f"- quality bar (top-5 >= {QUALITY_BAR['retrieval_top5']} both ways, zero-shot >= {QUALITY_BAR['zero_shot']}): "
            f"{'met' if qb.get('met') else 'NOT met'}",
            "",
        ]
    lines += ["Figures as measured by `amumo_ng.zoo.train`; `benchmarks/bench_zoo_quality.py` re-measures them.", ""]
    return "\n".join(lines)
