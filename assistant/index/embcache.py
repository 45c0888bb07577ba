"""Persistent embedding cache (SQLite): (embedder, sha1(text)) → vector, so rebuilds and eval indexes
that share documents never embed the same text twice."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A small key-value store of float32 vectors; safe to share between processes (WAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key))"
        )

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            part = list(keys[i : i + 500])
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(
                f"SELECT key, vec FROM emb WHERE model=? AND key IN ({marks})", [model, *part]
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?,?,?)",
                [(model, k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


def embed_with_cache(
    texts: Sequence[str],
    model: str,
    embed: Callable[[Sequence[str]], np.ndarray],
    dim: int,
    cache: EmbeddingCache | None,
    batch: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embed ``texts`` in batches, reading and filling ``cache``; ``progress(n)`` is called per batch."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    keys = [text_key(t) for t in texts]
    hits = cache.get_many(model, keys) if cache else {}
    todo = [i for i, k in enumerate(keys) if k not in hits]
    for i, k in enumerate(keys):
        if k in hits and hits[k].shape[0] == dim:
            out[i] = hits[k]
        elif k in hits:
            todo.append(i)
    if progress and len(texts) - len(todo):
        progress(len(texts) - len(todo))
    for s in range(0, len(todo), batch):
        idx = todo[s : s + batch]
        vecs = embed([texts[i] for i in idx])
        out[idx] = vecs
        if cache:
            cache.put_many(model, {keys[i]: out[i] for i in idx})
        if progress:
            progress(len(idx))
    return out
