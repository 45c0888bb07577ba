"""Which province or city a question names, and whether a document's region covers it.

Local rules differ from place to place: a question about 上海's 积分落户 must not be answered from
广州's 积分制入户 documents just because they share the words. ``uncovered_place`` finds a place the
question names that none of the top hits applies to; the answering policy then says so and hands off.

The gazetteer (``resources/regions.tsv``) lists the province-level divisions and the larger cities
(capitals, sub-provincial and major prefecture-level cities) with their province, plus the districts
the knowledge base itself uses. Anything it does not know counts as "could apply": a missing name
only means no refusal, never a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .types import Hit

RESOURCE = Path(__file__).resolve().parent / "resources" / "regions.tsv"
NATIONAL = {"全国", "中国", "中华人民共和国", "国家"}
_SUFFIX = re.compile(r"(省|市|自治区|特别行政区|壮族自治区|回族自治区|维吾尔自治区)$")


@dataclass(frozen=True)
class Place:
    name: str  # as the gazetteer spells it, without 省/市 (上海, 深圳, 天河)
    province: str
    city: str = ""  # "" for a province-level name
    district: str = ""


@cache
def gazetteer(path: Path = RESOURCE) -> dict[str, Place]:
    """name → Place. Lines: ``province<TAB>city[/district …] …`` (``#`` comments)."""
    places: dict[str, Place] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        province, *rest = line.split("\t")
        places[province] = Place(province, province)
        for item in " ".join(rest).split():
            city, *districts = item.split("/")
            places.setdefault(city, Place(city, province, city))
            for d in districts:
                places.setdefault(d, Place(d, province, city, d))
    return places


def _bare(name: str) -> str:
    """``name`` without its 省/市/自治区 suffix; a two-character name keeps it (沙市 is not 沙)."""
    return _SUFFIX.sub("", name) if len(name) > 2 else name


def place_of(region: str) -> Place | None:
    """The Place a document's ``region`` names; None for national, empty or unknown regions."""
    region = region.strip()
    if not region or region in NATIONAL:
        return None
    table = gazetteer()
    return table.get(region) or table.get(_bare(region))


@cache
def _names_pattern() -> re.Pattern[str]:
    """Every gazetteer name, longest first, so a match never stops inside a longer name."""
    return re.compile("|".join(re.escape(n) for n in sorted(gazetteer(), key=len, reverse=True)))


def named_places(text: str) -> list[Place]:
    """Places named in ``text`` (a name inside a longer matched name does not count), longest first."""
    table = gazetteer()
    found = dict.fromkeys(table[m.group()] for m in _names_pattern().finditer(text))
    return sorted(found, key=lambda p: -len(p.name))


def covers(region: Place | None, asked: Place) -> bool:
    """Whether a document for ``region`` (None: national or unknown) can answer about ``asked``."""
    if region is None:
        return True
    if region.province != asked.province:
        return False
    if not region.city or not asked.city:  # a province's rules, or a question about the whole province
        return True
    if region.city != asked.city:
        return False
    return not region.district or not asked.district or region.district == asked.district


def uncovered_place(asked: Sequence[Place], hits: Sequence[Hit], top: int = 5) -> Place | None:
    """The first of the places a question names (``asked``, longest first: ``named_places``) when none
    of the ``top`` hits applies to any of them.

    Every named place must be uncovered: "从武汉转社保到广州" is answerable from Guangzhou's documents.
    """
    if not hits or not asked:
        return None
    for place in asked:
        for h in hits[:top]:
            if place.name in h.chunk.title or covers(
                place_of(str(h.chunk.metadata.get("region", ""))), place
            ):
                return None
    return asked[0]
