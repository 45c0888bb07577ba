"""Structure-aware chunking: guides by field group, laws/policies by 编/章/节/条, FAQs by pair, pages by sentence.

Every chunk's ``text`` is what a citation shows; ``embed_text`` adds the context an embedder needs
(document title, 文号, section heading). Sizes are in characters (``ChunkSettings``). Chunkers are
chosen from ``CHUNKERS`` by document type; unknown types get the plain-text chunker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import ChunkSettings
from ..synonyms import curated
from ..text import split_sentences
from ..types import Chunk, Document
from .keys import colloquial_keys

CHUNKER_VERSION = "2026.1"  # 2026.1: colloquial keys in every chunk's metadata (``keys``)

_NUM = "一二三四五六七八九十百千零〇两\\d"
_ARTICLE = re.compile(rf"^第[{_NUM}]+条(之[{_NUM}]+)?(?=[\s　]|[^\s])")
_CN_HEADING = re.compile(rf"^第[{_NUM}]+([编章节])(\s|　|$)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_SOFT_HEADING = re.compile(rf"^([{_NUM}]+、|[（(][{_NUM}]+[)）])[^。；！？]{{1,30}}$")
_CN_LEVEL = {"编": 1, "章": 2, "节": 3}
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


@dataclass
class Piece:
    """A chunk before numbering: shown text, section label, kind and the text to embed."""

    text: str
    section: str = ""
    kind: str = ""
    embed_text: str = ""


@dataclass
class _Unit:
    text: str
    section: str
    article: str = ""  # "第十条" for article units
    table: bool = False
    soft_heading: bool = False
    lines: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- sentence packing


def _sentences(text: str, size: int, overlap: int) -> list[str]:
    """Sentences with their line breaks kept (a sentence ending a line carries the "\\n");
    sentences longer than ``size`` are cut by length."""
    out: list[str] = []
    for line in text.splitlines():
        parts = split_sentences(line)
        for i, s in enumerate(parts):
            while len(s) > size:
                out.append(s[:size])
                s = s[size - overlap :] if 0 < overlap < size else s[size:]
            if s:
                out.append(s + ("\n" if i == len(parts) - 1 else ""))
    return out


def pack_sentences(text: str, size: int, overlap: int = 0) -> list[str]:
    """Greedy packing of sentences into pieces of at most ``size`` chars, repeating up to ``overlap``
    chars of trailing sentences at the start of the next piece. Over-long sentences are cut by length."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for s in _sentences(text, size, overlap):
        if current and length + len(s) > size:
            pieces.append("".join(current))
            carry: list[str] = []
            carried = 0
            for prev in reversed(current):
                if carried + len(prev) > overlap:
                    break
                carry.insert(0, prev)
                carried += len(prev)
            # never carry the whole previous piece (that would repeat it)
            current, length = (carry, carried) if len(carry) < len(current) else ([], 0)
        current.append(s)
        length += len(s)
    if current:
        tail = "".join(current)
        if not pieces or tail.strip() not in pieces[-1]:
            pieces.append(tail)
    return [p.strip() for p in pieces if p.strip()]


def split_table(lines: list[str], size: int) -> list[str]:
    """A Markdown-ish table kept whole up to 3×size; beyond that, row groups each led by the header row."""
    whole = "\n".join(lines)
    if len(whole) <= 3 * size or len(lines) < 3:
        return [whole]
    header, rows = lines[0], lines[1:]
    groups: list[str] = []
    current: list[str] = []
    length = len(header)
    for row in rows:
        if current and length + len(row) + 1 > 2 * size:
            groups.append("\n".join([header, *current]))
            current, length = [], len(header)
        current.append(row)
        length += len(row) + 1
    if current:
        groups.append("\n".join([header, *current]))
    return groups


# ---------------------------------------------------------------- structure parsing (laws, policies, pages)


def parse_units(text: str) -> list[_Unit]:
    """Lines → units: one per 条 (with its 款/项), paragraph, or table, each tagged with its heading path."""
    units: list[_Unit] = []
    stack: list[tuple[int, str]] = []

    def path() -> str:
        return " ".join(t for _, t in stack)

    def push(level: int, title: str) -> None:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))

    current: _Unit | None = None
    for raw in text.splitlines():
        line = _INVISIBLE.sub("", raw).strip()
        if not line:
            if current is not None and current.table:
                current = None
            continue
        md = _MD_HEADING.match(line)
        cn = _CN_HEADING.match(line) if len(line) <= 40 else None
        if md or cn:
            title = md.group(2).strip() if md else line
            cn_in_md = _CN_HEADING.match(title)
            level = (
                _CN_LEVEL[cn_in_md.group(1)]
                if cn_in_md
                else _CN_LEVEL[cn.group(1)]
                if cn
                else len(md.group(1))
                if md
                else 2
            )
            push(level, title)
            current = None
            continue
        if line.startswith("|"):
            if current is None or not current.table:
                current = _Unit("", path(), table=True)
                units.append(current)
            current.lines.append(line)
            continue
        art = _ARTICLE.match(line)
        if art:
            current = _Unit(line, path(), article=art.group(0))
            units.append(current)
        elif current is not None and current.article:
            current.text += "\n" + line
        else:
            units.append(_Unit(line, path(), soft_heading=bool(_SOFT_HEADING.match(line))))
            current = None
    for u in units:
        if u.table:
            u.text = "\n".join(u.lines)
    return units


def _pack_units(units: list[_Unit], s: ChunkSettings) -> list[tuple[str, str]]:
    """(section, text) pieces: consecutive units of one section packed up to ``size``; tables and
    over-long units handled on their own."""
    out: list[tuple[str, str]] = []
    buf: list[_Unit] = []

    def flush() -> None:
        nonlocal buf
        carry: list[_Unit] = []
        while buf and buf[-1].soft_heading and len(buf) > 1:  # do not end a chunk on a heading
            carry.insert(0, buf.pop())
        if buf:
            out.append((buf[0].section, "\n".join(u.text for u in buf)))
        buf = carry

    for u in units:
        if buf and (u.section != buf[0].section or sum(len(b.text) + 1 for b in buf) + len(u.text) > s.size):
            flush()
        if u.table:
            flush()
            prefix = "\n".join(b.text for b in buf)  # a carried heading introduces the table
            buf = []
            for i, part in enumerate(split_table(u.lines, s.size)):
                out.append((u.section, f"{prefix}\n{part}" if prefix and i == 0 else part))
            continue
        if len(u.text) > s.size:
            flush()
            lead = "\n".join(b.text for b in buf)
            buf = []
            section = f"{u.section} {u.article}".strip() if u.article else u.section
            text = f"{lead}\n{u.text}" if lead else u.text
            out.extend((section, p) for p in pack_sentences(text, s.size, s.overlap))
            continue
        buf.append(u)
    flush()
    return _merge_tiny(out, s)


def _merge_tiny(pieces: list[tuple[str, str]], s: ChunkSettings) -> list[tuple[str, str]]:
    """Fold pieces shorter than ``min_size`` into their neighbour in the same section when it fits."""
    merged: list[tuple[str, str]] = []
    for section, text in pieces:
        if (
            merged
            and merged[-1][0] == section
            and (len(text) < s.min_size or len(merged[-1][1]) < s.min_size)
            and len(merged[-1][1]) + len(text) <= s.size + s.min_size
            and not text.startswith("|")
        ):
            merged[-1] = (section, merged[-1][1] + "\n" + text)
        else:
            merged.append((section, text))
    return merged


def _context(doc: Document) -> str:
    return f"{doc.title}（{doc.doc_number}）" if doc.doc_number else doc.title


def _embed(doc: Document, section: str, text: str) -> str:
    return "\n".join(p for p in (_context(doc), section, text) if p)


# ---------------------------------------------------------------- chunkers per document type


def chunk_structured(doc: Document, s: ChunkSettings) -> list[Piece]:
    """Laws and policies: split on 编/章/节/条 and headings, consecutive 条 packed up to ``size``."""
    return [
        Piece(
            text,
            section,
            "article" if _ARTICLE.match(text) else "table" if text.startswith("|") else "text",
            _embed(doc, section, text),
        )
        for section, text in _pack_units(parse_units(doc.text), s)
    ]


def chunk_page(doc: Document, s: ChunkSettings) -> list[Piece]:
    """Plain text / HTML / PDF / Word: per heading section, sentences packed with overlap; tables whole."""
    pieces: list[Piece] = []
    prose: list[str] = []
    section = ""

    def flush_prose() -> None:
        if prose:
            for p in pack_sentences("\n".join(prose), s.size, s.overlap):
                pieces.append(Piece(p, section, "text", _embed(doc, section, p)))
            prose.clear()

    for u in parse_units(doc.text):
        if u.section != section:
            flush_prose()
            section = u.section
        if u.table:
            flush_prose()
            for part in split_table(u.lines, s.size):
                pieces.append(Piece(part, section, "table", _embed(doc, section, part)))
        else:
            prose.append(u.text)
    flush_prose()
    merged = _merge_tiny([(p.section, p.text) for p in pieces], s)
    if len(merged) == len(pieces):
        return pieces
    return [Piece(t, sec, "text", _embed(doc, sec, t)) for sec, t in merged]


def chunk_faq(doc: Document, s: ChunkSettings) -> list[Piece]:
    """One chunk per question/answer pair; answers over 3×size are split with the question kept in each."""
    question = str(doc.fields.get("question") or (doc.sections[0].heading if doc.sections else "") or "")
    answer = str(doc.fields.get("answer") or (doc.sections[0].text if doc.sections else doc.text) or "")
    parts = [answer] if len(answer) <= 3 * s.size else pack_sentences(answer, s.size, s.overlap)
    pieces = []
    for part in parts:
        text = f"问：{question}\n答：{part}" if question else part
        embed = text if question or text.startswith(doc.title[:10]) else f"{doc.title}\n{text}"
        pieces.append(Piece(text, question, "faq", embed))
    return pieces


def chunk_guide(doc: Document, s: ChunkSettings) -> list[Piece]:
    """An overview chunk plus one chunk per field group, each starting with the item name."""
    name = doc.title
    aliases = "、".join(doc.aliases[:5])
    overview = [name]
    for label, value in (
        ("实施主体", doc.department),
        ("地区", doc.region),
        ("事项类型", str(doc.fields.get("item_type") or "")),
        ("又称", aliases),
    ):
        if value:
            overview.append(f"{label}：{value}")
    head = f"{name}（{aliases}）" if aliases else name
    pieces = [Piece("\n".join(overview), "概览", "overview", "\n".join(overview))]
    for sec in doc.sections:
        body = sec.text
        parts = [body] if len(body) <= 3 * s.size else _pack_lines(body, 2 * s.size)
        for part in parts:
            text = f"{name} · {sec.heading}\n{part}"
            pieces.append(Piece(text, sec.heading, sec.kind, f"{head}\n{sec.heading}\n{part}"))
    return pieces


def _pack_lines(text: str, size: int) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if out and len(out[-1]) + len(line) + 1 <= size:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


Chunker = Callable[[Document, ChunkSettings], list[Piece]]

CHUNKERS: dict[str, Chunker] = {
    "guide": chunk_guide,
    "law": chunk_structured,
    "policy": chunk_structured,
    "faq": chunk_faq,
    "page": chunk_page,
}


def chunk_document(doc: Document, settings: ChunkSettings) -> list[Chunk]:
    """Chunks of one document, numbered ``<doc.id>#<n>``; empty pieces are dropped."""
    chunker = CHUNKERS.get(doc.type, chunk_page)
    pieces = [p for p in chunker(doc, settings) if _INVISIBLE.sub("", p.text).strip()]
    visible = _INVISIBLE.sub("", doc.text).strip()
    if not pieces and visible:  # e.g. a guide with only a name: fall back to its text
        pieces = [Piece(visible, "", "text", _embed(doc, "", visible))]
    meta = doc.metadata()
    if settings.colloquial_keys:  # the BM25 side's everyday names of a service item (``ingest.keys``)
        meta["keys"] = colloquial_keys(doc, curated())
    return [
        Chunk(
            id=f"{doc.id}#{n}",
            doc_id=doc.id,
            text=p.text.strip(),
            title=doc.title,
            section=p.section,
            kind=p.kind,
            embed_text=(p.embed_text or p.text).strip(),
            metadata={**meta, "kind": p.kind},
        )
        for n, p in enumerate(pieces)
    ]


def chunk_documents(docs: list[Document], settings: ChunkSettings) -> list[Chunk]:
    """Chunks of many documents, in order."""
    return [c for d in docs for c in chunk_document(d, settings)]
