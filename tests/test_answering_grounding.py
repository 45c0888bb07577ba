"""Grounding check: supported vs unsupported sentences, markers, thresholds."""

from __future__ import annotations

from assistant.answering.grounding import bigrams, check, grounded_rate, markers, support_score

SRC1 = "申请人应当提交居民身份证、户口簿和近期免冠照片。办理时限为七个工作日。"
SRC2 = "本市公共租赁住房的租金标准按照市场租金的一定比例确定。"


def test_verbatim_sentence_is_fully_supported() -> None:
    assert support_score("办理时限为七个工作日。", SRC1) == 1.0


def test_fabricated_sentence_is_not_supported() -> None:
    assert support_score("办理需缴纳手续费五百元并由街道办盖章。", SRC1) < 0.3


def test_markers_and_punctuation_are_ignored_in_bigrams() -> None:
    assert bigrams("时限[1]。") == bigrams("时限")
    assert markers("甲[2]乙[1][2]") == [2, 1]


def test_sentence_must_be_supported_by_the_source_it_cites() -> None:
    text = "办理时限为七个工作日[1]。租金按照市场租金的一定比例确定[1]。"
    report = check(text, {1: SRC1, 2: SRC2})
    assert [s.supported for s in report.sentences] == [True, False]
    assert report.kept_text == "办理时限为七个工作日[1]。"
    fixed = check("办理时限为七个工作日[1]。租金按照市场租金的一定比例确定[2]。", {1: SRC1, 2: SRC2})
    assert fixed.rate == 1.0


def test_unknown_marker_and_missing_marker_when_required() -> None:
    report = check("办理时限为七个工作日[9]。", {1: SRC1})
    assert report.rate == 0.0
    assert check("办理时限为七个工作日。", {1: SRC1}, require_markers=True).rate == 0.0
    assert check("办理时限为七个工作日。", {1: SRC1}).rate == 1.0


def test_short_fragments_are_not_counted() -> None:
    report = check("可以。", {1: SRC1})
    assert report.checked == [] and report.rate == 1.0


def test_light_paraphrase_passes_default_threshold() -> None:
    # Reordered and lightly reworded, but the facts come from the source.
    assert check("申请人需提交居民身份证、户口簿和近期免冠照片[1]。", {1: SRC1}).rate == 1.0


def test_grounded_rate_helper() -> None:
    assert grounded_rate("办理时限为七个工作日。租金很低，随便住。", [SRC1]) == 0.5
