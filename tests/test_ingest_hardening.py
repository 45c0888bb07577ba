"""Issue 15 findings 4 and 5: one bad or hostile knowledge file is skipped with its name and reason,
the rest is indexed, and resource bombs (deep nesting, YAML aliases, huge files, slow files) are capped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_settings
from test_loaders import _tiny_pdf

from assistant.errors import LoaderError
from assistant.index.store import read_manifest
from assistant.ingest.build import ingest
from assistant.ingest.loaders import LOADERS, iter_knowledge, load_file
from assistant.ingest.loaders import limits as limits_mod
from assistant.ingest.loaders.html import html_to_text

ROOT = Path(__file__).resolve().parents[1]

DEEP_JSON = "[" * 100_000 + "]" * 100_000
# 9 levels of 9 references: ~387 M strings once expanded (307 bytes on disk)
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    + "name: *i\n"
)


def _unsupported_filter_pdf() -> bytes:
    """A PDF whose page stream names a filter pypdf does not implement (NotImplementedError)."""
    return _tiny_pdf("Hello").replace(b"<< /Length ", b"<< /Filter /FooDecode /Length ")


def _good_docs(root: Path) -> None:
    (root / "faq.jsonl").write_text(
        json.dumps(
            {"question": "社保卡丢了怎么办？", "answer": "可到社保经办机构挂失补办。"}, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    (root / "notice.md").write_text("# 通知\n\n居住证办理时限为十五个工作日。\n", encoding="utf-8")


def _bad_docs(root: Path) -> dict[str, str]:
    files = {"deep.json": DEEP_JSON, "bomb.yaml": ALIAS_BOMB}
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "filter.pdf").write_bytes(_unsupported_filter_pdf())
    return {"deep.json": "nested", "bomb.yaml": "bomb", "filter.pdf": "NotImplementedError"}


def test_deep_json_is_a_named_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP_JSON, encoding="utf-8")
    with pytest.raises(LoaderError) as info:
        load_file(path, tmp_path)
    assert info.value.path == str(path) and "nested" in info.value.reason


def test_json_nested_past_the_cap_but_under_recursion_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"name": "x", "fees": ' + "[" * 300 + "]" * 300 + "}", encoding="utf-8")
    with pytest.raises(LoaderError, match="nested deeper"):
        load_file(path, tmp_path)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(LoaderError) as info:
        load_file(path, tmp_path)
    assert "bomb" in info.value.reason
    assert time.perf_counter() - started < 2


def test_yaml_with_a_few_anchors_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "guide.yaml"
    path.write_text("name: 居住证办理\nfees: &f 不收费\n收费标准: *f\n", encoding="utf-8")
    [doc] = load_file(path, tmp_path)
    assert doc.title == "居住证办理"


def test_front_matter_alias_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.md"
    path.write_text("---\n" + ALIAS_BOMB.replace("name:", "title:") + "---\n正文\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="bomb"):
        load_file(path, tmp_path)


def test_pdf_with_unsupported_filter_is_a_named_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "filter.pdf"
    path.write_bytes(_unsupported_filter_pdf())
    with pytest.raises(LoaderError) as info:
        load_file(path, tmp_path)
    assert info.value.path == str(path) and "NotImplementedError" in info.value.reason


def test_any_loader_exception_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path, root: Path) -> list:
        raise AttributeError("'NoneType' object has no attribute 'get_object'")

    monkeypatch.setitem(LOADERS, ".txt", broken)
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(LoaderError, match="AttributeError"):
        load_file(path, tmp_path)


def test_file_over_the_size_cap_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_mod, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text("大" * 2000, encoding="utf-8")
    with pytest.raises(LoaderError, match="over the"):
        load_file(path, tmp_path)


def test_slow_file_hits_the_time_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(path: Path, root: Path) -> list:
        time.sleep(5)
        return []

    monkeypatch.setitem(LOADERS, ".txt", slow)
    path = tmp_path / "slow.txt"
    path.write_text("x", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(LoaderError, match="longer than"):
        load_file(path, tmp_path, seconds=0.3)
    assert time.perf_counter() - started < 2


def test_deeply_nested_html_is_refused_fast() -> None:
    page = "<html><body>" + "<div>" * 8000 + "正文" * 50 + "</div>" * 8000 + "</body></html>"
    started = time.perf_counter()
    with pytest.raises(ValueError, match="nested deeper"):
        html_to_text(page)
    assert time.perf_counter() - started < 5


def test_main_content_finder_is_linear_in_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The finder used to call get_text (a walk of the whole subtree) once per candidate block:
    quadratic in the nesting depth (8,000 levels took 10 s). Now one walk of the tree serves all."""
    from bs4 import BeautifulSoup, Tag

    from assistant.ingest.loaders.html import find_main

    depth = 190
    page = "<html><body>" + "<div>" * depth + "正文内容" * 40 + "</div>" * depth + "</body></html>"
    soup = BeautifulSoup(page, "html.parser")
    calls = 0
    original = Tag.get_text

    def counting(self: Tag, *args: object, **kwargs: object) -> str:
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Tag, "get_text", counting)
    main = find_main(soup)
    assert main.name == "div" and "正文内容" in original(main)
    assert calls < 20  # was one per nested div (~190)


def test_iter_knowledge_skips_each_bad_file_and_keeps_the_good(tmp_path: Path) -> None:
    _good_docs(tmp_path)
    reasons = _bad_docs(tmp_path)
    docs, errors = iter_knowledge(tmp_path)
    assert sorted(d.source for d in docs) == ["faq.jsonl", "notice.md"]
    named = {Path(e.path).name: e.reason for e in errors}
    assert set(named) == set(reasons)
    for name, word in reasons.items():
        assert word in named[name], (name, named[name])
    with pytest.raises(LoaderError):
        iter_knowledge(tmp_path, strict=True)


def test_ingest_indexes_good_documents_and_summary_names_bad_files(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    _good_docs(kb)
    _bad_docs(kb)
    settings = make_settings(tmp_path, knowledge_dir=kb)
    report = ingest(settings)
    manifest = read_manifest(settings.index_dir)
    assert manifest is not None and len(manifest.documents) == 2
    for name in ("deep.json", "bomb.yaml", "filter.pdf"):
        assert f"skipped {kb / name}" in report.summary()


def test_cli_ingest_exits_zero_and_names_bad_files_strict_fails(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    _good_docs(kb)
    _bad_docs(kb)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "assistant", "ingest", "--embedder", "hash", "--quiet"]
    cmd += ["--knowledge", str(kb), "--index", str(tmp_path / "index")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "documents: 2" in done.stdout
    for name in ("deep.json", "bomb.yaml", "filter.pdf"):
        assert name in done.stdout
    assert "Traceback" not in done.stderr
    strict = subprocess.run(
        [*cmd, "--strict"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert strict.returncode != 0


def test_time_limit_keeps_an_outer_alarm() -> None:
    """pytest-timeout (and any caller) may have an alarm pending: the per-file limit must not cancel it."""
    import signal

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with limits_mod.time_limit(5):
            pass
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 25 < remaining <= 30
        with limits_mod.time_limit(60):  # the outer alarm is due first: ours is not set
            assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired
