"""Evaluation of a CLIP-like model on ``shapes`` pairs from plain encode callables.

Everything here takes ``encode_images(list[PIL.Image]) -> [n, d]`` and
``encode_texts(list[str]) -> [n, d]`` (raw float vectors), so it works for any encoder:
the zoo's open_clip models, :class:`amumo_ng.models.base.Encoder` subclasses, or test fakes.
"""
from __future__ import annotations

import itertools
import string
from typing import Callable, Sequence

import numpy as np

from ..analysis.gap import modality_gap
from ..analysis.retrieval import topk_accuracy
from ..analysis.validation import EmbeddingError, as_matrix, l2_normalize
from ..datasets.shapes import (
    BACKGROUNDS,
    CAPTION_TEMPLATES,
    COLOUR_NAMES,
    COUNTS,
    POSITION_PHRASES,
    POSITIONS,
    SHAPES,
    SIZES,
    fix_articles,
    noun_phrase,
)

EncodeImages = Callable[[Sequence], np.ndarray]
EncodeTexts = Callable[[Sequence[str]], np.ndarray]

#: Classes of each attribute (zero-shot targets and values a placeholder ranges over).
ATTRIBUTE_VALUES = {
    "shape": SHAPES,
    "colour": COLOUR_NAMES,
    "size": SIZES,
    "background": BACKGROUNDS,
    "position": POSITIONS,
    "count": COUNTS,
}

#: Template placeholders and the attributes each one depends on. ``{np}`` is the noun phrase of
#: the captions ("a red circle", "two red circles"), ``{snp}`` the same with the size, ``{position}``
#: the position phrase ("in the top left corner"), ``{be}`` "is"/"are"; the others are the plain value.
PLACEHOLDERS = {
    "shape": ("shape",),
    "colour": ("colour",),
    "size": ("size",),
    "background": ("background",),
    "position": ("position",),
    "np": ("shape", "colour", "count"),
    "snp": ("shape", "colour", "count", "size"),
    "be": ("count",),
}

#: Default zero-shot prompts: the training captions' own templates, marginalised over every
#: attribute but the one classified (the captions' paraphrases, plural forms included).
ZERO_SHOT_TEMPLATES = tuple(CAPTION_TEMPLATES)

#: Single-object prompts (no count, no position), for comparison.
SIMPLE_TEMPLATES = (
    "a {colour} {shape}",
    "a picture of a {colour} {shape}",
    "a photo of a {size} {colour} {shape}",
    "there is a {colour} {shape} in this picture",
    "a drawing of a {size} {colour} {shape}",
    "a {colour} {shape} on a {background} background",
)


def _fill(template: str, fields: list[str], values: dict) -> str:
    kwargs = {}
    for f in fields:
        if f == "np":
            kwargs[f] = noun_phrase(values["shape"], values["colour"], values["count"])
        elif f == "snp":
            kwargs[f] = noun_phrase(values["shape"], values["colour"], values["count"], values["size"])
        elif f == "be":
            kwargs[f] = "is" if values["count"] == 1 else "are"
        elif f == "position":
            kwargs[f] = POSITION_PHRASES[values["position"]]
        else:
            kwargs[f] = values[f]
    return fix_articles(template.format(**kwargs))


def prompts_for(attribute: str, value, templates: Sequence[str]) -> list[str]:
    """All prompts of class ``value``: each template with ``attribute`` set to ``value`` and
    every other attribute it depends on run over all its values (a marginalising prompt ensemble).
    Templates that do not mention ``attribute`` are skipped; ValueError when none does.
    Placeholders: see :data:`PLACEHOLDERS`."""
    out = []
    for template in templates:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        unknown = [f for f in fields if f not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"template {template!r} uses unknown placeholder(s) {unknown}; "
                             f"known: {sorted(PLACEHOLDERS)}")
        needs = sorted({a for f in fields for a in PLACEHOLDERS[f]})
        if attribute not in needs:
            continue
        others = [a for a in needs if a != attribute]
        for combo in itertools.product(*(ATTRIBUTE_VALUES[a] for a in others)):
            values = dict(zip(others, combo))
            values[attribute] = value
            out.append(_fill(template, fields, values))
    if not out:
        raise ValueError(f"no template mentions the {attribute}: {list(templates)}")
    return out


def class_embeddings(encode_texts: EncodeTexts, attribute: str, templates: Sequence[str]) -> np.ndarray:
    """Unit class vectors [n_classes, d] (order of ``ATTRIBUTE_VALUES[attribute]``): the mean
    of the unit prompt embeddings of each class, renormalised."""
    if attribute not in ATTRIBUTE_VALUES:
        raise ValueError(f"attribute must be one of {sorted(ATTRIBUTE_VALUES)}, got {attribute!r}")
    rows = []
    for value in ATTRIBUTE_VALUES[attribute]:
        emb = l2_normalize(as_matrix(encode_texts(prompts_for(attribute, value, templates)), "prompt embeddings"))
        rows.append(emb.mean(axis=0))
    return l2_normalize(np.stack(rows))


def zero_shot_accuracy(
    encode_images: EncodeImages,
    encode_texts: EncodeTexts,
    dataset,
    attribute: str,
    templates: Sequence[str] = ZERO_SHOT_TEMPLATES,
    indices: Sequence[int] | None = None,
    image_embeddings: np.ndarray | None = None,
) -> float:
    """Fraction of images whose nearest class vector (cosine) is their true ``attribute``.

    ``dataset``: a :class:`~amumo_ng.datasets.shapes.ShapesDataset` (its ``meta`` holds the
    truth); ``indices``: which pairs (default all); ``image_embeddings`` [len(indices), d]:
    precomputed image vectors, to skip encoding. Returns an accuracy in [0, 1].
    """
    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    if idx.size == 0:
        raise EmbeddingError("zero-shot accuracy needs at least one image")
    if image_embeddings is None:
        image_embeddings = encode_images(dataset.images(idx))
    img = l2_normalize(as_matrix(image_embeddings, "image embeddings"))
    if img.shape[0] != idx.size:
        raise EmbeddingError(f"{img.shape[0]} image embeddings for {idx.size} images")
    classes = class_embeddings(encode_texts, attribute, templates)
    if classes.shape[1] != img.shape[1]:
        raise EmbeddingError(f"image and text dimensions differ: {img.shape[1]} vs {classes.shape[1]}")
    predicted = np.asarray(ATTRIBUTE_VALUES[attribute], dtype=object)[np.argmax(img @ classes.T, axis=1)]
    truth = dataset.meta[attribute].to_numpy()[idx]
    return float(np.mean(predicted == truth))


def retrieval_ceiling(dataset, ks: Sequence[int] = (1, 5)) -> dict:
    """Top-k retrieval accuracy of an ideal model that reads every attribute perfectly but cannot
    tell apart captions (images) that are equally true of an image (caption), ties broken at random.

    Captions mention only some attributes ("a red circle" fits every image of one red circle),
    so among many pairs several captions fit one image: query i then scores ``min(1, k / m_i)``
    where m_i counts the candidates consistent with it (itself included). Returns the same
    layout as :func:`~amumo_ng.analysis.retrieval.topk_accuracy`.
    """
    meta = dataset.meta
    n = len(dataset)
    said = [dataset.caption_attributes(i) for i in range(n)]
    truth = {key: meta[key].to_numpy() for key in ("shape", "colour", "count", "size", "position", "background")}
    consistent = np.ones((n, n), dtype=bool)  # [caption j, image i]: caption j is true of image i
    for j, attrs in enumerate(said):
        for key, value in attrs.items():
            consistent[j] &= truth[key] == value
    fits_image = consistent.sum(axis=0)  # captions true of image i
    fits_caption = consistent.sum(axis=1)  # images a caption is true of
    return {
        "image_to_text": {int(k): float(np.mean(np.minimum(1.0, k / fits_image))) for k in ks},
        "text_to_image": {int(k): float(np.mean(np.minimum(1.0, k / fits_caption))) for k in ks},
    }


def evaluate_pairs(encode_images: EncodeImages, encode_texts: EncodeTexts, dataset,
                   templates: Sequence[str] = ZERO_SHOT_TEMPLATES) -> dict:
    """Retrieval (top-1/5 both ways), modality gap and zero-shot colour/shape accuracy on all
    pairs of ``dataset``. Returns a JSON-ready dict."""
    image = np.asarray(encode_images(dataset.images(range(len(dataset)))), dtype=np.float32)
    text = np.asarray(encode_texts(dataset.captions), dtype=np.float32)
    retrieval = topk_accuracy(image, text, ks=(1, 5))
    return {
        "retrieval": {direction: {str(k): v for k, v in accs.items()} for direction, accs in retrieval.items()},
        "gap_distance": modality_gap(image, text).distance,
        "zero_shot": {
            attr: zero_shot_accuracy(encode_images, encode_texts, dataset, attr, templates, image_embeddings=image)
            for attr in ("colour", "shape")
        },
    }


def open_clip_encoders(model, preprocess, tokenizer, batch_size: int = 256):
    """``(encode_images, encode_texts)`` callables of an in-memory open_clip model (raw float32
    outputs), through the package's one open_clip encoding path (:class:`OpenCLIPEncoder`)."""
    from ..models.open_clip_encoder import OpenCLIPEncoder

    encoder = OpenCLIPEncoder.from_model(model, preprocess, tokenizer, id="in-memory", device="cpu",
                                         batch_size=batch_size)
    return encoder.encode_images, encoder.encode_texts
