"""What a screener returns: hits with their category and position, and the verdict on one text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["input", "output"]

# The shipped categories, in the order replies are chosen when several are hit (most serious first).
CATEGORIES = ("暴恐", "自伤", "违法犯罪", "政治敏感", "诈骗/广告", "色情", "辱骂")


@dataclass(frozen=True)
class ScreenHit:
    """One lexicon match: ``start``/``end`` index the screened text; ``term`` is the lexicon entry, not the text."""

    category: str
    term: str
    start: int
    end: int


@dataclass(frozen=True)
class Screening:
    """A screener's verdict on one text."""

    hits: tuple[ScreenHit, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.hits)

    @property
    def categories(self) -> list[str]:
        """Hit categories, most serious first (shipped order, then others by name)."""
        found = {h.category for h in self.hits}
        known = [c for c in CATEGORIES if c in found]
        return known + sorted(found - set(known))
