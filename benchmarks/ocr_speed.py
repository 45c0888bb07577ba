"""OCR speed and confidence: an A4 Chinese notice rendered at 150 dpi (the tests' builder), OCR'd by
RapidOCR as a PNG and as an image-only PDF page (rendered at ``ocr.dpi``), several times.

Writes docs/benchmarks/ocr_speed.{md,json} with seconds per page, page confidence and whether the
figures in the notice came back exactly.

    python benchmarks/ocr_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from formats_support import NOTICE, render_page, scanned_pdf  # noqa: E402

from assistant.config import OcrSettings  # noqa: E402
from assistant.ingest import ocr  # noqa: E402
from assistant.ingest.loaders import load_file  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
FACTS = ("京政办发〔2026〕15号", "7个工作日", "20元", "2026年3月1日")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ocr.configure(OcrSettings())
    engine, _ = ocr.current()
    t0 = time.perf_counter()
    engine.warm_up()
    warm = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        render_page(NOTICE).save(root / "notice.png")  # type: ignore[attr-defined]
        scanned_pdf(root / "notice.pdf", [NOTICE])
        for name in ("notice.png", "notice.pdf"):
            times, doc = [], None
            for _ in range(args.runs):
                t = time.perf_counter()
                [doc] = load_file(root / name, root)
                times.append(time.perf_counter() - t)
            assert doc is not None
            page = doc.fields["ocr"]["pages"][0]
            rows.append(
                {
                    "file": name,
                    "seconds_per_page_median": round(statistics.median(times), 2),
                    "seconds_per_page_min": round(min(times), 2),
                    "confidence": page["confidence"],
                    "facts_exact": sum(f in doc.text for f in FACTS),
                    "doc_number": doc.doc_number,
                    "publish_date": doc.publish_date,
                }
            )
    report = {
        "cpu": next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in ln
            ),
            "",
        ),
        "cores": os.cpu_count(),
        "load_average_end": round(os.getloadavg()[0], 1),
        "warm_up_s": round(warm, 2),
        "rows": rows,
    }
    (OUT / "ocr_speed.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    lines = [
        "# OCR speed: RapidOCR (PP-OCRv4 Chinese, onnxruntime CPU) on an A4 notice",
        "",
        f"CPU: {report['cpu']}, {report['cores']} cores, load average at end {report['load_average_end']}; "
        f"{args.runs} runs each; model warm-up {report['warm_up_s']} s. 9 lines of 36 px CJK text on a "
        "1240×1754 page; the PDF page is re-rendered at 200 dpi (capped at 2000 px).",
        "",
        f"| file | s/page median | s/page min | confidence | facts exact (of {len(FACTS)}) | 文号 | date |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['file']} | {r['seconds_per_page_median']} | {r['seconds_per_page_min']} | {r['confidence']} | "
            f"{r['facts_exact']} | {r['doc_number']} | {r['publish_date']} |"
        )
    (OUT / "ocr_speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
