"""The decoder that is always available: nearest dataset image and nearest caption by cosine.

Exact search, chunked over the dataset: the k query directions are multiplied with blocks of at
most ``chunk_rows`` raw rows at a time and each row's dot product is divided by that row's norm
(computed once, float64), so memory stays O(chunk_rows × k + n) whatever n is (no n × n and no
normalised copy of the dataset; it works on memory-mapped caches of 100,000+ pairs).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .base import DecodedFrame, Decoder, DecoderError, Progress, check_cancel, frame_progress

__all__ = ["RetrievalDecoder", "nearest_rows"]

#: Default rows per block of the exact search (× k query columns of float32 scratch).
DEFAULT_CHUNK_ROWS = 16384


def _inverse_norms(rows: np.ndarray, chunk_rows: int) -> np.ndarray:
    """1 / ‖row‖ float64 [n] (0 for an all-zero row, which then never wins), computed block by block."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    for lo in range(0, rows.shape[0], chunk_rows):
        block = np.asarray(rows[lo:lo + chunk_rows], dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        out[lo:lo + chunk_rows] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return out


def nearest_rows(queries: np.ndarray, rows: np.ndarray, inverse_norms: np.ndarray,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, cancel=None) -> tuple[np.ndarray, np.ndarray]:
    """For each unit query [k, d], the row of ``rows`` [n, d] with the highest cosine and that cosine.

    ``inverse_norms``: 1 / ‖row‖ [n]. Returns (indices int64 [k], cosines float64 [k]); ties go to the
    lowest index (as ``np.argmax``). Dot products are float32 (BLAS), scaled in float64.
    """
    k = queries.shape[0]
    best_idx = np.zeros(k, dtype=np.int64)
    best_sim = np.full(k, -np.inf)
    q_t = np.ascontiguousarray(queries.T, dtype=np.float32)
    cols = np.arange(k)
    for lo in range(0, rows.shape[0], chunk_rows):
        check_cancel(cancel, 0, k)
        block = np.asarray(rows[lo:lo + chunk_rows], dtype=np.float32)
        sims = (block @ q_t).astype(np.float64) * inverse_norms[lo:lo + block.shape[0], None]
        arg = np.argmax(sims, axis=0)
        top = sims[arg, cols]
        better = top > best_sim
        best_idx[better] = arg[better] + lo
        best_sim[better] = top[better]
    return best_idx, best_sim


class RetrievalDecoder(Decoder):
    """Decode vectors of ``embeddings``' space to their nearest dataset image AND nearest caption.

    Parameters
    ----------
    embeddings : Embeddings
        The dataset to search (raw or normalised; image and text rows [n, d]).
    chunk_rows : int
        Dataset rows per block of the exact search.

    ``decode(vectors [k, d])`` unit-normalises each vector, finds by cosine the nearest image row and
    the nearest text row, and returns frames with ``image`` = that pair's image
    (``embeddings.get_image``; None without an image source), ``caption`` = the nearest caption,
    ``similarity`` = its cosine, and ``info`` = ``{"image_index", "image_similarity",
    "caption_index", "image_caption"}`` (the caption of the image's pair).
    """

    modality = "image-or-text"

    def __init__(self, embeddings, *, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
            raise DecoderError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        self.embeddings = embeddings
        self.chunk_rows = int(chunk_rows)
        self.dim = int(embeddings.dim)
        self.model_id: Optional[str] = str(embeddings.model_id)
        self.name = f"retrieval ({embeddings.dataset_id})"
        self._image_inv = _inverse_norms(embeddings.image, self.chunk_rows)
        self._text_inv = _inverse_norms(embeddings.text, self.chunk_rows)

    def _caption(self, i: int) -> str:
        """Caption of pair i, read from the meta column (no list of all n captions is built)."""
        return str(self.embeddings.meta["caption"].iat[i])

    def nearest(self, vectors, *, cancel=None) -> dict[str, np.ndarray]:
        """Indices and cosines of the nearest image and caption rows of ``vectors`` [k, d].

        Returns ``{"image_index", "caption_index"}`` int64 [k] and ``{"image_similarity",
        "caption_similarity"}`` float64 [k]. Zero vectors (no direction) are refused.
        """
        arr = self.check(vectors)
        norms = np.linalg.norm(arr.astype(np.float64), axis=1)
        if np.any(norms == 0):
            raise DecoderError(f"vector {int(np.flatnonzero(norms == 0)[0])} is zero: it has no direction to search by")
        unit = (arr / norms[:, None]).astype(np.float32)
        img_idx, img_sim = nearest_rows(unit, self.embeddings.image, self._image_inv, self.chunk_rows, cancel)
        txt_idx, txt_sim = nearest_rows(unit, self.embeddings.text, self._text_inv, self.chunk_rows, cancel)
        return {"image_index": img_idx, "image_similarity": img_sim,
                "caption_index": txt_idx, "caption_similarity": txt_sim}

    def decode(self, vectors, *, progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        """Frames [k] of the nearest image and caption of each vector (see the class docstring)."""
        found = self.nearest(vectors, cancel=cancel)
        total = found["image_index"].shape[0]
        frames: list[DecodedFrame] = []
        with frame_progress(total, progress, "retrieval") as advance:
            for j in range(total):
                check_cancel(cancel, j, total)
                img_i, txt_i = int(found["image_index"][j]), int(found["caption_index"][j])
                frames.append(DecodedFrame(
                    image=self.embeddings.get_image(img_i),
                    caption=self._caption(txt_i),
                    similarity=float(found["caption_similarity"][j]),
                    info={"image_index": img_i, "image_similarity": float(found["image_similarity"][j]),
                          "caption_index": txt_i, "image_caption": self._caption(img_i)},
                ))
                advance(1)
        return frames
