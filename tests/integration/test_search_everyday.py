"""C9: search people can trust. Everyday words (社保, 户口, 结婚, 营业执照) find the demo
province's resources under their official names, first; the competent authority's edit of
the thesaurus counts from the next search; entries equally relevant come with the one
holding data first, not the newest.

(Named to run after test_cli.py, which seeds the demo province on the shared node through
the same session fixture.)
"""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import httpx
import pytest
from jose import jwt

from cli.demo import PROVINCE, credit_code_for
from cli.demo_data import DEPARTMENTS
from tests import factories
from tests.integration.conftest import Party, bearer, new_party, publish
from tests.integration.test_exchange import as_csv, people, upload

SEARCH, THESAURUS = "/api/catalog/search", "/api/catalog/thesaurus"
CITIES = 13  # each of the demo's provincial resources is catalogued for 13 cities


async def _search(gateway: httpx.AsyncClient, token: str, q: str,
                  **params: str) -> dict[str, Any]:
    response = await gateway.get(SEARCH, params={"q": q, "limit": "100", **params},
                                 headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


DEMO_DEPARTMENTS = {credit_code_for(name) for name in DEPARTMENTS}


async def _province(gateway: httpx.AsyncClient, token: str, q: str) -> list[str]:
    """The names search finds for `q` among the demo province's entries, best first (other
    tests' provincial departments may catalogue beside them)."""
    found = await _search(gateway, token, q, region=PROVINCE, tier="provincial")
    return [item["name"] for item in found["items"] if item["provider"] in DEMO_DEPARTMENTS]


async def _until_first(gateway: httpx.AsyncClient, token: str, q: str, field: str,
                       first: list[str], **params: str) -> list[str]:
    """The results' `field`s once the first ones are `first` (the exchange's events that rank
    them are on their way)."""
    async with asyncio.timeout(30):
        while True:
            found = [item[field] for item in (await _search(gateway, token, q, **params))[
                "items"]]
            if found[:len(first)] == first:
                return found
            await asyncio.sleep(0.3)


def _resource(name: str) -> str:
    """The resource a demo entry catalogues, without its city: 南京市婚姻登记信息 → 婚姻登记信息."""
    return name.split("市", 1)[1]


@pytest.fixture
async def shipped_thesaurus(gateway: httpx.AsyncClient, admin_token: str) -> None:
    """The thesaurus the node ships in force (another test, the API contract's fuzzing say,
    may have put a version of its own in force): the authority puts version 1 back."""
    shipped = (await gateway.get(f"{THESAURUS}/versions/1", headers=bearer(admin_token))).json()
    current = (await gateway.get(THESAURUS, headers=bearer(admin_token))).json()
    if current["groups"] != shipped["groups"]:
        restored = await gateway.put(THESAURUS, headers=bearer(admin_token), json={
            "replaces": current["version"], "reason": "恢复随节点发布的词表",
            "groups": shipped["groups"]})
        assert restored.status_code == 200, restored.text


# (everyday words, the resources the first results catalogue, in order, each for 13 cities)
EVERYDAY = [
    ("社保", [{"企业职工养老保险参保信息", "失业保险金领取信息"}, {"基本医疗保险参保信息"}]),
    ("医保", [{"基本医疗保险参保信息"}]),
    ("户口", [{"户籍人口基础信息"}]),
    ("结婚", [{"婚姻登记信息"}]),
    ("离婚", [{"婚姻登记信息"}]),
    ("营业执照", [{"企业登记注册信息", "电子证照目录信息"}]),
    ("身份证", [{"居民身份证制证信息"}]),
    ("房产证", [{"不动产登记信息"}]),
    ("低保", [{"社会救助对象信息"}]),
    ("退休", [{"企业职工养老保险参保信息"}]),
    ("个税", [{"纳税人登记信息"}]),
]


@pytest.mark.parametrize(("words", "expected"), EVERYDAY, ids=[words for words, _ in EVERYDAY])
async def test_everyday_words_find_the_official_resources_first(
    gateway: httpx.AsyncClient, admin_token: str, shipped_thesaurus: None,
    demo_province: subprocess.CompletedProcess[str], words: str, expected: list[set[str]],
) -> None:
    assert demo_province.returncode == 0, demo_province.stderr
    names = await _province(gateway, admin_token, words)
    first = 0
    for resources in expected:
        count = CITIES * len(resources)
        assert {_resource(name) for name in names[first:first + count]} == resources, names
        first += count


async def test_the_housing_fund_is_found_by_its_common_name(
    gateway: httpx.AsyncClient, admin_token: str, shipped_thesaurus: None,
    demo_province: subprocess.CompletedProcess[str],
) -> None:
    found = await _search(gateway, admin_token, "公积金", region=PROVINCE, tier="provincial")
    centre = credit_code_for("江苏省住房公积金管理中心")
    # Its contributions for 13 cities, its licences and yearbooks for 4: every name says 公积金.
    providers = [item["provider"] for item in found["items"]
                 if item["provider"] in DEMO_DEPARTMENTS]
    assert providers == [centre] * (CITIES + 4 + 4)
    assert found["interpretation"] == {"thesaurus_version": found["interpretation"][
        "thesaurus_version"], "parts": [{"asked": "公积金", "terms": ["住房公积金", "公积金"]}]}


async def test_the_resource_holding_data_comes_first_of_its_thirteen_cities(
    gateway: httpx.AsyncClient, admin_token: str, shipped_thesaurus: None,
    demo_province: subprocess.CompletedProcess[str],
) -> None:
    # The demo loads residents into Nanjing's household register only (the newest of the
    # thirteen is another city's): the exchange's RecordsLoaded reaches the catalog.
    names = await _until_first(gateway, admin_token, "户口", "name", ["南京市户籍人口基础信息"],
                               region=PROVINCE, tier="provincial")
    assert {_resource(name) for name in names[:CITIES]} == {"户籍人口基础信息"}


async def test_of_two_equally_relevant_entries_the_one_holding_data_comes_first(
    gateway: httpx.AsyncClient, provider: Party,
) -> None:
    older = await publish(gateway, provider, factories.population_entry("玄武区户籍人口基础信息"))
    newer = await publish(gateway, provider, factories.population_entry("鼓楼区户籍人口基础信息"))
    mine = {"provider": provider["credit_code"]}
    codes = [item["code"] for item in (await _search(
        gateway, provider["token"], "户口", **mine))["items"]]
    assert codes == [newer, older]  # no data on either: the newest first

    loaded = await upload(gateway, provider, older, as_csv(people(3)))
    assert loaded.status_code == 200, loaded.text
    await _until_first(gateway, provider["token"], "户口", "code", [older, newer], **mine)


async def test_a_thesaurus_edit_counts_from_the_next_search_and_is_kept_as_a_version(
    gateway: httpx.AsyncClient, admin_token: str, provider: Party, shipped_thesaurus: None,
) -> None:
    marriages = factories.population_entry("婚姻登记信息")
    code = await publish(gateway, provider, {**marriages, "classification": {
        "top": "department", "item": "02", "category": "001"}})
    mine = {"provider": provider["credit_code"]}
    assert (await _search(gateway, provider["token"], "领证", **mine))["total"] == 0

    before = (await gateway.get(THESAURUS, headers=bearer(admin_token))).json()
    groups = [{**group, "terms": [*group["terms"], "领证"]} if group["preferred"] == "结婚登记"
              else group for group in before["groups"]]
    edited = await gateway.put(THESAURUS, headers=bearer(admin_token), json={
        "replaces": before["version"], "reason": "群众常说“领证”", "groups": groups})
    try:
        assert edited.status_code == 200, edited.text
        assert edited.json()["version"] == before["version"] + 1
        found = await _search(gateway, provider["token"], "领证", **mine)
        assert [item["code"] for item in found["items"]] == [code]
        assert "婚姻登记" in found["interpretation"]["parts"][0]["terms"]

        versions = (await gateway.get(f"{THESAURUS}/versions", headers=bearer(
            admin_token))).json()
        latest = versions["items"][0]
        assert (latest["version"], latest["reason"]) == (before["version"] + 1, "群众常说“领证”")
        assert latest["changed_by"] == jwt.get_unverified_claims(admin_token)["sub"]
        shipped = (await gateway.get(f"{THESAURUS}/versions/1", headers=bearer(
            admin_token))).json()
        assert shipped["changed_by"] == "shipped" and len(shipped["groups"]) >= 30

        stale = await gateway.put(THESAURUS, headers=bearer(admin_token), json={
            "replaces": before["version"], "reason": "另一人同时编辑", "groups": before["groups"]})
        assert stale.status_code == 409
        assert stale.json()["type"].endswith("/thesaurus-version-stale")
        assert stale.json()["current_version"] == before["version"] + 1
    finally:
        restored = await gateway.put(THESAURUS, headers=bearer(admin_token), json={
            "replaces": before["version"] + 1, "reason": "测试结束，恢复原词表",
            "groups": before["groups"]})
        assert restored.status_code == 200, restored.text
    assert (await _search(gateway, provider["token"], "领证", **mine))["total"] == 0


async def test_only_the_competent_authority_edits_the_thesaurus(
    gateway: httpx.AsyncClient, admin_token: str, provider: Party,
) -> None:
    current = (await gateway.get(THESAURUS, headers=bearer(provider["token"]))).json()
    body = {"replaces": current["version"], "reason": "部门自行修改", "groups": []}
    refused = await gateway.put(THESAURUS, headers=bearer(provider["token"]), json=body)
    assert refused.status_code == 403
    assert (await gateway.get(THESAURUS, headers=bearer(admin_token))).json()[
        "version"] == current["version"]


@pytest.mark.parametrize(("groups", "field", "kind"), [
    ([{"preferred": "社会保险", "terms": ["社保"]}, {"preferred": "社会保障", "terms": ["社保"]}],
     "groups.1", "/thesaurus-term-twice"),
    ([{"preferred": "社 保"}], "groups.0.preferred", "/validation-error"),
    ([{"preferred": "保"}], "groups.0.preferred", "/validation-error"),
], ids=["term-in-two-groups", "space", "one-character"])
async def test_a_thesaurus_that_would_mislead_is_refused_naming_the_group(
    gateway: httpx.AsyncClient, admin_token: str, groups: list[dict[str, object]], field: str,
    kind: str,
) -> None:
    current = (await gateway.get(THESAURUS, headers=bearer(admin_token))).json()
    refused = await gateway.put(THESAURUS, headers=bearer(admin_token), json={
        "replaces": current["version"], "reason": "试填", "groups": groups})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith(kind)
    assert field in refused.text
    assert (await gateway.get(THESAURUS, headers=bearer(admin_token))).json()[
        "version"] == current["version"]


async def test_a_new_department_finds_the_province_registers_by_everyday_words(
    gateway: httpx.AsyncClient, admin_token: str, shipped_thesaurus: None,
    demo_province: subprocess.CompletedProcess[str],
) -> None:
    """What the issue saw: five everyday words that found nothing now each find dozens."""
    clerk = await new_party(gateway, admin_token)
    for words in ("社保", "医保", "营业执照", "户口", "结婚"):
        found = await _search(gateway, clerk["token"], words, region=PROVINCE,
                              tier="provincial")
        assert found["total"] >= CITIES, (words, found["total"])
