"""LangChain adapter: our hybrid retriever as a ``langchain_core`` ``BaseRetriever`` for users' own chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retrieval import Retriever
from .types import Filters, Hit


def hit_to_document(hit: Hit) -> LCDocument:
    """A LangChain Document carrying the chunk text and all our metadata plus the scores."""
    meta: dict[str, Any] = dict(hit.chunk.metadata)
    meta.update(
        chunk_id=hit.chunk.id,
        doc_id=hit.doc_id,
        title=hit.chunk.title,
        section=hit.chunk.section,
        score=hit.score,
        dense_score=hit.dense_score,
        keyword_score=hit.keyword_score,
    )
    return LCDocument(page_content=hit.chunk.text, metadata=meta, id=hit.chunk.id)


class ZhengwuRetriever(BaseRetriever):
    """Wraps any ``Retriever`` (the hybrid one by default): ``ZhengwuRetriever(retriever=r, k=5)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 5
    region: str | None = None
    include_expired: bool = False

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        r: Retriever = self.retriever
        hits = r.search(
            query, k=self.k, filters=Filters(region=self.region, include_expired=self.include_expired)
        )
        return [hit_to_document(h) for h in hits]
