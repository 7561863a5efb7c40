"""Chinese text for full-text search (C9): jieba's search-mode words plus character bigrams.

PostgreSQL's parsers do not segment Chinese. Entries are indexed with the words jieba finds
(so 户籍人口 finds 户籍 and 人口) and every two-character run of Chinese text (so a
two-character query matches even where jieba chose a longer word). A longer word or term of a
query is looked for as all of its bigrams, which every text holding it has, however jieba cut
that text. Where a word stands decides its weight: the name (A) before the classification's
names (B), the item names (C) and the abstract (D).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jieba
from sqlalchemy import func, literal_column

from shared.contracts.names import NAMES

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]+")
_CJK_OR_OTHER = re.compile(r"[\u3400-\u9fff]+|[^\W\u3400-\u9fff]+")

# The names of the 2017 guide's classes and of the five base resources, so that 人口 or
# 电子证照 find the entries classified under them whatever their names say.
TOP_CLASS_NAMES, BASE_SUBJECT_NAMES = NAMES["classification"], NAMES["base_subject"]


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


def classification_names(classification: Mapping[str, Any]) -> list[str]:
    """What the entry's classification is called (its class, and its base resource)."""
    top = str(classification.get("top"))
    names = [TOP_CLASS_NAMES.get(top, "")]
    if top == "base":
        names.append(BASE_SUBJECT_NAMES.get(str(classification.get("item")), ""))
    return [name for name in names if name]


def weighted_terms(*, name: str, classification: Mapping[str, Any], items: Iterable[str],
                   abstract: str) -> tuple[str, str, str, str]:
    """The index terms of an entry's name, classification, items and abstract, in the order
    of their weights A, B, C, D."""
    return (index_terms(name), index_terms(*classification_names(classification)),
            index_terms(*items), index_terms(abstract))


def search_vector(*, name: str, classification: Mapping[str, Any], items: Iterable[str],
                  abstract: str) -> Any:
    """The SQL expression of an entry's weighted search vector."""
    terms = weighted_terms(name=name, classification=classification, items=items,
                           abstract=abstract)
    vectors = [func.setweight(func.to_tsvector("simple", text), literal_column(f"'{weight}'"))
               for text, weight in zip(terms, "ABCD", strict=True)]
    vector = vectors[0]
    for other in vectors[1:]:
        vector = vector.op("||")(other)
    return vector


WEIGHTED_VECTOR_SQL = ("setweight(to_tsvector('simple', {0}), 'A') || "
                       "setweight(to_tsvector('simple', {1}), 'B') || "
                       "setweight(to_tsvector('simple', {2}), 'C') || "
                       "setweight(to_tsvector('simple', {3}), 'D')")
"""The same vector in SQL, from four parameters (migrations and bulk loads)."""


def query_words(text: str) -> list[str]:
    """The words jieba finds in a user's query, lower-cased."""
    return [w.lower() for w in _tokenizer().cut(text.strip()) if _WORD.fullmatch(w)]


def conjunction(term: str, *, alone: bool = False) -> list[str]:
    """The tsquery lexemes a text holding `term` holds, all of them: its Chinese bigrams and
    its other words (a lone character only when it is the whole query, `alone`, and then as
    a prefix: it is no lexeme of its own); none when nothing of it can be looked for."""
    lexemes: list[str] = []
    for run in _CJK_OR_OTHER.findall(term.lower()):
        if _CJK_RUN.fullmatch(run) and len(run) > 1:
            lexemes += [run[i:i + 2] for i in range(len(run) - 1)]
        elif len(run) > 1:
            lexemes.append(run)
        elif alone:
            lexemes.append(f"{run}:*")
    return lexemes
