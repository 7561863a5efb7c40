"""Chinese text for full-text search (C9): jieba's search-mode words plus character bigrams.

PostgreSQL's parsers do not segment Chinese. Entries are indexed with the words jieba finds
(so 户籍人口 finds 户籍 and 人口) and every two-character run of Chinese text (so a
two-character query matches even where jieba chose a longer word).
"""

from __future__ import annotations

import logging
import re
from functools import cache

import jieba

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]+")


@cache
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def index_terms(*texts: str) -> str:
    """Space-separated terms to feed `to_tsvector('simple', …)`."""
    terms: set[str] = set()
    for text in texts:
        terms.update(word.lower() for word in _tokenizer().cut_for_search(text)
                     if _WORD.fullmatch(word))
        for run in _CJK_RUN.findall(text):
            terms.update(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(sorted(terms))


def query_terms(query: str) -> list[str]:
    """The words of a user's query, each of which a match must contain."""
    words = [w.lower() for w in _tokenizer().cut(query.strip()) if _WORD.fullmatch(w)]
    # A single Chinese character is not in the index (bigrams start at two): keep it only if
    # it is the whole query, matched against bigrams by prefix.
    return [w for w in words if len(w) > 1 or len(words) == 1]
