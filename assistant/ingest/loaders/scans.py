"""Scanned documents: images (.png, .jpg, .tif, multi-page TIFF included) and PDF pages with no text
layer, recognised by the configured OCR engine (``assistant/ingest/ocr.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MissingDependencyError
from ...types import Document
from .. import ocr
from .header import official_document

if TYPE_CHECKING:
    from PIL.Image import Image


def _pil() -> Any:
    try:
        from PIL import Image, ImageSequence
    except ImportError as exc:
        raise MissingDependencyError("Pillow", "ocr") from exc
    return Image, ImageSequence


def _frames(path: Path) -> tuple[int, Iterator[tuple[int, Image]]]:
    image_mod, sequence = _pil()
    img = image_mod.open(str(path))
    total = int(getattr(img, "n_frames", 1))

    def frames() -> Iterator[tuple[int, Image]]:
        for n, frame in enumerate(sequence.Iterator(img), 1):
            page = frame.convert("RGB")
            page.info.update({k: v for k, v in img.info.items() if isinstance(v, str)})
            yield n, page

    return total, frames()


def load_image(path: Path, root: Path) -> list[Document]:
    """One ``page`` Document per image file (every frame of a TIFF is a page), text by OCR."""
    total, frames = _frames(path)
    result = ocr.ocr_pages(frames, path.name, total)
    _, settings = ocr.current()
    text = "\n".join(result.texts[n] for n in sorted(result.texts) if result.texts[n])
    return official_document(
        path, root, "", text, "OCR found no text in the image", result.fields(settings.min_confidence)
    )


def ocr_pdf(path: Path, indexes: Sequence[int]) -> tuple[ocr.OcrResult, dict[str, Any]]:
    """OCR the pages at 0-based ``indexes`` of a PDF, rendered with pypdfium2 at the configured dpi."""
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise MissingDependencyError("pypdfium2", "ocr") from exc
    _, settings = ocr.current()
    pdf = pdfium.PdfDocument(str(path))

    def pages() -> Iterator[tuple[int, Image]]:
        for i in indexes:
            page = pdf[i]
            # scale so the longest side lands at max_side at most: rendering more pixels is wasted work
            w, h = page.get_size()
            scale = min(settings.dpi / 72, settings.max_side / max(w, h, 1))
            yield i + 1, page.render(scale=scale).to_pil()

    try:
        result = ocr.ocr_pages(pages(), path.name, len(indexes))
    finally:
        pdf.close()
    return result, result.fields(settings.min_confidence)
