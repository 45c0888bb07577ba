"""Shared pieces of the console tests: staff keys, a DOCX policy built in code, a knowledge copy, job polling."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import MINI_KNOWLEDGE

ADMIN = "admin-key-0123456789"
EDITOR = "editor-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
STAFF_KEYS = {"admin_keys": [ADMIN], "editor_keys": [EDITOR], "reviewer_keys": [REVIEWER]}

POLICY_TITLE = "示例市新能源汽车充电桩安装补贴办法"
POLICY_QUESTION = "在自家车位安装充电桩能领多少补贴？"
POLICY_PARAGRAPHS = [
    "第一条 为鼓励居民使用新能源汽车，对在自有车位安装充电桩的个人给予一次性补贴。",
    "第二条 个人在自有车位安装充电桩并完成验收的，可以申请一次性充电桩安装补贴二千元。",
    "第三条 申请充电桩安装补贴，应当向市发展改革委提交安装验收单和购车发票。",
]


def policy_docx(title: str = POLICY_TITLE, paragraphs: list[str] | None = None) -> bytes:
    """A small 公文-like DOCX: a title heading and numbered articles."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.add_heading(title, level=1)
    for p in paragraphs or POLICY_PARAGRAPHS:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def knowledge_copy(tmp: Path) -> Path:
    """A private copy of the mini knowledge base (the console writes its ``_admin`` folder into it)."""
    target = tmp / "knowledge"
    shutil.copytree(MINI_KNOWLEDGE, target)
    return target


def wait_for_job(get: Callable[[str], Any], job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll ``get(url)`` (a response with .json()) until the job is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = get(f"/v1/admin/jobs/{job_id}").json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def cited(answer: dict[str, Any]) -> set[str]:
    return {c["doc_id"] for c in answer.get("citations", [])}
