"""Embedding store: the :class:`Embeddings` container, the on-disk cache and :func:`embed`."""
from .cache import CACHE_ENV, CacheError, EmbeddingCache, default_cache_dir, embed
from .embeddings import Embeddings

__all__ = ["Embeddings", "EmbeddingCache", "CacheError", "CACHE_ENV", "default_cache_dir", "embed"]
