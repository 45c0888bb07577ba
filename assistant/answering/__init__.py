"""Answering: turn retrieved hits into grounded, cited answers, or refuse / hand off / ask back.

Entry points: ``make_answerer(settings, chunk_source)`` and ``assistant.answering.respond.respond``.
"""

from assistant.answering.base import ANSWERERS, Answerer, ChunkSource, make_answerer

__all__ = ["ANSWERERS", "Answerer", "ChunkSource", "make_answerer"]
