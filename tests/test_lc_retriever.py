"""The LangChain BaseRetriever wrapper runs our real retriever inside a LangChain runnable chain."""

from __future__ import annotations

from langchain_core.runnables import RunnableLambda

from assistant.config import Settings
from assistant.embedders import make_embedder
from assistant.lc_retriever import ZhengwuRetriever
from assistant.retrieval import HybridRetriever


def test_langchain_retriever_in_a_chain(mini_settings: Settings) -> None:
    hybrid = HybridRetriever(
        mini_settings.index_dir,
        make_embedder(mini_settings.embedder),
        mini_settings.retrieval,
        mini_settings.today,
    )
    lc = ZhengwuRetriever(retriever=hybrid, k=3)
    docs = lc.invoke("居住证怎么办理")
    assert 0 < len(docs) <= 3
    assert "居住证" in docs[0].metadata["title"]
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"]
    assert docs[0].page_content and docs[0].id == docs[0].metadata["chunk_id"]
    chain = lc | RunnableLambda(lambda ds: [d.metadata["doc_id"] for d in ds])
    assert chain.invoke("居住证怎么办理") == [d.metadata["doc_id"] for d in docs]
