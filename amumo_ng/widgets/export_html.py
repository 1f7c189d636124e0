"""Self-contained HTML export of an Explorer: one file that opens from ``file://``, offline, with
no kernel and no CDN.

The page holds the standalone bundle (``static/standalone.js``: the Explorer's own front end on a
page-local model) and the widget's state as JSON with binary traits in base64. Within
``max_bytes`` it also carries the view's unit vectors (exact hover values and exact zoomed tiles
computed in the page), finer levels of detail of the whole matrix (zoom beyond the first view) and
thumbnails at ``thumb_size`` px (:mod:`amumo_ng.widgets.export_html_data`). What needs the kernel
(filtering, clustering, new projections, colour by, encoding) is disabled in the page, with a note.

The budget is spent in this order: the state (refused, :class:`HtmlExportBudgetError`, when it
alone is over), the vectors (when they take at most 3/4 of what is left), levels of detail coarse
to fine while they leave ``THUMB_SHARE`` of the budget for thumbnails (when the pairs have images),
then thumbnails in draw order until the budget is full. What did not fit is said
(:class:`HtmlExport` ``dropped``, a warning), or the export refuses with ``strict=True``. The file is written to a temporary file beside ``path`` and
renamed, so a failed export never leaves a broken file.
"""
from __future__ import annotations

import html
import json
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import export_html_data as data

#: Default most bytes of the HTML file.
DEFAULT_MAX_BYTES = 64 * 2**20
#: Default longest side (px) of the carried thumbnails.
DEFAULT_THUMB_SIZE = 96
#: Share of the budget left for thumbnails before levels of detail are added.
THUMB_SHARE = 0.25
#: Finest level of detail tried (2**level tiles a side of ``grid`` cells).
MAX_LEVEL = 8


class HtmlExportBudgetError(ValueError):
    """The export does not fit its size budget (or, with ``strict=True``, would drop something)."""


@dataclass
class HtmlExport:
    """What an HTML export wrote.

    Attributes
    ----------
    path : Path
    bytes : int
        Size of the file.
    pairs : int
        Pairs in view (k).
    vectors : bool
        The view's unit vectors are carried: every hover value and zoom down to single cells is exact.
    levels : list[int]
        Cells a side of each carried level of detail, the view's own image first.
    thumbnails : int
        Thumbnails carried (``thumb_size`` px).
    dropped : list[str]
        What did not fit ``max_bytes`` (empty when nothing was dropped).
    seconds : float
        Time the export took.
    """

    path: Path
    bytes: int
    pairs: int
    vectors: bool
    levels: list
    thumbnails: int
    thumb_size: int
    max_bytes: int
    dropped: list = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        text = (f"{self.path}: {self.bytes / 2**20:.2f} MiB (budget {self.max_bytes / 2**20:.0f} MiB), "
                f"{self.pairs} pairs, vectors {'carried' if self.vectors else 'not carried'}, "
                f"levels {'/'.join(str(c) for c in self.levels)} cells, {self.thumbnails} thumbnails at {self.thumb_size} px")
        return text + ("; dropped: " + "; ".join(self.dropped) if self.dropped else "")


def _script_text(text: str) -> str:
    """``text`` safe inside a <script> element (no ``</script`` or ``<!--`` ends it early)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _offline_bundle(bundle: str) -> str:
    """The bundle without ``http(s)://`` schemes: the only URLs in it are in third-party messages
    (regl's "get.webgl.org", library home pages), never loaded, so the page names no URL at all."""
    return re.sub(r"https?://", "", bundle)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:; connect-src data: blob:">
<meta name="generator" content="amumo-ng export_html">
<title>{title}</title>
<style>body {{ margin: 12px; font-family: system-ui, sans-serif; }}</style>
</head><body>
<div id="amumo-root" data-amumo="standalone"></div>
<script type="application/json" id="amumo-export">{payload}</script>
<script type="module">{bundle}
const data = JSON.parse(document.getElementById("amumo-export").textContent);
globalThis.amumoStandalone.mount(document.getElementById("amumo-root"), data);
document.documentElement.setAttribute("data-amumo-mounted", "true");
</script>
</body></html>
"""


def _page(title: str, payload: dict, bundle: str) -> str:
    return PAGE.format(title=html.escape(title or "amumo-ng explorer"),
                       payload=_script_text(json.dumps(payload, separators=(",", ":"))), bundle=_script_text(bundle))


def build_html(widget, *, max_bytes: int = DEFAULT_MAX_BYTES, thumb_size: int = DEFAULT_THUMB_SIZE,
               strict: bool = False, vectors: bool = True, max_level: int = MAX_LEVEL) -> tuple[str, dict]:
    """The page of ``widget`` (an Explorer) and what it carries, ``(html, facts)``; see
    :func:`to_html`. Raises :class:`HtmlExportBudgetError` when the state alone is over
    ``max_bytes`` (or, with ``strict``, when anything would be dropped)."""
    from .bundle import bundle_source

    if int(max_bytes) <= 0:
        raise HtmlExportBudgetError(f"max_bytes must be positive, got {max_bytes}")
    bundle = _offline_bundle(bundle_source("standalone"))
    data.settle(widget)
    state, binary = data.synced_state(widget)
    payload = {"state": state, "binary": {k: data.b64(v) for k, v in binary.items()}, "levels": [], "thumbs": {},
               "note": "Kernel-free export: hover, zoom and pan work from what this file carries."}
    used = len(_page(widget.title, payload, bundle).encode("utf-8"))
    mib = lambda n: f"{n / 2**20:.2f} MiB"  # noqa: E731
    if used > max_bytes:
        raise HtmlExportBudgetError(
            f"the view's state alone takes {mib(used)}, over the budget of {mib(max_bytes)}: "
            "raise max_bytes or export fewer pairs (a filter)")
    dropped = []
    carry_vectors = vectors
    vectors, dims = data.view_vectors(widget, max(0, max_bytes - used) * 3 // 4) if carry_vectors else (b"", 0)
    if vectors:
        payload["binary"]["heat_vectors"] = data.b64(vectors)
        state["heat_dims"] = dims
        used += data.b64_size(len(vectors)) + 20
    elif widget.session.k and carry_vectors:
        dropped.append("the view's unit vectors (exact hover values and exact zoom need the kernel)")
    if not vectors and not widget.heat_exact:
        payload["note"] += " Hover over block means shows the block mean: exact values are not carried."
    # levels, coarse to fine, leaving THUMB_SHARE of the budget for thumbnails (when there are images)
    reserve = int(THUMB_SHARE * max_bytes) if widget.has_images and thumb_size > 0 else 0
    levels = [int(widget.heat_rows)]
    for level in range(1, max_level + 1):
        side = data.level_side(widget, level)
        if widget.heat_exact or side <= levels[-1]:
            break  # the previous level is already exact (one cell per matrix entry)
        if vectors and side >= data.matrix_side(widget):
            break  # an exact level: the page computes exact tiles from the vectors instead
        if used + data.level_bytes(side) > max_bytes - reserve:
            dropped.append(f"levels of detail of {side} cells a side and finer (deep zooms show the "
                           f"{levels[-1]}-cell level{', then exact tiles from the vectors' if vectors else ''})")
            break
        lv = data.level_of_detail(widget, level)
        payload["levels"].append({**lv, "edges": data.b64(lv["edges"]), "pixels": data.b64(lv["pixels"])})
        used += data.level_bytes(side)
        levels.append(lv["cells"])
        if lv["exact"]:
            break
    thumbs, thumb_bytes, thumbs_dropped = data.thumbnails(widget, thumb_size, max(0, max_bytes - used))
    payload["thumbs"] = thumbs
    if thumbs_dropped:
        dropped.append(f"thumbnails of {thumbs_dropped} of {widget.session.k} pairs (the last in draw order)")
    if strict and dropped:
        raise HtmlExportBudgetError(f"the export does not fit {mib(max_bytes)} without dropping: " + "; ".join(dropped))
    page = _page(widget.title, payload, bundle)
    size = len(page.encode("utf-8"))
    if size > max_bytes:  # the estimates above are close but not exact: never hand back an oversized file
        raise HtmlExportBudgetError(f"the export takes {mib(size)}, over the budget of {mib(max_bytes)}")
    facts = {"pairs": int(widget.session.k), "vectors": bool(vectors), "levels": levels,
             "thumbnails": len(thumbs), "dropped": dropped}
    return page, facts


def write_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder renamed over
    it: the file at ``path`` is either the old one or the complete new one."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PermissionError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_html(widget, path, *, max_bytes: int = DEFAULT_MAX_BYTES, thumb_size: int = DEFAULT_THUMB_SIZE,
            strict: bool = False, vectors: bool = True) -> HtmlExport:
    """Write ``widget`` (an Explorer) as one self-contained HTML file at ``path``.

    ``max_bytes``: most bytes of the file; ``thumb_size``: longest side (px) of the carried
    thumbnails (0: none); ``vectors``: carry the view's unit vectors when they fit (False: only
    pixels, no embedding can be read back from the file); ``strict``: refuse (:class:`HtmlExportBudgetError`) rather than drop
    thumbnails, levels or vectors that do not fit. Returns an :class:`HtmlExport`; what was
    dropped is also warned (``UserWarning``)."""
    start = time.perf_counter()
    page, facts = build_html(widget, max_bytes=max_bytes, thumb_size=thumb_size, strict=strict, vectors=vectors)
    path = write_atomic(path, page)
    report = HtmlExport(path=path, bytes=path.stat().st_size, thumb_size=int(thumb_size), max_bytes=int(max_bytes),
                        seconds=time.perf_counter() - start, **facts)
    if report.dropped:
        warnings.warn(f"HTML export over its budget of {max_bytes / 2**20:.0f} MiB, dropped: " + "; ".join(report.dropped),
                      UserWarning, stacklevel=2)
    return report
