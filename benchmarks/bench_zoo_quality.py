"""Quality of the shipped zoo models on 1,000 held-out ``shapes`` pairs. Prints figures; never asserts.

For each of toy-clip, toy-cyclip, toy-cloob (loaded through open_clip from the shipped float16
safetensors, images through open_clip's preprocessing): top-1/top-5 retrieval both ways, zero-shot
colour and shape accuracy (prompt ensembles, ``amumo_ng.zoo.evaluate.ZERO_SHOT_TEMPLATES``), the
modality gap, and the symmetric / published-procedure (``compat="amumo"``) contrastive loss.

Also printed: the retrieval ceiling of an ideal attribute reader on the same pairs (captions mention
only some attributes, so several captions fit one image; see ``retrieval_ceiling``).

Baseline, measured in the same run: the same architecture with random (seeded) weights, i.e. chance
level of the evaluation pipeline. The ratio column is model / baseline. The quality bar of the
shipped toy-clip: top-5 >= 0.80 both ways, zero-shot colour and shape >= 0.90.

Usage: python benchmarks/bench_zoo_quality.py [--n 1000] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import time


def measure(model, preprocess, tokenizer, dataset, logit_scale):
    from amumo_ng.analysis.losses import contrastive_loss
    from amumo_ng.zoo.evaluate import evaluate_pairs, open_clip_encoders

    encode_images, encode_texts = open_clip_encoders(model, preprocess, tokenizer)
    t0 = time.perf_counter()
    report = evaluate_pairs(encode_images, encode_texts, dataset)
    img = encode_images(dataset.images(range(len(dataset))))
    txt = encode_texts(dataset.captions)
    report["loss_symmetric"] = contrastive_loss(img, txt, logit_scale)
    report["loss_amumo_compat"] = contrastive_loss(img, txt, logit_scale, compat="amumo")
    report["seconds"] = time.perf_counter() - t0
    return report


def flat(report):
    r = report["retrieval"]
    return {
        "i->t top-1": r["image_to_text"]["1"],
        "i->t top-5": r["image_to_text"]["5"],
        "t->i top-1": r["text_to_image"]["1"],
        "t->i top-5": r["text_to_image"]["5"],
        "zero-shot colour": report["zero_shot"]["colour"],
        "zero-shot shape": report["zero_shot"]["shape"],
        "gap distance": report["gap_distance"],
        "loss (symmetric)": report["loss_symmetric"],
        "loss (amumo compat)": report["loss_amumo_compat"],
    }


BARS = {"i->t top-5": 0.80, "t->i top-5": 0.80, "zero-shot colour": 0.90, "zero-shot shape": 0.90}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="held-out pairs (the cards use 1000)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import open_clip
    import torch

    from amumo_ng.datasets.shapes import ShapesDataset
    from amumo_ng.zoo.configs import TOY_MODEL, register_toy_configs
    from amumo_ng.zoo.evaluate import retrieval_ceiling
    from amumo_ng.zoo.train import DEFAULT_WEIGHTS_DIR, TrainConfig

    torch.set_num_threads(args.threads)
    register_toy_configs()
    tokenizer = open_clip.get_tokenizer(TOY_MODEL)
    heldout = ShapesDataset(n=args.n, seed=TrainConfig.heldout_seed, anomaly_rate=0.0)
    print(f"held-out set: {heldout.id} ({len(heldout)} pairs, no anomalies)")
    ceiling = retrieval_ceiling(heldout)
    print("ceiling of an ideal attribute reader (captions mention only some attributes): "
          f"i->t top-1/5 {ceiling['image_to_text'][1]:.3f}/{ceiling['image_to_text'][5]:.3f}, "
          f"t->i top-1/5 {ceiling['text_to_image'][1]:.3f}/{ceiling['text_to_image'][5]:.3f}\n")

    torch.manual_seed(0)
    base_model, _, preprocess = open_clip.create_model_and_transforms(TOY_MODEL)
    base_model.eval()
    with torch.no_grad():
        baseline = flat(measure(base_model, preprocess, tokenizer, heldout, float(base_model.logit_scale.exp())))

    for name in ("toy-clip", "toy-cyclip", "toy-cloob"):
        path = DEFAULT_WEIGHTS_DIR / f"{name}.safetensors"
        if not path.is_file():
            print(f"{name}: not shipped ({path} missing)\n")
            continue
        card = json.loads((DEFAULT_WEIGHTS_DIR / f"{name}.json").read_text())
        if card["open_clip_config"] != TOY_MODEL:
            print(f"{name}: its card names architecture {card['open_clip_config']}, the baseline is {TOY_MODEL}")
        model, _, preprocess = open_clip.create_model_and_transforms(card["open_clip_config"], pretrained=str(path))
        model.eval()
        with torch.no_grad():
            report = measure(model, preprocess, tokenizer, heldout, float(model.logit_scale.exp()))
        figures = flat(report)
        recorded = flat({**card, "loss_symmetric": float("nan"), "loss_amumo_compat": float("nan")}) \
            if "retrieval" in card else {}
        print(f"{name}  (loss {card['loss']}, logit scale {card['logit_scale']:.1f}, "
              f"{card['steps']} steps, trained in {card['wall_time_s'] / 60:.1f} min; evaluated in {report['seconds']:.1f} s)")
        print(f"  {'figure':<22}{'measured':>10}{'card':>10}{'baseline':>10}{'ratio':>9}{'bar':>7}  verdict")
        for key, value in figures.items():
            base = baseline[key]
            ratio = value / base if base else float("inf")
            bar = BARS.get(key) if name == "toy-clip" else None
            verdict = "" if bar is None else ("meets bar" if value >= bar else "BELOW BAR")
            card_value = recorded.get(key, float("nan"))
            print(f"  {key:<22}{value:>10.3f}{card_value:>10.3f}{base:>10.3f}{ratio:>9.2f}"
                  f"{'' if bar is None else f'{bar:.2f}':>7}  {verdict}")
        print()


if __name__ == "__main__":
    main()
