"""Calibrate when a question counts as asking for a curated answer (``curated.threshold`` etc.).

``python -m tools.calibrate_curated`` (``--markdown`` for the table in docs/curated.md) builds one
curated entry per row of ``evals/datasets/curated_paraphrases_dev.jsonl`` (Beijing dev questions and
colloquial dev questions, each with paraphrases we wrote) and runs the real matcher
(``assistant.curated.CuratedMatcher``, the configured embedder) over

- the entries' own questions and their paraphrases (should match, and match *their* entry), and
- negatives: every other Beijing dev question (incl. near-topic ones: same department, same passage,
  another aspect of the same item), the colloquial question / intent / follow-up sets, the
  out-of-scope set and the citizen posts (should match nothing).

It sweeps threshold × min_lexical and reports paraphrase recall, wrong-entry and false-catch counts.
Deterministic: no sampling.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import CuratedSettings, Settings
from assistant.curated import CuratedEntry, CuratedMatch, CuratedMatcher, MemoryCuratedSource
from assistant.curated.matcher import decide
from assistant.embedders import make_embedder

DATA = Path("evals/datasets")
THRESHOLDS = (0.86, 0.88, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96)
LEXICAL = (0.0, 0.2, 0.35, 0.5)
NEGATIVE_SETS = (
    "beijing_qa_dev.jsonl",
    "colloquial_qa_dev.jsonl",
    "colloquial_qa_train.jsonl",
    "colloquial_intent_dev.jsonl",
    "colloquial_followup_dev.jsonl",
    "out_of_scope.jsonl",
    "citizen_messages_dev.jsonl",
)


@dataclass
class Probe:
    """One question run through the matcher: what it should match ("" = nothing) and the candidates."""

    text: str
    expected: str
    kind: str  # original | paraphrase | negative:<set>
    candidates: list[CuratedMatch]
    same_answer: frozenset[str] = frozenset()  # entries whose official answer this question shares


def _answer_key(row: dict[str, Any]) -> frozenset[str]:
    """What identifies a row's official answer: its gold passages (+ the aspect asked, colloquial sets)."""
    aspect = row.get("aspect", "")
    return frozenset(f"{g}|{aspect}" for g in row.get("gold_passage_ids") or [])


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_probes(data: Path, settings: Settings) -> list[Probe]:
    rows = _read(data / "curated_paraphrases_dev.jsonl")
    entries = [CuratedEntry(id=r["id"], questions=[r["question"]], answer="…") for r in rows]
    matcher = CuratedMatcher(make_embedder(settings.embedder), MemoryCuratedSource(entries), settings.curated)
    matcher.warm_up()
    used = {r["question"] for r in rows} | {r["source_id"] for r in rows}
    originals = {}
    for name in ("beijing_qa_dev.jsonl", "colloquial_qa_dev.jsonl"):
        originals.update({r["id"]: r for r in _read(data / name)})
    keys = {r["id"]: _answer_key(originals.get(r["source_id"], {})) for r in rows}
    probes: list[Probe] = []
    for r in rows:
        probes.append(Probe(r["question"], r["id"], "original", matcher.candidates(r["question"], None)[:2]))
        for p in r["paraphrases"]:
            probes.append(Probe(p, r["id"], "paraphrase", matcher.candidates(p, None)[:2]))
    for name in NEGATIVE_SETS:
        for r in _read(data / name):
            q = r["question"]
            if q in used or r.get("id") in used:
                continue
            key = _answer_key(r)
            same = frozenset(e for e, k in keys.items() if k & key)
            kind = f"negative:{name.removesuffix('.jsonl')}"
            probes.append(Probe(q, "", kind, matcher.candidates(q, None)[:2], same))
    return probes


def sweep(probes: list[Probe], margin: float = 0.0) -> list[dict[str, Any]]:
    """One row per (threshold, min_lexical): recall of originals and paraphrases, wrong and false catches."""
    out = []
    for lex in LEXICAL:
        for t in THRESHOLDS:
            s = CuratedSettings(threshold=t, min_lexical=lex, margin=margin)
            got = [(p, decide(p.text, p.candidates, s)) for p in probes]
            para = [(p, m) for p, m in got if p.kind == "paraphrase"]
            orig = [(p, m) for p, m in got if p.kind == "original"]
            neg = [(p, m) for p, m in got if p.kind.startswith("negative")]
            out.append(
                {
                    "threshold": t,
                    "min_lexical": lex,
                    "original_recall": round(
                        sum(m is not None and m.entry.id == p.expected for p, m in orig) / len(orig), 3
                    ),
                    "paraphrase_recall": round(
                        sum(m is not None and m.entry.id == p.expected for p, m in para) / len(para), 3
                    ),
                    "paraphrase_wrong_entry": sum(
                        m is not None and m.entry.id != p.expected for p, m in para
                    ),
                    "false_catch": sum(m is not None and m.entry.id not in p.same_answer for p, m in neg),
                    "same_answer_caught": sum(m is not None and m.entry.id in p.same_answer for p, m in neg),
                    "same_answer": sum(bool(p.same_answer) for p, _ in neg),
                    "negatives": len(neg),
                    "caught": [
                        f"{p.text[:30]} → {m.variant[:30]} ({m.score:.3f}/{m.lexical:.2f})"
                        for p, m in neg
                        if m and m.entry.id not in p.same_answer
                    ][:8],
                }
            )
    return out


def markdown(rows: list[dict[str, Any]], n_para: int, n_neg: int) -> str:
    lines = [
        f"| threshold | min_lexical | original recall | paraphrase recall ({n_para}) | wrong entry | false catch ({n_neg}) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['threshold']:.2f} | {r['min_lexical']:.2f} | {r['original_recall']:.3f} | {r['paraphrase_recall']:.3f}"
            f" | {r['paraphrase_wrong_entry']} | {r['false_catch']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.calibrate_curated", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--markdown", action="store_true", help="print the trade-off table as Markdown")
    ap.add_argument("--margin", type=float, default=0.0)
    ap.add_argument(
        "--probes", type=Path, default=None, help="cache the matcher's candidates here (re-sweeps)"
    )
    args = ap.parse_args(argv)
    settings = Settings()
    t0 = time.perf_counter()
    if args.probes and args.probes.is_file():
        probes = pickle.loads(args.probes.read_bytes())  # noqa: S301 - a file this command wrote
    else:
        probes = build_probes(args.data, settings)
        if args.probes:
            args.probes.write_bytes(pickle.dumps(probes))
    rows = sweep(probes, args.margin)
    n_para = sum(p.kind == "paraphrase" for p in probes)
    n_neg = sum(p.kind.startswith("negative") for p in probes)
    if args.markdown:
        print(markdown(rows, n_para, n_neg))
    else:
        print(
            json.dumps(
                {
                    "embedder": settings.embedder.name,
                    "adapter": settings.embedder.adapter,
                    "probes": len(probes),
                    "seconds": round(time.perf_counter() - t0, 1),
                    "sweep": rows,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
