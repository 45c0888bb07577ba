"""Chinese text helpers: normalisation, sentence splitting, tokenisation for keyword search.

Pure functions; jieba and OpenCC are loaded lazily once per process (their dictionaries take ~1 s).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_WS = re.compile(r"[ \t\u3000\xa0]+")
_MULTI_NL = re.compile(r"\n{3,}")
# Sentence ends: Chinese full stops and their ASCII cousins, semicolons, and newlines.
_SENT_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC (full-width ASCII → half-width), collapse spaces, strip. Keeps Chinese punctuation that NFKC keeps."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _WS.sub(" ", text)
    text = _MULTI_NL.sub("\n\n", text)
    return text.strip()


@lru_cache(maxsize=1)
def _opencc() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s); cheap no-op for text that is already simplified."""
    if not text:
        return text
    return str(_opencc().convert(text))


def normalize_query(text: str) -> str:
    """Normalisation for questions: NFKC, traditional → simplified, lower-case Latin letters."""
    return to_simplified(normalize(text)).lower()


def split_sentences(text: str) -> list[str]:
    """Split on Chinese sentence boundaries (。！？；and newlines), keeping the end punctuation."""
    parts = _SENT_END.split(text or "")
    return [p.strip() for p in parts if p and p.strip()]


def strip_punct(text: str) -> str:
    """Remove whitespace and punctuation (used by character-level metrics and overlap checks)."""
    return _PUNCT.sub("", text or "")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=4)
def _segmenter(words: frozenset[str]) -> Any:
    """A jieba tokenizer that keeps ``words`` (item names, 俗称) whole.

    Each word set gets its own ``jieba.Tokenizer``; the process-wide one is never changed, so ingest
    and every index loaded in one process cut text the same way whatever else was loaded before.
    """
    jb = _jieba()
    kept = sorted(w for w in (w.strip() for w in words) if 2 <= len(w) <= 20)
    if not kept:
        return jb.dt
    seg = jb.Tokenizer()
    seg.initialize()
    for w in kept:
        seg.add_word(w, freq=50000)
    return seg


def load_tokenizer(words: frozenset[str] = frozenset()) -> None:
    """Load OpenCC and the jieba tokenizer for ``words`` now (~1 s each), not on the first question."""
    _opencc()
    _segmenter(words)


_STOPWORD_LIST = """
    的 了 和 是 在 我 有 吗 呢 吧 啊 么 什么 怎么 怎样 如何 哪些 哪里 哪个 需要
    可以 能 能否 是否 要 请问 您好 你好 一下 一个 这个 那个 还 也 都 就 与 及 或 等
    对 把 被 给 让 从 到 为 以 之 其 该 办理 进行 相关 关于
    """
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def tokenize(text: str, *, ngrams: bool = True, words: frozenset[str] = frozenset()) -> list[str]:
    """Keyword tokens: jieba search-mode words minus stop words, plus character bigrams of CJK runs.

    ``words`` are an index's domain words (``ingest.build.user_words``) that jieba keeps whole.

    Bigrams make the keyword side robust to segmentation differences between colloquial questions
    and official text (e.g. 驾照 vs 驾驶证 share no word but share characters with synonyms added).
    """
    text = normalize_query(text)
    cut = [w for w in _segmenter(words).lcut_for_search(text) if w.strip() and not _PUNCT.fullmatch(w)]
    tokens = [w for w in cut if w not in STOPWORDS]
    if ngrams:
        for run in re.findall(r"[\u4e00-\u9fff]{2,}", text):
            tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
    return tokens
