"""Chunking: guides per field group, laws on 条, FAQ pairs, sentence packing with overlap, tables."""

from __future__ import annotations

import time
from pathlib import Path

from assistant.config import ChunkSettings
from assistant.ingest.chunking import chunk_document, chunk_documents, pack_sentences
from assistant.ingest.loaders import iter_knowledge, load_file
from assistant.types import Document, Section

MINI = Path(__file__).parent / "fixtures" / "knowledge_mini"
S = ChunkSettings(size=120, overlap=20, min_size=10)


def _law(size: int = 400) -> list:
    doc = Document(
        id="law-x",
        title="居住证暂行条例",
        type="law",
        doc_number="国务院令第663号",
        text=(
            "## 第一章 总则\n\n"
            "第一条 为了促进新型城镇化的健康发展，制定本条例。\n\n"
            "第二条 公民离开常住户口所在地，到其他城市居住半年以上的，可以申领居住证。\n\n"
            "## 第二章 申领\n\n"
            "第九条 申领居住证，应当提交本人居民身份证、本人相片以及居住地住址证明材料。\n\n"
            "前款规定的证明材料可以由社区服务机构核验。\n\n"
            "第十条 居住证由县级人民政府公安机关签发，每年签注1次。\n"
        ),
    )
    return chunk_document(doc, ChunkSettings(size=size, overlap=10, min_size=5))


def test_guide_chunks_per_section_with_item_name() -> None:
    [doc] = load_file(MINI / "guides" / "residence_permit.json", MINI)
    chunks = chunk_document(doc, ChunkSettings())
    assert [c.kind for c in chunks] == [
        "overview",
        "conditions",
        "materials",
        "process",
        "time_fees",
        "place_contact",
        "basis",
    ]
    assert all(c.text.startswith("居住证申领") for c in chunks)
    overview = chunks[0]
    assert "广州市公安局" in overview.text and "暂住证" in overview.text and "公共服务" in overview.text
    materials = chunks[2]
    assert "居民身份证原件" in materials.text and materials.section == "申请材料"
    assert "暂住证" in materials.embed_text  # aliases help colloquial queries find sections
    assert [c.id for c in chunks] == [f"guide-residence-permit#{n}" for n in range(7)]
    assert chunks[2].metadata["kind"] == "materials" and chunks[2].metadata["department"] == "广州市公安局"


def test_law_split_on_articles_with_title_and_number_in_embed_text() -> None:
    chunks = _law(size=60)
    assert all(c.text.startswith("第") and "条" in c.text[:5] for c in chunks)
    assert all("居住证暂行条例（国务院令第663号）" in c.embed_text for c in chunks)
    art9 = next(c for c in chunks if c.text.startswith("第九条"))
    assert "前款规定的证明材料" in art9.text  # paragraphs (款) stay with their 条
    assert art9.section == "第二章 申领" and "第二章 申领" in art9.embed_text
    assert {c.kind for c in chunks} == {"article"}


def test_consecutive_articles_are_packed_within_a_chapter() -> None:
    chunks = _law(size=400)
    assert len(chunks) == 2  # one per chapter
    assert "第一条" in chunks[0].text and "第二条" in chunks[0].text
    assert "第九条" in chunks[1].text and "第十条" in chunks[1].text


def test_overlong_article_is_split_and_labelled() -> None:
    long_article = "第五条 " + "".join(f"第{i}项要求应当严格执行并接受监督。" for i in range(30))
    doc = Document(id="p", title="某办法", type="policy", doc_number="穗府办规〔2024〕1号", text=long_article)
    chunks = chunk_document(doc, S)
    assert len(chunks) > 2
    assert all(len(c.text) <= S.size for c in chunks)
    assert all(c.section == "第五条" for c in chunks)


def test_faq_is_one_chunk() -> None:
    docs = load_file(MINI / "faq" / "faq.jsonl", MINI)
    chunks = chunk_document(docs[0], ChunkSettings())
    assert len(chunks) == 1
    assert chunks[0].text.startswith("问：住房公积金可以用来支付房租吗？\n答：可以。")
    assert chunks[0].kind == "faq"


def test_long_faq_answer_is_split_keeping_the_question() -> None:
    answer = "".join(f"第{i}点，申请人应当按规定提交材料并等待审核。" for i in range(40))
    doc = Document(
        id="f",
        title="如何申请？",
        type="faq",
        text=answer,
        fields={"question": "如何申请？", "answer": answer},
        sections=[Section("如何申请？", answer, "faq")],
    )
    chunks = chunk_document(doc, S)
    assert len(chunks) > 3
    assert all(c.text.startswith("问：如何申请？\n答：") for c in chunks)


def test_page_sentences_packed_with_overlap() -> None:
    sentences = [f"这是第{i}句关于社保卡办理的说明。" for i in range(20)]
    doc = Document(id="pg", title="社保卡", type="page", text="".join(sentences))
    chunks = chunk_document(doc, S)
    assert len(chunks) > 3
    assert all(len(c.text) <= S.size for c in chunks)
    for a, b in zip(chunks, chunks[1:], strict=False):
        first_sentence_of_b = b.text.split("。")[0] + "。"
        assert first_sentence_of_b in a.text  # overlap: b starts with a's last sentence
    covered = "".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_pack_sentences_keeps_line_breaks() -> None:
    assert pack_sentences("一、申领对象\n本市户籍人员。", 100) == ["一、申领对象\n本市户籍人员。"]


def test_tables_kept_whole_with_header() -> None:
    [doc] = load_file(MINI / "pages" / "social_security_card.html", MINI)
    chunks = chunk_document(doc, ChunkSettings(size=60, overlap=10, min_size=5))
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) == 1
    assert tables[0].text.splitlines()[0] == "| 办理渠道 | 办理时限 | 费用 |"
    assert "| 穗好办APP | 5个工作日邮寄 | 免费 |" in tables[0].text


def test_huge_table_split_repeats_header() -> None:
    rows = "\n".join(f"| 第{i}区 | 020-{i:08d} | 广州市某区某路{i}号政务服务中心 |" for i in range(60))
    doc = Document(id="t", title="网点", type="policy", text="| 区 | 电话 | 地址 |\n" + rows)
    chunks = chunk_document(doc, S)
    assert len(chunks) > 1
    assert all(c.text.startswith("| 区 | 电话 | 地址 |") for c in chunks)


def test_never_empty_and_metadata() -> None:
    docs, _ = iter_knowledge(MINI)
    chunks = chunk_documents(docs, ChunkSettings())
    assert chunks and all(c.text.strip() and c.embed_text.strip() for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)
    repealed = [c for c in chunks if c.doc_id == "gz-old-public-rental-housing"]
    assert repealed and repealed[0].metadata["status"] == "已废止"
    blank = Document(id="b", title="空", type="page", text="\u200b\n \n")
    assert chunk_document(blank, ChunkSettings()) == []


def test_chunking_is_fast() -> None:
    text = "\n\n".join(f"第{i}条 " + "本条规定的事项应当依法办理。" * 8 for i in range(1, 200))
    docs = [Document(id=f"d{i}", title="某条例", type="law", text=text) for i in range(50)]
    start = time.perf_counter()
    chunks = chunk_documents(docs, ChunkSettings())
    assert chunks and time.perf_counter() - start < 5.0
