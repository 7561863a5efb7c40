"""The catalog's kept search answers: bounded in bytes and in age, none when switched off;
and the one-pass facet rows read back as the API's facets."""

from __future__ import annotations

import pytest

from services.catalog import search_cache
from services.catalog.search import facets_from_rows
from services.catalog.search_cache import SearchCache


def _result(total: int) -> bytes:
    return f'{{"total": {total}}}'.encode()


def test_a_result_is_kept_for_its_key_only() -> None:
    cache = SearchCache(max_bytes=1000, seconds=60)
    cache.put((1, "户籍"), _result(3))
    assert cache.get((1, "户籍")) == _result(3)
    assert cache.get((2, "户籍")) is None  # the catalog changed since


def test_the_least_recently_used_goes_first_when_the_bytes_run_out() -> None:
    cache = SearchCache(max_bytes=2 * len(_result(1)), seconds=60)
    cache.put("a", _result(1))
    cache.put("b", _result(2))
    assert cache.get("a") is not None
    cache.put("c", _result(3))
    assert cache.get("b") is None and cache.get("a") is not None


def test_an_answer_replaced_or_too_big_counts_its_bytes_once() -> None:
    cache = SearchCache(max_bytes=len(_result(1)), seconds=60)
    cache.put("a", _result(1))
    cache.put("a", _result(2))  # the same key again (the same size): "a" alone still fits
    assert cache.get("a") == _result(2)
    cache.put("b", _result(10))  # larger than everything kept may be: not kept
    assert cache.get("b") is None and cache.get("a") == _result(2)


def test_a_result_outlives_its_seconds_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(search_cache.time, "monotonic", lambda: now[0])
    cache = SearchCache(max_bytes=1000, seconds=1.0)
    cache.put("a", _result(1))
    now[0] += 0.9
    assert cache.get("a") is not None
    now[0] += 0.2
    assert cache.get("a") is None


def test_zero_seconds_keeps_nothing() -> None:
    cache = SearchCache(max_bytes=1000, seconds=0)
    cache.put("a", _result(1))
    assert cache.get("a") is None


def test_grouping_rows_become_facets_and_the_total() -> None:
    # grouping(top_class, provider, share_type, tier, region): a bit for each column not
    # grouped, the first column highest.
    rows = [[0b01111, "base", 2], [0b01111, "theme", 1], [0b10111, "113201000141428938", 3],
            [0b11011, "unconditional", 3], [0b11101, "municipal", 3],
            [0b11110, "320100", 3], [0b11110, None, 1], [0b11111, None, 4]]
    facets = facets_from_rows(rows, [["online_query", 3], ["bulk_download", 1]])
    assert facets == {
        "total": {"": 4}, "classification": {"base": 2, "theme": 1},
        "provider": {"113201000141428938": 3}, "share_type": {"unconditional": 3},
        "tier": {"municipal": 3}, "region": {"320100": 3},
        "method": {"online_query": 3, "bulk_download": 1}}
