"""Robustness of image embeddings under an augmentation: per-step curves and their spread over pairs.

:func:`robustness_curves` is pure (arrays in, a dataclass out): for the ``steps`` augmented
copies of one image it gives the cosine to the original image, the cosine to the pair's caption
and the rank of the true caption among a caption bank (retrieval under the transform).
:func:`summarize` reduces per-pair curves [n_pairs, steps] to mean, std and percentile bands, and
:func:`first_crossing` finds where a curve first passes a level. :func:`robustness` is the one
convenience that encodes: for each model and pair it builds the augmented set
(:func:`amumo_ng.datasets.augment`), encodes it, and summarises the curves over the pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .validation import EmbeddingError, as_matrix, l2_normalize

__all__ = ["RobustnessCurves", "CurveSummary", "ModelRobustness", "Robustness", "robustness_curves",
           "summarize", "first_crossing", "robustness", "resolve_encoder"]

CURVES = ("image_cosine", "caption_cosine", "caption_rank")


@dataclass(frozen=True)
class RobustnessCurves:
    """Curves of one augmented set, one value per step.

    image_cosine : float64 [steps], cosine of each augmented image to the original image.
    caption_cosine : float64 [steps], cosine of each augmented image to the pair's caption.
    caption_rank : int64 [steps], rank (1 = best) of the true caption among the caption bank.
    """

    image_cosine: np.ndarray
    caption_cosine: np.ndarray
    caption_rank: np.ndarray


def _vector(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise EmbeddingError(f"{name}: expected a vector [d], got shape {arr.shape}")
    return as_matrix(arr[None, :], name)[0]


def robustness_curves(original_image_vec, caption_vec, augmented_image_vecs, caption_bank,
                      true_caption_index: int, *, ties: str = "pessimistic") -> RobustnessCurves:
    """Per-step cosines and the retrieval rank of the true caption under a transform.

    Parameters
    ----------
    original_image_vec, caption_vec : array-like [d]
        The untransformed image and its caption (raw or normalised).
    augmented_image_vecs : array-like [steps, d]
        The transformed copies, one row per step.
    caption_bank : array-like [N, d]
        Candidate captions; row ``true_caption_index`` is the true one (usually ``caption_vec``).
    ties : "pessimistic" or "optimistic"
        Rank = 1 + the number of *other* bank rows scoring >= (pessimistic, as
        :func:`~amumo_ng.analysis.topk_accuracy`) or > (optimistic) the true caption's cosine.

    Cosines are computed in float64 from L2-normalised rows.
    """
    orig = _vector(original_image_vec, "original_image_vec").astype(np.float64)
    cap = _vector(caption_vec, "caption_vec").astype(np.float64)
    aug = as_matrix(augmented_image_vecs, "augmented_image_vecs").astype(np.float64)
    bank = as_matrix(caption_bank, "caption_bank").astype(np.float64)
    d = orig.shape[0]
    if cap.shape[0] != d or aug.shape[1] != d or bank.shape[1] != d:
        raise EmbeddingError(f"dimensions differ: original {d}, caption {cap.shape[0]}, "
                             f"augmented {aug.shape[1]}, bank {bank.shape[1]}")
    if isinstance(true_caption_index, bool) or not 0 <= int(true_caption_index) < bank.shape[0]:
        raise EmbeddingError(f"true_caption_index {true_caption_index!r} out of range for a bank of {bank.shape[0]}")
    if ties not in ("pessimistic", "optimistic"):
        raise EmbeddingError(f"ties must be 'pessimistic' or 'optimistic', got {ties!r}")
    t = int(true_caption_index)
    aug = l2_normalize(aug)
    orig, cap, bank = orig / np.linalg.norm(orig), cap / np.linalg.norm(cap), l2_normalize(bank)
    sims = aug @ bank.T  # [steps, N]
    true = sims[:, t:t + 1]
    better = (sims >= true) if ties == "pessimistic" else (sims > true)
    rank = better.sum(axis=1) - (1 if ties == "pessimistic" else 0) + 1
    return RobustnessCurves(aug @ orig, aug @ cap, rank.astype(np.int64))


@dataclass(frozen=True)
class CurveSummary:
    """One curve summarised over pairs; every field float64 [steps]."""

    mean: np.ndarray
    std: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    percentiles: tuple = (10.0, 90.0)


def summarize(values, percentiles: tuple = (10.0, 90.0)) -> CurveSummary:
    """Mean, std (ddof 0), median and the ``percentiles`` band (linear interpolation) of
    ``values`` [n_pairs, steps] over the pairs (axis 0)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 1:
        raise EmbeddingError(f"expected per-pair curves [n_pairs, steps], got shape {v.shape}")
    lo, hi = np.percentile(v, list(percentiles), axis=0)
    return CurveSummary(v.mean(0), v.std(0), np.median(v, 0), lo, hi, tuple(float(p) for p in percentiles))


def first_crossing(values, level: float, *, below: bool = True) -> Optional[int]:
    """First index where ``values`` [steps] is < ``level`` (``below``) or > ``level``; None if never."""
    v = np.asarray(values, dtype=np.float64).ravel()
    hit = np.flatnonzero(v < level if below else v > level)
    return int(hit[0]) if hit.size else None


@dataclass(frozen=True)
class ModelRobustness:
    """One model's curves over the pairs.

    param : float64 [steps], the parameter value of each step (mean over pairs; equal for equal image sizes).
    per_pair : dict curve name -> [n_pairs, steps] (``caption_rank`` int64, cosines float64).
    image_cosine, caption_cosine, caption_rank : :class:`CurveSummary` over the pairs.
    """

    model: str
    model_id: str
    param: np.ndarray
    per_pair: dict
    image_cosine: CurveSummary
    caption_cosine: CurveSummary
    caption_rank: CurveSummary

    def recall_at(self, k: int) -> np.ndarray:
        """Fraction of pairs whose true caption ranks within the top ``k``, float64 [steps]."""
        return (self.per_pair["caption_rank"] <= int(k)).mean(axis=0)


@dataclass(frozen=True)
class Robustness:
    """Result of :func:`robustness`: the kind, its unit, the pairs and one :class:`ModelRobustness` per model."""

    kind: str
    param_unit: str
    steps: int
    indices: np.ndarray
    bank_size: dict
    models: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> ModelRobustness:
        return self.models[name]

    def to_frame(self) -> pd.DataFrame:
        """Long table: model, curve, step, param, mean, std, median, low, high."""
        rows = []
        for name, result in self.models.items():
            for curve in CURVES:
                s = getattr(result, curve)
                rows.append(pd.DataFrame({"model": name, "curve": curve, "step": np.arange(self.steps),
                                          "param": result.param, "mean": s.mean, "std": s.std,
                                          "median": s.median, "low": s.low, "high": s.high}))
        return pd.concat(rows, ignore_index=True)


def resolve_encoder(name: str, embeddings, encoders: Optional[Mapping[str, Any]] = None):
    """The encoder that made ``embeddings``.

    In order: ``encoders[name]`` when given; ``embeddings.encoder`` when the Embeddings carry one
    (``embed()`` attaches its encoder); else a model loaded by name from ``model_id`` (the
    encoder's ``id``, e.g. ``"toy-clip:amumo-toy-rn:sha256-..."`` or ``"open_clip:ViT-B-32:openai"``),
    trying ``name``, the zoo name before the first ``:`` and ``ARCH/TAG`` of an ``open_clip:`` id,
    and using a candidate only when its ``id`` equals ``model_id`` (same weights). Otherwise a
    :class:`~amumo_ng.models.ModelError` asks for ``encoders={name: encoder}``.
    """
    from ..models import ModelError, as_encoder, load

    if encoders is not None and name in encoders:
        return as_encoder(encoders[name])
    model_id = str(embeddings.model_id)
    attached = getattr(embeddings, "encoder", None)
    if attached is not None:
        return as_encoder(attached)
    candidates = [name, model_id.split(":", 1)[0]]
    parts = model_id.split(":")
    if len(parts) == 3 and parts[0] == "open_clip":
        candidates.append(f"{parts[1]}/{parts[2]}")
    for candidate in dict.fromkeys(candidates):
        try:
            encoder = load(candidate)
        except Exception:  # unknown name, offline hub, ...: try the next candidate
            continue
        if encoder.id == model_id:
            return encoder
    raise ModelError(f"cannot find the encoder of {name!r} (model_id {model_id!r}); "
                     f"pass encoders={{{name!r}: encoder}}")


def _bank(embeddings) -> tuple[np.ndarray, dict]:
    """Rows of the distinct captions of the Embeddings (first occurrence, int64 [N']) and caption -> bank position."""
    first: dict[str, int] = {}
    for i, c in enumerate(embeddings.captions):
        first.setdefault(c, i)
    return np.fromiter(first.values(), dtype=np.int64, count=len(first)), {c: k for k, c in enumerate(first)}


def robustness(embeddings_by_model: Mapping[str, Any], dataset, kind, indices: Sequence[int], steps: int = 100,
               encoders: Optional[Mapping[str, Any]] = None, batch_size: int = 256, progress: bool = True, *,
               seed: int = 0, percentiles: tuple = (10.0, 90.0), ties: str = "pessimistic",
               **params) -> Robustness:
    """Augment pairs ``indices`` of ``dataset``, encode each set with every model and summarise the curves.

    Parameters
    ----------
    embeddings_by_model : dict name -> Embeddings
        Each model's embeddings of ``dataset`` (from ``amumo_ng.embed(dataset, encoder)``): row
        ``index`` gives the original image and caption vectors, and the dataset's distinct
        captions are the caption bank (a caption repeated in the dataset counts once).
    dataset : PairDataset
        The source of the pairs.
    kind, steps, seed, **params
        As for :func:`amumo_ng.datasets.augment`.
    indices : sequence of int
        The pairs, e.g. 200 of them.
    encoders : dict name -> encoder, optional
        Needed for models whose encoder cannot be found from the Embeddings (see :func:`resolve_encoder`).
    batch_size : int
        Images rendered and encoded at a time (memory holds at most this many images).
    progress : bool
        A tqdm progress bar over (model, pair).

    Returns a :class:`Robustness` with, per model, per-pair curves and their summaries against the parameter.
    """
    from tqdm.auto import tqdm

    from ..datasets.augmentation import augment

    idx = np.asarray(list(indices), dtype=np.int64).ravel()
    if idx.size == 0:
        raise EmbeddingError("robustness needs at least one pair index")
    if not embeddings_by_model:
        raise EmbeddingError("robustness needs at least one model's Embeddings")
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise EmbeddingError(f"batch_size must be >= 1, got {batch_size!r}")
    for name, emb in embeddings_by_model.items():
        if len(emb) != len(dataset) or emb.dataset_id not in (dataset.id, "arrays"):
            raise EmbeddingError(f"the Embeddings of {name!r} ({emb.dataset_id}, n={len(emb)}) are not of "
                                 f"dataset {dataset.id} (n={len(dataset)})")
    first = augment(dataset, int(idx[0]), kind, steps, seed=seed, **params)  # validates kind, steps, params
    models, bank_size = {}, {}
    with tqdm(total=len(embeddings_by_model) * idx.size, disable=not progress, unit="pair",
              desc=f"robustness {first.kind}") as bar:
        for name, emb in embeddings_by_model.items():
            encoder = resolve_encoder(name, emb, encoders)
            text = np.asarray(emb.text)
            curves = {c: np.empty((idx.size, first.steps), dtype=np.int64 if c == "caption_rank" else np.float64)
                      for c in CURVES}
            param = np.zeros(first.steps)
            bank_rows, position = _bank(emb)
            captions, bank = emb.captions, text[bank_rows]
            for row, index in enumerate(idx):
                aug = first if row == 0 else augment(dataset, int(index), kind, steps, seed=seed, **params)
                vecs = np.concatenate([
                    np.asarray(encoder.encode_images(aug.images(range(s, min(s + batch_size, aug.steps)))))
                    for s in range(0, aug.steps, batch_size)])
                i = aug.source_index
                c = robustness_curves(emb.image[i], text[i], vecs, bank, position[captions[i]], ties=ties)
                for curve in CURVES:
                    curves[curve][row] = getattr(c, curve)
                param += aug.param
                bar.update(1)
            bank_size[name] = int(bank_rows.size)
            models[name] = ModelRobustness(name, str(emb.model_id), param / idx.size, curves,
                                           *(summarize(curves[c], percentiles) for c in CURVES))
    return Robustness(first.kind, first.param_unit, first.steps, idx, bank_size, models)

