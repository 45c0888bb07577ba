"""Offline read-aloud: the ``Speech`` seam (fake and espeak-ng) and ``POST /v1/speech``."""

from __future__ import annotations

import io
import shutil
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import make_settings
from fastapi.testclient import TestClient

from assistant.errors import ConfigError, SpeechUnavailableError
from assistant.speech import SPEECH_ENGINES, EspeakSpeech, FakeSpeech, Speech, make_speech, speakable

ANSWER_100 = (
    "办理居住证需要在居住地连续居住满半年，并符合合法稳定就业、合法稳定住所或连续就读条件之一[1]。"
    "申请人可通过政务服务网或就近的派出所、社区服务中心提交材料，一般十五个工作日内办结[2]。"
    "如有疑问请拨打热线电话咨询。"
)
HAS_ESPEAK = shutil.which("espeak-ng") is not None


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def test_speakable_drops_citation_marks_and_markdown() -> None:
    assert speakable(" **材料**：身份证[1]\n照片[12] ") == "材料：身份证 照片"


def test_fake_speech_is_deterministic_valid_wav() -> None:
    fake = FakeSpeech()
    assert isinstance(fake, Speech)
    a, b = fake.synthesize("你好"), fake.synthesize("你好")
    assert a == b and a != fake.synthesize("再见")
    assert wav_seconds(a) > 0


def test_registry_builds_by_name_and_rejects_unknown(tmp_path: Path) -> None:
    assert set(SPEECH_ENGINES) >= {"espeak-ng", "fake"}
    assert isinstance(make_speech(make_settings(tmp_path, speech={"engine": "fake"}).speech), FakeSpeech)
    with pytest.raises(ConfigError, match="espeak-ng"):
        make_speech(make_settings(tmp_path, speech={"engine": "nope"}).speech)


def test_missing_engine_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(SpeechUnavailableError, match="apt-get install espeak-ng"):
        EspeakSpeech().synthesize("你好")


@pytest.mark.skipif(not HAS_ESPEAK, reason="needs Debian's espeak-ng (apt-get install espeak-ng)")
def test_espeak_reads_a_100_character_answer_in_mandarin_quickly() -> None:
    engine = EspeakSpeech()
    engine.warm_up()
    assert 95 <= len(speakable(ANSWER_100)) <= 105
    started = time.perf_counter()
    audio = engine.synthesize(speakable(ANSWER_100))
    elapsed = time.perf_counter() - started
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    seconds = wav_seconds(audio)  # the header sizes are fixed up, so the length is right
    assert 10 < seconds < 60, seconds
    assert elapsed < 5, f"{elapsed:.2f} s"
    # Text goes in on stdin: a leading dash is read, not taken as an option.
    assert wav_seconds(engine.synthesize("-v en 你好")) > 0


# --- the endpoint ----------------------------------------------------------------------------------


def _client(tmp_path: Path, **overrides: object) -> Iterator[TestClient]:
    from assistant.api import create_app

    settings = make_settings(tmp_path, **overrides)
    # the speech route does not need the index: a ready stand-in with the hooks create_app wires
    ready = SimpleNamespace(
        ready=True, use_curated_source=lambda source: None, embedder=None, refresh_index=lambda: False
    )
    with TestClient(create_app(settings, ready), raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, speech={"engine": "fake"})


def test_speech_endpoint_returns_wav_bytes(client: TestClient) -> None:
    res = client.post("/v1/speech", json={"text": ANSWER_100})
    assert res.status_code == 200
    assert res.headers["content-type"] == "audio/wav"
    assert res.headers["cache-control"] == "no-store"
    assert res.content == FakeSpeech().synthesize(speakable(ANSWER_100))


@pytest.mark.parametrize(
    ("text", "status"), [("", 422), (" \n ", 422), ("长" * 1201, 422), ("长" * 1200, 200), ("[1]", 200)]
)
def test_speech_text_is_length_limited(client: TestClient, text: str, status: int) -> None:
    res = client.post("/v1/speech", json={"text": text})
    assert res.status_code == status
    if status != 200:
        assert res.json()["error"]["code"] == "invalid_input"


def test_speech_is_keyed_like_chat(tmp_path: Path) -> None:
    for c in _client(
        tmp_path,
        speech={"engine": "fake"},
        api={"kiosk_keys": ["kiosk-key-0123456789"], "session_db": tmp_path / "s.db"},
    ):
        assert c.post("/v1/speech", json={"text": "你好"}).status_code == 401
        assert (
            c.post(
                "/v1/speech", json={"text": "你好"}, headers={"X-API-Key": "kiosk-key-0123456789"}
            ).status_code
            == 200
        )


def test_speech_unavailable_is_503_with_the_error_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    for c in _client(tmp_path):
        res = c.post("/v1/speech", json={"text": "你好"})
        assert res.status_code == 503 and res.json()["error"]["code"] == "speech_unavailable"


def test_speech_is_documented_in_openapi(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/speech"]["post"]
    assert "audio/wav" in op["responses"]["200"]["content"]
    assert {"401", "422", "429", "503"} <= set(op["responses"])
