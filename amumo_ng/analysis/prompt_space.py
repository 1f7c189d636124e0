"""Prompt space: the study's reference projection of a caption corpus, in which new prompts are placed.

The CLIP latent-space study fitted UMAP (cosine metric) on 10,000 encoded captions and transformed
the user's prompts and an interpolation path into that fixed map. :class:`PromptSpace` does the same,
sklearn-style: ``fit(vectors)`` on up to ``max_fit`` unit caption vectors (a seeded sample above
that), ``transform(vectors)`` for new ones. The fit is cached on disk under
``<amumo cache>/prompt_space/<key>/`` (``$AMUMO_NG_CACHE`` or ``~/.cache/amumo_ng``), keyed by the
digest of the vectors fitted and the parameters, so a second session (or a new process) loads it in
milliseconds instead of refitting. UMAP's numba code still compiles on first use in a process
(10–40 s, cached by numba afterwards; see :func:`~amumo_ng.analysis.projection.warm_up_umap`): fit
in a worker thread in interactive code (:meth:`PromptSpace.fit_async`).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .projection import Cancelled, import_umap, is_cancelled, unique_rows
from .validation import EmbeddingError, l2_normalize

__all__ = ["PromptSpace", "MAX_FIT", "CACHE_VERSION"]

#: Most caption vectors fitted (the study's 10,000); more are sampled down to this.
MAX_FIT = 10_000
#: Bumped when the cached files change meaning.
CACHE_VERSION = 1


class PromptSpace:
    """A UMAP (cosine) map of unit caption vectors, fitted once and cached on disk.

    Parameters
    ----------
    n_neighbors, min_dist, n_epochs, random_state : UMAP's parameters (``n_epochs`` None: umap-learn's
        default); ``n_neighbors`` is capped at the distinct rows − 1.
    max_fit : most rows fitted; above, a seeded (``random_state``) sample of ``max_fit`` rows.
    cache : keep / reuse fits on disk; ``cache_dir`` overrides ``<amumo cache>/prompt_space``.

    After :meth:`fit`: ``fit_rows_`` int64 [m] (rows of the input fitted), ``embedding_`` float32
    [m, 2] (their positions, unitless map coordinates), ``model_`` (the ``umap.UMAP``), ``key_``
    (the cache key) and ``from_cache_`` (True when loaded).
    """

    def __init__(self, n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: Optional[int] = None,
                 random_state: int = 0, max_fit: int = MAX_FIT, cache: bool = True, cache_dir=None):
        if int(max_fit) < 3:
            raise EmbeddingError(f"max_fit must be at least 3 (UMAP needs a few points), got {max_fit}")
        self.n_neighbors, self.min_dist, self.n_epochs = int(n_neighbors), float(min_dist), n_epochs
        self.random_state, self.max_fit, self.cache, self.cache_dir = int(random_state), int(max_fit), cache, cache_dir
        self.model_ = None

    # -- parameters and the cache ---------------------------------------------------------------
    def get_params(self) -> dict:
        return {"n_neighbors": self.n_neighbors, "min_dist": self.min_dist, "n_epochs": self.n_epochs,
                "random_state": self.random_state, "max_fit": self.max_fit}

    def _folder(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        from ..store.cache import default_cache_dir

        return default_cache_dir() / "prompt_space"

    def cache_key(self, vectors) -> str:
        """The cache key of fitting ``vectors`` [n, d] with these parameters (digest of the unit
        rows that would be fitted + parameters + umap-learn's version)."""
        from ..fingerprint import array_digest, text_digest

        fitted, _ = self._sample(vectors)
        umap = import_umap()
        params = json.dumps({**self.get_params(), "umap": getattr(umap, "__version__", "?"), "v": CACHE_VERSION},
                            sort_keys=True)
        return f"{array_digest(fitted, digest_size=12)}-{text_digest(params)[:12]}"

    def _sample(self, vectors) -> tuple[np.ndarray, np.ndarray]:
        """(unit float32 [m, d] rows fitted, their row indices int64 [m]) of ``vectors`` [n, d]."""
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] < 3:
            raise EmbeddingError(f"a prompt space needs at least 3 vectors [n, d], got shape {x.shape}")
        if not np.isfinite(x).all() or np.any(np.linalg.norm(x, axis=1) == 0):
            raise EmbeddingError("the prompt space vectors contain NaN, inf or zero rows")
        rows = np.arange(x.shape[0], dtype=np.int64)
        if x.shape[0] > self.max_fit:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(x.shape[0], self.max_fit, replace=False)).astype(np.int64)
        return np.ascontiguousarray(l2_normalize(x[rows])), rows

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, vectors, progress: Optional[Callable[[float, str], None]] = None, cancel=None) -> "PromptSpace":
        """Fit (or load from the cache) the map of ``vectors`` [n, d] (raw or unit; rows are normalised).
        ``progress(fraction, stage)`` at each stage; ``cancel`` (Event or callable) is checked between
        stages (:class:`~amumo_ng.analysis.projection.Cancelled`). Returns ``self``."""
        report = progress or (lambda _f, _s: None)

        def stage(fraction, text):
            if is_cancelled(cancel):
                raise Cancelled("prompt space fit cancelled")
            report(fraction, text)

        stage(0.0, "preparing the caption vectors")
        fitted, rows = self._sample(vectors)
        key = self.cache_key(vectors)
        folder = self._folder() / key
        if self.cache and self._load(folder):
            self.fit_rows_, self.key_, self.from_cache_ = rows, key, True
            stage(1.0, f"loaded the prompt space of {len(rows):,} captions from the cache")
            return self
        unique, inverse = unique_rows(fitted)
        if len(unique) < 3:
            raise EmbeddingError(f"only {len(unique)} distinct vectors: too few for a prompt space")
        stage(0.05, f"fitting UMAP (cosine) on {len(unique):,} distinct captions of {len(rows):,}")
        umap = import_umap()
        model = umap.UMAP(n_components=2, metric="cosine", n_neighbors=max(2, min(self.n_neighbors, len(unique) - 1)),
                          min_dist=self.min_dist, n_epochs=self.n_epochs, random_state=self.random_state, n_jobs=1,
                          init="spectral" if len(unique) > 3 else "random")
        embedding = model.fit_transform(unique).astype(np.float32)[inverse]
        stage(0.95, "saving the prompt space to the cache")
        self.model_, self.embedding_ = model, np.ascontiguousarray(embedding)
        self.fit_rows_, self.key_, self.from_cache_ = rows, key, False
        if self.cache:
            self._save(folder)
        stage(1.0, f"prompt space of {len(rows):,} captions")
        return self

    def fit_async(self, vectors, on_done: Callable[[object], None], progress=None) -> tuple[threading.Thread, threading.Event]:
        """Fit in a daemon thread; ``on_done(self or the exception)`` there. Returns (thread, cancel event)."""
        cancel = threading.Event()

        def work():
            try:
                result = self.fit(vectors, progress=progress, cancel=cancel)
            except BaseException as exc:  # reported to the caller, who shows it
                result = exc
            on_done(result)

        thread = threading.Thread(target=work, name="amumo-prompt-space", daemon=True)
        thread.start()
        return thread, cancel

    def transform(self, vectors) -> np.ndarray:
        """float32 [q, 2]: new vectors [q, d] (or one [d]; raw or unit) placed in the fitted map.

        UMAP's ``transform`` optimises the batch together with seeded negative sampling: the same batch
        always lands in the same places, but a vector's place can move a little with the batch it is in."""
        if self.model_ is None:
            raise EmbeddingError("the prompt space is not fitted yet: call fit(caption vectors) first")
        x = np.asarray(vectors, dtype=np.float32)
        x = x[None, :] if x.ndim == 1 else x
        dim = self.model_._raw_data.shape[1]
        if x.ndim != 2 or x.shape[1] != dim:
            raise EmbeddingError(f"the prompt space was fitted on {dim}-d vectors, got shape {x.shape}")
        if not np.isfinite(x).all() or np.any(np.linalg.norm(x, axis=1) == 0):
            raise EmbeddingError("vectors to place contain NaN, inf or zero rows")
        return np.asarray(self.model_.transform(l2_normalize(x)), dtype=np.float32)

    def fit_transform(self, vectors) -> np.ndarray:
        """:meth:`fit`, then the positions of every row of ``vectors`` [n, 2] (the fitted ones from the
        fit, the others, above ``max_fit``, by :meth:`transform`)."""
        self.fit(vectors)
        x = np.asarray(vectors, dtype=np.float32)
        out = np.empty((x.shape[0], 2), np.float32)
        out[self.fit_rows_] = self.embedding_
        rest = np.setdiff1d(np.arange(x.shape[0]), self.fit_rows_)
        if rest.size:
            out[rest] = self.transform(x[rest])
        return out

    # -- the files ------------------------------------------------------------------------------
    def _save(self, folder: Path) -> None:
        """model.pkl + embedding.npy + params.json, written to a temporary folder renamed into place."""
        tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.mkdir(parents=True)
            with open(tmp / "model.pkl", "wb") as fh:
                pickle.dump(self.model_, fh, protocol=pickle.HIGHEST_PROTOCOL)
            np.save(tmp / "embedding.npy", self.embedding_)
            (tmp / "params.json").write_text(json.dumps({**self.get_params(), "version": CACHE_VERSION}))
            os.replace(tmp, folder)
        except OSError:  # another process wrote it first, or a read-only cache: the fit is still in memory
            shutil.rmtree(tmp, ignore_errors=True)

    def _load(self, folder: Path) -> bool:
        """Load a cached fit; False (and the broken folder removed) when missing or damaged."""
        if not (folder / "params.json").is_file():
            return False
        try:
            embedding = np.load(folder / "embedding.npy")
            with open(folder / "model.pkl", "rb") as fh:
                model = pickle.load(fh)
        except Exception:  # damaged or written by another umap-learn: fit again
            shutil.rmtree(folder, ignore_errors=True)
            return False
        self.model_, self.embedding_ = model, np.asarray(embedding, dtype=np.float32)
        return True
