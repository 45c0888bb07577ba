"""Content safety: lexicon screening of questions and answers, injection/fraud patterns, the answer guard.

- ``verdict.py``: what a screener returns (hits, categories);
- ``base.py``: the ``Screener`` protocol and its registry (``lexicon`` | ``fake`` | ``none``);
- ``views.py``: evasion-folded views of a text (full-width, 繁体, symbols, pinyin);
- ``lexicon.py``: the Aho-Corasick screener over editable, hot-reloaded word lists;
- ``patterns.py``: text addressed to an AI and fraud patterns (ingest quarantine, citizen input);
- ``guard.py``: the answer guard (payment requests, contacts not in an official field of a source);
- ``moderation.py``: what the pipeline does with all of these (replies, withheld sentences, labels, logs).
"""

from .base import CATEGORIES, Direction, FakeScreener, Screener, ScreenHit, Screening, make_screener

__all__ = [
    "CATEGORIES",
    "Direction",
    "FakeScreener",
    "ScreenHit",
    "Screener",
    "Screening",
    "make_screener",
]
