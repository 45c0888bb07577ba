"""Milvus as the vector backend: one collection per index generation (``index.backend = "milvus"``).

Each generation folder gets a ``milvus.json`` naming its collection (written before the collection
is created, so a crashed ingest's leftovers can be dropped too); the collection holds the row's
vector and scalar fields (row id = primary key, doc id, region, type, department, status,
effective/expiry dates), so a ``RowFilter`` becomes a Milvus filter expression. Old generations
stay queryable until ``store.py`` removes their folder, which drops their collection.

``index.milvus_uri``: a local ``.db`` path is Milvus Lite (the ``milvus-lite`` package, embedded in
this process; a data directory one process holds at a time); ``http(s)://host:19530`` a Milvus
standalone/cluster server; empty: ``<index_dir>/milvus.db``. Chunks, vectors (for exact re-scoring)
and BM25 stay in the generation folder: Milvus answers only "which rows are nearest".
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, IndexError_, IndexMissingError, MissingDependencyError
from ..validity import in_force_expression
from .rows import SCALAR_FIELDS, RowFilter, RowTable

if TYPE_CHECKING:
    from ..config import IndexSettings

log = logging.getLogger(__name__)

DESCRIPTOR = "milvus.json"
VECTOR_FIELD = "vector"
ROW_FIELD = "row"
# max_length of each VARCHAR field in bytes (Milvus counts UTF-8 bytes); longer values are cut
FIELD_BYTES = {"doc_id": 512, "region": 128, "type": 64, "department": 512, "status": 64}
FIELD_BYTES |= {"effective_date": 32, "expiry_date": 32}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def resolve_uri(settings: IndexSettings, index_dir: Path) -> str:
    """The URI pymilvus is given: a server URL as configured, or an absolute Milvus Lite path."""
    uri = settings.milvus_uri.strip()
    if "://" in uri:
        return uri
    path = Path(uri) if uri else Path(index_dir) / "milvus.db"
    if path.suffix != ".db":
        raise ConfigError(
            f"index.milvus_uri {uri!r}: a Milvus Lite path must end in .db (or give http://host:19530)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path.resolve())


def collection_name(prefix: str, generation: str) -> str:
    """``<prefix>_<generation>`` with every character Milvus does not allow turned into ``_``."""
    if not _NAME.fullmatch(prefix):
        raise ConfigError(f"index.milvus_collection_prefix {prefix!r}: letters, digits and _ only")
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', generation)}"[:255]


def filter_expression(where: RowFilter | None) -> str:
    """``where`` as a Milvus boolean expression over the scalar fields ("" when it restricts nothing)."""
    if not where:
        return ""
    parts = []
    if where.in_force_on:
        parts.append(f"({in_force_expression(where.in_force_on)})")
    if where.types:
        parts.append(f"type in [{', '.join(_literal(t) for t in where.types)}]")
    if where.department:
        # the retriever's rule is "contains"; % and _ are LIKE wildcards, so they are escaped
        escaped = re.sub(r"([%_\\])", r"\\\1", where.department)
        parts.append(f"department like {_literal('%' + escaped + '%')}")
    return " and ".join(parts)


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _connect(uri: str, token: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MissingDependencyError("pymilvus", "milvus") from exc
    try:
        return MilvusClient(uri=uri, token=token)
    except Exception as exc:  # pymilvus raises several unrelated types here
        hint = (
            " (Milvus Lite serves one process at a time: stop the other one, ingest through the"
            " running server, or run `milvus-lite server --data-dir PATH` and use its http:// URI)"
            if "://" not in uri
            else ""
        )
        raise IndexError_(f"cannot connect to Milvus at {uri}: {exc}{hint}") from exc


class MilvusIndex:
    """Searches one generation's collection; ``kind`` is ``milvus-<index type>``."""

    def __init__(self, client: Any, collection: str, kind: str, search_params: dict[str, Any]) -> None:
        self.client = client
        self.collection = collection
        self.kind = kind
        self.search_params = search_params

    def search(
        self, query: np.ndarray, k: int, where: RowFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        result = self.client.search(
            collection_name=self.collection,
            data=[np.asarray(query, dtype=np.float32).ravel().tolist()],
            anns_field=VECTOR_FIELD,
            limit=min(k, 16_384),  # Milvus' top-k ceiling
            filter=filter_expression(where),
            search_params={"metric_type": "IP", "params": dict(self.search_params)},
        )
        hits = result[0] if result else []
        ids = np.array([int(h[ROW_FIELD]) for h in hits], dtype=np.int64)  # the primary key is "row"
        scores = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
        return ids, scores


class MilvusBackend:
    """Creates, opens and drops per-generation collections on the configured Milvus."""

    name = "milvus"

    def __init__(self, settings: IndexSettings, index_dir: Path, exact_max: int = 200_000) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir)
        self._client: Any = None

    def client(self) -> Any:
        """The process's ``MilvusClient`` for this URI and token, connected on first use (each
        generation opened by a refresh reuses it rather than opening another channel)."""
        if self._client is None:
            uri = resolve_uri(self.settings, self.index_dir)
            token = self.settings.milvus_token.get_secret_value()
            with _CLIENTS_LOCK:
                if (uri, token) not in _CLIENTS:
                    _CLIENTS[uri, token] = _connect(uri, token)
                self._client = _CLIENTS[uri, token]
        return self._client

    @property
    def kind(self) -> str:
        return f"milvus-{self.settings.milvus_index_type.lower()}"

    def build(self, folder: Path, generation: str, vectors: np.ndarray, rows: RowTable) -> MilvusIndex:
        name = collection_name(self.settings.milvus_collection_prefix, generation)
        (folder / DESCRIPTOR).write_text(
            json.dumps({"collection": name, "index_type": self.settings.milvus_index_type}), encoding="utf-8"
        )
        client = self.client()
        if client.has_collection(name):
            client.drop_collection(name)
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 1
        client.create_collection(
            collection_name=name,
            schema=self._schema(dim),
            index_params=self._index_params(),
            consistency_level="Strong",
        )
        self._insert(name, vectors, rows)
        client.flush(name)
        client.load_collection(name)
        return MilvusIndex(client, name, self.kind, self.settings.milvus_search_params)

    def open(self, folder: Path, kind: str, rows: RowTable) -> MilvusIndex:
        name = self._collection_of(folder)
        client = self.client()
        if name is None or not client.has_collection(name):
            raise IndexMissingError(
                f"the Milvus collection of {folder} is gone; rebuild with: python -m assistant ingest --rebuild"
            )
        client.load_collection(name)
        return MilvusIndex(client, name, kind, self.settings.milvus_search_params)

    def drop(self, folder: Path) -> None:
        name = self._collection_of(folder)
        if name is None:
            return
        try:
            client = self.client()
            if client.has_collection(name):
                client.drop_collection(name)
        except Exception as exc:  # cleanup of an old generation must not fail an ingest
            log.warning("could not drop Milvus collection %s: %s", name, exc)

    @staticmethod
    def _collection_of(folder: Path) -> str | None:
        path = folder / DESCRIPTOR
        if not path.is_file():
            return None
        name: str = json.loads(path.read_text(encoding="utf-8"))["collection"]
        return name

    def _schema(self, dim: int) -> Any:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ROW_FIELD, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=dim)
        for field, size in FIELD_BYTES.items():
            schema.add_field(field, DataType.VARCHAR, max_length=size)
        return schema

    def _index_params(self) -> Any:
        from pymilvus import MilvusClient

        params = MilvusClient.prepare_index_params()
        params.add_index(
            field_name=VECTOR_FIELD,
            index_type=self.settings.milvus_index_type,
            metric_type="IP",
            params=dict(self.settings.milvus_index_params),
        )
        return params

    def _insert(self, name: str, vectors: np.ndarray, rows: RowTable) -> None:
        """Rows in batches of ``milvus_insert_batch`` (one gRPC message each stays well under its cap)."""
        batch = max(1, self.settings.milvus_insert_batch)
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(vectors), batch):
            stop = min(start + batch, len(vectors))
            data = []
            for row in range(start, stop):
                entity: dict[str, Any] = {ROW_FIELD: row, VECTOR_FIELD: vectors[row].tolist()}
                entity["doc_id"] = _cut(str(rows.doc_id[row]), FIELD_BYTES["doc_id"])
                for field in SCALAR_FIELDS:
                    entity[field] = _cut(str(rows.fields[field][row]), FIELD_BYTES[field])
                data.append(entity)
            self.client().insert(collection_name=name, data=data)
