"""Curated answers (人工修正答案 / 标准问答): operators' fixed answers that win over retrieval when a
citizen's question matches one of their question variants above a calibrated threshold.

``entries`` holds the entry type, its validity rule and the ``CuratedSource`` seam the matcher reads;
``matcher`` the match (query vector + lexical check); ``answer`` the ``Answer`` a match becomes.
"""

from .answer import curated_answer
from .entries import CuratedEntry, CuratedSource, MemoryCuratedSource
from .matcher import CuratedMatch, CuratedMatcher, lexical_similarity

__all__ = [
    "CuratedEntry",
    "CuratedMatch",
    "CuratedMatcher",
    "CuratedSource",
    "MemoryCuratedSource",
    "curated_answer",
    "lexical_similarity",
]
