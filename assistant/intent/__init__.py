"""Intent of a user message (question / case / complaint / human / chitchat / other_region / greeting).

``make_intent_classifier("linear", embedder)`` gives the shipped calibrated model
(``linear.py``, weights in ``resources/intent/``); ``"fake"`` a rule-based stand-in for tests.
Train and evaluate with ``python -m assistant.intent train|eval`` (``train.py``); figures in
docs/answering.md.
"""

from assistant.intent.base import (
    HANDOFF_INTENTS,
    INTENT_CLASSIFIERS,
    INTENTS,
    IntentClassifier,
    IntentPrediction,
    make_intent_classifier,
)

__all__ = [
    "HANDOFF_INTENTS",
    "INTENTS",
    "INTENT_CLASSIFIERS",
    "IntentClassifier",
    "IntentPrediction",
    "make_intent_classifier",
]
