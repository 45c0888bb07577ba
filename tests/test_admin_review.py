"""The review side of the operator API over HTTP (TestClient, real SQLite state database, hash embedder):
curated answers, exchange review and exports, the reviewed set through ``python -m evals``, insights, audit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests._api_support import api_documents, api_settings

ADMIN = "admin-key-0123456789"
EDITOR = "editor-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
QUESTION = "社保卡丢失了怎么补办？"


def h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.fixture
def client(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(admin_keys=[ADMIN], editor_keys=[EDITOR], reviewer_keys=[REVIEWER])


def chat(client: TestClient, question: str, channel: str = "web") -> dict:
    res = client.post("/v1/chat", json={"question": question, "channel": channel}, headers=h(ADMIN))
    assert res.status_code == 200, res.text
    return res.json()


def create_curated(client: TestClient, **body: object) -> int:
    payload = {
        "questions": [QUESTION],
        "answer": "请先拨打12333挂失，再到社保卡服务网点补办。",
        "sources": ["faq-social"],
        **body,
    }
    res = client.post("/v1/admin/curated", json=payload, headers=h(EDITOR))
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


def test_a_curated_answer_answers_its_question_at_once_and_stops_when_retired(client: TestClient) -> None:
    before = chat(client, QUESTION)
    assert before["answered_by"] != "curated"
    cid = create_curated(client)
    ans = chat(client, QUESTION)
    assert ans["answered_by"] == "curated"
    assert ans["citations"][0]["doc_id"] == f"curated:{cid}" and ans["citations"][1]["doc_id"] == "faq-social"
    assert "12333" in ans["answer"]
    assert chat(client, "办护照要带什么材料")["answered_by"] != "curated"
    res = client.patch(f"/v1/admin/curated/{cid}", json={"status": "retired"}, headers=h(EDITOR))
    assert res.status_code == 200 and res.json()["status"] == "retired"
    assert chat(client, QUESTION)["answered_by"] != "curated"
    assert client.delete(f"/v1/admin/curated/{cid}", headers=h(ADMIN)).status_code == 204
    assert client.get(f"/v1/admin/curated/{cid}", headers=h(ADMIN)).status_code == 404
    actions = [e["action"] for e in client.get("/v1/admin/audit", headers=h(ADMIN)).json()["items"]]
    assert actions[:3] == ["curated.delete", "curated.update", "curated.create"]


def test_curated_roles_validation_and_unknown_sources(client: TestClient) -> None:
    payload = {"questions": ["q"], "answer": "a"}
    assert client.post("/v1/admin/curated", json=payload, headers=h(REVIEWER)).status_code == 403
    assert client.post("/v1/admin/curated", json=payload).status_code == 401
    assert (
        client.post(
            "/v1/admin/curated", json={"questions": [" "], "answer": "a"}, headers=h(EDITOR)
        ).status_code
        == 422
    )
    bad_date = {**payload, "valid_to": "2026/12/31"}
    assert client.post("/v1/admin/curated", json=bad_date, headers=h(EDITOR)).status_code == 422
    res = client.post(
        "/v1/admin/curated", json={**payload, "sources": ["faq-social", "nope"]}, headers=h(EDITOR)
    )
    assert res.status_code == 201 and res.json()["unknown_sources"] == ["nope"]
    listed = client.get("/v1/admin/curated", headers=h(REVIEWER)).json()
    assert listed["total"] == 1 and listed["items"][0]["created_by"].startswith("editor:")
    # an id no database integer can hold is a validation error, not a 500 from the driver (fuzzing)
    huge = "/v1/admin/curated/" + "9" * 30
    assert client.get(huge, headers=h(REVIEWER)).status_code == 422
    assert client.delete(huge, headers=h(EDITOR)).status_code == 422


def test_an_expired_curated_answer_is_not_used(client: TestClient) -> None:
    create_curated(client, valid_to="2026-01-01")  # the test settings' today is 2026-11-26
    assert chat(client, QUESTION)["answered_by"] != "curated"


def test_exchanges_are_listed_masked_with_hits_filtered_and_reviewed(client: TestClient) -> None:
    a = chat(client, "我的手机号13812345678，居住证怎么办理", channel="kiosk")
    b = chat(client, QUESTION)
    chat(client, "今天天气怎么样")
    assert (
        client.post(
            "/v1/feedback", json={"request_id": b["request_id"], "rating": "down"}, headers=h(ADMIN)
        ).status_code
        == 201
    )
    res = client.get("/v1/admin/exchanges", headers=h(REVIEWER))
    assert res.status_code == 200
    page = res.json()
    assert page["total"] == 3 and [i["request_id"] for i in page["items"]][-1] == a["request_id"]
    first = page["items"][-1]
    assert "13812345678" not in json.dumps(page, ensure_ascii=False) and "138" in first["question"]
    assert first["channel"] == "kiosk" and first["hits"] and "score" in first["hits"][0]
    assert first["confidence"] is not None
    only = lambda **q: client.get("/v1/admin/exchanges", params=q, headers=h(REVIEWER)).json()  # noqa: E731
    assert [i["request_id"] for i in only(rating="down")["items"]] == [b["request_id"]]
    assert [i["request_id"] for i in only(channel="kiosk")["items"]] == [a["request_id"]]
    assert only(text="居住证")["total"] == 1
    assert only(since="2020-01-01", until="2020-01-02")["total"] == 0
    assert all(i["answered_by"] == "handoff" for i in only(answered_by="handoff")["items"])
    assert only(confidence_below=0.0)["total"] == 0
    # review: reviewer marks, editor may not; every review is audited
    mark = {"verdict": "wrong", "note": "应说明挂失电话 13912345678"}
    assert (
        client.post(f"/v1/admin/exchanges/{b['request_id']}/review", json=mark, headers=h(EDITOR)).status_code
        == 403
    )
    res = client.post(f"/v1/admin/exchanges/{b['request_id']}/review", json=mark, headers=h(REVIEWER))
    assert (
        res.status_code == 200
        and res.json()["verdict"] == "wrong"
        and "13912345678" not in res.json()["note"]
    )
    assert client.post("/v1/admin/exchanges/nope/review", json=mark, headers=h(REVIEWER)).status_code == 404
    assert [i["request_id"] for i in only(verdict="wrong")["items"]] == [b["request_id"]]
    assert only(verdict="unreviewed")["total"] == 2
    one = client.get(f"/v1/admin/exchanges/{b['request_id']}", headers=h(REVIEWER)).json()
    assert one["review"]["verdict"] == "wrong" and one["rating"] == "down" and len(one["reviews"]) == 1
    audit = client.get("/v1/admin/audit", params={"action": "exchange.review"}, headers=h(ADMIN)).json()
    assert audit["items"][0]["target"] == f"exchange:{b['request_id']}" and audit["items"][0][
        "actor"
    ].startswith("reviewer:")
    # one click: the reviewed exchange pre-fills a curated answer
    draft = client.get(f"/v1/admin/curated/prefill/{b['request_id']}", headers=h(EDITOR)).json()
    assert (
        draft["questions"] == [QUESTION]
        and draft["verdict"] == "wrong"
        and draft["from_exchange"] == b["request_id"]
    )
    assert draft["sources"] == ["faq-social"]


def test_exports_csv_and_jsonl(client: TestClient) -> None:
    chat(client, '=HYPERLINK("http://x") 居住证怎么办理')
    chat(client, QUESTION)
    res = client.get("/v1/admin/exchanges/export", params={"format": "csv"}, headers=h(REVIEWER))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert "attachment" in res.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["request_id", "at", "channel"] and len(rows) == 3
    assert any(r[3].startswith("'=") for r in rows[1:])  # no formula injection into spreadsheets
    res = client.get(
        "/v1/admin/exchanges/export", params={"format": "jsonl", "text": "社保卡"}, headers=h(REVIEWER)
    )
    lines = [json.loads(x) for x in res.text.splitlines()]
    assert len(lines) == 1 and lines[0]["question"] == QUESTION


def _corpus(path: Path) -> Path:
    rows = [
        {"id": d.id, "title": d.title, "text": d.text, "department": d.department} for d in api_documents()
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_reviewed_set_runs_through_python_m_evals(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = chat(client, "办护照要带什么材料")
    bad = chat(client, "居住证需要什么材料")
    handed = chat(client, "我要投诉你们窗口的工作人员")
    skipped = chat(client, "公积金怎么提取")
    for rid, verdict in ((ok, "correct"), (bad, "wrong"), (handed, "correct"), (skipped, "wrong")):
        res = client.post(
            f"/v1/admin/exchanges/{rid['request_id']}/review", json={"verdict": verdict}, headers=h(REVIEWER)
        )
        assert res.status_code == 200
    # the wrong answer gets a curated fix resting on the residence-permit guide
    create_curated(
        client,
        questions=["居住证需要什么材料"],
        answer="居民身份证、居住证明和近期照片。",
        sources=["guide-residence"],
    )
    res = client.get("/v1/admin/exchanges/eval-dataset", headers=h(REVIEWER))
    assert res.status_code == 200 and res.headers["x-skipped-rows"] == "1"
    rows = {r["question"]: r for r in map(json.loads, res.text.splitlines())}
    assert set(rows) == {"办护照要带什么材料", "居住证需要什么材料", "我要投诉你们窗口的工作人员"}
    assert rows["居住证需要什么材料"]["gold_passage_ids"] == ["guide-residence"]
    assert rows["我要投诉你们窗口的工作人员"]["should_handoff"] is True
    assert rows["办护照要带什么材料"]["gold_passage_ids"][0] == "guide-passport"
    dataset = tmp_path / "reviewed.jsonl"
    dataset.write_text(res.text, encoding="utf-8")

    from evals.cli import main

    monkeypatch.setenv("ASSISTANT_EMBEDDER__NAME", "hash")
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "no-index"))
    out = tmp_path / "run"
    args = [
        "run",
        "--dataset",
        str(dataset),
        "--corpus",
        str(_corpus(tmp_path / "corpus.jsonl")),
        "--no-knowledge",
    ]
    assert main([*args, "--mode", "answer", "--out", str(out), "--no-progress"]) == 0
    per_q = [json.loads(x) for x in (out / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(per_q) == 3 and not any(r.get("error") for r in per_q)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["inputs"]["datasets"] == [str(dataset)]


def test_insights_group_questions_and_draw_accessible_charts(client: TestClient) -> None:
    for q in ("今天天气怎么样", "今天天气怎么样？", "红烧肉怎么做", QUESTION, QUESTION):
        chat(client, q)
    res = client.get("/v1/admin/insights", headers=h(REVIEWER))
    assert res.status_code == 200, res.text
    d = res.json()
    assert d["total"] == 5
    top = {t["label"]: t["count"] for t in d["top_topics"]}
    assert top.get(QUESTION) == 2 and max(top.values()) >= 2
    assert sum(p["count"] for p in d["answer_paths"]) == 5
    for name, svg in d["charts"].items():
        assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg, name
    assert client.get("/v1/admin/insights", headers=h(EDITOR)).status_code == 403


def test_audit_is_admin_only_filtered_paginated_and_exported(client: TestClient) -> None:
    for i in range(3):
        create_curated(client, questions=[f"问题{i}"])
    assert client.get("/v1/admin/audit", headers=h(REVIEWER)).status_code == 403
    page = client.get("/v1/admin/audit", params={"limit": 2}, headers=h(ADMIN)).json()
    assert len(page["items"]) == 2 and page["has_more"] is True
    item = page["items"][0]
    assert {"actor", "action", "target", "at"} <= set(item) and item["after"]["questions"] == ["问题2"]
    assert client.get("/v1/admin/audit", params={"actor": "nobody"}, headers=h(ADMIN)).json()["items"] == []
    assert client.get("/v1/admin/audit", params={"since": "bad"}, headers=h(ADMIN)).status_code == 422
    res = client.get(
        "/v1/admin/audit/export", params={"format": "csv", "action": "curated.create"}, headers=h(ADMIN)
    )
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "actor", "role", "action", "target", "before", "after"] and len(rows) == 4
    res = client.get("/v1/admin/audit/export", params={"format": "jsonl"}, headers=h(ADMIN))
    assert all(json.loads(x)["action"] for x in res.text.splitlines())


@pytest.mark.parametrize("page", ["curated", "conversations", "insights", "audit"])
def test_review_pages_are_served_offline(client: TestClient, page: str) -> None:
    res = client.get(f"/admin/{page}")
    assert res.status_code == 200 and f'data-page="{page}"' in res.text
    assert 'src="/admin/assets/review.js"' in res.text and "http" not in res.text.replace("http-equiv", "")
    for asset in ("review.js", "review.css", f"{page}.js"):
        assert client.get(f"/admin/assets/{asset}").status_code == 200


def test_an_entry_created_on_one_worker_is_answered_by_another(tmp_path: Path) -> None:
    """Two apps (as two workers or replicas) on one state database: the version counter carries the edit."""
    from assistant.api import create_app
    from tests._api_support import ready_assistant

    settings = api_settings(tmp_path / "shared", admin_keys=[ADMIN], editor_keys=[EDITOR])
    settings.curated.check_s = 0.0
    one = TestClient(create_app(settings, ready_assistant(tmp_path / "a")))
    two = TestClient(create_app(settings, ready_assistant(tmp_path / "b")))
    with one, two:
        assert chat(two, QUESTION)["answered_by"] != "curated"
        cid = create_curated(one)
        assert chat(two, QUESTION)["answered_by"] == "curated"
        assert (
            one.patch(f"/v1/admin/curated/{cid}", json={"status": "draft"}, headers=h(EDITOR)).status_code
            == 200
        )
        assert chat(two, QUESTION)["answered_by"] != "curated"
