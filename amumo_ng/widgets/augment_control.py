"""The Explorer's augmentation control: choose a kind and a pair, every view shows its augmented set.

The browser sends ``{"type": "augment", "kind": str, "pair": int, "steps": int}`` (kind "none"
restores the dataset); encoding runs in a worker thread and the session's ``status`` shows it.
For an augmented set each pair gets a note (``pair_notes``: "step 12 · 43.2°") for the hover panel.
"""
from __future__ import annotations

import traitlets as t

from ..datasets.augmentation import kinds
from .base import pack_strings

#: Units of the augmentation parameters, for the pair notes.
_UNIT_SUFFIX = {"degrees": "°", "deg": "°"}


class AugmentControlMixin(t.HasTraits):
    """Traits: ``augment_kinds`` (menu), ``augmentation`` (the set shown, {} for the dataset),
    ``augment_disabled`` ("" or why the control cannot work), ``pair_notes_utf8`` /
    ``pair_note_offsets`` (packed strings, one per pair; empty for the dataset)."""

    augment_kinds = t.List(t.Unicode(), help="augmentation kinds offered").tag(sync=True)
    augmentation = t.Dict(help="the augmented set shown ({} = the dataset)").tag(sync=True)
    augment_disabled = t.Unicode("", help="why augmenting is not possible ('' when it is)").tag(sync=True)
    pair_notes_utf8 = t.Bytes(b"").tag(sync=True)
    pair_note_offsets = t.Bytes(b"").tag(sync=True)

    def _init_augment(self, encoders=None) -> None:
        session = self.session
        if encoders:
            session.set_encoders(encoders)
        self.augment_kinds = list(kinds())
        t.dlink((session, "augmentation"), (self, "augmentation"))
        session.observe(self._on_augmentation, names=["data_version"])
        self._on_augmentation(None)

    def _on_augmentation(self, _change) -> None:
        session = self.session
        ok, why = session.augmentable()
        notes = b"", b""
        if session.augmentation:
            meta = session.embeddings.meta
            unit = str(session.augmentation.get("param_unit", ""))
            suffix = _UNIT_SUFFIX.get(unit, f" {unit}" if unit else "")
            notes = pack_strings(f"step {int(s)} · {kind} {float(p):.4g}{suffix}"
                                 for s, p, kind in zip(meta["step"], meta["param"], meta["kind"]))
        with self.hold_sync():
            self.augment_disabled = "" if ok else why
            self.pair_notes_utf8, self.pair_note_offsets = notes

    def handle_augment(self, content) -> tuple[dict, list]:
        """``{"type": "augment", "kind", "pair", "steps"}``: show that augmented set (in a worker
        thread; the reply comes at once with ``started``), or the dataset again for kind "none"."""
        kind = str(content.get("kind", "none"))
        reply = {"type": "augment", "req": content.get("req")}
        if kind == "none":
            self.session.restore()
            return {**reply, "started": False, "restored": True}, []
        self.session.augment(kind, int(content.get("pair", -1)), int(content.get("steps", 100)), background=True)
        return {**reply, "started": True}, []
