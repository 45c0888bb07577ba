"""Convert the raw starter corpus (``shared/data/knowledge_raw`` + dev passages) into ``knowledge/``.

Deterministic and re-runnable: the same input gives byte-identical output. Run as
``python -m tools.convert_raw --raw ../shared/data/knowledge_raw --dev ../shared/data/dev --out knowledge``.
Field mapping and provenance are documented in ``knowledge/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.ingest.loaders.common import as_list, clean_str, normalize_date
from assistant.ingest.loaders.html import clean_lines, html_to_text
from assistant.text import strip_punct

# ---------------------------------------------------------------- shared output helpers


def _front_matter(meta: dict[str, Any]) -> str:
    meta = {k: v for k, v in meta.items() if v not in (None, "", [])}
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000) + "---\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows)


_SLUG_BAD = re.compile(r"[\\/:*?\"<>|#\s]+")


def _slug(text: str, limit: int = 60) -> str:
    return _SLUG_BAD.sub("_", text).strip("_")[:limit]


# ---------------------------------------------------------------- 1. Guangdong service guides

_LEVEL_REGION = {"省级": "广东省", "市级": "广州市"}


def _time_limit(value: Any) -> str:
    """'20(工作日)' → '20个工作日'; other spellings are kept; '无' → ''."""
    text = clean_str(value)
    m = re.fullmatch(r"(\d+)\s*[（(]\s*(工作日|自然日|日|天|个月|月)\s*[)）]", text)
    if m:
        unit = {
            "工作日": "个工作日",
            "自然日": "个自然日",
            "日": "日",
            "天": "天",
            "个月": "个月",
            "月": "个月",
        }[m.group(2)]
        return f"{m.group(1)}{unit}"
    return text


def _crawl_date(record: dict[str, Any]) -> str:
    """The MongoDB ObjectId encodes when the record was scraped (first 4 bytes = unix time)."""
    oid = str((record.get("_id") or {}).get("$oid") or "")
    if len(oid) >= 8:
        try:
            return dt.datetime.fromtimestamp(int(oid[:8], 16), tz=dt.UTC).date().isoformat()
        except ValueError:
            return ""
    return ""


def convert_guide(r: dict[str, Any]) -> dict[str, Any]:
    """One raw policy.json record → our guide schema (see knowledge/README.md)."""
    name = clean_str(r.get("matter_name")) or clean_str(r.get("TASK_NAME"))
    region = _LEVEL_REGION.get(clean_str(r.get("matter_level")), "")
    if not region:
        area = clean_str(r.get("AREA_CODE_TEXT"))
        region = "广州市" if "广州" in area else area
    aliases = [a for a in as_list(r.get("matter_short")) + as_list(r.get("matter_daily")) if a != name]
    location = re.sub(r"^办理地点[:：]\s*", "", clean_str(r.get("handle_location")))
    conditions = clean_str(r.get("accept_standard"))
    materials = as_list(r.get("material_intro")) if isinstance(r.get("material_intro"), list) else []
    if not materials and clean_str(r.get("material_intro")):
        materials = [clean_str(r.get("material_intro"))]
    row: dict[str, Any] = {
        "id": f"gd-{clean_str(r.get('TASK_CODE'))}",
        "name": name,
        "department": clean_str(r.get("DEPT_NAME")),
        "region": region,
        "item_type": clean_str(r.get("TASK_TYPE_TEXT")) or clean_str(r.get("matter_type")),
        "conditions": conditions,
        "conditions_truncated": bool(conditions) and conditions.endswith(("：", ":")),
        "materials": materials,
        "legal_time_limit": _time_limit(r.get("handle_time")),
        "promised_time_limit": _time_limit(r.get("handle_time_limit")),
        "location": location,
        "consult_phone": clean_str(r.get("consult_phone")),
        "complaint_phone": clean_str(r.get("complain_phone")),
        "online_url": clean_str(r.get("URL")),
        "aliases": list(dict.fromkeys(aliases)),
        "service_objects": as_list(r.get("service_object_name")),
        "theme": as_list(r.get("theme_category")),
        "visit_number": clean_str(r.get("visit_number")),
        "co_department": clean_str(r.get("co_department")),
        "booking_url": clean_str(r.get("online_book_addr")),
        "platform": clean_str(r.get("bear_paltform")),
        "task_code": clean_str(r.get("TASK_CODE")),
        "updated": _crawl_date(r),
        "url": clean_str(r.get("URL")),
        "provenance": "广东政务服务网/广州政务服务网 (2021 crawl, Clarence-Kong/QABasedOnPolicyKnowledgeGraph, MIT)",
    }
    return {k: v for k, v in row.items() if v not in ("", [], None, False)}


def _filled(record: dict[str, Any]) -> int:
    return sum(1 for v in record.values() if clean_str(v))


def convert_guides(raw: Path) -> list[dict[str, Any]]:
    """All service items, de-duplicated by TASK_CODE (the fullest record wins), in input order."""
    path = raw / "gd_service_guides" / "policy.json"
    by_code: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        code = clean_str(rec.get("TASK_CODE")) or f"noid-{len(by_code)}"
        if not (clean_str(rec.get("matter_name")) or clean_str(rec.get("TASK_NAME"))):
            continue
        if code not in by_code or _filled(rec) > _filled(by_code[code]):
            by_code[code] = rec
    return [convert_guide(r) for r in by_code.values()]


# ---------------------------------------------------------------- 2. Guangzhou policy documents

_DOCNO = re.compile(r"^[^（(]*?(〔\d{4}〕\s*\d+\s*号|令\s*第\s*\d+\s*号)$")
_VALIDITY_YEARS = re.compile(r"(?:施行|实施)[^。]{0,12}有效期\s*(\d+|[一二三四五])\s*年")
_VALID_UNTIL = re.compile(r"有效期(?:调整)?至\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)")
_EFFECTIVE = re.compile(r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起\s*(?:施行|实施|执行)")
_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


@dataclass
class Capture:
    """A cleaned page capture from policy_sources/."""

    name: str
    title: str
    text: str
    norm: str


def _clean_md_capture(text: str) -> tuple[str, str]:
    """Web-to-markdown captures: drop link/image furniture, keep prose lines with enough Chinese."""
    title = ""
    m = re.search(r"^Title:\s*(.+)$", text, re.M)
    if m:
        title = re.split(r"\s+[-|_]\s+", m.group(1).strip())[0]
    body = text.split("Markdown Content:", 1)[-1]
    lines = []
    for line in body.splitlines():
        plain = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)
        links = sum(len(x) for x in re.findall(r"\[([^\]]*)\]\([^)]*\)", plain))
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", plain)
        plain = re.sub(r"^[#>*\-\s]+", "", plain).strip()
        cjk = len(re.findall(r"[\u4e00-\u9fff]", plain))
        if cjk >= 12 and links < 0.5 * max(len(plain), 1):
            lines.append(plain)
    return title, clean_lines("\n".join(lines))


def load_captures(folder: Path) -> list[Capture]:
    """Every capture in policy_sources/, cleaned to its main text."""
    caps = []
    for path in sorted(folder.iterdir()):
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            title, text = html_to_text(raw)
        elif path.suffix == ".md":
            title, text = _clean_md_capture(raw)
        else:
            title, text = path.stem, clean_lines(re.sub(r"===PAGE \d+===", "", raw))
        caps.append(Capture(path.name, title, text, strip_punct(text)))
    return caps


def _probes(norm: str, n: int = 8, width: int = 16) -> list[str]:
    if len(norm) < width * 2:
        return [norm] if norm else []
    step = max((len(norm) - width) // n, 1)
    return [norm[i : i + width] for i in range(0, len(norm) - width, step)][:n]


def _match_score(rec: dict[str, Any], cap: Capture) -> float:
    score = 0.0
    doc_no = clean_str(rec.get("doc_no"))
    head = cap.norm[:600]
    # a document's own 文号 is printed at its top; later mentions are citations of other documents
    if _DOCNO.match(doc_no) and strip_punct(doc_no) in cap.norm[:80]:
        score += 20
    if cap.name.endswith(".md"):  # web-to-markdown captures are noisier than the HTML ones
        score -= 1.5
    title = strip_punct(clean_str(rec.get("title")))
    if title and (title in strip_punct(cap.title) or title in head):
        score += 5
    probes = _probes(strip_punct(clean_str(rec.get("original_text"))))
    if probes:
        score += 8 * sum(p in cap.norm for p in probes) / len(probes)
    return score


def _region(rec: dict[str, Any]) -> str:
    title, issuer = clean_str(rec.get("title")), clean_str(rec.get("source"))
    if issuer == "国务院":
        return "全国"
    if "天河区" in title or issuer.startswith("广州市天河区"):
        return "天河区"
    if issuer.startswith("广东省") or title.startswith("广东"):
        return "广东省"
    return "广州市"


def _validity(text: str, publish: str) -> tuple[str, str, str]:
    """(effective_date, expiry_date, validity note) from the 附则 wording, when stated."""
    effective = ""
    m = _EFFECTIVE.search(text)
    if m:
        effective = normalize_date(m.group(1))
    elif re.search(r"自(印发|发布|公布)之日起(施行|实施)", text):
        effective = publish
    until = _VALID_UNTIL.search(text)
    if until:
        return effective, normalize_date(until.group(1)), until.group(0)
    years = _VALIDITY_YEARS.search(text)
    start = effective or publish
    if years and start:
        n = int(_CN_NUM.get(years.group(1), 0) or years.group(1))
        d = dt.date.fromisoformat(start)
        try:
            end = d.replace(year=d.year + n)
        except ValueError:  # 29 February
            end = d.replace(year=d.year + n, day=28)
        return effective, (end - dt.timedelta(days=1)).isoformat(), f"有效期{n}年"
    return effective, "", ""


def _policy_md(meta: dict[str, Any], title: str, body: str) -> str:
    return _front_matter(meta) + f"\n# {title}\n\n" + body.strip() + "\n"


def _paragraphs(text: str) -> str:
    """One paragraph per line → blank-line separated Markdown paragraphs (tables stay contiguous)."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("|") and out and out[-1].startswith("|"):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return "\n\n".join(out)


def convert_policies(raw: Path) -> dict[str, str]:
    """documents.json records (+ full text from matching captures) and substantive unmatched captures."""
    folder = raw / "gz_policy_docs"
    records = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    caps = load_captures(folder / "policy_sources") if (folder / "policy_sources").is_dir() else []
    out: dict[str, str] = {}
    used: set[str] = set()
    kept_norms: list[str] = []
    for rec in records:
        scored = sorted(((_match_score(rec, c), c.name, c) for c in caps), key=lambda t: (-t[0], t[1]))
        cap = scored[0][2] if scored and scored[0][0] >= 4 else None
        original = clean_lines(clean_str(rec.get("original_text")))
        text, text_from = original, "documents.json"
        if cap is not None:
            used.add(cap.name)
            if len(cap.text) > len(original):
                text, text_from = cap.text, f"policy_sources/{cap.name}"
        publish = normalize_date(rec.get("publish_date"))
        effective, expiry, note = _validity(text, publish)
        doc_no = clean_str(rec.get("doc_no"))
        is_no = bool(_DOCNO.match(doc_no)) and "依据" not in doc_no
        issuer = re.sub(r"（.*?）|\(.*?\)", "", clean_str(rec.get("source"))).strip()
        doc_id = f"gz-{clean_str(rec.get('id')).replace('_', '-')}"
        meta = {
            "id": doc_id,
            "title": clean_str(rec.get("title")),
            "type": "policy",
            "doc_number": doc_no if is_no else "",
            "label": "" if is_no else doc_no,
            "issuer": issuer,
            "publisher": clean_str(rec.get("source")) if clean_str(rec.get("source")) != issuer else "",
            "department": re.split(r"[、，,]", issuer)[0],
            "region": _region(rec),
            "publish_date": publish,
            "effective_date": effective,
            "expiry_date": expiry,
            "validity": note,
            "status": "现行有效",
            "url": clean_str(rec.get("source_url")),
            "text_source": text_from,
            "provenance": "shizelengleng/ai-zhengce-tong data/documents.json (official page text; upstream remark omitted)",
        }
        out[f"{doc_id}_{_slug(meta['title'], 40)}.md"] = _policy_md(meta, meta["title"], _paragraphs(text))
        kept_norms.append(strip_punct(text))
    for cap in caps:
        if cap.name in used or not _substantive(cap, kept_norms):
            continue
        kept_norms.append(cap.norm)
        out.update(_capture_policy(cap))
    return out


def _substantive(cap: Capture, kept: list[str]) -> bool:
    """Enough prose, not a listing page, and not a near-copy of a document already kept."""
    lines = cap.text.splitlines()
    if len(cap.norm) < 300 or not lines:
        return False
    short = sum(1 for ln in lines if len(ln) < 25 or re.fullmatch(r"[\d\-\s\]\[]+", ln))
    if short / len(lines) > 0.6:
        return False
    probes = _probes(cap.norm)
    return not any(sum(p in k for p in probes) >= len(probes) * 0.6 for k in kept)


def _capture_policy(cap: Capture) -> dict[str, str]:
    stem = Path(cap.name).stem
    doc_no = ""
    for line in cap.text.splitlines()[:5]:
        if re.fullmatch(r"[\u4e00-\u9fff]{2,12}〔\d{4}〕\d+号|广州市人民政府令第\d+号", line.strip()):
            doc_no = line.strip()
            break
    title = cap.title
    lines = cap.text.splitlines()
    if not title or title.endswith(("政府信息公开", "网站", "门户")):
        title = next((ln for ln in lines[:6] if ("关于" in ln or "办法" in ln) and len(ln) <= 80), stem)
    # signature lines ("2021年12月1日", "…2021年12月6日印发") date the document; dates in prose do not
    sig = re.compile(r"(?:^|\s)(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)(?:印发)?$")
    dates = [normalize_date(m.group(1)) for ln in lines if (m := sig.search(ln.strip())) and len(ln) <= 40]
    publish = min((d for d in dates if d), default="")
    effective, expiry, note = _validity(cap.text, publish)
    doc_id = f"gz-src-{_slug(stem, 40)}"
    meta = {
        "id": doc_id,
        "title": title,
        "type": "policy",
        "doc_number": doc_no,
        "region": "天河区" if "天河" in title else "广州市",
        "publish_date": publish,
        "effective_date": effective,
        "expiry_date": expiry,
        "validity": note,
        "status": "现行有效",
        "text_source": f"policy_sources/{cap.name}",
        "provenance": "shizelengleng/ai-zhengce-tong docs/policy_sources (raw official page capture, cleaned)",
    }
    return {f"{doc_id}.md": _policy_md(meta, title, _paragraphs(cap.text))}


# ---------------------------------------------------------------- 3. laws and regulations

_INFO_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_LING = re.compile(r"((?:中华人民共和国)?[\u4e00-\u9fff]{2,20}?令\s*第\s*\d+\s*号)")


def _issuer(lines: list[str]) -> str:
    for line in lines:
        if m := re.search(r"([\u4e00-\u9fff]{2,20}?)令\s*第\s*\d+\s*号", line):
            return re.sub(r"^中华人民共和国", "", m.group(1))
        if "全国人民代表大会常务委员会" in line:
            return "全国人民代表大会常务委员会"
        if "全国人民代表大会" in line:
            return "全国人民代表大会"
        if m := re.search(r"(北京市)第[^届]{1,6}届人民代表大会(常务委员会)?", line):
            return "北京市人民代表大会" + (m.group(2) or "")
        if m := re.search(r"(国务院)第\d+次常务会议", line):
            return "国务院"
        if m := re.search(r"(?:经)?([\u4e00-\u9fff]{2,20}?部)第\d+次部务会议", line):
            return m.group(1)
        if m := re.search(r"(北京市人民政府)", line):
            return m.group(1)
    return ""


def convert_law(path: Path, group: str) -> tuple[str, str]:
    """One LawRefBook Markdown file → (output file name, Markdown with front matter)."""
    text = re.sub("[\u200b\u200c\u200d\ufeff]", "", path.read_text(encoding="utf-8"))
    head, _, body = text.partition("<!-- INFO END -->")
    if not body:
        head, body = "", text
    title = next((ln[2:].strip() for ln in head.splitlines() if ln.startswith("# ")), "")
    if not title:
        m = re.search(r"^# (.+)$", body, re.M)
        title = m.group(1).strip() if m else path.stem
    info = [ln.strip().rstrip("）)　 ") for ln in head.splitlines() if _INFO_DATE.search(ln)]
    promulgation = [ln for ln in info if not re.search(r"\d日\s*施行$", ln)]
    dates = [normalize_date(ln) for ln in promulgation]
    name_date = normalize_date(m.group(1)) if (m := re.search(r"\((\d{4}-\d{2}-\d{2})\)", path.stem)) else ""
    publish = max([d for d in dates if d] + ([name_date] if name_date else []), default="")
    effective = next((normalize_date(ln) for ln in info if re.search(r"\d日\s*施行$", ln)), "") or publish
    lings = [m.group(1) for ln in promulgation if (m := _LING.search(ln))]
    stem = re.sub(r"\(\d{4}-\d{2}-\d{2}\)$", "", path.stem)
    region = "北京市" if group == "beijing" else "全国"
    short = re.sub(r"^中华人民共和国", "", title)
    meta = {
        "id": f"law-{'bj' if group == 'beijing' else 'cn'}-{_slug(stem)}",
        "title": title,
        "type": "law",
        "doc_number": re.sub(r"^中华人民共和国", "", lings[-1]).replace(" ", "") if lings else "",
        "issuer": _issuer(promulgation),
        "region": region,
        "publish_date": publish,
        "effective_date": effective,
        "status": "现行有效",
        "aliases": [short] if short != title else [],
        "history": info,
        "category": path.parent.name if group == "national" else "北京市地方性法规",
        "provenance": "LawRefBook/Laws (国家法律法规数据库 flk.npc.gov.cn)",
    }
    return f"{_slug(stem)}.md", _front_matter(meta) + f"\n# {title}\n\n" + body.strip() + "\n"


def convert_laws(raw: Path) -> dict[str, str]:
    """national/ and beijing/ laws → {relative output path: Markdown}."""
    out: dict[str, str] = {}
    base = raw / "regulations_lawrefbook"
    for group in ("national", "beijing"):
        folder = base / group
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.md")):
            name, md = convert_law(path, group)
            out[f"{group}/{name}"] = md
    return out


# ---------------------------------------------------------------- 4. Beijing dev passages as FAQ rows


def passage_title(text: str, limit: int = 30) -> str:
    """A short title: the first sentence (or clause) of the answer, list numbering removed."""
    text = re.sub(r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[、.．)）]\s*)", "", text.strip())
    first = re.split(r"[。！？!?；;\n]", text, maxsplit=1)[0].strip()
    if len(first) > limit:
        first = re.split(r"[，,：:]", first, maxsplit=1)[0].strip()
    return (first[:limit] or text[:limit]).strip()


def convert_passages(dev: Path) -> list[dict[str, Any]]:
    """Passages → FAQ rows; the question stays empty so that dev questions never enter the index."""
    rows = []
    for line in (dev / "beijing_passages_dev.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        p = json.loads(line)
        rows.append(
            {
                "id": p["id"],
                "title": passage_title(p["text"]),
                "question": "",
                "answer": p["text"],
                "department": clean_str(p.get("department")),
                "region": "北京市",
                "provenance": "Beijing government-department official Q&A knowledge base (dev split)",
            }
        )
    return rows


# ---------------------------------------------------------------- driver


def convert(raw: Path | None, dev: Path | None, out: Path) -> dict[str, int]:
    """Write every converted file under ``out``; returns counts per group. Missing inputs are skipped."""
    counts: dict[str, int] = {}
    if raw is not None and (raw / "gd_service_guides" / "policy.json").is_file():
        guides = convert_guides(raw)
        _write(out / "guides" / "gd_service_guides.jsonl", _jsonl(guides))
        counts["guides"] = len(guides)
    if raw is not None and (raw / "gz_policy_docs" / "documents.json").is_file():
        policies = convert_policies(raw)
        for name, md in sorted(policies.items()):
            _write(out / "policies" / name, md)
        counts["policies"] = len(policies)
    if raw is not None and (raw / "regulations_lawrefbook").is_dir():
        laws = convert_laws(raw)
        for name, md in sorted(laws.items()):
            _write(out / "laws" / name, md)
        counts["laws"] = len(laws)
    if dev is not None and (dev / "beijing_passages_dev.jsonl").is_file():
        rows = convert_passages(dev)
        _write(out / "faq" / "beijing_dev_passages.jsonl", _jsonl(rows))
        counts["faq"] = len(rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--raw", type=Path, default=None, help="knowledge_raw folder")
    ap.add_argument("--dev", type=Path, default=None, help="dev folder (beijing_passages_dev.jsonl)")
    ap.add_argument("--out", type=Path, default=Path("knowledge"))
    args = ap.parse_args(argv)
    counts = convert(args.raw, args.dev, args.out)
    if not counts:
        print("nothing converted: check --raw / --dev", file=sys.stderr)
        return 1
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
