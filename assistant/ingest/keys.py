"""Colloquial keys: the everyday names of a service item, generated at ingest for the keyword index.

People ask for "港澳通行证" and "残疾证", not "办理往来港澳通行证" or "《中华人民共和国残疾人证》换领".
For every service guide the keys are generated from what it already says — never written per question:

- **name variants** of a service guide's item name: without 《》 and "中华人民共和国", without a
  parenthesised qualifier, without a leading 办理/申请/申领/核发 verb, without 往来 (港澳通行证);
- its **aliases** (the guide's 俗称/简称 fields);
- **colloquial terms** of ``resources/synonyms.tsv`` whose official term is in the title (机动车驾驶证
  → 驾照, 驾驶本; 社会保障卡 → 社保卡), so a colloquial question matches the item itself and not
  only through the query-side expansion;
- **how-to phrasings** of the shortest name ("办X", "X怎么办", "X在哪办", "X要什么材料"): a how-to
  question leans, by a little, towards the service guide rather than a definitional article.

Laws, policies and FAQs get none: on the Beijing FAQ questions their keys cost more than they gained
(docs/retrieval.md). The keys go to the BM25 side only (``build.keyword_text``); what is embedded and
shown is unchanged. ``chunking.colloquial_keys = false`` turns them off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.types import Document

MAX_KEYS = 24
_BRACKETS = re.compile(r"[《》“”\"]")
_QUALIFIER = re.compile(r"[（(][^）)]*[）)]")
_LEADING_VERB = re.compile(r"^(?:办理及?|申请|申领|核发|开具|受理)")
_OFFICIAL_PREFIX = re.compile(r"中华人民共和国|往来")
HOW_TO = ("办{}", "{}怎么办", "{}在哪办", "{}要什么材料")


def name_variants(name: str) -> list[str]:
    """Shorter forms of an item name, longest first (the name itself excluded)."""
    forms = {name}
    base = _BRACKETS.sub("", name)
    forms.add(base)
    forms.add(_OFFICIAL_PREFIX.sub("", base))
    for form in list(forms):
        bare = _QUALIFIER.sub("", form).strip()
        forms.add(bare)
        forms.add(_LEADING_VERB.sub("", bare))
    forms.discard(name)
    return sorted((f for f in forms if len(f) >= 2), key=lambda f: (-len(f), f))


def colloquial_terms(title: str, synonyms: Mapping[str, Sequence[str]]) -> list[str]:
    """Colloquial terms whose official term occurs in ``title`` (and that it does not already contain)."""
    return sorted(
        term
        for term, officials in synonyms.items()
        if term not in title and any(len(o) >= 2 and o in title for o in officials)
    )


def colloquial_keys(doc: Document, synonyms: Mapping[str, Sequence[str]]) -> list[str]:
    """The colloquial keys of ``doc`` (at most ``MAX_KEYS``; see the module docstring)."""
    title = doc.title or ""
    if doc.type != "guide" or not title:
        return []
    variants = name_variants(title)
    keys = [*variants, *(a for a in doc.aliases if a and a != title), *colloquial_terms(title, synonyms)]
    short = min([title, *variants, *doc.aliases], key=len)
    keys += [t.format(short) for t in HOW_TO]
    return list(dict.fromkeys(k for k in keys if k))[:MAX_KEYS]
