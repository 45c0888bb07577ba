"""The Answerer seam: the protocol and a registry of lazy ``"module:factory"`` entries.

The registry names its answerers by import path instead of importing them, so this module depends on
no answerer and no answerer's import of it can make a cycle. ``make_answerer`` imports the one chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.types import Answer, Chunk, Hit

# doc_id -> that document's chunks in order; lets an answerer quote a whole short document or build a
# card from all of a guide's sections. Provided by the index (cheap dict lookup), optional.
ChunkSource = Callable[[str], Sequence[Chunk]]


@runtime_checkable
class Answerer(Protocol):
    """Turns a question and its retrieved hits into a cited ``Answer``."""

    name: str

    def warm_up(self) -> None:
        """Load whatever the answerer needs (models, clients); called once at start-up."""
        ...

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Compose text + citations (+ card) from ``hits`` (already checked to be in force, best first);
        ``answered_by`` says which path wrote it."""
        ...


AnswererFactory = Callable[[Settings, "ChunkSource | None"], Answerer]

# name -> "module:callable(settings, chunk_source) -> Answerer"; add a line to add an answerer.
ANSWERERS: dict[str, str] = {
    "extractive": "assistant.answering.extractive:ExtractiveAnswerer.from_settings",
    "llm": "assistant.answering.llm:LLMAnswerer.from_settings",
}


def _resolve(target: str) -> AnswererFactory:
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[return-value]


def make_answerer(settings: Settings, chunk_source: ChunkSource | None = None) -> Answerer:
    """The answerer ``settings.answer.answerer`` names (cheap: nothing is loaded until ``warm_up``)."""
    name = settings.answer.answerer
    if name not in ANSWERERS:
        raise ConfigError(f"unknown answerer {name!r}; known: {', '.join(sorted(ANSWERERS))}")
    return _resolve(ANSWERERS[name])(settings, chunk_source)
