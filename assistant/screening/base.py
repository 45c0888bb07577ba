"""The ``Screener`` seam: what a content screener returns, the registry of backends, and a fake.

A screener looks at one text (a citizen's message, ``direction="input"``, or an answer,
``"output"``) and returns every lexicon hit with its category and position; deciding what to do
with hits (reply, withhold a sentence, log) is ``moderation.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..errors import ConfigError
from .verdict import CATEGORIES, Direction, ScreenHit, Screening

if TYPE_CHECKING:
    from ..config import ScreeningSettings


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


__all__ = ["CATEGORIES", "Direction", "FakeScreener", "NoScreener", "ScreenHit", "Screener", "Screening"]


def make_screener(settings: ScreeningSettings) -> Screener:
    """The screener named by ``settings.screener`` (cheap: word lists load in ``warm_up``)."""
    try:
        factory = SCREENERS[settings.screener]
    except KeyError:
        raise ConfigError(
            f"unknown screening.screener {settings.screener!r}; known: {', '.join(sorted(SCREENERS))}"
        ) from None
    return factory(settings)
