"""Pure evaluation metrics: document-level ranking, character-level answer overlap, grounding, percentiles.

Every function here is deterministic and side-effect free so that ``tests/test_evals_metrics.py`` can
check each one on hand-computed examples, and so that anyone can recompute the report's figures from
``per_question.jsonl`` with the same definitions (see ``evals/README.md``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from assistant.answering.grounding import bigrams as source_bigrams
from assistant.text import normalize, split_sentences, strip_punct

RETRIEVAL_KEYS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10")
MAX_RANK = 10  # ranks are counted over the first 10 distinct documents
_CITATION_MARK = re.compile(r"\[\d+\]|【\d+】")


# --- retrieval -------------------------------------------------------------------------------------


def collapse_doc_ids(doc_ids: Iterable[str], limit: int | None = MAX_RANK) -> list[str]:
    """Distinct document ids in first-seen order: chunks of one document collapse into one rank.

    ``doc_ids`` are the documents of the retrieved chunks in hit order, so a document's position is
    the rank of its best chunk.
    """
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in doc_ids:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        out.append(doc_id)
        if limit is not None and len(out) >= limit:
            break
    return out


def gold_rank(ranked: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the best-ranked gold document in ``ranked``, or None when none is there."""
    gold_set = set(gold)
    for i, doc_id in enumerate(ranked, start=1):
        if doc_id in gold_set:
            return i
    return None


def hit_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1.0 when any gold document is among the first ``k`` ranked documents, else 0.0."""
    rank = gold_rank(ranked[:k], gold)
    return 1.0 if rank is not None else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: Iterable[str], k: int = MAX_RANK) -> float:
    """1 / rank of the first gold document within the first ``k``; 0.0 when none is there."""
    rank = gold_rank(ranked[:k], gold)
    return 1.0 / rank if rank is not None else 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Iterable[str], k: int = MAX_RANK) -> float:
    """Binary-relevance nDCG@k: every gold document has gain 1, discount 1/log2(rank + 1).

    The ideal ranking puts min(#gold, k) gold documents first. Duplicates in ``ranked`` are ignored
    (pass a collapsed list).
    """
    gold_set = set(gold)
    if not gold_set:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(ranked[:k], start=1) if d in gold_set)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold_set), k) + 1))
    return dcg / ideal


def retrieval_scores(ranked: Sequence[str], gold: Iterable[str]) -> dict[str, float]:
    """All retrieval metrics of one question, keyed as in ``report.json``."""
    gold_list = list(gold)
    return {
        "hit@1": hit_at_k(ranked, gold_list, 1),
        "hit@5": hit_at_k(ranked, gold_list, 5),
        "hit@10": hit_at_k(ranked, gold_list, 10),
        "mrr@10": reciprocal_rank(ranked, gold_list, 10),
        "ndcg@10": ndcg_at_k(ranked, gold_list, 10),
    }


def aggregate_retrieval(rows: Iterable[tuple[Sequence[str], Sequence[str]]]) -> dict[str, float | None]:
    """Mean of each retrieval metric over (ranked, gold) pairs with non-empty gold; None when there are none."""
    totals = dict.fromkeys(RETRIEVAL_KEYS, 0.0)
    n = 0
    for ranked, gold in rows:
        if not gold:
            continue
        n += 1
        for key, value in retrieval_scores(ranked, gold).items():
            totals[key] += value
    return {key: (totals[key] / n if n else None) for key in RETRIEVAL_KEYS}


def hit_curve(ranks: Sequence[int | None], max_k: int = MAX_RANK) -> list[float]:
    """hit@k for k = 1..max_k from each question's gold rank (None: not found)."""
    if not ranks:
        return []
    return [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in range(1, max_k + 1)]


# --- answer overlap --------------------------------------------------------------------------------


def _chars(text: str) -> str:
    """Characters compared by the answer metrics: NFKC-normalised, citation markers, spaces and punctuation removed."""
    return strip_punct(_CITATION_MARK.sub("", normalize(text)))


def char_f1(prediction: str, reference: str) -> float:
    """Character-level F1 (bag of characters) after removing whitespace, punctuation and ``[n]`` markers."""
    pred, ref = _chars(prediction), _chars(reference)
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of two strings (bit-parallel, Hyyrö 2004).

    Each character of ``a`` is a bit; one pass over ``b`` with big-integer arithmetic replaces the
    O(len(a)·len(b)) table, which keeps ROUGE-L fast on 1,000-character answers in pure Python.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(prediction: str, reference: str) -> float:
    """Character-level ROUGE-L F1 (LCS-based, beta = 1) after the same cleaning as ``char_f1``."""
    pred, ref = _chars(prediction), _chars(reference)
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


# --- citations and key facts ------------------------------------------------------------------------


def citation_recall(cited: Sequence[str], gold: Iterable[str]) -> float:
    """1.0 when any gold document is among the cited ones (rises with more citations: a recall)."""
    gold_set = set(gold)
    return 1.0 if any(c in gold_set for c in cited) else 0.0


def primary_citation_hit(cited: Sequence[str], gold: Iterable[str]) -> float:
    """1.0 when the first citation ([1]) is a gold document."""
    return 1.0 if cited and cited[0] in set(gold) else 0.0


def citation_precision(cited: Sequence[str], gold: Iterable[str]) -> float | None:
    """Share of the distinct cited documents that are gold; None when nothing is cited."""
    distinct = collapse_doc_ids(cited, limit=None)
    if not distinct:
        return None
    gold_set = set(gold)
    return sum(1 for c in distinct if c in gold_set) / len(distinct)


KEY_FACT_WINDOW = 200


def key_fact_share(answer: str, facts: Sequence[str], window: int = KEY_FACT_WINDOW) -> float | None:
    """Share of the reference's key facts found in the answer's first ``window`` characters.

    The window is cut from the answer with its ``[n]`` markers removed (what a reader sees first);
    a fact counts when it occurs there after the ``char_f1`` cleaning (NFKC, no spaces or punctuation),
    so "020-12345" matches "020 12345". None when the row has no key facts.
    """
    cleaned = [_chars(f) for f in facts]
    cleaned = [f for f in cleaned if f]
    if not cleaned:
        return None
    head = _chars(_CITATION_MARK.sub("", normalize(answer or ""))[:window])
    return sum(1 for f in cleaned if f in head) / len(cleaned)


# --- grounding -------------------------------------------------------------------------------------


def bigrams(text: str) -> set[str]:
    """Character bigrams of the normalised text, as the answerer's grounding check counts them."""
    return source_bigrams(_CITATION_MARK.sub("", normalize(text)))


def bigram_support(sentence: str, support: str | set[str]) -> float:
    """Share of the sentence's character bigrams that also occur in the supporting text (0.0 for no bigrams)."""
    grams = bigrams(sentence)
    if not grams:
        return 0.0
    pool = support if isinstance(support, set) else bigrams(support)
    return len(grams & pool) / len(grams)


def answer_sentences(text: str, min_chars: int = 4) -> list[str]:
    """The sentences of an answer that make a claim: at least ``min_chars`` characters after cleaning."""
    return [s for s in split_sentences(_CITATION_MARK.sub("", text or "")) if len(_chars(s)) >= min_chars]


def grounded_counts(answer: str, cited_texts: Sequence[str], threshold: float = 0.8) -> tuple[int, int]:
    """(supported, total) answer sentences; a sentence is supported when ≥ ``threshold`` of its bigrams
    occur in the concatenated cited texts."""
    sentences = answer_sentences(answer)
    pool: set[str] = set()
    for text in cited_texts:
        pool |= bigrams(text)
    supported = sum(1 for s in sentences if bigram_support(s, pool) >= threshold)
    return supported, len(sentences)


# --- aggregation helpers ---------------------------------------------------------------------------


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values (never a silent 0)."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def rate(flags: Iterable[bool]) -> float | None:
    """Share of True values, or None for no values."""
    vals = list(flags)
    return sum(1 for f in vals if f) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(totals: Sequence[float], stages: Sequence[Mapping[str, float]] = ()) -> dict[str, object]:
    """``p50_ms``/``p95_ms`` of end-to-end latencies, plus the same per pipeline stage."""
    out: dict[str, object] = {
        "p50_ms": _round(percentile(totals, 50)),
        "p95_ms": _round(percentile(totals, 95)),
        "mean_ms": _round(mean(totals)),
    }
    by_stage: dict[str, list[float]] = {}
    for timing in stages:
        for stage, ms in timing.items():
            if isinstance(ms, int | float):
                by_stage.setdefault(stage, []).append(float(ms))
    out["stages"] = {
        stage: {"p50_ms": _round(percentile(v, 50)), "p95_ms": _round(percentile(v, 95))}
        for stage, v in sorted(by_stage.items())
    }
    return out


def _round(value: float | None, ndigits: int = 2) -> float | None:
    return None if value is None else round(value, ndigits)
