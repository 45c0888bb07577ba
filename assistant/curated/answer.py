"""The ``Answer`` a curated match becomes: the operator's text, citing the entry and its sources.

Citation [1] is the curated entry itself (``doc_id`` ``curated:<id>``, type ``curated``); [2]… are the
official documents it rests on, with title, 文号 and dates read from the index. A source that is no
longer in force (已废止 / 已修订 / expired, by ``validity``) makes the entry stale: no answer is built
and the normal path answers, so a repealed policy is not quoted through a curated answer either.
A source id the index does not know is left out of the citations (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ..answering.citations import make_citation
from ..presentation import snippet
from ..types import Answer, Chunk, Citation, Hit
from ..validity import in_force
from .matcher import CuratedMatch

log = logging.getLogger(__name__)

CURATED_PREFIX = "curated:"
CURATED_TITLE = "人工审核答复"

ChunkSource = Callable[[str], Sequence[Chunk]]


def curated_answer(match: CuratedMatch, chunks_of: ChunkSource, today: str) -> Answer | None:
    """The curated reply for ``match``; None when one of its sources is no longer in force."""
    entry = match.entry
    citations = [
        Citation(
            n=1,
            doc_id=CURATED_PREFIX + entry.id,
            chunk_id=CURATED_PREFIX + entry.id,
            title=f"{CURATED_TITLE}：{entry.questions[0]}",
            snippet=snippet(entry.answer),
            type="curated",
            department=entry.department,
            score=round(match.score, 4),
        )
    ]
    for doc_id in entry.sources:
        chunks = chunks_of(doc_id)
        if not chunks:
            log.warning("curated entry %s cites %r, which is not in the index", entry.id, doc_id)
            continue
        if not in_force(chunks[0].metadata, today):
            log.info("curated entry %s not used: its source %r is not in force", entry.id, doc_id)
            return None
        citations.append(make_citation(len(citations) + 1, Hit(chunks[0], 0.0)))  # a source, not a hit
    return Answer(
        text=entry.answer,
        answered_by="curated",
        citations=citations,
        confidence=round(match.score, 4),
    )
