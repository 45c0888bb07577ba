"""The 安全词库 over HTTP (TestClient, real SQLite audit log, the real lexicon screener): reading the
lists, admin-only edits of operator files that take effect at once, the allow-list, validation, audit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.screening import editing
from assistant.screening.lexicon import LexiconScreener

ADMIN = "admin-key-0123456789"
EDITOR = "editor-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
NEW_WORD = "紫色独角兽"


def h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.fixture
def client(make_api_client: Callable[..., TestClient], api_assistant: Any) -> Iterator[TestClient]:
    """A client with three roles; the shared assistant's operator folder is emptied afterwards."""
    folder = Path(api_assistant.settings.screening.lexicon_dir)
    yield make_api_client(admin_keys=[ADMIN], editor_keys=[EDITOR], reviewer_keys=[REVIEWER])
    for p in folder.glob("*.txt"):
        p.unlink()
    api_assistant.moderator.screener.warm_up()


def chat(client: TestClient, question: str) -> dict:
    res = client.post("/v1/chat", json={"question": question}, headers=h(ADMIN))
    assert res.status_code == 200, res.text
    return res.json()


def test_lists_show_shipped_and_operator_files_and_reviewers_may_read(
    client: TestClient, api_assistant: Any
) -> None:
    assert isinstance(api_assistant.moderator.screener, LexiconScreener)
    res = client.get("/v1/admin/screening/lexicons", headers=h(REVIEWER))
    assert res.status_code == 200, res.text
    data = res.json()
    names = {i["name"]: i for i in data["items"]}
    assert set(names) == set(editing.list_names()) and "allow" in names and "fraud" in names
    assert names["fraud"]["category"] == "诈骗/广告" and names["fraud"]["shipped_entries"] > 5
    assert names["allow"]["allow_list"] is True and names["fraud"]["allow_list"] is False
    assert names["fraud"]["operator_exists"] is False and names["fraud"]["operator_entries"] == 0
    assert data["operator_dir"] == str(api_assistant.settings.screening.lexicon_dir)
    one = client.get("/v1/admin/screening/lexicons/fraud", headers=h(REVIEWER)).json()
    assert one["text"] == "" and any("刷单" in line for line in one["shipped"])
    assert client.get("/v1/admin/screening/lexicons/nosuch", headers=h(REVIEWER)).status_code == 404
    assert client.get("/v1/admin/screening/lexicons", headers={}).status_code == 401


def test_reviewer_and_editor_may_not_write(client: TestClient) -> None:
    for key in (REVIEWER, EDITOR):
        res = client.put("/v1/admin/screening/lexicons/fraud", json={"text": NEW_WORD}, headers=h(key))
        assert res.status_code == 403, res.text
    assert chat(client, f"{NEW_WORD}怎么办理")["answered_by"] != "screened"


def test_an_admin_edit_screens_the_new_word_at_once_and_is_audited(
    client: TestClient, api_assistant: Any
) -> None:
    question = f"{NEW_WORD}怎么办理？"
    before = chat(client, question)
    assert before["answered_by"] != "screened" and before["moderation"]["flagged"] is False
    text = f"# 新增\n{NEW_WORD}\n"
    res = client.put("/v1/admin/screening/lexicons/crime", json={"text": text}, headers=h(ADMIN))
    assert res.status_code == 200, res.text
    saved = res.json()
    assert saved["changed"] is True and saved["info"]["operator_exists"] is True
    assert saved["info"]["operator_entries"] == 1 and saved["entries_loaded"] > 1
    path = Path(api_assistant.settings.screening.lexicon_dir) / "crime.txt"
    assert path.read_text(encoding="utf-8") == text
    after = chat(client, question)
    assert after["answered_by"] == "screened"
    # the operator file continues the shipped list's category
    assert after["moderation"] == {"flagged": True, "categories": ["违法犯罪"]}
    tried = client.post("/v1/admin/screening/test", json={"text": question}, headers=h(REVIEWER)).json()
    assert (
        tried["flagged"] is True
        and tried["input"][0]["term"] == NEW_WORD
        and tried["input"][0]["matched"] == NEW_WORD
    )
    got = client.get("/v1/admin/screening/lexicons/crime", headers=h(REVIEWER)).json()
    assert got["text"] == text
    log = client.get(
        "/v1/admin/audit", params={"action": "screening.lexicon.update"}, headers=h(ADMIN)
    ).json()
    entry = log["items"][0]
    assert entry["target"] == "lexicon:crime" and entry["role"] == "admin"
    assert entry["before"] == {"text": ""} and entry["after"] == {"text": text}
    # saving the same text again changes nothing and adds no audit entry
    again = client.put("/v1/admin/screening/lexicons/crime", json={"text": text}, headers=h(ADMIN)).json()
    assert again["changed"] is False
    log = client.get(
        "/v1/admin/audit", params={"action": "screening.lexicon.update"}, headers=h(ADMIN)
    ).json()
    assert len(log["items"]) == 1


def test_an_allow_list_edit_unblocks_an_official_term(client: TestClient) -> None:
    question = "刷单返利防范宣传材料在哪里领取"
    assert chat(client, question)["answered_by"] == "screened"
    res = client.put(
        "/v1/admin/screening/lexicons/allow", json={"text": "刷单返利防范宣传\n"}, headers=h(ADMIN)
    )
    assert res.status_code == 200, res.text
    ans = chat(client, question)
    assert ans["answered_by"] != "screened" and ans["moderation"]["flagged"] is False
    # elsewhere the entry still applies
    tried = client.post("/v1/admin/screening/test", json={"text": "刷单返利日赚千元"}, headers=h(REVIEWER))
    assert tried.json()["flagged"] is True


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("fraud", "好词\n买 & \n", "line 2"),
        ("fraud", "a|b\n|\n", "line 2"),
        ("fraud", "@category\n", "line 1"),
        ("fraud", "ok\n-\n", "line 2"),
        ("fraud", "x" * 300, "line 1"),
        ("fraud", "ok\n坏\x07词\n", "line 2"),
        ("allow", "反诈\n诈\n", "line 2"),
    ],
)
def test_bad_input_is_refused_with_the_line(client: TestClient, name: str, text: str, where: str) -> None:
    res = client.put(f"/v1/admin/screening/lexicons/{name}", json={"text": text}, headers=h(ADMIN))
    assert res.status_code == 422, res.text
    assert where in res.text


def test_unknown_names_and_oversized_bodies_are_refused(client: TestClient) -> None:
    assert (
        client.put("/v1/admin/screening/lexicons/nosuch", json={"text": "x"}, headers=h(ADMIN)).status_code
        == 404
    )
    assert client.put(
        "/v1/admin/screening/lexicons/..%2Fetc", json={"text": "x"}, headers=h(ADMIN)
    ).status_code in (404, 422)
    big = "词\n" * (editing.MAX_LINES + 1)
    assert (
        client.put("/v1/admin/screening/lexicons/fraud", json={"text": big}, headers=h(ADMIN)).status_code
        == 422
    )
    assert client.post("/v1/admin/screening/test", json={"text": ""}, headers=h(ADMIN)).status_code == 422


def test_validate_normalises_line_ends(tmp_path: Path) -> None:
    assert editing.validate("fraud", "甲\r\n乙 ~ in\r\n\r\n") == "甲\n乙 ~ in\n"
    before, after = editing.write_operator(tmp_path, "fraud", "甲\r\n")
    assert (before, after) == ("", "甲\n") and (tmp_path / "fraud.txt").read_text(encoding="utf-8") == "甲\n"
    assert not list(tmp_path.glob(".*"))  # no temporary file left
