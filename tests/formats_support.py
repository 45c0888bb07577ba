"""Builders for the document formats of issue 19, so tests make their own real files: a scanned
(image-only) PDF of a Chinese notice, a PNG/TIFF scan, an .xlsx fee table, a small OFD and a text PDF
with a ruled table."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)

NOTICE = [
    "^北京市人民政府办公厅",
    "^京政办发〔2026〕15号",
    "^关于调整居住证办理时限的通知",
    "各区人民政府，市政府各委、办、局：",
    "    为方便群众办事，现将居住证办理有关事项通知如下。",
    "    一、居住证办理时限由十五个工作日缩短为7个工作日。",
    "    二、申请人可在全市任一派出所提交申请，工本费为20元。",
    "^北京市人民政府办公厅",
    "^2026年3月1日",
]


def cjk_font() -> Path | None:
    return next((f for f in CJK_FONTS if f.exists()), None)


def render_page(lines: Sequence[str], font_size: int = 36) -> object:
    """An A4 page at 150 dpi with ``lines`` in a CJK font ('^' centres a line); a PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = cjk_font()
    assert font_path is not None
    img = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(font_path), font_size, index=2 if font_path.suffix == ".ttc" else 0)
    y = 120
    for line in lines:
        text = line.lstrip("^")
        x = (1240 - draw.textlength(text, font=font)) / 2 if line.startswith("^") else 120
        draw.text((x, y), text, font=font, fill="black")
        y += int(font_size * 1.8)
    return img


def scanned_pdf(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    """An image-only PDF (no text layer), one rendered page per entry of ``pages``."""
    images = [render_page(p) for p in pages]
    images[0].save(str(path), "PDF", resolution=150, save_all=True, append_images=images[1:])  # type: ignore[attr-defined]
    return path


def blank_pdf(path: Path, n_pages: int = 1) -> Path:
    """An image-only PDF of blank pages (the fake OCR engine supplies the text)."""
    from PIL import Image

    images = [Image.new("RGB", (620, 877), "white") for _ in range(n_pages)]
    images[0].save(str(path), "PDF", resolution=75, save_all=True, append_images=images[1:])
    return path


def png_with_text(path: Path, text: str) -> Path:
    """A small PNG whose ``ocr_text`` text chunk is what ``FakeOcrEngine`` will 'read'."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("ocr_text", text)
    Image.new("RGB", (200, 100), "white").save(str(path), pnginfo=info)
    return path


def fee_xlsx(path: Path) -> Path:
    """A fee schedule: a caption row, a header row and one row per item, on two sheets."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "出入境证件"
    ws.append(["出入境证件收费标准"])
    ws.append(["项目", "收费标准", "依据"])
    ws.append(["普通护照", "120元/本", "发改价格〔2017〕1186号"])
    ws.append(["往来港澳通行证", "60元/本", "发改价格〔2019〕114号"])
    ws.append(["台湾居民来往大陆通行证", 40.0, "发改价格〔2019〕114号"])
    other = book.create_sheet("户籍")
    other.append(["项目", "收费标准"])
    other.append(["居民身份证换领", "20元/证"])
    book.save(str(path))
    return path


_OFD_NS = "http://www.ofdspec.org/2016"


def make_ofd(
    path: Path, title: str, pages: Sequence[Sequence[str]], creation_date: str = "2026-02-10"
) -> Path:
    """A minimal OFD (GB/T 33190) package: OFD.xml, Doc_0/Document.xml and one Content.xml a page,
    each line a TextObject with one TextCode (4 mm font, 8 mm line pitch)."""

    def content(lines: Sequence[str]) -> str:
        objs = []
        for i, line in enumerate(lines):
            y = 30 + 8 * i
            objs.append(
                f'<ofd:TextObject ID="{100 + i}" Boundary="25 {y} 160 6" Font="1" Size="4">'
                f'<ofd:TextCode X="0" Y="4">{line}</ofd:TextCode></ofd:TextObject>'
            )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{_OFD_NS}"><ofd:Content>'
            f'<ofd:Layer ID="2">{"".join(objs)}</ofd:Layer></ofd:Content></ofd:Page>'
        )

    ofd_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{_OFD_NS}" Version="1.0" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID><ofd:Title>{title}</ofd:Title>"
        f"<ofd:CreationDate>{creation_date}</ofd:CreationDate></ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    page_refs = "".join(
        f'<ofd:Page ID="{i + 1}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages))
    )
    document_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{_OFD_NS}">'
        f"<ofd:CommonData><ofd:MaxUnitID>999</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297"
        f"</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"
    )
    with zipfile.ZipFile(str(path), "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", document_xml)
        for i, lines in enumerate(pages):
            zf.writestr(f"Doc_0/Pages/Page_{i}/Content.xml", content(lines))
    return path


def table_pdf(path: Path, caption: str, rows: Sequence[Sequence[str]]) -> Path:
    """A one-page text PDF (Helvetica) with a caption line and a ruled table, assembled by hand."""
    ops = [f"BT /F1 12 Tf 50 740 Td ({caption}) Tj ET"]
    top, height, widths = 700, 24, [200, 150]
    x_edges = [50, 50 + widths[0], 50 + sum(widths)]
    for r, row in enumerate(rows):
        y = top - r * height
        for c, cell in enumerate(row):
            ops.append(f"BT /F1 11 Tf {x_edges[c] + 6} {y - 16} Td ({cell}) Tj ET")
    bottom = top - len(rows) * height
    for r in range(len(rows) + 1):
        y = top - r * height
        ops.append(f"{x_edges[0]} {y} m {x_edges[-1]} {y} l S")
    for x in x_edges:
        ops.append(f"{x} {top} m {x} {bottom} l S")
    ops.append(f"BT /F1 12 Tf 50 {bottom - 30} Td (Fees are paid at the counter.) Tj ET")
    path.write_bytes(one_page_pdf("\n".join(ops).encode()))
    return path


def one_page_pdf(stream: bytes) -> bytes:
    """A one-page PDF (Helvetica as /F1) around the content ``stream``, assembled by hand."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out
