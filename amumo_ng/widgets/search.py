"""Jump to a pair: by index or by caption text, in every view of an Explorer.

``explorer.jump_to(query)`` (or the search box, through a ``find`` request) sets ``focus_pair``
and bumps ``focus_seq``; the browser then hovers that pair in every view, zooms the heatmap to it
and centres the scatter on it.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import traitlets as t

#: Most matches a ``find`` reply lists.
MAX_MATCHES = 20

_INDEX = re.compile(r"^\s*#?\s*(\d+)\s*$")


def find_pairs(captions: Sequence[str], query: str, n: int) -> list[int]:
    """Pair indices matching ``query``: ``"123"`` or ``"#123"`` is that pair (if 0 <= i < n);
    any other text matches the captions containing it (case-insensitive), in index order.
    Raises ValueError for an empty query or an index out of range."""
    query = str(query)
    if not query.strip():
        raise ValueError("type a pair index (e.g. 42 or #42) or words of a caption")
    match = _INDEX.match(query)
    if match:
        i = int(match.group(1))
        if not 0 <= i < n:
            raise ValueError(f"pair {i} does not exist: indices run from 0 to {n - 1}")
        return [i]
    needle = query.strip().lower()
    return [i for i, c in enumerate(captions) if needle in str(c).lower()]


class SearchMixin(t.HasTraits):
    """``focus_pair`` / ``focus_seq`` traits, :meth:`jump_to` and the ``find`` request."""

    focus_pair = t.Int(-1, help="pair the views were last asked to show (-1: none)").tag(sync=True)
    focus_seq = t.Int(0, help="incremented by every jump, so jumping to the same pair again works").tag(sync=True)

    def jump_to(self, query) -> int:
        """Hover pair ``query`` (an int index, or caption text: the first matching pair) in every
        view, zoom the heatmap to it and centre the scatter on it. Returns the pair index.
        Raises ValueError when nothing matches or the pair is not in view (filtered out)."""
        emb = self.session.embeddings
        pairs = [int(query)] if isinstance(query, (int, np.integer)) else find_pairs(emb.captions, query, emb.n)
        if not pairs:
            raise ValueError(f"no caption contains {query!r}")
        pair = pairs[0]
        if not 0 <= pair < emb.n:
            raise ValueError(f"pair {pair} does not exist: indices run from 0 to {emb.n - 1}")
        in_view = np.searchsorted(self.session.indices, pair)
        if in_view >= self.session.k or self.session.indices[in_view] != pair:
            raise ValueError(f"pair {pair} is not in view (the filter or the selection hides it)")
        with self.hold_sync():
            self.focus_pair = pair
            self.focus_seq += 1
        return pair

    def handle_find(self, content) -> tuple[dict, list]:
        """``{"type": "find", "query": str}`` -> ``{"pairs": [first matches in view], "count": total
        matches, "hidden": matches not in view}``, and the first match in view is jumped to."""
        emb = self.session.embeddings
        pairs = np.asarray(find_pairs(emb.captions, content.get("query", ""), emb.n), dtype=np.int64)
        visible = pairs[np.isin(pairs, self.session.indices)]
        reply = {"type": "find", "req": content.get("req"), "count": int(pairs.size),
                 "hidden": int(pairs.size - visible.size), "pairs": [int(p) for p in visible[:MAX_MATCHES]]}
        if visible.size:
            self.jump_to(int(visible[0]))
        return reply, []
