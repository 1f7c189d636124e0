"""Showing an augmented set in every view: the session swaps the pairs behind every model.

``session.augment(kind, pair)`` transforms the image of pair ``pair`` over ``steps`` steps
(:func:`amumo_ng.datasets.augment_image`: rotate, blur, noise, shifts, ...), encodes the set with
each model's own encoder (through the embedding cache) and shows it instead of the dataset, for
every model of the session: heatmap, scatter, readouts and clustering work on it as on any data.
``session.restore()`` brings the dataset back with the filter and selection it had.
"""
from __future__ import annotations

import threading
from typing import Mapping, Optional

import traitlets as t

from ..analysis.validation import EmbeddingError


class AugmentationMixin(t.HasTraits):
    """``augmentation`` (dict, {} when the dataset is shown) and :meth:`augment` / :meth:`restore`;
    mixed into :class:`~amumo_ng.session.Session` (needs ``_models``, ``_source``, ``data_version``)."""

    augmentation = t.Dict(help="the augmented set shown: kind, pair, steps, caption, param_unit ({} = dataset)")

    def augmentable(self) -> tuple[bool, str]:
        """(True, "") when every model's embeddings have images and an encoder, else (False, why)."""
        base = getattr(self, "_base_models", None) or self._models
        encoders = getattr(self, "_encoders", {}) or {}
        for name, emb in base.items():
            if emb.image_source is None:
                return False, f"model {name!r} has no images to transform"
            if emb.encoder is None and name not in encoders:
                return False, (f"model {name!r} has no encoder: make its embeddings with amumo_ng.embed, "
                               "or give encoders={name: encoder}")
        return True, ""

    def dataset_embeddings(self, name: str):
        """Model ``name``'s embeddings of the dataset (not of the augmented set shown)."""
        base = getattr(self, "_base_models", None) or self._models
        return base[name]

    def set_encoders(self, encoders: Optional[Mapping[str, object]]) -> None:
        """Encoders by model name, for embeddings that do not carry theirs (precomputed arrays)."""
        from ..models import as_encoder

        self._encoders = {str(k): as_encoder(v) for k, v in (encoders or {}).items()}

    def augment(self, kind, pair: int, steps: int = 100, *, seed: int = 0, background: bool = False,
                **params):
        """Show ``steps`` transformed copies of pair ``pair``'s image (with its caption) instead of
        the dataset, for every model. ``kind``/``seed``/``params``: see
        :func:`~amumo_ng.datasets.augmentation.augment_image`. Encoding goes through the cache and shows
        progress; ``background=True`` runs it in a worker thread (``status`` says so) and returns the
        thread. Raises EmbeddingError (or the dataset's error) for a bad kind, pair or steps, or
        when a model has no images or no encoder; nothing changes then."""
        from ..datasets.augmentation import augment_image, kinds

        base = getattr(self, "_base_models", None) or dict(self._models)
        ok, why = self.augmentable()
        if not ok:
            raise EmbeddingError(f"cannot augment: {why}")
        names = kind.split("+") if isinstance(kind, str) else list(kind)
        unknown = [k for k in names if k not in kinds()]
        if unknown:
            raise EmbeddingError(f"unknown augmentation {unknown[0]!r}; kinds: {', '.join(kinds())}")
        first = next(iter(base.values()))
        pair = int(pair)
        if not 0 <= pair < first.n:
            raise EmbeddingError(f"pair {pair} does not exist: indices run from 0 to {first.n - 1}")
        # build every set first (validates steps and params) before anything is encoded or swapped
        sets = {name: augment_image(emb.get_image(pair), emb.captions[pair], kind, steps, seed=seed, **params)
                for name, emb in base.items()}
        if background:
            thread = threading.Thread(target=self._encode_and_show, args=(base, sets, kind, pair, steps),
                                      name="amumo-augment", daemon=True)
            thread.start()
            return thread
        self._encode_and_show(base, sets, kind, pair, steps)
        return None

    def _encode_and_show(self, base, sets, kind, pair, steps) -> None:
        from ..store.cache import embed

        encoders = getattr(self, "_encoders", {}) or {}
        try:
            shown = {}
            for i, (name, emb) in enumerate(base.items()):
                self.status = f"augmenting pair {pair}: encoding {steps} images with {name} ({i + 1}/{len(base)})…"
                # the status line is the progress here (a tqdm bar from a widget callback has no cell to show in)
                shown[name] = embed(sets[name], emb.encoder or encoders[name], progress=False)
        except Exception as exc:  # shown in the views; the data stays as it was
            self.status = f"augmentation failed: {type(exc).__name__}: {exc}"
            raise
        if getattr(self, "_base_models", None) is None:  # leaving the dataset: remember its view
            self._base_models = dict(self._models)
            self._saved_view = {name: getattr(self, name) for name in
                                ("filter_pattern", "filter_regex", "selection", "selection_filter")}
        aug = next(iter(sets.values()))
        meta = aug.meta
        info = {"kind": "+".join(kind) if not isinstance(kind, str) else kind, "pair": pair, "steps": int(steps),
                "caption": aug.caption(0), "param_unit": str(meta["param_unit"].iloc[0]) if "param_unit" in meta else ""}
        self._swap(shown, aug.id, info, {"filter_pattern": "", "selection": [], "selection_filter": False})
        self.status = ""

    def restore(self) -> None:
        """Show the dataset again, with the filter and selection it had before the first augment."""
        if getattr(self, "_base_models", None) is None:
            return
        base, view = self._base_models, self._saved_view
        self._base_models = self._saved_view = None
        self._swap(base, "", {}, view)

    def _swap(self, models, source: str, info: dict, view: dict) -> None:
        """Put ``models`` (same names) behind the session and apply the view traits ``view``."""
        with self.hold_trait_notifications():  # data_version first: views reload before they refilter
            self._models = dict(models)
            self._source = source
            self.data_version += 1
            for name, value in view.items():
                setattr(self, name, value)
            self.augmentation = info
