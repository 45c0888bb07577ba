"""Kept index generations, rollback, the retriever's hot swap and the operator overlay
(the watcher that follows the pointer is tested in test_notify.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from assistant.embedders import HashEmbedder
from assistant.errors import InvalidInputError, NotFoundError
from assistant.index.store import current_generation_name, list_generations, set_current
from assistant.ingest.build import build_index_from_documents
from assistant.ingest.overlay import Overlay, apply_overlay, clean_overrides, safe_filename
from assistant.retrieval import HybridRetriever
from assistant.types import Document, Filters
from tests.conftest import make_settings


def _doc(i: str, text: str) -> Document:
    return Document(id=i, title=f"标题{i}", type="page", text=text, source=f"{i}.txt")


def _build(settings, n: int) -> None:  # type: ignore[no-untyped-def]
    docs = [_doc(f"d{k}", f"第{k}号文件：居住证申领需要提供居民身份证，编号{k}。") for k in range(n)]
    build_index_from_documents(docs, settings.index_dir, settings)


def test_the_newest_generations_are_kept_and_listed(tmp_path: Path) -> None:
    s = make_settings(tmp_path, admin={"keep_generations": 3})
    for n in range(1, 6):
        _build(s, n)
    gens = list_generations(s.index_dir)
    assert [g.documents for g in gens] == [5, 4, 3]  # newest first, the two oldest removed
    assert [g.current for g in gens] == [True, False, False]
    assert all((s.index_dir / g.name / "userdict.txt").is_file() for g in gens)


def test_rollback_points_current_at_a_kept_generation_and_ingest_continues_from_it(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    _build(s, 2)
    _build(s, 3)
    older = list_generations(s.index_dir)[1]
    info = set_current(s.index_dir, older.name)
    assert info.current and current_generation_name(s.index_dir) == older.name
    with pytest.raises(NotFoundError):
        set_current(s.index_dir, "gen-0-0")
    with pytest.raises(NotFoundError):
        set_current(s.index_dir, "../outside")
    # the next write continues from the rolled-back generation; keeping 1 leaves only the new one
    s2 = make_settings(tmp_path, admin={"keep_generations": 1})
    _build(s2, 4)
    assert [g.documents for g in list_generations(s.index_dir)] == [4]


def test_refresh_swaps_atomically_while_searches_run(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    _build(s, 2)
    retriever = HybridRetriever(s.index_dir, HashEmbedder(256), s.retrieval, s.today)
    retriever.warm_up()
    first = retriever.generation
    assert retriever.refresh() is False  # nothing moved: a pointer read, no load
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                assert retriever.search("居住证申领", k=3, filters=Filters(today=s.today))
            except BaseException as exc:  # noqa: BLE001 - any failure is the test's failure
                errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    _build(s, 5)
    assert retriever.refresh() is True and retriever.generation != first
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert retriever.describe()["documents"] == 5


def test_overlay_uploads_replace_and_overrides_apply(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    overlay = Overlay(knowledge)
    with overlay.locked():
        overlay.save_upload("up-1", "新政策.md", "# 新政策\n\n充电桩安装补贴二千元。".encode())
        overlay.save_upload("d0", "替换.txt", "替换后的居住证办理说明。".encode())
        overlay.set_override("up-1", {"status": "已废止", "region": "示例市"})
        overlay.set_override("d1", {"deleted": True})
    docs, errors = apply_overlay(
        knowledge, [_doc("d0", "旧文本"), _doc("d1", "要删除的"), _doc("d2", "保留")]
    )
    by_id = {d.id: d for d in docs}
    assert errors == [] and set(by_id) == {"d0", "d2", "up-1"}
    assert "替换后" in by_id["d0"].text and by_id["d0"].source == "_admin/uploads/d0/替换.txt"
    assert by_id["up-1"].status == "已废止" and by_id["up-1"].region == "示例市"
    assert json.loads(overlay.overrides_path.read_text(encoding="utf-8"))["documents"]["d1"] == {
        "deleted": True
    }


def test_overlay_refuses_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        safe_filename("run.exe")
    assert safe_filename("../../etc/关于 通知.docx") == "关于_通知.docx"
    with pytest.raises(InvalidInputError):
        clean_overrides({"status": "作废"})
    with pytest.raises(InvalidInputError):
        clean_overrides({"expiry_date": "不详"})
    assert clean_overrides({"expiry_date": "2026年12月1日", "aliases": "公积金、住房公积金"}) == {
        "expiry_date": "2026-12-01",
        "aliases": ["公积金", "住房公积金"],
    }
