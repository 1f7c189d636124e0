"""Datasets by name: ``load("shapes")``, ``load("folder", path=..., captions=...)``, ...

Design: the built-in factories live in :data:`BUILTINS`, a read-only mapping that nothing
can change. A :class:`Registry` is an explicit object: the built-ins plus the user's own
names, kept on the instance. The module functions :func:`load`, :func:`available` and
:func:`register` act on a per-process default registry that is created on first use
(:func:`default_registry`), so importing this module creates no state; code (and tests)
that need isolation make their own ``Registry()`` and pass it as ``registry=``. Built-in
names cannot be replaced or removed, so one caller's registration can never change what
another gets for ``"shapes"``.

Built-in loaders are named as ``"module:attribute"`` strings and imported only when that
name is loaded, so the registry costs nothing at import, a loader missing from an
installation fails only when asked for (as a DatasetError), and keyword arguments are
checked against the loader's own signature (an unknown one is named, with those accepted).
"""
from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import types
from typing import Callable, Mapping, Optional, Union

from .base import DatasetError, PairDataset

Factory = Callable[..., PairDataset]


def _folder(path, captions=None, image_column: Optional[str] = None, caption_column: Optional[str] = None) -> PairDataset:
    """``FolderDataset(path, captions, ...)``: images in folder ``path``, captions table ``captions``."""
    from .folder import FolderDataset

    return FolderDataset(path, captions, image_column=image_column, caption_column=caption_column)


#: The built-in datasets (read-only). A ``"module:attribute"`` string is imported when the
#: name is loaded, so the loader's own signature is the one arguments are checked against.
BUILTINS: Mapping[str, Union[Factory, str]] = types.MappingProxyType(
    {
        "shapes": "amumo_ng.datasets.shapes:ShapesDataset",
        "folder": _folder,
        "coco": "amumo_ng.datasets.coco:CocoCaptionsDataset",
        "mscoco": "amumo_ng.datasets.hub:load_mscoco",
        "diffusiondb": "amumo_ng.datasets.hub:load_diffusiondb",
    }
)


def _resolve(name: str, entry: Union[Factory, str]) -> Factory:
    if not isinstance(entry, str):
        return entry
    module_name, attribute = entry.split(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise DatasetError(f"dataset {name!r} is not available in this installation ({exc})") from exc


class Registry:
    """Dataset names -> factories: the :data:`BUILTINS` plus this instance's own entries.

    A factory is any callable taking keyword arguments and returning a
    :class:`~amumo_ng.datasets.base.PairDataset`.
    """

    def __init__(self) -> None:
        self._user: dict[str, Factory] = {}

    def register(self, name: str, factory: Factory, *, replace: bool = False) -> Factory:
        """Add ``name``; returns ``factory``.

        Raises :class:`DatasetError` for a non-string/blank name, a non-callable factory, a
        built-in name, or a name already registered here (unless ``replace=True``).
        """
        if not isinstance(name, str) or not name.strip():
            raise DatasetError(f"a dataset name must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise DatasetError(f"the factory for {name!r} must be callable, got {type(factory).__name__}")
        if name in BUILTINS:
            raise DatasetError(f"{name!r} is a built-in dataset and cannot be replaced; choose another name")
        if name in self._user and not replace:
            raise DatasetError(f"{name!r} is already registered (pass replace=True to replace it)")
        self._user[name] = factory
        return factory

    def unregister(self, name: str) -> None:
        """Remove a user-registered name (built-ins cannot be removed)."""
        if name in BUILTINS:
            raise DatasetError(f"{name!r} is a built-in dataset and cannot be removed")
        if name not in self._user:
            raise self._unknown(name)
        del self._user[name]

    def available(self) -> list[str]:
        """All names, sorted."""
        return sorted({*BUILTINS, *self._user})

    def __contains__(self, name: object) -> bool:
        return name in BUILTINS or name in self._user

    def factory(self, name: str) -> Factory:
        """The factory for ``name``; :class:`DatasetError` with close names when unknown."""
        if name in BUILTINS:
            return _resolve(name, BUILTINS[name])
        if name in self._user:
            return self._user[name]
        raise self._unknown(name)

    def load(self, name: str, **kwargs) -> PairDataset:
        """Build dataset ``name`` with ``kwargs``.

        Raises :class:`DatasetError` for an unknown name (suggesting close ones), arguments
        the factory does not accept (listing those it does), or a factory that does not
        return a PairDataset; the loaders' own DatasetErrors pass through unchanged.
        """
        factory = self.factory(name)
        _check_arguments(name, factory, kwargs)
        dataset = factory(**kwargs)
        if not isinstance(dataset, PairDataset):
            raise DatasetError(f"the factory for {name!r} returned {type(dataset).__name__}, not a PairDataset")
        return dataset

    def _unknown(self, name) -> DatasetError:
        names = self.available()
        lowered = {n.lower(): n for n in names}  # case-insensitive: "MSCOCO" -> "mscoco"
        close = [lowered[c] for c in difflib.get_close_matches(str(name).lower(), list(lowered), n=3, cutoff=0.5)]
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        return DatasetError(f"unknown dataset {name!r}; {hint}available: {', '.join(names)}")

    def __repr__(self) -> str:
        return f"<Registry {self.available()}>"


def _check_arguments(name: str, factory: Factory, kwargs: dict) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = signature.parameters.values()
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
    unexpected = [key for key in kwargs if key not in accepted]
    if unexpected and not takes_any:
        raise DatasetError(
            f"dataset {name!r} got unexpected argument(s) {', '.join(map(repr, unexpected))}; "
            f"it accepts: {', '.join(accepted) or '(no arguments)'}"
        )
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        raise DatasetError(
            f"dataset {name!r}: {exc}; it accepts: {', '.join(accepted) or '(no arguments)'}"
        ) from None


@functools.lru_cache(maxsize=None)
def default_registry() -> Registry:
    """The registry used by the module-level functions (created on first use)."""
    return Registry()


def _pick(registry: Optional[Registry]) -> Registry:
    return default_registry() if registry is None else registry


def load(name: str, *, registry: Optional[Registry] = None, **kwargs) -> PairDataset:
    """Build the dataset called ``name`` (see :meth:`Registry.load`).

    Built-ins: ``"shapes"`` (:class:`~amumo_ng.datasets.shapes.ShapesDataset` arguments:
    n=1000, seed=0, ...), ``"folder"`` (path, captions=None, image_column=None,
    caption_column=None), ``"coco"`` (captions_json, image_dir, all_captions=False),
    ``"mscoco"`` and ``"diffusiondb"`` (n=1000, timeout=2.0; need the network and
    ``pip install amumo-ng[hub]``).
    """
    return _pick(registry).load(name, **kwargs)


def available(registry: Optional[Registry] = None) -> list[str]:
    """Sorted names that :func:`load` accepts."""
    return _pick(registry).available()


def register(name: str, factory: Factory, *, replace: bool = False, registry: Optional[Registry] = None) -> Factory:
    """Add a dataset name to ``registry`` (default: the process-wide one); see :meth:`Registry.register`."""
    return _pick(registry).register(name, factory, replace=replace)
