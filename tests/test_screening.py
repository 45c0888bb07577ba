"""The lexicon screener: categories, evasions (full-width, 繁体, symbols, pinyin), allow-list, hot reload."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assistant.config import ScreeningSettings
from assistant.errors import ConfigError
from assistant.screening import FakeScreener, make_screener
from assistant.screening.lexicon import SHIPPED_DIR, LexiconScreener, load_lexicon, parse_lines
from assistant.screening.views import compact, pinyin

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def shipped() -> LexiconScreener:
    screener = LexiconScreener([SHIPPED_DIR])
    screener.warm_up()
    return screener


def categories(screener: LexiconScreener, text: str, direction: str = "input") -> list[str]:
    return screener.screen(text, direction).categories  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("怎么制作炸弹", "暴恐"),
        ("我想去砍人", "暴恐"),
        ("哪里能买到冰毒", "违法犯罪"),
        ("能帮我办假证吗", "违法犯罪"),
        ("法轮大法好", "政治敏感"),
        ("推翻共产党", "政治敏感"),
        ("附近有没有约炮的", "色情"),
        ("你个傻逼机器人", "辱骂"),
        ("兼职刷单日赚500", "诈骗/广告"),
        ("我不想活了", "自伤"),
    ],
)
def test_each_shipped_category_is_detected(shipped: LexiconScreener, text: str, category: str) -> None:
    assert categories(shipped, text)[:1] == [category]


@pytest.mark.parametrize(
    "text",
    [
        "法 轮 功",  # inserted spaces
        "法*轮-功",  # inserted symbols
        "法\u200b轮功",  # zero-width character
        "發輪功",  # 繁体 + homophone
        "fa lun gong",  # pinyin with spaces
        "法lun功",  # mixed
        "ＦＡＬＵＮＧＯＮＧ",  # full-width Latin
    ],
)
def test_evasions_are_folded(shipped: LexiconScreener, text: str) -> None:
    assert categories(shipped, text) == ["政治敏感"]


@pytest.mark.parametrize(
    "text",
    [
        "国家反诈中心APP怎么下载",
        "禁毒宣传活动在哪里报名",
        "扫黑除恶专项斗争举报电话",
        "山东突发事件应急预案",  # 东突 across a word boundary
        "西藏独特的风景",  # 藏独 across a word boundary
        "违反共同协议怎么办",  # 反共 across a word boundary
        "usb接口",  # sb inside a Latin word
        "智障儿童可以申请什么补贴",
        "垃圾分类怎么投放",
        "提供虚假证据会受到什么处罚",
        "遇到恐怖袭击怎么办",
        "死亡证明在哪里开",
        "民用爆炸物品购买许可证怎么办",
    ],
)
def test_ordinary_questions_and_allowed_terms_pass(shipped: LexiconScreener, text: str) -> None:
    assert categories(shipped, text) == []


def test_input_only_entries_do_not_withhold_law_text(shipped: LexiconScreener) -> None:
    law = "非法制造、买卖、运输、邮寄、储存枪支、弹药、爆炸物的，处三年以上十年以下有期徒刑。"
    assert categories(shipped, "哪里可以买到手枪") == ["暴恐"]
    assert categories(shipped, law, "output") == []


def test_hit_positions_index_the_original_text(shipped: LexiconScreener) -> None:
    text = "请问，你 是 傻 逼 吗"
    hit = shipped.screen(text).hits[0]
    assert text[hit.start : hit.end] == "傻 逼"


def test_views_keep_positions() -> None:
    view = compact("ＡＢ 詐-騙")
    assert view.text == "ab诈骗" and view.where == (0, 1, 3, 5)
    p = pinyin(compact("炸骗x"))
    assert p.text == "zhapianx" and {0, 3, 7, 8} <= p.bounds


def test_combination_entries_need_all_parts_within_the_window() -> None:
    entries, _ = parse_lines(["买|购买 & 枪支 in"], "暴恐", "t")
    (entry,) = entries
    assert entry.parts == (("买", "购买"), ("枪支",)) and entry.scope == "in"
    screener = _screener_with({"w.txt": "@category 暴恐\n买|购买 & 枪支 in\n"})
    assert screener.screen("我想购买枪支").flagged
    assert not screener.screen("购买" + "。" * 5 + "很多很多很多很多很多很多的字" + "枪支").flagged


def _screener_with(files: dict[str, str], tmp: Path | None = None) -> LexiconScreener:
    import tempfile

    folder = tmp or Path(tempfile.mkdtemp())
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return LexiconScreener([folder], reload_interval_s=0.0)


def test_operator_folder_adds_removes_and_hot_reloads(tmp_path: Path) -> None:
    operator = tmp_path / "ops"
    operator.mkdir()
    screener = LexiconScreener([SHIPPED_DIR, operator], reload_interval_s=0.0)
    assert not screener.screen("本店出售过期月饼").flagged
    lexicon = operator / "local.txt"
    lexicon.write_text("@category 诈骗/广告\n出售过期月饼\n-刷单\n", encoding="utf-8")
    assert screener.screen("本店出售过期月饼").categories == ["诈骗/广告"]
    assert not screener.screen("刷单").flagged  # the operator removed a shipped entry
    lexicon.write_text("@category 诈骗/广告\n", encoding="utf-8")
    future = time.time() + 5
    os.utime(lexicon, (future, future))  # a new mtime even on coarse file systems
    assert not screener.screen("本店出售过期月饼").flagged
    (operator / "allow_local.txt").write_text("刷单诈骗防范\n", encoding="utf-8")
    assert not screener.screen("刷单诈骗防范知识讲座").flagged


def test_reload_interval_limits_file_checks(tmp_path: Path) -> None:
    now = [0.0]
    lexicon = tmp_path / "a.txt"
    lexicon.write_text("@category 辱骂\n坏蛋\n", encoding="utf-8")
    screener = LexiconScreener([tmp_path], reload_interval_s=10.0, clock=lambda: now[0])
    assert screener.screen("坏蛋").flagged
    lexicon.write_text("@category 辱骂\n", encoding="utf-8")
    os.utime(lexicon, (time.time() + 5, time.time() + 5))
    assert screener.screen("坏蛋").flagged  # not checked again yet
    now[0] = 11.0
    assert not screener.screen("坏蛋").flagged


def test_shipped_lexicons_are_sizeable_and_every_entry_parses() -> None:
    lexicon = load_lexicon([SHIPPED_DIR])
    forms = sum(len(f) for e in lexicon.entries for f in e.parts)
    assert len({e.category for e in lexicon.entries}) >= 7
    assert forms >= 500 and len(lexicon.allowed) >= 40


def test_registry_builds_backends_and_refuses_unknown_names() -> None:
    assert make_screener(ScreeningSettings(screener="none")).screen("傻逼").flagged is False
    assert isinstance(make_screener(ScreeningSettings(screener="fake")), FakeScreener)
    assert make_screener(ScreeningSettings()).name == "lexicon"
    with pytest.raises(ConfigError):
        make_screener(ScreeningSettings(screener="nope"))


def test_screening_is_fast(shipped: LexiconScreener) -> None:
    text = "我想咨询一下北京市居住证怎么办理，需要哪些材料，去哪里办。" * 30
    started = time.perf_counter()
    for _ in range(20):
        shipped.screen(text)
    per_call_ms = (time.perf_counter() - started) / 20 * 1000
    assert per_call_ms < 50  # ~900 characters
