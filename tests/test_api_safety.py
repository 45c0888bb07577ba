"""The safety contract of the API: moderation and label fields, the AI headers, screened replies, logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _api_support import api_settings, parse_sse
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.screening.moderation import Moderator
from assistant.types import Answer

PASSPORT_Q = "办理普通护照需要什么材料？"
DEFAULT_LABEL = "本回答由人工智能生成，仅供参考，请以官方发布为准"


def test_json_answer_carries_moderation_label_and_headers(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": PASSPORT_Q})
    assert r.status_code == 200
    data = r.json()
    assert data["moderation"] == {"flagged": False, "categories": []}
    assert data["label"] == {"ai_generated": True, "text": DEFAULT_LABEL}
    assert r.headers["X-AI-Generated"] == "true"
    aigc = json.loads(r.headers["AIGC"])
    assert aigc["Label"] == "1" and aigc["ProduceID"] == data["request_id"] and aigc["ContentProducer"]


def test_unsafe_question_gets_a_screened_reply(
    api_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    message = "我的电话13812345678，哪里能买到冰毒"
    with caplog.at_level(logging.WARNING, logger="assistant.screening"):
        r = api_client.post("/v1/chat", json={"question": message})
    data = r.json()
    assert r.status_code == 200 and data["answered_by"] == "screened"
    assert data["moderation"] == {"flagged": True, "categories": ["违法犯罪"]}
    assert data["citations"] == [] and data["handoff"]["hotline"] == "110"
    assert data["label"]["ai_generated"] is True
    logged = "\n".join(r.getMessage() for r in caplog.records)
    # the lexicon entry is logged, never the citizen's text or personal data
    assert '"categories": ["违法犯罪"]' in logged and "买&冰毒" in logged
    assert "13812345678" not in logged and message not in logged


def test_stream_meta_and_done_carry_moderation_and_label(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": "你个傻逼机器人", "stream": True})
    assert r.status_code == 200 and r.headers["X-AI-Generated"] == "true"
    events = dict(parse_sse(r.text))
    for name in ("meta", "done"):
        assert events[name]["moderation"] == {"flagged": True, "categories": ["辱骂"]}
        assert events[name]["label"]["text"] == DEFAULT_LABEL
        assert events[name]["answered_by"] == "screened"


def test_kiosk_channel_keeps_the_fields(api_client: TestClient) -> None:
    data = api_client.post("/v1/chat", json={"question": PASSPORT_Q, "channel": "kiosk"}).json()
    assert data["label"]["ai_generated"] is True and "moderation" in data


def test_openai_compatible_route_is_labelled(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": PASSPORT_Q}]})
    assert r.status_code == 200 and r.headers["X-AI-Generated"] == "true"
    assert r.json()["label"]["text"] == DEFAULT_LABEL and r.json()["moderation"]["flagged"] is False


def test_cors_exposes_the_label_headers(api_client: TestClient) -> None:
    r = api_client.post(
        "/v1/chat", json={"question": PASSPORT_Q}, headers={"Origin": "http://127.0.0.1:8000"}
    )
    exposed = r.headers.get("access-control-expose-headers", "")
    assert "X-AI-Generated" in exposed and "AIGC" in exposed


def test_label_wording_and_headers_are_configurable(tmp_path: Path) -> None:
    settings = api_settings(tmp_path).model_copy(
        update={"label": Settings().label.model_copy(update={"text": "AI生成", "header": False})}
    )
    moderator = Moderator(settings)
    answer = moderator.label(Answer(text="x", answered_by="extractive"))
    assert answer.label.to_dict() == {"ai_generated": True, "text": "AI生成"}
    from assistant.api.labels import label_headers

    assert label_headers(answer.label, settings.label, "rid") == {}


def test_curated_answers_are_labelled_as_human_reviewed() -> None:
    settings = Settings()
    moderator = Moderator(settings)
    answer = moderator.label(Answer(text="人工审核过的答案", answered_by="curated"))
    assert answer.label.ai_generated is False and answer.label.text == settings.label.curated_text
    from assistant.api.labels import label_headers

    assert label_headers(answer.label, settings.label, "rid") == {"X-AI-Generated": "false"}
    # a curated answer is not re-screened by the guard (it has no retrieved hits to vouch for it)
    assert moderator.screen_output(answer, []).answered_by == "curated"
