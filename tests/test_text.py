"""Tokenisation with an index's own words: kept whole, cut as a fresh jieba would, nothing process-wide changed."""

from __future__ import annotations

import jieba

from assistant.text import STOPWORDS, tokenize

WORDS = frozenset({"粤居码", "来穗人员服务站"})
TEXTS = ["在粤居码小程序或来穗人员服务站提交申请", "居住证怎么办理", "机动车驾驶证期满换证需要什么材料"]


def test_an_index_words_are_kept_whole_only_where_asked() -> None:
    with_words = tokenize(TEXTS[0], ngrams=False, words=WORDS)
    assert "粤居码" in with_words and "来穗人员服务站" in with_words
    plain = tokenize(TEXTS[0], ngrams=False)
    assert "来穗人员服务站" not in plain  # the process-wide dictionary was not changed by the call above
    assert jieba.dt.FREQ.get("来穗人员服务站") is None


def test_cuts_match_a_freshly_loaded_tokenizer_with_the_same_words() -> None:
    fresh = jieba.Tokenizer()
    fresh.initialize()
    for w in sorted(WORDS):
        fresh.add_word(w, freq=50000)
    for text in TEXTS:
        expected = [w for w in fresh.lcut_for_search(text) if w.strip() and w not in STOPWORDS]
        assert tokenize(text, ngrams=False, words=WORDS) == expected
