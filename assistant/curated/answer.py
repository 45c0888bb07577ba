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

from ..presentation import snippet
from ..types import Answer, Chunk, Citation
from ..validity import in_force
from .matcher import CuratedMatch

log = logging.getLogger(__name__)

CURATED_PREFIX = "curated:"
CURATED_TITLE = "人工审核答复"

ChunkSource = Callable[[str], Sequence[Chunk]]


def _source_citation(n: int, chunk: Chunk) -> Citation:
    m = chunk.metadata

    def s(key: str) -> str:
        return str(m.get(key, "") or "")

    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        chunk_id=chunk.id,
        title=chunk.title or s("title"),
        snippet=snippet(chunk.text),
        type=s("type"),
        doc_number=s("doc_number"),
        issuer=s("issuer"),
        department=s("department"),
        region=s("region"),
        publish_date=s("publish_date"),
        effective_date=s("effective_date"),
        status=s("status") or "现行有效",
        url=s("url"),
    )


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
        citations.append(_source_citation(len(citations) + 1, chunks[0]))
    return Answer(
        text=entry.answer,
        answered_by="curated",
        citations=citations,
        confidence=round(match.score, 4),
    )
