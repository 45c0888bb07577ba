"""Speech seam: read an answer aloud as audio, offline. The ``Speech`` protocol, a registry, two backends.

- ``espeak-ng`` (default): Debian's ``espeak-ng`` with its Mandarin voice ``cmn``, run as a
  subprocess that writes a 16-bit mono WAV to stdout. Formant synthesis: robotic but clear, fast
  (~0.25 s for 100 characters on one core) and nothing leaves the machine.
- ``fake``: a deterministic WAV (a tone whose pitch and length come from a hash of the text) for tests.

Browsers that have a local Chinese voice speak in the page; this is the fallback for locked-down
kiosk browsers that have none. Constructors are cheap; ``warm_up()`` checks the engine is there.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import shutil
import struct
import subprocess
import wave
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .config import SpeechSettings
from .errors import ConfigError, SpeechUnavailableError

WAV = "audio/wav"


@runtime_checkable
class Speech(Protocol):
    """Turns Chinese text into audio bytes of type ``media_type``."""

    name: str
    media_type: str

    def warm_up(self) -> None:
        """Check the engine can run; raises ``SpeechUnavailableError`` when it cannot. Idempotent."""

    def synthesize(self, text: str) -> bytes:
        """The whole utterance as one audio file (``media_type``); ``SpeechUnavailableError`` on failure."""


def speakable(text: str) -> str:
    """Text as it should be read: citation marks ``[1]`` and markdown ``**`` dropped, whitespace folded."""
    text = re.sub(r"\[\d{1,2}\]", "", text).replace("**", "")
    return re.sub(r"\s+", " ", text).strip()


class EspeakSpeech:
    """``espeak-ng -v cmn --stdout``: WAV from Debian's offline formant synthesiser."""

    media_type = WAV

    def __init__(self, voice: str = "cmn", rate: int = 160, timeout_s: float = 20.0) -> None:
        self.name = f"espeak-ng:{voice}"
        self.voice = voice
        self.rate = rate
        self.timeout_s = timeout_s
        self._binary: str | None = None

    def warm_up(self) -> None:
        if self._binary:
            return
        binary = shutil.which("espeak-ng")
        if not binary:
            raise SpeechUnavailableError("espeak-ng is not installed (apt-get install espeak-ng)")
        self._binary = binary

    def synthesize(self, text: str) -> bytes:
        self.warm_up()
        assert self._binary is not None
        # Text goes in on stdin, never on the command line: no option injection, no length limit.
        cmd = [self._binary, "-v", self.voice, "-s", str(self.rate), "--stdout", "-b", "1"]
        try:
            done = subprocess.run(
                cmd, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechUnavailableError(f"espeak-ng failed: {type(exc).__name__}") from exc
        if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
            err = done.stderr.decode("utf-8", "replace").strip()[:200]
            raise SpeechUnavailableError(f"espeak-ng failed ({done.returncode}): {err}")
        return _fix_wav_sizes(done.stdout)


def _fix_wav_sizes(data: bytes) -> bytes:
    """espeak-ng writing to a pipe cannot seek back, so its RIFF/data sizes are placeholders; fill them in."""
    if len(data) < 44 or data[36:40] != b"data":
        return data
    return (
        data[:4]
        + struct.pack("<I", len(data) - 8)
        + data[8:40]
        + struct.pack("<I", len(data) - 44)
        + data[44:]
    )


class FakeSpeech:
    """A deterministic stand-in: a short tone whose pitch and length depend on a hash of the text."""

    name = "fake"
    media_type = WAV

    def warm_up(self) -> None:
        pass

    def synthesize(self, text: str) -> bytes:
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        rate, pitch = 8000, 300 + digest[0]
        frames = rate * min(2, 1 + len(text) // 200) // 4
        samples = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / rate))) for i in range(frames)
        )
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples)
        return buf.getvalue()


SPEECH_ENGINES: dict[str, Callable[[SpeechSettings], Speech]] = {
    "espeak-ng": lambda s: EspeakSpeech(voice=s.voice, rate=s.rate),
    "fake": lambda s: FakeSpeech(),
}


def make_speech(settings: SpeechSettings) -> Speech:
    """Build the engine named by ``settings.engine`` (cheap; nothing runs until ``warm_up``)."""
    try:
        factory = SPEECH_ENGINES[settings.engine]
    except KeyError:
        raise ConfigError(
            f"unknown speech engine {settings.engine!r}; choose one of: {', '.join(sorted(SPEECH_ENGINES))}"
        ) from None
    return factory(settings)
