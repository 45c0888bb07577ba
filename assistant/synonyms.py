"""Colloquial → official terms (驾照 → 机动车驾驶证): part of the text layer, used by retrieval and answering.

The curated table is ``resources/synonyms.tsv`` (``term<TAB>official …``); an index adds the 俗称/简称
its guides declare (``alias_table``). Expansion appends the official terms of every colloquial term a
query contains; it never removes or rewrites words, so an expanded query still matches what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

from .types import Chunk


def load_synonyms(extra: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Colloquial → official terms: the curated table plus ``extra`` (from guides' 俗称/简称)."""
    table: dict[str, list[str]] = {}
    text = resources.files("assistant.resources").joinpath("synonyms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, _, official = line.partition("\t")
        table.setdefault(term.strip(), []).extend(official.split())
    for term, officials in (extra or {}).items():
        if 2 <= len(term) <= 12:
            table.setdefault(term, []).extend(o for o in officials if o != term)
    return table


@cache
def curated() -> dict[str, list[str]]:
    """The curated table alone, read on first use (not at import) and shared."""
    return load_synonyms()


def expand_query(query: str, synonyms: dict[str, list[str]]) -> str:
    """Append the official terms of every colloquial term the query contains."""
    extra = [" ".join(v) for k, v in synonyms.items() if k in query]
    return query if not extra else query + " " + " ".join(extra)


def alias_table(chunks: Sequence[Chunk]) -> dict[str, list[str]]:
    """Alias → the titles of the documents that declare it (guides' 俗称/简称 metadata)."""
    table: dict[str, list[str]] = {}
    for c in chunks:
        for alias in c.metadata.get("aliases", []) or []:
            table.setdefault(alias, [])
            if c.title not in table[alias]:
                table[alias].append(c.title)
    return table
