"""Shared pieces of the API tests: a small knowledge base built in code, and a ready Assistant over it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.types import Document, Section

GUIDE_URL = "https://zwfw.example.gov.cn/guide/passport"


def api_documents() -> list[Document]:
    """Four documents: two service guides (one with an online URL), a policy and a FAQ."""
    passport = Document(
        id="guide-passport",
        title="普通护照签发",
        type="guide",
        text="",
        department="市公安局出入境管理局",
        region="示例市",
        url=GUIDE_URL,
        sections=[
            Section(
                "申请条件",
                "中国公民因前往外国定居、探亲、学习、就业、旅行、从事商务活动等非公务原因出国的，可以申请普通护照。",
                "conditions",
            ),
            Section(
                "所需材料", "1. 居民身份证原件\n2. 近期免冠彩色照片一张\n3. 填写完整的申请表", "materials"
            ),
            Section("办理时限", "法定办结时限：15个工作日\n承诺办结时限：7个工作日", "time_fees"),
            Section(
                "办理地点",
                "办理地点：示例市政务服务中心二楼出入境窗口\n咨询电话：0123-12345678\n在线办理：" + GUIDE_URL,
                "place_contact",
            ),
        ],
        fields={
            "online_url": GUIDE_URL,
            "consult_phone": "0123-12345678",
            "promised_time_limit": "7个工作日",
        },
    )
    residence = Document(
        id="guide-residence",
        title="居住证办理",
        type="guide",
        text="",
        department="市公安局",
        region="示例市",
        url="https://zwfw.example.gov.cn/guide/residence",
        sections=[
            Section(
                "申请条件",
                "在本市居住半年以上，有合法稳定就业、合法稳定住所或者连续就读条件之一的，可以申领居住证。",
                "conditions",
            ),
            Section("所需材料", "1. 居民身份证\n2. 居住证明（房屋租赁合同）\n3. 近期照片", "materials"),
        ],
        fields={"online_url": "https://zwfw.example.gov.cn/guide/residence"},
    )
    policy = Document(
        id="policy-fund",
        title="示例市住房公积金提取管理办法",
        type="policy",
        text="",
        department="住房公积金管理中心",
        doc_number="示公积金〔2024〕3号",
        issuer="示例市住房公积金管理委员会",
        publish_date="2024-03-01",
        url="https://example.gov.cn/policy/fund",
        sections=[
            Section(
                "第一章 提取条件",
                "职工购买、建造、翻建、大修自住住房的，可以提取住房公积金账户内的存储余额。租房自住的，每年可以提取一次，提取金额不超过实际租金支出。",
                "chapter",
            ),
            Section(
                "第二章 办理程序",
                "职工提取住房公积金，应当向住房公积金管理中心提出申请，管理中心自受理之日起三个工作日内作出准予提取或者不准提取的决定。",
                "chapter",
            ),
        ],
    )
    faq = Document(
        id="faq-social",
        title="社保卡丢失了怎么补办？",
        type="faq",
        text="",
        department="人力资源和社会保障局",
        sections=[
            Section(
                "社保卡丢失了怎么补办？",
                "社保卡丢失后，应先拨打12333挂失，再携带居民身份证到社保卡服务网点申请补办，补卡工本费20元。",
                "faq",
            )
        ],
    )
    for doc in (passport, residence, policy, faq):
        doc.text = "\n".join(f"{s.heading}\n{s.text}" for s in doc.sections)
    return [passport, residence, policy, faq]


def api_settings(tmp: Path, **api: object) -> Settings:
    """Hash-embedder settings with everything under ``tmp``; ``api`` overrides the API group."""
    return Settings(
        knowledge_dir=tmp / "knowledge",
        index_dir=tmp / "index",
        cache_dir=tmp / "cache",
        embedder={"name": "hash", "dim": 256},  # type: ignore[arg-type]
        today="2026-11-26",
        api={"session_db": tmp / "sessions.sqlite3", "rate_limit_per_minute": 0, **api},  # type: ignore[arg-type]
    )


def build_api_index(tmp: Path) -> Path:
    """Index ``api_documents()`` into ``tmp/index`` with the hash embedder; returns the index folder."""
    from assistant.ingest.build import build_index_from_documents

    settings = api_settings(tmp)
    build_index_from_documents(api_documents(), settings.index_dir, settings)
    return settings.index_dir


def ready_assistant(tmp: Path) -> Any:
    """A warmed-up ``Assistant`` over a freshly built index in ``tmp``."""
    from assistant.pipeline import Assistant

    build_api_index(tmp)
    assistant = Assistant.from_settings(api_settings(tmp))
    assistant.warm_up()
    return assistant


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """``(event, data)`` pairs of a Server-Sent Events body (data JSON-decoded when it parses)."""
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            raw = "\n".join(data)
            try:
                events.append((name, json.loads(raw)))
            except json.JSONDecodeError:
                events.append((name, raw))
    return events


@pytest.fixture(scope="session")
def api_assistant(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One warmed Assistant over ``api_documents()`` shared by the API tests (it keeps no per-request state)."""
    return ready_assistant(tmp_path_factory.mktemp("api_assistant"))


@pytest.fixture
def make_api_client(api_assistant: Any, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """``make_api_client(**api_overrides)``: a started TestClient on a fresh app (own SQLite file) over the shared assistant."""
    from assistant.api import create_app

    clients: list[TestClient] = []

    def make(**api: object) -> TestClient:
        settings = api_settings(tmp_path / f"app{len(clients)}", **api)
        api_client = TestClient(create_app(settings, api_assistant), raise_server_exceptions=False)
        api_client.__enter__()
        clients.append(api_client)
        return api_client

    yield make
    for api_client in clients:
        api_client.__exit__(None, None, None)


@pytest.fixture
def api_client(make_api_client: Callable[..., TestClient]) -> TestClient:
    """A api_client on an app with default security (no keys: anonymous) and no rate limit."""
    return make_api_client()


def serve_py_env(tmp: Path, **api: str) -> dict[str, str]:
    """Environment for ``python serve.py`` over the API test index in ``tmp``; ``api`` sets ``ASSISTANT_API__*``."""
    index_dir = build_api_index(tmp)
    env = {
        "ASSISTANT_INDEX_DIR": str(index_dir),
        "ASSISTANT_KNOWLEDGE_DIR": str(tmp / "knowledge"),
        "ASSISTANT_CACHE_DIR": str(tmp / "cache"),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_TODAY": "2026-11-26",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
    }
    env.update({f"ASSISTANT_API__{k.upper()}": v for k, v in api.items()})
    return env
