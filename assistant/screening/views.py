"""Evasion-folded views of a text for lexicon matching, each with a map back to original positions.

Three views, built in one linear pass:

- ``compact``: NFKC (full-width → half-width), traditional → simplified (OpenCC t2s, character by
  character so positions survive), lower case, and every character that is not a CJK ideograph, a
  Latin letter or a digit dropped — so ``诈 骗``, ``詐*騙`` and ``ＳＢ`` read ``诈骗`` and ``sb``;
- ``cjk``: only the CJK ideographs of ``compact`` (``诈1骗``, ``诈x骗`` → ``诈骗``), used for CJK-only
  entries;
- ``pinyin``: the toneless pinyin of each ideograph (first reading, from pypinyin's character table)
  and the Latin letters as they are, concatenated (``炸骗``, ``zha pian``, ``诈pian`` → ``zhapian``),
  with the start offsets of every syllable or Latin run, so a match must begin and end on a token
  boundary (``xiaozhapian`` does not match ``zhapian``).

The views are cheap (a dictionary look-up per character); no segmentation model is involved.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class View:
    """A folded text and, for each of its characters, the index of the original character."""

    text: str
    where: tuple[int, ...]


@dataclass(frozen=True)
class PinyinView:
    """Concatenated toneless pinyin; ``where`` maps each character back, ``bounds`` are token starts/ends."""

    text: str
    where: tuple[int, ...]
    bounds: frozenset[int]


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@lru_cache(maxsize=1)
def _t2s() -> object:
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, dictionaries in the wheel

    return OpenCC("t2s")


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """One original character folded: NFKC, simplified, lower case; "" when it is not a letter, digit or ideograph."""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if is_cjk(c):
            simplified = _t2s().convert(c)  # type: ignore[attr-defined]
            out.append(simplified if len(simplified) == 1 else c)
        elif c.isascii() and c.isalnum():
            out.append(c.lower())
    return "".join(out)


@lru_cache(maxsize=8192)
def syllable(ch: str) -> str:
    """Toneless pinyin of an ideograph (its first reading), or "" when pypinyin does not know it."""
    from pypinyin.pinyin_dict import pinyin_dict

    reading = pinyin_dict.get(ord(ch))
    if not reading:
        return ""
    first = reading.split(",")[0]
    plain = "".join(c for c in unicodedata.normalize("NFKD", first) if not unicodedata.combining(c))
    return plain.replace("ü", "v").lower()


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin's character table knows (about 400)."""
    from pypinyin.pinyin_dict import pinyin_dict

    found: set[str] = set()
    for reading in pinyin_dict.values():
        for r in reading.split(","):
            plain = "".join(c for c in unicodedata.normalize("NFKD", r) if not unicodedata.combining(c))
            found.add(plain.replace("ü", "v").lower())
    return frozenset(s for s in found if s.isascii() and s.isalpha())


def syllable_bounds(run: str) -> list[int]:
    """Offsets inside a Latin run where pinyin syllables end (greedy longest match: ``falundafa`` →
    fa|lun|da|fa); [] when the run is not all pinyin."""
    known = syllables()
    bounds: list[int] = []
    i = 0
    while i < len(run):
        for size in range(min(6, len(run) - i), 0, -1):
            if run[i : i + size] in known:
                i += size
                bounds.append(i)
                break
        else:
            return []
    return bounds


def compact(text: str) -> View:
    """``text`` folded (see the module docstring), with the original index of each kept character."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in fold_char(ch):
            chars.append(c)
            where.append(i)
    return View("".join(chars), tuple(where))


def cjk_only(view: View) -> View:
    """The ideographs of a compact view."""
    keep = [(c, w) for c, w in zip(view.text, view.where, strict=True) if is_cjk(c)]
    return View("".join(c for c, _ in keep), tuple(w for _, w in keep))


def pinyin(view: View) -> PinyinView:
    """Toneless pinyin of a compact view: one syllable per ideograph, Latin runs kept whole (and split
    into pinyin syllables where they spell some), digits dropped."""
    parts: list[str] = []
    where: list[int] = []
    bounds = {0}
    runs: list[tuple[int, int]] = []  # Latin runs of the original text, to split into syllables
    pos = 0
    run_start = -1
    for c, w in zip(view.text, view.where, strict=True):
        latin = c.isascii() and c.isalpha()
        if run_start >= 0 and not latin:
            runs.append((run_start, pos))
            bounds.add(pos)
            run_start = -1
        if latin:
            if run_start < 0:
                run_start = pos
                bounds.add(pos)
            parts.append(c)
            where.append(w)
            pos += 1
        elif is_cjk(c) and (token := syllable(c)):
            parts.append(token)
            where.extend([w] * len(token))
            pos += len(token)
            bounds.add(pos)
    if run_start >= 0:
        runs.append((run_start, pos))
    bounds.add(pos)
    text = "".join(parts)
    for a, b in runs:
        if b - a > 3:
            bounds.update(a + x for x in syllable_bounds(text[a:b]))
    return PinyinView(text, tuple(where), frozenset(bounds))


def pinyin_of(term: str) -> str:
    """The concatenated toneless pinyin of a lexicon term (what ``pinyin(compact(text))`` would read)."""
    return pinyin(compact(term)).text
