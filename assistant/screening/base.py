"""The ``Screener`` seam: what a content screener returns, the registry of backends, and a fake.

A screener looks at one text (a citizen's message, ``direction="input"``, or an answer,
``"output"``) and returns every lexicon hit with its category and position; deciding what to do
with hits (reply, withhold a sentence, log) is ``moderation.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import ScreeningSettings

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


class Screener(Protocol):
    """Finds unsafe content in a text."""

    name: str

    def warm_up(self) -> None:
        """Load word lists or models (cheap to call again)."""

    def screen(self, text: str, direction: Direction = "input") -> Screening:
        """Every hit in ``text``; an empty ``Screening`` when it is clean."""
        ...


class FakeScreener:
    """Deterministic substring screener for tests: ``{word: category}``, no folding, both directions."""

    name = "fake"

    def __init__(self, words: dict[str, str] | None = None) -> None:
        self.words = words if words is not None else {"测试违禁词": "违法犯罪", "傻瓜机器人": "辱骂"}

    def warm_up(self) -> None:
        return None

    def screen(self, text: str, direction: Direction = "input") -> Screening:
        hits = []
        for word, category in self.words.items():
            start = text.find(word)
            if start >= 0:
                hits.append(ScreenHit(category, word, start, start + len(word)))
        return Screening(tuple(sorted(hits, key=lambda h: h.start)))


class NoScreener:
    """Screening switched off (``screening.screener = "none"``): nothing is ever flagged."""

    name = "none"

    def warm_up(self) -> None:
        return None

    def screen(self, text: str, direction: Direction = "input") -> Screening:
        return Screening(())


def _lexicon(settings: ScreeningSettings) -> Screener:
    from .lexicon import SHIPPED_DIR, LexiconScreener

    dirs = ([SHIPPED_DIR] if settings.shipped_lexicons else []) + (
        [settings.lexicon_dir] if settings.lexicon_dir else []
    )
    return LexiconScreener(dirs, reload_interval_s=settings.reload_interval_s)


SCREENERS: dict[str, Callable[[ScreeningSettings], Screener]] = {
    "lexicon": _lexicon,
    "fake": lambda s: FakeScreener(),
    "none": lambda s: NoScreener(),
}


def make_screener(settings: ScreeningSettings) -> Screener:
    """The screener named by ``settings.screener`` (cheap: word lists load in ``warm_up``)."""
    try:
        factory = SCREENERS[settings.screener]
    except KeyError:
        raise ConfigError(
            f"unknown screening.screener {settings.screener!r}; known: {', '.join(sorted(SCREENERS))}"
        ) from None
    return factory(settings)
