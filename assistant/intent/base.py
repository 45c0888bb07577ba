"""What a message wants: the intent labels, the ``IntentClassifier`` protocol and its registry.

A classifier returns calibrated probabilities over ``INTENTS`` (they sum to 1) and the names of the
transparent features that fired, so a caller can both act on the label and say why. Backends are
chosen by name (``make_intent_classifier``); the registry holds ``"module:Class"`` strings so this
module imports no backend (and no backend imports the answering code that will call it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from assistant.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from assistant.embedders import Embedder

# The order is the order of the model's output columns; the weights file records it and is checked.
INTENTS: tuple[str, ...] = (
    "question",  # a question about rules or services: answer it from the knowledge base
    "case",  # an individual case or progress lookup (查进度 / 帮我查 / 我的编号): self-service route + 12345
    "complaint",  # a complaint or report: name the channel and the responsible department
    "human",  # asks for a person
    "chitchat",  # chit-chat or off-topic (recipes, stocks, weather): a short scope statement
    "other_region",  # about a place the knowledge base does not cover (港澳台 travel documents are `question`)
    "greeting",  # thanks or greeting
)
HANDOFF_INTENTS = frozenset({"case", "complaint", "human"})
"""Intents that go to a person (12345, the department, the message board) rather than to a quote."""


@dataclass(frozen=True)
class IntentPrediction:
    """The most likely intent, the calibrated probability of every intent, and the features that fired."""

    label: str
    probs: dict[str, float]
    features: tuple[str, ...] = field(default_factory=tuple)

    @property
    def confidence(self) -> float:
        """Probability of the predicted label."""
        return self.probs[self.label]


@runtime_checkable
class IntentClassifier(Protocol):
    """Classifies one user message; ``warm_up`` loads weights (idempotent), constructors stay cheap."""

    name: str

    def warm_up(self) -> None:
        """Load weights and the embedder; idempotent."""

    def predict(self, text: str, vector: np.ndarray | None = None) -> IntentPrediction:
        """The intent of one message (``probs`` covers every label of ``INTENTS``).

        ``vector``: the message's query embedding when the caller already has it (the retriever
        computed it), so it is not embedded twice; it must come from the classifier's embedder.
        """


INTENT_CLASSIFIERS: dict[str, str] = {
    "linear": "assistant.intent.linear:LinearIntentClassifier",
    "fake": "assistant.intent.fake:FakeIntentClassifier",
}


def make_intent_classifier(
    name: str = "linear", embedder: Embedder | None = None, weights: Path | None = None
) -> IntentClassifier:
    """Build the classifier registered as ``name`` (cheap: nothing loads until ``warm_up``).

    ``embedder`` must be the one the weights were trained with (checked on ``warm_up``); ``weights``
    defaults to the bundled file. The fake ignores both.
    """
    try:
        target = INTENT_CLASSIFIERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown intent classifier {name!r}; choose one of: {', '.join(sorted(INTENT_CLASSIFIERS))}"
        ) from None
    module, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    return cls.build(embedder=embedder, weights=weights)  # type: ignore[no-any-return]
