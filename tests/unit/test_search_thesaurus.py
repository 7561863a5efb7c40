"""C9: how a search reads everyday words through the thesaurus, before any SQL runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.catalog.exceptions import ThesaurusTermTwice
from services.catalog.schemas import ThesaurusGroup
from services.catalog.thesaurus import Thesaurus, check_rings, text_query

MIGRATION = (Path(__file__).parents[2] / "services/catalog/migrations/versions"
             / "20261130_0011_search_thesaurus.py")


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("search_thesaurus", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHIPPED: list[dict[str, Any]] = _migration().SHIPPED
shipped = Thesaurus.of(1, SHIPPED)


def _searched(query: str) -> list[set[str]]:
    return [set(part.terms) for part in shipped.interpret(query)]


def test_the_shipped_thesaurus_is_one_the_api_would_accept() -> None:
    assert len(SHIPPED) >= 30
    for group in SHIPPED:
        ThesaurusGroup.model_validate(group)
    check_rings(SHIPPED)


@pytest.mark.parametrize(("everyday", "official"), [
    ("社保", {"社会保险", "养老保险", "失业保险", "医疗保险"}), ("医保", {"医疗保险"}),
    ("户口", {"户籍"}), ("结婚", {"婚姻登记"}), ("离婚", {"婚姻登记"}),
    ("营业执照", {"企业登记", "电子证照"}), ("公积金", {"住房公积金"}),
    ("身份证", {"居民身份证"}), ("驾照", {"机动车驾驶证"}), ("低保", {"最低生活保障"}),
    ("残疾证", {"残疾人证"}), ("出生证", {"出生医学证明"}), ("房产证", {"不动产权证书"}),
    ("社保卡", {"社会保障卡"}), ("个税", {"个人所得税"}), ("医保卡", {"社会保障卡"}),
    ("户口本", {"居民户口簿", "户籍"}), ("准生证", {"生育登记"}), ("退休", {"养老保险"}),
])
def test_everyday_words_lead_to_the_official_terms(everyday: str, official: set[str]) -> None:
    [searched] = _searched(everyday)
    assert {everyday} | official <= searched


def test_also_finds_is_one_way() -> None:
    assert "养老保险" in _searched("社会保险")[0]
    assert "社会保险" not in _searched("养老保险")[0]


def test_the_longest_term_is_read_first() -> None:
    assert "居民户口簿" in _searched("户口本")[0]
    assert _searched("医保卡")[0] == {"社会保障卡", "社保卡", "医保卡"}


def test_the_words_beside_a_term_must_match_too() -> None:
    parts = shipped.interpret("南京社保")
    assert [part.asked for part in parts] == ["南京", "社保"]
    assert parts[0].terms == ("南京",)


def test_a_term_holding_another_adds_nothing_to_the_query() -> None:
    query = text_query(shipped.interpret("结婚"))
    assert query is not None
    assert query.match == "((姻登 & 婚姻 & 登记) | 结婚)"  # 结婚登记, 结婚证 hold 结婚


def test_matches_are_ranked_by_the_lexemes_they_hold_not_by_where_the_index_put_them() -> None:
    query = text_query(shipped.interpret("南京 公积金"))
    assert query is not None
    assert query.match == "(南京) & ((公积 & 积金))"
    assert "&" not in query.rank and set(query.rank.split(" | ")) == {"南京", "公积", "积金"}


def test_a_lone_character_is_looked_for_only_when_it_is_the_whole_query() -> None:
    alone = text_query(shipped.interpret("税"))
    assert alone is not None and alone.match == "(税:*)"
    beside = text_query(shipped.interpret("税 户口"))
    assert beside is not None and "税" not in beside.match


def test_an_empty_thesaurus_reads_words_as_they_are() -> None:
    assert [part.terms for part in Thesaurus(0).interpret("社保 户籍")] == [("社保",), ("户籍",)]


def test_a_term_in_two_groups_is_refused_naming_it() -> None:
    groups = [{"preferred": "社会保险", "terms": ["社保"]},
              {"preferred": "社会保障", "terms": ["社保"]}]
    with pytest.raises(ThesaurusTermTwice) as refused:
        check_rings(groups)
    assert refused.value.extensions == {"field": "groups.1", "term": "社保"}


def test_a_term_may_be_found_by_several_groups() -> None:
    check_rings([{"preferred": "结婚登记", "also_finds": ["婚姻登记"]},
                 {"preferred": "离婚登记", "also_finds": ["婚姻登记"]},
                 {"preferred": "婚姻登记"}])
