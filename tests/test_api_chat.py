"""Every endpoint through the real app and a real Assistant (hash embedder, index built in tmp)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from _api_support import GUIDE_URL, parse_sse
from fastapi.testclient import TestClient

PASSPORT_Q = "办理普通护照需要什么材料？"


def _chat(api_client: TestClient, **body: object) -> dict:
    r = api_client.post("/v1/chat", json={"question": PASSPORT_Q, **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_chat_answers_with_citations_and_ids(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": PASSPORT_Q})
    assert r.status_code == 200
    data = r.json()
    assert data["answer"] and data["citations"], data
    assert {"doc_id", "title", "snippet", "url", "n"} <= set(data["citations"][0])
    assert any(c["doc_id"] == "guide-passport" for c in data["citations"])
    assert data["answered_by"] and isinstance(data["timings"], dict) and "server_ms" in data["timings"]
    assert len(data["session_id"]) >= 8 and data["request_id"] == r.headers["x-request-id"]
    for key in ("card", "handoff", "clarify"):
        assert key in data


def test_follow_up_without_a_topic_of_its_own_stays_on_the_cited_guide(api_client: TestClient) -> None:
    """issue 14: "交上去以后多久能拿到？" names no topic; the session's cited guide answers it (the stored
    exchange's citations reach the pipeline as ``Turn.doc_ids``), on the kiosk channel too."""
    permit = _chat(api_client, question="居住证怎么办理？")
    later = _chat(
        api_client, question="交上去以后多久能拿到？", session_id=permit["session_id"], channel="kiosk"
    )
    assert later["answered_by"] == "extractive"
    assert later["citations"][0]["doc_id"] == permit["citations"][0]["doc_id"] == "guide-residence"


def test_client_request_id_is_echoed_as_correlation_id(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": PASSPORT_Q}, headers={"X-Request-ID": "portal-42.a"})
    assert r.headers["x-request-id"] == "portal-42.a"
    assert r.json()["request_id"] != "portal-42.a"  # the server owns exchange ids


def test_follow_up_uses_and_extends_the_session(api_client: TestClient) -> None:
    first = _chat(api_client)
    second = _chat(api_client, question="要多久能办好？", session_id=first["session_id"])
    assert second["session_id"] == first["session_id"]
    s = api_client.get(f"/v1/sessions/{first['session_id']}").json()
    assert [t["role"] for t in s["turns"]] == ["user", "assistant"] * 2
    assert s["turns"][0]["content"] == PASSPORT_Q and s["turns"][2]["content"] == "要多久能办好？"
    assert [e["request_id"] for e in s["exchanges"]] == [first["request_id"], second["request_id"]]

    # the session's history changes the answer: the follow-up is about the topic asked before
    permit = _chat(api_client, question="居住证怎么办理？")
    follow_up = _chat(api_client, question="要多久能办好？", session_id=permit["session_id"])
    alone = _chat(api_client, question="要多久能办好？")
    assert follow_up["answer"] != alone["answer"]
    assert (
        follow_up["citations"][0]["doc_id"]
        == permit["citations"][0]["doc_id"]
        != alone["citations"][0]["doc_id"]
    )


def test_personal_data_is_masked_in_stored_history(api_client: TestClient) -> None:
    data = _chat(api_client, question="我的手机号13812345678，办护照要什么材料")
    stored = api_client.get(f"/v1/sessions/{data['session_id']}").json()["turns"][0]["content"]
    assert "13812345678" not in stored and "138" in stored


def test_kiosk_channel_is_compact_with_qr_links(api_client: TestClient) -> None:
    full = _chat(api_client, channel="web")
    kiosk = _chat(api_client, channel="kiosk")
    assert len(kiosk["answer"]) <= 120
    assert kiosk["full_answer"] == full["answer"]
    assert kiosk["qr"], kiosk
    urls = [q["url"] for q in kiosk["qr"]]
    assert GUIDE_URL in urls
    svg = api_client.get(kiosk["qr"][0]["svg"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg") and unquote(kiosk["qr"][0]["svg"]).endswith(
        kiosk["qr"][0]["url"]
    )


def test_qr_refuses_non_http_urls(api_client: TestClient) -> None:
    r = api_client.get("/v1/qr", params={"url": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def _event_names(events: list[tuple[str, object]]) -> list[str]:
    return [name for name, _ in events]


def test_sse_stream_events_in_order(api_client: TestClient) -> None:
    with api_client.stream("POST", "/v1/chat", json={"question": PASSPORT_Q, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = _event_names(events)
    assert names[0] == "meta" and names[-1] == "done"
    assert "delta" in names and "citations" in names
    assert names.index("citations") > max(i for i, n in enumerate(names) if n == "delta")
    assert set(names) <= {"meta", "delta", "citations", "card", "handoff", "clarify", "done"}
    meta, done = events[0][1], events[-1][1]
    assert isinstance(meta, dict) and isinstance(done, dict)
    assert meta["session_id"] == done["session_id"] and meta["request_id"] == done["request_id"]
    text = "".join(d["text"] for n, d in events if n == "delta")  # type: ignore[index]
    citations = next(d for n, d in events if n == "citations")["citations"]  # type: ignore[index]
    assert text and citations
    # The streamed exchange is stored like a JSON one, so follow-ups and feedback work.
    stored = api_client.get(f"/v1/sessions/{meta['session_id']}").json()
    assert stored["turns"][1]["content"] == text
    assert (
        api_client.post(
            "/v1/feedback",
            json={"request_id": meta["request_id"], "rating": "up", "session_id": meta["session_id"]},
        ).status_code
        == 201
    )


def test_accept_header_selects_sse(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": PASSPORT_Q}, headers={"Accept": "text/event-stream"})
    assert r.headers["content-type"].startswith("text/event-stream")
    names = _event_names(parse_sse(r.text))
    assert names[0] == "meta" and names[-1] == "done"


def test_sse_invalid_input_is_a_plain_4xx(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": "   ", "stream": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_openai_completion_shape_with_citations_and_footer(api_client: TestClient) -> None:
    r = api_client.post(
        "/v1/chat/completions",
        json={
            "model": "whatever-the-ui-sends",
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": "You are helpful"},
                {"role": "user", "content": PASSPORT_Q},
            ],
        },
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "chat.completion" and data["model"] == "zhengwu-assistant"
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert data["citations"] and "\n\n来源：\n[1] " in choice["message"]["content"]
    assert (
        data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    )


def test_openai_content_parts_and_history(api_client: TestClient) -> None:
    r = api_client.post(
        "/v1/chat/completions",
        json={
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": PASSPORT_Q}]},
                {"role": "assistant", "content": "需要身份证。\n\n来源：\n[1] 普通护照签发"},
                {"role": "user", "content": [{"type": "text", "text": "办理地点在哪里？"}]},
            ]
        },
    )
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]


def test_openai_stream_chunks_end_with_done(api_client: TestClient) -> None:
    r = api_client.post(
        "/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": PASSPORT_Q}]}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)  # type: ignore[index]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"  # type: ignore[index]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"]  # type: ignore[index]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)  # type: ignore[index]
    assert "来源：" in content


def test_openai_without_user_message_is_422(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "hi"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_models_lists_the_assistant(api_client: TestClient) -> None:
    data = api_client.get("/v1/models").json()
    assert data["object"] == "list" and [m["id"] for m in data["data"]] == ["zhengwu-assistant"]


def test_search_returns_ranked_results(api_client: TestClient) -> None:
    r = api_client.get("/v1/search", params={"q": "住房公积金 租房 提取", "k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert 1 <= len(results) <= 3
    assert results[0]["doc_id"] == "policy-fund"
    assert {"doc_id", "title", "score", "snippet", "type", "department", "url"} <= set(results[0])
    assert [x["score"] for x in results] == sorted((x["score"] for x in results), reverse=True)


def test_session_delete_really_deletes(api_client: TestClient) -> None:
    sid = _chat(api_client)["session_id"]
    assert api_client.delete(f"/v1/sessions/{sid}").status_code == 204
    assert api_client.get(f"/v1/sessions/{sid}").status_code == 404
    assert api_client.delete(f"/v1/sessions/{sid}").status_code == 404


def test_feedback_is_stored_with_the_exchange(api_client: TestClient) -> None:
    data = _chat(api_client)
    r = api_client.post(
        "/v1/feedback",
        json={
            "request_id": data["request_id"],
            "rating": "down",
            "comment": "不够详细",
            "session_id": data["session_id"],
        },
    )
    assert r.status_code == 201 and r.json() == {"ok": True, "request_id": data["request_id"]}
    ex = api_client.get(f"/v1/sessions/{data['session_id']}").json()["exchanges"][0]
    assert ex["feedback"]["rating"] == "down" and ex["feedback"]["comment"] == "不够详细"


def test_health_ready_and_metrics(api_client: TestClient) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    data = _chat(api_client)
    api_client.post(
        "/v1/feedback",
        json={"request_id": data["request_id"], "rating": "up", "session_id": data["session_id"]},
    )
    api_client.post("/v1/chat", json={"question": "我要投诉你们窗口工作人员"})
    text = api_client.get("/metrics").text
    assert 'zhengwu_http_requests_total{method="POST",route="/v1/chat",status="200"}' in text
    assert "zhengwu_stage_seconds_bucket" in text and 'stage="retrieve"' in text
    assert 'zhengwu_feedback_total{rating="up"} 1.0' in text
    assert "zhengwu_answers_total" in text


def test_cors_preflight_for_allowed_origin(make_api_client: Callable[..., TestClient]) -> None:
    c = make_api_client(allowed_origins=["https://portal.example.gov.cn"])
    r = c.options(
        "/v1/chat",
        headers={"Origin": "https://portal.example.gov.cn", "Access-Control-Request-Method": "POST"},
    )
    assert (
        r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://portal.example.gov.cn"
    )
    r = c.post("/v1/chat", json={"question": PASSPORT_Q}, headers={"Origin": "https://portal.example.gov.cn"})
    assert (
        r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://portal.example.gov.cn"
    )


def test_openapi_docs_are_served(api_client: TestClient) -> None:
    spec = api_client.get("/openapi.json").json()
    for path in (
        "/v1/chat",
        "/v1/chat/completions",
        "/v1/search",
        "/v1/sessions/{session_id}",
        "/v1/feedback",
        "/v1/models",
    ):
        assert path in spec["paths"]
    assert api_client.get("/docs").status_code == 200


def test_json_log_lines_carry_request_id_and_mask_pii(
    api_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="assistant.api.access"):
        data = _chat(api_client, question="我的身份证号11010519491231002X，护照怎么办")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "assistant.api.access"]
    answer = next(x for x in lines if x["event"] == "answer")
    request = next(x for x in lines if x["event"] == "request")
    assert answer["request_id"] == request["request_id"] == data["request_id"]
    assert answer["answered_by"] == data["answered_by"] and "total_ms" in answer["timings"]
    assert request["route"] == "/v1/chat" and request["status"] == 200
    assert "11010519491231002X" not in caplog.text
