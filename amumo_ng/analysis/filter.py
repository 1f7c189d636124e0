"""Caption filtering: which pairs a search pattern keeps."""
from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np

__all__ = ["FilterError", "filter_captions"]


class FilterError(ValueError):
    """An unusable filter pattern (e.g. an invalid regular expression)."""


def filter_captions(captions: Sequence[Optional[str]], pattern: Optional[str], regex: bool = False,
                    case_sensitive: bool = False) -> np.ndarray:
    """Indices (int64, ascending) of the captions that match ``pattern``.

    Plain mode keeps captions containing ``pattern`` as a substring; ``regex=True`` uses
    ``re.search``. Matching ignores case unless ``case_sensitive`` (plain mode compares casefolded
    strings). An empty or ``None`` pattern keeps every caption; a ``None`` caption is treated as "".
    Raises :class:`FilterError` for an invalid regular expression (with ``re``'s message) or a
    non-string pattern.
    """
    n = len(captions)
    if pattern is None or pattern == "":
        return np.arange(n, dtype=np.int64)
    if not isinstance(pattern, str):
        raise FilterError(f"pattern must be a string, got {type(pattern).__name__}")
    texts = ["" if c is None else str(c) for c in captions]
    if regex:
        try:
            compiled = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"invalid regular expression {pattern!r}: {exc}") from exc
        keep = [compiled.search(t) is not None for t in texts]
    elif case_sensitive:
        keep = [pattern in t for t in texts]
    else:
        folded = pattern.casefold()
        keep = [folded in t.casefold() for t in texts]
    return np.flatnonzero(np.asarray(keep, dtype=bool)).astype(np.int64)
