"""HTML pages → plain text: drop navigation, headers, footers, scripts and menus; keep the main content.

Headings become ``## `` lines and tables become ``| a | b |`` rows (header first) so the chunker can
keep them whole. The main content is found by well-known CMS containers (``#zoomcon``,
``.article-content`` …) or else by the block with the most text and the fewest links.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PreformattedString

from ...types import Document
from .common import derived_id, read_text
from .limits import MAX_DEPTH
from .markdown import sections_from_headings

_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "select",
    "button",
    "input",
    "svg",
    "canvas",
    "template",
    "link",
    "meta",
    "object",
)
_BOILER = re.compile(
    r"(^|[\s_-])(nav|menu|header|footer|breadcrumb|crumb|share|login|search|sidebar|side-bar|topbar|"
    r"top-bar|toolbar|qrcode|erweima|related|xgxw|friend-?link|copyright|banner|skip|modal|zoom-controls|"
    r"position|location|ipv6|pagination|print|fontsize|font-size)([\s_-]|$)",
    re.I,
)
_MAIN_SELECTORS = (
    "#zoomcon",
    ".article-content",
    ".content_article",
    ".TRS_Editor",
    ".info_cont",
    ".article_con",
    ".news_content",
    ".xl_content",
    "article",
    "main",
    "#content",
    ".content",
)
_BLOCK = ("p", "div", "li", "tr", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "br", "table")
BOILER_LINES = re.compile(
    r"^(关注\s*·.*|【字体[:：].*|字体[:：]?\s*[大中小\s]+|.*当前(所在的)?位置[:：].*|首页\s*>.*|[-\s]{5,}|"
    r"【(音频|视频|文字|图片)?解读】.*|【一图读懂】.*|.*-->\s*|分享到[:：]?.*|扫一扫.*|打印(本页)?|关闭(窗口)?|"
    r"[0-9A-Z]{18}/\d{4}-\d{5}|GZ\d{10}|上一篇.*|下一篇.*|相关(附件|阅读|链接|新闻)[:：]?|【(打印|关闭)】.*|"
    r"无障碍阅读|长者助手|繁体版|简体版|网站支持IPV6|返回顶部|\[?责任编辑.*)$"
)


def _attrs(tag: Tag) -> str:
    # decomposed tags and text-only nodes have attrs None
    attrs = getattr(tag, "attrs", None) or {}
    cls = attrs.get("class") or []
    return " ".join([*(cls if isinstance(cls, list) else [str(cls)]), str(attrs.get("id") or "")])


def _strip_boilerplate(soup: BeautifulSoup) -> None:
    for t in soup(_DROP_TAGS):
        t.decompose()
    for t in list(soup.find_all(True)):
        if t.name in ("html", "body") or getattr(t, "attrs", None) is None:
            continue
        if _BOILER.search(_attrs(t)):
            t.decompose()


def _text_stats(root: Tag) -> dict[int, tuple[int, int, int]]:
    """Per element under ``root``: (text length, link text length, text in direct p/table/span/font).

    One pass over the tree in reverse document order (children before parents), so finding the main
    block is linear in the page size; calling ``get_text`` per candidate was quadratic in the depth.
    Lengths are of stripped strings, as ``get_text(strip=True)`` counts them.
    """
    stats: dict[int, list[int]] = {}
    nodes = [root, *root.descendants]
    for node in reversed(nodes):
        parent = node.parent
        if isinstance(node, NavigableString):
            if isinstance(node, PreformattedString) or parent is None:
                continue
            stats.setdefault(id(parent), [0, 0, 0])[0] += len(node.strip())
            continue
        if not isinstance(node, Tag):
            continue
        mine = stats.setdefault(id(node), [0, 0, 0])
        if node.name == "a":
            mine[1] = mine[0]
        if parent is None or node is root:
            continue
        up = stats.setdefault(id(parent), [0, 0, 0])
        up[0] += mine[0]
        up[1] += mine[1]
        if node.name in ("p", "table", "span", "font"):
            up[2] += mine[0]
    return {k: (v[0], v[1], v[2]) for k, v in stats.items()}


def check_depth(soup: BeautifulSoup, limit: int) -> int:
    """The deepest element nesting in ``soup``; raises ``ValueError`` past ``limit``."""
    depth: dict[int, int] = {id(soup): 0}
    deepest = 0
    for el in soup.descendants:
        if isinstance(el, Tag):
            d = depth[id(el.parent)] + 1
            depth[id(el)] = d
            if d > limit:
                raise ValueError(f"HTML nested deeper than {limit} elements")
            deepest = max(deepest, d)
    return deepest


def find_main(soup: BeautifulSoup) -> Tag:
    """The element holding the page's main content."""
    for sel in _MAIN_SELECTORS:
        el = soup.select_one(sel)
        if el is not None and len(el.get_text(strip=True)) >= 50:
            return el
    body = soup.body or soup
    best: Tag = body  # type: ignore[assignment]
    best_score = 0.0
    stats = _text_stats(body)  # type: ignore[arg-type]
    for el in body.find_all(("div", "td", "section", "article")):
        text_len, link_len, own = stats.get(id(el), (0, 0, 0))
        if text_len < 50:
            continue
        # direct text (not in nested divs) weighs more: rewards the innermost content block
        score = (text_len * 0.3 + own) * (1 - link_len / text_len) ** 2
        if score > best_score:
            best, best_score = el, score
    return best


def _table_rows(table: Tag) -> list[str]:
    rows = []
    for tr in table.find_all("tr"):
        cells = [re.sub(r"\s+", " ", c.get_text(" ", strip=True)) for c in tr.find_all(("th", "td"))]
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return rows


def element_text(el: Any) -> str:
    """Text of an element with block structure kept as lines, headings as '## ', tables as rows."""
    for table in el.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        rows = _table_rows(table)
        table.replace_with("\n" + "\n".join(rows) + "\n" if rows else "")
    for h in el.find_all(("h1", "h2", "h3", "h4")):
        text = h.get_text(" ", strip=True)
        h.replace_with(f"\n## {text}\n" if text else "")
    for br in el.find_all("br"):
        br.replace_with("\n")
    for blk in el.find_all(_BLOCK):
        blk.insert_before("\n")
        blk.insert_after("\n")
    return clean_lines(el.get_text(""))


def clean_lines(text: str) -> str:
    """Collapse whitespace per line, drop empty lines and common page furniture lines."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"[ \t\u3000\xa0]+", " ", line).strip()
        if line and not BOILER_LINES.match(line):
            out.append(line)
    return "\n".join(out)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, main text) of an HTML page."""
    soup = BeautifulSoup(html, "html.parser")
    check_depth(soup, MAX_DEPTH)
    title = ""
    for sel in (".article-title", ".content_title", "h1", "title"):
        el = soup.select_one(sel)
        if el is not None and el.get_text(strip=True):
            title = el.get_text(" ", strip=True)
            break
    title = re.split(r"\s+[-|_]\s+|-(?=[^-]*(网站|门户|政府网)$)", title)[0].strip()
    _strip_boilerplate(soup)
    return title, element_text(find_main(soup))


def load_html(path: Path, root: Path) -> list[Document]:
    """One ``page`` Document per HTML file."""
    title, text = html_to_text(read_text(path))
    return page_document(path, root, title, text, "no text content found in HTML")


def page_document(path: Path, root: Path, title: str, text: str, empty: str) -> list[Document]:
    """The one ``page`` Document of an extracted file (HTML, PDF, DOCX); ``empty`` is the error when it has no text."""
    from ...errors import LoaderError

    if not text.strip():
        raise LoaderError(str(path), empty)
    rel = path.relative_to(root)
    return [
        Document(
            id=derived_id(rel),
            title=title or path.stem,
            type="page",
            text=text,
            source=rel.as_posix(),
            sections=sections_from_headings(text),
        )
    ]
