"""A deterministic intent classifier for tests: fixed rules over the transparent features, no weights.

Precedence: human > complaint > case > other place > off-topic > greeting > question. Probabilities
are 0.9 for the chosen label and the rest spread evenly, so callers that threshold on confidence can
be tested too. Not a model: use it where a test needs predictable intents without the embedder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.embedders import Embedder

from .base import INTENTS, IntentPrediction
from .features import features

_RULES: tuple[tuple[str, frozenset[str]], ...] = (
    ("human", frozenset({"human_request"})),
    ("complaint", frozenset({"complaint", "reported"})),
    ("case", frozenset({"lookup_request", "case_id", "progress"})),
    ("other_region", frozenset({"place_outside_gd", "place_gd_not_gz", "foreign"})),
    ("chitchat", frozenset({"off_topic"})),
    ("greeting", frozenset({"greeting"})),
)
TOP = 0.9


class FakeIntentClassifier:
    """Rule-based stand-in for ``LinearIntentClassifier`` (same protocol, no embedder, no file)."""

    name = "fake"

    @classmethod
    def build(cls, embedder: Embedder | None = None, weights: Path | None = None) -> FakeIntentClassifier:
        """Registry factory; the embedder and weights are ignored."""
        return cls()

    def warm_up(self) -> None:
        return None

    def predict(self, text: str, vector: np.ndarray | None = None) -> IntentPrediction:
        _, fired = features(text)
        have = set(fired)
        label = "question"
        for intent, cues in _RULES:
            if have & cues and not (intent == "other_region" and "hk_macao_taiwan_docs" in have):
                label = intent
                break
        rest = (1.0 - TOP) / (len(INTENTS) - 1)
        return IntentPrediction(label, {i: (TOP if i == label else rest) for i in INTENTS}, fired)
