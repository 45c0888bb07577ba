"""Hits grouped per document and numbered citations built from them (shared by every answerer and clarify)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.presentation import snippet
from assistant.types import STATUS_CURRENT, Citation, Hit


@dataclass
class DocGroup:
    """All hits of one document, best first; ``score`` is the best hit's score."""

    doc_id: str
    hits: list[Hit]

    @property
    def top(self) -> Hit:
        return self.hits[0]

    @property
    def score(self) -> float:
        return self.hits[0].score

    @property
    def type(self) -> str:
        return str(self.top.chunk.metadata.get("type", "") or "")


def group_by_doc(hits: Sequence[Hit]) -> list[DocGroup]:
    """Hits grouped per document, documents in the order of their best hit."""
    groups: dict[str, DocGroup] = {}
    for h in hits:
        g = groups.get(h.doc_id)
        if g is None:
            groups[h.doc_id] = DocGroup(h.doc_id, [h])
        else:
            g.hits.append(h)
    return list(groups.values())


def make_citation(n: int, hit: Hit, quoted: str = "") -> Citation:
    """A numbered citation from a hit's chunk metadata; its snippet is ``quoted`` (the text an answer
    quotes) when given, else the opening of the chunk."""
    c, m = hit.chunk, hit.chunk.metadata

    def s(key: str) -> str:
        return str(m.get(key, "") or "")

    return Citation(
        n=n,
        doc_id=c.doc_id,
        chunk_id=c.id,
        title=c.title or s("title"),
        snippet=quoted or snippet(c.text),
        type=s("type"),
        doc_number=s("doc_number"),
        issuer=s("issuer"),
        department=s("department"),
        region=s("region"),
        publish_date=s("publish_date"),
        effective_date=s("effective_date"),
        status=s("status") or STATUS_CURRENT,
        url=s("url"),
        score=round(float(hit.score), 4),
    )
