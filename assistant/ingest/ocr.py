"""OCR seam for scanned PDFs and images: the ``OcrEngine`` protocol, a registry, RapidOCR and a fake.

An engine turns one page image into text lines with boxes and confidences; ``page_text`` puts them
in reading order (rows top to bottom, left to right) and paragraphs (a new one after a wide vertical
gap, an indented or centred line, or a line ending a sentence short of the margin). ``ocr_pages``
runs a whole file: per-page confidence, pages under ``min_confidence`` flagged for review, progress
on long files, and a time budget per file after which the remaining pages are left out and flagged.

RapidOCR (``rapidocr-onnxruntime``, Apache-2.0) carries PP-OCRv4 Chinese detection and recognition
models inside its wheel and downloads nothing. Time per page is bounded by the image size: pages
are rendered at ``dpi`` and shrunk to ``max_side`` pixels before recognition.

Shortcut: the engine in use is module state set by ``configure`` (``ingest`` calls it from settings),
because loaders are plain ``(path, root)`` functions; tests swap in ``FakeOcrEngine``.
"""

from __future__ import annotations

import logging
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..config import OcrSettings
from ..errors import MissingDependencyError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

_SENTENCE_END = "。！？；：:!?;"


@dataclass
class OcrLine:
    """One recognised text line: its text, confidence in [0, 1] and box (x0, y0, x1, y1) in pixels."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]


class OcrEngine(Protocol):
    """Recognises text in a page image."""

    name: str

    def warm_up(self) -> None:
        """Load models (called once before the first page)."""

    def recognize(self, image: Image) -> list[OcrLine]:
        """Text lines found in ``image`` (any order; ``page_text`` sorts them)."""
        ...


class RapidOcrEngine:
    """PP-OCRv4 Chinese via ``rapidocr-onnxruntime`` (models bundled in the wheel, CPU onnxruntime)."""

    name = "rapidocr"

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads
        self._ocr: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._ocr is not None:
                return
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise MissingDependencyError("rapidocr-onnxruntime", "ocr") from exc
            kwargs = {"intra_op_num_threads": self.threads} if self.threads else {}
            self._ocr = RapidOCR(**kwargs)

    def recognize(self, image: Image) -> list[OcrLine]:
        import numpy as np

        self.warm_up()
        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        lines = []
        for box, text, score in result or []:
            xs = [float(p[0]) for p in box]
            ys = [float(p[1]) for p in box]
            lines.append(OcrLine(str(text), float(score), (min(xs), min(ys), max(xs), max(ys))))
        return lines


class FakeOcrEngine:
    """Deterministic stand-in for tests: each page yields the next scripted page, else the image's
    ``ocr_text`` PNG text chunk; lines are laid out top to bottom with a fixed confidence."""

    name = "fake"

    def __init__(self, pages: Sequence[str] = (), confidence: float = 0.97) -> None:
        self.pages = list(pages)
        self.confidence = confidence
        self.calls = 0

    def warm_up(self) -> None:
        return None

    def recognize(self, image: Image) -> list[OcrLine]:
        self.calls += 1
        text = self.pages.pop(0) if self.pages else str(getattr(image, "info", {}).get("ocr_text", ""))
        return [
            OcrLine(line, self.confidence, (40.0, 40.0 + 40 * i, 40.0 + 30 * len(line), 70.0 + 40 * i))
            for i, line in enumerate(text.splitlines())
            if line.strip()
        ]


OCR_ENGINES: dict[str, Callable[[OcrSettings], OcrEngine]] = {
    "rapidocr": lambda s: RapidOcrEngine(s.threads),
    "fake": lambda s: FakeOcrEngine(),
}

_settings = OcrSettings()
_engine: OcrEngine | None = None


def configure(settings: OcrSettings, engine: OcrEngine | None = None) -> None:
    """Use ``settings`` (and ``engine``, or the one ``settings.engine`` names) for every later page."""
    global _settings, _engine
    if engine is None and settings.engine not in OCR_ENGINES:
        from ..errors import ConfigError

        raise ConfigError(f"unknown OCR engine {settings.engine!r}; choose one of: {', '.join(OCR_ENGINES)}")
    _settings, _engine = settings, engine


def current() -> tuple[OcrEngine, OcrSettings]:
    """The configured engine (built on first use) and its settings."""
    global _engine
    if _engine is None:
        _engine = OCR_ENGINES[_settings.engine](_settings)
    return _engine, _settings


def _rows(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Group lines whose vertical centres fall within half a line height of each other."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        centre = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1][-1]
            if abs(centre - (last.box[1] + last.box[3]) / 2) < (last.box[3] - last.box[1]) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [sorted(r, key=lambda ln: ln.box[0]) for r in rows]


def page_text(lines: list[OcrLine]) -> str:
    """OCR lines → text in reading order with one paragraph a line (wrapped lines joined)."""
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines:
        return ""
    rows = _rows(lines)
    height = statistics.median(ln.box[3] - ln.box[1] for ln in lines) or 1.0
    left = min(r[0].box[0] for r in rows)
    right = max(r[-1].box[2] for r in rows)
    paragraphs: list[str] = []
    prev: list[OcrLine] | None = None
    for row in rows:
        text = " ".join(ln.text.strip() for ln in row)
        x0 = row[0].box[0]
        new = prev is None
        if prev is not None:
            gap = row[0].box[1] - max(ln.box[3] for ln in prev)
            indented = x0 - left > 1.2 * height
            prev_short = right - prev[-1].box[2] > 2 * height
            prev_end = prev[-1].text.rstrip()[-1:] in _SENTENCE_END
            new = gap > 0.9 * height or indented or prev_short or prev_end
        if new:
            paragraphs.append(text)
        else:
            paragraphs[-1] += text
        prev = row
    return "\n".join(paragraphs)


def page_confidence(lines: list[OcrLine]) -> float:
    """Mean line confidence weighted by characters (0 for a page with no text)."""
    total = sum(len(ln.text) for ln in lines)
    return sum(ln.confidence * len(ln.text) for ln in lines) / total if total else 0.0


@dataclass
class OcrResult:
    """Text of the OCR'd pages (by page number, 1-based) and what the index keeps about them."""

    texts: dict[int, str] = field(default_factory=dict)
    pages: list[dict[str, Any]] = field(default_factory=list)  # {page, confidence, review}

    def fields(self, min_confidence: float) -> dict[str, Any]:
        """The ``ocr`` entry of a Document's fields: engine, per-page confidence, pages to review."""
        engine, _ = current()
        review = [p["page"] for p in self.pages if p["review"]]
        return {
            "ocr": {
                "engine": engine.name,
                "pages": self.pages,
                "review": review,
                "min_confidence": min_confidence,
            }
        }


def ocr_pages(images: Iterable[tuple[int, Image]], label: str, total: int) -> OcrResult:
    """OCR ``(page number, image)`` pairs; progress on stderr past 3 pages; stops at the time budget."""
    engine, settings = current()
    engine.warm_up()
    started = time.perf_counter()
    result = OcrResult()
    for done, (number, image) in enumerate(images, 1):
        if time.perf_counter() - started > settings.seconds_per_file:
            result.pages.append({"page": number, "confidence": 0.0, "review": True, "skipped": "time budget"})
            continue
        image = _shrink(image, settings.max_side)
        lines = engine.recognize(image)
        conf = round(page_confidence(lines), 3)
        result.texts[number] = page_text(lines)
        result.pages.append({"page": number, "confidence": conf, "review": conf < settings.min_confidence})
        if total > 3:
            print(f"OCR {label}: page {done}/{total}", file=sys.stderr, flush=True)
    return result


def _shrink(image: Image, max_side: int) -> Image:
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    return image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
