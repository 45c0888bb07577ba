"""On-disk index: FAISS vectors + BM25 keyword index + chunk metadata, one manifest, atomic generations."""

from .store import Index, IndexManifest, open_index, write_index

__all__ = ["Index", "IndexManifest", "open_index", "write_index"]
