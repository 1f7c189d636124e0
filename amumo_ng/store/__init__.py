"""Embedding store: the Embeddings container and the on-disk cache."""
from .embeddings import Embeddings

__all__ = ["Embeddings"]
