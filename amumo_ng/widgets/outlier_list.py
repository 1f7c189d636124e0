"""Conformity and outliers in the Explorer: the outlier list and the heatmap's conformity order.

The outlier list ranks the pairs in view by one of :data:`~amumo_ng.analysis.outliers.OUTLIER_RANKINGS`
(low pair cosine, low image / text conformity, high text conformity, largest |C_i − C_t|) and shows
the top ``outlier_k``; a click on an entry hovers (and focuses) that pair in every view of the link
group, and sets ``session.hover``. The statistics are those of the session
(:meth:`~amumo_ng.session.conformity_order.ConformityOrderMixin.pair_statistics`): RAW vectors of ALL
pairs of the current data, cached per data, so the gap toggle changes nothing here and a filter only
changes which pairs are listed, not their values.

Traits for the browser: ``outlier_by``, ``outlier_k`` (1..:data:`MAX_OUTLIERS`), ``outlier_options``
([value, label]), ``outlier_entries`` (a small JSON list, most outlying first: ``{"pair", "caption",
"value", "score"}``, ``value`` the statistic shown, ``score`` the outlier score, higher = more
outlying), ``outlier_info`` (``by``, ``statistic``, ``description``, ``k``, ``ranked`` = pairs in view,
``n``, ``model``, ``seq``) and ``outlier_error`` (why there is no list: fewer than 3 pairs, none in
view, a bad choice). Also the Explorer's ``order_by`` control (``order_options``), two-way linked to
``session.order_by``.
"""
from __future__ import annotations

import threading

import numpy as np
import traitlets as t

from ..analysis.outliers import OUTLIER_RANKINGS, rank_statistics
from ..analysis.validation import EmbeddingError
from ..session.conformity_order import ORDER_BY
from .base import serialized

__all__ = ["OutlierListMixin", "MAX_OUTLIERS"]

#: Most entries listed.
MAX_OUTLIERS = 50
#: Captions are cut to this many characters in the entries (the hover panel shows them whole).
CAPTION_CHARS = 160
#: The list's choices (value, short label), in OUTLIER_RANKINGS order; ``outlier_info["description"]`` says more.
OPTION_LABELS = (
    ("pair-cosine", "low pair cosine"),
    ("image-conformity", "low image conformity"),
    ("text-conformity", "low text conformity"),
    ("text-conformity-high", "high text conformity (vague)"),
    ("conformity-difference", "largest |image − text conformity|"),
)


#: Above this many pairs the statistics behind the list are computed in the background.
OUTLIER_SYNC_LIMIT = 20_000


class OutlierListMixin(t.HasTraits):
    """Outlier list traits, :meth:`outliers`, :meth:`outlier_table`; the ``order_by`` control traits."""

    outlier_by = t.Unicode("pair-cosine", help="ranking of the outlier list (a key of OUTLIER_RANKINGS)").tag(sync=True)
    outlier_k = t.Int(10, help="entries listed (1..50)").tag(sync=True)
    outlier_options = t.List(t.List(t.Unicode()), [list(o) for o in OPTION_LABELS]).tag(sync=True)
    outlier_entries = t.List(t.Dict(), help="[{pair, caption, value, score}], most outlying first").tag(sync=True)
    outlier_info = t.Dict(help="by, statistic, description, k, ranked, n, model, seq").tag(sync=True)
    outlier_error = t.Unicode("", help="why no list is shown ('' when fine)").tag(sync=True)
    order_by = t.Unicode("none", help="heatmap order by conformity (session.order_by)").tag(sync=True)
    order_options = t.List(t.List(t.Unicode()), [list(o) for o in ORDER_BY]).tag(sync=True)

    def _init_outliers(self) -> None:
        self._outlier_seq = 0
        self.observe(self._refresh_outliers, names=["outlier_by", "outlier_k"])
        self.session.observe(self._refresh_outliers, names=["model", "data_version", "indices"])
        self._refresh_outliers(None)

    @t.validate("outlier_k")
    def _check_outlier_k(self, proposal):
        k = proposal["value"]
        if not 1 <= k <= MAX_OUTLIERS:
            raise t.TraitError(f"outlier_k must lie in 1..{MAX_OUTLIERS}, got {k}")
        return k

    def _ranking(self):
        """The :class:`~amumo_ng.analysis.outliers.OutlierRanking` of the pairs in view (k clipped to them)."""
        session = self.session
        if self.outlier_by not in OUTLIER_RANKINGS:
            raise EmbeddingError(f"unknown outlier ranking {self.outlier_by!r}; choose one of {', '.join(OUTLIER_RANKINGS)}")
        stats = session.pair_statistics()  # EmbeddingError below 3 pairs
        idx = session.indices
        if idx.size == 0:
            raise EmbeddingError("no pairs in view: nothing to rank")
        among = None if idx.size == session.n_total else idx
        return rank_statistics(stats, by=self.outlier_by, k=min(self.outlier_k, int(idx.size)), among=among)

    def _statistics_pending(self) -> bool:
        """True when the statistics of a large set are not cached yet: they are then computed in
        a worker thread (O(n·d), a second at 100,000 pairs) and the list refreshed when they land."""
        session = self.session
        key = ("pair-statistics", session.data_key())
        if session.n_total <= OUTLIER_SYNC_LIMIT or session._cache.peek(key) is not None:
            return False
        if getattr(self, "_outlier_key", None) != key:
            self._outlier_key = key

            def work():
                readout = getattr(self, "_readout_thread", None)
                if readout is not None:  # one background computation at a time: the readout first
                    readout.join()
                try:
                    session.pair_statistics()
                except Exception:  # noqa: BLE001 - shown by the refresh below
                    pass
                self._refresh_outliers(None)

            threading.Thread(target=work, name="amumo-outliers", daemon=True).start()
        with self.hold_sync():
            self.outlier_entries = []
            self.outlier_error = ""
            self.outlier_info = {"by": self.outlier_by, "k": 0, "ranked": int(session.k), "n": int(session.n_total),
                                 "model": session.model, "seq": self._outlier_seq, "pending": True}
        return True

    @serialized
    def _refresh_outliers(self, _change) -> None:
        self._outlier_seq += 1
        if self._statistics_pending():
            return
        try:
            ranking = self._ranking()
        except EmbeddingError as exc:
            with self.hold_sync():
                self.outlier_entries = []
                self.outlier_info = {"by": self.outlier_by, "k": 0, "ranked": int(self.session.k),
                                     "n": int(self.session.n_total), "model": self.session.model, "seq": self._outlier_seq}
                self.outlier_error = str(exc)
            return
        captions = self.session.embeddings.captions
        entries = [{"pair": int(p), "caption": str(captions[int(p)])[:CAPTION_CHARS], "value": float(v), "score": float(s)}
                   for p, v, s in zip(ranking.indices, ranking.values, ranking.scores)]
        with self.hold_sync():
            self.outlier_error = ""
            self.outlier_entries = entries
            self.outlier_info = {"by": ranking.by, "statistic": ranking.statistic,
                                 "description": OUTLIER_RANKINGS[ranking.by][1], "k": len(entries),
                                 "ranked": int(self.session.k), "n": ranking.n, "model": self.session.model,
                                 "seq": self._outlier_seq}

    def outliers(self, by: str = None, k: int = None):
        """Show the ``k`` most outlying pairs in view by ranking ``by`` (defaults: the list's current
        choices) and return them as :meth:`outlier_table`. Raises ValueError for an unknown ranking,
        a k outside 1..50 or a set the ranking cannot be computed on (fewer than 3 pairs)."""
        if by is not None and by not in OUTLIER_RANKINGS:
            raise ValueError(f"unknown outlier ranking {by!r}; choose one of {', '.join(OUTLIER_RANKINGS)}")
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_OUTLIERS):
            raise ValueError(f"k must be an integer from 1 to {MAX_OUTLIERS}, got {k!r}")
        try:
            self.session.pair_statistics()  # at once, here: the caller waits for the table
        except EmbeddingError:
            pass  # the refresh says why
        with self.hold_sync():
            if by is not None:
                self.outlier_by = by
            if k is not None:
                self.outlier_k = int(k)
        self._refresh_outliers(None)
        if self.outlier_error:
            raise ValueError(self.outlier_error)
        return self.outlier_table()

    def outlier_table(self):
        """The list shown as a pandas DataFrame: rank (1 = most outlying), pair, the statistic
        (column named as ``outlier_info["statistic"]``), score (higher = more outlying), caption."""
        import pandas as pd

        entries = self.outlier_entries
        name = self.outlier_info.get("statistic", "value")
        return pd.DataFrame({"rank": np.arange(1, len(entries) + 1), "pair": [e["pair"] for e in entries],
                             name: np.asarray([e["value"] for e in entries], dtype=np.float32),
                             "score": np.asarray([e["score"] for e in entries], dtype=np.float32),
                             "caption": [self.session.embeddings.captions[e["pair"]] for e in entries]})
