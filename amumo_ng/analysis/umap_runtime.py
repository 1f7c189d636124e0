"""UMAP's runtime: umap-learn imported once per process with numba's compiled code cached on disk.

UMAP's numba code compiles for 10–40 s in each new process; :func:`import_umap` points numba at
:func:`numba_cache_dir` and switches on caching of umap-learn's and pynndescent's jitted functions,
and :func:`warm_up_umap` compiles them ahead of the interactive path.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .validation import l2_normalize

_UMAP_LOCK = threading.RLock()
_UMAP_MODULE = None


def numba_cache_dir() -> Path:
    """Where numba caches compiled UMAP code: ``$NUMBA_CACHE_DIR`` if set, else
    ``<amumo cache root>/numba`` (the root is ``$AMUMO_NG_CACHE`` or ``~/.cache/amumo_ng``)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]).expanduser()
    from ..store.cache import default_cache_dir

    return default_cache_dir() / "numba"


def _enable_numba_cache() -> bool:
    """Point numba at :func:`numba_cache_dir` (unless ``$NUMBA_CACHE_DIR`` is set); False when it is not writable."""
    folder = numba_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    if "numba" in sys.modules:  # numba read its config before: make it see the folder
        import numba.core.config

        if numba.core.config.CACHE_DIR != os.environ["NUMBA_CACHE_DIR"]:
            numba.core.config.reload_config()
    return True


def _cache_jitted(prefixes=("umap", "pynndescent")) -> int:
    """Turn on numba's on-disk cache for every not-yet-cached jitted function of these packages.

    umap-learn compiles most of its functions without ``cache=True``, so without this the first fit
    of every process recompiles them (about 15 s). Returns how many functions were switched.
    """
    from numba.core.dispatcher import Dispatcher

    switched = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in prefixes:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and type(value._cache).__name__ == "NullCache":
                try:
                    value.enable_caching()
                    switched += 1
                except Exception:  # no cache locator for this function: it just stays uncached
                    pass
    return switched


def import_umap():
    """``import umap`` with numba's compiled code cached on disk (thread-safe, once per process)."""
    global _UMAP_MODULE
    with _UMAP_LOCK:
        if _UMAP_MODULE is None:
            cache = _enable_numba_cache()
            import umap

            if cache:
                _cache_jitted()
            _UMAP_MODULE = umap
        return _UMAP_MODULE


def _umap_model(n_points: int, n_neighbors: int, random_state: int, n_epochs: Optional[int] = None, **kwargs):
    umap = import_umap()
    return umap.UMAP(n_components=2, metric="cosine", n_neighbors=max(2, min(n_neighbors, n_points - 1)),
                     random_state=random_state, n_jobs=1, init="spectral" if n_points > 3 else "random",
                     n_epochs=n_epochs, **kwargs)


def warm_up_umap(background: bool = False, large: bool = False, n_points: int = 300, dim: int = 16):
    """Compile UMAP's numba code, which numba then caches on disk (see :func:`numba_cache_dir`).

    Fits a tiny UMAP (``n_points`` random unit vectors of ``dim`` dims, cosine metric, exact
    neighbours: the path of fewer than 4,096 points) and places a few points with ``transform``.
    ``large=True`` also runs the NNDescent path of larger sets; pynndescent passes the metric to
    ``nn_descent`` as a function argument, which numba cannot cache on disk, so that part helps
    only the calling process. Returns the seconds taken, or with ``background=True`` the started
    daemon :class:`threading.Thread` at once.
    """
    if background:
        thread = threading.Thread(target=warm_up_umap, kwargs={"large": large, "n_points": n_points, "dim": dim},
                                  name="amumo-umap-warm-up", daemon=True)
        thread.start()
        return thread
    start = time.perf_counter()
    x = l2_normalize(np.random.default_rng(0).normal(size=(int(n_points), int(dim))))
    for approximate in (False, True) if large else (False,):
        model = _umap_model(len(x), 10, 0, n_epochs=20, force_approximation_algorithm=approximate)
        model.fit(x)
        model.transform(x[:5])
    return time.perf_counter() - start


