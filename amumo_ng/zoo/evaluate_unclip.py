"""Figures of a toy unCLIP, measured the way its model card states them: decode, re-encode, read.

Every decoded picture is re-encoded by the same toy model and read by zero-shot classification
(:class:`ZeroShotReader`: the class vectors of :func:`~amumo_ng.zoo.evaluate.class_embeddings`, prompt
ensembles of the training caption templates). On held-out ``shapes`` pairs (no anomalies):

- ``image``: each pair's image embedding decoded → the share whose re-encoded zero-shot colour / shape is
  the image's true one (``colour_match``, ``shape_match``, ``both_match``), beside the model's own zero-shot
  accuracy on the source images (``source_colour`` / ``source_shape``, the ceiling of a perfect decoder);
  and the mean cosine of the re-encoded picture to its source embedding (``reencoded_cos``) against the
  mean cosine of the source to another, random held-out image (``random_image_cos``).
- ``text_prior`` / ``text_direct`` / ``text_gap_closed``: each caption's text embedding decoded through the
  prior, straight into the image decoder, or shifted by the gap vector Δ = mean(Î) − mean(T̂) of the held-out
  pairs and renormalised; colour / shape match counted over the captions that state that attribute.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..analysis.validation import l2_normalize
from .evaluate import ATTRIBUTE_VALUES, ZERO_SHOT_TEMPLATES, class_embeddings

__all__ = ["ZeroShotReader", "evaluate_toy_unclip", "unclip_card_markdown", "READ_ATTRIBUTES"]

#: Attributes the cards read back from decoded pictures.
READ_ATTRIBUTES = ("colour", "shape")


class ZeroShotReader:
    """Zero-shot attribute reader of one encoder (``encode_images(list[PIL])``, ``encode_texts(list[str])``).

    ``read(vectors)`` → {attribute: labels (object array [n])}; ``read_pictures(uint8 [n, H, W, 3])`` encodes first.
    ``scores(vectors, attribute)`` → cosines [n, n_classes] to the class vectors (order of ATTRIBUTE_VALUES).
    """

    def __init__(self, encoder, attributes: Sequence[str] = READ_ATTRIBUTES, templates=ZERO_SHOT_TEMPLATES):
        self.encoder = encoder
        self.attributes = tuple(attributes)
        self.classes = {a: class_embeddings(encoder.encode_texts, a, templates) for a in self.attributes}

    def scores(self, vectors, attribute: str) -> np.ndarray:
        return l2_normalize(np.asarray(vectors, dtype=np.float32)) @ self.classes[attribute].T

    def read(self, vectors) -> dict:
        return {a: np.asarray(ATTRIBUTE_VALUES[a], dtype=object)[np.argmax(self.scores(vectors, a), axis=1)]
                for a in self.attributes}

    def encode_pictures(self, pictures) -> np.ndarray:
        from PIL import Image

        return np.asarray(self.encoder.encode_images([Image.fromarray(p) for p in pictures]), dtype=np.float32)

    def read_pictures(self, pictures) -> dict:
        return self.read(self.encode_pictures(pictures))


def _rowwise_cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", l2_normalize(a).astype(np.float64), l2_normalize(b).astype(np.float64))


def _text_scores(reader, pictures, said: list[dict]) -> dict:
    got = reader.read_pictures(pictures)
    out = {}
    for attr in READ_ATTRIBUTES:
        rows = [j for j, s in enumerate(said) if attr in s]
        out[f"{attr}_match"] = float(np.mean([got[attr][j] == said[j][attr] for j in rows])) if rows else None
        out[f"n_{attr}"] = len(rows)
    return out


def evaluate_toy_unclip(model: str, *, weights_path=None, n: int = 1000, seed: int = 0) -> dict:
    """The card figures of the toy unCLIP of ``model`` on ``n`` held-out pairs (see the module docstring)."""
    from ..datasets.shapes import ShapesDataset
    from ..decoders.toy_unclip import ToyUnCLIPDecoder
    from ..models.registry import load_zoo
    from .train import TrainConfig

    heldout = ShapesDataset(n=n, seed=TrainConfig.heldout_seed, anomaly_rate=0.0)
    encoder = load_zoo(model)
    reader = ZeroShotReader(encoder)
    image = np.asarray(encoder.encode_images(heldout.images(range(n))), dtype=np.float32)
    text = np.asarray(encoder.encode_texts(heldout.captions), dtype=np.float32)
    truth = {a: heldout.meta[a].to_numpy() for a in READ_ATTRIBUTES}
    decoder = ToyUnCLIPDecoder.load(model, weights_path=weights_path)

    pictures = decoder.pictures(image)
    reencoded = reader.encode_pictures(pictures)
    got, source = reader.read(reencoded), reader.read(image)
    rng = np.random.default_rng(seed)
    other = (np.arange(n) + rng.integers(1, n, n)) % n  # another held-out image for each pair
    result = {"n": n, "heldout_dataset_id": heldout.id, "zero_shot_prompts": "training caption templates, marginalised"}
    result["image"] = {
        "colour_match": float(np.mean(got["colour"] == truth["colour"])),
        "shape_match": float(np.mean(got["shape"] == truth["shape"])),
        "both_match": float(np.mean((got["colour"] == truth["colour"]) & (got["shape"] == truth["shape"]))),
        "source_colour": float(np.mean(source["colour"] == truth["colour"])),
        "source_shape": float(np.mean(source["shape"] == truth["shape"])),
        "reencoded_cos": float(np.mean(_rowwise_cos(reencoded, image))),
        "random_image_cos": float(np.mean(_rowwise_cos(image[other], image))),
    }
    said = [heldout.caption_attributes(i) for i in range(n)]
    text_unit, image_unit = l2_normalize(text), l2_normalize(image)
    gap = image_unit.mean(axis=0) - text_unit.mean(axis=0)
    shifted = l2_normalize(text_unit + gap)
    result["gap_vector_norm"] = float(np.linalg.norm(gap))
    result["text_prior"] = _text_scores(reader, decoder.with_prior(True).pictures(text), said)
    result["text_direct"] = _text_scores(reader, decoder.pictures(text), said)
    result["text_gap_closed"] = _text_scores(reader, decoder.pictures(shifted), said)
    prior_vectors = decoder.with_prior(True).image_vectors(text)
    result["text_prior"]["prior_cos_to_pair_image"] = float(np.mean(_rowwise_cos(prior_vectors, image)))
    result["text_direct"]["text_cos_to_pair_image"] = float(np.mean(_rowwise_cos(text, image)))
    result["text_gap_closed"]["shifted_cos_to_pair_image"] = float(np.mean(_rowwise_cos(shifted, image)))
    return result


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def unclip_card_markdown(card: dict) -> str:
    """The human model card of a toy unCLIP (``card`` as written by :func:`~.train_unclip.train_unclip`)."""
    ev, tr, cfg = card["evaluation"], card["training"], card["config"]
    im = ev["image"]
    rows = [("image embedding → decoder", im["colour_match"], im["shape_match"]),
            ("caption → prior → decoder", ev["text_prior"]["colour_match"], ev["text_prior"]["shape_match"]),
            ("caption → decoder (no prior)", ev["text_direct"]["colour_match"], ev["text_direct"]["shape_match"]),
            ("caption + gap vector → decoder", ev["text_gap_closed"]["colour_match"],
             ev["text_gap_closed"]["shape_match"])]
    table = "\n".join(f"| {name} | {_f(c)} | {_f(s)} |" for name, c, s in rows)
    bar = card.get("bar", {})
    verdict = ("met" if bar.get("met") else "NOT met") if card["model"] == bar.get("applies_to") else "not applicable (toy-clip's bar)"
    return f"""# {card['name']}: the toy unCLIP of `{card['model']}`

An image decoder and a text→image prior for the embedding space of the shipped toy model `{card['model']}`
(weights sha256 `{card['model_sha256'][:16]}…`), trained by `amumo_ng.zoo.train_unclip` on its training split
`{card['data']['train_dataset_id']}`. Loaded by `amumo_ng.decoders.ToyUnCLIPDecoder.load("{card['model']}")`.

## What it is
- **Decoder**: a direct decoder (not a diffusion model): unit image embedding → 64×64 RGB in one forward pass
  (a linear map to a 4×4 grid, 4 FiLM-modulated upsampling blocks; {card['parameters']['decoder']:,} parameters).
  unCLIP decodes with a diffusion UNet. A diffusion decoder was not tried for the toy zoo: it needs far more
  training steps and a denoising loop per picture than the zoo's budget of about 15 CPU-minutes per model allows,
  so this one regresses the picture: loss = pixel L1 + {cfg['embedding_weight']} × (1 − cosine of the re-encoded
  picture to the embedding), through the frozen image tower on a copy shifted by up to
  {cfg.get('embedding_jitter', 0)} px.
- **Prior**: a regression prior (residual MLP, cosine loss; {card['parameters']['prior']:,} parameters), not
  unCLIP's diffusion prior: it returns one image embedding per caption, near the mean of the images the caption
  fits, so attributes a caption leaves open decode to an average.
- Weights: float16 safetensors `{card['weights_file']}`, {card['weights_bytes'] / 1e6:.1f} MB, sha256 `{card['sha256']}`.

## Training
- decoder: {cfg['decoder_steps']} steps × batch {cfg['decoder_batch']}, AdamW lr {cfg['decoder_lr']} (warm-up
  {cfg['warmup_steps']}, cosine); {tr['decoder_s'] / 60:.1f} min; final pixel L1 {tr['decoder_final_pixel_l1']:.4f},
  re-encoded cosine {tr['decoder_final_reencoded_cos']:.3f} (means over the last 50 steps)
- prior: {cfg['prior_steps']} steps × batch {cfg['prior_batch']}, lr {cfg['prior_lr']}; {tr['prior_s'] / 60:.1f} min;
  final cosine to the pair's image embedding {tr['prior_final_cos']:.3f}
- encoding the 30,000 training pairs: {tr['embed_s'] / 60:.1f} min; {tr['threads']} CPU thread(s) on a shared 2-core machine

## Measured on {ev['n']} held-out pairs (`{ev['heldout_dataset_id']}`), each picture re-encoded by `{card['model']}`

Share of decoded pictures whose zero-shot colour / shape (prompt ensembles of the training templates) match the
source (the image's true attributes; for captions, the attribute the caption states):

| path | colour | shape |
|---|---|---|
{table}

- the model's own zero-shot accuracy on the source images (a perfect decoder's ceiling): colour {im['source_colour']:.3f},
  shape {im['source_shape']:.3f}; both colour and shape right after decoding: {im['both_match']:.3f}
- mean cosine of the re-encoded picture to its source image embedding: **{im['reencoded_cos']:.3f}**, against
  {im['random_image_cos']:.3f} for a random other held-out image
- the prior's image embedding vs the pair's real one: cosine {ev['text_prior']['prior_cos_to_pair_image']:.3f}
  (the caption's own text vector: {ev['text_direct']['text_cos_to_pair_image']:.3f}; shifted by the gap vector,
  ‖Δ‖ = {ev['gap_vector_norm']:.3f}: {ev['text_gap_closed']['shifted_cos_to_pair_image']:.3f})
- bar (toy-clip: colour ≥ {bar.get('thresholds', {}).get('colour', 0.9)}, shape ≥ {bar.get('thresholds', {}).get('shape', 0.7)}
  for decoded image embeddings): {verdict}

Figures as measured by `amumo_ng.zoo.evaluate_unclip.evaluate_toy_unclip`.
"""
