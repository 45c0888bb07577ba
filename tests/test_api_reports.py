"""投诉/举报 over HTTP: filing, lookup by tracking number, the admin workflow (audited), and the richer
exchange record the chat routes store (channel, confidence, department, hits, meta)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from assistant.storage import Database

Q = "办理普通护照需要什么材料？"
KIOSK, WIDGET, ADMIN = "kiosk-key-0123456789", "widget-0123456789", "admin-key-0123456789"
ORIGIN = "https://portal.example.gov.cn"
ID_CARD = "11010519491231002X"


@pytest.fixture
def keyed(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(
        kiosk_keys=[KIOSK], widget_keys=[WIDGET], admin_keys=[ADMIN], allowed_origins=[ORIGIN]
    )


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key, **({"Origin": ORIGIN} if key == WIDGET else {})}


def _ask(client: TestClient, key: str, **body: object) -> dict:
    r = client.post("/v1/chat", json={"question": Q, **body}, headers=_h(key))
    assert r.status_code == 200, r.text
    return r.json()


def _file(client: TestClient, key: str, request_id: str, **body: object) -> dict:
    r = client.post("/v1/reports", json={"request_id": request_id, "reason": "过时", **body}, headers=_h(key))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_citizen_files_a_report_and_reads_its_status(keyed: TestClient) -> None:
    answer = _ask(keyed, WIDGET)
    filed = _file(keyed, WIDGET, answer["request_id"], note=f"我的身份证{ID_CARD}，材料写错了")
    assert re.fullmatch(r"\d{8}-[0-9A-Z]{10}", filed["tracking_number"])
    assert filed["status"] == "待处理"
    created = time.mktime(time.strptime(filed["created_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    deadline = time.mktime(time.strptime(filed["deadline"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert round((deadline - created) / 86400) == 15  # reports.deadline_days
    got = keyed.get(f"/v1/reports/{filed['tracking_number']}", headers=_h(WIDGET)).json()
    assert got["status"] == "待处理" and got["overdue"] is False and got["deadline"] == filed["deadline"]
    assert "note" not in got and "request_id" not in got  # the holder of the number sees status only
    db: Database = keyed.app.state.db  # type: ignore[attr-defined]
    stored = db.reports.get(filed["tracking_number"])
    assert stored is not None and stored.request_id == answer["request_id"]
    assert ID_CARD not in stored.note and "材料写错了" in stored.note  # masked before it was stored


def test_unknown_answers_numbers_and_reasons_are_refused(
    keyed: TestClient, make_api_client: Callable
) -> None:
    r = keyed.post("/v1/reports", json={"request_id": "nope", "reason": "错误"}, headers=_h(WIDGET))
    assert r.status_code == 404
    rid = _ask(keyed, WIDGET)["request_id"]
    assert (
        keyed.post("/v1/reports", json={"request_id": rid, "reason": "无聊"}, headers=_h(WIDGET)).status_code
        == 422
    )
    too_long = {"request_id": rid, "reason": "其他", "note": "长" * 1001}
    assert keyed.post("/v1/reports", json=too_long, headers=_h(WIDGET)).status_code == 422
    assert keyed.get("/v1/reports/20260101-ABCDEFGHJK", headers=_h(WIDGET)).status_code == 404
    assert keyed.get("/v1/reports/1", headers=_h(WIDGET)).status_code == 422
    assert keyed.post("/v1/reports", json={"request_id": rid, "reason": "其他"}).status_code == 401  # no key


def test_admin_moves_a_report_through_the_workflow_and_every_step_is_audited(keyed: TestClient) -> None:
    n = _file(keyed, KIOSK, _ask(keyed, KIOSK)["request_id"])["tracking_number"]
    url = f"/v1/admin/reports/{n}"
    assert keyed.patch(url, json={"status": "处理中"}, headers=_h(KIOSK)).status_code == 403  # no staff role
    skip = keyed.patch(url, json={"status": "已办结"}, headers=_h(ADMIN))
    assert skip.status_code == 409 and skip.json()["error"]["code"] == "conflict"
    assert keyed.patch(url, json={"status": "处理中"}, headers=_h(ADMIN)).json()["status"] == "处理中"
    done = keyed.patch(url, json={"status": "已办结", "handler_note": "已更正材料清单"}, headers=_h(ADMIN))
    assert done.status_code == 200 and done.json()["status"] == "已办结"
    assert keyed.patch(url, json={"status": "待处理"}, headers=_h(ADMIN)).status_code == 409
    seen = keyed.get(f"/v1/reports/{n}", headers=_h(KIOSK)).json()
    assert seen["handler_note"] == "已更正材料清单"
    assert [h["status"] for h in seen["history"]] == ["待处理", "处理中", "已办结"]
    db: Database = keyed.app.state.db  # type: ignore[attr-defined]
    audit = db.audit.list(action="report.update", target=n)
    assert [e.after["status"] for e in reversed(audit)] == ["处理中", "已办结"]
    assert all(e.role == "admin" and e.actor for e in audit)
    assert (
        keyed.patch(
            "/v1/admin/reports/20260101-ABCDEFGHJK", json={"status": "处理中"}, headers=_h(ADMIN)
        ).status_code
        == 404
    )


def test_admin_lists_reports_by_status_and_overdue(keyed: TestClient) -> None:
    rid = _ask(keyed, KIOSK)["request_id"]
    a = _file(keyed, KIOSK, rid)["tracking_number"]
    b = _file(keyed, KIOSK, rid, reason="错误")["tracking_number"]
    keyed.patch(f"/v1/admin/reports/{b}", json={"status": "处理中"}, headers=_h(ADMIN))
    db: Database = keyed.app.state.db  # type: ignore[attr-defined]
    late = db.reports.create(rid, "其他", deadline_days=-1)  # filed with a deadline already past
    listed = keyed.get("/v1/admin/reports", headers=_h(ADMIN)).json()["reports"]
    assert {r["tracking_number"] for r in listed} == {a, b, late.tracking_number}
    assert listed[0]["tracking_number"] == late.tracking_number  # earliest deadline first
    pending = keyed.get("/v1/admin/reports?status=处理中", headers=_h(ADMIN)).json()["reports"]
    assert [r["tracking_number"] for r in pending] == [b]
    overdue = keyed.get("/v1/admin/reports?overdue=true", headers=_h(ADMIN)).json()["reports"]
    assert [(r["tracking_number"], r["overdue"]) for r in overdue] == [(late.tracking_number, True)]
    assert keyed.get("/v1/admin/reports", headers=_h(WIDGET)).status_code == 403  # no staff role
    assert keyed.get("/v1/admin/reports").status_code == 401


def test_the_handler_sees_the_reported_answer_until_the_citizen_erases_it(keyed: TestClient) -> None:
    answer = _ask(keyed, KIOSK)
    n = _file(keyed, KIOSK, answer["request_id"])["tracking_number"]
    [listed] = keyed.get("/v1/admin/reports", headers=_h(ADMIN)).json()["reports"]
    assert listed["exchange"]["question"] == Q and listed["exchange"]["answer"] == answer["answer"]
    assert listed["exchange"]["channel"] == "kiosk"
    assert keyed.delete(f"/v1/sessions/{answer['session_id']}", headers=_h(KIOSK)).status_code == 204
    [after] = keyed.get("/v1/admin/reports", headers=_h(ADMIN)).json()["reports"]
    assert after["tracking_number"] == n and after["exchange"] is None  # erased: the report stays


def test_chat_routes_store_channel_confidence_department_hits_and_meta(keyed: TestClient) -> None:
    kiosk = _ask(keyed, KIOSK)
    widget = _ask(keyed, WIDGET)
    r = keyed.post(
        "/v1/chat/completions",
        json={"model": "zhengwu-assistant", "messages": [{"role": "user", "content": Q}]},
        headers=_h(KIOSK),
    )
    assert r.status_code == 200
    api_rid = r.json()["request_id"]
    db: Database = keyed.app.state.db  # type: ignore[attr-defined]
    by_rid = {}
    for rid in (kiosk["request_id"], widget["request_id"], api_rid):
        sid = db.sessions.session_of(rid)
        assert sid is not None, rid
        by_rid[rid] = next(e for e in db.sessions.exchanges(sid) or [] if e.request_id == rid)
    ex = by_rid[kiosk["request_id"]]
    assert ex.channel == "kiosk" and by_rid[widget["request_id"]].channel == "widget"
    assert by_rid[api_rid].channel == "api"
    assert ex.confidence == pytest.approx(kiosk["confidence"], abs=1e-4)
    assert ex.department == kiosk["citations"][0]["department"] and ex.department
    assert ex.hits and {"doc_id", "title", "score"} <= set(ex.hits[0])
    assert ex.hits[0]["doc_id"] == kiosk["citations"][0]["doc_id"]
    assert isinstance(ex.meta, dict)
    # a completion's request id can be reported like any other answer
    assert _file(keyed, KIOSK, api_rid)["status"] == "待处理"


def test_streamed_answers_are_stored_with_their_fields(keyed: TestClient) -> None:
    r = keyed.post("/v1/chat", json={"question": Q, "stream": True}, headers=_h(KIOSK))
    rid = re.search(r'"request_id": "([^"]+)"', r.text)
    assert rid is not None
    db: Database = keyed.app.state.db  # type: ignore[attr-defined]
    sid = db.sessions.session_of(rid.group(1))
    ex = (db.sessions.exchanges(sid or "") or [None])[-1]
    assert ex is not None and ex.channel == "kiosk" and ex.hits and ex.confidence is not None
