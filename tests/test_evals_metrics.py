"""Every evaluation metric on small hand-computed examples (evals/metrics.py and the runner's aggregation)."""

from __future__ import annotations

import json
import math
import random

import pytest

from assistant.types import Answer, Chunk, Citation, Handoff, Hit
from evals import metrics as m
from evals.dataset import EvalRow
from evals.runner import score_answer, summarize

# --- retrieval -------------------------------------------------------------------------------------


def test_collapse_keeps_best_chunk_rank_of_each_document():
    hits = ["a", "a", "b", "a", "c", "b", "d"]
    assert m.collapse_doc_ids(hits) == ["a", "b", "c", "d"]
    assert m.collapse_doc_ids(hits, limit=2) == ["a", "b"]
    assert m.collapse_doc_ids(str(i) for i in range(30)) == [str(i) for i in range(10)]


def test_gold_rank_is_best_gold_document():
    assert m.gold_rank(["x", "g2", "g1"], ["g1", "g2"]) == 2
    assert m.gold_rank(["x", "y"], ["g"]) is None
    assert m.gold_rank([], ["g"]) is None


def test_hit_at_k():
    ranked = ["x", "y", "g", "z"]
    assert m.hit_at_k(ranked, ["g"], 1) == 0.0
    assert m.hit_at_k(ranked, ["g"], 2) == 0.0
    assert m.hit_at_k(ranked, ["g"], 3) == 1.0
    assert m.hit_at_k(ranked, ["g"], 10) == 1.0


def test_reciprocal_rank_only_counts_first_k():
    assert m.reciprocal_rank(["x", "g"], ["g"]) == 0.5
    assert m.reciprocal_rank(["g"], ["g"]) == 1.0
    ranked = [f"x{i}" for i in range(10)] + ["g"]
    assert m.reciprocal_rank(ranked, ["g"], 10) == 0.0


def test_ndcg_single_and_multiple_gold():
    # one gold at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1
    assert m.ndcg_at_k(["x", "y", "g"], ["g"]) == pytest.approx(0.5)
    # two gold at ranks 1 and 3: DCG = 1 + 0.5; IDCG = 1 + 1/log2(3)
    assert m.ndcg_at_k(["g1", "y", "g2"], ["g1", "g2"]) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # both gold on top: perfect
    assert m.ndcg_at_k(["g2", "g1", "x"], ["g1", "g2"]) == pytest.approx(1.0)
    assert m.ndcg_at_k(["x"], ["g"]) == 0.0


def test_aggregate_retrieval_ignores_rows_without_gold_and_is_none_when_empty():
    rows = [(["g", "x"], ["g"]), (["x", "g"], ["g"]), (["x", "y"], ["g"]), (["a"], [])]
    agg = m.aggregate_retrieval(rows)
    assert agg["hit@1"] == pytest.approx(1 / 3)
    assert agg["hit@5"] == pytest.approx(2 / 3)
    assert agg["hit@10"] == pytest.approx(2 / 3)
    assert agg["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert agg["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3)) / 3)
    assert m.aggregate_retrieval([(["a"], [])]) == dict.fromkeys(m.RETRIEVAL_KEYS)


def test_hit_curve():
    assert m.hit_curve([1, 3, None, 10], max_k=10) == [0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.75]
    assert m.hit_curve([]) == []


# --- answer overlap --------------------------------------------------------------------------------


def test_char_f1_hand_computed():
    # pred 可以办理 (4 chars), ref 可以 (2 chars): common 2 → P=0.5, R=1 → F1=2/3
    assert m.char_f1("可以办理。", "可以") == pytest.approx(2 / 3)
    assert m.char_f1("可以，办理！", "可以办理") == pytest.approx(1.0)  # punctuation ignored
    assert m.char_f1("不行", "可以") == 0.0
    assert m.char_f1("", "可以") == 0.0
    # bag of characters: order does not matter
    assert m.char_f1("以可", "可以") == pytest.approx(1.0)
    # citation markers are not content
    assert m.char_f1("可以[1]", "可以") == pytest.approx(1.0)


def test_rouge_l_hand_computed():
    # LCS(ABCBDAB, BDCABA) = 4 → P = 4/7, R = 4/6
    p, r = 4 / 7, 4 / 6
    assert m.rouge_l("ABCBDAB", "BDCABA") == pytest.approx(2 * p * r / (p + r))
    assert m.rouge_l("以可", "可以") == pytest.approx(0.5)  # order matters, unlike char_f1
    assert m.rouge_l("", "可以") == 0.0
    assert m.rouge_l("可以，办理", "可以办理") == pytest.approx(1.0)


def _lcs_dp(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if ca == cb else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def test_bit_parallel_lcs_matches_dynamic_programming():
    rng = random.Random(7)
    for _ in range(200):
        a = "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(0, 30)))
        b = "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(0, 30)))
        assert m.lcs_length(a, b) == _lcs_dp(a, b)


# --- grounding -------------------------------------------------------------------------------------


def test_bigram_support_and_grounded_counts():
    source = "申请人须携带身份证原件到窗口办理。"
    assert m.bigram_support("携带身份证原件", source) == pytest.approx(1.0)
    # 身份证复印件: bigrams 身份 份证 证复 复印 印件 → 2 of 5 in source
    assert m.bigram_support("身份证复印件", source) == pytest.approx(2 / 5)
    answer = "请携带身份证原件[1]。到窗口办理。需缴纳工本费二十元。可以。"
    # 可以 is too short to count; 3 sentences checked, the fee sentence is unsupported
    assert m.grounded_counts(answer, [source]) == (2, 3)
    assert m.grounded_counts("", [source]) == (0, 0)


# --- aggregation helpers ---------------------------------------------------------------------------


def test_percentile_linear_interpolation():
    vals = [10.0, 20.0, 30.0, 40.0]
    assert m.percentile(vals, 50) == pytest.approx(25.0)
    assert m.percentile(vals, 95) == pytest.approx(38.5)
    assert m.percentile([5.0], 95) == 5.0
    assert m.percentile([], 50) is None


def test_latency_summary_per_stage():
    out = m.latency_summary([10.0, 30.0], [{"retrieve_ms": 4.0, "answer_ms": 1.0}, {"retrieve_ms": 8.0}])
    assert out["p50_ms"] == 20.0
    assert out["stages"]["retrieve_ms"] == {"p50_ms": 6.0, "p95_ms": 7.8}
    assert out["stages"]["answer_ms"] == {"p50_ms": 1.0, "p95_ms": 1.0}


def test_mean_and_rate_are_none_not_zero_when_empty():
    assert m.mean([]) is None
    assert m.rate([]) is None
    assert m.rate([True, False, True, True]) == 0.75


# --- answer-mode scoring and summary ---------------------------------------------------------------


def _hit(doc_id: str, text: str) -> Hit:
    return Hit(chunk=Chunk(id=f"{doc_id}#0", doc_id=doc_id, text=text, title=doc_id), score=1.0)


def _answered(text: str, cite: str, source: str, hits: list[str]) -> Answer:
    cit = Citation(n=1, doc_id=cite, chunk_id=f"{cite}#0", title=cite, snippet=source[:6])
    return Answer(
        text=text,
        answered_by="extractive",
        citations=[cit],
        hits=[_hit(d, source if d == cite else "无关内容") for d in hits],
        timings={"retrieve_ms": 3.0},
    )


def _handoff() -> Answer:
    return Answer(
        text="请拨打12345。",
        answered_by="handoff",
        handoff=Handoff(reason="individual_case", message="请拨打12345。"),
    )


def test_answer_and_handoff_summary_hand_computed():
    src = "申请人须携带身份证原件到窗口办理。"
    rows = [
        EvalRow(id="q1", question="带什么", dataset="d", reference="携带身份证原件", gold=["g1"]),
        EvalRow(id="q2", question="在哪办", dataset="d", reference="到窗口办理", gold=["g2"]),
        EvalRow(id="q3", question="投诉", dataset="d", should_handoff=True),
        EvalRow(id="q4", question="个案", dataset="d", should_handoff=True),
    ]
    answers = [
        _answered("携带身份证原件[1]。", "g1", src, ["g1", "x"]),  # exact, cites gold, gold rank 1
        _answered(
            "需缴纳工本费二十元[1]。", "x", src, ["x", "y", "g2"]
        ),  # wrong, not gold, rank 3, ungrounded
        _handoff(),
        _answered("已转交相关部门处理[1]。", "x", src, ["x"]),  # should have handed off
    ]
    records = []
    for row, ans in zip(rows, answers, strict=True):
        rec = {
            "id": row.id,
            "dataset": row.dataset,
            "question": row.question,
            "department": "",
            "type": "",
            "expected": row.reference,
            "should_handoff": row.should_handoff,
            "history_turns": 0,
            "gold": row.gold,
            **score_answer(row, ans),
            "error": None,
            "latency_ms": 10.0,
        }
        records.append(rec)
    assert records[0]["char_f1"] == pytest.approx(1.0)
    assert records[1]["char_f1"] == 0.0
    assert records[1]["gold_rank"] == 3
    report = summarize(records, "answer", config={}, started_at="t", duration_s=1.0)
    ans = report["answer"]
    assert ans["char_f1"] == pytest.approx(0.5)  # (1 + 0) / 2 rows with a reference
    assert ans["citation_recall"] == pytest.approx(0.5)  # 1 of 2 answered rows with gold cite a gold doc
    assert ans["primary_citation_accuracy"] == pytest.approx(0.5)  # q1's [1] is gold, q2's is not
    assert ans["citation_precision"] == pytest.approx(0.5)  # q1: 1 of 1 cited docs gold, q2: 0 of 1
    assert ans["answered_rate"] == pytest.approx(0.75)
    assert ans["grounded_rate"] == pytest.approx(1 / 3)  # 3 answered sentences, only q1's supported
    assert report["handoff"] == {"handoff_recall": 0.5, "false_handoff_rate": 0.0}
    assert report["retrieval"]["hit@1"] == pytest.approx(0.5)
    assert report["retrieval"]["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert report["retrieval_details"]["source"] == "answer.hits"
    assert report["latency"]["stages"]["retrieve_ms"]["p50_ms"] == 3.0
    # the worst row is the one that should have been handed off but was answered, or the wrong answer
    assert {w["id"] for w in report["worst"][:2]} == {"q2", "q4"}
    assert report["llm_judge"] == {"skipped": "no LLM endpoint configured"}


def test_unanswered_row_scores_zero_char_f1():
    row = EvalRow(id="q", question="问", dataset="d", reference="可以办理")
    rec = score_answer(row, _handoff())
    assert rec["answered"] is False and rec["declined"] is True
    assert rec["char_f1"] == 0.0 and rec["rouge_l"] == 0.0
    assert rec["grounded_sentences"] is None


# --- optional LLM judge (scripted judge; one loopback OpenAI-compatible server) ----------------------


def test_judge_faithfulness_and_relevancy_with_scripted_judge():
    import numpy as np

    from evals import judge

    replies = {
        "事实核查": '好的：```json\n{"statements": [{"statement": "a", "supported": 1}, '
        '{"statement": "b", "supported": 0}]}\n```',
        "市民问题": '{"questions": ["问题一", "问题二"], "noncommittal": 0}',
    }

    def chat(prompt: str) -> str:
        return next(v for k, v in replies.items() if k in prompt)

    def embed(texts: list[str]) -> np.ndarray:
        # the real question and 问题一 point the same way, 问题二 is orthogonal → mean cosine 0.5
        table = {"原问题": [1.0, 0.0], "问题一": [2.0, 0.0], "问题二": [0.0, 1.0]}
        return np.array([table[t] for t in texts])

    assert judge.faithfulness(chat, "回答", "资料") == 0.5
    assert judge.answer_relevancy(chat, embed, "原问题", "回答") == pytest.approx(0.5)
    records = [
        {"id": "q", "dataset": "d", "question": "原问题", "got": "回答", "answered": True},
        {"id": "r", "dataset": "d", "question": "原问题", "got": "", "answered": False},
    ]
    out = judge.judge_records(records, chat, embed, {"d/q": "资料"}, warn=lambda s: None)
    assert out == {"faithfulness": 0.5, "answer_relevancy": 0.5, "judged_rows": 1, "failures": 0}

    def evasive(prompt: str) -> str:
        return '{"questions": ["x"], "noncommittal": 1}'

    assert judge.answer_relevancy(evasive, embed, "原问题", "不清楚") == 0.0
    with pytest.raises(ValueError):
        judge.parse_json("no json here")


def test_judge_skipped_without_an_llm_and_judges_through_the_answerers_chat_model():
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    pytest.importorskip("langchain_openai")
    from assistant.config import Settings
    from evals import judge

    assert judge.run_judge([], Settings(), "answer", print) == {"skipped": "no LLM endpoint configured"}
    assert judge.run_judge([], Settings(), "retrieval", print) == {"skipped": "retrieval mode"}
    assert judge.run_judge([], Settings(llm={"provider": "fake"}), "answer", print)["skipped"]
    unknown = judge.run_judge([], Settings(llm={"provider": "nope", "model": "m"}), "answer", print)
    assert "unknown llm.provider 'nope'" in unknown["skipped"]
    seen: list[dict] = []
    replies = {
        "事实核查": '{"statements": [{"statement": "a", "supported": 1}, {"statement": "b", "supported": 0}]}',
        "市民问题": '{"questions": ["社保卡怎么补办"], "noncommittal": 0}',
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, **body})
            prompt = body["messages"][-1]["content"]
            content = next(v for k, v in replies.items() if k in prompt)
            reply = json.dumps(
                {
                    "id": "r",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    records = [{"id": "q", "dataset": "d", "question": "社保卡怎么补办", "got": "回答", "answered": True}]
    try:
        settings = Settings(
            llm={"model": "judge-model", "base_url": f"http://127.0.0.1:{server.server_port}/v1"},
            embedder={"name": "hash", "dim": 64},
        )
        out = judge.run_judge(records, settings, "answer", print, {"d/q": "资料"})
    finally:
        server.shutdown()
    # the generated question equals the real one: relevancy 1; one of two statements supported
    assert out == {
        "faithfulness": 0.5,
        "answer_relevancy": 1.0,
        "judged_rows": 1,
        "failures": 0,
        "model": "judge-model",
    }
    assert [r["path"] for r in seen] == ["/v1/chat/completions"] * 2
    assert all(r["model"] == "judge-model" and r["temperature"] == 0 for r in seen)
    assert "资料" in seen[0]["messages"][-1]["content"]


def test_latency_histogram_bins_clip_outliers_into_last_bin():
    from evals.report import histogram

    bins = histogram([1.0] * 98 + [2.0, 100.0], bins=4)
    assert [c for _, _, c in bins] == [0, 0, 98, 2]  # range 0..p99 = 2 ms; 100 ms lands in the last bin
    assert bins[-1][1] == 2.0
    assert histogram([]) == []


# --- citations, key facts, follow-ups and intents -------------------------------------------------------


def test_citation_recall_primary_and_precision_differ():
    cited = ["x", "g", "y", "g"]  # two citations of one gold document among three distinct ones
    assert m.citation_recall(cited, ["g"]) == 1.0
    assert m.primary_citation_hit(cited, ["g"]) == 0.0
    assert m.primary_citation_hit(["g", "x"], ["g"]) == 1.0
    assert m.citation_precision(cited, ["g"]) == pytest.approx(1 / 3)
    assert m.citation_precision([], ["g"]) is None
    assert m.citation_recall([], ["g"]) == 0.0


def test_key_fact_share_only_counts_the_first_window():
    facts = ["5个工作日", "020-12345"]
    early = "承诺时限：5个工作日[1]。咨询电话：020 12345。"
    assert m.key_fact_share(early, facts) == 1.0
    late = "办" * 196 + "5个工作日；咨询电话020-12345"  # the first fact straddles character 200
    assert m.key_fact_share(late, facts) == 0.0
    assert m.key_fact_share(late, facts, window=400) == 1.0
    assert m.key_fact_share("承诺时限：5个工作日", facts) == 0.5
    assert m.key_fact_share("任何回答", []) is None


def test_citation_markers_do_not_eat_the_key_fact_window():
    marks = "[1]" * 80  # 240 characters of markers before the fact
    assert m.key_fact_share(marks + "每月2250元", ["每月2250元"]) == 1.0


def _rec(**kw):
    base = {
        "id": "r",
        "dataset": "d",
        "question": "问",
        "error": None,
        "department": "",
        "type": "",
        "expected": "",
        "should_handoff": False,
        "history_turns": 0,
        "gold": [],
        "retrieved": [],
        "gold_rank": None,
        "mrr@10": 0.0,
        "answered": True,
        "declined": False,
        "clarified": False,
        "char_f1": None,
        "citation_hit": None,
        "primary_citation_hit": None,
        "citation_precision": None,
        "grounded_sentences": None,
        "latency_ms": 1.0,
        "intent": "",
        "got_intent": "",
    }
    for k, v in kw.items():
        base[k.replace("_at_", "@")] = v
    return base


def test_followup_hit_at_5_uses_only_rows_with_history():
    from evals.runner import followup_summary

    records = [
        _rec(history_turns=1, gold=["g"], retrieved=["a", "b", "c", "d", "g"]),
        _rec(history_turns=2, gold=["g"], retrieved=["a", "b", "c", "d", "e", "g"]),
        _rec(history_turns=0, gold=["g"], retrieved=["x"]),  # not a follow-up: ignored
    ]
    out = followup_summary(records)
    assert out["rows"] == 2
    assert out["hit@5"] == pytest.approx(0.5)
    assert out["hit@1"] == 0.0
    assert "skipped" in followup_summary(records[2:])


def test_intent_summary_needs_labels_and_exposed_intents():
    from evals.runner import intent_summary

    records = [
        _rec(intent="case", got_intent="case"),
        _rec(intent="case", got_intent="question"),
        _rec(intent="question", got_intent="question"),
        _rec(intent="complaint", got_intent="case"),
    ]
    out = intent_summary(records)
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["by_label"]["case"]["recall"] == pytest.approx(0.5)
    assert out["by_label"]["case"]["precision"] == pytest.approx(0.5)
    assert out["by_label"]["question"]["precision"] == pytest.approx(0.5)
    assert "skipped" in intent_summary([_rec(intent="case")])  # the answer exposes no intent
    assert "skipped" in intent_summary([_rec(got_intent="case")])  # the row has no label


def test_summary_reports_key_facts_and_a_breakdown_by_intent():
    records = [
        _rec(
            id="a",
            intent="question",
            key_facts_at_200=1.0,
            gold=["g"],
            retrieved=["g"],
            citation_hit=True,
            primary_citation_hit=1.0,
            citation_precision=1.0,
            grounded_sentences=[1, 1],
            got="x",
            answered_by="e",
            handoff_reason="",
            rouge_l=None,
            timings={},
        ),
        _rec(
            id="b",
            intent="case",
            should_handoff=True,
            answered=False,
            declined=True,
            key_facts_at_200=None,
            got="",
            answered_by="handoff",
            handoff_reason="individual_case",
            rouge_l=None,
            timings={},
        ),
        _rec(
            id="c",
            intent="question",
            key_facts_at_200=0.0,
            got="y",
            answered_by="e",
            handoff_reason="",
            rouge_l=None,
            timings={},
            grounded_sentences=[0, 1],
        ),
    ]
    report = summarize(records, "answer", config={}, started_at="t", duration_s=1.0)
    assert report["answer"]["key_facts@200"] == pytest.approx(0.5)
    by_intent = {r["intent"]: r for r in report["breakdown"]["by_intent"]}
    assert "by_aspect" not in report["breakdown"]  # no row says which aspect it asks
    assert by_intent["case"]["handoff_recall"] == 1.0
    assert by_intent["question"]["false_handoff_rate"] == 0.0
    assert report["intent"] == {
        "skipped": "the answers expose no intent (use --mode intent for the classifier alone)"
    }
