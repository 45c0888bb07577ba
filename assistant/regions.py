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
HK_MACAO_TAIWAN = frozenset({"香港", "澳门", "台湾"})
# Travel documents for 香港 / 澳门 / 台湾 are issued on the mainland (出入境管理): a question about a
# 港澳通行证 or a 签注 for a trip there is a mainland service, not a question about another region.
MAINLAND_TRAVEL_DOCS = re.compile(
    r"通行证|签注|往来港澳|往来台湾|港澳台?居民|台湾居民|台胞证|回乡证|自由行|个人游|团队游|探亲签|商务签"
)
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


def asked_places(text: str) -> list[Place]:
    """The places a question asks about: ``named_places`` without 香港 / 澳门 / 台湾 when the question is
    about a mainland travel document for them (``MAINLAND_TRAVEL_DOCS``: 港澳通行证, 签注, 自由行 …)."""
    found = named_places(text)
    if MAINLAND_TRAVEL_DOCS.search(text):
        found = [p for p in found if p.name not in HK_MACAO_TAIWAN and p.province not in HK_MACAO_TAIWAN]
    return found


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


def uncovered_place(
    asked: Sequence[Place], hits: Sequence[Hit], top: int = 5, national_covers: bool = True
) -> Place | None:
    """The first of the places a question names (``asked``, longest first: ``asked_places``) when none
    of the ``top`` hits applies to any of them.

    Every named place must be uncovered: "从武汉转社保到广州" is answerable from Guangzhou's documents.
    ``national_covers=False`` (the question asks about that place's *local* rules, e.g. "西安落户现在是什么
    政策"): national or unknown-region documents do not count as covering it, and no hit left means
    uncovered.
    """
    if not asked or (not hits and national_covers):
        return None
    for place in asked:
        for h in hits[:top]:
            region = place_of(str(h.chunk.metadata.get("region", "")))
            if not national_covers and region is None:
                continue
            if place.name in h.chunk.title or covers(region, place):
                return None
    return asked[0]
