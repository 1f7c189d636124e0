"""Decoding a planned strip into what the browser draws (any thread).

Every frame gets, by retrieval against the session's model, the nearest caption of the path vector and
its cosine, and the nearest dataset image (of the gap-shifted frame when the plan closes the gap).
The picture of a frame is that dataset image's thumbnail for retrieval, else the decoder's generated
image (PNG, longest side at most :data:`GENERATED_THUMB` px, never enlarged). Result::

    {"frames": [dict per frame], "images": bytes (PNGs/JPEGs concatenated),
     "offsets": bytes (uint32 [k + 1] byte offsets into images)}

Frame dicts: ``t`` (in [0, 1]), ``caption``, ``caption_index``, ``caption_similarity`` (cosine),
``image_index``, ``image_similarity``, ``image_caption`` (nearest dataset image), ``image_mime`` and
``generated`` (True: the picture is the decoder's, not the dataset image).
"""
from __future__ import annotations

import io
from typing import Callable, Optional

import numpy as np

from ..decoders.base import DecoderCancelled, DecoderError
from .strip_plan import StripPlan, unclip_path
from .thumbnails import thumbnail

__all__ = ["decode_strip", "generate", "png_bytes", "STRIP_THUMB", "GENERATED_THUMB"]

#: Longest side of a dataset image's thumbnail in a frame (px).
STRIP_THUMB = 128
#: Longest side of a generated picture sent to the browser (px; smaller pictures are sent as they are).
GENERATED_THUMB = 256
#: Dataset thumbnails kept per strip before the cache is emptied (the frames of a few strips).
_THUMB_CACHE = 4096


def png_bytes(image, max_side: int = GENERATED_THUMB) -> bytes:
    """PNG bytes of a PIL image (RGB), shrunk to ``max_side`` px on its longest side when larger."""
    from PIL import Image

    img = image.convert("RGB") if image.mode != "RGB" else image
    if max(img.size) > max_side:
        img = img.copy()
        img.thumbnail((max_side, max_side), Image.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def generate(plan: StripPlan, cancel, progress: Optional[Callable[[int, int], None]], image_mean=None) -> list:
    """The decoder's pictures [k] (PIL) of a planned strip of kind "vectors", "prompts" or "images".

    ``image_mean(decoder, cancel)``: the vSLERP mean of a Stable unCLIP path (float32 [dim]).
    """
    decoder = plan.decoder
    if plan.kind == "vectors":
        frames = decoder.decode(plan.decode_vectors, progress=progress or False, cancel=cancel)
    elif plan.kind == "prompts":
        frames = decoder.decode_prompts(plan.prompts[0], plan.prompts[1], plan.path.t, plan.path.method,
                                        progress=progress or False, cancel=cancel)
    elif plan.kind == "images":
        encoded = decoder.encode_images([plan.emb.get_image(i) for i in plan.image_pairs])
        mean = image_mean(decoder, cancel) if plan.path.method == "vslerp" else None
        path = unclip_path(plan, np.asarray(encoded, dtype=np.float32), mean)
        frames = decoder.decode(path.vectors, progress=progress or False, cancel=cancel)
    else:
        raise DecoderError(f"no pictures to generate for a {plan.kind!r} plan")
    if len(frames) != plan.steps or any(f.image is None for f in frames):
        raise DecoderError(f"{plan.decoder_name!r} returned {len(frames)} frame(s) for {plan.steps} vectors, "
                           "or a frame without an image")
    return [f.image for f in frames]


def decode_strip(plan: StripPlan, cancel, report=None, thumbs: Optional[dict] = None, image_mean=None) -> dict:
    """Captions (always), nearest dataset images and the frames' pictures of ``plan`` (see the module docstring).

    ``report(done, total)``: progress per generated frame; ``thumbs``: a dict caching dataset thumbnails
    by (data key, pair); ``cancel``: an Event checked between frames (:class:`DecoderCancelled`).
    """
    k = plan.steps
    queries = plan.unit if plan.image_queries is None else np.vstack([plan.unit, plan.image_queries])
    found = plan.retrieval.nearest(queries, cancel=cancel)  # one search: captions of the path, images of the shift
    img_rows = slice(0, k) if plan.image_queries is None else slice(k, 2 * k)
    column = plan.emb.meta["caption"]
    generated = None
    if plan.kind != "retrieval":
        generated = generate(plan, cancel, report, image_mean)
    thumbs = {} if thumbs is None else thumbs
    frames, blobs = [], []
    for j in range(k):
        if cancel.is_set():
            raise DecoderCancelled(f"decoding cancelled after {j} of {k} frame(s)")
        ci, ii = int(found["caption_index"][j]), int(found["image_index"][img_rows][j])
        mime = ""
        if generated is not None:
            blob, mime = png_bytes(generated[j]), "image/png"
        elif plan.emb.image_source is not None:
            thumb = thumbs.get((plan.key, ii))
            if thumb is None:
                if len(thumbs) > _THUMB_CACHE:
                    thumbs.clear()
                thumb = thumbs.setdefault((plan.key, ii), thumbnail(plan.emb, ii, STRIP_THUMB))
            blob, mime = thumb.data, thumb.mime
        else:
            blob = b""
        blobs.append(blob)
        frames.append({"t": float(plan.path.t[j]), "caption": str(column.iat[ci]), "caption_index": ci,
                       "caption_similarity": float(found["caption_similarity"][j]), "image_index": ii,
                       "image_similarity": float(found["image_similarity"][img_rows][j]),
                       "image_caption": str(column.iat[ii]), "image_mime": mime, "generated": generated is not None})
        if report is not None and generated is None:
            report(j + 1, k)
    offsets = np.zeros(k + 1, dtype=np.uint32)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return {"frames": frames, "images": b"".join(blobs), "offsets": offsets.tobytes()}
