"""The lexicon screener: Aho-Corasick (pyahocorasick) over editable word lists, hot-reloaded on change.

Lexicons are UTF-8 text files, one entry per line (``docs/safety.md`` is the operator's guide)::

    @category 诈骗/广告          # the category of the entries below (default: the file name)
    刷单返利                     # a word or phrase
    裸聊|luoliao                 # variants of one entry, separated by |
    买|购买|哪里有 & 枪支|手枪    # all parts within WINDOW characters of each other, any order
    法轮功 ~                     # ~ : also homophones and pinyin (发轮功, fa lun gong, 法lun功)
    去死 in                      # in / out : only citizen input / only answers (default: both)
    -刷单                        # a leading - removes an entry an earlier file added (operator files)

Files named ``allow*.txt`` are the allow-list: official terms that contain a listed word
(``反诈``, ``扫黑除恶``, ``禁毒宣传``); a hit that overlaps an allowed term is dropped.

Shipped defaults live in ``assistant/resources/screening/``; ``screening.lexicon_dir`` adds an
operator folder read after them (``editing.py`` reads and writes it for the console); an operator
file named like a shipped one (``fraud.txt``) defaults to the shipped file's first ``@category``. Every ``screening.reload_interval_s`` the screener compares the
files' names and modification times and rebuilds its automata when they changed: edits apply without
a restart. A rebuild replaces one tuple, so a request in flight keeps the automata it started with.

Matching runs on three views of the text (``views.py``): folded characters with symbols and spaces
dropped, ideographs only, and pinyin (only for ``~`` entries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .verdict import Direction, ScreenHit, Screening
from .views import View, cjk_only, compact, is_cjk, pinyin, pinyin_of

log = logging.getLogger(__name__)

WINDOW = 16  # the parts of an ``a & b`` entry must lie within this many original characters
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "resources" / "screening"


@dataclass(frozen=True)
class Entry:
    """One lexicon line: its category, its parts (each a tuple of folded variants), flags and origin."""

    category: str
    parts: tuple[tuple[str, ...], ...]
    homophone: bool
    scope: str  # both | in | out
    origin: str  # "file:line"

    @property
    def label(self) -> str:
        return "&".join(p[0] for p in self.parts)

    def applies(self, direction: Direction) -> bool:
        return self.scope == "both" or (self.scope == "in") == (direction == "input")


@dataclass(frozen=True)
class Lexicon:
    """Parsed entries and allow-list terms of a set of files."""

    entries: tuple[Entry, ...]
    allowed: tuple[str, ...]


def _fold(term: str) -> str:
    return compact(term).text


def parse_lines(lines: Iterable[str], category: str, origin: str) -> tuple[list[Entry], list[str]]:
    """Entries and ``-`` removals of one file's lines (comments after ``#``, blank lines skipped)."""
    entries: list[Entry] = []
    removed: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@category"):
            category = line.removeprefix("@category").strip() or category
            continue
        if line.startswith("-"):
            removed.append(_fold(line[1:].split()[0]) if line[1:].split() else "")
            continue
        words = line.split()
        flags = set()
        while len(words) > 1 and words[-1] in ("~", "in", "out"):
            flags.add(words.pop())
        body = " ".join(words)
        parts = tuple(
            tuple(dict.fromkeys(f for f in (_fold(v) for v in part.split("|")) if f))
            for part in body.split("&")
        )
        if not parts or any(not p for p in parts):
            log.warning("screening lexicon %s:%d: empty entry %r ignored", origin, n, raw.strip())
            continue
        scope = "in" if "in" in flags else "out" if "out" in flags else "both"
        entries.append(Entry(category, parts, "~" in flags, scope, f"{origin}:{n}"))
    return entries, removed


def lexicon_files(dirs: Sequence[Path]) -> list[Path]:
    """The ``*.txt`` files of each folder, folder by folder, sorted by name within one."""
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files.extend(sorted(p for p in d.glob("*.txt") if p.is_file()))
    return files


def load_lexicon(dirs: Sequence[Path]) -> Lexicon:
    """Parse every lexicon file of ``dirs``; later files may remove (``-word``) earlier entries."""
    entries: list[Entry] = []
    allowed: list[str] = []
    defaults: dict[str, str] = {}  # file stem → the first @category of the first file so named
    for path in lexicon_files(dirs):
        lines = path.read_text(encoding="utf-8").splitlines()
        if path.name.startswith("allow"):
            allowed.extend(_fold(w) for line in lines if (w := line.split("#", 1)[0].strip()))
            continue
        if path.stem not in defaults:
            heads = (
                s.removeprefix("@category").split("#", 1)[0].strip()
                for s in lines
                if s.startswith("@category")
            )
            defaults[path.stem] = next((c for c in heads if c), path.stem)
        # an operator file named like a shipped one continues its category (fraud.txt → 诈骗/广告)
        new, removed = parse_lines(lines, defaults[path.stem], path.name)
        if removed:
            gone = set(removed)
            entries = [e for e in entries if not (len(e.parts) == 1 and gone & set(e.parts[0]))]
        entries.extend(new)
    return Lexicon(tuple(entries), tuple(dict.fromkeys(a for a in allowed if a)))


class _Automata:
    """The three Aho-Corasick automata of a lexicon (compact, CJK-only, pinyin) and the allow-list one."""

    def __init__(self, lexicon: Lexicon) -> None:
        import ahocorasick

        self.entries = lexicon.entries
        self.compact: Any = ahocorasick.Automaton()
        self.cjk: Any = ahocorasick.Automaton()
        self.pinyin: Any = ahocorasick.Automaton()
        self.allow: Any = ahocorasick.Automaton()
        refs: dict[str, dict[str, list[tuple[int, int]]]] = {"compact": {}, "cjk": {}, "pinyin": {}}
        for i, entry in enumerate(lexicon.entries):
            for j, forms in enumerate(entry.parts):
                for form in forms:
                    refs["compact"].setdefault(form, []).append((i, j))
                    if all(is_cjk(c) for c in form):
                        refs["cjk"].setdefault(form, []).append((i, j))
                        if entry.homophone and len(form) >= 2:
                            refs["pinyin"].setdefault(pinyin_of(form), []).append((i, j))
        for name, table in refs.items():
            automaton = getattr(self, name)
            for form, ref in table.items():
                if form:
                    automaton.add_word(form, (form, tuple(ref)))
        for term in lexicon.allowed:
            self.allow.add_word(term, term)
        for automaton in (self.compact, self.cjk, self.pinyin, self.allow):
            if len(automaton):
                automaton.make_automaton()

    @staticmethod
    def _ascii_bounded(text: str, start: int, end: int) -> bool:
        """A form starting/ending in a Latin letter must not continue a Latin word (``usb`` is not ``sb``)."""
        if text[start].isascii() and text[start].isalpha() and start > 0:
            prev = text[start - 1]
            if prev.isascii() and prev.isalpha():
                return False
        last = text[end - 1]
        if last.isascii() and last.isalpha() and end < len(text):
            nxt = text[end]
            if nxt.isascii() and nxt.isalpha():
                return False
        return True

    def allowed_spans(self, views: Sequence[View]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if not len(self.allow):
            return spans
        for view in views:
            for end, term in self.allow.iter(view.text):
                start = end - len(term) + 1
                spans.append((view.where[start], view.where[end] + 1))
        return spans

    def part_matches(
        self, text: str
    ) -> tuple[dict[tuple[int, int], list[tuple[int, int]]], list[tuple[int, int]]]:
        """(entry, part) → original spans where one of the part's forms occurs; and the allowed spans."""
        found: dict[tuple[int, int], list[tuple[int, int]]] = {}
        c = compact(text)
        j = cjk_only(c)
        for view, automaton, bounded in ((c, self.compact, True), (j, self.cjk, False)):
            if not len(automaton):
                continue
            for end, (form, refs) in automaton.iter(view.text):
                start = end - len(form) + 1
                if bounded and not self._ascii_bounded(view.text, start, end + 1):
                    continue
                span = (view.where[start], view.where[end] + 1)
                for ref in refs:
                    found.setdefault(ref, []).append(span)
        if len(self.pinyin):
            p = pinyin(c)
            for end, (form, refs) in self.pinyin.iter(p.text):
                start = end - len(form) + 1
                if start in p.bounds and end + 1 in p.bounds:
                    span = (p.where[start], p.where[end] + 1)
                    for ref in refs:
                        found.setdefault(ref, []).append(span)
        return found, self.allowed_spans((c, j))

    def screen(self, text: str, direction: Direction) -> list[ScreenHit]:
        found, allowed = self.part_matches(text)
        hits: list[ScreenHit] = []
        seen: set[int] = set()
        for (i, _), _spans in found.items():
            if i in seen:
                continue
            seen.add(i)
            entry = self.entries[i]
            if not entry.applies(direction):
                continue
            span = _entry_span(entry, i, found, allowed)
            if span is not None:
                hits.append(ScreenHit(entry.category, entry.label, span[0], span[1]))
        return sorted(hits, key=lambda h: (h.start, h.category))


def _overlaps(span: tuple[int, int], allowed: Sequence[tuple[int, int]]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in allowed)


def _entry_span(
    entry: Entry,
    i: int,
    found: dict[tuple[int, int], list[tuple[int, int]]],
    allowed: Sequence[tuple[int, int]],
) -> tuple[int, int] | None:
    """The span an entry covers when all its parts occur (not inside allowed terms) within WINDOW."""
    per_part = []
    for j in range(len(entry.parts)):
        spans = [s for s in found.get((i, j), []) if not _overlaps(s, allowed)]
        if not spans:
            return None
        per_part.append(spans)
    if len(per_part) == 1:
        return per_part[0][0]
    for anchor in per_part[0]:
        chosen = [anchor]
        for spans in per_part[1:]:
            near = [s for s in spans if abs(s[0] - anchor[0]) <= WINDOW]
            if not near:
                break
            chosen.append(near[0])
        else:
            return min(s[0] for s in chosen), max(s[1] for s in chosen)
    return None


class LexiconScreener:
    """Screens text against the shipped lexicons plus an operator folder, reloading them when they change."""

    name = "lexicon"

    def __init__(
        self, dirs: Sequence[Path], reload_interval_s: float = 2.0, clock: Any = time.monotonic
    ) -> None:
        self.dirs = [Path(d) for d in dirs]
        self.reload_interval_s = reload_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: tuple[tuple[Any, ...], _Automata] | None = None
        self._checked_at = float("-inf")

    def _signature(self) -> tuple[Any, ...]:
        sig = []
        for p in lexicon_files(self.dirs):
            try:
                st = p.stat()
            except OSError:
                continue
            sig.append((str(p), st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def warm_up(self) -> None:
        """Read the lexicons and build the automata (also done lazily on the first screen)."""
        self._current(force=True)

    def _current(self, force: bool = False) -> _Automata:
        state = self._state
        now = self._clock()
        if state is not None and not force and now - self._checked_at < self.reload_interval_s:
            return state[1]
        with self._lock:
            self._checked_at = now
            sig = self._signature()
            if self._state is not None and self._state[0] == sig and not force:
                return self._state[1]
            automata = _Automata(load_lexicon(self.dirs))
            if self._state is not None:
                log.info("screening lexicons reloaded: %d entries", len(automata.entries))
            self._state = (sig, automata)
            return automata

    def size(self) -> int:
        """Entries loaded now (after a reload check)."""
        return len(self._current().entries)

    def screen(self, text: str, direction: Direction = "input") -> Screening:
        if not text:
            return Screening(())
        return Screening(tuple(self._current().screen(text, direction)))
