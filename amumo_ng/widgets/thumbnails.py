"""Thumbnails for the hover panel: PIL image -> small JPEG/PNG bytes, or a reason why not."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Optional

#: Longest side of a thumbnail in pixels.
THUMBNAIL_SIZE = 160


@dataclass(frozen=True)
class Thumbnail:
    """Encoded thumbnail of one pair's image (``data`` empty and ``warning`` set when unavailable)."""

    pair: int
    data: bytes
    mime: str
    warning: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.data)


def encode_image(image, size: int = THUMBNAIL_SIZE) -> tuple[bytes, str]:
    """Shrink ``image`` (PIL) so its longest side is at most ``size`` px; PNG when it has
    few colours (synthetic renders stay crisp), else JPEG (quality 85). Returns (bytes, mime)."""
    img = image.convert("RGB")
    img.thumbnail((size, size))
    buf = io.BytesIO()
    if img.getcolors(maxcolors=256) is not None:
        img.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), "image/png"
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), "image/jpeg"


def thumbnail(embeddings, pair: int, size: int = THUMBNAIL_SIZE) -> Thumbnail:
    """Thumbnail of pair ``pair`` of ``embeddings``. An image that cannot be loaded (missing
    file, unreadable data, no image source) gives an empty thumbnail and a ``UserWarning``."""
    pair = int(pair)
    if not 0 <= pair < embeddings.n:
        raise IndexError(f"pair {pair} outside 0..{embeddings.n - 1}")
    reason: Optional[str] = None
    try:
        image = embeddings.get_image(pair)
        if image is None:
            return Thumbnail(pair, b"", "", "no images attached to these embeddings")
        data, mime = encode_image(image, size)
        return Thumbnail(pair, data, mime)
    except (OSError, ValueError, KeyError, IndexError) as exc:  # missing/unreadable file, bad data
        reason = f"image of pair {pair} could not be loaded: {type(exc).__name__}: {exc}"
    warnings.warn(reason, UserWarning, stacklevel=2)
    return Thumbnail(pair, b"", "", reason)
